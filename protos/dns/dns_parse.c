/* SPDX-License-Identifier: Apache-2.0
 * protos/dns/dns_parse.c - DNS message decoder; pure: no I/O.
 *
 * Packetbeat decodes with miekg/dns and renders each record with its own
 * rules; this file reproduces both: which messages are accepted, how names
 * are escaped, how each record type is shown.
 *
 *   header (12 bytes)
 *   +--+--+--+--+--+--+--+--+--+--+--+--+
 *   |  ID  |QR|Opcode|AA|TC|RD|RA|Z|AD|CD|RCODE| QD | AN | NS | AR |
 *   then QDCOUNT questions (name, type, class) and AN/NS/AR records
 *   (name, type, class, ttl, rdlength, rdata).
 *
 * Names may be compressed (RFC 1035 4.1.4): pointers are followed at most
 * 126 times (loop guard) and a name may not exceed 255 wire octets.
 */
#include "dns_parse.h"

#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/net.h"
#include "beat/rd.h"
#include "dns_text.h"

#define MAX_PTRS 126
#define MAX_NAME_WIRE 255

/* ------------------------------------------------------------------ */
/* Code tables (miekg/dns names). */

struct code_name {
    uint16_t code;
    uint8_t len; /* strlen(name) */
    const char *name;
};
#define CN(code, name)                                                                             \
    {                                                                                              \
        (code), sizeof(name) - 1, (name)                                                           \
    }

/* Sorted by code (dns_type_str relies on it). */
static const struct code_name type_names[] = {
    CN(0, "None"),        CN(1, "A"),           CN(2, "NS"),         CN(3, "MD"),
    CN(4, "MF"),          CN(5, "CNAME"),       CN(6, "SOA"),        CN(7, "MB"),
    CN(8, "MG"),          CN(9, "MR"),          CN(10, "NULL"),      CN(12, "PTR"),
    CN(13, "HINFO"),      CN(14, "MINFO"),      CN(15, "MX"),        CN(16, "TXT"),
    CN(17, "RP"),         CN(18, "AFSDB"),      CN(19, "X25"),       CN(20, "ISDN"),
    CN(21, "RT"),         CN(23, "NSAP-PTR"),   CN(24, "SIG"),       CN(25, "KEY"),
    CN(26, "PX"),         CN(27, "GPOS"),       CN(28, "AAAA"),      CN(29, "LOC"),
    CN(30, "NXT"),        CN(31, "EID"),        CN(32, "NIMLOC"),    CN(33, "SRV"),
    CN(34, "ATMA"),       CN(35, "NAPTR"),      CN(36, "KX"),        CN(37, "CERT"),
    CN(39, "DNAME"),      CN(41, "OPT"),        CN(42, "APL"),       CN(43, "DS"),
    CN(44, "SSHFP"),      CN(45, "IPSECKEY"),   CN(46, "RRSIG"),     CN(47, "NSEC"),
    CN(48, "DNSKEY"),     CN(49, "DHCID"),      CN(50, "NSEC3"),     CN(51, "NSEC3PARAM"),
    CN(52, "TLSA"),       CN(53, "SMIMEA"),     CN(55, "HIP"),       CN(56, "NINFO"),
    CN(57, "RKEY"),       CN(58, "TALINK"),     CN(59, "CDS"),       CN(60, "CDNSKEY"),
    CN(61, "OPENPGPKEY"), CN(62, "CSYNC"),      CN(63, "ZONEMD"),    CN(64, "SVCB"),
    CN(65, "HTTPS"),      CN(99, "SPF"),        CN(100, "UINFO"),    CN(101, "UID"),
    CN(102, "GID"),       CN(103, "UNSPEC"),    CN(104, "NID"),      CN(105, "L32"),
    CN(106, "L64"),       CN(107, "LP"),        CN(108, "EUI48"),    CN(109, "EUI64"),
    CN(249, "TKEY"),      CN(250, "TSIG"),      CN(251, "IXFR"),     CN(252, "AXFR"),
    CN(253, "MAILB"),     CN(254, "MAILA"),     CN(255, "ANY"),      CN(256, "URI"),
    CN(257, "CAA"),       CN(258, "AVC"),       CN(260, "AMTRELAY"), CN(32768, "TA"),
    CN(32769, "DLV"),     CN(65535, "Reserved")};

static const struct code_name class_names[] = {
    CN(1, "IN"), CN(2, "CS"), CN(3, "CH"), CN(4, "HS"), CN(254, "NONE"), CN(255, "ANY"),
};

static const struct code_name opcode_names[] = {
    CN(0, "QUERY"), CN(1, "IQUERY"), CN(2, "STATUS"), CN(4, "NOTIFY"), CN(5, "UPDATE"),
};

static const struct code_name rcode_names[] = {
    CN(0, "NOERROR"),  CN(1, "FORMERR"), CN(2, "SERVFAIL"),  CN(3, "NXDOMAIN"),
    CN(4, "NOTIMP"),   CN(5, "REFUSED"), CN(6, "YXDOMAIN"),  CN(7, "YXRRSET"),
    CN(8, "NXRRSET"),  CN(9, "NOTAUTH"), CN(10, "NOTZONE"),  CN(11, "DSOTYPENI"),
    CN(16, "BADSIG"),  CN(17, "BADKEY"), CN(18, "BADTIME"),  CN(19, "BADMODE"),
    CN(20, "BADNAME"), CN(21, "BADALG"), CN(22, "BADTRUNC"), CN(23, "BADCOOKIE"),
};

static const struct code_name alg_names[] = {
    CN(1, "RSAMD5"),
    CN(2, "DH"),
    CN(3, "DSA"),
    CN(5, "RSASHA1"),
    CN(6, "DSA-NSEC3-SHA1"),
    CN(7, "RSASHA1-NSEC3-SHA1"),
    CN(8, "RSASHA256"),
    CN(10, "RSASHA512"),
    CN(12, "ECC-GOST"),
    CN(13, "ECDSAP256SHA256"),
    CN(14, "ECDSAP384SHA384"),
    CN(15, "ED25519"),
    CN(16, "ED448"),
    CN(252, "INDIRECT"),
    CN(253, "PRIVATEDNS"),
    CN(254, "PRIVATEOID"),
};

static const struct code_name hash_names[] = {
    CN(1, "SHA1"), CN(2, "SHA256"), CN(3, "GOST94"), CN(4, "SHA384"), CN(5, "SHA512"),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const struct code_name *t, size_t n, unsigned code)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].code == code) {
            return t[i].name;
        }
    }
    return NULL;
}

/* The decimal text of v in buf, terminated; its length. */
static size_t num_text(unsigned long v, char buf[24])
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < sizeof tmp);
    for (size_t i = 0; i < n; i++) {
        buf[i] = tmp[n - 1 - i];
    }
    buf[n] = '\0';
    return n;
}

static const char *num_str(unsigned long v, char buf[24])
{
    num_text(v, buf);
    return buf;
}

const char *dns_type_strn(uint16_t t, char buf[24], size_t *len)
{
    /* type_names is sorted by distinct codes, so code t sits at an index
       of at most t: a short walk down from there for the usual types */
    size_t i = t < NELEM(type_names) ? t : NELEM(type_names) - 1;
    while (i > 0 && type_names[i].code > t) {
        i--;
    }
    if (type_names[i].code == t) {
        *len = type_names[i].len;
        return type_names[i].name;
    }
    *len = num_text(t, buf);
    return buf;
}

const char *dns_type_str(uint16_t t, char buf[24])
{
    size_t n;
    return dns_type_strn(t, buf, &n);
}

const char *dns_class_strn(uint16_t c, char buf[24], size_t *len)
{
    for (size_t i = 0; i < NELEM(class_names); i++) {
        if (class_names[i].code == c) {
            *len = class_names[i].len;
            return class_names[i].name;
        }
    }
    *len = num_text(c, buf);
    return buf;
}

const char *dns_class_str(uint16_t c, char buf[24])
{
    size_t n;
    return dns_class_strn(c, buf, &n);
}

/* The entry of code in t (n entries), NULL when none. */
static const struct code_name *lookup_cn(const struct code_name *t, size_t n, unsigned code)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].code == code) {
            return &t[i];
        }
    }
    return NULL;
}

