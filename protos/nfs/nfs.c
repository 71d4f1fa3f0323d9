/* SPDX-License-Identifier: Apache-2.0
 * protos/nfs/nfs.c - the nfs plugin: ONC-RPC over TCP with record marking
 * (RFC 5531 section 11), records split over any number of segments, calls
 * and replies correlated by xid and client address, NFS v3 and v4.
 *
 * As in Packetbeat 8.17: TCP only; a record is handled once it is complete;
 * a record that is not the last fragment of its message stops the stream
 * (its bytes wait until the stream cap drops them); calls to other RPC
 * programs are ignored; the pending-call table is shared by all connections
 * and keyed by xid + client IP; a call not answered within
 * transaction_timeout (default 1m, wall clock) is published with status
 * NO_REPLY; only accepted replies complete a call; calls pending when the
 * input ends are dropped. Better than Packetbeat, a gap drops the buffered
 * bytes and the stream resynchronises on the next plausible record header
 * instead of parsing misaligned bytes.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "nfs_event.h"
#include "nfs_parse.h"
#include "protos/proto.h"

/* Bounds (Packetbeat has none): calls waiting for a reply, and the hash
 * table size. Beyond the cap the oldest call is dropped and counted. */
#define NFS_MAX_PENDING_CALLS 16384u
#define NFS_HASH_BUCKETS 4096u
#define NFS_DEFAULT_TIMEOUT_NS (60LL * 1000 * 1000 * 1000)

struct nfs_pending {
    struct nfs_pending *hnext;       /* hash chain */
    struct nfs_pending *prev, *next; /* age list, oldest first */
    uint32_t xid;
    struct pb_ip client;
    uint32_t proc;
    uint64_t start_ns; /* packet time of the call */
    uint64_t added_ns; /* wall clock when stored */
    pb_event *ev;      /* owned */
};

struct nfs_priv {
    struct nfs_pending *buckets[NFS_HASH_BUCKETS];
    struct nfs_pending *oldest, *newest;
    size_t n;
};

struct nfs_stream {
    bool resync; /* after a gap: look for the next record header */
};

struct nfs_conn {
    struct nfs_stream st[2];
};

/* ---- pending calls ---- */

static unsigned bucket_of(uint32_t xid, const struct pb_ip *ip)
{
    uint32_t h = 2166136261u ^ xid;
    h *= 16777619u;
    h ^= ip->v6;
    h *= 16777619u;
    for (size_t i = 0; i < sizeof ip->b; i++) {
        h ^= ip->b[i];
        h *= 16777619u;
    }
    return h % NFS_HASH_BUCKETS;
}

/* Unlinks e from the hash chain and the age list (e stays allocated). */
static void pending_unlink(struct nfs_priv *pv, struct nfs_pending *e)
{
    struct nfs_pending **pp = &pv->buckets[bucket_of(e->xid, &e->client)];
    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->hnext;
    }
    if (*pp == e) {
        *pp = e->hnext;
    }
    if (e->prev != NULL) {
        e->prev->next = e->next;
    } else {
        pv->oldest = e->next;
    }
    if (e->next != NULL) {
        e->next->prev = e->prev;
    } else {
        pv->newest = e->prev;
    }
    e->hnext = e->prev = e->next = NULL;
    pv->n--;
}

static void pending_free(struct nfs_pending *e)
{
    if (e != NULL) {
        pb_ev_free(e->ev);
        pb_free(e);
    }
}

static struct nfs_pending *pending_find(struct nfs_priv *pv, uint32_t xid, const struct pb_ip *ip)
{
    for (struct nfs_pending *e = pv->buckets[bucket_of(xid, ip)]; e != NULL; e = e->hnext) {
        if (e->xid == xid && pb_ip_eq(&e->client, ip)) {
            return e;
        }
    }
    return NULL;
}

/* Stores a call (taking ev); a call with the same key replaces the old one
 * silently, as Packetbeat's cache does. */
static void pending_put(struct pb_proto *p, uint32_t xid, const struct pb_ip *client, uint32_t proc,
                        uint64_t start_ns, pb_event *ev)
{
    struct nfs_priv *pv = p->priv;
    struct nfs_pending *old = pending_find(pv, xid, client);
    if (old != NULL) {
        pending_unlink(pv, old);
        pending_free(old);
    }
    if (pv->n >= NFS_MAX_PENDING_CALLS && pv->oldest != NULL) {
        struct nfs_pending *e = pv->oldest;
        pending_unlink(pv, e);
        pending_free(e);
        p->stats.dropped++;
    }
    struct nfs_pending *e = pb_calloc(1, sizeof *e);
    if (e == NULL) {
        pb_ev_free(ev);
        p->stats.dropped++;
        return;
    }
    e->xid = xid;
    e->client = *client;
    e->proc = proc;
    e->start_ns = start_ns;
    e->added_ns = pb_frame_now_ns();
    e->ev = ev;
    unsigned b = bucket_of(xid, client);
    e->hnext = pv->buckets[b];
    pv->buckets[b] = e;
    e->prev = pv->newest;
    if (pv->newest != NULL) {
        pv->newest->next = e;
    } else {
        pv->oldest = e;
    }
    pv->newest = e;
    pv->n++;
}

/* ---- records ---- */

