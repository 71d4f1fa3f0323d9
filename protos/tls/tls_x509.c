/* SPDX-License-Identifier: Apache-2.0
 * protos/tls/tls_x509.c - certificates through OpenSSL, printed the way
 * Packetbeat (Go's crypto/x509) prints them: distinguished names in Go's
 * order and escaping, signature and key algorithm names, decimal serial
 * numbers, alternative names (DNS, then e-mail, then IP addresses).
 */
#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "tls_int.h"

/* Caps on what one name may hold (values beyond are ignored). */
#define NAME_MAX_VALUES 64
#define NAME_VALUE_MAX 1024

void *tls_x509_parse(const uint8_t *der, size_t len)
{
    if (len == 0 || len > TLS_MAX_HANDSHAKE) {
        return NULL;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        /* trailing bytes: Go refuses the certificate */
        X509_free(x);
        return NULL;
    }
    return x;
}

void tls_x509_free(void *x)
{
    X509_free(x);
}

/* ---- names ---- */

/* Go's attribute slots, in the order Name.ToRDNSequence emits them. */
enum { A_C, A_ST, A_L, A_STREET, A_POSTAL, A_O, A_OU, A_CN, A_SERIAL, A_NSTD };
static const char *const a_type[A_NSTD] = {"C", "ST", "L",  "STREET",      "POSTALCODE",
                                           "O", "OU", "CN", "SERIALNUMBER"};

struct gval {
    int slot;   /* A_* or A_NSTD */
    char *text; /* owned: UTF-8 value, or "OID=#hex" when non-standard */
};

struct gname {
    struct gval v[NAME_MAX_VALUES];
    size_t n;
};

static void gname_free(struct gname *g)
{
    for (size_t i = 0; i < g->n; i++) {
        pb_free(g->v[i].text);
    }
    g->n = 0;
}

static int slot_of(int nid)
{
    switch (nid) {
    case NID_countryName:
        return A_C;
    case NID_stateOrProvinceName:
        return A_ST;
    case NID_localityName:
        return A_L;
    case NID_streetAddress:
        return A_STREET;
    case NID_postalCode:
        return A_POSTAL;
    case NID_organizationName:
        return A_O;
    case NID_organizationalUnitName:
        return A_OU;
    case NID_commonName:
        return A_CN;
    case NID_serialNumber:
        return A_SERIAL;
    default:
        return A_NSTD;
    }
}