const char *dns_opcode_strn(unsigned op, char buf[24], size_t *len)
{
    const struct code_name *e = lookup_cn(opcode_names, NELEM(opcode_names), op);
    if (e != NULL) {
        *len = e->len;
        return e->name;
    }
    *len = num_text(op, buf);
    return buf;
}

const char *dns_opcode_str(unsigned op, char buf[24])
{
    size_t n;
    return dns_opcode_strn(op, buf, &n);
}

const char *dns_rcode_strn(int rc, char buf[24], size_t *len)
{
    const struct code_name *e =
        rc >= 0 ? lookup_cn(rcode_names, NELEM(rcode_names), (unsigned)rc) : NULL;
    if (e != NULL) {
        *len = e->len;
        return e->name;
    }
    char n[24];
    size_t l = num_text((unsigned long)(rc < 0 ? 0 : rc), n);
    memcpy(buf, "Unknown ", 8);
    memcpy(buf + 8, n, l + 1);
    *len = 8 + l;
    return buf;
}

const char *dns_rcode_str(int rc, char buf[24])
{
    size_t n;
    return dns_rcode_strn(rc, buf, &n);
}

static const char *alg_str(uint8_t a, char buf[24])
{
    const char *s = lookup(alg_names, NELEM(alg_names), a);
    return s != NULL ? s : num_str(a, buf);
}

static const char *hash_str(uint8_t h, char buf[24])
{
    const char *s = lookup(hash_names, NELEM(hash_names), h);
    return s != NULL ? s : num_str(h, buf);
}

/* ------------------------------------------------------------------ */
/* The message's memory: blocks from which strings and arrays are carved,
 * freed together by dns_msg_free. The first block is the caller's scratch
 * when there is one, else sized from the message length; later ones double
 * up to BLK_MAX (an item larger than that gets a block of its own). All of
 * them together stay under DNS_MAX_MSG_MEM. */

struct dns_blk {
    struct dns_blk *next;
    size_t size, used; /* bytes of data after the header */
    bool borrowed;     /* the caller's scratch: not freed */
};

#define BLK_HDR ((sizeof(struct dns_blk) + 15u) & ~(size_t)15u)
#define BLK_MIN 512u
#define BLK_MAX (64u * 1024u)

/* A name read from its first byte at `at`: the same read with any limit
 * of at least `need` follows `ptrs` pointers, takes `wire` octets of the
 * name budget and gives the text s (slen bytes; NULL when only checked). */
struct name_memo {
    size_t at, need;
    unsigned ptrs, wire;
    char *s;
    size_t slen;
    bool plain; /* no backslash in the text */
};

#define NAME_MEMO 4u

/* One decoding pass. */
struct pctx {
    struct dns_msg *msg;
    bool dry;         /* dns_msg_check: nothing is rendered or kept */
    bool keep;        /* the texts of the current question or record are kept */
    bool keep_sec[3]; /* the records of each section are kept (up to the cap) */
    size_t next;      /* data bytes of the next block */
    size_t total;     /* data bytes of the blocks so far */
    /* the last names decoded: most records point back at the question */
    struct name_memo memo[NAME_MEMO];
    unsigned nmemo;
};

/* The text of every empty name and value (never written). */
static char empty_text[1];

static void *mem_new_blk(struct pctx *x, size_t n)
{
    size_t size = x->next > n ? x->next : n;
    if (size > DNS_MAX_MSG_MEM - x->total) {
        return NULL;
    }
    struct dns_blk *b = pb_malloc(BLK_HDR + size);
    if (b == NULL) {
        return NULL;
    }
    x->total += size;
    b->size = size;
    b->used = n;
    b->borrowed = false;
    struct dns_blk *head = x->msg->mem;
    if (head != NULL && n >= x->next) {
        /* a block for this item alone: the current one goes on serving */
        b->next = head->next;
        head->next = b;
    } else {
        b->next = head;
        x->msg->mem = b;
        x->next = x->next < BLK_MAX / 2 ? x->next * 2 : BLK_MAX;
    }
    return (char *)b + BLK_HDR;
}

/* n bytes aligned to align (a power of two, at most 16); NULL on failure.
 * Inlined: most calls take the room left in the current block, in a few
 * instructions against a call's; a new block is made out of line. */
static inline __attribute__((always_inline)) void *mem_alloc(struct pctx *x, size_t n, size_t align)
{
    struct dns_blk *b = x->msg->mem;
    if (b != NULL) {
        size_t at = (b->used + (align - 1)) & ~(align - 1);
        if (at <= b->size && n <= b->size - at) {
            b->used = at + n;
            return (char *)b + BLK_HDR + at;
        }
    }
    return mem_new_blk(x, n);
}

/* The free bytes of the current block when there are at least n, for a
 * text written in place and then taken with mem_take; else NULL. */
static char *mem_room(const struct pctx *x, size_t n)
{
    struct dns_blk *b = x->msg->mem;
    return b != NULL && b->size - b->used >= n ? (char *)b + BLK_HDR + b->used : NULL;
}

static void mem_take(struct pctx *x, size_t n)
{
    x->msg->mem->used += n;
}

/* A NUL-terminated copy of s[0..n) in the message's memory. */
static char *mem_strn(struct pctx *x, const char *s, size_t n)
{
    if (n >= DNS_MAX_MSG_MEM) {
        return NULL;
    }
    char *p = mem_alloc(x, n + 1, 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* The first block: room for what a message of len bytes usually renders
 * to (about twice its length: a record of a few wire bytes becomes a
 * 48-byte struct, names are shared). */
static size_t first_blk(size_t len)
{
    if (len >= BLK_MAX / 2) {
        return BLK_MAX;
    }
    size_t n = 256 + len * 2;
    return n < BLK_MIN ? BLK_MIN : n;
}

/* A text for the current record: in buf when kept, else discarding. */
static void text_start(const struct pctx *x, struct dns_text *t, char *buf, size_t cap)
{
    if (x->keep) {
        dns_text_init(t, buf, cap);
    } else {
        dns_text_init_discard(t);
    }
}

/* ------------------------------------------------------------------ */
/* Encoders. None writes anything into a discarding text. */

static void put_hex(struct dns_text *t, const uint8_t *p, size_t n, bool upper)
{
    if (t->discard) {
        return;
    }
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char two[2] = {dig[p[i] >> 4], dig[p[i] & 15]};
        dns_text_putn(t, two, 2);
    }
}

static void put_base64(struct dns_text *t, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (t->discard) {
        return;
    }
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63]};
        dns_text_putn(t, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], '=', '='};
        dns_text_putn(t, q, 4);
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
        char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], '='};
        dns_text_putn(t, q, 4);
    }
}

