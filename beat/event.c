/* SPDX-License-Identifier: Apache-2.0
 * beat/event.c - dotted-path setters on jansson objects, wire strings made
 * valid UTF-8, RFC 3339 times, and the common transaction fields
 * (Packetbeat's pb.Fields: ComputeValues + MarshalMapStr).
 */
#include "beat/event.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event_dom.h"
#include "beat/limits.h"
#include "beat/utf8.h"

#define MAX_PATH_SEG 256

static atomic_int time_digits = 3;

void pb_time_set_precision(int digits)
{
    if (digits == 3 || digits == 6 || digits == 9) {
        atomic_store(&time_digits, digits);
    }
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

/* Digits of frac (n of them, zero-padded) at p. */
static void put_digits(char *p, uint64_t frac, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
}

/* "2006-01-02T15:04:05" for secs since the epoch, at buf (19 bytes). */
static void civil(uint64_t secs, char *buf)
{
    uint64_t days = secs / 86400u;
    unsigned sod = (unsigned)(secs % 86400u);
    uint64_t z = days + 719468u;
    uint64_t era = z / 146097u;
    unsigned doe = (unsigned)(z - era * 146097u);
    unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
    unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
    unsigned mp = (5u * doy + 2u) / 153u;
    unsigned day = doy - (153u * mp + 2u) / 5u + 1u;
    unsigned month = mp < 10u ? mp + 3u : mp - 9u;
    unsigned year = (unsigned)(yoe + era * 400u) + (month <= 2u ? 1u : 0u);
    put2(buf, year / 100u);
    put2(buf + 2, year % 100u);
    buf[4] = '-';
    put2(buf + 5, month);
    buf[7] = '-';
    put2(buf + 8, day);
    buf[10] = 'T';
    put2(buf + 11, sod / 3600u);
    buf[13] = ':';
    put2(buf + 14, sod / 60u % 60u);
    buf[16] = ':';
    put2(buf + 17, sod % 60u);
}

/* The events of one second share their date and time of day: the text of
 * the latest second formatted on this thread. */
static _Thread_local struct {
    uint64_t secs;
    char text[19];
} last_second = {UINT64_MAX, ""};

/* pb_time_fmt_n but for the usual case (milliseconds, a second met just
 * before): apart, so that this path saves no registers for it. */
__attribute__((noinline)) static size_t time_fmt_slow(uint64_t ts_ns, int digits, char buf[40])
{
    uint64_t secs = ts_ns / 1000000000ull;
    uint64_t frac = ts_ns % 1000000000ull;
    if (secs == last_second.secs) {
        memcpy(buf, last_second.text, 19);
    } else {
        civil(secs, buf);
        last_second.secs = secs;
        memcpy(last_second.text, buf, 19);
    }
    static const uint32_t pow10[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};
    size_t n = 19;
    frac /= pow10[9 - digits];
    /* libbeat's default layout keeps exactly three digits; the micro and
       nanosecond ones (Go's ".999999") drop trailing zeros */
    if (digits != 3) {
        while (digits > 0 && frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
    }
    if (digits > 0) {
        buf[n++] = '.';
        put_digits(buf + n, frac, digits);
        n += (size_t)digits;
    }
    buf[n++] = 'Z';
    buf[n] = '\0';
    return n;
}

/* Three calls per event: formatted by hand (days to civil date as in
 * Howard Hinnant's chrono algorithms) rather than gmtime/strftime/printf,
 * which cost more than the rest of the timestamp handling. uint64
 * nanoseconds end in 2554, so the year has four digits. */
size_t pb_time_fmt_n(uint64_t ts_ns, bool nanos, char buf[40])
{
    int digits = nanos ? 9 : atomic_load_explicit(&time_digits, memory_order_relaxed);
    uint64_t secs = ts_ns / 1000000000ull;
    if (digits != 3 || secs != last_second.secs) {
        return time_fmt_slow(ts_ns, digits, buf);
    }
    /* libbeat's default: milliseconds, always three digits */
    memcpy(buf, last_second.text, 19);
    unsigned ms = (unsigned)((ts_ns - secs * 1000000000ull) / 1000000u);
    unsigned hi = ms * 41u >> 12; /* ms / 100, for ms < 1000 */
    buf[19] = '.';
    buf[20] = (char)('0' + hi);
    memcpy(buf + 21, pb_digit_pairs + 2 * (ms - hi * 100u), 2);
    buf[23] = 'Z';
    buf[24] = '\0';
    return 24;
}

const char *pb_time_fmt(uint64_t ts_ns, bool nanos, char buf[40])
{
    pb_time_fmt_n(ts_ns, nanos, buf);
    return buf;
}

int pb_json_put_time(json_t *ev, const char *path, uint64_t ts_ns)
{
    char buf[40];
    return pb_json_put(ev, path, json_string_nocheck(pb_time_fmt(ts_ns, false, buf)));
}

/* Sets key in obj: keys in plain ASCII (all of ours, most from the wire)
 * skip jansson's UTF-8 check, which cost more than the rest of the set. */
static int obj_set(json_t *obj, const char *key, json_t *val)
{
    for (const unsigned char *k = (const unsigned char *)key; *k != 0; k++) {
        if (*k >= 0x80) {
            return json_object_set_new(obj, key, val);
        }
    }
    return json_object_set_new_nocheck(obj, key, val);
}

/* Walks to the parent object of the last segment, creating objects; returns
 * it and sets *leaf to the last segment's offset in path. */
static json_t *walk_create(json_t *ev, const char *path, const char **leaf)
{
    json_t *cur = ev;
    const char *seg = path;
    for (;;) {
        const char *dot = strchr(seg, '.');
        if (dot == NULL) {
            *leaf = seg;
            return cur;
        }
        size_t len = (size_t)(dot - seg);
        char key[MAX_PATH_SEG];
        if (len >= sizeof key) {
            return NULL;
        }
        memcpy(key, seg, len);
        key[len] = '\0';
        json_t *next = json_object_get(cur, key);
        if (next == NULL || !json_is_object(next)) {
            next = json_object();
            if (next == NULL || obj_set(cur, key, next) < 0) {
                return NULL;
            }
        }
        cur = next;
        seg = dot + 1;
    }
}

int pb_json_put(json_t *ev, const char *path, json_t *val)
{
    if (val == NULL) {
        return -PB_ENOMEM;
    }
    const char *leaf = NULL;
    json_t *parent = walk_create(ev, path, &leaf);
    if (parent == NULL) {
        json_decref(val);
        return -PB_ENOMEM;
    }
    return obj_set(parent, leaf, val) < 0 ? -PB_ENOMEM : 0;
}

int pb_json_put_str(json_t *ev, const char *path, const char *s)
{
    if (s == NULL) {
        return 0;
    }
    return pb_json_put(ev, path, pb_json_strn(s, strlen(s)));
}

int pb_json_put_strn(json_t *ev, const char *path, const void *s, size_t n)
{
    return pb_json_put(ev, path, pb_json_strn(s, n));
}

int pb_json_put_int(json_t *ev, const char *path, int64_t v)
{
    return pb_json_put(ev, path, json_integer((json_int_t)v));
}

int pb_json_put_uint(json_t *ev, const char *path, uint64_t v)
{
    if (v > (uint64_t)INT64_MAX) {
        return pb_json_put(ev, path, json_real((double)v));
    }
    return pb_json_put(ev, path, json_integer((json_int_t)v));
}

int pb_json_put_bool(json_t *ev, const char *path, bool v)
{
    return pb_json_put(ev, path, json_boolean(v));
}

int pb_json_put_real(json_t *ev, const char *path, double v)
{
    return pb_json_put(ev, path, json_real(v));
}

/* Looks up path in obj: the longest literal key first is not needed; try each
 * split so "a.b.c" finds {"a":{"b.c":1}} and {"a.b":{"c":1}}. */
static json_t *get_rec(const json_t *obj, const char *path, int depth)
{
    if (obj == NULL || !json_is_object(obj) || depth > 32) {
        return NULL;
    }
    json_t *v = json_object_get(obj, path);
    if (v != NULL) {
        return v;
    }
    for (const char *dot = strchr(path, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        size_t len = (size_t)(dot - path);
        char key[MAX_PATH_SEG];
        if (len >= sizeof key) {
            return NULL;
        }
        memcpy(key, path, len);
        key[len] = '\0';
        json_t *child = json_object_get(obj, key);
        if (child != NULL && json_is_object(child)) {
            json_t *r = get_rec(child, dot + 1, depth + 1);
            if (r != NULL) {
                return r;
            }
        }
    }
    return NULL;
}

json_t *pb_json_get(const json_t *ev, const char *path)
{
    return get_rec(ev, path, 0);
}

static bool del_rec(json_t *obj, const char *path, int depth)
{
    if (obj == NULL || !json_is_object(obj) || depth > 32) {
        return false;
    }
    if (json_object_get(obj, path) != NULL) {
        return json_object_del(obj, path) == 0;
    }
    for (const char *dot = strchr(path, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        size_t len = (size_t)(dot - path);
        char key[MAX_PATH_SEG];
        if (len >= sizeof key) {
            return false;
        }
        memcpy(key, path, len);
        key[len] = '\0';
        json_t *child = json_object_get(obj, key);
        if (child != NULL && json_is_object(child) && del_rec(child, dot + 1, depth + 1)) {
            return true;
        }
    }
    return false;
}

bool pb_json_del(json_t *ev, const char *path)
{
    return del_rec(ev, path, 0);
}

json_t *pb_json_strn(const void *s, size_t n)
{
    const uint8_t *p = s;
    if (pb_utf8_valid_len(p, n) == n) {
        return json_stringn_nocheck((const char *)p, n);
    }
    if (n > (SIZE_MAX - 1) / 3) {
        return NULL;
    }
    uint8_t *out = pb_malloc(n * 3 + 1);
    if (out == NULL) {
        return NULL;
    }
    json_t *j = json_stringn_nocheck((const char *)out, pb_utf8_sanitize(out, p, n));
    pb_free(out);
    return j;
}

int pb_json_add_unique(json_t *obj, const char *path, const void *s, size_t n)
{
    if (n == 0) {
        return 0;
    }
    json_t *v = pb_json_strn(s, n);
    if (v == NULL) {
        return -PB_ENOMEM;
    }
    json_t *arr = pb_json_get(obj, path);
    if (!json_is_array(arr)) {
        arr = json_array();
        if (pb_json_put(obj, path, arr) < 0) {
            json_decref(v);
            return -PB_ENOMEM;
        }
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        if (json_equal(e, v)) {
            json_decref(v);
            return 0;
        }
    }
    return json_array_append_new(arr, v) < 0 ? -PB_ENOMEM : 0;
}

static const char *transport_name(const struct pb_tuple *t)
{
    switch (t->proto) {
    case PB_IPPROTO_TCP:
        return "tcp";
    case PB_IPPROTO_UDP:
        return "udp";
    case PB_IPPROTO_ICMP:
        return "icmp";
    case PB_IPPROTO_ICMPV6:
        return "ipv6-icmp";
    default:
        return NULL;
    }
}

/* ---- tunnel of the current packet ---- */

static _Thread_local struct pb_tunnel cur_tunnel;

const char *pb_tunnel_name(unsigned kind)
{
    switch (kind) {
    case PB_TUNNEL_VXLAN:
        return "vxlan";
    case PB_TUNNEL_GENEVE:
        return "geneve";
    case PB_TUNNEL_GRE:
        return "gre";
    case PB_TUNNEL_ERSPAN:
        return "erspan";
    case PB_TUNNEL_IPIP:
        return "ipip";
    default:
        return NULL;
    }
}

void pb_ev_set_tunnel(const struct pb_tunnel *t)
{
    if (t != NULL && pb_tunnel_name(t->kind) != NULL) {
        cur_tunnel = *t;
    } else {
        /* every frame comes here: the kind alone says none (the rest is
           not read without one) */
        cur_tunnel.kind = PB_TUNNEL_NONE;
    }
}

const struct pb_tunnel *pb_ev_tunnel(void)
{
    return cur_tunnel.kind != PB_TUNNEL_NONE ? &cur_tunnel : NULL;
}

struct tunnel_slot {
    bool used;
    struct pb_tuple tuple;
    struct pb_tunnel tunnel;
};

/* owned: PB_MAX_TUNNEL_TUPLES, or NULL; one table per thread (each packet
   worker sees all the packets of its tuples), freed by pb_ev_tunnels_free
   on that thread */
static _Thread_local struct tunnel_slot *tunnel_slots;

static size_t tuple_slot(const struct pb_tuple *tu)
{
    /* the same for both directions: the two endpoints hashed apart, xored */
    uint32_t v = (pb_endpoint_hash(&tu->src, tu->sport) ^ pb_endpoint_hash(&tu->dst, tu->dport) ^
                  tu->proto) *
                 0x9e3779b1u;
    return (size_t)(v >> 8) % PB_MAX_TUNNEL_TUPLES;
}

static bool same_conn(const struct pb_tuple *a, const struct pb_tuple *b)
{
    if (a->proto != b->proto) {
        return false;
    }
    if (a->sport == b->sport && a->dport == b->dport && pb_ip_eq(&a->src, &b->src) &&
        pb_ip_eq(&a->dst, &b->dst)) {
        return true;
    }
    return a->sport == b->dport && a->dport == b->sport && pb_ip_eq(&a->src, &b->dst) &&
           pb_ip_eq(&a->dst, &b->src);
}

void pb_ev_note_tunnel(const struct pb_tuple *tu, const struct pb_tunnel *t)
{
    bool set = t != NULL && pb_tunnel_name(t->kind) != NULL;
    if (tunnel_slots == NULL) {
        if (!set) {
            return;
        }
        tunnel_slots = pb_calloc(PB_MAX_TUNNEL_TUPLES, sizeof *tunnel_slots);
        if (tunnel_slots == NULL) {
            return;
        }
    }
    struct tunnel_slot *s = &tunnel_slots[tuple_slot(tu)];
    if (set) {
        s->used = true;
        s->tuple = *tu;
        s->tunnel = *t;
    } else if (s->used && same_conn(&s->tuple, tu)) {
        s->used = false;
    }
}

const struct pb_tunnel *pb_ev_tunnel_of(const struct pb_tuple *tu)
{
    if (tunnel_slots == NULL || tu == NULL) {
        return NULL;
    }
    const struct tunnel_slot *s = &tunnel_slots[tuple_slot(tu)];
    return s->used && same_conn(&s->tuple, tu) ? &s->tunnel : NULL;
}

void pb_ev_tunnels_free(void)
{
    pb_free(tunnel_slots);
    tunnel_slots = NULL;
}

/* network.tunnel.{type,id,source.ip,destination.ip} of t. */
static void put_tunnel(pb_node *network, const struct pb_tunnel *t)
{
    pb_node *tun = pb_node_add_obj(network, PB_KEY("tunnel"));
    pb_node_add_str(tun, PB_KEY("type"), pb_tunnel_name(t->kind));
    if (t->has_id) {
        pb_node_add_int(tun, PB_KEY("id"), t->id);
    }
    char ip[PB_IP_STRLEN];
    pb_node_add_str(pb_node_add_obj(tun, PB_KEY("source")), PB_KEY("ip"), pb_ip_str(&t->src, ip));
    pb_node_add_str(pb_node_add_obj(tun, PB_KEY("destination")), PB_KEY("ip"),
                    pb_ip_str(&t->dst, ip));
}

/* pb_tx_event's members from p (tuple: whether p->tuple is set), appended
 * to the root; the network object, NULL on allocation failure. */
static pb_node *txp_build(pb_event *ev, const struct pb_txp *p, bool tuple)
{
    pb_node *root = pb_ev_obj(ev, "");
    const char *start = pb_ev_time(ev, p->start_ns);
    pb_node_add_static(root, PB_KEY("@timestamp"), start);
    pb_node_add_static(root, PB_KEY("type"), p->type);
    pb_node_add_static(root, PB_KEY("status"), p->status);

    pb_node *event = pb_node_add_obj(root, PB_KEY("event"));
    static const char *const category[] = {"network"}, *const etype[] = {"connection", "protocol"};
    pb_node_add_static(event, PB_KEY("kind"), "event");
    pb_node_add_static_strs(event, PB_KEY("category"), category, 1, "[\"network\"]");
    pb_node_add_static_strs(event, PB_KEY("type"), etype, 2, "[\"connection\",\"protocol\"]");
    pb_node_add_static(event, PB_KEY("dataset"), p->type);
    if (p->start_ns != 0) {
        pb_node_add_static(event, PB_KEY("start"), start);
    }
    if (p->end_ns != 0) {
        pb_node_add_static(event, PB_KEY("end"),
                           p->end_ns == p->start_ns ? start : pb_ev_time(ev, p->end_ns));
        if (p->start_ns != 0 && p->end_ns >= p->start_ns) {
            pb_node_add_int(event, PB_KEY("duration"), (int64_t)(p->end_ns - p->start_ns));
        }
    }
    pb_node_add_static(event, PB_KEY("action"), p->action);
    pb_node_add_static(event, PB_KEY("outcome"), p->outcome);

    if (!tuple) {
        pb_node *network = pb_node_add_obj(root, PB_KEY("network"));
        pb_node_add_static(network, PB_KEY("protocol"), p->type);
        return network;
    }
    const struct pb_tuple *t = &p->tuple;
    int64_t sb = p->src_bytes, db = p->dst_bytes;
    pb_node *src = pb_node_add_endpoint(root, PB_KEY("source"), p->sip, t->sport, sb);
    pb_node *dst = pb_node_add_endpoint(root, PB_KEY("destination"), p->dip, t->dport, db);
    /* the first member of each: ip, for the pipeline's network.direction */
    pb_ev_note_ip(ev, 0, src != NULL ? src->first : NULL, &t->src);
    pb_ev_note_ip(ev, 1, dst != NULL ? dst->first : NULL, &t->dst);
    if (!p->no_client_server) {
        /* the same objects again (copies share the strings) */
        if (pb_node_add_copy(root, PB_KEY("client"), src) == NULL) {
            pb_node_add_endpoint(root, PB_KEY("client"), p->sip, t->sport, sb);
        }
        if (pb_node_add_copy(root, PB_KEY("server"), dst) == NULL) {
            pb_node_add_endpoint(root, PB_KEY("server"), p->dip, t->dport, db);
        }
    }
    if (p->domain != NULL) {
        pb_node_add_static(dst, PB_KEY("domain"), p->domain);
        pb_node_add_static(pb_node_obj_k(root, PB_KEY("server")), PB_KEY("domain"), p->domain);
    }
    const char *ips[2] = {p->sip, p->dip};
    pb_node_add_strs(pb_node_add_obj(root, PB_KEY("related")), PB_KEY("ip"), ips,
                     strcmp(p->sip, p->dip) != 0 ? 2 : 1);
    if (p->ips.n > 0) {
        pb_ev_add_related_ips(ev, p->ips.v, p->ips.n);
    }
    for (uint32_t i = 0; i < p->hosts.n; i++) {
        pb_ev_add_unique(ev, "related.hosts", p->hosts.v[i], strlen(p->hosts.v[i]));
    }
    pb_node *network = pb_node_add_obj(root, PB_KEY("network"));
    int64_t total = (sb > 0 ? sb : 0) + (db > 0 ? db : 0);
    if (total > 0) {
        pb_node_add_int(network, PB_KEY("bytes"), total);
    }
    const char *tr = transport_name(t);
    if (tr != NULL) {
        pb_node_add_static(network, PB_KEY("transport"), tr);
        char cid[64];
        pb_community_id_from(t, &p->cid, cid);
        pb_node_add_plain(network, PB_KEY("community_id"), cid);
    }
    pb_node_add_static(network, PB_KEY("type"), t->src.v6 ? "ipv6" : "ipv4");
    pb_node_add_static(network, PB_KEY("protocol"), p->type);
    pb_node_add_static(network, PB_KEY("direction"), p->direction);
    return network;
}

static const struct pb_pending_ops txp_ops;

pb_event *pb_tx_event(const struct pb_tx *tx)
{
    pb_event *ev = pb_ev_new();
    struct pb_txp *p = ev != NULL ? pb_ev_alloc(ev, sizeof *p) : NULL;
    if (p == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    /* zeroed but for the texts at its end (a third of it): each is
       written below before anything reads it */
    memset(p, 0, offsetof(struct pb_txp, start_text));
    p->start_ns = tx->start_ns;
    p->end_ns = tx->end_ns;
    p->src_bytes = tx->src_bytes;
    p->dst_bytes = tx->dst_bytes;
    p->type = tx->type;
    p->status = tx->status;
    p->no_client_server = tx->no_client_server;
    size_t tlen = strlen(tx->type), slen = tx->status != NULL ? strlen(tx->status) : 0;
    const struct pb_tunnel *tun = NULL;
    if (tx->tuple != NULL) {
        p->tuple = *tx->tuple;
        pb_community_id_ahead(&p->tuple, &p->cid); /* read when the event is encoded */
        p->sip_len = (uint8_t)pb_ip_fmt(&p->tuple.src, p->sip);
        p->dip_len = (uint8_t)pb_ip_fmt(&p->tuple.dst, p->dip);
        tun = pb_ev_tunnel_of(tx->tuple);
        if (tun == NULL) {
            tun = pb_ev_tunnel();
        }
    }
    if (tx->tuple != NULL && tun == NULL && tx->error == NULL && tlen <= UINT8_MAX &&
        slen <= UINT8_MAX) {
        p->type_len = (uint8_t)tlen;
        p->status_len = (uint8_t)slen;
        p->start_len = (uint8_t)pb_time_fmt_n(p->start_ns, false, p->start_text);
        /* the usual event: its fields wait for the encoder */
        pb_ev_set_pending(ev, &txp_ops, p);
        ev->txp = p;
        return ev;
    }
    pb_node *network = txp_build(ev, p, tx->tuple != NULL);
    if (tun != NULL) {
        put_tunnel(network, tun);
    }
    if (tx->error != NULL) {
        pb_ev_put_str(ev, "error.message", tx->error);
    }
    if (ev->failed) {
        pb_ev_free(ev); /* an allocation failed on the way */
        return NULL;
    }
    return ev;
}

/* status only with a status, client and server unless left out */
static bool txp_has_key(const void *st, const char *key, size_t klen)
{
    const struct pb_txp *p = st;
    if (klen == 6 && memcmp(key, "status", 6) == 0) {
        return p->status != NULL;
    }
    if (klen == 6 && (memcmp(key, "client", 6) == 0 || memcmp(key, "server", 6) == 0)) {
        return !p->no_client_server;
    }
    return true;
}

static size_t txp_max(const void *st)
{
    const struct pb_txp *p = st;
    /* the keys and punctuation, three times, four endpoints of at most
       ~110 bytes, numbers of at most 20 digits, the community id: about
       1 KB at the very most */
    return 2048 + 3 * (size_t)p->type_len + p->status_len + p->action_len + p->outcome_len +
           p->dir_len + 2 * (size_t)p->domain_len + p->ips.bytes + 3 * (size_t)p->ips.n +
           p->hosts.bytes + 3 * (size_t)p->hosts.n;
}

char *pb_time_put(char *o, uint64_t ts_ns)
{
    /* formatted in place: a copy would read the text back before its
       stores land */
    *o++ = '"';
    o += pb_time_fmt_n(ts_ns, false, o);
    *o++ = '"';
    return o;
}

/* ,"..." for the strings of l from start on */
static char *put_list_from(char *o, const struct pb_txp_list *l, uint32_t start)
{
    for (uint32_t i = start; i < l->n; i++) {
        o = pb_jw_quoted(PB_JW_LIT(o, ","), l->v[i], strlen(l->v[i]));
    }
    return o;
}

/* {"ip":...,"port":...,"bytes":...} as pb_node_add_endpoint encodes it,
 * and "domain" when not NULL. Inlined in its two places: as a call it
 * saved and restored five registers around a few dozen stores. */
static inline __attribute__((always_inline)) char *put_endpoint(char *o, const char *ip,
                                                                size_t iplen, uint16_t port,
                                                                int64_t bytes, const char *domain,
                                                                size_t dlen)
{
    o = PB_JW_LIT(o, "{\"ip\":");
    o = pb_jw_quoted(o, ip, iplen);
    if (port != 0) {
        o = pb_jw_int(PB_JW_LIT(o, ",\"port\":"), port);
    }
    if (bytes > 0) {
        o = pb_jw_int(PB_JW_LIT(o, ",\"bytes\":"), bytes);
    }
    if (domain != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, ",\"domain\":"), domain, dlen);
    }
    *o++ = '}';
    return o;
}

/* Whether two addresses are equal (then so are their texts). */
static inline bool same_ip(const struct pb_ip *a, const struct pb_ip *b)
{
    if (a->v6 != b->v6) {
        return false;
    }
    if (!a->v6) {
        uint32_t x, y;
        memcpy(&x, a->b, 4);
        memcpy(&y, b->b, 4);
        return x == y;
    }
    return memcmp(a->b, b->b, 16) == 0;
}

/* The start time's text (start_len bytes) between quotes at o; the end.
 * At milliseconds (the default) it is 24 bytes: copied at a known length,
 * without the call pb_copy_short makes past 16. */
static inline char *put_start_text(char *o, const struct pb_txp *p)
{
    if (p->start_len != 24) {
        return pb_jw_quoted(o, p->start_text, p->start_len);
    }
    *o++ = '"';
    memcpy(o, p->start_text, 24);
    o += 24;
    *o++ = '"';
    return o;
}

static char *txp_put_ts(const void *st, char *o)
{
    const struct pb_txp *p = st;
    return put_start_text(PB_JW_LIT(o, "\"@timestamp\":"), p);
}

static char *txp_put_rest(const void *st, char *o)
{
    const struct pb_txp *p = st;
    size_t tlen = p->type_len;
    o = pb_jw_quoted(PB_JW_LIT(o, ",\"type\":"), p->type, tlen);
    if (p->status != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, ",\"status\":"), p->status, p->status_len);
    }
    o = PB_JW_LIT(o, ",\"event\":{\"kind\":\"event\",\"category\":[\"network\"],"
                     "\"type\":[\"connection\",\"protocol\"],\"dataset\":");
    o = pb_jw_quoted(o, p->type, tlen);
    if (p->start_ns != 0) {
        o = put_start_text(PB_JW_LIT(o, ",\"start\":"), p);
    }
    if (p->end_ns != 0) {
        o = p->end_ns == p->start_ns ? put_start_text(PB_JW_LIT(o, ",\"end\":"), p)
                                     : pb_time_put(PB_JW_LIT(o, ",\"end\":"), p->end_ns);
        if (p->start_ns != 0 && p->end_ns >= p->start_ns) {
            o = pb_jw_int(PB_JW_LIT(o, ",\"duration\":"), (int64_t)(p->end_ns - p->start_ns));
        }
    }
    if (p->action != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, ",\"action\":"), p->action, p->action_len);
    }
    if (p->outcome != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, ",\"outcome\":"), p->outcome, p->outcome_len);
    }
    *o++ = '}';

    /* client and server are source and destination again: copies of
       their text (written first, both, so that the stores of the one
       copied first have had the longest to land) */
    const struct pb_tuple *t = &p->tuple;
    char *src = PB_JW_LIT(o, ",\"source\":");
    char *dst = PB_JW_LIT(put_endpoint(src, p->sip, p->sip_len, t->sport, p->src_bytes, NULL, 0),
                          ",\"destination\":");
    o = put_endpoint(dst, p->dip, p->dip_len, t->dport, p->dst_bytes, p->domain, p->domain_len);
    if (!p->no_client_server) {
        size_t slen = (size_t)(dst - src) - (sizeof ",\"destination\":" - 1);
        size_t dlen = (size_t)(o - dst);
        o = PB_JW_LIT(o, ",\"client\":");
        memcpy(o, src, slen);
        o = PB_JW_LIT(o + slen, ",\"server\":");
        memcpy(o, dst, dlen);
        o += dlen;
    }
    o = pb_jw_quoted(PB_JW_LIT(o, ",\"related\":{\"ip\":["), p->sip, p->sip_len);
    if (!same_ip(&t->src, &t->dst)) { /* the texts differ */
        o = pb_jw_quoted(PB_JW_LIT(o, ","), p->dip, p->dip_len);
    }
    o = put_list_from(o, &p->ips, 0);
    if (p->hosts.n > 0) {
        o = pb_jw_quoted(PB_JW_LIT(o, "],\"hosts\":["), p->hosts.v[0], strlen(p->hosts.v[0]));
        o = put_list_from(o, &p->hosts, 1);
    }
    o = PB_JW_LIT(o, "]},\"network\":{");
    int64_t sb = p->src_bytes, db = p->dst_bytes;
    int64_t total = (sb > 0 ? sb : 0) + (db > 0 ? db : 0);
    if (total > 0) {
        o = pb_jw_int(PB_JW_LIT(o, "\"bytes\":"), total);
        *o++ = ',';
    }
    const char *tr = transport_name(t);
    if (tr != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, "\"transport\":"), tr, strlen(tr));
        o = PB_JW_LIT(o, ",\"community_id\":\"");
        o += pb_community_id_from(t, &p->cid, o); /* in place: room for its 31 bytes */
        o = PB_JW_LIT(o, "\",");
    }
    o = t->src.v6 ? PB_JW_LIT(o, "\"type\":\"ipv6\"") : PB_JW_LIT(o, "\"type\":\"ipv4\"");
    o = pb_jw_quoted(PB_JW_LIT(o, ",\"protocol\":"), p->type, tlen);
    if (p->direction != NULL) {
        o = pb_jw_quoted(PB_JW_LIT(o, ",\"direction\":"), p->direction, p->dir_len);
    }
    *o++ = '}';
    return o;
}

