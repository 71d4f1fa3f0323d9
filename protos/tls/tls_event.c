/* SPDX-License-Identifier: Apache-2.0
 * protos/tls/tls_event.c - the event Packetbeat 8.x publishes for a TLS
 * handshake: ECS tls.* (version, cipher, established, resumed, ja3, SNI,
 * ALPN, certificate summary and hashes), tls.detailed.* (hellos,
 * certificate chains, alerts, resumption method) when
 * include_detailed_fields is on, tls.{client,server}.x509.* for the leaf
 * certificates, and raw PEM chains when include_raw_certificates is on.
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "tls_int.h"

static void put_hex(pb_node *m, const char *key, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64) {
        n = 64;
    }
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15];
    }
    buf[2 * n] = '\0';
    pb_node_set_strn(m, key, buf, 2 * n);
}

/* A copy of the jansson value v at key of n (NULL key: appended to an array
 * n), without the JSON null members of objects (values Packetbeat leaves out
 * unless keep_null) when strip. depth: v's depth in tls.detailed, nulls are
 * dropped from objects down to depth 16. */
static void copy_value(pb_node *n, const char *key, const json_t *v, unsigned depth, bool strip)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        pb_node *c = pb_node_obj(n, key);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            if (strip && depth <= 16 && json_is_null(x)) {
                continue;
            }
            copy_value(c, k, x, depth + 1, strip);
        }
        break;
    }
    case JSON_ARRAY: {
        pb_node *c = pb_node_arr(n, key);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            copy_value(c, NULL, x, depth + 1, strip);
        }
        break;
    }
    case JSON_STRING:
        pb_node_set_strn(n, key, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        pb_node_set_int(n, key, (int64_t)json_integer_value(v));
        break;
    case JSON_REAL:
        pb_node_set_real(n, key, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        pb_node_set_bool(n, key, json_is_true(v));
        break;
    default:
        pb_node_set_null(n, key);
        break;
    }
}

/* tls.detailed.{client,server}_hello (depth 1 in tls.detailed). */
static void put_hello(pb_node *m, const struct tls_hello *h, bool strip)
{
    if (m == NULL) {
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%u.%u", h->major, h->minor);
    pb_node_set_strn(m, "version", buf, (size_t)n);
    if (h->sid_len > 0) {
        put_hex(m, "session_id", h->sid, h->sid_len);
    }
    put_hex(m, "random", h->random, sizeof h->random);
    if (h->ncomp > 0) {
        pb_node *arr = pb_node_arr(m, "supported_compression_methods");
        for (size_t i = 0; i < h->ncomp; i++) {
            pb_node_set_str(arr, NULL, tls_compression_name(h->comp[i], buf, sizeof buf));
        }
    } else {
        pb_node_set_str(m, "selected_compression_method",
                        tls_compression_name(h->sel_comp, buf, sizeof buf));
    }
    if (h->parsed != NULL) {
        copy_value(m, "extensions", h->parsed, 2, strip);
    }
}

/* The chain maps of a certificate list (detailed form), after the leaf. */
static void put_chain(pb_node *detailed, const struct tls_parser *ps, const char *chain_key)
{
    if (ps->ncerts > 1) {
        pb_node *chain = pb_node_arr(detailed, chain_key);
        for (size_t i = 1; i < ps->ncerts && chain != NULL; i++) {
            tls_x509_fill(pb_node_obj(chain, NULL), ps->certs[i].x509);
        }
    }
}

static int put_pem_chain(pb_event *ev, const char *path, const struct tls_parser *ps)
{
    pb_node *arr = pb_ev_arr(ev, path);
    if (arr == NULL) {
        return -1;
    }
    for (size_t i = 0; i < ps->ncerts; i++) {
        char *pem = tls_pem(ps->certs[i].der, ps->certs[i].len);
        if (pem != NULL) {
            pb_node_set_str(arr, NULL, pem);
            pb_free(pem);
        }
    }
    return 0;
}

/* tls.<side>.{hash.*,subject,issuer,not_before,not_after} from the leaf. */
static void put_leaf_summary(pb_event *ev, const struct tls_priv *cfg, const struct tls_parser *ps,
                             const char *side)
{
    if (ps->ncerts == 0) {
        return;
    }
    const struct tls_cert *c = &ps->certs[0];
    char path[64];
    for (size_t i = 0; i < cfg->nfp; i++) {
        char hex[2 * 64 + 1];
        if (tls_digest(cfg->fp_names[i], c->der, c->len, hex, sizeof hex)) {
            snprintf(path, sizeof path, "tls.%s.hash.%s", side, cfg->fp_names[i]);
            pb_ev_put_str(ev, path, hex);
        }
    }
    char *dn = tls_x509_dn(c->x509, false);
    if (dn != NULL && dn[0] != '\0') {
        snprintf(path, sizeof path, "tls.%s.subject", side);
        pb_ev_put_str(ev, path, dn);
    }
    pb_free(dn);
    dn = tls_x509_dn(c->x509, true);
    if (dn != NULL && dn[0] != '\0') {
        snprintf(path, sizeof path, "tls.%s.issuer", side);
        pb_ev_put_str(ev, path, dn);
    }
    pb_free(dn);
    int64_t ns;
    char tbuf[64];
    if (tls_x509_time(c->x509, true, &ns)) {
        snprintf(path, sizeof path, "tls.%s.not_after", side);
        pb_ev_put_str(ev, path, tls_time_str(ns, tbuf));
    }
    if (tls_x509_time(c->x509, false, &ns)) {
        snprintf(path, sizeof path, "tls.%s.not_before", side);
        pb_ev_put_str(ev, path, tls_time_str(ns, tbuf));
    }
}

static void put_alerts(pb_node *detailed, const struct tls_parser *client,
                       const struct tls_parser *server)
{
    if (client->nalerts + server->nalerts == 0) {
        return;
    }
    pb_node *alerts = pb_node_arr(detailed, "alerts");
    const struct tls_parser *sides[2] = {client, server};
    static const char *const src[2] = {"client", "server"};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sides[s]->nalerts; i++) {
            const struct tls_alert *a = &sides[s]->alerts[i];
            char b1[32], b2[32];
            pb_node *m = pb_node_obj(alerts, NULL);
            pb_node_set_str(m, "severity", tls_severity_name(a->severity, b1, sizeof b1));
            pb_node_set_int(m, "code", a->code);
            pb_node_set_str(m, "type", tls_alert_name(a->code, b2, sizeof b2));
            pb_node_set_str(m, "source", src[s]);
        }
    }
    pb_node *types = pb_node_arr(detailed, "alert_types");
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sides[s]->nalerts; i++) {
            char b2[32];
            pb_node_set_str(types, NULL, tls_alert_name(sides[s]->alerts[i].code, b2, sizeof b2));
        }
    }
}