/* base32 "extended hex" alphabet with padding, as Go's base32.HexEncoding. */
static void put_base32hex(struct dns_text *t, const uint8_t *p, size_t n)
{
    static const char tab[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    if (t->discard) {
        return;
    }
    for (size_t i = 0; i < n; i += 5) {
        uint8_t b[5] = {0, 0, 0, 0, 0};
        size_t k = n - i < 5 ? n - i : 5;
        memcpy(b, p + i, k);
        uint64_t v = ((uint64_t)b[0] << 32) | ((uint64_t)b[1] << 24) | ((uint64_t)b[2] << 16) |
                     ((uint64_t)b[3] << 8) | b[4];
        static const size_t outn[] = {0, 2, 4, 5, 7, 8};
        char q[8];
        for (int j = 0; j < 8; j++) {
            q[j] = (size_t)j < outn[k] ? tab[(v >> (35 - 5 * j)) & 31] : '=';
        }
        dns_text_putn(t, q, 8);
    }
}

/* Two hex digits of each byte value, "000102...ff". */
#define HEX_ROW(h)                                                                                 \
    h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2") HEX_ROW("3") HEX_ROW("4")
    HEX_ROW("5") HEX_ROW("6") HEX_ROW("7") HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b")
        HEX_ROW("c") HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");

/* Go's net.IP.String() for 4 or 16 bytes into buf (IP_TEXT_MAX bytes, not
 * terminated); returns the length. */
#define IP_TEXT_MAX 48
static size_t ip_text(char buf[IP_TEXT_MAX], const uint8_t *p, size_t n)
{
    static const uint8_t v4pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (n == 16 && memcmp(p, v4pfx, 12) == 0) {
        p += 12;
        n = 4;
    }
    if (n == 4) {
        /* the dotted quad by beat's octet table (it terminates the text) */
        _Static_assert(IP_TEXT_MAX >= PB_IP_STRLEN, "room for pb_ip_fmt");
        struct pb_ip ip = {.v6 = 0};
        memcpy(ip.b, p, 4);
        return pb_ip_fmt(&ip, buf);
    }
    /* the first longest run of two zero groups or more becomes "::":
       bit i of zero for a zero group i; after r &= r >> 1 a bit stays
       where a run one longer starts, so the loop counts the longest run's
       length, and the lowest start of a run that long is the first */
    unsigned zero = 0;
    for (unsigned i = 0; i < 8; i++) {
        zero |= (unsigned)((p[2 * i] | p[2 * i + 1]) == 0) << i;
    }
    unsigned e0 = 8, e1 = 8; /* groups [e0, e1), none when e0 is 8 */
    if ((zero & (zero >> 1)) != 0) {
        unsigned longest = 0, starts = zero;
        for (unsigned r = zero; r != 0; r &= r >> 1) {
            longest++;
        }
        for (unsigned i = 1; i < longest; i++) {
            starts &= zero >> i;
        }
        e0 = (unsigned)__builtin_ctz(starts);
        e1 = e0 + longest;
    }
    /* 8 groups of 4 digits and their colons at most */
    size_t k = 0;
    for (unsigned i = 0; i < 8; i++) {
        if (i == e0) {
            buf[k++] = ':';
            buf[k++] = ':';
            i = e1;
            if (i >= 8) {
                break;
            }
        } else if (i > 0) {
            buf[k++] = ':';
        }
        unsigned hi = p[2 * i], lo = p[2 * i + 1];
        /* the nd digits without leading zeros: the group's four digits as
           a word in memory order, its first 4 - nd dropped, stored whole
           (buf has room for the bytes past them), k moves by nd */
        unsigned nd = hi >= 0x10 ? 4 : hi != 0 ? 3 : lo >= 0x10 ? 2 : 1;
        uint16_t dh, dl;
        memcpy(&dh, hex_pairs + 2 * hi, 2);
        memcpy(&dl, hex_pairs + 2 * lo, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        uint32_t w = ((uint32_t)dh << 16 | dl) << (8 * (4 - nd));
#else
        uint32_t w = ((uint32_t)dl << 16 | dh) >> (8 * (4 - nd));
#endif
        memcpy(buf + k, &w, 4);
        k += nd;
    }
    return k;
}

static void put_ip(struct dns_text *t, const uint8_t *p, size_t n)
{
    if (t->discard) {
        return;
    }
    char buf[IP_TEXT_MAX];
    dns_text_putn(t, buf, ip_text(buf, p, n));
}

/* miekg/dns TimeToString: YYYYMMDDHHMMSS in UTC. */
static void put_time(struct dns_text *t, uint32_t v)
{
    if (t->discard) {
        return;
    }
    time_t secs = (time_t)v;
    struct tm tm;
    char buf[32];
    if (gmtime_r(&secs, &tm) == NULL || strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm) == 0) {
        dns_text_puts(t, "19700101000000");
        return;
    }
    dns_text_puts(t, buf);
}

/* Packetbeat's hexStringToString escaping of raw rdata. */
static void put_rfc3597(struct dns_text *t, const uint8_t *p, size_t n)
{
    if (t->discard) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        switch (b) {
        case '"':
        case '\\':
            dns_text_putc(t, '\\');
            dns_text_putc(t, (char)b);
            break;
        case '\t':
            dns_text_puts(t, "\\t");
            break;
        case '\r':
            dns_text_puts(t, "\\r");
            break;
        case '\n':
            dns_text_puts(t, "\\n");
            break;
        default:
            if (b < 32 || b >= 127) {
                dns_text_escbyte(t, b);
            } else {
                dns_text_putc(t, (char)b);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Names. */

/* How a label byte is shown: 0 as it is (printable, not special), 1 after
 * a backslash (space . ' @ ; ( ) " \), 2 as \DDD. */
static const uint8_t label_esc[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x00 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x10 */
    1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, /* 0x30 */
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, /* 0x70 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x80 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x90 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xa0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xb0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xd0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xe0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0xf0 */
};

/* The longest text read_name writes, with room to spare: the labels of a
 * name fill at most 254 wire octets, every byte escaped as 4 characters. */
#define NAME_TEXT_MAX (4u * MAX_NAME_WIRE + 4u)

/* The name read before from `to` that a read may take over at a pointer
 * to `to`, with ptrs pointers followed and budget wire octets left: the
 * rest of the read would look at the same bytes, all below lim, and follow
 * the same path, so it ends the same way. text: its text is needed. */
static const struct name_memo *memo_find(const struct pctx *x, size_t to, size_t lim, unsigned ptrs,
                                         int budget, bool text)
{
    unsigned n = x->nmemo < NAME_MEMO ? x->nmemo : NAME_MEMO;
    for (unsigned i = 0; i < n; i++) {
        const struct name_memo *e = &x->memo[i];
        if (e->at == to && e->need <= lim && e->ptrs <= MAX_PTRS - ptrs &&
            e->wire < (unsigned)budget && (e->s != NULL || !text)) {
            return e;
        }
    }
    return NULL;
}

/* Reads the name at *off within m[0..lim). With out (NAME_TEXT_MAX bytes),
 * text mode writes the escaped presentation form without the trailing dot
 * (root: ""), wire mode the uncompressed labels with the final zero; *outlen
 * gets the length (not terminated). Without out the name is only checked.
 * *off moves past the name as it sits on the wire. With x (text mode), a
 * pointer to a name in x's memo takes its text, and res describes the read
 * for the memo (res->s: the memo's text when it is the whole name, else
 * NULL; res->plain: no backslash in the text). 0 or -PB_EPROTO. Inlined
 * into its three callers (text, check, wire), each loop is the mode's
 * own: the question names of a DNS-heavy capture are read here. */
static inline __attribute__((always_inline)) int read_name(const struct pctx *x, const uint8_t *m,
                                                           size_t lim, size_t *off, char *out,
                                                           size_t *outlen, bool wire,
                                                           struct name_memo *res)
{
    size_t pos = *off, after = 0, need = 0;
    unsigned ptrs = 0;
    int budget = MAX_NAME_WIRE;
    char *o = out;
    const char *end = out != NULL ? out + NAME_TEXT_MAX : NULL;
    char *whole = NULL;
    bool esc = false;
    for (;;) {
        if (pos >= lim) {
            return -PB_EPROTO;
        }
        uint8_t c = m[pos++];
        need = pos > need ? pos : need;
        if (c < 0x40) {
            if (c == 0) {
                break;
            }
            if ((size_t)c > lim - pos) {
                return -PB_EPROTO;
            }
            need = pos + c > need ? pos + c : need;
            budget -= c + 1;
            if (budget <= 0) {
                return -PB_EPROTO;
            }
            if (o != NULL) {
                /* the budget keeps the text inside out: never taken */
                if ((size_t)(end - o) < 4u * c + 2u) {
                    return -PB_EPROTO;
                }
                const uint8_t *lab = m + pos;
                if (wire) {
                    *o++ = (char)c;
                    memcpy(o, lab, c);
                    o += c;
                } else {
                    if (o != out) {
                        *o++ = '.'; /* every label writes something */
                    }
                    /* copied as it is, the bytes' escapes gathered on the
                       way: the usual label has none, else it is written
                       again with them */
                    unsigned any = 0;
                    for (size_t i = 0; i < c; i++) {
                        o[i] = (char)lab[i];
                        any |= label_esc[lab[i]];
                    }
                    if (any == 0) {
                        o += c;
                        pos += c;
                        continue;
                    }
                    for (size_t i = 0; i < c; i++) {
                        uint8_t b = lab[i];
                        uint8_t e = label_esc[b];
                        if (e == 0) {
                            *o++ = (char)b;
                        } else if (e == 1) {
                            o[0] = '\\';
                            o[1] = (char)b;
                            o += 2;
                            esc = true;
                        } else {
                            esc = true;
                            o[0] = '\\';
                            o[1] = (char)('0' + b / 100);
                            o[2] = (char)('0' + (b / 10) % 10);
                            o[3] = (char)('0' + b % 10);
                            o += 4;
                        }
                    }
                }
            }
            pos += c;
        } else if (c >= 0xc0) {
            if (pos >= lim) {
                return -PB_EPROTO;
            }
            uint8_t c1 = m[pos++];
            need = pos > need ? pos : need;
            if (ptrs == 0) {
                after = pos;
            }
            if (++ptrs > MAX_PTRS) {
                return -PB_EPROTO;
            }
            pos = ((size_t)(c & 0x3f) << 8) | c1;
            const struct name_memo *e =
                x != NULL ? memo_find(x, pos, lim, ptrs, budget, o != NULL) : NULL;
            if (e != NULL) {
                need = e->need > need ? e->need : need;
                ptrs += e->ptrs;
                budget -= (int)e->wire;
                if (o == out) {
                    whole = e->s;
                }
                esc |= !e->plain;
                if (o != NULL && e->slen > 0) {
                    /* the whole name's text fits, as above: never taken */
                    if ((size_t)(end - o) < e->slen + 1) {
                        return -PB_EPROTO;
                    }
                    if (o != out) {
                        *o++ = '.';
                    }
                    memcpy(o, e->s, e->slen);
                    o += e->slen;
                }
                break;
            }
        } else {
            return -PB_EPROTO; /* 0x40 and 0x80 label types are reserved */
        }
    }
    if (ptrs == 0) {
        after = pos;
    }
    if (o != NULL) {
        if (wire) {
            *o++ = '\0';
        }
        *outlen = (size_t)(o - out);
    }
    if (res != NULL) {
        res->at = *off;
        res->need = need;
        res->ptrs = ptrs;
        res->wire = (unsigned)(MAX_NAME_WIRE - budget);
        res->s = whole;
        res->slen = o != NULL ? (size_t)(o - out) : 0;
        res->plain = o != NULL && !esc;
    }
    *off = after;
    return 0;
}

/* "" (shared, outside the message's memory). */
static char *empty_str(struct pctx *x)
{
    (void)x;
    return empty_text;
}

/* A name's text in the message's memory: s (len bytes), plain when it
 * has no backslash (needs no JSON escaping). */
struct ntext {
    char *s;
    uint32_t len;
    bool plain;
};

/* name_str's read (no short cut taken). */
static int name_read(struct pctx *x, const uint8_t *m, size_t lim, size_t *off, struct ntext *out)
{
    struct name_memo r;
    int rc;
    if (!x->keep) {
        rc = read_name(x, m, lim, off, NULL, NULL, false, &r);
        r.s = NULL;
    } else {
        /* read into the message's memory when its block has room, else
           into buf and copied */
        char buf[NAME_TEXT_MAX];
        char *dst = mem_room(x, NAME_TEXT_MAX + 1);
        size_t n = 0;
        rc = read_name(x, m, lim, off, dst != NULL ? dst : buf, &n, false, &r);
        if (rc == 0 && r.s == NULL && dst != NULL) {
            /* not a name read before as it is: kept where it was read */
            dst[n] = '\0';
            mem_take(x, n + 1);
            r.s = dst;
        } else if (rc == 0 && r.s == NULL) {
            r.s = mem_strn(x, buf, n);
            rc = r.s == NULL ? -PB_ENOMEM : 0;
        }
        if (rc == 0) {
            out->s = r.s;
            out->len = (uint32_t)r.slen;
            out->plain = r.plain;
        }
    }
    if (rc == 0) {
        x->memo[x->nmemo++ % NAME_MEMO] = r;
    }
    return rc;
}

/* The name at *off as text in the message's memory (when kept; out is
 * left alone when not). Inlined: the usual names are its two short cuts
 * of read_name, the root and a pointer to a whole name read before (a
 * record's owner pointing at the question). */
static inline int name_str(struct pctx *x, const uint8_t *m, size_t lim, size_t *off,
                           struct ntext *out)
{
    size_t at = *off;
    if (at < lim && m[at] == 0) {
        *off = at + 1;
        if (x->keep) {
            out->s = empty_str(x);
            out->len = 0;
            out->plain = true;
        }
        return 0;
    }
    if (at + 1 < lim && m[at] >= 0xc0) {
        size_t to = ((size_t)(m[at] & 0x3f) << 8) | m[at + 1];
        const struct name_memo *e = memo_find(x, to, lim, 1, MAX_NAME_WIRE, x->keep);
        if (e != NULL) {
            *off = at + 2;
            if (x->keep) {
                out->s = e->s;
                out->len = (uint32_t)e->slen;
                out->plain = e->plain;
            }
            return 0;
        }
    }
    return name_read(x, m, lim, off, out);
}

/* ------------------------------------------------------------------ */
/* Record data. */

/* A cursor over one record's data: m[0..end) is the message cut at the end
 * of the record, as miekg/dns does before unpacking it. */
struct cur {
    const uint8_t *m;
    size_t end;
    size_t off;
};

static bool cur_at_end(const struct cur *c)
{
    return c->off == c->end;
}

static int cur_u8(struct cur *c, uint8_t *v)
{
    struct pb_rd r = pb_rd_make(c->m + c->off, c->end - c->off);
    *v = pb_rd_u8(&r);
    if (!pb_rd_ok(&r)) {
        return -PB_EPROTO;
    }
    c->off += 1;
    return 0;
}

static int cur_u16(struct cur *c, uint16_t *v)
{
    struct pb_rd r = pb_rd_make(c->m + c->off, c->end - c->off);
    *v = pb_rd_be16(&r);
    if (!pb_rd_ok(&r)) {
        return -PB_EPROTO;
    }
    c->off += 2;
    return 0;
}

static int cur_u32(struct cur *c, uint32_t *v)
{
    struct pb_rd r = pb_rd_make(c->m + c->off, c->end - c->off);
    *v = pb_rd_be32(&r);
    if (!pb_rd_ok(&r)) {
        return -PB_EPROTO;
    }
    c->off += 4;
    return 0;
}

static struct pb_slice cur_bytes(struct cur *c, size_t n, int *rc)
{
    struct pb_rd r = pb_rd_make(c->m + c->off, c->end - c->off);
    struct pb_slice s = pb_rd_slice(&r, n);
    if (!pb_rd_ok(&r)) {
        *rc = -PB_EPROTO;
        s.ptr = NULL;
        s.len = 0;
        return s;
    }
    if (s.ptr == NULL) {
        s.ptr = c->m + c->off; /* n == 0 */
    }
    c->off += n;
    return s;
}

static struct pb_slice cur_rest(struct cur *c)
{
    int rc = 0;
    return cur_bytes(c, c->end - c->off, &rc);
}

/* Extra fields. rr->kv has room for DNS_MAX_KV while the record is
 * rendered; nothing is added to a record that is not kept. */
static void kv_add(struct dns_rr *rr, const char *key, char *s, uint64_t num)
{
    if (rr->nkv < DNS_MAX_KV) {
        rr->kv[rr->nkv].key = key;
        rr->kv[rr->nkv].str = s;
        rr->kv[rr->nkv].num = num;
        rr->nkv++;
    }
}

static int kv_strn(struct pctx *x, struct dns_rr *rr, const char *key, const char *s, size_t n)
{
    if (!x->keep) {
        return 0;
    }
    char *c = mem_strn(x, s, n);
    if (c == NULL) {
        return -PB_ENOMEM;
    }
    kv_add(rr, key, c, 0);
    return 0;
}

static int kv_s(struct pctx *x, struct dns_rr *rr, const char *key, const char *v)
{
    return kv_strn(x, rr, key, v, strlen(v));
}

/* A string already in the message's memory (NULL: ""). */
static int kv_ref(struct pctx *x, struct dns_rr *rr, const char *key, char *s)
{
    if (!x->keep) {
        return 0;
    }
    if (s == NULL && (s = empty_str(x)) == NULL) {
        return -PB_ENOMEM;
    }
    kv_add(rr, key, s, 0);
    return 0;
}

static int kv_u(struct pctx *x, struct dns_rr *rr, const char *key, uint64_t v)
{
    char buf[24];
    char *p = buf + sizeof buf;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return kv_strn(x, rr, key, p, (size_t)(buf + sizeof buf - p));
}

/* The text of t as a field; t is reset. */
static int kv_take(struct pctx *x, struct dns_rr *rr, const char *key, struct dns_text *t)
{
    int rc = 0;
    if (x->keep) {
        rc = t->bad ? -PB_ENOMEM : kv_strn(x, rr, key, t->p != NULL ? t->p : "", t->len);
    }
    dns_text_reset(t);
    return rc;
}

static void kv_num(struct pctx *x, struct dns_rr *rr, const char *key, uint64_t v)
{
    if (x->keep) {
        kv_add(rr, key, NULL, v);
    }
}

/* The text of t as the record's data; t is reset. */
static int set_data(struct pctx *x, struct dns_rr *rr, struct dns_text *t)
{
    int rc = 0;
    if (x->keep) {
        rr->data = t->bad ? NULL : mem_strn(x, t->p != NULL ? t->p : "", t->len);
        rr->data_len = (uint32_t)t->len; /* under DNS_MAX_TEXT */
        rc = rr->data == NULL ? -PB_ENOMEM : 0;
    }
    dns_text_reset(t);
    return rc;
}

/* The record's data: "" (shared). */
static int set_data_empty(struct pctx *x, struct dns_rr *rr)
{
    if (!x->keep) {
        return 0;
    }
    rr->data = empty_str(x);
    rr->data_len = 0;
    rr->data_plain = true;
    return 0;
}

/* A name as the record's data (when kept). */
static void set_data_name(struct pctx *x, struct dns_rr *rr, const struct ntext *n)
{
    if (x->keep) {
        rr->data = n->s;
        rr->data_len = n->len;
        rr->data_plain = n->plain;
    }
}

/* A name field: absent (cursor at end) renders as "". */
static int opt_name(struct pctx *x, struct cur *c, struct ntext *out)
{
    if (cur_at_end(c)) {
        if (x->keep) {
            out->s = empty_str(x);
            out->len = 0;
            out->plain = true;
        }
        return 0;
    }
    return name_str(x, c->m, c->end, &c->off, out);
}

/* NSEC/NSEC3 type bitmap (RFC 4034 4.1.2) rendered as type names. */
static int type_bitmap(struct cur *c, struct dns_text *t)
{
    int last = -1;
    bool first = true;
    while (c->off < c->end) {
        uint8_t win, len;
        if (c->end - c->off < 2) {
            return -PB_EPROTO;
        }
        cur_u8(c, &win);
        cur_u8(c, &len);
        if ((int)win <= last || len == 0 || len > 32) {
            return -PB_EPROTO;
        }
        int rc = 0;
        struct pb_slice bits = cur_bytes(c, len, &rc);
        if (rc < 0) {
            return rc;
        }
        for (size_t j = 0; j < bits.len && !t->discard; j++) {
            for (int b = 0; b < 8; b++) {
                if (bits.ptr[j] & (0x80 >> b)) {
                    char buf[24];
                    if (!first) {
                        dns_text_putc(t, ' ');
                    }
                    dns_text_puts(t, dns_type_str((uint16_t)(win * 256 + j * 8 + (size_t)b), buf));
                    first = false;
                }
            }
        }
        last = win;
    }
    return 0;
}

/* TXT character-strings, escaped as miekg/dns does, joined with " ". */
static int txt_strings(struct cur *c, struct dns_text *t)
{
    bool first = true;
    while (c->off < c->end) {
        uint8_t l;
        int rc = cur_u8(c, &l);
        if (rc < 0) {
            return rc;
        }
        struct pb_slice s = cur_bytes(c, l, &rc);
        if (rc < 0) {
            return rc;
        }
        if (t->discard) {
            continue;
        }
        if (!first) {
            dns_text_putc(t, ' ');
        }
        first = false;
        for (size_t i = 0; i < s.len; i++) {
            uint8_t b = s.ptr[i];
            if (b == '"' || b == '\\') {
                dns_text_putc(t, '\\');
                dns_text_putc(t, (char)b);
            } else if (b < ' ' || b > '~') {
                dns_text_escbyte(t, b);
            } else {
                dns_text_putc(t, (char)b);
            }
        }
    }
    return 0;
}
/* Layouts of known types whose data may hold compressed names, for the
 * generic (RFC 3597) rendering: '1','2','4' fixed bytes, 'S' a
 * character-string, 'N' a name, '*' the rest. */
static const char *raw_layout(uint16_t type)
{
    switch (type) {
    case 3:  /* MD */
    case 4:  /* MF */
    case 7:  /* MB */
    case 8:  /* MG */
    case 9:  /* MR */
    case 23: /* NSAP-PTR */
    case 39: /* DNAME */
        return "N";
    case 14: /* MINFO */
    case 17: /* RP */
    case 58: /* TALINK */
        return "NN";
    case 18:  /* AFSDB */
    case 21:  /* RT */
    case 36:  /* KX */
    case 107: /* LP */
        return "2N";
    case 26: /* PX */
        return "2NN";
    case 35: /* NAPTR */
        return "22SSSN";
    case 64: /* SVCB */
    case 65: /* HTTPS */
        return "2N*";
    case 24: /* SIG */
        return "2114442N*";
    case 30:  /* NXT */
    case 249: /* TKEY */
    case 250: /* TSIG */
        return "N*";
    default:
        return "*";
    }
}

/* The record data with names decompressed, escaped. */
static int render_raw(const struct pctx *x, struct cur *c, uint16_t type, struct dns_text *out)
{
    char wb[256];
    struct dns_text w;
    text_start(x, &w, wb, sizeof wb);
    int rc = 0;
    for (const char *f = raw_layout(type); *f != '\0' && rc == 0; f++) {
        if (cur_at_end(c)) {
            break;
        }
        struct pb_slice s = {NULL, 0};
        switch (*f) {
        case '1':
        case '2':
        case '4':
            s = cur_bytes(c, (size_t)(*f - '0'), &rc);
            dns_text_putn(&w, s.ptr, s.len);
            break;
        case 'S': {
            uint8_t l;
            rc = cur_u8(c, &l);
            if (rc == 0) {
                s = cur_bytes(c, l, &rc);
                dns_text_putc(&w, (char)l);
                dns_text_putn(&w, s.ptr, s.len);
            }
            break;
        }
        case 'N': {
            char nb[NAME_TEXT_MAX];
            size_t nl = 0;
            rc = read_name(NULL, c->m, c->end, &c->off, w.discard ? NULL : nb, &nl, true, NULL);
            dns_text_putn(&w, nb, nl);
            break;
        }
        default:
            s = cur_rest(c);
            dns_text_putn(&w, s.ptr, s.len);
            break;
        }
    }
    if (rc == 0 && w.bad) {
        rc = -PB_ENOMEM;
    }
    if (rc == 0) {
        put_rfc3597(out, (const uint8_t *)w.p, w.len);
        c->off = c->end;
    }
    dns_text_reset(&w);
    return rc;
}

/* EDNS0 options (RFC 6891 6.1.2) into opt (texts kept when keep); errors
 * as miekg/dns reports them. */
static int parse_edns_options(struct pctx *x, struct cur *c, struct dns_opt *opt, bool keep)
{
    while (c->off < c->end) {
        uint16_t code, len;
        if (c->end - c->off < 4) {
            return -PB_EPROTO;
        }
        cur_u16(c, &code);
        cur_u16(c, &len);
        int rc = 0;
        struct pb_slice v = cur_bytes(c, len, &rc);
        if (rc < 0) {
            return rc;
        }
        char tb[128];
        struct dns_text t;
        if (keep) {
            dns_text_init(&t, tb, sizeof tb);
        } else {
            dns_text_init_discard(&t);
        }
        char **slot = NULL;
        char buf[24];
        switch (code) {
        case 1: /* LLQ */
            if (v.len < 18) {
                rc = -PB_EPROTO;
            } else {
                struct pb_rd r = pb_rd_make(v.ptr, v.len);
                uint16_t ver = pb_rd_be16(&r), op = pb_rd_be16(&r), err = pb_rd_be16(&r);
                uint64_t id = pb_rd_be64(&r);
                uint32_t lease = pb_rd_be32(&r);
                dns_text_putu(&t, ver);
                dns_text_putc(&t, ' ');
                dns_text_putu(&t, op);
                dns_text_putc(&t, ' ');
                dns_text_putu(&t, err);
                dns_text_putc(&t, ' ');
                dns_text_putu(&t, id);
                dns_text_putc(&t, ' ');
                dns_text_putu(&t, lease);
                slot = &opt->llq;
            }
            break;
        case 2: /* UL */
            if (v.len != 4 && v.len != 8) {
                rc = -PB_EPROTO;
            } else {
                struct pb_rd r = pb_rd_make(v.ptr, v.len);
                uint32_t lease = pb_rd_be32(&r);
                uint32_t key = v.len == 8 ? pb_rd_be32(&r) : 0;
                dns_text_putu(&t, lease);
                dns_text_putc(&t, ' ');
                dns_text_putu(&t, key);
                slot = &opt->ul;
            }
            break;
        case 3: /* NSID */
            put_hex(&t, v.ptr, v.len, false);
            slot = &opt->nsid;
            break;
        case 5: /* DAU */
        case 6: /* DHU */
        case 7: /* N3U */
            for (size_t i = 0; i < v.len && keep; i++) {
                dns_text_putc(&t, ' ');
                dns_text_puts(&t, code == 5 ? alg_str(v.ptr[i], buf) : hash_str(v.ptr[i], buf));
            }
            slot = code == 5 ? &opt->dau : code == 6 ? &opt->dhu : &opt->n3u;
            break;
        case 8: { /* client subnet */
            if (v.len < 4) {
                rc = -PB_EPROTO;
                break;
            }
            struct pb_rd r = pb_rd_make(v.ptr, v.len);
            uint16_t family = pb_rd_be16(&r);
            uint8_t mask = pb_rd_u8(&r), scope = pb_rd_u8(&r);
            uint8_t addr[16] = {0};
            size_t alen = v.len - 4;
            if (family == 0) {
                if (mask != 0) {
                    rc = -PB_EPROTO;
                    break;
                }
                put_ip(&t, addr, 4);
            } else if (family == 1) {
                if (mask > 32 || scope > 32) {
                    rc = -PB_EPROTO;
                    break;
                }
                memcpy(addr, v.ptr + 4, alen < 4 ? alen : 4);
                put_ip(&t, addr, 4);
            } else if (family == 2) {
                if (mask > 128 || scope > 128) {
                    rc = -PB_EPROTO;
                    break;
                }
                memcpy(addr, v.ptr + 4, alen < 16 ? alen : 16);
                static const uint8_t v4pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
                bool mapped = memcmp(addr, v4pfx, 12) == 0;
                if (!mapped) {
                    dns_text_putc(&t, '[');
                }
                put_ip(&t, addr, 16);
                if (!mapped) {
                    dns_text_putc(&t, ']');
                }
            } else {
                rc = -PB_EPROTO;
                break;
            }
            dns_text_putc(&t, '/');
            dns_text_putu(&t, mask);
            dns_text_putc(&t, '/');
            dns_text_putu(&t, scope);
            slot = &opt->subnet;
            break;
        }
        case 9: /* EXPIRE: Packetbeat files it under "local" */
            if (v.len == 4) {
                struct pb_rd r = pb_rd_make(v.ptr, v.len);
                dns_text_putu(&t, pb_rd_be32(&r));
            } else if (v.len != 0) {
                rc = -PB_EPROTO;
                break;
            }
            slot = &opt->local;
            break;
        case 4:  /* ESU */
        case 10: /* COOKIE */
        case 12: /* PADDING */
            break;
        case 11: /* TCP keepalive */
            if (v.len != 0 && v.len != 2) {
                rc = -PB_EPROTO;
            }
            break;
        case 15: /* extended error */
            if (v.len < 2) {
                rc = -PB_EPROTO;
            }
            break;
        default: /* local / unknown */
            dns_text_putu(&t, code);
            dns_text_puts(&t, ":0x");
            put_hex(&t, v.ptr, v.len, false);
            slot = &opt->local;
            break;
        }
        if (rc == 0 && slot != NULL && keep) {
            char *s = t.bad ? NULL : mem_strn(x, t.p, t.len);
            if (s == NULL) {
                rc = -PB_ENOMEM;
            }
            *slot = s;
        }
        dns_text_reset(&t);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Renders the data of one record; c covers exactly the record data.
 * empty: the record carries no data (rdlength 0 or class ANY) and renders
 * zero values, as miekg/dns leaves the fields unset. OPT options go to opt
 * (their texts kept when keep_opt). */
static int render_rdata(struct pctx *x, struct cur *c, struct dns_rr *rr, bool empty,
                        struct dns_opt *opt, bool keep_opt)
{
    char tb[256];
    struct dns_text t;
    text_start(x, &t, tb, sizeof tb);
    char buf[24];
    int rc = 0;
    uint8_t u8a = 0, u8b = 0, u8c = 0;
    uint16_t u16a = 0, u16b = 0, u16c = 0;
    uint32_t u32[5] = {0, 0, 0, 0, 0};
    struct ntext name = {NULL, 0, false};
    struct pb_slice s = {NULL, 0};

    switch (rr->type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA: {
        size_t n = rr->type == DNS_TYPE_A ? 4 : 16;
        if (empty) {
            return 0; /* nothing to show: the record is left out of the lists */
        }
        s = cur_bytes(c, n, &rc);
        if (rc < 0) {
            return rc;
        }
        rr->is_ip = true;
        if (x->keep) {
            /* written in the message's memory when its block has room
               (ip_text writes up to IP_TEXT_MAX bytes), else copied */
            char ip[IP_TEXT_MAX];
            char *dst = mem_room(x, IP_TEXT_MAX + 1);
            size_t il = ip_text(dst != NULL ? dst : ip, s.ptr, n);
            if (dst != NULL) {
                dst[il] = '\0';
                mem_take(x, il + 1);
                rr->data = dst;
            } else {
                rr->data = mem_strn(x, ip, il);
            }
            rr->data_len = (uint32_t)il;
            rr->data_plain = true;
            rc = rr->data == NULL ? -PB_ENOMEM : 0;
        }
        return rc;
    }
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        if (empty) {
            return set_data_empty(x, rr);
        }
        rc = name_str(x, c->m, c->end, &c->off, &name);
        set_data_name(x, rr, &name);
        return rc;
    case DNS_TYPE_MX:
        if (!empty && (rc = cur_u16(c, &u16a)) == 0) {
            rc = opt_name(x, c, &name);
            set_data_name(x, rr, &name);
        }
        if (rc == 0 && empty) {
            rc = set_data_empty(x, rr);
        }
        kv_num(x, rr, "preference", u16a);
        return rc;
    case DNS_TYPE_SOA: {
        struct ntext mbox = {NULL, 0, false};
        if (empty) {
            rc = set_data_empty(x, rr);
        } else {
            rc = name_str(x, c->m, c->end, &c->off, &name);
            set_data_name(x, rr, &name);
            if (rc == 0) {
                rc = opt_name(x, c, &mbox);
            }
            for (int i = 0; i < 5 && rc == 0 && !cur_at_end(c); i++) {
                rc = cur_u32(c, &u32[i]);
            }
        }
        if (rc == 0) {
            rc = kv_ref(x, rr, "rname", mbox.s);
        }
        kv_num(x, rr, "serial", u32[0]);
        kv_num(x, rr, "refresh", u32[1]);
        kv_num(x, rr, "retry", u32[2]);
        kv_num(x, rr, "expire", u32[3]);
        kv_num(x, rr, "minimum", u32[4]);
        return rc;
    }
    case DNS_TYPE_SRV:
        if (!empty) {
            rc = cur_u16(c, &u16a);
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u16(c, &u16b);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u16(c, &u16c);
            }
            if (rc == 0) {
                rc = opt_name(x, c, &name);
                set_data_name(x, rr, &name);
            }
        } else {
            rc = set_data_empty(x, rr);
        }
        kv_num(x, rr, "priority", u16a);
        kv_num(x, rr, "weight", u16b);
        kv_num(x, rr, "port", u16c);
        return rc;
    case DNS_TYPE_TXT:
        if (!empty) {
            rc = txt_strings(c, &t);
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(x, rr, &t);
    case DNS_TYPE_DS:
        if (!empty) {
            rc = cur_u16(c, &u16a);
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8a);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8b);
            }
            if (rc == 0 && !cur_at_end(c)) {
                s = cur_rest(c);
                put_hex(&t, s.ptr, s.len, true);
            }
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "key_tag", u16a);
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "algorithm", alg_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "digest_type", hash_str(u8b, buf));
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(x, rr, &t);
    case DNS_TYPE_DNSKEY:
        if (!empty) {
            rc = cur_u16(c, &u16a);
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8a);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8b);
            }
            if (rc == 0 && !cur_at_end(c)) {
                s = cur_rest(c);
                put_base64(&t, s.ptr, s.len);
            }
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "flags", u16a);
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "protocol", u8a);
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "algorithm", alg_str(u8b, buf));
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(x, rr, &t);
    case DNS_TYPE_RRSIG:
        /* type covered, algorithm, labels, original ttl, expiration,
         * inception, key tag, signer name, signature */
        if (!empty) {
            rc = cur_u16(c, &u16a);
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8a);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8b);
            }
            for (int i = 0; i < 3 && rc == 0 && !cur_at_end(c); i++) {
                rc = cur_u32(c, &u32[i]);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u16(c, &u16b);
            }
            if (rc == 0) {
                rc = opt_name(x, c, &name);
            }
            if (rc == 0 && !cur_at_end(c)) {
                s = cur_rest(c);
                put_base64(&t, s.ptr, s.len);
            }
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "type_covered", dns_type_str(u16a, buf));
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "algorithm", alg_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "labels", u8b);
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "original_ttl", u32[0]);
        }
        for (int i = 1; i <= 2 && rc == 0; i++) {
            char ttb[32];
            struct dns_text tt;
            text_start(x, &tt, ttb, sizeof ttb);
            put_time(&tt, u32[i]);
            rc = kv_take(x, rr, i == 1 ? "expiration" : "inception", &tt);
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "key_tag", u16b);
        }
        if (rc == 0) {
            rc = kv_ref(x, rr, "signer_name", name.s);
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(x, rr, &t);
    case DNS_TYPE_NSEC:
        if (!empty) {
            rc = name_str(x, c->m, c->end, &c->off, &name);
            set_data_name(x, rr, &name);
            if (rc == 0) {
                rc = type_bitmap(c, &t);
            }
        } else {
            rc = set_data_empty(x, rr);
        }
        if (rc == 0) {
            rc = kv_take(x, rr, "type_bits", &t);
        }
        dns_text_reset(&t);
        return rc;
    case DNS_TYPE_NSEC3:
    case DNS_TYPE_NSEC3PARAM: {
        char sb[128], nb[128];
        struct dns_text salt, next;
        text_start(x, &salt, sb, sizeof sb);
        text_start(x, &next, nb, sizeof nb);
        bool n3 = rr->type == DNS_TYPE_NSEC3;
        if (!empty) {
            rc = cur_u8(c, &u8a);
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8b);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u16(c, &u16a);
            }
            if (rc == 0 && !cur_at_end(c)) {
                rc = cur_u8(c, &u8c); /* salt length */
            }
            if (rc == 0 && !cur_at_end(c)) {
                s = cur_bytes(c, u8c, &rc);
                put_hex(&salt, s.ptr, s.len, true);
            }
            if (n3) {
                uint8_t hl = 0;
                if (rc == 0 && !cur_at_end(c)) {
                    rc = cur_u8(c, &hl);
                }
                if (rc == 0 && !cur_at_end(c)) {
                    s = cur_bytes(c, hl, &rc);
                    put_base32hex(&next, s.ptr, s.len);
                }
                if (rc == 0 && !cur_at_end(c)) {
                    rc = type_bitmap(c, &t);
                }
            }
        }
        if (salt.len == 0 && !salt.bad) {
            dns_text_putc(&salt, '-');
        }
        if (rc == 0) {
            rc = kv_s(x, rr, "hash", hash_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "flags", u8b);
        }
        if (rc == 0) {
            rc = kv_u(x, rr, "iterations", u16a);
        }
        if (rc == 0 && n3) {
            rc = kv_take(x, rr, "salt", &salt);
        }
        if (rc == 0 && n3) {
            rc = kv_take(x, rr, "type_bits", &t);
        }
        if (rc == 0) {
            rc = n3 ? set_data(x, rr, &next) : set_data(x, rr, &salt);
        }
        dns_text_reset(&salt);
        dns_text_reset(&next);
        dns_text_reset(&t);
        return rc;
    }
    case DNS_TYPE_OPT:
        rr->is_opt = true;
        if (!empty) {
            rc = parse_edns_options(x, c, opt, keep_opt);
        }
        return rc;
    default:
        if (!empty) {
            rc = render_raw(x, c, rr->type, &t);
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(x, rr, &t);
    }
}

