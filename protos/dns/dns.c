/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns.c - the DNS protocol: UDP datagrams and TCP streams (each
 * message behind a 2-byte length, RFC 1035 4.2.2), requests matched to
 * responses by (client, server, transport, id) in a bounded table whose
 * entries expire after transaction_timeout, with Packetbeat's notes for
 * duplicates, orphans, EDNS mismatches and broken TCP responses.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/rd.h"
#include "beat/spares.h"
#include "dns_event.h"
#include "dns_parse.h"
#include "protos/proto.h"

/* Caps of the pending-request table: entries and bytes of request copies.
 * Beyond either, the oldest request is published as unanswered. */
#define DNS_MAX_PENDING 8192u
#define DNS_MAX_PENDING_BYTES (4u * 1024u * 1024u)
#define DNS_BUCKETS 4096u
#define DNS_UDP_MAX_PLAIN 512u /* larger UDP messages need EDNS */
#define DNS_TCP_PREFIX 2u

struct dns_key {
    struct pb_tuple t; /* requester -> responder */
    uint16_t id;
};

struct dns_tx {
    struct dns_tx *hnext;       /* hash chain */
    struct dns_tx *prev, *next; /* age list, oldest first */
    struct dns_key key;
    uint32_t hash;    /* key_hash(&key) */
    uint64_t born_ns; /* wall clock when stored */
    uint64_t ts_ns;   /* request time */
    size_t rawlen;
    size_t length; /* request bytes as reported */
    bool edns;     /* the request has an OPT record */
    const char *notes[DNS_MAX_NOTES];
    size_t nnotes;
    uint8_t raw[]; /* a copy of the request message (rawlen bytes) */
};

struct dns_priv {
    bool include_authorities;
    bool include_additionals;
    struct dns_psl_memo *psl_memo; /* owned; NULL: none */
    struct dns_tx *buckets[DNS_BUCKETS];
    struct dns_tx *oldest, *newest;
    size_t n;
    size_t bytes;
    /* this worker's spare transaction blocks (room for TX_RAW bytes of
       request): a block per request otherwise */
    struct pb_spares spares;
};

/* Requests up to this long get a block of this room, which is kept for
 * the next request when freed (up to SPARES_MAX blocks); longer ones get a
 * block of their size. */
#define TX_RAW 512u
#define SPARES_MAX 64u

/* TCP: per direction, Packetbeat's "a message is being assembled" state. */
struct dns_dir {
    bool alive;      /* the stream exists (not dropped after an error) */
    bool started;    /* the first bytes of the next message arrived */
    bool pending;    /* a packet came in and did not complete a message */
    uint64_t msg_ts; /* time of the first packet of that message */
};

struct dns_conn {
    struct dns_dir dir[2];
    bool have_prev; /* the last message of the connection was a request */
    struct dns_key prev;
};

/* ------------------------------------------------------------------ */
/* Pending table. */

