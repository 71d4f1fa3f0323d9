/* SPDX-License-Identifier: Apache-2.0
 * protos/sip/sip.c - the sip plugin: every SIP request and response is its
 * own event (no request/response pairing), from UDP datagrams (several
 * messages per datagram allowed) and from TCP streams framed by
 * Content-Length, with the options parse_authorization, parse_body,
 * keep_original (all default true) and transport_protocol ("udp" default,
 * or "tcp"; it only sets network.transport, as in Packetbeat).
 *
 * UDP follows Packetbeat exactly: event.original holds the datagram from
 * the message's first byte to its end, and an incomplete message is
 * dropped. On TCP a message is published once all its bytes are there;
 * garbage drops the direction's buffered bytes (the next segment starts
 * afresh), a gap drops them too; event.original is the message itself.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "protos/proto.h"
#include "sip_event.h"
#include "sip_parse.h"

struct sip_stream {
    bool started;   /* bytes of a message are buffered */
    uint64_t ts_ns; /* time of its first byte */
};

struct sip_conn {
    struct sip_stream st[2];
};

static void publish(struct pb_proto *p, const struct sip_msg *m, struct pb_slice raw,
                    const struct pb_tuple *t, uint64_t ts_ns)
{
    const struct sip_config *cfg = p->priv;
    pb_event *ev = sip_event(cfg, m, raw, t, ts_ns);
    if (ev == NULL) {
        p->stats.parse_errors++;
        return;
    }
    pb_emit(p, ev);
}

static void sip_on_datagram(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                            size_t len)
{
    size_t off = 0;
    while (off < len) {
        struct sip_msg m;
        enum sip_result r = sip_parse(data + off, len - off, &m);
        if (r == SIP_MORE) {
            pb_debug("sip", "incomplete SIP message in datagram, dropped");
            break;
        }
        if (r == SIP_BAD) {
            pb_debug("sip", "not a SIP message, dropped");
            p->stats.parse_errors++;
            break;
        }
        struct pb_slice raw = {data + off, len - off};
        publish(p, &m, raw, &pkt->tuple, pkt->ts_ns);
        off += m.len;
    }
}

static enum pb_parse sip_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                 size_t *consumed)
{
    struct sip_conn *sc = c->state;
    struct sip_stream *st = &sc->st[d];
    struct pb_tuple t = d == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
    size_t off = 0;
    while (off < len) {
        if (!st->started) {
            st->started = true;
            st->ts_ns = c->ts_ns;
        }
        struct sip_msg m;
        enum sip_result r = sip_parse(data + off, len - off, &m);
        if (r == SIP_MORE) {
            if (m.has_content_length && m.content_length > (int64_t)PB_MAX_STREAM_BYTES) {
                r = SIP_BAD; /* can never fit in the stream buffer */
            } else {
                break;
            }
        }
        if (r == SIP_BAD) {
            pb_debug("sip", "not a SIP message, dropping the stream");
            c->proto->stats.parse_errors++;
            st->started = false;
            *consumed = len;
            return PB_PARSE_DROP;
        }
        struct pb_slice raw = {data + off, m.len};
        publish(c->proto, &m, raw, &t, st->ts_ns);
        off += m.len;
        st->started = false;
    }
    *consumed = off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static bool sip_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct sip_conn *sc = c->state;
    (void)lost;
    c->proto->stats.gaps++;
    sc->st[d].started = false;
    return true;
}

static int sip_init(struct pb_proto *p)
{
    struct sip_config *cfg = pb_calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return -PB_ENOMEM;
    }
    const char *tp = NULL;
    if (pb_cfg_bool(p->cfg, "parse_authorization", true, &cfg->parse_authorization) < 0 ||
        pb_cfg_bool(p->cfg, "parse_body", true, &cfg->parse_body) < 0 ||
        pb_cfg_bool(p->cfg, "keep_original", true, &cfg->keep_original) < 0 ||
        pb_cfg_str(p->cfg, "transport_protocol", "udp", &tp) < 0) {
        pb_free(cfg);
        return -PB_EINVAL;
    }
    char lower[sizeof cfg->transport];
    size_t n = strlen(tp);
    if (n >= sizeof lower) {
        n = sizeof lower - 1;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = tp[i];
        lower[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    lower[n] = '\0';
    if (strlen(tp) >= sizeof cfg->transport ||
        (strcmp(lower, "udp") != 0 && strcmp(lower, "tcp") != 0)) {
        pb_error("sip", "unsupported transport_protocol: %s", lower);
        pb_free(cfg);
        return -PB_EINVAL;
    }
    memcpy(cfg->transport, tp, strlen(tp) + 1);
    p->priv = cfg;
    return 0;
}

static void sip_fini(struct pb_proto *p)
{
    pb_free(p->priv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_sip = {
    .name = "sip",
    .transports = PB_UDP | PB_TCP,
    .conn_size = sizeof(struct sip_conn),
    .init = sip_init,
    .fini = sip_fini,
    .on_data = sip_on_data,
    .on_gap = sip_on_gap,
    .on_datagram = sip_on_datagram,
};