static void txp_build_pending(pb_event *ev, const void *st)
{
    txp_build(ev, st, true);
}

static const char *const txp_keys[] = {"@timestamp",  "type",   "status", "event",   "source",
                                       "destination", "client", "server", "related", "network"};
static _Atomic uint64_t txp_bits;
static const struct pb_pending_ops txp_ops = {
    .keys = txp_keys,
    .nkeys = sizeof txp_keys / sizeof txp_keys[0],
    .has_key = txp_has_key,
    .max = txp_max,
    .put_ts = txp_put_ts,
    .put_rest = txp_put_rest,
    .build = txp_build_pending,
    .bits = &txp_bits,
};

int pb_tx_add_action(pb_event *ev, const void *action, size_t len, const char *outcome)
{
    struct pb_txp *p = ev->txp;
    if (action == NULL && outcome == NULL) {
        return 0;
    }
    if (p != NULL && p->action == NULL && p->outcome == NULL &&
        (action == NULL || (len <= 256 && pb_ev_plain(action, len)))) {
        char *c = action != NULL ? pb_ev_alloc(ev, len + 1) : NULL;
        if (action != NULL && c == NULL) {
            return -PB_ENOMEM;
        }
        if (c != NULL) {
            memcpy(c, action, len);
            c[len] = '\0';
        }
        p->action = c;
        p->action_len = (uint32_t)len;
        p->outcome = outcome;
        p->outcome_len = outcome != NULL ? (uint8_t)strlen(outcome) : 0;
        return 0;
    }
    pb_node *event = pb_node_obj_k(pb_ev_obj(ev, ""), PB_KEY("event"));
    int rc = action != NULL ? pb_node_add_strn(event, PB_KEY("action"), action, len) : 0;
    if (outcome != NULL) {
        rc |= pb_node_add_static(event, PB_KEY("outcome"), outcome);
    }
    return rc;
}