/* The two addresses a word at a time, then ports, id and transport. */
static uint32_t key_hash(const struct dns_key *k)
{
    uint64_t w[4];
    memcpy(w, k->t.src.b, 16);
    memcpy(w + 2, k->t.dst.b, 16);
    uint64_t h = (uint64_t)k->t.proto << 48 | (uint64_t)k->t.sport << 32 |
                 (uint64_t)k->t.dport << 16 | k->id;
    for (int i = 0; i < 4; i++) {
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    return (uint32_t)(h >> 32);
}

static bool key_eq(const struct dns_key *a, const struct dns_key *b)
{
    return a->id == b->id && a->t.sport == b->t.sport && a->t.dport == b->t.dport &&
           a->t.proto == b->t.proto && pb_ip_eq(&a->t.src, &b->t.src) &&
           pb_ip_eq(&a->t.dst, &b->t.dst);
}

static struct dns_tx *tab_find(struct dns_priv *pv, const struct dns_key *k, uint32_t hash)
{
    for (struct dns_tx *tx = pv->buckets[hash % DNS_BUCKETS]; tx != NULL; tx = tx->hnext) {
        if (tx->hash == hash && key_eq(&tx->key, k)) {
            return tx;
        }
    }
    return NULL;
}

static void tab_unlink(struct dns_priv *pv, struct dns_tx *tx)
{
    struct dns_tx **pp = &pv->buckets[tx->hash % DNS_BUCKETS];
    while (*pp != NULL && *pp != tx) {
        pp = &(*pp)->hnext;
    }
    if (*pp == tx) {
        *pp = tx->hnext;
    }
    if (tx->prev != NULL) {
        tx->prev->next = tx->next;
    } else {
        pv->oldest = tx->next;
    }
    if (tx->next != NULL) {
        tx->next->prev = tx->prev;
    } else {
        pv->newest = tx->prev;
    }
    tx->hnext = tx->prev = tx->next = NULL;
    pv->n--;
    pv->bytes -= tx->rawlen;
}

static void tab_insert(struct dns_priv *pv, struct dns_tx *tx)
{
    size_t b = tx->hash % DNS_BUCKETS;
    tx->hnext = pv->buckets[b];
    pv->buckets[b] = tx;
    tx->prev = pv->newest;
    tx->next = NULL;
    if (pv->newest != NULL) {
        pv->newest->next = tx;
    } else {
        pv->oldest = tx;
    }
    pv->newest = tx;
    pv->n++;
    pv->bytes += tx->rawlen;
}

/* A block for a request of rawlen bytes, NULL on ENOMEM. */
static struct dns_tx *tx_alloc(struct dns_priv *pv, size_t rawlen)
{
    size_t cap;
    return pb_spares_get(&pv->spares, rawlen, &cap);
}

/* Frees tx (NULL: nothing), or keeps its block for the next request. */
static void tx_free(struct dns_priv *pv, struct dns_tx *tx)
{
    if (tx != NULL) {
        pb_spares_put(&pv->spares, tx, tx->rawlen);
    }
}

static void tx_note(struct dns_tx *tx, const char *note)
{
    if (tx->nnotes < DNS_MAX_NOTES) {
        tx->notes[tx->nnotes++] = note;
    }
}

/* ------------------------------------------------------------------ */
/* Publishing. */

static void publish(struct pb_proto *p, const struct pb_tuple *tuple, const struct dns_msg *req,
                    uint64_t req_ts, const struct dns_msg *resp, uint64_t resp_ts,
                    const char *const *notes, size_t nnotes)
{
    struct dns_priv *pv = p->priv;
    struct dns_event_in in = {0};
    in.tuple = tuple;
    in.req = req;
    in.resp = resp;
    in.req_ts_ns = req_ts;
    in.resp_ts_ns = resp_ts;
    for (size_t i = 0; i < nnotes && i < DNS_MAX_NOTES; i++) {
        in.notes[in.nnotes++] = notes[i];
    }
    in.include_authorities = pv->include_authorities;
    in.include_additionals = pv->include_additionals;
    in.send_request = p->send_request;
    in.send_response = p->send_response;
    in.psl_memo = pv->psl_memo;
    pb_event *ev = dns_event_build(&in);
    if (ev == NULL) {
        p->stats.dropped++;
        return;
    }
    pb_emit(p, ev);
}

/* What of a message publish shows: as the event's dns.* and, with send,
 * as its request or response text (all of it). */
static unsigned body_keep(const struct dns_priv *pv, bool send)
{
    if (send) {
        return DNS_KEEP_ALL;
    }
    return (pv->include_authorities ? DNS_KEEP_AUTHORITIES : 0u) |
           (pv->include_additionals ? DNS_KEEP_ADDITIONALS : 0u);
}

/* Publishes a stored request (no response) and frees it. */
static void publish_request_only(struct pb_proto *p, struct dns_tx *tx)
{
    struct dns_msg req;
    _Alignas(16) unsigned char scratch[DNS_SCRATCH];
    if (dns_msg_parse_in(tx->raw, tx->rawlen, &req, body_keep(p->priv, p->send_request), scratch,
                         sizeof scratch) == 0) {
        req.length = tx->length;
        publish(p, &tx->key.t, &req, tx->ts_ns, NULL, 0, tx->notes, tx->nnotes);
        dns_msg_free(&req);
    } else {
        p->stats.dropped++;
    }
    tx_free(p->priv, tx);
}

static void expire_tx(struct pb_proto *p, struct dns_tx *tx)
{
    tx_note(tx, DNS_NOTE_NO_RESPONSE);
    p->stats.unmatched++;
    publish_request_only(p, tx);
}

/* ------------------------------------------------------------------ */
/* Requests and responses (shared by UDP and TCP). */

/* msg: as dns_msg_check leaves it (header and EDNS fields only). */
static void on_request(struct pb_proto *p, const struct pb_tuple *tuple, const uint8_t *raw,
                       size_t rawlen, const struct dns_msg *msg, uint64_t ts)
{
    struct dns_priv *pv = p->priv;
    struct dns_key key = {*tuple, msg->id};
    uint32_t hash = key_hash(&key);
    struct dns_tx *old = tab_find(pv, &key, hash);
    if (old != NULL) {
        tab_unlink(pv, old);
        tx_note(old, DNS_NOTE_DUPLICATE);
        publish_request_only(p, old);
    }
    while (pv->n >= DNS_MAX_PENDING || (pv->n > 0 && pv->bytes + rawlen > DNS_MAX_PENDING_BYTES)) {
        struct dns_tx *victim = pv->oldest;
        tab_unlink(pv, victim);
        p->stats.dropped++;
        expire_tx(p, victim);
    }
    struct dns_tx *tx = tx_alloc(pv, rawlen);
    if (tx == NULL) {
        p->stats.dropped++;
        return;
    }
    memset(tx, 0, sizeof *tx);
    memcpy(tx->raw, raw, rawlen);
    tx->key = key;
    tx->hash = hash;
    tx->born_ns = pb_frame_now_ns();
    tx->ts_ns = ts;
    tx->rawlen = rawlen;
    tx->length = msg->length;
    tx->edns = msg->opt.present;
    if (tuple->proto == PB_IPPROTO_UDP && msg->opt.present && msg->length > DNS_UDP_MAX_PLAIN) {
        tx_note(tx, DNS_NOTE_TOO_LARGE);
    }
    tab_insert(pv, tx);
}

/* msg: decoded from raw (rawlen bytes). */
static void on_response(struct pb_proto *p, const struct pb_tuple *tuple, const uint8_t *raw,
                        size_t rawlen, const struct dns_msg *msg, uint64_t ts)
{
    struct dns_priv *pv = p->priv;
    struct pb_tuple rev = pb_tuple_reverse(tuple);
    struct dns_key key = {rev, msg->id};
    struct dns_tx *tx = tab_find(pv, &key, key_hash(&key));
    const char *notes[DNS_MAX_NOTES];
    size_t nnotes = 0;
    struct dns_msg req;
    _Alignas(16) unsigned char scratch[DNS_SCRATCH];
    bool have_req = false;
    if (tx != NULL) {
        tab_unlink(pv, tx);
        for (size_t i = 0; i < tx->nnotes; i++) {
            notes[nnotes++] = tx->notes[i];
        }
        /* the response gives dns.*: of the request the event shows its
           header and question (and its text with send_request), the
           question's name as the response spells it when it is the same
           (req is freed before msg) */
        unsigned keep = p->send_request ? DNS_KEEP_ALL : DNS_KEEP_QUESTIONS;
        struct dns_twin twin = {raw, rawlen, msg};
        if (dns_msg_parse_twin(tx->raw, tx->rawlen, &req, keep, scratch, sizeof scratch, &twin) ==
            0) {
            req.length = tx->length;
            have_req = true;
        }
    } else {
        notes[nnotes++] = DNS_NOTE_ORPHANED;
        p->stats.unmatched++;
    }
    if (tuple->proto == PB_IPPROTO_UDP) {
        bool resp_edns = msg->opt.present;
        if (!resp_edns && msg->length > DNS_UDP_MAX_PLAIN && nnotes < DNS_MAX_NOTES) {
            notes[nnotes++] = DNS_NOTE_TOO_LARGE_RESP;
        }
        if (have_req && nnotes < DNS_MAX_NOTES) {
            bool req_edns = tx->edns;
            if (req_edns && !resp_edns) {
                notes[nnotes++] = DNS_NOTE_EDNS_NO_SUPPORT;
            } else if (!req_edns && resp_edns) {
                notes[nnotes++] = DNS_NOTE_EDNS_UNEXPECTED;
            }
        }
    }
    publish(p, &rev, have_req ? &req : NULL, tx != NULL ? tx->ts_ns : 0, msg, ts, notes, nnotes);
    if (have_req) {
        dns_msg_free(&req);
    }
    tx_free(pv, tx);
}

/* Decodes one message and files it. false when it is not DNS. */
static bool handle_message(struct pb_proto *p, const struct pb_tuple *tuple, const uint8_t *raw,
                           size_t rawlen, size_t length, uint64_t ts, bool *is_response,
                           uint16_t *id)
{
    /* A request is only checked here (the same verdict, nothing rendered):
     * its bytes are kept and decoded when its event is built. */
    bool qr = rawlen > 2 && (raw[2] & 0x80) != 0;
    struct dns_msg msg;
    _Alignas(16) unsigned char scratch[DNS_SCRATCH];
    if ((qr ? dns_msg_parse_in(raw, rawlen, &msg, body_keep(p->priv, p->send_response), scratch,
                               sizeof scratch)
            : dns_msg_check(raw, rawlen, &msg)) < 0) {
        p->stats.parse_errors++;
        return false;
    }
    msg.length = length;
    *is_response = msg.response;
    *id = msg.id;
    if (msg.response) {
        on_response(p, tuple, raw, rawlen, &msg, ts);
    } else {
        on_request(p, tuple, raw, rawlen, &msg, ts);
    }
    dns_msg_free(&msg);
    return true;
}

/* ------------------------------------------------------------------ */
/* UDP */

static void dns_on_datagram(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                            size_t len)
{
    if (p->priv == NULL || data == NULL) {
        return;
    }
    bool resp;
    uint16_t id;
    if (!handle_message(p, &pkt->tuple, data, len, len, pkt->ts_ns, &resp, &id)) {
        pb_debug("dns", "%s", DNS_NOTE_NON_DNS);
    }
}

/* ------------------------------------------------------------------ */
/* TCP */

static struct pb_tuple dir_tuple(const struct pb_conn *c, enum pb_dir d)
{
    if (c->pkt != NULL) {
        return c->pkt->tuple;
    }
    return d == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
}

/* A broken or cut response: the last request of the connection is
 * published with the reason (Packetbeat's publishResponseError). */
static void response_error(struct pb_conn *c, const char *note)
{
    struct dns_conn *st = c->state;
    struct dns_priv *pv = c->proto->priv;
    if (!st->dir[PB_DIR_TO_SERVER].alive || !st->have_prev) {
        return;
    }
    struct dns_tx *tx = tab_find(pv, &st->prev, key_hash(&st->prev));
    if (tx == NULL) {
        return;
    }
    tab_unlink(pv, tx);
    tx_note(tx, note);
    publish_request_only(c->proto, tx);
}

static void dir_reset(struct dns_dir *dd)
{
    dd->started = false;
    dd->pending = false;
}

static enum pb_parse dns_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                 size_t *consumed)
{
    struct dns_conn *st = c->state;
    struct dns_dir *dd = &st->dir[d];
    *consumed = 0;
    if (c->proto->priv == NULL) {
        return PB_PARSE_DROP;
    }
    dd->alive = true;
    if (!dd->started) {
        dd->started = true;
        dd->msg_ts = c->ts_ns;
    }
    size_t off = 0;
    bool completed = false;
    struct pb_tuple tuple = dir_tuple(c, d);
    while (len - off >= DNS_TCP_PREFIX) {
        struct pb_rd r = pb_rd_make(data + off, len - off);
        uint16_t mlen = pb_rd_be16(&r);
        const char *err = NULL;
        if (mlen == 0) {
            err = "Response: " DNS_NOTE_ZERO_LENGTH;
        } else if (pb_rd_left(&r) < mlen) {
            break;
        } else {
            struct pb_slice m = pb_rd_slice(&r, mlen);
            bool resp = false;
            uint16_t id = 0;
            if (handle_message(c->proto, &tuple, m.ptr, m.len, (size_t)mlen + DNS_TCP_PREFIX,
                               dd->msg_ts, &resp, &id)) {
                if (resp) {
                    st->have_prev = false;
                } else {
                    st->have_prev = true;
                    st->prev.t = tuple;
                    st->prev.id = id;
                }
            } else {
                err = "Response: " DNS_NOTE_NON_DNS;
            }
        }
        if (err != NULL) {
            if (d == PB_DIR_TO_CLIENT) {
                response_error(c, err);
            }
            dir_reset(dd);
            dd->alive = false;
            *consumed = len;
            return PB_PARSE_DROP;
        }
        off += (size_t)mlen + DNS_TCP_PREFIX;
        completed = true;
        dd->started = off < len;
        dd->msg_ts = c->ts_ns;
    }
    *consumed = off;
    dd->pending = off < len && !completed;
    if (off == len) {
        dd->started = false;
    }
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static bool dns_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct dns_conn *st = c->state;
    struct dns_dir *dd = &st->dir[d];
    if (!dd->pending) {
        return false; /* between messages Packetbeat keeps the stream */
    }
    if (d == PB_DIR_TO_CLIENT) {
        response_error(c, "Response: " DNS_NOTE_INCOMPLETE);
    }
    dir_reset(dd);
    return true;
}