/* A string value as Go decodes it (UTF-8); NULL for types Go refuses. */
static char *string_value(const ASN1_STRING *s, size_t *outlen)
{
    int type = ASN1_STRING_type(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    int len = ASN1_STRING_length(s);
    if (len < 0 || len > NAME_VALUE_MAX) {
        return NULL;
    }
    switch (type) {
    case V_ASN1_UTF8STRING:
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_NUMERICSTRING:
    case V_ASN1_T61STRING: {
        char *t = pb_malloc((size_t)len + 1);
        if (t != NULL) {
            memcpy(t, d, (size_t)len);
            t[len] = '\0';
            *outlen = (size_t)len;
        }
        return t;
    }
    case V_ASN1_BMPSTRING: {
        /* UTF-16BE to UTF-8 */
        char *t = pb_malloc((size_t)len * 2 + 4);
        size_t o = 0;
        if (t == NULL) {
            return NULL;
        }
        for (int i = 0; i + 1 < len; i += 2) {
            unsigned c = ((unsigned)d[i] << 8) | d[i + 1];
            if (c >= 0xd800 && c <= 0xdbff && i + 3 < len) {
                unsigned lo = ((unsigned)d[i + 2] << 8) | d[i + 3];
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
                    i += 2;
                }
            }
            if (c < 0x80) {
                t[o++] = (char)c;
            } else if (c < 0x800) {
                t[o++] = (char)(0xc0 | (c >> 6));
                t[o++] = (char)(0x80 | (c & 0x3f));
            } else if (c < 0x10000) {
                t[o++] = (char)(0xe0 | (c >> 12));
                t[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
                t[o++] = (char)(0x80 | (c & 0x3f));
            } else {
                t[o++] = (char)(0xf0 | (c >> 18));
                t[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
                t[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
                t[o++] = (char)(0x80 | (c & 0x3f));
            }
        }
        t[o] = '\0';
        *outlen = o;
        return t;
    }
    default:
        return NULL;
    }
}

static bool printable_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr(" '()+,-./:=?", c) != NULL;
}

/* "1.2.3=#<hex of the value re-encoded as Go would>" */
static char *nonstd_text(const ASN1_OBJECT *obj, const char *val, size_t vlen)
{
    char oid[128];
    if (OBJ_obj2txt(oid, sizeof oid, obj, 1) <= 0) {
        return NULL;
    }
    bool printable = true;
    for (size_t i = 0; i < vlen; i++) {
        if (!printable_char((unsigned char)val[i])) {
            printable = false;
            break;
        }
    }
    uint8_t hdr[6];
    size_t h = 0;
    hdr[h++] = printable ? 0x13 : 0x0c;
    if (vlen < 0x80) {
        hdr[h++] = (uint8_t)vlen;
    } else if (vlen < 0x100) {
        hdr[h++] = 0x81;
        hdr[h++] = (uint8_t)vlen;
    } else {
        hdr[h++] = 0x82;
        hdr[h++] = (uint8_t)(vlen >> 8);
        hdr[h++] = (uint8_t)vlen;
    }
    size_t olen = strlen(oid);
    char *t = pb_malloc(olen + 2 + 2 * (h + vlen) + 1);
    if (t == NULL) {
        return NULL;
    }
    memcpy(t, oid, olen);
    size_t o = olen;
    t[o++] = '=';
    t[o++] = '#';
    for (size_t i = 0; i < h; i++, o += 2) {
        snprintf(t + o, 3, "%02x", hdr[i]);
    }
    for (size_t i = 0; i < vlen; i++, o += 2) {
        snprintf(t + o, 3, "%02x", (unsigned char)val[i]);
    }
    t[o] = '\0';
    return t;
}

static void gname_load(struct gname *g, const X509_NAME *name)
{
    g->n = 0;
    int count = X509_NAME_entry_count(name);
    for (int i = 0; i < count && g->n < NAME_MAX_VALUES; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
        size_t vlen = 0;
        char *val = string_value(s, &vlen);
        if (val == NULL) {
            continue;
        }
        int slot = slot_of(OBJ_obj2nid(obj));
        if (slot == A_NSTD) {
            char *t = nonstd_text(obj, val, vlen);
            pb_free(val);
            val = t;
            if (val == NULL) {
                continue;
            }
        } else if (slot == A_CN || slot == A_SERIAL) {
            /* Go keeps only the last one */
            for (size_t k = 0; k < g->n; k++) {
                if (g->v[k].slot == slot) {
                    pb_free(g->v[k].text);
                    memmove(&g->v[k], &g->v[k + 1], (g->n - k - 1) * sizeof g->v[0]);
                    g->n--;
                    break;
                }
            }
        }
        g->v[g->n].slot = slot;
        g->v[g->n].text = val;
        g->n++;
    }
}

struct strbuf {
    char *p;
    size_t len, cap;
    bool bad;
};

static void sb_putn(struct strbuf *s, const char *t, size_t n)
{
    if (s->bad) {
        return;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 128;
        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        char *np = pb_realloc(s->p, cap);
        if (np == NULL) {
            s->bad = true;
            return;
        }
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, t, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void sb_puts(struct strbuf *s, const char *t)
{
    sb_putn(s, t, strlen(t));
}

/* Go escapes , + " \ < > ; always, a leading/trailing space, a leading #. */
static void sb_escaped(struct strbuf *s, const char *v)
{
    size_t n = strlen(v);
    for (size_t k = 0; k < n; k++) {
        char c = v[k];
        bool esc = false;
        switch (c) {
        case ',':
        case '+':
        case '"':
        case '\\':
        case '<':
        case '>':
        case ';':
            esc = true;
            break;
        case ' ':
            esc = k == 0 || k == n - 1;
            break;
        case '#':
            esc = k == 0;
            break;
        default:
            break;
        }
        if (esc) {
            sb_putn(s, "\\", 1);
        }
        sb_putn(s, &c, 1);
    }
}

/* Go's pkix.Name.String(): non-standard attributes first in the sequence,
 * then C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER (values of one
 * type share one RDN joined by '+'); printed last RDN first. */
static char *gname_string(const struct gname *g)
{
    /* RDN list: each entry is (slot, index of a non-standard value) */
    struct rdn {
        int slot;
        size_t idx;
    } seq[NAME_MAX_VALUES + A_NSTD];
    size_t ns = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].slot == A_NSTD) {
            seq[ns].slot = A_NSTD;
            seq[ns].idx = i;
            ns++;
        }
    }
    for (int slot = 0; slot < A_NSTD; slot++) {
        for (size_t i = 0; i < g->n; i++) {
            if (g->v[i].slot == slot) {
                seq[ns].slot = slot;
                seq[ns].idx = 0;
                ns++;
                break;
            }
        }
    }
    struct strbuf s = {NULL, 0, 0, false};
    sb_puts(&s, "");
    for (size_t r = 0; r < ns; r++) {
        const struct rdn *rd = &seq[ns - 1 - r];
        if (r > 0) {
            sb_puts(&s, ",");
        }
        if (rd->slot == A_NSTD) {
            sb_puts(&s, g->v[rd->idx].text);
            continue;
        }
        bool first = true;
        for (size_t i = 0; i < g->n; i++) {
            if (g->v[i].slot != rd->slot) {
                continue;
            }
            if (!first) {
                sb_puts(&s, "+");
            }
            first = false;
            sb_puts(&s, a_type[rd->slot]);
            sb_puts(&s, "=");
            sb_escaped(&s, g->v[i].text);
        }
    }
    if (s.bad) {
        pb_free(s.p);
        return NULL;
    }
    return s.p;
}

/* Values of one slot joined by a space; NULL when none. */
static char *gname_join(const struct gname *g, int slot)
{
    struct strbuf s = {NULL, 0, 0, false};
    bool any = false;
    for (size_t i = 0; i < g->n; i++) {
        if (g->v[i].slot != slot) {
            continue;
        }
        if (any) {
            sb_puts(&s, " ");
        }
        sb_puts(&s, g->v[i].text);
        any = true;
    }
    if (s.bad || !any || s.len == 0) {
        pb_free(s.p);
        return NULL;
    }
    return s.p;
}

static void gname_fill(pb_node *m, const struct gname *g)
{
    static const struct {
        const char *key;
        int slot;
    } fields[] = {
        {"country", A_C},      {"organization", A_O},        {"organizational_unit", A_OU},
        {"locality", A_L},     {"postal_code", A_POSTAL},    {"serial_number", A_SERIAL},
        {"common_name", A_CN}, {"street_address", A_STREET}, {"state_or_province", A_ST},
    };
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char *v = gname_join(g, fields[i].slot);
        if (v != NULL) {
            pb_node_set_str(m, fields[i].key, v);
            pb_free(v);
        }
    }
    char *dn = gname_string(g);
    if (dn != NULL && dn[0] != '\0') {
        pb_node_set_str(m, "distinguished_name", dn);
    }
    pb_free(dn);
}