int pb_tx_add_static_action(pb_event *ev, const char *action, size_t len, const char *outcome)
{
    struct pb_txp *p = ev->txp;
    assert(action == NULL || (strlen(action) == len && pb_ev_plain(action, len)));
    if (p != NULL && p->action == NULL && p->outcome == NULL && action != NULL && len <= 256) {
        p->action = action; /* outlives the event: kept as it is */
        p->action_len = (uint32_t)len;
        p->outcome = outcome;
        p->outcome_len = outcome != NULL ? (uint8_t)strlen(outcome) : 0;
        return 0;
    }
    return pb_tx_add_action(ev, action, len, outcome);
}

int pb_tx_add_domain(pb_event *ev, const char *name)
{
    struct pb_txp *p = ev->txp;
    if (name == NULL) {
        return 0;
    }
    size_t len = strlen(name);
    if (p != NULL && !p->no_client_server && len <= UINT8_MAX && pb_ev_plain(name, len)) {
        char *c = pb_ev_alloc(ev, len + 1);
        if (c == NULL) {
            return -PB_ENOMEM;
        }
        memcpy(c, name, len + 1);
        p->domain = c;
        p->domain_len = (uint8_t)len;
        return 0;
    }
    pb_node *root = pb_ev_obj(ev, "");
    int rc = pb_node_set_str(pb_node_obj(root, "destination"), "domain", name);
    return rc | pb_node_set_str(pb_node_obj(root, "server"), "domain", name);
}

