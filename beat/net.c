/* SPDX-License-Identifier: Apache-2.0
 * beat/net.c - address helpers and Community ID v1
 * (https://github.com/corelight/community-id-spec), computed as libbeat's flowhash does (seed 0,
 * SHA-1, base64).
 */
#include "beat/net.h"

#include "beat/sha1.h"

#include <arpa/inet.h>
#include <string.h>

/* Each octet's digits and a dot, stored as one word, and how many of its
   bytes count: every event prints two addresses or more. */
static uint32_t octet_text[256];
static uint8_t octet_len[256];

__attribute__((constructor)) static void octet_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        char t[4] = {0};
        size_t n = 0;
        if (v >= 100) {
            t[n++] = (char)('0' + v / 100);
        }
        if (v >= 10) {
            t[n++] = (char)('0' + v / 10 % 10);
        }
        t[n++] = (char)('0' + v % 10);
        t[n++] = '.';
        memcpy(&octet_text[v], t, 4);
        octet_len[v] = (uint8_t)n;
    }
}

size_t pb_ip_fmt(const struct pb_ip *ip, char buf[PB_IP_STRLEN])
{
    if (!ip->v6) {
        /* dotted quad by table (glibc's inet_ntop formats IPv4 with
           sprintf): a word stored per octet, the last dot made the NUL */
        char *o = buf;
        for (int i = 0; i < 4; i++) {
            memcpy(o, &octet_text[ip->b[i]], 4);
            o += octet_len[ip->b[i]];
        }
        o[-1] = '\0';
        return (size_t)(o - 1 - buf);
    }
    if (inet_ntop(AF_INET6, ip->b, buf, PB_IP_STRLEN) == NULL) {
        buf[0] = '\0';
    }
    return strlen(buf);
}

const char *pb_ip_str(const struct pb_ip *ip, char buf[PB_IP_STRLEN])
{
    pb_ip_fmt(ip, buf);
    return buf;
}

bool pb_ip_parse(const char *s, struct pb_ip *ip)
{
    memset(ip, 0, sizeof *ip);
    if (inet_pton(AF_INET, s, ip->b) == 1) {
        return true;
    }
    if (inet_pton(AF_INET6, s, ip->b) == 1) {
        ip->v6 = 1;
        return true;
    }
    return false;
}

struct pb_tuple pb_tuple_reverse(const struct pb_tuple *t)
{
    struct pb_tuple r = *t;
    r.src = t->dst;
    r.dst = t->src;
    r.sport = t->dport;
    r.dport = t->sport;
    return r;
}

/* ICMP types that have a counterpart, as the Community ID spec lists them. */
static int icmp_equiv(uint8_t proto, uint8_t type)
{
    static const uint8_t v4[][2] = {{8, 0},  {0, 8},  {13, 14}, {14, 13}, {15, 16},
                                    {10, 9}, {9, 10}, {17, 18}, {18, 17}};
    static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133},
                                    {136, 135}, {135, 136}, {130, 131}, {139, 140},
                                    {140, 139}, {144, 145}, {145, 144}};
    if (proto == PB_IPPROTO_ICMP) {
        for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
            if (v4[i][0] == type) {
                return v4[i][1];
            }
        }
    } else {
        for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++) {
            if (v6[i][0] == type) {
                return v6[i][1];
            }
        }
    }
    return -1;
}

/* Standard base64 of a SHA-1 digest (28 characters, one '=') and a NUL. */
static void base64_sha1(const uint8_t md[PB_SHA1_LEN], char out[29])
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    _Static_assert(PB_SHA1_LEN == 20, "six groups of three bytes and two left");
    for (size_t i = 0; i < 6; i++) {
        uint32_t v = (uint32_t)md[3 * i] << 16 | (uint32_t)md[3 * i + 1] << 8 | md[3 * i + 2];
        out[4 * i] = tab[v >> 18];
        out[4 * i + 1] = tab[(v >> 12) & 63];
        out[4 * i + 2] = tab[(v >> 6) & 63];
        out[4 * i + 3] = tab[v & 63];
    }
    uint32_t v = (uint32_t)md[18] << 16 | (uint32_t)md[19] << 8;
    out[24] = tab[v >> 18];
    out[25] = tab[(v >> 12) & 63];
    out[26] = tab[(v >> 6) & 63];
    out[27] = '=';
    out[28] = '\0';
}

