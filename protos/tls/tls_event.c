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

static void put_hex(json_t *m, const char *key, const uint8_t *p, size_t n)
{
    char buf[2 * 64 + 1];
    if (n > 64) {
        n = 64;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + 2 * i, 3, "%02x", p[i]);
    }
    buf[2 * n] = '\0';
    json_object_set_new(m, key, json_string(buf));
}

static json_t *hello_map(const struct tls_hello *h)
{
    json_t *m = json_object();
    if (m == NULL) {
        return NULL;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%u.%u", h->major, h->minor);
    json_object_set_new_nocheck(m, "version", json_string(buf));
    if (h->sid_len > 0) {
        put_hex(m, "session_id", h->sid, h->sid_len);
    }
    put_hex(m, "random", h->random, sizeof h->random);
    if (h->ncomp > 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < h->ncomp; i++) {
            json_array_append_new(arr,
                                  json_string(tls_compression_name(h->comp[i], buf, sizeof buf)));
        }
        json_object_set_new_nocheck(m, "supported_compression_methods", arr);
    } else {
        json_object_set_new_nocheck(
            m, "selected_compression_method",
            json_string(tls_compression_name(h->sel_comp, buf, sizeof buf)));
    }
    if (h->parsed != NULL) {
        json_object_set_new_nocheck(m, "extensions", json_deep_copy(h->parsed));
    }
    return m;
}

static json_t *supported_ciphers(const struct tls_hello *h)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < h->nciphers && arr != NULL; i++) {
        char buf[32];
        json_array_append_new(arr, json_string(tls_cipher_name(h->ciphers[i], buf, sizeof buf)));
    }
    return arr;
}

/* Leaf map and chain maps of a certificate list (detailed form). */
static void put_certs(json_t *detailed, const struct tls_parser *ps, const char *leaf_key,
                      const char *chain_key)
{
    if (ps->ncerts == 0) {
        return;
    }
    json_object_set_new(detailed, leaf_key, tls_x509_map(ps->certs[0].x509));
    if (ps->ncerts > 1) {
        json_t *chain = json_array();
        for (size_t i = 1; i < ps->ncerts && chain != NULL; i++) {
            json_array_append_new(chain, tls_x509_map(ps->certs[i].x509));
        }
        json_object_set_new(detailed, chain_key, chain);
    }
}

static json_t *pem_chain(const struct tls_parser *ps)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ps->ncerts && arr != NULL; i++) {
        char *pem = tls_pem(ps->certs[i].der, ps->certs[i].len);
        if (pem != NULL) {
            json_array_append_new(arr, json_string(pem));
            pb_free(pem);
        }
    }
    return arr;
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
        pb_ev_put(ev, path, pb_json_strn(dn, strlen(dn)));
    }
    pb_free(dn);
    dn = tls_x509_dn(c->x509, true);
    if (dn != NULL && dn[0] != '\0') {
        snprintf(path, sizeof path, "tls.%s.issuer", side);
        pb_ev_put(ev, path, pb_json_strn(dn, strlen(dn)));
    }
    pb_free(dn);
    int64_t ns;
    if (tls_x509_time(c->x509, true, &ns)) {
        snprintf(path, sizeof path, "tls.%s.not_after", side);
        pb_ev_put(ev, path, tls_time_json(ns));
    }
    if (tls_x509_time(c->x509, false, &ns)) {
        snprintf(path, sizeof path, "tls.%s.not_before", side);
        pb_ev_put(ev, path, tls_time_json(ns));
    }
}

static void put_alerts(json_t *detailed, const struct tls_parser *client,
                       const struct tls_parser *server)
{
    if (client->nalerts + server->nalerts == 0) {
        return;
    }
    json_t *alerts = json_array();
    json_t *types = json_array();
    const struct tls_parser *sides[2] = {client, server};
    static const char *const src[2] = {"client", "server"};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sides[s]->nalerts; i++) {
            const struct tls_alert *a = &sides[s]->alerts[i];
            char b1[32], b2[32];
            const char *type = tls_alert_name(a->code, b2, sizeof b2);
            json_array_append_new(alerts,
                                  json_pack("{s:s,s:i,s:s,s:s}", "severity",
                                            tls_severity_name(a->severity, b1, sizeof b1), "code",
                                            (int)a->code, "type", type, "source", src[s]));
            json_array_append_new(types, json_string(type));
        }
    }
    json_object_set_new_nocheck(detailed, "alerts", alerts);
    json_object_set_new_nocheck(detailed, "alert_types", types);
}