const struct pb_tuple *pb_tx_direction_tuple(pb_event *ev)
{
    struct pb_txp *p = ev->txp;
    return p != NULL && p->direction == NULL && !ev->root.dotted ? &p->tuple : NULL;
}

void pb_tx_set_direction(pb_event *ev, const char *dir)
{
    size_t len = dir != NULL ? strlen(dir) : 0;
    if (ev->txp != NULL && len <= UINT8_MAX) {
        ev->txp->direction = dir;
        ev->txp->dir_len = (uint8_t)len;
    } else if (dir != NULL) {
        pb_ev_put_str(ev, "network.direction", dir);
    }
}

/* ---- frozen values -------------------------------------------------------- */

enum { PB_MAX_FROZEN = 16 };

static pthread_mutex_t frozen_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int frozen_count;
static atomic_uint frozen_epoch; /* pb_ev_frozen_epoch */
/* Readers find a cached encoding without the lock: v and enc are
 * published with release stores (len and inexact written before enc), and
 * a value is thawed only once no event holds it any more (the contract of
 * pb_node_set_frozen), so no reader can be copying an encoding that goes. */
static struct frozen {
    _Atomic(const json_t *) v; /* NULL: free slot */
    _Atomic(char *) enc;       /* owned: cached encoding, NULL until first asked */
    size_t len;
    bool inexact;
} frozen[PB_MAX_FROZEN];

