/* SPDX-License-Identifier: Apache-2.0
 * packet/flows.c - the flow table and flow events (packetbeat.flows); see
 * flows.h for the behaviour. The id layout follows Packetbeat's
 * packetbeat/flows/flowid.go; events follow its flows worker.
 */
#include "flows.h"

#include <endian.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/hpool.h"
#include "beat/jsonw.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/limits.h"
#include "beat/log.h"
#include "decoder.h"
#include "hindex.h"

#define SEC_NS 1000000000ll
#define DEFAULT_TIMEOUT_NS (30 * SEC_NS)
#define DEFAULT_PERIOD_NS (10 * SEC_NS)
#define ALIGN_NS (10 * SEC_NS) /* the worker starts on a multiple of 10 s */
#define OFF_UNSET 0xffu
#define KEY_MAX (PB_FLOW_META_LEN + PB_FLOW_ID_MAX)
#define INDEX_SLOTS 1024u /* the index at first (it grows) */
/* Distinct id layouts (flags, offsets, counts): each has its own list, and
 * reports walk the lists in the order the layouts first appeared. A few
 * hundred are possible from what the decoder produces. */
#define MAX_LAYOUTS 512u

/* ---- flow id ---- */

void pb_flow_id_reset(struct pb_flow_id *id)
{
    memset(id, 0, sizeof *id);
    memset(id->off, OFF_UNSET, sizeof id->off);
    id->dir = PB_FLOW_DIR_UNSET;
}

/* The id builders below are inlined into each layer's adder, so that
 * their sizes are constants and their copies plain moves. */
#define ID_INLINE static inline __attribute__((always_inline))

/* Orders the pair (a, b) of n bytes each: the first layer whose two
 * addresses differ decides the orientation for every later layer; a single
 * value (b NULL) only sets the direction hint when nothing decided yet. */
ID_INLINE void sort_pair(struct pb_flow_id *id, const uint8_t **a, const uint8_t **b, size_t n,
                         int8_t hint)
{
    if (*b == NULL) {
        if (id->dir == PB_FLOW_DIR_UNSET) {
            id->dir = hint;
        }
        return;
    }
    const uint8_t *t;
    switch (id->dir) {
    case PB_FLOW_DIR_FORWARD:
        return;
    case PB_FLOW_DIR_REVERSED:
        t = *a;
        *a = *b;
        *b = t;
        return;
    default:
        break;
    }
    int c = memcmp(*a, *b, n);
    if (c < 0) {
        id->dir = PB_FLOW_DIR_FORWARD;
    } else if (c > 0) {
        id->dir = PB_FLOW_DIR_REVERSED;
        t = *a;
        *a = *b;
        *b = t;
    } else {
        id->dir = hint;
    }
}

ID_INLINE size_t pair_len(const uint8_t *b, size_t n)
{
    return b != NULL ? 2 * n : n;
}

ID_INLINE void write_at(struct pb_flow_id *id, size_t off, const uint8_t *a, const uint8_t *b,
                        size_t n)
{
    if (off + pair_len(b, n) > sizeof id->b) {
        id->overflow = true;
        return;
    }
    memcpy(id->b + off, a, n);
    if (b != NULL) {
        memcpy(id->b + off + n, b, n);
    }
}

/* Appends at the end; false when it does not fit. */
ID_INLINE bool append(struct pb_flow_id *id, const uint8_t *a, const uint8_t *b, size_t n)
{
    if ((size_t)id->len + pair_len(b, n) > sizeof id->b) {
        id->overflow = true;
        return false;
    }
    write_at(id, id->len, a, b, n);
    id->len = (uint8_t)(id->len + pair_len(b, n));
    return true;
}

/* A layer that appears once: written in place when seen again. */
ID_INLINE void add_single(struct pb_flow_id *id, enum pb_flow_layer layer, const uint8_t *a,
                          const uint8_t *b, size_t n, int8_t hint)
{
    sort_pair(id, &a, &b, n, hint);
    if (id->off[layer] == OFF_UNSET) {
        uint8_t off = id->len;
        if (append(id, a, b, n)) {
            id->off[layer] = off;
            id->flags |= (uint16_t)(1u << layer);
        }
    } else {
        write_at(id, id->off[layer], a, b, n);
    }
}

/* A layer that may be stacked (VLAN, IP): the second one makes the first
 * the outer layer; a third overwrites the older slot and becomes the inner
 * one (Packetbeat keeps the last two). */
ID_INLINE void add_stacked(struct pb_flow_id *id, enum pb_flow_layer inner,
                           enum pb_flow_layer outer, const uint8_t *a, const uint8_t *b, size_t n,
                           int8_t hint)
{
    sort_pair(id, &a, &b, n, hint);
    uint16_t fi = (uint16_t)(1u << inner), fo = (uint16_t)(1u << outer);
    uint16_t have = id->flags & (uint16_t)(fi | fo);
    if (have == (fi | fo)) {
        uint8_t t = id->off[outer];
        id->off[outer] = id->off[inner];
        id->off[inner] = t;
        write_at(id, id->off[inner], a, b, n);
    } else if (have == fi) {
        uint8_t off = id->len;
        if (append(id, a, b, n)) {
            id->off[outer] = id->off[inner];
            id->off[inner] = off;
            id->flags |= fo;
        }
    } else {
        uint8_t off = id->len;
        if (append(id, a, b, n)) {
            id->off[inner] = off;
            id->flags |= fi;
        }
    }
}

void pb_flow_id_add_eth(struct pb_flow_id *id, const uint8_t src[6], const uint8_t dst[6])
{
    add_single(id, PB_FLOW_ETH, src, dst, 6, PB_FLOW_DIR_UNSET);
    id->cnt_eth++;
}

void pb_flow_id_add_vlan(struct pb_flow_id *id, uint16_t vid)
{
    uint8_t le[2] = {(uint8_t)vid, (uint8_t)(vid >> 8)};
    add_stacked(id, PB_FLOW_VLAN, PB_FLOW_OUTER_VLAN, le, NULL, 2, PB_FLOW_DIR_UNSET);
    id->cnt_vlan++;
}

void pb_flow_id_add_ip(struct pb_flow_id *id, const struct pb_ip *src, const struct pb_ip *dst)
{
    if (src->v6) {
        add_stacked(id, PB_FLOW_IPV6, PB_FLOW_OUTER_IPV6, src->b, dst->b, 16, PB_FLOW_DIR_UNSET);
    } else {
        add_stacked(id, PB_FLOW_IPV4, PB_FLOW_OUTER_IPV4, src->b, dst->b, 4, PB_FLOW_DIR_UNSET);
    }
    id->cnt_ip++;
}

ID_INLINE void add_ports(struct pb_flow_id *id, enum pb_flow_layer layer, uint16_t sport,
                         uint16_t dport)
{
    uint8_t a[2] = {(uint8_t)sport, (uint8_t)(sport >> 8)};
    uint8_t b[2] = {(uint8_t)dport, (uint8_t)(dport >> 8)};
    add_single(id, layer, a, b, 2, PB_FLOW_DIR_UNSET);
}

void pb_flow_id_add_tcp(struct pb_flow_id *id, uint16_t sport, uint16_t dport)
{
    add_ports(id, PB_FLOW_TCP, sport, dport);
}

void pb_flow_id_add_udp(struct pb_flow_id *id, uint16_t sport, uint16_t dport)
{
    add_ports(id, PB_FLOW_UDP, sport, dport);
}

void pb_flow_id_add_conn_id(struct pb_flow_id *id, uint64_t conn_id)
{
    uint8_t le[8];
    for (int i = 0; i < 8; i++) {
        le[i] = (uint8_t)(conn_id >> (8 * i));
    }
    add_single(id, PB_FLOW_CONN_ID, le, NULL, 8, PB_FLOW_DIR_UNSET);
}

_Static_assert(offsetof(struct pb_flow_id, b) - offsetof(struct pb_flow_id, flags) ==
                   PB_FLOW_META_LEN,
               "flags to b is the raw layout");

/* The raw form of id (*n bytes): in place on a little-endian host, else
 * written to buf. */
static inline const uint8_t *id_raw(const struct pb_flow_id *id, uint8_t buf[KEY_MAX], size_t *n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    (void)buf;
    *n = PB_FLOW_META_LEN + (size_t)id->len;
    return (const uint8_t *)id + offsetof(struct pb_flow_id, flags);
#else
    *n = pb_flow_id_raw(id, buf);
    return buf;
#endif
}