static void handle_call(struct pb_conn *c, enum pb_dir d, const uint8_t *rec, size_t size)
{
    struct nfs_call call;
    enum nfs_result r = nfs_parse_call(rec, size, &call);
    if (r == NFS_NOT_NFS) {
        return;
    }
    if (r != NFS_OK_MSG) {
        pb_debug("nfs", "malformed rpc call, ignored");
        c->proto->stats.parse_errors++;
        return;
    }
    /* the caller is the source, whichever side opened the connection */
    struct pb_tuple t = d == PB_DIR_TO_SERVER ? c->tuple : pb_tuple_reverse(&c->tuple);
    pb_event *ev = nfs_call_event(&call, &t, c->ts_ns, size);
    if (ev == NULL) {
        c->proto->stats.dropped++;
        return;
    }
    pending_put(c->proto, call.xid, &t.src, call.proc, c->ts_ns, ev);
}

static void handle_reply(struct pb_conn *c, enum pb_dir d, const uint8_t *rec, size_t size)
{
    struct nfs_reply rp;
    if (nfs_parse_reply(rec, size, &rp) != NFS_OK_MSG) {
        pb_debug("nfs", "malformed rpc reply, ignored");
        c->proto->stats.parse_errors++;
        return;
    }
    if (rp.reply_stat != 0) {
        return; /* only accepted replies are of interest */
    }
    /* the reply goes back to the caller */
    const struct pb_ip *client = d == PB_DIR_TO_CLIENT ? &c->tuple.src : &c->tuple.dst;
    struct nfs_priv *pv = c->proto->priv;
    struct nfs_pending *e = pending_find(pv, rp.xid, client);
    if (e == NULL) {
        c->proto->stats.unmatched++;
        return;
    }
    pending_unlink(pv, e);
    pb_event *ev = e->ev;
    e->ev = NULL;
    if (nfs_reply_complete(ev, &rp, e->proc, e->start_ns, c->ts_ns, size)) {
        pb_emit(c->proto, ev);
    } else {
        pb_ev_free(ev);
        c->proto->stats.parse_errors++;
    }
    pending_free(e);
}

static void handle_record(struct pb_conn *c, enum pb_dir d, const uint8_t *rec, size_t size)
{
    struct rpc_head h;
    if (!rpc_head(rec, size, &h)) {
        c->proto->stats.parse_errors++;
        return;
    }
    if (h.msg_type == RPC_CALL) {
        handle_call(c, d, rec, size);
    } else if (h.msg_type == RPC_REPLY) {
        handle_reply(c, d, rec, size);
    } else {
        pb_debug("nfs", "Bad RPC message");
        c->proto->stats.parse_errors++;
    }
}

static enum pb_parse nfs_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                                 size_t *consumed)
{
    struct nfs_conn *nc = c->state;
    struct nfs_stream *st = &nc->st[d];
    size_t off = 0;
    if (st->resync) {
        while (len - off >= 16 &&
               !rpc_plausible_record(data + off, len - off, PB_MAX_STREAM_BYTES - 4)) {
            off++;
        }
        if (len - off < 16) {
            *consumed = off;
            return PB_PARSE_MORE;
        }
        st->resync = false;
    }
    while (len - off >= 4) {
        struct pb_rd r = pb_rd_make(data + off, len - off);
        uint32_t mark = pb_rd_be32(&r);
        size_t size = mark & RPC_SIZE_MASK;
        if (pb_rd_left(&r) < size) {
            break; /* wait for the rest of the record */
        }
        if (!(mark & RPC_LAST_FRAG)) {
            /* Packetbeat does not reassemble multi-fragment messages: the
               stream stays stuck here until its buffer cap drops it. */
            pb_debug("nfs", "multifragment rpc message");
            break;
        }
        handle_record(c, d, data + off + 4, size);
        off += 4 + size;
    }
    *consumed = off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static bool nfs_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct nfs_conn *nc = c->state;
    (void)lost;
    c->proto->stats.gaps++;
    nc->st[d].resync = true;
    return true;
}

static void nfs_on_fin(struct pb_conn *c, enum pb_dir d)
{
    /* Nothing: calls stay in the shared table until answered or expired. */
    (void)c;
    (void)d;
}

static void nfs_on_tick(struct pb_proto *p, uint64_t now_ns)
{
    struct nfs_priv *pv = p->priv;
    uint64_t timeout = p->tx_timeout_ns > 0 ? (uint64_t)p->tx_timeout_ns : 0;
    while (pv->oldest != NULL && now_ns >= pv->oldest->added_ns &&
           now_ns - pv->oldest->added_ns >= timeout) {
        struct nfs_pending *e = pv->oldest;
        pending_unlink(pv, e);
        nfs_mark_no_reply(e->ev);
        p->stats.unmatched++;
        pb_emit(p, e->ev);
        e->ev = NULL;
        pending_free(e);
    }
}

static int nfs_init(struct pb_proto *p)
{
    struct nfs_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    p->priv = pv;
    return 0;
}

static void nfs_fini(struct pb_proto *p)
{
    struct nfs_priv *pv = p->priv;
    if (pv == NULL) {
        return;
    }
    while (pv->oldest != NULL) {
        struct nfs_pending *e = pv->oldest;
        pending_unlink(pv, e);
        pending_free(e);
    }
    pb_free(pv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_nfs = {
    .name = "nfs",
    .transports = PB_TCP,
    .conn_size = sizeof(struct nfs_conn),
    .default_tx_timeout_ns = NFS_DEFAULT_TIMEOUT_NS,
    .init = nfs_init,
    .fini = nfs_fini,
    .on_data = nfs_on_data,
    .on_gap = nfs_on_gap,
    .on_fin = nfs_on_fin,
    .on_tick = nfs_on_tick,
};
