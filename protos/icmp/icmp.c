/* SPDX-License-Identifier: Apache-2.0
 * protos/icmp/icmp.c - ICMPv4/ICMPv6 transactions: echo (and timestamp,
 * info, address mask) requests matched with their replies by (version,
 * addresses, id, seq) in a bounded table that expires after
 * transaction_timeout; other messages are published on their own.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "icmp_event.h"
#include "icmp_parse.h"
#include "protos/proto.h"

#define ICMP_MAX_PENDING 16384u
#define ICMP_BUCKETS 4096u

struct icmp_key {
    uint8_t version;
    struct pb_ip src, dst;
    uint16_t id, seq;
};

struct icmp_tx {
    struct icmp_tx *hnext;
    struct icmp_tx *prev, *next; /* age list, oldest first */
    struct icmp_key key;
    uint64_t born_ns;
    struct icmp_event_in ev;
};

struct icmp_priv {
    struct icmp_tx *buckets[ICMP_BUCKETS];
    struct icmp_tx *oldest, *newest;
    size_t n;
};

static uint32_t key_hash(const struct icmp_key *k)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++) {
        h = (h ^ k->src.b[i]) * 16777619u;
        h = (h ^ k->dst.b[i]) * 16777619u;
    }
    h = (h ^ (k->id & 0xff)) * 16777619u;
    h = (h ^ (k->id >> 8)) * 16777619u;
    h = (h ^ (k->seq & 0xff)) * 16777619u;
    h = (h ^ (k->seq >> 8)) * 16777619u;
    return (h ^ k->version) * 16777619u;
}

static bool key_eq(const struct icmp_key *a, const struct icmp_key *b)
{
    return a->version == b->version && a->id == b->id && a->seq == b->seq &&
           pb_ip_eq(&a->src, &b->src) && pb_ip_eq(&a->dst, &b->dst);
}

static struct icmp_tx *tab_take(struct icmp_priv *pv, const struct icmp_key *k)
{
    struct icmp_tx **pp = &pv->buckets[key_hash(k) % ICMP_BUCKETS];
    for (; *pp != NULL; pp = &(*pp)->hnext) {
        struct icmp_tx *tx = *pp;
        if (key_eq(&tx->key, k)) {
            *pp = tx->hnext;
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
            return tx;
        }
    }
    return NULL;
}

static void tab_insert(struct icmp_priv *pv, struct icmp_tx *tx)
{
    size_t b = key_hash(&tx->key) % ICMP_BUCKETS;
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
}

static void note(struct icmp_event_in *ev, const char *n)
{
    if (ev->nnotes < ICMP_MAX_NOTES) {
        ev->notes[ev->nnotes++] = n;
    }
}

static void publish(struct pb_proto *p, const struct icmp_event_in *ev)
{
    pb_event *j = icmp_event_build(ev);
    if (j == NULL) {
        p->stats.dropped++;
        return;
    }
    pb_emit(p, j);
}

static void expire(struct pb_proto *p, struct icmp_tx *tx)
{
    note(&tx->ev, ICMP_NOTE_ORPHAN_REQUEST);
    p->stats.unmatched++;
    publish(p, &tx->ev);
    pb_free(tx);
}

static void on_request(struct pb_proto *p, const struct icmp_key *key, const struct icmp_msg *m,
                       uint64_t ts)
{
    struct icmp_priv *pv = p->priv;
    struct icmp_tx *old = tab_take(pv, key);
    if (old != NULL) {
        note(&old->ev, ICMP_NOTE_DUPLICATE);
        publish(p, &old->ev);
        pb_free(old);
    }
    struct icmp_event_in ev;
    memset(&ev, 0, sizeof ev);
    ev.version = key->version;
    ev.src = key->src;
    ev.dst = key->dst;
    ev.ts_ns = ts;
    ev.req.present = true;
    ev.req.msg = *m;
    ev.req.ts_ns = ts;
    if (!icmp_needs_counterpart(key->version, m->type)) {
        publish(p, &ev);
        return;
    }
    while (pv->n >= ICMP_MAX_PENDING && pv->oldest != NULL) {
        struct icmp_tx *victim = tab_take(pv, &pv->oldest->key);
        p->stats.dropped++;
        expire(p, victim);
    }
    struct icmp_tx *tx = pb_calloc(1, sizeof *tx);
    if (tx == NULL) {
        p->stats.dropped++;
        return;
    }
    tx->key = *key;
    tx->born_ns = pb_frame_now_ns();
    tx->ev = ev;
    tab_insert(pv, tx);
}