size_t pb_flow_id_raw(const struct pb_flow_id *id, uint8_t *out)
{
    size_t n = 0;
    out[n++] = (uint8_t)id->flags;
    out[n++] = (uint8_t)(id->flags >> 8);
    for (int i = 0; i < PB_FLOW_NLAYERS; i++) {
        out[n++] = id->off[i];
    }
    out[n++] = id->cnt_eth;
    out[n++] = id->cnt_vlan;
    out[n++] = id->cnt_ip;
    memcpy(out + n, id->b, id->len);
    return n + id->len;
}

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/* the two characters of each 12-bit value, in memory order */
static uint8_t b64_pairs[4096][2];
/* the two upper-case hex digits of each byte (MAC addresses) */
static char hex_pairs[256][2];

/* Before main: the tables are read without a check. */
__attribute__((constructor)) static void tables_init(void)
{
    for (unsigned v = 0; v < 4096; v++) {
        b64_pairs[v][0] = (uint8_t)b64_tab[v >> 6];
        b64_pairs[v][1] = (uint8_t)b64_tab[v & 63];
    }
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned v = 0; v < 256; v++) {
        hex_pairs[v][0] = hex[v >> 4];
        hex_pairs[v][1] = hex[v & 15];
    }
}

/* Standard alphabet, no padding: two table reads per 3 bytes, 6 bytes a
 * step (one load). Returns the text's length. */
static size_t base64_raw(const uint8_t *in, size_t n, char *out)
{
    char *start = out;
    size_t i = 0;
    for (; i + 8 <= n; i += 6) { /* 8 bytes read, 6 used */
        uint64_t v;
        memcpy(&v, in + i, 8);
        v = be64toh(v) >> 16;
        memcpy(out, b64_pairs[v >> 36], 2);
        memcpy(out + 2, b64_pairs[(v >> 24) & 0xfff], 2);
        memcpy(out + 4, b64_pairs[(v >> 12) & 0xfff], 2);
        memcpy(out + 6, b64_pairs[v & 0xfff], 2);
        out += 8;
    }
    for (; i + 4 <= n; i += 3) { /* 4 bytes read, 3 used */
        uint32_t v;
        memcpy(&v, in + i, 4);
        v = be32toh(v) >> 8;
        memcpy(out, b64_pairs[v >> 12], 2);
        memcpy(out + 2, b64_pairs[v & 0xfff], 2);
        out += 4;
    }
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        memcpy(out, b64_pairs[v >> 12], 2);
        memcpy(out + 2, b64_pairs[v & 0xfff], 2);
        out += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 4;
        memcpy(out, b64_pairs[v], 2);
        out += 2;
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 10) | ((uint32_t)in[i + 1] << 2);
        memcpy(out, b64_pairs[v >> 6], 2);
        *(out + 2) = b64_tab[v & 63];
        out += 3;
    }
    *out = '\0';
    return (size_t)(out - start);
}

/* The id's text into out; its length. */
static size_t flow_id_text(const struct pb_flow_id *id, char out[PB_FLOW_ID_STRLEN])
{
    uint8_t buf[KEY_MAX];
    size_t n;
    const uint8_t *raw = id_raw(id, buf, &n);
    return base64_raw(raw, n, out);
}

const char *pb_flow_id_string(const struct pb_flow_id *id, char out[PB_FLOW_ID_STRLEN])
{
    flow_id_text(id, out);
    return out;
}

/* The address pair of a layer in the flow's source -> destination order. */
static bool read_pair(const struct pb_flow_id *id, enum pb_flow_layer layer, size_t n,
                      const uint8_t **src, const uint8_t **dst)
{
    uint8_t off = id->off[layer];
    if (off == OFF_UNSET || (size_t)off + 2 * n > id->len) {
        return false;
    }
    const uint8_t *p = id->b + off;
    if (id->dir == PB_FLOW_DIR_REVERSED) {
        *src = p + n;
        *dst = p;
    } else {
        *src = p;
        *dst = p + n;
    }
    return true;
}

static bool read_u16le(const struct pb_flow_id *id, enum pb_flow_layer layer, uint16_t *v)
{
    uint8_t off = id->off[layer];
    if (off == OFF_UNSET || (size_t)off + 2 > id->len) {
        return false;
    }
    *v = (uint16_t)(id->b[off] | (id->b[off + 1] << 8));
    return true;
}

/* ---- table ---- */

enum { ST_PACKETS = 1, ST_BYTES = 2, ST_ICMP4 = 4, ST_ICMP6 = 8 };

/* Per direction, [0]: source -> destination, [1]: the reverse. A frame
 * that the front cache finds reads and writes the first line alone (the
 * pool's blocks are aligned on lines); the rest is for the frames found
 * by id and for reports. */
struct flow {
    uint64_t last_ns;      /* packet time of the last frame */
    uint64_t seen_wall_ns; /* wall clock of the last frame: timeout */
    uint64_t packets[2], bytes[2];
    uint64_t conn_id; /* TCP connection id in its id (0: none): front keys leave it out */
    uint8_t set[2];   /* ST_* counters touched (0: no frame that way yet) */

    uint16_t icmp4[2], icmp6[2]; /* type << 8 | code, last seen */
    struct flow *prev, *next;    /* its layout's list, creation order */
    uint32_t hash;               /* of its id: where the index has it */
    uint16_t layout;
    uint8_t cid_len;      /* of cid */
    uint64_t first_ns;    /* packet time */
    struct pb_flow_id id; /* the id that opened it (its dir is the flow's orientation) */
    char cid[32];         /* network.community_id of a TCP/UDP flow (keep_cid), or "" */
};
_Static_assert(offsetof(struct flow, set) + sizeof((struct flow *)0)->set <= 64,
               "a frame found through the front cache touches one line of its flow");

struct layout {
    uint8_t meta[PB_FLOW_META_LEN];
    struct flow *head, *tail;
};

/* The front cache: most frames are plain TCP or UDP over one IP layer, and
 * the frames of a connection come again and again. Their flow is found by
 * the decoded fields themselves, compared whole, in a direct-mapped table,
 * before the flow id is built and hashed. A collision only evicts. Both
 * directions share one key: its two ends are put in a fixed order, and a
 * frame whose ends were swapped belongs to the other direction of the
 * flow (swapping every pair of an id turns its orientation around). */
enum { FRONT_SLOTS = 2048 };

/* The two ends a and b in their fixed order, then what they share. The
 * TCP connection id is left out: it is known only once the frame has been
 * through the tracker (pb_flows_prefetch runs before), and the flow keeps
 * it (struct flow's conn_id), to compare. */
struct front_key {
    uint64_t ip_a[2], ip_b[2]; /* IPv4: the first word only */
    uint64_t mac_a, mac_b;     /* 48 bits each (0 when the id leaves them
                                  out), a VLAN id above each */
    uint64_t misc;             /* port a, port b, proto, v6, nvlan, eth */
};

/* A slot: one line (the table is aligned on lines). v is 0 when empty, a
 * flow's address with FRONT_DIR set when the key's order of ends is the
 * flow's reverse, or FRONT_REFUSED with the connection id above 2 bits: a
 * flow refused while the table was full, whose frames are counted as
 * dropped from the slot until a flow goes (which clears the slots, and
 * makes room). Only for a table that counts its own flows: a shared
 * count (packet workers) gets room from other tables too. */
struct front {
    struct front_key k;
    uint64_t v;
};
_Static_assert(sizeof(struct front) == 64, "a front slot is a line");
#define FRONT_DIR 1u
#define FRONT_REFUSED 2u
#define FRONT_LINE 64u

struct pb_flows {
    struct pb_flows_config cfg;
    struct front *front; /* FRONT_SLOTS, in front_mem aligned on a line */
    void *front_mem;     /* owned */
    /* The front key and slot pb_flows_prefetch worked out for the frame
       ahead_d, taken by its pb_flows_packet (which adds the connection
       id): one key a frame. NULL: none waits. */
    const struct pb_decoded *ahead_d;
    struct front_key ahead_key;
    size_t ahead_slot;
    int ahead_swapped;
    bool front_clear;       /* no slot is in use */
    uint64_t epoch;         /* the flow links' (struct pb_flow_link): new_epoch */
    struct pb_proto pseudo; /* what emit gets: cfg = the flows section */
    struct pb_hindex index; /* the flows by the hash of their id */
    struct pb_hpool pool;   /* the flows' blocks (beyond it: malloc'd) */
    struct layout *layouts; /* owned: MAX_LAYOUTS */
    size_t nlayouts;
    size_t count;
    uint64_t seed[2];

    int64_t tick_ns;
    int ticks_timeout, ticks_period;
    int n_timeout, n_period;
    uint64_t next_tick_ns; /* wall clock */

    struct pb_flows_stats stats;
    /* @timestamp of the reports at now_ns (one pass makes them all) */
    bool now_valid;
    uint8_t now_len;
    uint64_t now_ns;
    char now_text[40];
    /* max_flows over several tables (packet workers), or NULL: count */
    pb_flows_admit_fn admit;
    pb_flows_release_fn release;
    void *admit_ctx;
};