char *tls_x509_dn(void *x, bool issuer)
{
    const X509_NAME *name = issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x);
    if (name == NULL) {
        return NULL;
    }
    struct gname g;
    gname_load(&g, name);
    char *s = gname_string(&g);
    gname_free(&g);
    return s;
}

/* ---- other fields ---- */

bool tls_x509_time(void *x, bool after, int64_t *ns)
{
    const ASN1_TIME *t = after ? X509_get0_notAfter(x) : X509_get0_notBefore(x);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return false;
    }
    time_t secs = timegm(&tm);
    *ns = (int64_t)secs * 1000000000LL;
    return true;
}

const char *tls_time_str(int64_t ns, char buf[64])
{
    time_t secs = (time_t)(ns / 1000000000LL);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        return "0001-01-01T00:00:00.000Z";
    }
    snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

static const char *sig_alg_name(X509 *x)
{
    int nid = X509_get_signature_nid(x);
    switch (nid) {
    case NID_md2WithRSAEncryption:
        return "MD2-RSA";
    case NID_md5WithRSAEncryption:
        return "MD5-RSA";
    case NID_sha1WithRSAEncryption:
    case NID_sha1WithRSA:
        return "SHA1-RSA";
    case NID_sha256WithRSAEncryption:
        return "SHA256-RSA";
    case NID_sha384WithRSAEncryption:
        return "SHA384-RSA";
    case NID_sha512WithRSAEncryption:
        return "SHA512-RSA";
    case NID_dsaWithSHA1:
        return "DSA-SHA1";
    case NID_dsa_with_SHA256:
        return "DSA-SHA256";
    case NID_ecdsa_with_SHA1:
        return "ECDSA-SHA1";
    case NID_ecdsa_with_SHA256:
        return "ECDSA-SHA256";
    case NID_ecdsa_with_SHA384:
        return "ECDSA-SHA384";
    case NID_ecdsa_with_SHA512:
        return "ECDSA-SHA512";
    case NID_ED25519:
        return "Ed25519";
    case NID_rsassaPss: {
        int mdnid = 0, pknid = 0, secbits = 0;
        uint32_t flags = 0;
        if (X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags) == 1) {
            switch (mdnid) {
            case NID_sha256:
                return "SHA256-RSAPSS";
            case NID_sha384:
                return "SHA384-RSAPSS";
            case NID_sha512:
                return "SHA512-RSAPSS";
            default:
                break;
            }
        }
        return "0";
    }
    default:
        return "0";
    }
}