static void dns_on_fin(struct pb_conn *c, enum pb_dir d)
{
    struct dns_conn *st = c->state;
    struct dns_dir *dd = &st->dir[d];
    if (dd->pending && d == PB_DIR_TO_CLIENT) {
        response_error(c, "Response: " DNS_NOTE_INCOMPLETE);
    }
    dd->pending = false;
}

/* ------------------------------------------------------------------ */
/* Timers and life cycle. */

static void dns_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct dns_priv *pv = p->priv;
    if (pv == NULL || p->tx_timeout_ns <= 0) {
        return;
    }
    uint64_t to = (uint64_t)p->tx_timeout_ns;
    while (pv->oldest != NULL && now_ns >= pv->oldest->born_ns &&
           now_ns - pv->oldest->born_ns >= to) {
        struct dns_tx *tx = pv->oldest;
        tab_unlink(pv, tx);
        expire_tx(p, tx);
    }
}

static void drop_all(struct dns_priv *pv)
{
    while (pv->oldest != NULL) {
        struct dns_tx *tx = pv->oldest;
        tab_unlink(pv, tx);
        pb_free(tx);
    }
}

/* End of a pcap: Packetbeat drops what is still pending. */
static void dns_on_shutdown(struct pb_proto *p)
{
    if (p->priv != NULL) {
        drop_all(p->priv);
    }
}