/* The n (8, or at most 7) bytes at p as a little-endian number. Loaded
 * whole (4, 2, 1 bytes) and joined in registers: bytes copied into a zeroed
 * word and read back as one wait for the store buffer to drain (the load
 * spans several stores, so none can forward to it). */
static inline uint64_t load_le(const uint8_t *p, size_t n)
{
    if (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return le64toh(v);
    }
    uint64_t v = 0;
    unsigned shift = 0;
    if (n & 4) {
        uint32_t x;
        memcpy(&x, p, 4);
        v = le32toh(x);
        p += 4;
        shift = 32;
    }
    if (n & 2) {
        uint16_t x;
        memcpy(&x, p, 2);
        v |= (uint64_t)le16toh(x) << shift;
        p += 2;
        shift += 16;
    }
    if (n & 1) {
        v |= (uint64_t)p[0] << shift;
    }
    return v;
}

/* SipHash-1-3 over the key, seeded at random: frames are untrusted, so the
 * bucket of a flow must not be predictable (1-3: the rounds hash tables
 * use against flooding; 2-4 cost twice as much per packet). */
static inline uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND()                                                                                 \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = rotl(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = rotl(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = rotl(v2, 32);                                                                         \
    } while (0)

static uint64_t siphash(const uint64_t k[2], const uint8_t *in, size_t n)
{
    uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
    uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
    uint64_t b = (uint64_t)n << 56;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8);
        m = le64toh(m);
        v3 ^= m;
        SIPROUND();
        v0 ^= m;
    }
    b |= load_le(in + i, n - i); /* the last 0 to 7 bytes */
    v3 ^= b;
    SIPROUND();
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND();
    SIPROUND();
    SIPROUND();
    return v0 ^ v1 ^ v2 ^ v3;
}

static void random_seed(uint64_t seed[2])
{
    if (getrandom(seed, 2 * sizeof seed[0], GRND_NONBLOCK) == (ssize_t)(2 * sizeof seed[0])) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    seed[1] = (uint64_t)(uintptr_t)seed ^ 0xc2b2ae3d27d4eb4full;
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b != 0) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Go's time.ParseDuration accepts a bare number only for 0. */
static int parse_go_duration(const struct pb_cfg *sec, const char *key, int64_t def, int64_t *out,
                             char *err, size_t errlen)
{
    const struct pb_cfg *n = pb_cfg_get(sec, key);
    if (n == NULL || n->kind == PB_CFG_NULL ||
        (n->kind == PB_CFG_SCALAR && n->value != NULL && n->value[0] == '\0')) {
        *out = def;
        return 0;
    }
    if (n->kind != PB_CFG_SCALAR || n->value == NULL) {
        char path[256];
        pb_cfg_path(n, path, sizeof path);
        snprintf(err, errlen, "can not convert '%s' into 'string' accessing '%s'",
                 n->kind == PB_CFG_LIST ? "[]interface {}" : "object", path);
        return -PB_EINVAL;
    }
    const char *s = n->value;
    const char *p = s;
    if (*p == '+' || *p == '-') {
        p++;
    }
    bool has_unit = false, zero = true;
    for (const char *q = p; *q != '\0'; q++) {
        if ((*q < '0' || *q > '9') && *q != '.') {
            has_unit = true;
        } else if (*q != '0' && *q != '.') {
            zero = false;
        }
    }
    int64_t v = 0;
    if ((!has_unit && !zero) || *p == '\0' || pb_parse_duration(s, &v) < 0) {
        snprintf(err, errlen,
                 has_unit || *p == '\0' ? "time: invalid duration \"%s\""
                                        : "time: missing unit in duration \"%s\"",
                 s);
        return -PB_EINVAL;
    }
    *out = v;
    return 0;
}