static void on_response(struct pb_proto *p, const struct icmp_key *key, const struct icmp_msg *m,
                        uint64_t ts)
{
    struct icmp_priv *pv = p->priv;
    struct icmp_key rev = *key;
    rev.src = key->dst;
    rev.dst = key->src;
    struct icmp_tx *tx = tab_take(pv, &rev);
    struct icmp_event_in ev;
    if (tx != NULL) {
        ev = tx->ev;
        pb_free(tx);
    } else {
        memset(&ev, 0, sizeof ev);
        ev.version = rev.version;
        ev.src = rev.src;
        ev.dst = rev.dst;
        ev.ts_ns = ts;
        note(&ev, ICMP_NOTE_ORPHAN_RESPONSE);
        p->stats.unmatched++;
    }
    ev.resp.present = true;
    ev.resp.msg = *m;
    ev.resp.ts_ns = ts;
    publish(p, &ev);
}

static void icmp_on_datagram(struct pb_proto *p, const struct pb_pkt *pkt, const uint8_t *data,
                             size_t len)
{
    if (p->priv == NULL || data == NULL) {
        return;
    }
    uint8_t version;
    if (pkt->tuple.proto == PB_IPPROTO_ICMP) {
        version = 4;
    } else if (pkt->tuple.proto == PB_IPPROTO_ICMPV6) {
        version = 6;
    } else {
        return;
    }
    struct icmp_msg m;
    if (!icmp_msg_parse(version, data, len, &m)) {
        p->stats.parse_errors++;
        return;
    }
    struct icmp_key key;
    memset(&key, 0, sizeof key);
    key.version = version;
    key.src = pkt->tuple.src;
    key.dst = pkt->tuple.dst;
    key.id = m.id;
    key.seq = m.seq;
    if (icmp_is_request(version, m.type)) {
        on_request(p, &key, &m, pkt->ts_ns);
    } else {
        on_response(p, &key, &m, pkt->ts_ns);
    }
}

static void icmp_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct icmp_priv *pv = p->priv;
    if (pv == NULL || p->tx_timeout_ns <= 0) {
        return;
    }
    uint64_t to = (uint64_t)p->tx_timeout_ns;
    while (pv->oldest != NULL && now_ns >= pv->oldest->born_ns &&
           now_ns - pv->oldest->born_ns >= to) {
        struct icmp_tx *tx = tab_take(pv, &pv->oldest->key);
        expire(p, tx);
    }
}

static void drop_all(struct icmp_priv *pv)
{
    while (pv->oldest != NULL) {
        pb_free(tab_take(pv, &pv->oldest->key));
    }
}

/* End of a pcap: Packetbeat drops what is still pending. */
static void icmp_on_shutdown(struct pb_proto *p)
{
    if (p->priv != NULL) {
        drop_all(p->priv);
    }
}

static int icmp_init(struct pb_proto *p)
{
    struct icmp_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    p->priv = pv;
    return 0;
}

static void icmp_fini(struct pb_proto *p)
{
    if (p->priv != NULL) {
        drop_all(p->priv);
        pb_free(p->priv);
        p->priv = NULL;
    }
}

const struct pb_proto_ops pb_proto_icmp = {
    .name = "icmp",
    .transports = PB_ICMP,
    .init = icmp_init,
    .fini = icmp_fini,
    .on_datagram = icmp_on_datagram,
    .on_tick = icmp_on_tick,
    .on_shutdown = icmp_on_shutdown,
};