static void put_key(pb_node *m, X509 *x)
{
    EVP_PKEY *k = X509_get0_pubkey(x);
    int id = k != NULL ? EVP_PKEY_get_base_id(k) : 0;
    const char *name;
    bool sized = true;
    switch (id) {
    case EVP_PKEY_RSA:
        name = "RSA";
        break;
    case EVP_PKEY_DSA:
        name = "DSA";
        break;
    case EVP_PKEY_EC:
        name = "ECDSA";
        break;
    case EVP_PKEY_ED25519:
        name = "(unknown:4)";
        sized = false;
        break;
    default:
        name = "(unknown:0)";
        sized = false;
        break;
    }
    pb_node_set_str(m, "public_key_algorithm", name);
    if (sized) {
        int bits = EVP_PKEY_get_bits(k);
        if (bits > 0) {
            pb_node_set_int(m, "public_key_size", bits);
        }
    }
}

static void put_serial(pb_node *m, X509 *x)
{
    const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
    BIGNUM *bn = ai != NULL ? ASN1_INTEGER_to_BN(ai, NULL) : NULL;
    char *dec = bn != NULL ? BN_bn2dec(bn) : NULL;
    pb_node_set_str(m, "serial_number", dec != NULL ? dec : "0");
    OPENSSL_free(dec);
    BN_free(bn);
}

/* net.IP.String(): IPv4-mapped addresses print as IPv4. */
static bool ip_text(const ASN1_OCTET_STRING *ip, char *buf, size_t n)
{
    const unsigned char *d = ASN1_STRING_get0_data(ip);
    int len = ASN1_STRING_length(ip);
    if (len == 4) {
        return inet_ntop(AF_INET, d, buf, (socklen_t)n) != NULL;
    }
    if (len == 16) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(d, mapped, 12) == 0) {
            return inet_ntop(AF_INET, d + 12, buf, (socklen_t)n) != NULL;
        }
        return inet_ntop(AF_INET6, d, buf, (socklen_t)n) != NULL;
    }
    return false;
}