int pb_flows_config_read(const struct pb_cfg *section, struct pb_flows_config *out, char *err,
                         size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (parse_go_duration(section, "timeout", DEFAULT_TIMEOUT_NS, &out->timeout_ns, err, errlen) <
        0) {
        return -PB_EINVAL;
    }
    if (parse_go_duration(section, "period", DEFAULT_PERIOD_NS, &out->period_ns, err, errlen) < 0) {
        return -PB_EINVAL;
    }
    if (pb_cfg_bool(section, "enable_delta_flow_reports", false, &out->delta) < 0 ||
        pb_cfg_bool(section, "allow_mismatched_eth", false, &out->allow_mismatched_eth) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    int64_t max_flows = 0;
    if (pb_cfg_int(section, "max_flows", PB_MAX_FLOWS, &max_flows) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (max_flows < 1) {
        snprintf(err, errlen, "max_flows must be >= 1 accessing 'packetbeat.flows.max_flows'");
        return -PB_EINVAL;
    }
    out->max_flows = (size_t)max_flows;
    if (out->timeout_ns < SEC_NS) {
        snprintf(err, errlen, "timeout must be >= 1s");
        return -PB_EINVAL;
    }
    if (out->period_ns > 0 && out->period_ns < SEC_NS) {
        snprintf(err, errlen, "report period must be -1 or >= 1s");
        return -PB_EINVAL;
    }
    return 0;
}

/* Epochs of the tables' flow links, unique in the process: a link kept
 * for a table that is gone (another one may live at its address) or that
 * forgot a flow since never matches. */
static _Atomic uint64_t epochs;

static uint64_t new_epoch(void)
{
    return atomic_fetch_add_explicit(&epochs, 1, memory_order_relaxed) + 1;
}

/* A zeroed flow: from the table's pool of huge pages (thousands of DNS
   exchanges open a flow each: a page fault every 15 of them with 4 KB
   pages), else malloc'd; NULL without memory. */
static struct flow *flow_alloc(struct pb_flows *f)
{
    struct flow *fl = pb_hpool_get(&f->pool);
    if (fl != NULL) {
        memset(fl, 0, sizeof *fl);
        return fl;
    }
    return pb_calloc(1, sizeof *fl);
}

static void flow_release(struct pb_flows *f, struct flow *fl)
{
    if (pb_hpool_owns(&f->pool, fl)) {
        pb_hpool_put(&f->pool, fl);
    } else {
        pb_free(fl);
    }
}

struct pb_flows *pb_flows_new(const struct pb_flows_config *cfg, const struct pb_cfg *section,
                              pb_emit_fn emit, void *emit_ctx, uint64_t now_ns)
{
    struct pb_flows *f = pb_calloc(1, sizeof *f);
    if (f == NULL) {
        return NULL;
    }
    f->cfg = *cfg;
    if (f->cfg.max_flows == 0) {
        f->cfg.max_flows = PB_MAX_FLOWS;
    }
    pb_hpool_init(&f->pool, sizeof(struct flow), f->cfg.max_flows);
    bool indexed = pb_hindex_init(&f->index, INDEX_SLOTS);
    f->layouts = pb_calloc(MAX_LAYOUTS, sizeof *f->layouts);
    f->front_mem = pb_calloc(FRONT_SLOTS * sizeof *f->front + FRONT_LINE, 1);
    if (f->front_mem != NULL) {
        uintptr_t at = ((uintptr_t)f->front_mem + FRONT_LINE - 1) & ~(uintptr_t)(FRONT_LINE - 1);
        f->front = (struct front *)at;
    }
    if (!indexed || f->layouts == NULL || f->front == NULL) {
        pb_flows_free(f);
        return NULL;
    }
    f->pseudo.cfg = section;
    f->pseudo.emit = emit;
    f->pseudo.emit_ctx = emit_ctx;
    random_seed(f->seed);
    f->epoch = new_epoch();

    /* Timers as Packetbeat's flows worker sets them up. */
    f->tick_ns = f->cfg.timeout_ns;
    f->ticks_timeout = 1;
    f->ticks_period = -1;
    if (f->cfg.period_ns > 0) {
        f->tick_ns = gcd64(f->cfg.timeout_ns, f->cfg.period_ns);
        if (f->tick_ns < SEC_NS) {
            f->tick_ns = SEC_NS;
        }
        f->ticks_timeout = (int)(f->cfg.timeout_ns / f->tick_ns);
        if (f->ticks_timeout == 0) {
            f->ticks_timeout = 1;
        }
        f->ticks_period = (int)(f->cfg.period_ns / f->tick_ns);
        if (f->ticks_period == 0) {
            f->ticks_period = 1;
        }
    }
    f->n_timeout = f->ticks_timeout;
    f->n_period = f->ticks_period;
    /* start at the next whole second that is a multiple of 10 */
    uint64_t secs = now_ns / (uint64_t)SEC_NS;
    uint64_t align = (uint64_t)(ALIGN_NS / SEC_NS);
    uint64_t start = ((secs + align - 1) / align) * align * (uint64_t)SEC_NS;
    f->next_tick_ns = start + (uint64_t)f->tick_ns;
    pb_debug("flows",
             "new flows worker. timeout=%lldns, period=%lldns, tick=%lldns, ticksTO=%d, "
             "ticksP=%d",
             (long long)f->cfg.timeout_ns, (long long)f->cfg.period_ns, (long long)f->tick_ns,
             f->ticks_timeout, f->ticks_period);
    return f;
}

static void flow_unlink(struct pb_flows *f, struct flow *fl)
{
    if (!f->front_clear) {
        /* before the next frame: a front slot may point at fl */
        memset(f->front, 0, FRONT_SLOTS * sizeof *f->front);
        f->front_clear = true;
    }
    pb_hindex_remove(&f->index, fl, fl->hash);
    struct layout *l = &f->layouts[fl->layout];
    if (fl->prev != NULL) {
        fl->prev->next = fl->next;
    } else {
        l->head = fl->next;
    }
    if (fl->next != NULL) {
        fl->next->prev = fl->prev;
    } else {
        l->tail = fl->prev;
    }
    f->count--;
    if (f->release != NULL) {
        f->release(f->admit_ctx);
    }
}

void pb_flows_free(struct pb_flows *f)
{
    if (f == NULL) {
        return;
    }
    if (f->layouts != NULL) {
        for (size_t i = 0; i < f->nlayouts; i++) {
            struct flow *fl = f->layouts[i].head;
            while (fl != NULL) {
                struct flow *next = fl->next;
                flow_release(f, fl);
                fl = next;
            }
        }
    }
    pb_hpool_free(&f->pool);
    pb_free(f->layouts);
    pb_hindex_free(&f->index);
    pb_free(f->front_mem);
    pb_free(f);
}

static struct layout *layout_for(struct pb_flows *f, const uint8_t *meta, uint16_t *idx)
{
    for (size_t i = 0; i < f->nlayouts; i++) {
        if (memcmp(f->layouts[i].meta, meta, PB_FLOW_META_LEN) == 0) {
            *idx = (uint16_t)i;
            return &f->layouts[i];
        }
    }
    if (f->nlayouts == MAX_LAYOUTS) {
        return NULL;
    }
    struct layout *l = &f->layouts[f->nlayouts];
    memcpy(l->meta, meta, PB_FLOW_META_LEN);
    *idx = (uint16_t)f->nlayouts++;
    return l;
}

static void keep_cid(struct flow *fl, const struct pb_tuple *t, const struct pb_cid_ahead *cid);

/* The flow of id (created when new, with conn_id: the connection id in
 * the id, or 0), with *dir the direction of this frame in it; NULL when it
 * cannot be created. cid, when not NULL: the Community ID worked out ahead
 * for t, the frame's tuple, which is the flow's (see keep_cid). */
static struct flow *flow_get(struct pb_flows *f, const struct pb_flow_id *id, uint64_t conn_id,
                             uint64_t ts_ns, uint64_t now_ns, int *dir, const struct pb_tuple *t,
                             const struct pb_cid_ahead *cid)
{
    uint8_t buf[KEY_MAX], fbuf[KEY_MAX];
    size_t klen, flen;
    const uint8_t *key = id_raw(id, buf, &klen);
    uint32_t hash = (uint32_t)siphash(f->seed, key, klen);
    const struct pb_hindex *x = &f->index;
    struct flow *fl;
    for (size_t i = pb_hindex_home(x, hash); (fl = x->slots[i].obj) != NULL;
         i = pb_hindex_next(x, i)) {
        if (x->slots[i].hash == hash && fl->id.len == id->len &&
            memcmp(id_raw(&fl->id, fbuf, &flen), key, klen) == 0) {
            break;
        }
    }
    *dir = PB_FLOW_DIR_FORWARD;
    if (fl == NULL) {
        uint16_t li = 0;
        bool room = f->admit != NULL ? f->admit(f->admit_ctx, f->cfg.max_flows)
                                     : f->count < f->cfg.max_flows;
        struct layout *l = room ? layout_for(f, key, &li) : NULL;
        fl = l != NULL ? flow_alloc(f) : NULL;
        if (fl != NULL && !pb_hindex_add(&f->index, fl, hash)) {
            flow_release(f, fl);
            fl = NULL;
        }
        if (fl == NULL) {
            if (room && f->release != NULL) {
                f->release(f->admit_ctx);
            }
            f->stats.dropped++;
            return NULL;
        }
        fl->hash = hash;
        fl->layout = li;
        fl->id = *id;
        fl->conn_id = conn_id;
        keep_cid(fl, t, cid);
        fl->first_ns = ts_ns;
        fl->prev = l->tail;
        if (l->tail != NULL) {
            l->tail->next = fl;
        } else {
            l->head = fl;
        }
        l->tail = fl;
        f->count++;
        f->stats.created++;
    } else if (fl->id.dir != id->dir) {
        *dir = PB_FLOW_DIR_REVERSED;
    }
    fl->last_ns = ts_ns;
    fl->seen_wall_ns = now_ns;
    return fl;
}

/* The MAC address at off in d as a number: 8 bytes loaded (the field
 * after it is in d too) and cut to 6. */
static inline uint64_t mac_word(const struct pb_decoded *d, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)d + off, 8);
    return le64toh(v) & 0xffffffffffffull;
}
_Static_assert(offsetof(struct pb_decoded, src_mac) + 8 <= sizeof(struct pb_decoded) &&
                   offsetof(struct pb_decoded, dst_mac) + 8 <= sizeof(struct pb_decoded),
               "mac_word reads inside struct pb_decoded");

/* The front key of d, when d is a frame the front cache takes; *swapped:
 * its ends are in the other order than d's source and destination. Inlined:
 * every frame asks. */
static inline __attribute__((always_inline)) bool front_key_of(const struct pb_flows *f,
                                                               const struct pb_decoded *d,
                                                               bool transport, struct front_key *k,
                                                               int *swapped)
{
    const struct pb_tuple *t = &d->tuple;
    if (!transport || d->nip != 1 || d->nvlan > 2 ||
        (t->proto != PB_IPPROTO_TCP && t->proto != PB_IPPROTO_UDP)) {
        return false;
    }
    uint64_t ma = 0, mb = 0, eth = 0;
    if (d->has_eth && !f->cfg.allow_mismatched_eth) {
        ma = mac_word(d, offsetof(struct pb_decoded, src_mac));
        mb = mac_word(d, offsetof(struct pb_decoded, dst_mac));
        eth = 1;
    }
    uint64_t pa = t->sport, pb = t->dport;
    uint64_t a0, a1 = 0, b0, b1 = 0;
    /* any fixed order of the two ends will do: (address, port, MAC) */
    bool swap;
    if (t->src.v6) {
        a0 = load_le(t->src.b, 8);
        a1 = load_le(t->src.b + 8, 8);
        b0 = load_le(t->dst.b, 8);
        b1 = load_le(t->dst.b + 8, 8);
        swap = a0 != b0 ? a0 > b0 : a1 != b1 ? a1 > b1 : pa != pb ? pa > pb : ma > mb;
    } else {
        a0 = load_le(t->src.b, 4);
        b0 = load_le(t->dst.b, 4);
        uint64_t ea = a0 << 16 | pa, eb = b0 << 16 | pb; /* 48 bits each */
        swap = ea != eb ? ea > eb : ma > mb;
    }
    if (swap) {
        uint64_t x;
        x = a0, a0 = b0, b0 = x;
        x = a1, a1 = b1, b1 = x;
        x = pa, pa = pb, pb = x;
        x = ma, ma = mb, mb = x;
    }
    uint64_t v0 = d->nvlan > 0 ? d->vlan[0] : 0, v1 = d->nvlan > 1 ? d->vlan[1] : 0;
    k->ip_a[0] = a0;
    k->ip_a[1] = a1;
    k->ip_b[0] = b0;
    k->ip_b[1] = b1;
    k->mac_a = ma | v0 << 48;
    k->mac_b = mb | v1 << 48;
    k->misc = pa | pb << 16 | (uint64_t)t->proto << 32 | (uint64_t)t->src.v6 << 40 |
              (uint64_t)d->nvlan << 48 | eth << 56;
    *swapped = swap;
    return true;
}

/* A seeded mix of the key's words: the slot of a key is not predictable
 * from outside, though collisions would only evict. */
static size_t front_slot(const struct pb_flows *f, const struct front_key *k)
{
    uint64_t h = f->seed[1];
    h = (h ^ k->ip_a[0] ^ k->ip_a[1] << 1) * 0x9e3779b97f4a7c15ull;
    h = (h ^ k->ip_b[0] ^ k->ip_b[1] << 1) * 0x9e3779b97f4a7c15ull;
    h = (h ^ k->misc) * 0x9e3779b97f4a7c15ull;
    h = (h ^ k->mac_a ^ k->mac_b << 5) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 40) % FRONT_SLOTS;
}