/* The first string of a parsed extension list, or NULL. */
static const char *first_of(const struct tls_hello *h, const char *ext)
{
    if (h == NULL || h->parsed == NULL) {
        return NULL;
    }
    json_t *v = json_object_get(h->parsed, ext);
    if (!json_is_array(v) || json_array_size(v) == 0) {
        return NULL;
    }
    return json_string_value(json_array_get(v, 0));
}

pb_event *tls_build_event(const struct tls_event_in *in)
{
    const struct tls_parser *client = in->client, *server = in->server;
    const struct tls_hello *ch = client->hello, *sh = server->hello;
    bool established = in->completed > 1;
    struct pb_tx tx = {
        .type = "tls",
        .tuple = in->tuple,
        .start_ns = in->start_ns,
        .end_ns = in->end_ns,
        .status = established ? "OK" : "Error",
        .src_bytes = -1,
        .dst_bytes = -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    char buf[64];
    int rc = 0;

    if (ch != NULL) {
        char md5hex[33];
        char *ja3 = tls_ja3(ch, md5hex);
        if (ja3 != NULL) {
            rc |= pb_ev_put_str(ev, "tls.client.ja3", md5hex);
            pb_free(ja3);
        }
    }
    if (sh != NULL) {
        rc |= pb_ev_put_str(ev, "tls.cipher", tls_cipher_name(sh->sel_cipher, buf, sizeof buf));
    }
    put_leaf_summary(ev, in->cfg, client, "client");
    put_leaf_summary(ev, in->cfg, server, "server");

    /* Resumption: the session id was echoed, or a ticket was offered and
     * the server answered with the extension; no key exchange seen. */
    bool sid_match = ch != NULL && ch->sid_len > 0 && sh != NULL && sh->sid_len == ch->sid_len &&
                     memcmp(ch->sid, sh->sid, ch->sid_len) == 0;
    bool ticket = ch != NULL && ch->ticket_nonempty && sh != NULL && sh->ticket_present;
    bool resumed = !client->key_exchanged && !server->key_exchanged && (sid_match || ticket);

    /* The version in use: the server's supported_versions, else its hello
     * version, else the client's. */
    uint8_t major = 0, minor = 0;
    if (sh != NULL && (sh->major != 0 || sh->minor != 0)) {
        major = sh->major;
        minor = sh->minor;
        if (sh->has_raw[TLS_RAW_VERSIONS] && sh->raw_len[TLS_RAW_VERSIONS] >= 2) {
            major = sh->raw[TLS_RAW_VERSIONS][0];
            minor = sh->raw[TLS_RAW_VERSIONS][1];
        }
    } else if (ch != NULL) {
        major = ch->major;
        minor = ch->minor;
    }
    if (major == 3) {
        rc |= pb_ev_put_str(ev, "tls.version_protocol", minor == 0 ? "ssl" : "tls");
        if (minor == 0) {
            rc |= pb_ev_put_str(ev, "tls.version", "3.0");
        } else {
            snprintf(buf, sizeof buf, "1.%d", minor - 1);
            rc |= pb_ev_put_str(ev, "tls.version", buf);
        }
    } else {
        rc |= pb_ev_put_str(ev, "tls.version_protocol", "unknown");
        snprintf(buf, sizeof buf, "%u.%u", major, minor);
        rc |= pb_ev_put_str(ev, "tls.version", buf);
    }

    const char *sni = first_of(ch, "server_name_indication");
    if (sni != NULL) {
        rc |= pb_tx_add_domain(ev, sni);
        rc |= pb_ev_put_str(ev, "tls.client.server_name", sni);
    }
    const char *alpn = first_of(sh, "application_layer_protocol_negotiation");
    if (alpn != NULL) {
        rc |= pb_ev_put_str(ev, "tls.next_protocol", alpn);
    }

    if (in->cfg->include_detailed_fields) {
        bool certs = in->cfg->send_certificates;
        /* the leaf certificates as tls.<side>.x509, the rest in tls.detailed */
        if (certs && client->ncerts > 0) {
            pb_node *x = pb_node_obj(pb_ev_obj(ev, "tls.client"), "x509");
            rc |= x == NULL ? -1 : 0;
            tls_x509_fill(x, client->certs[0].x509);
        }
        if (certs && server->ncerts > 0) {
            pb_node *x = pb_node_obj(pb_ev_obj(ev, "tls.server"), "x509");
            rc |= x == NULL ? -1 : 0;
            tls_x509_fill(x, server->certs[0].x509);
        }
        bool strip = !in->keep_null;
        pb_node *detailed = pb_ev_obj(ev, "tls.detailed");
        rc |= detailed == NULL ? -1 : 0;
        if (ch != NULL) {
            put_hello(pb_node_obj(detailed, "client_hello"), ch, strip);
        }
        if (sh != NULL) {
            put_hello(pb_node_obj(detailed, "server_hello"), sh, strip);
        }
        if (server->ocsp_valid) {
            pb_node_set_str(detailed, "ocsp_response",
                            tls_ocsp_status_name(server->ocsp_status, buf, sizeof buf));
        }
        if (certs) {
            put_chain(detailed, client, "client_certificate_chain");
            put_chain(detailed, server, "server_certificate_chain");
        }
        pb_node_set_bool(detailed, "client_certificate_requested", server->cert_requested);
        if (resumed) {
            pb_node_set_str(detailed, "resumption_method", ticket ? "ticket" : "id");
        }
        put_alerts(detailed, client, server);
        pb_node_set_str(detailed, "version", tls_version_name(major, minor, buf, sizeof buf));
    }
    if (in->cfg->include_raw_certificates) {
        if (server->ncerts > 0) {
            rc |= put_pem_chain(ev, "tls.server.certificate_chain", server);
        }
        if (client->ncerts > 0) {
            rc |= put_pem_chain(ev, "tls.client.certificate_chain", client);
        }
    }
    if (ch != NULL && ch->nciphers > 0) {
        pb_node *arr = pb_ev_arr(ev, "tls.client.supported_ciphers");
        rc |= arr == NULL ? -1 : 0;
        for (size_t i = 0; i < ch->nciphers; i++) {
            pb_node_set_str(arr, NULL, tls_cipher_name(ch->ciphers[i], buf, sizeof buf));
        }
    }
    rc |= pb_ev_put_bool(ev, "tls.established", established);
    rc |= pb_ev_put_bool(ev, "tls.resumed", resumed);
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