/* One resource record at *off (texts kept when x->keep). *stop when the
 * message ended where a record was expected (the count was larger than
 * the data, which miekg/dns tolerates). */
static int parse_rr(struct pctx *x, const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr,
                    struct dns_opt *opt, bool keep_opt, bool *stop)
{
    memset(rr, 0, sizeof *rr);
    *stop = false;
    if (*off == len) {
        *stop = true;
        return 0;
    }
    struct ntext nt = {NULL, 0, false};
    int rc = name_str(x, m, len, off, &nt);
    if (rc < 0) {
        return rc;
    }
    rr->name = nt.s;
    rr->name_len = nt.len;
    rr->name_plain = nt.plain;
    struct pb_rd r = pb_rd_make(m + *off, len - *off);
    rr->type = pb_rd_be16(&r);
    rr->klass = pb_rd_be16(&r);
    rr->ttl = pb_rd_be32(&r);
    uint16_t rdlen = pb_rd_be16(&r);
    if (!pb_rd_ok(&r)) {
        return -PB_EPROTO;
    }
    *off += 10;
    if ((size_t)rdlen > len - *off) {
        return -PB_EPROTO;
    }
    struct cur c = {m, *off + rdlen, *off};
    bool empty = rr->klass == 255 || rdlen == 0;
    struct dns_kv kv[DNS_MAX_KV];
    rr->kv = kv;
    rc = render_rdata(x, &c, rr, empty, opt, keep_opt);
    rr->kv = NULL;
    if (rc < 0) {
        return rc;
    }
    if (!empty && c.off != c.end) {
        return -PB_EPROTO; /* bad rdlength */
    }
    if (rr->nkv > 0) {
        rr->kv = mem_alloc(x, rr->nkv * sizeof kv[0], _Alignof(struct dns_kv));
        if (rr->kv == NULL) {
            return -PB_ENOMEM;
        }
        memcpy(rr->kv, kv, rr->nkv * sizeof kv[0]);
    }
    *off += rdlen;
    return 0;
}