static inline bool front_same(const struct front_key *x, const struct front_key *y)
{
    return ((x->ip_a[0] ^ y->ip_a[0]) | (x->ip_a[1] ^ y->ip_a[1]) | (x->ip_b[0] ^ y->ip_b[0]) |
            (x->ip_b[1] ^ y->ip_b[1]) | (x->mac_a ^ y->mac_a) | (x->mac_b ^ y->mac_b) |
            (x->misc ^ y->misc)) == 0;
}

/* A frame the front cache did not answer: its flow found by the id (fr,
 * when not NULL: the front slot to fill with it, fk its key). Returns the
 * flow it counted in (NULL: none) and the frame's direction in it. Out of
 * line: the frames it answers do not pay for the id's room on the stack. */
__attribute__((noinline)) static struct flow *
packet_by_id(struct pb_flows *f, const struct pb_decoded *d, bool transport, uint64_t now_ns,
             struct front *fr, const struct front_key *fk, int swapped, int *dirp)
{
    /* keep_cid's, when the flow is new: with one IP layer the frame's tuple
       is the flow's Community ID tuple (in either orientation: the id
       orders the ends), with two it is the outer layer's */
    struct pb_cid_ahead ahead;
    const struct pb_cid_ahead *cid = NULL;
    if (transport && d->nip == 1 &&
        (d->tuple.proto == PB_IPPROTO_TCP || d->tuple.proto == PB_IPPROTO_UDP)) {
        pb_community_id_ahead(&d->tuple, &ahead);
        cid = &ahead;
    }
    uint64_t conn_id = 0;
    struct pb_flow_id id;
    pb_flow_id_reset(&id);
    if (d->has_eth && !f->cfg.allow_mismatched_eth) {
        pb_flow_id_add_eth(&id, d->src_mac, d->dst_mac);
    }
    for (unsigned i = 0; i < d->nvlan && i < 2; i++) {
        pb_flow_id_add_vlan(&id, d->vlan[i]);
    }
    if (d->nip >= 2) {
        pb_flow_id_add_ip(&id, &d->outer_src, &d->outer_dst);
    }
    if (d->nip >= 1) {
        pb_flow_id_add_ip(&id, &d->tuple.src, &d->tuple.dst);
    }
    struct flow *fl = NULL;
    int dir = PB_FLOW_DIR_FORWARD;
    if (transport) {
        switch (d->tuple.proto) {
        case PB_IPPROTO_TCP:
            pb_flow_id_add_tcp(&id, d->tuple.sport, d->tuple.dport);
            if (d->conn_id != 0) {
                pb_flow_id_add_conn_id(&id, d->conn_id);
                conn_id = d->conn_id;
            }
            break;
        case PB_IPPROTO_UDP:
            pb_flow_id_add_udp(&id, d->tuple.sport, d->tuple.dport);
            break;
        case PB_IPPROTO_ICMP:
        case PB_IPPROTO_ICMPV6:
            /* the flow is looked up before the ICMP layer is known */
            if (id.flags == 0 || id.overflow) {
                return NULL;
            }
            fl = flow_get(f, &id, 0, d->ts_ns, now_ns, &dir, NULL, NULL);
            if (fl != NULL) {
                uint16_t tc = (uint16_t)((d->icmp_type << 8) | d->icmp_code);
                if (d->tuple.proto == PB_IPPROTO_ICMP) {
                    fl->icmp4[dir] = tc;
                    fl->set[dir] |= ST_ICMP4;
                } else {
                    fl->icmp6[dir] = tc;
                    fl->set[dir] |= ST_ICMP6;
                }
            }
            break;
        default:
            break;
        }
    }
    if (id.flags == 0 || id.overflow) {
        return NULL;
    }
    if (fl == NULL) {
        fl = flow_get(f, &id, conn_id, d->ts_ns, now_ns, &dir, &d->tuple, cid);
        if (fl == NULL) {
            if (fr != NULL && f->admit == NULL && f->count >= f->cfg.max_flows &&
                conn_id <= UINT64_MAX >> 2) {
                fr->k = *fk;
                fr->v = conn_id << 2 | FRONT_REFUSED;
                f->front_clear = false;
            }
            return NULL;
        }
    }
    if (fr != NULL) {
        fr->k = *fk;
        fr->v = (uint64_t)(uintptr_t)fl | (uint64_t)(dir ^ swapped);
        f->front_clear = false;
    }
    fl->set[dir] |= ST_PACKETS | ST_BYTES;
    fl->packets[dir]++;
    fl->bytes[dir] += d->wire_len;
    *dirp = dir;
    return fl;
}

void pb_flows_prefetch(struct pb_flows *f, const struct pb_decoded *d, bool transport)
{
    if (f == NULL) {
        return;
    }
    f->ahead_d = NULL;
    if ((d->fragment && !d->reassembled) ||
        !front_key_of(f, d, transport, &f->ahead_key, &f->ahead_swapped)) {
        return;
    }
    f->ahead_slot = front_slot(f, &f->ahead_key);
    f->ahead_d = d;
    __builtin_prefetch(&f->front[f->ahead_slot], 0, 3);
}

/* The counted frame d in the flow fl, its direction dir in it. */
static inline void count(struct flow *fl, int dir, const struct pb_decoded *d, uint64_t now_ns)
{
    fl->last_ns = d->ts_ns;
    fl->seen_wall_ns = now_ns;
    fl->set[dir] |= ST_PACKETS | ST_BYTES;
    fl->packets[dir]++;
    fl->bytes[dir] += d->wire_len;
}

/* pb_flows_packet without its checks: returns the flow it counted d in
 * (NULL: none) and d's direction in it. */
static inline __attribute__((always_inline)) struct flow *
frame(struct pb_flows *f, const struct pb_decoded *d, bool transport, uint64_t now_ns, int *dirp)
{
    struct front_key own;
    const struct front_key *fk;
    int swapped = 0;
    size_t slot;
    if (f->ahead_d == d) { /* worked out by pb_flows_prefetch: used in place */
        f->ahead_d = NULL;
        fk = &f->ahead_key;
        swapped = f->ahead_swapped;
        slot = f->ahead_slot;
    } else if (front_key_of(f, d, transport, &own, &swapped)) {
        fk = &own;
        slot = front_slot(f, fk);
    } else {
        return packet_by_id(f, d, transport, now_ns, NULL, NULL, 0, dirp);
    }
    struct front *fr = &f->front[slot];
    uint64_t v = fr->v;
    if (v == 0 || !front_same(&fr->k, fk)) {
        return packet_by_id(f, d, transport, now_ns, fr, fk, swapped, dirp);
    }
    uint64_t conn_id = d->tuple.proto == PB_IPPROTO_TCP ? d->conn_id : 0;
    if (v & FRONT_REFUSED) {
        if (v >> 2 != conn_id) {
            return packet_by_id(f, d, transport, now_ns, fr, fk, swapped, dirp);
        }
        f->stats.dropped++;
        return NULL;
    }
    struct flow *fl = (struct flow *)(uintptr_t)(v & ~(uint64_t)FRONT_DIR);
    if (fl->conn_id != conn_id) {
        return packet_by_id(f, d, transport, now_ns, fr, fk, swapped, dirp);
    }
    int dir = (int)(v & FRONT_DIR) ^ swapped;
    count(fl, dir, d, now_ns);
    *dirp = dir;
    return fl;
}

void pb_flows_packet(struct pb_flows *f, const struct pb_decoded *d, bool transport,
                     uint64_t now_ns)
{
    if (f == NULL || d == NULL) {
        return;
    }
    /* a fragment waiting for (or refused by) reassembly counts nowhere */
    if (d->fragment && !d->reassembled) {
        return;
    }
    int dir;
    frame(f, d, transport, now_ns, &dir);
}

/* The layers of d a flow link keeps (struct pb_flow_link), in the
 * connection's order (reply: d goes server -> client), when d is a frame
 * the front cache takes (the rest of its key is the connection's tuple). */
static inline __attribute__((always_inline)) bool link_key_of(const struct pb_flows *f,
                                                              const struct pb_decoded *d,
                                                              bool reply, uint64_t mac[2],
                                                              uint32_t *misc)
{
    if (d->nip != 1 || d->nvlan > 2) {
        return false;
    }
    uint64_t ms = 0, md = 0;
    uint32_t eth = 0;
    if (d->has_eth && !f->cfg.allow_mismatched_eth) {
        ms = mac_word(d, offsetof(struct pb_decoded, src_mac));
        md = mac_word(d, offsetof(struct pb_decoded, dst_mac));
        eth = 1;
    }
    if (reply) {
        uint64_t x = ms;
        ms = md;
        md = x;
    }
    /* VLAN ids are not per end: they stay where they are */
    uint64_t v0 = d->nvlan > 0 ? d->vlan[0] : 0, v1 = d->nvlan > 1 ? d->vlan[1] : 0;
    mac[0] = ms | v0 << 48;
    mac[1] = md | v1 << 48;
    *misc = (uint32_t)d->nvlan | eth << 8;
    return true;
}