enum { CID_LEN = 2 + 28 };

/* Every event of a connection hashes the same bytes, and a SHA-1 costs
   more than the rest of the event's network fields: the latest ids of this
   thread are remembered, direct-mapped, by a key of whole words made in
   registers (bytes stored one by one and read back as words would wait for
   every store to land first). 2048 slots: a busy DNS resolver opens a flow
   per query, and with 512 they pushed out the ids of long TCP connections
   between two of their transactions (a quarter of those missed on a
   DNS-heavy mix). */
enum { CID_SLOTS = 2048 };
struct cid_slot {
    bool used;
    uint64_t key[5];
    char id[CID_LEN + 1];
};
static _Thread_local struct cid_slot cid_cache[CID_SLOTS];

/* A tuple in the order the Community ID hashes it, as the cache's key
   (uint64_t[5]): the source and destination addresses (IPv4: key[0] and
   key[1], each holding the 4 bytes as copied into a uint32_t; IPv6:
   key[0..1] and key[2..3], the bytes as they are), then key[4]: the
   protocol, bit 8 for IPv6, and with ports (bit 48) the source port at bit
   16 and the destination port at bit 32. The key says everything the hash
   reads. */

/* t's hashed order and cache key (into key), and its cache slot. IPv4
   addresses are compared and keyed as words (the usual tuple: no memcmp
   or memset call), IPv6 ones as before. The slot's hash is made from the
   words in registers and the key stored where its caller keeps it: a copy
   of words just stored one by one waits for every store before it.
   Inlined in its two callers: a packet the flows' front cache misses, and
   every transaction event. */