/* The bytes of the name at m[at..lim) when it is labels without a pointer
 * (with the final zero), else 0. */
static size_t plain_wire(const uint8_t *m, size_t at, size_t lim)
{
    size_t p = at;
    while (p < lim && m[p] != 0) {
        if (m[p] >= 0x40) {
            return 0;
        }
        p += (size_t)m[p] + 1;
    }
    return p < lim ? p + 1 - at : 0;
}

/* The first question's name (at *off, the header's end) when the twin
 * message spells it with the same bytes, labels without a pointer: the
 * same read would give the same text, so the twin's is taken (and noted
 * for pointers to it as name_str notes a name it read). */
static bool twin_name(struct pctx *x, const uint8_t *m, size_t lim, size_t *off,
                      const struct dns_twin *tw, struct ntext *out)
{
    size_t at = *off;
    if (!x->keep || at != DNS_HDR_LEN || at >= lim || tw->msg->nq == 0 || tw->len <= at) {
        return false;
    }
    size_t n = plain_wire(tw->raw, at, tw->len);
    if (n <= 1 || n > lim - at || memcmp(m + at, tw->raw + at, n) != 0) {
        return false; /* (the root: name_str has it at once) */
    }
    const struct dns_question *tq = &tw->msg->q[0];
    out->s = tq->name;
    out->len = tq->name_len;
    out->plain = tq->name_plain;
    struct name_memo r = {.at = at,
                          .need = at + n,
                          .ptrs = 0,
                          .wire = (unsigned)(n - 1),
                          .s = tq->name,
                          .slen = tq->name_len,
                          .plain = tq->name_plain};
    x->memo[x->nmemo++ % NAME_MEMO] = r;
    *off = at + n;
    return true;
}

