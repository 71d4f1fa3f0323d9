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
#include "beat/rd.h"
#include "dns_text.h"

#define MAX_PTRS 126
#define MAX_NAME_WIRE 255

/* ------------------------------------------------------------------ */
/* Code tables (miekg/dns names). */

struct code_name {
    uint16_t code;
    const char *name;
};

static const struct code_name type_names[] = {
    {0, "None"},         {1, "A"},           {2, "NS"},          {3, "MD"},      {4, "MF"},
    {5, "CNAME"},        {6, "SOA"},         {7, "MB"},          {8, "MG"},      {9, "MR"},
    {10, "NULL"},        {12, "PTR"},        {13, "HINFO"},      {14, "MINFO"},  {15, "MX"},
    {16, "TXT"},         {17, "RP"},         {18, "AFSDB"},      {19, "X25"},    {20, "ISDN"},
    {21, "RT"},          {23, "NSAP-PTR"},   {24, "SIG"},        {25, "KEY"},    {26, "PX"},
    {27, "GPOS"},        {28, "AAAA"},       {29, "LOC"},        {30, "NXT"},    {31, "EID"},
    {32, "NIMLOC"},      {33, "SRV"},        {34, "ATMA"},       {35, "NAPTR"},  {36, "KX"},
    {37, "CERT"},        {39, "DNAME"},      {41, "OPT"},        {42, "APL"},    {43, "DS"},
    {44, "SSHFP"},       {45, "IPSECKEY"},   {46, "RRSIG"},      {47, "NSEC"},   {48, "DNSKEY"},
    {49, "DHCID"},       {50, "NSEC3"},      {51, "NSEC3PARAM"}, {52, "TLSA"},   {53, "SMIMEA"},
    {55, "HIP"},         {56, "NINFO"},      {57, "RKEY"},       {58, "TALINK"}, {59, "CDS"},
    {60, "CDNSKEY"},     {61, "OPENPGPKEY"}, {62, "CSYNC"},      {63, "ZONEMD"}, {64, "SVCB"},
    {65, "HTTPS"},       {99, "SPF"},        {100, "UINFO"},     {101, "UID"},   {102, "GID"},
    {103, "UNSPEC"},     {104, "NID"},       {105, "L32"},       {106, "L64"},   {107, "LP"},
    {108, "EUI48"},      {109, "EUI64"},     {249, "TKEY"},      {250, "TSIG"},  {251, "IXFR"},
    {252, "AXFR"},       {253, "MAILB"},     {254, "MAILA"},     {255, "ANY"},   {256, "URI"},
    {257, "CAA"},        {258, "AVC"},       {260, "AMTRELAY"},  {32768, "TA"},  {32769, "DLV"},
    {65535, "Reserved"},
};