/* Where v is looked for first, and frozen when that slot is free (then
 * the next free one): the encoder looks four values up for every event,
 * most of them found at once instead of after a walk over the slots
 * before theirs. */
static size_t frozen_home(const json_t *v)
{
    _Static_assert(PB_MAX_FROZEN == 16, "frozen_home makes 4 bits");
    return (size_t)(((uint64_t)(uintptr_t)v >> 4) * 0x9e3779b97f4a7c15ull >> 60);
}

void pb_ev_freeze(const json_t *v)
{
    if (v == NULL) {
        return;
    }
    pthread_mutex_lock(&frozen_mu);
    for (size_t i = 0, h = frozen_home(v); i < PB_MAX_FROZEN; i++) {
        struct frozen *f = &frozen[(h + i) % PB_MAX_FROZEN];
        if (atomic_load(&f->v) == NULL) {
            atomic_store(&f->enc, NULL);
            f->len = 0;
            f->inexact = false;
            atomic_store_explicit(&f->v, v, memory_order_release);
            atomic_fetch_add(&frozen_count, 1);
            atomic_fetch_add(&frozen_epoch, 1);
            break;
        }
    }
    pthread_mutex_unlock(&frozen_mu);
}

void pb_ev_thaw(const json_t *v)
{
    if (v == NULL) {
        return;
    }
    pthread_mutex_lock(&frozen_mu);
    for (size_t i = 0; i < PB_MAX_FROZEN; i++) {
        if (atomic_load(&frozen[i].v) == v) {
            atomic_store(&frozen[i].v, NULL);
            pb_free(atomic_exchange(&frozen[i].enc, NULL));
            atomic_fetch_sub(&frozen_count, 1);
            atomic_fetch_add(&frozen_epoch, 1);
        }
    }
    pthread_mutex_unlock(&frozen_mu);
}