/* frame() for a segment whose link did not answer (the first of its
 * connection, or the first since a flow was forgotten): out of line. */
__attribute__((noinline)) static struct flow *
frame_unlinked(struct pb_flows *f, const struct pb_decoded *d, uint64_t now_ns, int *dirp)
{
    return frame(f, d, true, now_ns, dirp);
}

void pb_flows_packet_linked(struct pb_flows *f, const struct pb_decoded *d, bool transport,
                            uint64_t now_ns, struct pb_flow_link *link, bool reply)
{
    if (f == NULL || d == NULL || (d->fragment && !d->reassembled)) {
        return;
    }
    uint64_t mac[2];
    uint32_t misc;
    int dir;
    if (link == NULL || !transport || d->tuple.proto != PB_IPPROTO_TCP ||
        !link_key_of(f, d, reply, mac, &misc)) {
        frame(f, d, transport, now_ns, &dir);
        return;
    }
    if (link->epoch == f->epoch &&
        ((link->mac[0] ^ mac[0]) | (link->mac[1] ^ mac[1]) | (link->misc ^ misc)) == 0) {
        /* the frame's key is the one of the frame that set the link, or
           its mirror, and its connection id is the link's connection's:
           the flow the front cache would find */
        count(link->flow, link->dir ^ reply, d, now_ns);
        return;
    }
    struct flow *fl = frame_unlinked(f, d, now_ns, &dir);
    if (fl != NULL) {
        link->flow = fl;
        link->epoch = f->epoch;
        link->mac[0] = mac[0];
        link->mac[1] = mac[1];
        link->misc = misc;
        link->dir = (uint8_t)(dir ^ reply);
    }
}

/* ---- events ---- */

static void mac_str(const uint8_t *m, char out[18])
{
    for (int i = 0; i < 6; i++) {
        memcpy(out + 3 * i, hex_pairs[m[i]], 2);
        out[3 * i + 2] = '-';
    }
    out[17] = '\0';
}

static uint8_t ip_text(const uint8_t *b, bool v6, char out[PB_IP_STRLEN])
{
    /* IPv4-mapped IPv6 addresses print as IPv4, as Go's net.IP does */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct pb_ip ip;
    if (v6 && memcmp(b, mapped, 12) != 0) {
        ip.v6 = 1;
        memcpy(ip.b, b, 16);
    } else {
        ip.v6 = 0;
        memcpy(ip.b, v6 ? b + 12 : b, 4);
    }
    return (uint8_t)pb_ip_fmt(&ip, out);
}

/* IP layers in Packetbeat's order: outer v4, v4, outer v6, v6. Each adds
 * its pair to source.ip and destination.ip (a list from the second on);
 * an outer one also takes over network.type and the community id pair,
 * an inner one only when no layer set them yet. */
static const struct {
    uint8_t layer;
    bool v6, outer;
} ip_layers[4] = {
    {PB_FLOW_OUTER_IPV4, false, true},
    {PB_FLOW_IPV4, false, false},
    {PB_FLOW_OUTER_IPV6, true, true},
    {PB_FLOW_IPV6, true, false},
};

/* A flow's ports: TCP's, else UDP's; returns that protocol (0 when
 * neither: no ports, *sport and *dport untouched). With both port layers,
 * TCP's win (Packetbeat sets UDP's, then TCP's). */
static inline __attribute__((always_inline)) uint8_t flow_ports(const struct pb_flow_id *id,
                                                                uint16_t *sport, uint16_t *dport)
{
    const uint8_t *s, *d;
    bool tcp = read_pair(id, PB_FLOW_TCP, 2, &s, &d);
    if (!tcp && !read_pair(id, PB_FLOW_UDP, 2, &s, &d)) {
        return 0;
    }
    *sport = (uint16_t)(s[0] | (s[1] << 8));
    *dport = (uint16_t)(d[0] | (d[1] << 8));
    return tcp ? PB_IPPROTO_TCP : PB_IPPROTO_UDP;
}

/* The Community ID tuple of a flow: the addresses of its outer IP layer,
 * else of the inner one (false when it has none), and its ports
 * (flow_ports). */
static bool flow_tuple(const struct pb_flow_id *id, struct pb_tuple *ct)
{
    memset(ct, 0, sizeof *ct);
    const uint8_t *s, *d, *ip_s = NULL, *ip_d = NULL;
    bool ip_v6 = false;
    for (int i = 0; i < 4; i++) {
        bool v6 = ip_layers[i].v6;
        if (read_pair(id, (enum pb_flow_layer)ip_layers[i].layer, v6 ? 16 : 4, &s, &d) &&
            (ip_layers[i].outer || ip_s == NULL)) {
            ip_s = s;
            ip_d = d;
            ip_v6 = v6;
        }
    }
    ct->proto = flow_ports(id, &ct->sport, &ct->dport);
    if (ip_s == NULL) {
        return false;
    }
    ct->src.v6 = ct->dst.v6 = ip_v6;
    if (ip_v6) {
        memcpy(ct->src.b, ip_s, 16);
        memcpy(ct->dst.b, ip_d, 16);
    } else {
        memcpy(ct->src.b, ip_s, 4);
        memcpy(ct->dst.b, ip_d, 4);
    }
    return true;
}

/* A TCP or UDP flow's community id, made when the flow is: the id alone
 * makes it, and the transactions of the connection that follow then find
 * it in pb_community_id's cache (the flow's reports come much later).
 * ahead (NULL: none) was worked out for t, a tuple with the flow's
 * Community ID (packet_by_id's frame with one IP layer). */
static void keep_cid(struct flow *fl, const struct pb_tuple *t, const struct pb_cid_ahead *ahead)
{
    char cid[64];
    size_t n;
    struct pb_tuple ct;
    if (ahead != NULL) {
        n = pb_community_id_from(t, ahead, cid);
    } else if (flow_tuple(&fl->id, &ct) && ct.proto != 0) {
        n = pb_community_id(&ct, cid);
    } else {
        return;
    }
    if (n < sizeof fl->cid) {
        memcpy(fl->cid, cid, n + 1);
        fl->cid_len = (uint8_t)n;
    }
}

/* A flow event's fields, worked out when the flow is reported: the event
 * carries them as its pending fields (pb_ev_set_pending) that the encoder
 * writes straight (flow_put_ts, flow_put_rest) and flow_build makes into
 * members when anything asks for them. */
struct flow_view {
    uint64_t first_ns, last_ns;
    uint64_t packets[2], bytes[2]; /* per end (source, destination) */
    uint64_t total_packets, total_bytes;
    const char *transport; /* static; NULL none */
    uint16_t vids[2], sport, dport;
    uint8_t nvid, nips;
    bool final, has_ip, v6, has_ports, has_mac, has_cid;
    bool has_packets[2], has_bytes[2];
    /* the texts' lengths (the texts are NUL-terminated too, for flow_build) */
    uint8_t now_len, id_len, cid_len, ip_len[2][4];
    char now[40]; /* @timestamp */
    char id[PB_FLOW_ID_STRLEN];
    char cid[64];
    char mac[2][18];
    char ip[2][4][PB_IP_STRLEN];
};

static void flow_view_make(struct pb_flows *f, struct flow *fl, bool final, uint64_t now_ns,
                           struct flow_view *v)
{
    const struct pb_flow_id *id = &fl->id;
    /* the reports of one pass share their time */
    if (!f->now_valid || f->now_ns != now_ns) {
        f->now_len = (uint8_t)pb_time_fmt_n(now_ns, false, f->now_text);
        f->now_ns = now_ns;
        f->now_valid = true;
    }
    memcpy(v->now, f->now_text, sizeof v->now);
    v->now_len = f->now_len;
    v->first_ns = fl->first_ns;
    v->last_ns = fl->last_ns;
    v->final = final;
    v->id_len = (uint8_t)flow_id_text(id, v->id);