static inline __attribute__((always_inline)) struct cid_slot *cid_prepare(const struct pb_tuple *t,
                                                                          uint64_t key[5])
{
    const uint8_t *sip = t->src.b, *dip = t->dst.b;
    uint16_t sport = t->sport, dport = t->dport;
    uint8_t proto = t->proto;
    bool one_way = false;

    if (proto == PB_IPPROTO_ICMP || proto == PB_IPPROTO_ICMPV6) {
        int eq = icmp_equiv(proto, (uint8_t)t->sport);
        if (eq >= 0) {
            dport = (uint16_t)eq;
        } else {
            one_way = true; /* type and code as they are */
        }
    }
    bool ports = proto == PB_IPPROTO_TCP || proto == PB_IPPROTO_UDP || proto == 132 ||
                 proto == PB_IPPROTO_ICMP || proto == PB_IPPROTO_ICMPV6;
    uint64_t k[5];
    size_t alen = t->src.v6 ? 16 : 4;
    int cmp;
    if (alen == 4) {
        uint32_t x, y;
        memcpy(&x, sip, 4);
        memcpy(&y, dip, 4);
        /* the bytes' order (memcmp's) is the big-endian words' */
        x = __builtin_bswap32(x);
        y = __builtin_bswap32(y);
        cmp = (x > y) - (x < y);
    } else {
        cmp = memcmp(sip, dip, 16);
    }
    if (!one_way && !(cmp < 0 || (cmp == 0 && sport < dport))) {
        const uint8_t *tip = sip;
        sip = dip;
        dip = tip;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }
    if (alen == 4) {
        uint32_t x, y;
        memcpy(&x, sip, 4);
        memcpy(&y, dip, 4);
        k[0] = x;
        k[1] = y;
        k[2] = 0;
        k[3] = 0;
    } else {
        memcpy(&k[0], sip, 8);
        memcpy(&k[1], sip + 8, 8);
        memcpy(&k[2], dip, 8);
        memcpy(&k[3], dip + 8, 8);
    }
    k[4] = (uint64_t)proto | (uint64_t)(alen == 16) << 8 |
           (ports ? (uint64_t)sport << 16 | (uint64_t)dport << 32 | 1ull << 48 : 0);
    /* the key's words folded, then mixed (MurmurHash3's finalizer): each
       byte counts in the slot, the ports of one host pair too */
    uint64_t h = 0;
    for (size_t i = 0; i < 5; i++) {
        h = (h ^ k[i]) * 0x9e3779b97f4a7c15ull;
        key[i] = k[i];
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return &cid_cache[h % CID_SLOTS];
}

void pb_community_id_ahead(const struct pb_tuple *t, struct pb_cid_ahead *a)
{
    const struct cid_slot *slot = cid_prepare(t, a->key);
    __builtin_prefetch(slot, 0, 3);
    __builtin_prefetch((const char *)(slot + 1) - 1, 0, 3); /* a slot may straddle two lines */
    a->slot = slot;
}

/* Whether slot holds the id of key. */
static inline bool cid_hit(const struct cid_slot *slot, const uint64_t key[5])
{
    return slot->used &&
           ((slot->key[0] ^ key[0]) | (slot->key[1] ^ key[1]) | (slot->key[2] ^ key[2]) |
            (slot->key[3] ^ key[3]) | (slot->key[4] ^ key[4])) == 0;
}

/* The id of key (cid_prepare's) into out, kept in slot (key's). The
   hashed bytes (seed, addresses, protocol, padding, ports) are made in
   registers, as pb_sha1_short_words takes them, and the text written to
   both places: bytes just stored one by one and read back by a wider
   load (a memcpy) wait for every store before them, a new flow's
   cleared block included. */
static size_t cid_make(struct cid_slot *slot, const uint64_t key[5], char out[64])
{
    uint64_t k0 = key[0], k1 = key[1], k2 = key[2], k3 = key[3], k4 = key[4];
    bool v6 = (k4 >> 8) & 1u, ports = (k4 >> 48) & 1u;
    uint64_t proto = k4 & 0xff;
    /* the ports as the hash reads them: big-endian, source first */
    uint64_t pw = ports ? (uint64_t)__builtin_bswap16((uint16_t)(k4 >> 16)) |
                              (uint64_t)__builtin_bswap16((uint16_t)(k4 >> 32)) << 16
                        : 0;
    uint64_t m[7] = {0};
    size_t n;
    if (v6) { /* 2 + 16 + 16 + 2 (+ 4) bytes: the addresses two bytes in */
        m[0] = k0 << 16;
        m[1] = k0 >> 48 | k1 << 16;
        m[2] = k1 >> 48 | k2 << 16;
        m[3] = k2 >> 48 | k3 << 16;
        m[4] = k3 >> 48 | proto << 16 | pw << 32;
        n = ports ? 40 : 36;
    } else { /* 2 + 4 + 4 + 2 (+ 4) bytes */
        m[0] = (k0 & 0xffffffffu) << 16 | (k1 & 0xffffu) << 48;
        m[1] = (k1 >> 16 & 0xffffu) | proto << 16 | pw << 32;
        n = ports ? 16 : 12;
    }
    uint8_t md[PB_SHA1_LEN];
    pb_sha1_short_words(m, n, md);
    memcpy(out, "1:", 2);
    base64_sha1(md, out + 2);
    memcpy(slot->id, "1:", 2);
    base64_sha1(md, slot->id + 2);
    slot->used = true;
    slot->key[0] = k0;
    slot->key[1] = k1;
    slot->key[2] = k2;
    slot->key[3] = k3;
    slot->key[4] = k4;
    return CID_LEN;
}

size_t pb_community_id_from(const struct pb_tuple *t, const struct pb_cid_ahead *a, char out[64])
{
    /* the slot is this thread's cache's only when a was made here (the
       address ranges of two threads' caches do not overlap); the key says
       the rest, a miss needs no second look at t */
    uintptr_t at = (uintptr_t)a->slot, base = (uintptr_t)&cid_cache[0];
    if (at - base < sizeof cid_cache) {
        struct cid_slot *slot = &cid_cache[(at - base) / sizeof *slot];
        if (cid_hit(slot, a->key)) {
            memcpy(out, slot->id, CID_LEN + 1);
            return CID_LEN;
        }
        return cid_make(slot, a->key, out);
    }
    return pb_community_id(t, out);
}

size_t pb_community_id(const struct pb_tuple *t, char out[64])
{
    uint64_t key[5];
    struct cid_slot *slot = cid_prepare(t, key);
    if (cid_hit(slot, key)) {
        memcpy(out, slot->id, CID_LEN + 1);
        return CID_LEN;
    }
    return cid_make(slot, key, out);
}