static const struct code_name class_names[] = {
    {1, "IN"}, {2, "CS"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"},
};

static const struct code_name opcode_names[] = {
    {0, "QUERY"}, {1, "IQUERY"}, {2, "STATUS"}, {4, "NOTIFY"}, {5, "UPDATE"},
};

static const struct code_name rcode_names[] = {
    {0, "NOERROR"},  {1, "FORMERR"},    {2, "SERVFAIL"}, {3, "NXDOMAIN"},  {4, "NOTIMP"},
    {5, "REFUSED"},  {6, "YXDOMAIN"},   {7, "YXRRSET"},  {8, "NXRRSET"},   {9, "NOTAUTH"},
    {10, "NOTZONE"}, {11, "DSOTYPENI"}, {16, "BADSIG"},  {17, "BADKEY"},   {18, "BADTIME"},
    {19, "BADMODE"}, {20, "BADNAME"},   {21, "BADALG"},  {22, "BADTRUNC"}, {23, "BADCOOKIE"},
};

static const struct code_name alg_names[] = {
    {1, "RSAMD5"},
    {2, "DH"},
    {3, "DSA"},
    {5, "RSASHA1"},
    {6, "DSA-NSEC3-SHA1"},
    {7, "RSASHA1-NSEC3-SHA1"},
    {8, "RSASHA256"},
    {10, "RSASHA512"},
    {12, "ECC-GOST"},
    {13, "ECDSAP256SHA256"},
    {14, "ECDSAP384SHA384"},
    {15, "ED25519"},
    {16, "ED448"},
    {252, "INDIRECT"},
    {253, "PRIVATEDNS"},
    {254, "PRIVATEOID"},
};

static const struct code_name hash_names[] = {
    {1, "SHA1"}, {2, "SHA256"}, {3, "GOST94"}, {4, "SHA384"}, {5, "SHA512"},
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

static const char *num_str(unsigned long v, char buf[24])
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
    return buf;
}

const char *dns_type_str(uint16_t t, char buf[24])
{
    const char *s = lookup(type_names, NELEM(type_names), t);
    return s != NULL ? s : num_str(t, buf);
}

const char *dns_class_str(uint16_t c, char buf[24])
{
    const char *s = lookup(class_names, NELEM(class_names), c);
    return s != NULL ? s : num_str(c, buf);
}

const char *dns_opcode_str(unsigned op, char buf[24])
{
    const char *s = lookup(opcode_names, NELEM(opcode_names), op);
    return s != NULL ? s : num_str(op, buf);
}

const char *dns_rcode_str(int rc, char buf[24])
{
    const char *s = rc >= 0 ? lookup(rcode_names, NELEM(rcode_names), (unsigned)rc) : NULL;
    if (s != NULL) {
        return s;
    }
    char n[24];
    num_str((unsigned long)(rc < 0 ? 0 : rc), n);
    memcpy(buf, "Unknown ", 8);
    size_t l = strlen(n);
    memcpy(buf + 8, n, l + 1);
    return buf;
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
/* Encoders. */

static void put_hex(struct dns_text *t, const uint8_t *p, size_t n, bool upper)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char two[2] = {dig[p[i] >> 4], dig[p[i] & 15]};
        dns_text_putn(t, two, 2);
    }
}

static void put_base64(struct dns_text *t, const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

/* Go's net.IP.String() for 4 or 16 bytes. */
static void put_ip(struct dns_text *t, const uint8_t *p, size_t n)
{
    static const uint8_t v4pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (n == 16 && memcmp(p, v4pfx, 12) == 0) {
        p += 12;
        n = 4;
    }
    if (n == 4) {
        char buf[16];
        size_t k = 0;
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                buf[k++] = '.';
            }
            unsigned v = p[i];
            if (v >= 100) {
                buf[k++] = (char)('0' + v / 100);
            }
            if (v >= 10) {
                buf[k++] = (char)('0' + v / 10 % 10);
            }
            buf[k++] = (char)('0' + v % 10);
        }
        dns_text_putn(t, buf, k);
        return;
    }
    int e0 = -1, e1 = -1;
    for (int i = 0; i < 16; i += 2) {
        int j = i;
        while (j < 16 && p[j] == 0 && p[j + 1] == 0) {
            j += 2;
        }
        if (j > i && j - i > e1 - e0) {
            e0 = i;
            e1 = j;
            i = j;
        }
    }
    if (e1 - e0 <= 2) {
        e0 = e1 = -1;
    }
    static const char dig[] = "0123456789abcdef";
    char buf[48]; /* 8 groups of 4 digits and their colons at most */
    size_t k = 0;
    for (int i = 0; i < 16; i += 2) {
        if (i == e0) {
            buf[k++] = ':';
            buf[k++] = ':';
            i = e1;
            if (i >= 16) {
                break;
            }
        } else if (i > 0) {
            buf[k++] = ':';
        }
        unsigned v = ((unsigned)p[i] << 8) | p[i + 1];
        bool lead = true;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned d = (v >> s) & 15;
            if (d == 0 && lead && s > 0) {
                continue;
            }
            lead = false;
            buf[k++] = dig[d];
        }
    }
    dns_text_putn(t, buf, k);
}