    const uint8_t *s, *d;
    v->has_mac = read_pair(id, PB_FLOW_ETH, 6, &s, &d);
    if (v->has_mac) {
        mac_str(s, v->mac[0]);
        mac_str(d, v->mac[1]);
    }
    v->nvid = 0;
    if (read_u16le(id, PB_FLOW_OUTER_VLAN, &v->vids[v->nvid])) {
        v->nvid++;
    }
    if (read_u16le(id, PB_FLOW_VLAN, &v->vids[v->nvid])) {
        v->nvid++;
    }
    v->nips = 0;
    v->has_ip = v->v6 = false;
    for (int i = 0; i < 4; i++) {
        bool v6 = ip_layers[i].v6;
        if (!read_pair(id, (enum pb_flow_layer)ip_layers[i].layer, v6 ? 16 : 4, &s, &d)) {
            continue;
        }
        v->ip_len[0][v->nips] = ip_text(s, v6, v->ip[0][v->nips]);
        v->ip_len[1][v->nips] = ip_text(d, v6, v->ip[1][v->nips]);
        v->nips++;
        if (ip_layers[i].outer || !v->has_ip) { /* the Community ID's layer (flow_tuple's) */
            v->has_ip = true;
            v->v6 = v6;
        }
    }
    uint16_t sport = 0, dport = 0;
    uint8_t proto = flow_ports(id, &sport, &dport);
    v->has_ports = proto != 0;
    v->sport = sport;
    v->dport = dport;
    v->transport = proto == 0 ? NULL : proto == PB_IPPROTO_TCP ? "tcp" : "udp";

    v->total_bytes = v->total_packets = 0;
    for (int dir = 0; dir < 2; dir++) {
        v->has_packets[dir] = v->has_bytes[dir] = false;
        uint8_t set = fl->set[dir];
        if (set == 0) {
            continue;
        }
        if (dir == 0 && (set & ST_ICMP4) && fl->icmp4[0] > 0) {
            v->transport = "icmp";
            proto = PB_IPPROTO_ICMP;
            sport = (uint16_t)(fl->icmp4[0] >> 8);
            dport = (uint16_t)(fl->icmp4[0] & 0xff);
        }
        if (dir == 0 && (set & ST_ICMP6) && fl->icmp6[0] > 0) {
            v->transport = "ipv6-icmp";
            proto = PB_IPPROTO_ICMPV6;
            sport = (uint16_t)(fl->icmp6[0] >> 8);
            dport = (uint16_t)(fl->icmp6[0] & 0xff);
        }
        if (set & ST_PACKETS) {
            v->has_packets[dir] = true;
            v->packets[dir] = fl->packets[dir];
            v->total_packets += fl->packets[dir];
        }
        if (set & ST_BYTES) {
            v->has_bytes[dir] = true;
            v->bytes[dir] = fl->bytes[dir];
            v->total_bytes += fl->bytes[dir];
        }
        if (f->cfg.delta) {
            fl->packets[dir] = 0;
            fl->bytes[dir] = 0;
        }
    }
    v->has_cid = proto != 0 && v->has_ip;
    if (v->has_cid) {
        /* TCP and UDP flows keep theirs (keep_cid) */
        bool keep = proto == PB_IPPROTO_TCP || proto == PB_IPPROTO_UDP;
        if (!keep || fl->cid_len == 0) {
            struct pb_tuple ct;
            flow_tuple(id, &ct); /* the addresses (read once more: ICMP flows) */
            ct.proto = proto;
            ct.sport = sport;
            ct.dport = dport;
            v->cid_len = (uint8_t)pb_community_id(&ct, v->cid);
        } else {
            memcpy(v->cid, fl->cid, sizeof fl->cid); /* NUL-terminated within */
            v->cid_len = fl->cid_len;
        }
    }
}

/* source (end 0) or destination (1) */
static void build_end(pb_node *root, const struct flow_view *v, int end)
{
    pb_node *o = end == 0 ? pb_node_add_obj(root, PB_KEY("source"))
                          : pb_node_add_obj(root, PB_KEY("destination"));
    if (v->has_mac) {
        pb_node_add_plain(o, PB_KEY("mac"), v->mac[end]);
    }
    if (v->nips == 1) {
        pb_node_add_plain(o, PB_KEY("ip"), v->ip[end][0]);
    } else if (v->nips > 1) {
        const char *ips[4];
        for (int i = 0; i < v->nips; i++) {
            ips[i] = v->ip[end][i];
        }
        pb_node_add_strs(o, PB_KEY("ip"), ips, v->nips);
    }
    if (v->has_ports) {
        pb_node_add_int(o, PB_KEY("port"), end == 0 ? v->sport : v->dport);
    }
    if (v->has_packets[end]) {
        pb_node_add_uint(o, PB_KEY("packets"), v->packets[end]);
    }
    if (v->has_bytes[end]) {
        pb_node_add_uint(o, PB_KEY("bytes"), v->bytes[end]);
    }
}

static void flow_build(pb_event *ev, const void *st)
{
    const struct flow_view *v = st;
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_plain(root, PB_KEY("@timestamp"), v->now);
    pb_node_add_static(root, PB_KEY("type"), "flow");

    pb_node *event = pb_node_add_obj(root, PB_KEY("event"));
    const char *start = pb_ev_time(ev, v->first_ns);
    pb_node_add_static(event, PB_KEY("start"), start);
    pb_node_add_static(event, PB_KEY("end"),
                       v->last_ns == v->first_ns ? start : pb_ev_time(ev, v->last_ns));
    pb_node_add_int(event, PB_KEY("duration"),
                    (int64_t)(v->last_ns >= v->first_ns ? v->last_ns - v->first_ns : 0));
    pb_node_add_static(event, PB_KEY("dataset"), "flow");
    pb_node_add_static(event, PB_KEY("kind"), "event");
    static const char *const category[] = {"network"}, *const etype[] = {"connection", "end"};
    pb_node_add_static_strs(event, PB_KEY("category"), category, 1, "[\"network\"]");
    pb_node_add_static(event, PB_KEY("action"), "network_flow");
    if (v->final) {
        pb_node_add_static_strs(event, PB_KEY("type"), etype, 2, "[\"connection\",\"end\"]");
    } else {
        pb_node_add_static_strs(event, PB_KEY("type"), etype, 1, "[\"connection\"]");
    }

    pb_node *flow = pb_node_add_obj(root, PB_KEY("flow"));
    pb_node_add_plain(flow, PB_KEY("id"), v->id);
    pb_node_add_bool(flow, PB_KEY("final"), v->final);
    if (v->nvid == 1) {
        pb_node_add_int(flow, PB_KEY("vlan"), v->vids[0]);
    } else if (v->nvid == 2) {
        pb_node *arr = pb_node_add_arr(flow, PB_KEY("vlan"));
        pb_node_add_int(arr, NULL, 0, v->vids[0]);
        pb_node_add_int(arr, NULL, 0, v->vids[1]);
    }

    pb_node *network = pb_node_add_obj(root, PB_KEY("network"));
    if (v->has_ip) {
        pb_node_add_static(network, PB_KEY("type"), v->v6 ? "ipv6" : "ipv4");
    }
    pb_node_add_static(network, PB_KEY("transport"), v->transport);
    if (v->has_cid) {
        pb_node_add_plain(network, PB_KEY("community_id"), v->cid);
    }
    pb_node_add_uint(network, PB_KEY("bytes"), v->total_bytes);
    pb_node_add_uint(network, PB_KEY("packets"), v->total_packets);
    build_end(root, v, 0);
    build_end(root, v, 1);
}

/* ---- the same, written straight (as the encoder writes what flow_build
 * makes) ---- */

static char *put_quoted(char *o, const char *s)
{
    return pb_jw_quoted(o, s, strlen(s));
}

/* v (at most INT64_MAX: flow_event sees to it) as pb_node_add_uint has it */
static char *put_u64(char *o, uint64_t v)
{
    return pb_jw_int(o, (int64_t)v);
}

static char *put_end(char *o, const struct flow_view *v, int end)
{
    /* the first member is there whenever the flow has an address */
    char c = '{';
    if (v->has_mac) {
        *o++ = c;
        o = pb_jw_quoted(PB_JW_LIT(o, "\"mac\":"), v->mac[end], 17);
        c = ',';
    }
    if (v->nips == 1) {
        *o++ = c;
        o = pb_jw_quoted(PB_JW_LIT(o, "\"ip\":"), v->ip[end][0], v->ip_len[end][0]);
        c = ',';
    } else if (v->nips > 1) {
        *o++ = c;
        o = PB_JW_LIT(o, "\"ip\":[");
        for (int i = 0; i < v->nips; i++) {
            if (i > 0) {
                *o++ = ',';
            }
            o = pb_jw_quoted(o, v->ip[end][i], v->ip_len[end][i]);
        }
        *o++ = ']';
        c = ',';
    }
    if (v->has_ports) {
        *o++ = c;
        o = put_u64(PB_JW_LIT(o, "\"port\":"), end == 0 ? v->sport : v->dport);
        c = ',';
    }
    if (v->has_packets[end]) {
        *o++ = c;
        o = put_u64(PB_JW_LIT(o, "\"packets\":"), v->packets[end]);
        c = ',';
    }
    if (v->has_bytes[end]) {
        *o++ = c;
        o = put_u64(PB_JW_LIT(o, "\"bytes\":"), v->bytes[end]);
        c = ',';
    }
    if (c == '{') {
        *o++ = '{';
    }
    *o++ = '}';
    return o;
}