/* tw: a message whose first question's text may be taken, or NULL. */
static int parse_question(struct pctx *x, const uint8_t *m, size_t len, size_t *off,
                          struct dns_question *q, const struct dns_twin *tw)
{
    memset(q, 0, sizeof *q);
    struct ntext nt = {NULL, 0, false};
    int rc = tw != NULL && twin_name(x, m, len, off, tw, &nt) ? 0 : name_str(x, m, len, off, &nt);
    if (rc < 0) {
        return rc;
    }
    q->name = nt.s;
    q->name_len = nt.len;
    q->name_plain = nt.plain;
    for (int i = 0; i < 2; i++) {
        if (*off == len) {
            return 0;
        }
        struct pb_rd r = pb_rd_make(m + *off, len - *off);
        uint16_t v = pb_rd_be16(&r);
        if (!pb_rd_ok(&r)) {
            return -PB_EPROTO;
        }
        if (i == 0) {
            q->qtype = v;
        } else {
            q->qclass = v;
        }
        *off += 2;
    }
    return 0;
}

/* Records kept in a section's first array (it doubles from there). */
#define RR_FIRST_CAP 16u

static int parse_section(struct pctx *x, const uint8_t *m, size_t len, size_t *off, unsigned count,
                         enum dns_section sec)
{
    struct dns_msg *msg = x->msg;
    size_t cap = 0;
    /* only the additional section's OPT is the message's EDNS record */
    bool keep_opt = !x->dry && sec == DNS_ADDITIONAL;
    for (unsigned i = 0; i < count; i++) {
        /* records past the cap are decoded and counted, not kept */
        x->keep = x->keep_sec[sec] && msg->nrr[sec] < DNS_MAX_RRS;
        struct dns_rr rr;
        struct dns_opt o = {0};
        bool stop = false;
        int rc = parse_rr(x, m, len, off, &rr, &o, keep_opt, &stop);
        if (rc < 0 || stop) {
            return rc;
        }
        if (rr.is_opt && sec == DNS_ADDITIONAL) {
            /* the last OPT of the additional section is the EDNS record */
            msg->opt = o;
            msg->opt.present = true;
            msg->opt.udp_size = rr.klass;
            msg->opt.ext_rcode = (int)((rr.ttl >> 24) & 0xff) << 4;
            msg->opt.version = (uint8_t)((rr.ttl >> 16) & 0xff);
            msg->opt.do_bit = (rr.ttl & 0x8000) != 0;
        }
        msg->count[sec]++;
        if (!x->keep) {
            continue;
        }
        if (msg->nrr[sec] == cap) {
            size_t ncap = cap != 0 ? cap * 2 : (count < RR_FIRST_CAP ? count : RR_FIRST_CAP);
            if (ncap > DNS_MAX_RRS) {
                ncap = DNS_MAX_RRS;
            }
            struct dns_rr *p = mem_alloc(x, ncap * sizeof *p, _Alignof(struct dns_rr));
            if (p == NULL) {
                return -PB_ENOMEM;
            }
            if (cap > 0) {
                memcpy(p, msg->rr[sec], cap * sizeof *p);
            }
            msg->rr[sec] = p;
            cap = ncap;
        }
        msg->rr[sec][msg->nrr[sec]++] = rr;
    }
    return 0;
}