/* miekg/dns TimeToString: YYYYMMDDHHMMSS in UTC. */
static void put_time(struct dns_text *t, uint32_t v)
{
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

static bool label_special(uint8_t b)
{
    switch (b) {
    case '.':
    case ' ':
    case '\'':
    case '@':
    case ';':
    case '(':
    case ')':
    case '"':
    case '\\':
        return true;
    default:
        return false;
    }
}

/* Reads the name at *off within m[0..lim). Text mode writes the escaped
 * presentation form without the trailing dot (root: ""); wire mode writes
 * the uncompressed labels with the final zero. *off moves past the name as
 * it sits on the wire. 0, -PB_EPROTO, -PB_ENOMEM. */
static int read_name(const uint8_t *m, size_t lim, size_t *off, struct dns_text *t, bool wire)
{
    size_t pos = *off, after = 0;
    unsigned ptrs = 0;
    int budget = MAX_NAME_WIRE;
    bool first = true;
    for (;;) {
        if (pos >= lim) {
            return -PB_EPROTO;
        }
        struct pb_rd r = pb_rd_make(m + pos, lim - pos);
        uint8_t c = pb_rd_u8(&r);
        pos++;
        if ((c & 0xc0) == 0x00) {
            if (c == 0) {
                break;
            }
            if ((size_t)c > lim - pos) {
                return -PB_EPROTO;
            }
            budget -= c + 1;
            if (budget <= 0) {
                return -PB_EPROTO;
            }
            struct pb_slice lab = pb_rd_slice(&r, c);
            if (lab.ptr == NULL) {
                return -PB_EPROTO;
            }
            if (wire) {
                dns_text_putc(t, (char)c);
                dns_text_putn(t, lab.ptr, lab.len);
            } else {
                if (!first) {
                    dns_text_putc(t, '.');
                }
                size_t run = 0; /* start of the bytes shown as they are */
                for (size_t i = 0; i < lab.len; i++) {
                    uint8_t b = lab.ptr[i];
                    bool special = label_special(b);
                    if (!special && b >= ' ' && b <= '~') {
                        continue;
                    }
                    dns_text_putn(t, lab.ptr + run, i - run);
                    run = i + 1;
                    if (special) {
                        char e[2] = {'\\', (char)b};
                        dns_text_putn(t, e, 2);
                    } else {
                        dns_text_escbyte(t, b);
                    }
                }
                dns_text_putn(t, lab.ptr + run, lab.len - run);
            }
            first = false;
            pos += c;
        } else if ((c & 0xc0) == 0xc0) {
            if (pos >= lim) {
                return -PB_EPROTO;
            }
            uint8_t c1 = pb_rd_u8(&r);
            pos++;
            if (ptrs == 0) {
                after = pos;
            }
            if (++ptrs > MAX_PTRS) {
                return -PB_EPROTO;
            }
            pos = ((size_t)(c & 0x3f) << 8) | c1;
        } else {
            return -PB_EPROTO; /* 0x40 and 0x80 label types are reserved */
        }
    }
    if (ptrs == 0) {
        after = pos;
    }
    if (wire) {
        dns_text_putc(t, '\0');
    }
    *off = after;
    return t->bad ? -PB_ENOMEM : 0;
}

static int name_str(const uint8_t *m, size_t lim, size_t *off, char **out)
{
    struct dns_text t = {0};
    int rc = read_name(m, lim, off, &t, false);
    if (rc < 0) {
        dns_text_reset(&t);
        return rc;
    }
    *out = dns_text_take(&t);
    return *out == NULL ? -PB_ENOMEM : 0;
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

static int kv_take(struct dns_rr *rr, const char *key, struct dns_text *t)
{
    char *s = dns_text_take(t);
    if (s == NULL) {
        return -PB_ENOMEM;
    }
    if (rr->nkv >= DNS_MAX_KV) {
        pb_free(s);
        return 0;
    }
    rr->kv[rr->nkv].key = key;
    rr->kv[rr->nkv].str = s;
    rr->kv[rr->nkv].num = 0;
    rr->nkv++;
    return 0;
}

static int kv_s(struct dns_rr *rr, const char *key, const char *v)
{
    struct dns_text t = {0};
    dns_text_puts(&t, v);
    return kv_take(rr, key, &t);
}

static int kv_u(struct dns_rr *rr, const char *key, uint64_t v)
{
    struct dns_text t = {0};
    dns_text_putu(&t, v);
    return kv_take(rr, key, &t);
}

static void kv_num(struct dns_rr *rr, const char *key, uint64_t v)
{
    if (rr->nkv < DNS_MAX_KV) {
        rr->kv[rr->nkv].key = key;
        rr->kv[rr->nkv].str = NULL;
        rr->kv[rr->nkv].num = v;
        rr->nkv++;
    }
}

static int set_data(struct dns_rr *rr, struct dns_text *t)
{
    rr->data = dns_text_take(t);
    return rr->data == NULL ? -PB_ENOMEM : 0;
}

static int set_data_s(struct dns_rr *rr, const char *s)
{
    rr->data = dns_strdup(s);
    return rr->data == NULL ? -PB_ENOMEM : 0;
}

/* A name field: absent (cursor at end) renders as "". */
static int opt_name(struct cur *c, char **out)
{
    if (cur_at_end(c)) {
        *out = dns_strdup("");
        return *out == NULL ? -PB_ENOMEM : 0;
    }
    return name_str(c->m, c->end, &c->off, out);
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
        for (size_t j = 0; j < bits.len; j++) {
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
static int render_raw(struct cur *c, uint16_t type, struct dns_text *out)
{
    struct dns_text w = {0};
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
        case 'N':
            rc = read_name(c->m, c->end, &c->off, &w, true);
            break;
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

/* EDNS0 options (RFC 6891 6.1.2) into opt; errors as miekg/dns reports them. */
static int parse_edns_options(struct cur *c, struct dns_opt *opt)
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
        struct dns_text t = {0};
        char **slot = NULL;
        char buf[24];
        switch (code) {
        case 1: /* LLQ */
            if (v.len < 18) {
                return -PB_EPROTO;
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
                return -PB_EPROTO;
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
            for (size_t i = 0; i < v.len; i++) {
                dns_text_putc(&t, ' ');
                dns_text_puts(&t, code == 5 ? alg_str(v.ptr[i], buf) : hash_str(v.ptr[i], buf));
            }
            slot = code == 5 ? &opt->dau : code == 6 ? &opt->dhu : &opt->n3u;
            break;
        case 8: { /* client subnet */
            if (v.len < 4) {
                return -PB_EPROTO;
            }
            struct pb_rd r = pb_rd_make(v.ptr, v.len);
            uint16_t family = pb_rd_be16(&r);
            uint8_t mask = pb_rd_u8(&r), scope = pb_rd_u8(&r);
            uint8_t addr[16] = {0};
            size_t alen = v.len - 4;
            if (family == 0) {
                if (mask != 0) {
                    return -PB_EPROTO;
                }
                put_ip(&t, addr, 4);
            } else if (family == 1) {
                if (mask > 32 || scope > 32) {
                    return -PB_EPROTO;
                }
                memcpy(addr, v.ptr + 4, alen < 4 ? alen : 4);
                put_ip(&t, addr, 4);
            } else if (family == 2) {
                if (mask > 128 || scope > 128) {
                    return -PB_EPROTO;
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
                return -PB_EPROTO;
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
                return -PB_EPROTO;
            }
            slot = &opt->local;
            break;
        case 4:  /* ESU */
        case 10: /* COOKIE */
        case 12: /* PADDING */
            break;
        case 11: /* TCP keepalive */
            if (v.len != 0 && v.len != 2) {
                return -PB_EPROTO;
            }
            break;
        case 15: /* extended error */
            if (v.len < 2) {
                return -PB_EPROTO;
            }
            break;
        default: /* local / unknown */
            dns_text_putu(&t, code);
            dns_text_puts(&t, ":0x");
            put_hex(&t, v.ptr, v.len, false);
            slot = &opt->local;
            break;
        }
        if (slot != NULL) {
            char *s = dns_text_take(&t);
            if (s == NULL) {
                return -PB_ENOMEM;
            }
            pb_free(*slot);
            *slot = s;
        } else {
            dns_text_reset(&t);
        }
    }
    return 0;
}

static void opt_free(struct dns_opt *o)
{
    pb_free(o->dau);
    pb_free(o->dhu);
    pb_free(o->local);
    pb_free(o->llq);
    pb_free(o->n3u);
    pb_free(o->nsid);
    pb_free(o->subnet);
    pb_free(o->ul);
    memset(o, 0, sizeof *o);
}

/* Renders the data of one record; c covers exactly the record data.
 * empty: the record carries no data (rdlength 0 or class ANY) and renders
 * zero values, as miekg/dns leaves the fields unset. */
static int render_rdata(struct cur *c, struct dns_rr *rr, bool empty, struct dns_opt *opt)
{
    struct dns_text t = {0};
    char buf[24];
    int rc = 0;
    uint8_t u8a = 0, u8b = 0, u8c = 0;
    uint16_t u16a = 0, u16b = 0, u16c = 0;
    uint32_t u32[5] = {0, 0, 0, 0, 0};
    char *name = NULL;
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
        put_ip(&t, s.ptr, n);
        rr->is_ip = true;
        return set_data(rr, &t);
    }
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        if (empty) {
            return set_data_s(rr, "");
        }
        rc = name_str(c->m, c->end, &c->off, &rr->data);
        return rc;
    case DNS_TYPE_MX:
        if (!empty && (rc = cur_u16(c, &u16a)) == 0) {
            rc = opt_name(c, &rr->data);
        }
        if (rc == 0 && empty) {
            rc = set_data_s(rr, "");
        }
        kv_num(rr, "preference", u16a);
        return rc;
    case DNS_TYPE_SOA: {
        char *mbox = NULL;
        if (empty) {
            rc = set_data_s(rr, "");
        } else {
            rc = name_str(c->m, c->end, &c->off, &rr->data);
            if (rc == 0) {
                rc = opt_name(c, &mbox);
            }
            for (int i = 0; i < 5 && rc == 0 && !cur_at_end(c); i++) {
                rc = cur_u32(c, &u32[i]);
            }
        }
        if (rc == 0) {
            rc = kv_s(rr, "rname", mbox != NULL ? mbox : "");
        }
        pb_free(mbox);
        kv_num(rr, "serial", u32[0]);
        kv_num(rr, "refresh", u32[1]);
        kv_num(rr, "retry", u32[2]);
        kv_num(rr, "expire", u32[3]);
        kv_num(rr, "minimum", u32[4]);
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
                rc = opt_name(c, &rr->data);
            }
        } else {
            rc = set_data_s(rr, "");
        }
        kv_num(rr, "priority", u16a);
        kv_num(rr, "weight", u16b);
        kv_num(rr, "port", u16c);
        return rc;
    case DNS_TYPE_TXT:
        if (!empty) {
            rc = txt_strings(c, &t);
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(rr, &t);
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
            rc = kv_u(rr, "key_tag", u16a);
        }
        if (rc == 0) {
            rc = kv_s(rr, "algorithm", alg_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_s(rr, "digest_type", hash_str(u8b, buf));
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(rr, &t);
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
            rc = kv_u(rr, "flags", u16a);
        }
        if (rc == 0) {
            rc = kv_u(rr, "protocol", u8a);
        }
        if (rc == 0) {
            rc = kv_s(rr, "algorithm", alg_str(u8b, buf));
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(rr, &t);
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
                rc = opt_name(c, &name);
            }
            if (rc == 0 && !cur_at_end(c)) {
                s = cur_rest(c);
                put_base64(&t, s.ptr, s.len);
            }
        }
        if (rc == 0) {
            rc = kv_s(rr, "type_covered", dns_type_str(u16a, buf));
        }
        if (rc == 0) {
            rc = kv_s(rr, "algorithm", alg_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_u(rr, "labels", u8b);
        }
        if (rc == 0) {
            rc = kv_u(rr, "original_ttl", u32[0]);
        }
        if (rc == 0) {
            struct dns_text tt = {0};
            put_time(&tt, u32[1]);
            rc = kv_take(rr, "expiration", &tt);
        }
        if (rc == 0) {
            struct dns_text tt = {0};
            put_time(&tt, u32[2]);
            rc = kv_take(rr, "inception", &tt);
        }
        if (rc == 0) {
            rc = kv_u(rr, "key_tag", u16b);
        }
        if (rc == 0) {
            rc = kv_s(rr, "signer_name", name != NULL ? name : "");
        }
        pb_free(name);
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(rr, &t);
    case DNS_TYPE_NSEC:
        if (!empty) {
            rc = name_str(c->m, c->end, &c->off, &rr->data);
            if (rc == 0) {
                rc = type_bitmap(c, &t);
            }
        } else {
            rc = set_data_s(rr, "");
        }
        if (rc == 0) {
            rc = kv_take(rr, "type_bits", &t);
        }
        dns_text_reset(&t);
        return rc;
    case DNS_TYPE_NSEC3:
    case DNS_TYPE_NSEC3PARAM: {
        struct dns_text salt = {0}, next = {0};
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
            rc = kv_s(rr, "hash", hash_str(u8a, buf));
        }
        if (rc == 0) {
            rc = kv_u(rr, "flags", u8b);
        }
        if (rc == 0) {
            rc = kv_u(rr, "iterations", u16a);
        }
        if (rc == 0 && n3) {
            rc = kv_take(rr, "salt", &salt);
        }
        if (rc == 0 && n3) {
            rc = kv_take(rr, "type_bits", &t);
        }
        if (rc == 0) {
            rc = n3 ? set_data(rr, &next) : set_data(rr, &salt);
        }
        dns_text_reset(&salt);
        dns_text_reset(&next);
        dns_text_reset(&t);
        return rc;
    }
    case DNS_TYPE_OPT:
        rr->is_opt = true;
        if (!empty) {
            rc = parse_edns_options(c, opt);
        }
        return rc;
    default:
        if (!empty) {
            rc = render_raw(c, rr->type, &t);
        }
        if (rc < 0) {
            dns_text_reset(&t);
            return rc;
        }
        return set_data(rr, &t);
    }
}

static void rr_free(struct dns_rr *rr)
{
    pb_free(rr->name);
    pb_free(rr->data);
    for (size_t i = 0; i < rr->nkv; i++) {
        pb_free(rr->kv[i].str);
    }
    memset(rr, 0, sizeof *rr);
}

/* One resource record at *off. *stop when the message ended where a record
 * was expected (the count was larger than the data, which miekg/dns
 * tolerates). */
static int parse_rr(const uint8_t *m, size_t len, size_t *off, struct dns_rr *rr,
                    struct dns_opt *opt, bool *stop)
{
    memset(rr, 0, sizeof *rr);
    *stop = false;
    if (*off == len) {
        *stop = true;
        return 0;
    }
    int rc = name_str(m, len, off, &rr->name);
    if (rc < 0) {
        return rc;
    }
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
    rc = render_rdata(&c, rr, empty, opt);
    if (rc < 0) {
        return rc;
    }
    if (!empty && c.off != c.end) {
        return -PB_EPROTO; /* bad rdlength */
    }
    *off += rdlen;
    return 0;
}

static int parse_question(const uint8_t *m, size_t len, size_t *off, struct dns_question *q)
{
    memset(q, 0, sizeof *q);
    int rc = name_str(m, len, off, &q->name);
    if (rc < 0) {
        return rc;
    }
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

static int parse_section(const uint8_t *m, size_t len, size_t *off, unsigned count,
                         struct dns_msg *msg, enum dns_section sec)
{
    size_t cap = 0;
    for (unsigned i = 0; i < count; i++) {
        struct dns_rr rr;
        struct dns_opt o = {0};
        bool stop = false;
        int rc = parse_rr(m, len, off, &rr, &o, &stop);
        if (rc < 0 || stop) {
            rr_free(&rr);
            opt_free(&o);
            return rc;
        }
        if (rr.is_opt && sec == DNS_ADDITIONAL) {
            /* the last OPT of the additional section is the EDNS record */
            opt_free(&msg->opt);
            msg->opt = o;
            msg->opt.present = true;
            msg->opt.udp_size = rr.klass;
            msg->opt.ext_rcode = (int)((rr.ttl >> 24) & 0xff) << 4;
            msg->opt.version = (uint8_t)((rr.ttl >> 16) & 0xff);
            msg->opt.do_bit = (rr.ttl & 0x8000) != 0;
        } else {
            opt_free(&o);
        }
        msg->count[sec]++;
        if (msg->nrr[sec] >= DNS_MAX_RRS) {
            rr_free(&rr);
            continue;
        }
        if (msg->nrr[sec] == cap) {
            /* start at the announced count (at most 4): a record is ~300 bytes,
               and most sections hold one or two */
            size_t ncap = cap ? cap * 2 : (count < 4u ? count : 4u);
            if (ncap > DNS_MAX_RRS) {
                ncap = DNS_MAX_RRS;
            }
            struct dns_rr *p = pb_realloc(msg->rr[sec], ncap * sizeof *p);
            if (p == NULL) {
                rr_free(&rr);
                return -PB_ENOMEM;
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
    for (size_t i = 0; i < msg->nq; i++) {
        pb_free(msg->q[i].name);
    }
    pb_free(msg->q);
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < msg->nrr[s]; i++) {
            rr_free(&msg->rr[s][i]);
        }
        pb_free(msg->rr[s]);
    }
    opt_free(&msg->opt);
    memset(msg, 0, sizeof *msg);
}

int dns_msg_parse(const uint8_t *buf, size_t len, struct dns_msg *msg)
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

    size_t off = DNS_HDR_LEN;
    int rc = 0;
    if (off < len) {
        size_t qcap = 0;
        for (unsigned i = 0; i < qd && rc == 0; i++) {
            struct dns_question q;
            rc = parse_question(buf, len, &off, &q);
            if (rc < 0) {
                pb_free(q.name);
                break;
            }
            if (msg->nq >= DNS_MAX_QUESTIONS) {
                pb_free(q.name);
                continue;
            }
            if (msg->nq == qcap) {
                size_t ncap = qcap ? qcap * 2 : 2;
                struct dns_question *p = pb_realloc(msg->q, ncap * sizeof *p);
                if (p == NULL) {
                    pb_free(q.name);
                    rc = -PB_ENOMEM;
                    break;
                }
                msg->q = p;
                qcap = ncap;
            }
            msg->q[msg->nq++] = q;
        }
        if (rc == 0) {
            rc = parse_section(buf, len, &off, an, msg, DNS_ANSWER);
        }
        if (rc == 0) {
            rc = parse_section(buf, len, &off, ns, msg, DNS_AUTHORITY);
        }
        if (rc == 0) {
            rc = parse_section(buf, len, &off, ar, msg, DNS_ADDITIONAL);
        }
    }
    if (rc == 0 && msg->opt.present) {
        msg->rcode |= msg->opt.ext_rcode;
    }
    /* A bare header is not taken for DNS (Packetbeat: Len() <= 12). */
    if (rc == 0 && msg->nq == 0 && msg->count[0] + msg->count[1] + msg->count[2] == 0) {
        rc = -PB_EPROTO;
    }
    if (rc < 0) {
        dns_msg_free(msg);
        return rc;
    }
    return 0;
}