static size_t flow_max(const void *st)
{
    (void)st;
    return 2048 + 2 * 4 * (PB_IP_STRLEN + 3) + PB_FLOW_ID_STRLEN;
}

static char *flow_put_ts(const void *st, char *o)
{
    const struct flow_view *v = st;
    return pb_jw_quoted(PB_JW_LIT(o, "\"@timestamp\":"), v->now, v->now_len);
}

static char *flow_put_rest(const void *st, char *o)
{
    const struct flow_view *v = st;
    o = PB_JW_LIT(o, ",\"type\":\"flow\",\"event\":{\"start\":");
    char start[40];
    size_t slen = pb_time_fmt_n(v->first_ns, false, start);
    o = pb_jw_quoted(o, start, slen);
    o = PB_JW_LIT(o, ",\"end\":");
    o = v->last_ns == v->first_ns ? pb_jw_quoted(o, start, slen) : pb_time_put(o, v->last_ns);
    o = put_u64(PB_JW_LIT(o, ",\"duration\":"),
                v->last_ns >= v->first_ns ? v->last_ns - v->first_ns : 0);
    o = PB_JW_LIT(o, ",\"dataset\":\"flow\",\"kind\":\"event\",\"category\":[\"network\"],"
                     "\"action\":\"network_flow\",\"type\":");
    o = v->final ? PB_JW_LIT(o, "[\"connection\",\"end\"]") : PB_JW_LIT(o, "[\"connection\"]");
    o = pb_jw_quoted(PB_JW_LIT(o, "},\"flow\":{\"id\":"), v->id, v->id_len);
    o = v->final ? PB_JW_LIT(o, ",\"final\":true") : PB_JW_LIT(o, ",\"final\":false");
    if (v->nvid == 1) {
        o = put_u64(PB_JW_LIT(o, ",\"vlan\":"), v->vids[0]);
    } else if (v->nvid == 2) {
        o = put_u64(PB_JW_LIT(o, ",\"vlan\":["), v->vids[0]);
        o = put_u64(PB_JW_LIT(o, ","), v->vids[1]);
        *o++ = ']';
    }
    o = PB_JW_LIT(o, "},\"network\":{");
    if (v->has_ip) {
        o = v->v6 ? PB_JW_LIT(o, "\"type\":\"ipv6\",") : PB_JW_LIT(o, "\"type\":\"ipv4\",");
    }
    if (v->transport != NULL) {
        o = put_quoted(PB_JW_LIT(o, "\"transport\":"), v->transport);
        *o++ = ',';
    }
    if (v->has_cid) {
        o = pb_jw_quoted(PB_JW_LIT(o, "\"community_id\":"), v->cid, v->cid_len);
        *o++ = ',';
    }
    o = put_u64(PB_JW_LIT(o, "\"bytes\":"), v->total_bytes);
    o = put_u64(PB_JW_LIT(o, ",\"packets\":"), v->total_packets);
    o = put_end(PB_JW_LIT(o, "},\"source\":"), v, 0);
    o = put_end(PB_JW_LIT(o, ",\"destination\":"), v, 1);
    return o;
}

static const char *const flow_keys[] = {"@timestamp", "type",   "event",      "flow",
                                        "network",    "source", "destination"};
static _Atomic uint64_t flow_bits;
static const struct pb_pending_ops flow_ops = {
    .keys = flow_keys,
    .nkeys = sizeof flow_keys / sizeof flow_keys[0],
    .max = flow_max,
    .put_ts = flow_put_ts,
    .put_rest = flow_put_rest,
    .build = flow_build,
    .bits = &flow_bits,
};

static pb_event *flow_event(struct pb_flows *f, struct flow *fl, bool final, uint64_t now_ns)
{
    pb_event *ev = pb_ev_new();
    struct flow_view *v = ev != NULL ? pb_ev_alloc(ev, sizeof *v) : NULL;
    if (v == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    flow_view_make(f, fl, final, now_ns, v);
    if (v->total_packets > (uint64_t)INT64_MAX || v->total_bytes > (uint64_t)INT64_MAX) {
        flow_build(ev, v); /* counts add_uint writes as reals */
    } else {
        pb_ev_set_pending(ev, &flow_ops, v);
    }
    return ev;
}

static void report(struct pb_flows *f, struct flow *fl, bool final, uint64_t now_ns)
{
    pb_event *ev = flow_event(f, fl, final, now_ns);
    if (ev == NULL) {
        return;
    }
    f->stats.events++;
    if (f->pseudo.emit != NULL) {
        f->pseudo.emit(f->pseudo.emit_ctx, &f->pseudo, ev);
    } else {
        pb_ev_free(ev);
    }
}

/* Asks for fl's lines (fl may be NULL): a pass calls it for the next flow
 * while it reports this one, as it walks thousands of flows that left the
 * cache long ago, and reading each one stalled its report. */
static inline void prefetch_flow(const struct flow *fl)
{
    if (fl != NULL) {
        for (size_t off = 0; off < sizeof *fl; off += 64) {
            __builtin_prefetch((const char *)fl + off);
        }
    }
}

/* One pass over every flow, in layout order then creation order. */
static void execute(struct pb_flows *f, bool check_timeout, bool reports, bool last,
                    uint64_t now_ns)
{
    if (!check_timeout && !reports) {
        return;
    }
    uint64_t timed_out = f->stats.timed_out;
    for (size_t i = 0; i < f->nlayouts; i++) {
        struct flow *next = NULL;
        for (struct flow *fl = f->layouts[i].head; fl != NULL; fl = next) {
            next = fl->next;
            prefetch_flow(next);
            bool rep = reports, over = last, dead = false;
            if (check_timeout && now_ns > fl->seen_wall_ns &&
                now_ns - fl->seen_wall_ns > (uint64_t)f->cfg.timeout_ns) {
                rep = true;
                over = true;
                dead = true;
                flow_unlink(f, fl);
                f->stats.timed_out++;
            }
            if (rep) {
                report(f, fl, over, now_ns);
            }
            if (dead) {
                flow_release(f, fl);
            }
        }
    }
    if (f->stats.timed_out != timed_out) {
        f->epoch = new_epoch(); /* no frame came meanwhile: one for the pass */
    }
}

void pb_flows_tick(struct pb_flows *f, uint64_t now_ns)
{
    if (f == NULL || now_ns < f->next_tick_ns) {
        return;
    }
    /* a ticker that fell behind fires once, not once per missed tick */
    while (f->next_tick_ns <= now_ns) {
        f->next_tick_ns += (uint64_t)f->tick_ns;
    }
    f->n_timeout--;
    f->n_period--;
    bool handle_timeout = f->n_timeout == 0;
    if (handle_timeout) {
        f->n_timeout = f->ticks_timeout;
    }
    bool handle_reports = f->ticks_period > 0 && f->n_period == 0;
    if (f->n_period <= 0) {
        f->n_period = f->ticks_period;
    }
    execute(f, handle_timeout, handle_reports, false, now_ns);
}

void pb_flows_final(struct pb_flows *f, uint64_t now_ns)
{
    if (f == NULL) {
        return;
    }
    /* One pass: each flow is reported, then forgotten. Every flow goes,
       so the index and the front cache are emptied whole afterwards
       instead of flow by flow (a removal from the index touched a line
       of it at random per flow). */
    for (size_t i = 0; i < f->nlayouts; i++) {
        struct flow *next = NULL;
        for (struct flow *fl = f->layouts[i].head; fl != NULL; fl = next) {
            next = fl->next;
            prefetch_flow(next);
            report(f, fl, true, now_ns);
            flow_release(f, fl);
            f->count--;
            if (f->release != NULL) {
                f->release(f->admit_ctx);
            }
        }
        f->layouts[i].head = f->layouts[i].tail = NULL;
    }
    pb_hindex_clear(&f->index, INDEX_SLOTS);
    f->epoch = new_epoch();
    if (!f->front_clear) {
        memset(f->front, 0, FRONT_SLOTS * sizeof *f->front);
        f->front_clear = true;
    }
    pb_info("flows", "flows worker loop stopped");
}

uint64_t pb_flows_timer(const struct pb_flows *f, int64_t *interval_ns)
{
    *interval_ns = f->tick_ns;
    return f->next_tick_ns;
}

void pb_flows_set_admission(struct pb_flows *f, pb_flows_admit_fn admit,
                            pb_flows_release_fn release, void *ctx)
{
    f->admit = admit;
    f->release = release;
    f->admit_ctx = ctx;
}

size_t pb_flows_count(const struct pb_flows *f)
{
    return f != NULL ? f->count : 0;
}

const struct pb_flows_stats *pb_flows_stats(const struct pb_flows *f)
{
    return &f->stats;
}