bool pb_ev_any_frozen(void)
{
    return atomic_load_explicit(&frozen_count, memory_order_relaxed) > 0;
}

unsigned pb_ev_frozen_epoch(void)
{
    return atomic_load_explicit(&frozen_epoch, memory_order_acquire);
}

const char *pb_ev_frozen_enc(const json_t *v, size_t *len, bool *inexact)
{
    for (size_t i = 0, h = frozen_home(v); i < PB_MAX_FROZEN; i++) {
        struct frozen *f = &frozen[(h + i) % PB_MAX_FROZEN];
        if (atomic_load_explicit(&f->v, memory_order_acquire) == v) {
            const char *e = atomic_load_explicit(&f->enc, memory_order_acquire);
            if (e != NULL) {
                *len = f->len;
                *inexact = f->inexact;
            }
            return e;
        }
    }
    return NULL;
}

int pb_ev_frozen_put(const json_t *v, pb_frozen_enc_fn enc, pb_frozen_put_fn put, void *ctx,
                     bool *inexact)
{
    /* the usual case: encoded already */
    size_t len;
    const char *cached = pb_ev_frozen_enc(v, &len, inexact);
    if (cached != NULL) {
        put(ctx, cached, len);
        return 1;
    }
    int rc = 0;
    pthread_mutex_lock(&frozen_mu);
    for (size_t i = 0; i < PB_MAX_FROZEN; i++) {
        struct frozen *f = &frozen[i];
        if (atomic_load(&f->v) != v) {
            continue;
        }
        char *e = atomic_load(&f->enc);
        if (e == NULL) {
            if ((rc = enc(v, &e, &f->len, &f->inexact)) < 0) {
                break;
            }
            atomic_store_explicit(&f->enc, e, memory_order_release);
        }
        put(ctx, e, f->len);
        *inexact = f->inexact;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&frozen_mu);
    return rc;
}