static int dns_init(struct pb_proto *p)
{
    struct dns_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    if (pb_cfg_bool(p->cfg, "include_authorities", false, &pv->include_authorities) < 0 ||
        pb_cfg_bool(p->cfg, "include_additionals", false, &pv->include_additionals) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    pb_spares_init(&pv->spares, sizeof(struct dns_tx), TX_RAW, 1, SPARES_MAX);
    p->priv = pv;
    dns_psl_load();
    pv->psl_memo = dns_psl_memo_new(0); /* none: every lookup walks */
    return 0;
}

static void dns_fini(struct pb_proto *p)
{
    struct dns_priv *pv = p->priv;
    if (pv != NULL) {
        drop_all(pv);
        pb_spares_fini(&pv->spares);
        dns_psl_memo_free(pv->psl_memo);
        pb_free(pv);
        p->priv = NULL;
    }
    dns_psl_release();
}

const struct pb_proto_ops pb_proto_dns = {
    .name = "dns",
    .transports = PB_TCP | PB_UDP,
    .conn_size = sizeof(struct dns_conn),
    .init = dns_init,
    .fini = dns_fini,
    .on_data = dns_on_data,
    .on_gap = dns_on_gap,
    .on_fin = dns_on_fin,
    .on_datagram = dns_on_datagram,
    .on_tick = dns_on_tick,
    .on_shutdown = dns_on_shutdown,
};
