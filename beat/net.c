/* SPDX-License-Identifier: Apache-2.0
 * beat/net.c - address helpers and Community ID v1 (https://github.com/corelight/community-id-spec),
 * computed as libbeat's flowhash does (seed 0, SHA-1, base64).
 */
#include "beat/net.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

const char *pb_ip_str(const struct pb_ip *ip, char buf[PB_IP_STRLEN])
{
    if (!ip->v6) {
        /* dotted quad by hand: glibc's inet_ntop formats IPv4 with sprintf,
           and every event prints four addresses */
        char *o = buf;
        for (int i = 0; i < 4; i++) {
            unsigned v = ip->b[i];
            if (v >= 100) {
                *o++ = (char)('0' + v / 100);
            }
            if (v >= 10) {
                *o++ = (char)('0' + v / 10 % 10);
            }
            *o++ = (char)('0' + v % 10);
            *o++ = i < 3 ? '.' : '\0';
        }
        return buf;
    }
    if (inet_ntop(AF_INET6, ip->b, buf, PB_IP_STRLEN) == NULL) {
        buf[0] = '\0';
    }
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
    static const uint8_t v4[][2] = {{8, 0},  {0, 8},   {13, 14}, {14, 13}, {15, 16},
                                    {10, 9}, {9, 10},  {17, 18}, {18, 17}};
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

/* SHA-1 (FIPS 180-4) of at most 55 bytes: one padded block. The Community
   ID hashes 13 to 40 bytes per event, and OpenSSL 3's SHA1() spends most
   of its time finding the algorithm, not hashing. */
static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_short(const uint8_t *msg, size_t n, uint8_t md[20])
{
    uint8_t blk[64] = {0};
    memcpy(blk, msg, n);
    blk[n] = 0x80;
    uint64_t bits = (uint64_t)n * 8u;
    for (int i = 0; i < 8; i++) {
        blk[63 - i] = (uint8_t)(bits >> (8 * i));
    }
    uint32_t w[80];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
    }
    for (int i = 16; i < 80; i++) {
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    static const uint32_t h0[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                   0xc3d2e1f0u};
    uint32_t a = h0[0], b = h0[1], c = h0[2], d = h0[3], e = h0[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t tmp = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    uint32_t h[5] = {h0[0] + a, h0[1] + b, h0[2] + c, h0[3] + d, h0[4] + e};
    for (int i = 0; i < 5; i++) {
        md[4 * i] = (uint8_t)(h[i] >> 24);
        md[4 * i + 1] = (uint8_t)(h[i] >> 16);
        md[4 * i + 2] = (uint8_t)(h[i] >> 8);
        md[4 * i + 3] = (uint8_t)h[i];
    }
}

void pb_community_id(const struct pb_tuple *t, char out[64])
{
    size_t alen = t->src.v6 ? 16 : 4;
    const uint8_t *sip = t->src.b, *dip = t->dst.b;
    uint16_t sport = t->sport, dport = t->dport;
    bool one_way = false;

    if (t->proto == PB_IPPROTO_ICMP || t->proto == PB_IPPROTO_ICMPV6) {
        int eq = icmp_equiv(t->proto, (uint8_t)t->sport);
        if (eq >= 0) {
            dport = (uint16_t)eq;
        } else {
            one_way = true; /* type and code as they are */
        }
    }
    int c = memcmp(sip, dip, alen);
    bool sorted = c < 0 || (c == 0 && sport < dport);
    if (!one_way && !sorted) {
        const uint8_t *tip = sip;
        sip = dip;
        dip = tip;
        uint16_t tp = sport;
        sport = dport;
        dport = tp;
    }

    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = 0; /* seed */
    buf[n++] = 0;
    memcpy(buf + n, sip, alen);
    n += alen;
    memcpy(buf + n, dip, alen);
    n += alen;
    buf[n++] = t->proto;
    buf[n++] = 0;
    if (t->proto == PB_IPPROTO_TCP || t->proto == PB_IPPROTO_UDP || t->proto == 132 ||
        t->proto == PB_IPPROTO_ICMP || t->proto == PB_IPPROTO_ICMPV6) {
        buf[n++] = (uint8_t)(sport >> 8);
        buf[n++] = (uint8_t)sport;
        buf[n++] = (uint8_t)(dport >> 8);
        buf[n++] = (uint8_t)dport;
    }
    /* Every event of a connection hashes the same bytes, and a SHA-1
       through OpenSSL 3 costs more than the rest of the event's network
       fields: remember the latest ids of this thread, direct-mapped. */
    enum { CID_SLOTS = 512, CID_LEN = 2 + 28 };
    static _Thread_local struct cid_slot {
        uint8_t n; /* 0: empty */
        uint8_t key[sizeof buf];
        char id[CID_LEN + 1];
    } cache[CID_SLOTS];
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ buf[i]) * 16777619u;
    }
    struct cid_slot *slot = &cache[h % CID_SLOTS];
    if (slot->n == n && memcmp(slot->key, buf, n) == 0) {
        memcpy(out, slot->id, CID_LEN + 1);
        return;
    }
    _Static_assert(sizeof buf <= 55, "one SHA-1 block");
    uint8_t md[SHA_DIGEST_LENGTH];
    sha1_short(buf, n, md);
    memcpy(out, "1:", 2);
    EVP_EncodeBlock((unsigned char *)out + 2, md, SHA_DIGEST_LENGTH);
    slot->n = (uint8_t)n;
    memcpy(slot->key, buf, n);
    memcpy(slot->id, out, CID_LEN + 1);
}