/* Drops JSON nulls (values Packetbeat leaves out unless keep_null). */
static void strip_nulls(json_t *v, unsigned depth)
{
    if (depth > 16) {
        return;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            if (json_is_null(x)) {
                json_object_del(v, k);
            } else {
                strip_nulls(x, depth + 1);
            }
        }
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            strip_nulls(json_array_get(v, i), depth + 1);
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
    json_t *detailed = json_object();
    if (ev == NULL || detailed == NULL) {
        pb_ev_free(ev);
        json_decref(detailed);
        return NULL;
    }
    char buf[64];
    int rc = 0;

    if (ch != NULL) {
        json_object_set_new_nocheck(detailed, "client_hello", hello_map(ch));
        char md5hex[33];
        char *ja3 = tls_ja3(ch, md5hex);
        if (ja3 != NULL) {
            rc |= pb_ev_put_str(ev, "tls.client.ja3", md5hex);
            pb_free(ja3);
        }
    }
    if (sh != NULL) {
        json_object_set_new_nocheck(detailed, "server_hello", hello_map(sh));
        rc |= pb_ev_put_str(ev, "tls.cipher", tls_cipher_name(sh->sel_cipher, buf, sizeof buf));
    }
    if (server->ocsp_valid) {
        json_object_set_new(
            detailed, "ocsp_response",
            json_string(tls_ocsp_status_name(server->ocsp_status, buf, sizeof buf)));
    }
    if (in->cfg->send_certificates) {
        put_certs(detailed, client, "client_certificate", "client_certificate_chain");
        put_certs(detailed, server, "server_certificate", "server_certificate_chain");
    }
    put_leaf_summary(ev, in->cfg, client, "client");
    put_leaf_summary(ev, in->cfg, server, "server");
    json_object_set_new_nocheck(detailed, "client_certificate_requested",
                                json_boolean(server->cert_requested));

    /* Resumption: the session id was echoed, or a ticket was offered and
     * the server answered with the extension; no key exchange seen. */
    bool sid_match = ch != NULL && ch->sid_len > 0 && sh != NULL && sh->sid_len == ch->sid_len &&
                     memcmp(ch->sid, sh->sid, ch->sid_len) == 0;
    bool ticket = ch != NULL && ch->ticket_nonempty && sh != NULL && sh->ticket_present;
    bool resumed = !client->key_exchanged && !server->key_exchanged && (sid_match || ticket);
    if (resumed) {
        json_object_set_new_nocheck(detailed, "resumption_method",
                                    json_string(ticket ? "ticket" : "id"));
    }
    put_alerts(detailed, client, server);

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
    json_object_set_new_nocheck(detailed, "version",
                                json_string(tls_version_name(major, minor, buf, sizeof buf)));
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
        rc |= pb_ev_put_str(ev, "destination.domain", sni);
        rc |= pb_ev_put_str(ev, "server.domain", sni);
        rc |= pb_ev_put_str(ev, "tls.client.server_name", sni);
    }
    const char *alpn = first_of(sh, "application_layer_protocol_negotiation");
    if (alpn != NULL) {
        rc |= pb_ev_put_str(ev, "tls.next_protocol", alpn);
    }

    if (in->cfg->include_detailed_fields) {
        json_t *leaf = json_object_get(detailed, "client_certificate");
        if (leaf != NULL) {
            rc |= pb_ev_put(ev, "tls.client.x509", json_incref(leaf));
            json_object_del(detailed, "client_certificate");
        }
        leaf = json_object_get(detailed, "server_certificate");
        if (leaf != NULL) {
            rc |= pb_ev_put(ev, "tls.server.x509", json_incref(leaf));
            json_object_del(detailed, "server_certificate");
        }
        if (!in->keep_null) {
            strip_nulls(detailed, 0);
        }
        rc |= pb_ev_put(ev, "tls.detailed", detailed);
    } else {
        json_decref(detailed);
    }
    if (in->cfg->include_raw_certificates) {
        if (server->ncerts > 0) {
            rc |= pb_ev_put(ev, "tls.server.certificate_chain", pem_chain(server));
        }
        if (client->ncerts > 0) {
            rc |= pb_ev_put(ev, "tls.client.certificate_chain", pem_chain(client));
        }
    }
    if (ch != NULL && ch->nciphers > 0) {
        rc |= pb_ev_put(ev, "tls.client.supported_ciphers", supported_ciphers(ch));
    }
    rc |= pb_ev_put_bool(ev, "tls.established", established);
    rc |= pb_ev_put_bool(ev, "tls.resumed", resumed);
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}