void dns_msg_free(struct dns_msg *msg)
{
    struct dns_blk *b = msg->mem;
    while (b != NULL) {
        struct dns_blk *next = b->next;
        if (!b->borrowed) {
            pb_free(b);
        }
        b = next;
    }
    memset(msg, 0, sizeof *msg);
}

/* dry: dns_msg_check; else keep says what is kept (DNS_KEEP_*) and the
 * memory starts in scratch (scratch_len bytes) when there is one. */
static int parse_msg(const uint8_t *buf, size_t len, struct dns_msg *msg, bool dry, unsigned keep,
                     void *scratch, size_t scratch_len, const struct dns_twin *twin)
{
    memset(msg, 0, sizeof *msg);
    struct pb_rd r = pb_rd_make(buf, len);
    uint16_t id = pb_rd_be16(&r);
    uint16_t bits = pb_rd_be16(&r);
    uint16_t qd = pb_rd_be16(&r), an = pb_rd_be16(&r), ns = pb_rd_be16(&r), ar = pb_rd_be16(&r);
    if (!pb_rd_ok(&r)) {
        return -PB_EPROTO;
    }
    msg->id = id;
    msg->response = (bits & 0x8000) != 0;
    msg->opcode = (uint8_t)((bits >> 11) & 0xf);
    msg->aa = (bits & 0x0400) != 0;
    msg->tc = (bits & 0x0200) != 0;
    msg->rd = (bits & 0x0100) != 0;
    msg->ra = (bits & 0x0080) != 0;
    msg->ad = (bits & 0x0020) != 0;
    msg->cd = (bits & 0x0010) != 0;
    msg->rcode = bits & 0xf;

    struct pctx x; /* the memo is read only up to nmemo */
    x.msg = msg;
    x.dry = dry;
    x.keep = !dry;
    x.keep_sec[DNS_ANSWER] = !dry;
    x.keep_sec[DNS_AUTHORITY] = !dry && (keep & DNS_KEEP_AUTHORITIES) != 0;
    x.keep_sec[DNS_ADDITIONAL] = !dry && (keep & DNS_KEEP_ADDITIONALS) != 0;
    x.next = first_blk(len);
    x.total = 0;
    x.nmemo = 0;
    if (!dry && scratch != NULL && scratch_len > BLK_HDR) {
        struct dns_blk *b = scratch;
        b->next = NULL;
        b->size = scratch_len - BLK_HDR;
        b->used = 0;
        b->borrowed = true;
        msg->mem = b;
        x.total = b->size;
    }
    bool qonly = !dry && (keep & DNS_KEEP_QUESTIONS) != 0;
    size_t off = DNS_HDR_LEN;
    size_t nqd = 0; /* questions decoded */
    int rc = 0;
    if (off < len) {
        for (unsigned i = 0; i < qd && rc == 0; i++) {
            x.keep = !dry && msg->nq < DNS_MAX_QUESTIONS;
            struct dns_question q;
            rc = parse_question(&x, buf, len, &off, &q, i == 0 ? twin : NULL);
            if (rc < 0) {
                break;
            }
            nqd++;
            if (!x.keep) {
                continue;
            }
            if (msg->q == NULL) {
                size_t cap = qd < DNS_MAX_QUESTIONS ? qd : DNS_MAX_QUESTIONS;
                msg->q = mem_alloc(&x, cap * sizeof *msg->q, _Alignof(struct dns_question));
                if (msg->q == NULL) {
                    rc = -PB_ENOMEM;
                    break;
                }
            }
            msg->q[msg->nq++] = q;
        }
        if (qonly) {
            an = ns = ar = 0; /* the sections are not read */
        }
        if (rc == 0 && an > 0) {
            rc = parse_section(&x, buf, len, &off, an, DNS_ANSWER);
        }
        if (rc == 0 && ns > 0) {
            rc = parse_section(&x, buf, len, &off, ns, DNS_AUTHORITY);
        }
        if (rc == 0 && ar > 0) {
            rc = parse_section(&x, buf, len, &off, ar, DNS_ADDITIONAL);
        }
    }
    if (rc == 0 && msg->opt.present) {
        msg->rcode |= msg->opt.ext_rcode;
    }
    /* A bare header is not taken for DNS (Packetbeat: Len() <= 12). */
    if (rc == 0 && !qonly && nqd == 0 && msg->count[0] + msg->count[1] + msg->count[2] == 0) {
        rc = -PB_EPROTO;
    }
    if (rc < 0) {
        dns_msg_free(msg);
        return rc;
    }
    return 0;
}

int dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg *msg)
{
    return parse_msg(buf, len, msg, false, DNS_KEEP_ALL, NULL, 0, NULL);
}

int dns_msg_parse_in(const uint8_t *buf, size_t len, struct dns_msg *msg, unsigned keep,
                     void *scratch, size_t scratch_len)
{
    return parse_msg(buf, len, msg, false, keep, scratch, scratch_len, NULL);
}

int dns_msg_parse_twin(const uint8_t *buf, size_t len, struct dns_msg *msg, unsigned keep,
                       void *scratch, size_t scratch_len, const struct dns_twin *twin)
{
    return parse_msg(buf, len, msg, false, keep, scratch, scratch_len, twin);
}

int dns_msg_check(const uint8_t *buf, size_t len, struct dns_msg *msg)
{
    return parse_msg(buf, len, msg, true, 0, NULL, 0, NULL);
}