static void put_alt_names(pb_node *m, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (gens == NULL) {
        return;
    }
    /* the list only when it has an item */
    pb_node *arr = NULL;
    static const int order[] = {GEN_DNS, GEN_EMAIL, GEN_IPADD};
    for (size_t o = 0; o < 3; o++) {
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
            if (g->type != order[o]) {
                continue;
            }
            if (g->type == GEN_IPADD) {
                char buf[64];
                if (ip_text(g->d.iPAddress, buf, sizeof buf)) {
                    if (arr == NULL) {
                        arr = pb_node_arr(m, "alternative_names");
                    }
                    pb_node_set_str(arr, NULL, buf);
                }
            } else {
                const ASN1_STRING *s = g->type == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
                if (arr == NULL) {
                    arr = pb_node_arr(m, "alternative_names");
                }
                pb_node_set_strn(arr, NULL, ASN1_STRING_get0_data(s),
                                 (size_t)ASN1_STRING_length(s));
            }
        }
    }
    GENERAL_NAMES_free(gens);
}

void tls_x509_fill(pb_node *m, void *xv)
{
    X509 *x = xv;
    if (m == NULL) {
        return;
    }
    pb_node_set_str(m, "signature_algorithm", sig_alg_name(x));
    put_key(m, x);
    put_serial(m, x);
    struct gname g;
    gname_load(&g, X509_get_issuer_name(x));
    gname_fill(pb_node_obj(m, "issuer"), &g);
    gname_free(&g);
    gname_load(&g, X509_get_subject_name(x));
    gname_fill(pb_node_obj(m, "subject"), &g);
    gname_free(&g);
    int64_t ns;
    char buf[64];
    if (tls_x509_time(x, false, &ns)) {
        pb_node_set_str(m, "not_before", tls_time_str(ns, buf));
    }
    if (tls_x509_time(x, true, &ns)) {
        pb_node_set_str(m, "not_after", tls_time_str(ns, buf));
    }
    pb_node_set_int(m, "version_number", X509_get_version(x) + 1);
    put_alt_names(m, x);
}

/* ---- raw forms ---- */

char *tls_pem(const uint8_t *der, size_t len)
{
    static const char head[] = "-----BEGIN CERTIFICATE-----\n";
    static const char tail[] = "-----END CERTIFICATE-----\n";
    size_t lines = (len + 47) / 48;
    size_t cap = sizeof head + sizeof tail + lines * 66 + 1;
    char *out = pb_malloc(cap);
    if (out == NULL) {
        return NULL;
    }
    size_t o = 0;
    memcpy(out, head, sizeof head - 1);
    o += sizeof head - 1;
    for (size_t off = 0; off < len; off += 48) {
        size_t n = len - off < 48 ? len - off : 48;
        int w = EVP_EncodeBlock((unsigned char *)out + o, der + off, (int)n);
        o += (size_t)w;
        out[o++] = '\n';
    }
    memcpy(out + o, tail, sizeof tail);
    return out;
}

bool tls_digest(const char *algo, const uint8_t *der, size_t len, char *out, size_t n)
{
    const EVP_MD *md = strcmp(algo, "md5") == 0    ? EVP_md5()
                       : strcmp(algo, "sha1") == 0 ? EVP_sha1()
                                                   : EVP_sha256();
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(der, len, dig, &dlen, md, NULL) != 1 || n < 2 * (size_t)dlen + 1) {
        return false;
    }
    static const char digits[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < dlen; i++) {
        out[2 * i] = digits[dig[i] >> 4];
        out[2 * i + 1] = digits[dig[i] & 15];
    }
    out[2 * dlen] = '\0';
    return true;
}
