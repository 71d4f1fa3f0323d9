/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_tls.c - tls: hellos and certificates through the
 * record layer, split at every offset and over many records, when the
 * event is published (both ChangeCipherSpecs, FIN, gap), TLS 1.3 versions,
 * resumption, alerts, the options, and hostile input (truncated, corrupted,
 * oversized) that must never crash or grow without bound.
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protos/proto.h"
#include "protos/tls/tls_int.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_tls;

#define CFG "ports: [443]"

/* ---- a small byte builder ---- */

/* Patches a big-endian length of `width` bytes at `at` to cover up to now. */
static void patch(struct pt_buf *b, size_t at, int width)
{
    size_t v = b->n - at - (size_t)width;
    for (int i = width - 1; i >= 0; i--) {
        b->b[at + (size_t)i] = (uint8_t)v;
        v >>= 8;
    }
}

/* Wraps handshake messages into records of at most `frag` body bytes. */
static void records(struct pt_buf *out, uint8_t type, const struct pt_buf *msgs, size_t frag)
{
    for (size_t off = 0; off < msgs->n; off += frag) {
        size_t n = msgs->n - off < frag ? msgs->n - off : frag;
        pt_u8(out, type);
        pt_be16(out, 0x0303);
        pt_be16(out, (unsigned)n);
        pt_put(out, msgs->b + off, n);
    }
}

static void ccs(struct pt_buf *out)
{
    static const uint8_t rec[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    pt_put(out, rec, sizeof rec);
}

static void encrypted_finished(struct pt_buf *out)
{
    pt_u8(out, 0x16);
    pt_be16(out, 0x0303);
    pt_be16(out, 40);
    for (int i = 0; i < 40; i++) {
        pt_u8(out, 0x5a ^ i);
    }
}

/* ClientHello (TLS 1.2 legacy version) offering TLS 1.3 and 1.2:
 *   suites: GREASE 0x0a0a, c02f, c030, 1301, 00ff
 *   extensions: GREASE, SNI example.test, supported_groups [GREASE,
 *   x25519, secp256r1], ec_point_formats [uncompressed],
 *   signature_algorithms [ecdsa_secp256r1_sha256, rsa_pss_sha256],
 *   ALPN [h2, http/1.1], session_ticket (empty or with a ticket),
 *   supported_versions [TLS 1.3, TLS 1.2], padding (21, unparsed) */
static void client_hello(struct pt_buf *m, const uint8_t *sid, size_t sid_len, size_t ticket_len)
{
    pt_u8(m, 1);
    size_t hl = m->n;
    pt_be24(m, 0);
    pt_be16(m, 0x0303);
    for (int i = 0; i < 32; i++) {
        pt_u8(m, i + 1);
    }
    pt_u8(m, (unsigned)sid_len);
    pt_put(m, sid, sid_len);
    static const unsigned suites[] = {0x0a0a, 0xc02f, 0xc030, 0x1301, 0x00ff};
    pt_be16(m, 2 * 5);
    for (int i = 0; i < 5; i++) {
        pt_be16(m, suites[i]);
    }
    pt_u8(m, 1);
    pt_u8(m, 0);
    size_t el = m->n;
    pt_be16(m, 0);
    pt_be16(m, 0x1a1a); /* GREASE extension */
    pt_be16(m, 0);
    pt_be16(m, 0); /* server_name */
    size_t l1 = m->n;
    pt_be16(m, 0);
    size_t l2 = m->n;
    pt_be16(m, 0);
    pt_u8(m, 0);
    pt_be16(m, 12);
    pt_put(m, "example.test", 12);
    patch(m, l2, 2);
    patch(m, l1, 2);
    pt_be16(m, 10); /* supported_groups */
    pt_be16(m, 8);
    pt_be16(m, 6);
    pt_be16(m, 0x2a2a);
    pt_be16(m, 0x001d);
    pt_be16(m, 0x0017);
    pt_be16(m, 11); /* ec_point_formats */
    pt_be16(m, 2);
    pt_u8(m, 1);
    pt_u8(m, 0);
    pt_be16(m, 13); /* signature_algorithms */
    pt_be16(m, 6);
    pt_be16(m, 4);
    pt_be16(m, 0x0403);
    pt_be16(m, 0x0804);
    pt_be16(m, 16); /* ALPN */
    pt_be16(m, 14);
    pt_be16(m, 12);
    pt_u8(m, 2);
    pt_put(m, "h2", 2);
    pt_u8(m, 8);
    pt_put(m, "http/1.1", 8);
    pt_be16(m, 35); /* session_ticket */
    pt_be16(m, (unsigned)ticket_len);
    for (size_t i = 0; i < ticket_len; i++) {
        pt_u8(m, 0x77);
    }
    pt_be16(m, 43); /* supported_versions */
    pt_be16(m, 5);
    pt_u8(m, 4);
    pt_be16(m, 0x0304);
    pt_be16(m, 0x0303);
    pt_be16(m, 21); /* padding: not parsed */
    pt_be16(m, 3);
    pt_u8(m, 0);
    pt_u8(m, 0);
    pt_u8(m, 0);
    patch(m, el, 2);
    patch(m, hl, 3);
}

/* ServerHello: suite c02f, ALPN h2, renegotiation_info, optional
 * supported_versions (TLS 1.3) and session_ticket. */
static void server_hello(struct pt_buf *m, const uint8_t *sid, size_t sid_len, bool tls13,
                         bool ticket)
{
    pt_u8(m, 2);
    size_t hl = m->n;
    pt_be24(m, 0);
    pt_be16(m, 0x0303);
    for (int i = 0; i < 32; i++) {
        pt_u8(m, 0xf0 - i);
    }
    pt_u8(m, (unsigned)sid_len);
    pt_put(m, sid, sid_len);
    pt_be16(m, tls13 ? 0x1301 : 0xc02f);
    pt_u8(m, 0);
    size_t el = m->n;
    pt_be16(m, 0);
    pt_be16(m, 0xff01);
    pt_be16(m, 1);
    pt_u8(m, 0);
    pt_be16(m, 16);
    pt_be16(m, 5);
    pt_be16(m, 3);
    pt_u8(m, 2);
    pt_put(m, "h2", 2);
    if (tls13) {
        pt_be16(m, 43);
        pt_be16(m, 2);
        pt_be16(m, 0x0304);
    }
    if (ticket) {
        pt_be16(m, 35);
        pt_be16(m, 0);
    }
    patch(m, el, 2);
    patch(m, hl, 3);
}

/* A self-signed EC P-256 certificate:
 * C=US, O=Example Org, CN=example.test; serial 4660; 2020-01-01 to
 * 2030-01-01; SAN DNS:example.test, DNS:www.example.test, IP:127.0.0.1 */
static uint8_t cert_der[2048];
static size_t cert_len;

static void make_cert(void)
{
    if (cert_len > 0) {
        return;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4660);
    ASN1_TIME_set_string(X509_getm_notBefore(x), "20200101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(x), "20300101000000Z");
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"Example Org", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"example.test", -1, -1,
                               0);
    X509_set_issuer_name(x, n);
    X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
                                              "DNS:example.test,DNS:www.example.test,IP:127.0.0.1");
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
    int len = i2d_X509(x, NULL);
    ck_assert_int_gt(len, 0);
    ck_assert_int_le(len, (int)sizeof cert_der);
    unsigned char *p = cert_der;
    i2d_X509(x, &p);
    cert_len = (size_t)len;
    X509_free(x);
    EVP_PKEY_free(key);
}

/* Certificate message with the certificate `copies` times (leaf + chain). */
static void certificate(struct pt_buf *m, int copies)
{
    make_cert();
    pt_u8(m, 11);
    size_t hl = m->n;
    pt_be24(m, 0);
    size_t tl = m->n;
    pt_be24(m, 0);
    for (int i = 0; i < copies; i++) {
        pt_be24(m, (unsigned)cert_len);
        pt_put(m, cert_der, cert_len);
    }
    patch(m, tl, 3);
    patch(m, hl, 3);
}

static void simple_msg(struct pt_buf *m, uint8_t type, size_t len)
{
    pt_u8(m, type);
    pt_be24(m, (unsigned)len);
    for (size_t i = 0; i < len; i++) {
        pt_u8(m, 0x42);
    }
}

static const uint8_t sid_c[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                                  0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                                  0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};
static const uint8_t sid_s[32] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
                                  0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5,
                                  0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf};

/* The four flights of a full TLS 1.2 handshake. frag: record body size. */
struct flights {
    struct pt_buf c1; /* ClientHello */
    struct pt_buf s1; /* ServerHello, Certificate x2, ServerKeyExchange, Done, CCS, Finished */
    struct pt_buf c2; /* ClientKeyExchange, CCS, Finished */
};

static void full_handshake(struct flights *f, size_t frag)
{
    struct pt_buf m;
    memset(f, 0, sizeof *f);
    m.n = 0;
    client_hello(&m, sid_c, 32, 0);
    records(&f->c1, 22, &m, frag);
    m.n = 0;
    server_hello(&m, sid_s, 32, false, false);
    certificate(&m, 2);
    simple_msg(&m, 12, 20);
    simple_msg(&m, 14, 0);
    records(&f->s1, 22, &m, frag);
    m.n = 0;
    simple_msg(&m, 16, 33);
    records(&f->c2, 22, &m, frag);
    ccs(&f->c2);
    encrypted_finished(&f->c2);
    ccs(&f->s1);
    encrypted_finished(&f->s1);
}

static char *run_full(size_t frag, size_t cut_c1, size_t cut_s1)
{
    struct flights *f = malloc(sizeof *f);
    ck_assert_ptr_nonnull(f);
    full_handshake(f, frag);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    if (cut_c1 == 0 || cut_c1 >= f->c1.n) {
        cut_c1 = f->c1.n;
    }
    if (cut_s1 == 0 || cut_s1 >= f->s1.n) {
        cut_s1 = f->s1.n;
    }
    pt_feed(t, PB_DIR_TO_SERVER, f->c1.b, cut_c1);
    pt_feed(t, PB_DIR_TO_SERVER, f->c1.b + cut_c1, f->c1.n - cut_c1);
    pt_advance(t, 1000000);
    pt_feed(t, PB_DIR_TO_CLIENT, f->s1.b, cut_s1);
    pt_feed(t, PB_DIR_TO_CLIENT, f->s1.b + cut_s1, f->s1.n - cut_s1);
    ck_assert_uint_eq(pt_nevents(t), 0); /* server switched, client not yet */
    pt_advance(t, 1000000);
    pt_feed(t, PB_DIR_TO_SERVER, f->c2.b, f->c2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_fin(t, PB_DIR_TO_SERVER); /* no second event */
    ck_assert_uint_eq(pt_nevents(t), 1);
    char *s = pt_dump(t);
    pt_close(t);
    free(f);
    return s;
}

static void md5_hex(const char *s, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ck_assert_int_eq(EVP_Digest(s, strlen(s), d, &n, EVP_md5(), NULL), 1);
    for (unsigned i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

/* ---- tests ---- */

START_TEST(tls12_full_handshake)
{
    struct flights *f = malloc(sizeof *f);
    full_handshake(f, 16384);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, f->c1.b, f->c1.n);
    pt_advance(t, 1000000);
    pt_feed(t, PB_DIR_TO_CLIENT, f->s1.b, f->s1.n);
    pt_advance(t, 2000000);
    pt_feed(t, PB_DIR_TO_SERVER, f->c2.b, f->c2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);

    ck_assert_str_eq(pt_str(t, 0, "type"), "tls");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "tls");
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 3000000);
    ck_assert_ptr_null(pt_field(t, 0, "network.bytes"));
    ck_assert(json_is_true(pt_field(t, 0, "tls.established")));
    ck_assert(json_is_false(pt_field(t, 0, "tls.resumed")));
    ck_assert_str_eq(pt_str(t, 0, "tls.version"), "1.2");
    ck_assert_str_eq(pt_str(t, 0, "tls.version_protocol"), "tls");
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.version"), "TLS 1.2");
    ck_assert_str_eq(pt_str(t, 0, "tls.cipher"), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    ck_assert_str_eq(pt_str(t, 0, "tls.client.server_name"), "example.test");
    ck_assert_str_eq(pt_str(t, 0, "destination.domain"), "example.test");
    ck_assert_str_eq(pt_str(t, 0, "server.domain"), "example.test");
    ck_assert_str_eq(pt_str(t, 0, "tls.next_protocol"), "h2");

    /* JA3: GREASE removed from suites, extensions and groups */
    char want[33];
    md5_hex("771,49199-49200-4865-255,0-10-11-13-16-35-43-21,29-23,0", want);
    ck_assert_str_eq(pt_str(t, 0, "tls.client.ja3"), want);
    json_t *sc = pt_field(t, 0, "tls.client.supported_ciphers");
    ck_assert_uint_eq(json_array_size(sc), 4);
    ck_assert_str_eq(json_string_value(json_array_get(sc, 2)), "TLS_AES_128_GCM_SHA256");
    ck_assert_str_eq(json_string_value(json_array_get(sc, 3)), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");

    /* detailed hellos */
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.client_hello.version"), "3.3");
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.client_hello.random"),
                     "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    json_t *ext = pt_field(t, 0, "tls.detailed.client_hello.extensions");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(ext, "server_name_indication"), 0)),
        "example.test");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ext, "supported_groups"), 0)),
                     "x25519");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(ext, "signature_algorithms"), 1)),
        "rsa_pss_sha256");
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(ext, "supported_versions"), 0)),
        "TLS 1.3");
    ck_assert_str_eq(json_string_value(json_object_get(ext, "session_ticket")), "");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(ext, "_unparsed_"), 0)),
                     "21");
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.server_hello.selected_compression_method"), "NULL");
    json_t *sext = pt_field(t, 0, "tls.detailed.server_hello.extensions");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(sext, "_unparsed_"), 0)),
                     "renegotiation_info");
    ck_assert(json_is_false(pt_field(t, 0, "tls.detailed.client_certificate_requested")));

    /* the leaf certificate */
    ck_assert_str_eq(pt_str(t, 0, "tls.server.subject"), "CN=example.test,O=Example Org,C=US");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.issuer"), "CN=example.test,O=Example Org,C=US");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.not_before"), "2020-01-01T00:00:00.000Z");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.not_after"), "2030-01-01T00:00:00.000Z");
    char sha1[41];
    ck_assert(tls_digest("sha1", cert_der, cert_len, sha1, sizeof sha1));
    ck_assert_str_eq(pt_str(t, 0, "tls.server.hash.sha1"), sha1);
    ck_assert_ptr_null(pt_field(t, 0, "tls.server.hash.md5"));
    ck_assert_str_eq(pt_str(t, 0, "tls.server.x509.subject.common_name"), "example.test");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.x509.subject.organization"), "Example Org");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.x509.serial_number"), "4660");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.x509.signature_algorithm"), "ECDSA-SHA256");
    ck_assert_str_eq(pt_str(t, 0, "tls.server.x509.public_key_algorithm"), "ECDSA");
    ck_assert_int_eq(pt_int(t, 0, "tls.server.x509.public_key_size"), 256);
    ck_assert_int_eq(pt_int(t, 0, "tls.server.x509.version_number"), 3);
    json_t *san = pt_field(t, 0, "tls.server.x509.alternative_names");
    ck_assert_uint_eq(json_array_size(san), 3);
    ck_assert_str_eq(json_string_value(json_array_get(san, 2)), "127.0.0.1");
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "tls.detailed.server_certificate_chain")), 1);
    ck_assert_ptr_null(pt_field(t, 0, "tls.detailed.server_certificate"));
    ck_assert_ptr_null(pt_field(t, 0, "tls.server.certificate_chain"));
    pt_close(t);
    free(f);
}
END_TEST

START_TEST(hello_split_at_every_offset)
{
    char *base = run_full(16384, 0, 0);
    struct flights *f = malloc(sizeof *f);
    full_handshake(f, 16384);
    for (size_t cut = 1; cut < f->c1.n; cut++) {
        char *s = run_full(16384, cut, 0);
        ck_assert_str_eq(s, base);
        free(s);
    }
    for (size_t cut = 1; cut < f->s1.n; cut += 7) {
        char *s = run_full(16384, 0, cut);
        ck_assert_str_eq(s, base);
        free(s);
    }
    free(f);
    free(base);
}
END_TEST

START_TEST(handshake_over_many_records)
{
    /* every handshake message fragmented into 1..64-byte records */
    char *base = run_full(16384, 0, 0);
    for (size_t frag = 1; frag <= 64; frag += (frag < 8 ? 1 : 9)) {
        char *s = run_full(frag, 0, 0);
        /* same fields; only the record framing differs */
        ck_assert_str_eq(s, base);
        free(s);
    }
    free(base);
}
END_TEST

START_TEST(byte_by_byte)
{
    char *base = run_full(16384, 0, 0);
    struct flights *f = malloc(sizeof *f);
    full_handshake(f, 100);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed_bytewise(t, PB_DIR_TO_SERVER, f->c1.b, f->c1.n);
    pt_advance(t, 1000000);
    pt_feed_bytewise(t, PB_DIR_TO_CLIENT, f->s1.b, f->s1.n);
    pt_advance(t, 1000000);
    pt_feed_bytewise(t, PB_DIR_TO_SERVER, f->c2.b, f->c2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_expect_dump(t, base);
    free(base);
    pt_close(t);
    free(f);
}
END_TEST

START_TEST(client_hello_then_fin)
{
    struct pt_buf m = {.n = 0}, r = {.n = 0};
    client_hello(&m, sid_c, 32, 0);
    records(&r, 22, &m, 16384);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, r.b, r.n);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "Error");
    ck_assert(json_is_false(pt_field(t, 0, "tls.established")));
    ck_assert_ptr_null(pt_field(t, 0, "event.end"));
    ck_assert_ptr_null(pt_field(t, 0, "event.duration"));
    ck_assert_ptr_null(pt_field(t, 0, "tls.cipher"));
    /* without a ServerHello the client's version is reported */
    ck_assert_str_eq(pt_str(t, 0, "tls.version"), "1.2");
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(tls13_version_and_resumption)
{
    /* TLS 1.3: the version comes from supported_versions; the echoed
     * legacy session id with no key exchange seen reads as resumed */
    struct pt_buf m = {.n = 0}, c = {.n = 0}, s = {.n = 0};
    client_hello(&m, sid_c, 32, 0);
    records(&c, 22, &m, 16384);
    m.n = 0;
    server_hello(&m, sid_c, 32, true, false);
    records(&s, 22, &m, 16384);
    ccs(&s);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, s.b, s.n);
    struct pt_buf c2 = {.n = 0};
    ccs(&c2);
    pt_feed(t, PB_DIR_TO_SERVER, c2.b, c2.n);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "tls.version"), "1.3");
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.version"), "TLS 1.3");
    ck_assert_str_eq(pt_str(t, 0, "tls.cipher"), "TLS_AES_128_GCM_SHA256");
    ck_assert(json_is_true(pt_field(t, 0, "tls.resumed")));
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.resumption_method"), "id");
    pt_close(t);
}
END_TEST

START_TEST(ticket_resumption)
{
    struct pt_buf m = {.n = 0}, c = {.n = 0}, s = {.n = 0};
    client_hello(&m, sid_c, 0, 100);
    records(&c, 22, &m, 16384);
    m.n = 0;
    server_hello(&m, sid_s, 0, false, true);
    records(&s, 22, &m, 16384);
    ccs(&s);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, s.b, s.n);
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* the server's CCS alone counts as established */
    ck_assert(json_is_true(pt_field(t, 0, "tls.established")));
    ck_assert(json_is_true(pt_field(t, 0, "tls.resumed")));
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.resumption_method"), "ticket");
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.client_hello.extensions.session_ticket"),
                     "(100 bytes)");
    pt_close(t);
}
END_TEST

START_TEST(alerts)
{
    struct pt_buf m = {.n = 0}, c = {.n = 0};
    client_hello(&m, sid_c, 32, 0);
    records(&c, 22, &m, 16384);
    /* fatal handshake_failure from the server */
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_feed(t, PB_DIR_TO_CLIENT, alert, sizeof alert);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    json_t *a = json_array_get(pt_field(t, 0, "tls.detailed.alerts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "type")), "handshake_failure");
    ck_assert_str_eq(json_string_value(json_object_get(a, "severity")), "fatal");
    ck_assert_str_eq(json_string_value(json_object_get(a, "source")), "server");
    ck_assert_int_eq(json_integer_value(json_object_get(a, "code")), 40);
    ck_assert_str_eq(
        json_string_value(json_array_get(pt_field(t, 0, "tls.detailed.alert_types"), 0)),
        "handshake_failure");
    pt_close(t);
}
END_TEST

START_TEST(alert_only_connection)
{
    /* an alert alone is information enough for an event */
    static const uint8_t alert[] = {0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00};
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_CLIENT, alert, sizeof alert);
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "tls.detailed.version"), "(raw 0.0)");
    ck_assert_str_eq(pt_str(t, 0, "tls.version_protocol"), "unknown");
    pt_close(t);
}
END_TEST

START_TEST(nothing_parsed_no_event)
{
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "GET / HTTP/1.1\r\n\r\n"), PB_PARSE_DROP);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 0);
    ck_assert_uint_eq(pt_proto(t)->stats.parse_errors, 1);
    pt_close(t);
}
END_TEST

START_TEST(garbage_then_hello_recovers)
{
    struct pt_buf m = {.n = 0}, c = {.n = 0};
    client_hello(&m, sid_c, 32, 0);
    records(&c, 22, &m, 16384);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    ck_assert_int_eq(pt_feeds(t, PB_DIR_TO_SERVER, "\x01\x02\x03\x04\x05\x06"), PB_PARSE_DROP);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "tls.client.server_name"), "example.test");
    pt_close(t);
}
END_TEST

START_TEST(gap_publishes_and_resets)
{
    struct pt_buf m = {.n = 0}, c = {.n = 0};
    client_hello(&m, sid_c, 32, 0);
    records(&c, 22, &m, 16384);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_gap(t, PB_DIR_TO_CLIENT, 100);
    ck_assert_uint_eq(pt_nevents(t), 1);
    /* state forgotten: a new hello after the gap makes a new event */
    pt_feed(t, PB_DIR_TO_SERVER, c.b, c.n);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

START_TEST(options)
{
    struct flights *f = malloc(sizeof *f);
    full_handshake(f, 16384);
    static const char *cfgs[] = {
        CFG "\ninclude_detailed_fields: false",
        CFG "\nsend_certificates: false\ninclude_raw_certificates: true",
        CFG "\nfingerprints: [md5, SHA-256]",
    };
    for (int k = 0; k < 3; k++) {
        struct pt_conn *t = pt_open(&pb_proto_tls, cfgs[k]);
        pt_feed(t, PB_DIR_TO_SERVER, f->c1.b, f->c1.n);
        pt_feed(t, PB_DIR_TO_CLIENT, f->s1.b, f->s1.n);
        pt_feed(t, PB_DIR_TO_SERVER, f->c2.b, f->c2.n);
        ck_assert_uint_eq(pt_nevents(t), 1);
        if (k == 0) {
            ck_assert_ptr_null(pt_field(t, 0, "tls.detailed"));
            ck_assert_ptr_null(pt_field(t, 0, "tls.server.x509"));
            ck_assert_ptr_nonnull(pt_field(t, 0, "tls.server.subject"));
            ck_assert_ptr_nonnull(pt_field(t, 0, "tls.client.ja3"));
        } else if (k == 1) {
            ck_assert_ptr_null(pt_field(t, 0, "tls.server.x509"));
            ck_assert_ptr_null(pt_field(t, 0, "tls.detailed.server_certificate_chain"));
            json_t *chain = pt_field(t, 0, "tls.server.certificate_chain");
            ck_assert_uint_eq(json_array_size(chain), 2);
            const char *pem = json_string_value(json_array_get(chain, 0));
            ck_assert(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
            ck_assert_ptr_nonnull(strstr(pem, "-----END CERTIFICATE-----\n"));
        } else {
            char md5[33], sha256[65];
            ck_assert(tls_digest("md5", cert_der, cert_len, md5, sizeof md5));
            ck_assert(tls_digest("sha256", cert_der, cert_len, sha256, sizeof sha256));
            ck_assert_str_eq(pt_str(t, 0, "tls.server.hash.md5"), md5);
            ck_assert_str_eq(pt_str(t, 0, "tls.server.hash.sha256"), sha256);
            ck_assert_ptr_null(pt_field(t, 0, "tls.server.hash.sha1"));
        }
        pt_close(t);
    }
    free(f);
}
END_TEST

START_TEST(bad_fingerprint_refused)
{
    char err[256];
    const char *y = "fingerprints: [sha3]";
    struct pb_cfg *cfg = pb_cfg_parse(y, strlen(y), "test", err, sizeof err);
    ck_assert_ptr_nonnull(cfg);
    struct pb_proto p;
    memset(&p, 0, sizeof p);
    p.ops = &pb_proto_tls;
    p.cfg = cfg;
    ck_assert_int_lt(pb_proto_tls.init(&p), 0);
    ck_assert_ptr_null(p.priv);
    pb_cfg_free(cfg);
}
END_TEST

START_TEST(oversized_handshake_refused)
{
    /* a handshake header claiming more than 64 KiB drops the stream */
    static const uint8_t rec[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0x01, 0x01, 0x00, 0x01};
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, rec, sizeof rec), PB_PARSE_DROP);
    /* an oversized record header too */
    static const uint8_t big[] = {0x16, 0x03, 0x03, 0x48, 0x01};
    ck_assert_int_eq(pt_feed(t, PB_DIR_TO_SERVER, big, sizeof big), PB_PARSE_DROP);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(handshake_buffer_bounded)
{
    /* a 64 KiB message sent in 1-byte records reassembles within the cap;
     * endless Certificate messages keep at most TLS_MAX_CERTS */
    struct pt_buf *m = malloc(sizeof *m);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    uint8_t rec[6] = {0x16, 0x03, 0x03, 0x00, 0x01, 0};
    m->n = 0;
    pt_u8(m, 99); /* unknown handshake type, 65536 bytes */
    pt_be24(m, 65536);
    for (size_t i = 0; i < 4; i++) {
        rec[5] = m->b[i];
        pt_feed(t, PB_DIR_TO_CLIENT, rec, sizeof rec);
    }
    uint8_t chunk[6 * 512];
    for (size_t i = 0; i < 512; i++) {
        memcpy(chunk + 6 * i, rec, 5);
        chunk[6 * i + 5] = 0x11;
    }
    for (size_t i = 0; i < 65536 / 512; i++) {
        ck_assert_int_ne(pt_feed(t, PB_DIR_TO_CLIENT, chunk, sizeof chunk), PB_PARSE_DROP);
    }
    m->n = 0;
    certificate(m, 1);
    struct pt_buf *r = malloc(sizeof *r);
    r->n = 0;
    records(r, 22, m, 16384);
    for (int i = 0; i < 100; i++) {
        pt_feed(t, PB_DIR_TO_CLIENT, r->b, r->n);
    }
    pt_fin(t, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "tls.detailed.server_certificate_chain")) + 1,
                      TLS_MAX_CERTS);
    pt_close(t);
    free(m);
    free(r);
}
END_TEST

START_TEST(many_extensions_capped)
{
    /* a hello with 3000 empty unknown extensions keeps TLS_MAX_EXTENSIONS */
    struct pt_buf *m = malloc(sizeof *m), *r = malloc(sizeof *r);
    m->n = 0;
    r->n = 0;
    pt_u8(m, 1);
    size_t hl = m->n;
    pt_be24(m, 0);
    pt_be16(m, 0x0303);
    for (int i = 0; i < 32; i++) {
        pt_u8(m, i);
    }
    pt_u8(m, 0);
    pt_be16(m, 2);
    pt_be16(m, 0xc02f);
    pt_u8(m, 1);
    pt_u8(m, 0);
    size_t el = m->n;
    pt_be16(m, 0);
    for (unsigned i = 0; i < 3000; i++) {
        pt_be16(m, 1000 + i);
        pt_be16(m, 0);
    }
    patch(m, el, 2);
    patch(m, hl, 3);
    records(r, 22, m, 16384);
    struct pt_conn *t = pt_open(&pb_proto_tls, CFG);
    pt_feed(t, PB_DIR_TO_SERVER, r->b, r->n);
    pt_fin(t, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(pt_nevents(t), 1);
    json_t *u = pt_field(t, 0, "tls.detailed.client_hello.extensions._unparsed_");
    ck_assert_uint_eq(json_array_size(u), TLS_MAX_EXTENSIONS);
    ck_assert_str_eq(json_string_value(json_array_get(u, 0)), "1000");
    ck_assert_ptr_nonnull(pt_str(t, 0, "tls.client.ja3"));
    pt_close(t);
    free(m);
    free(r);
}
END_TEST

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

START_TEST(truncated_and_corrupted_never_crash)
{
    struct flights *f = malloc(sizeof *f);
    full_handshake(f, 200);
    struct pt_buf *all[3] = {&f->c1, &f->s1, &f->c2};
    const enum pb_dir dirs[3] = {PB_DIR_TO_SERVER, PB_DIR_TO_CLIENT, PB_DIR_TO_SERVER};
    for (int iter = 0; iter < 600; iter++) {
        struct pt_conn *t = pt_open(&pb_proto_tls, CFG "\ninclude_raw_certificates: true");
        for (int k = 0; k < 3; k++) {
            struct pt_buf *b = malloc(sizeof *b);
            memcpy(b, all[k], sizeof *b);
            /* corrupt a few bytes, maybe truncate */
            int flips = (int)(rnd() % 6);
            for (int i = 0; i < flips && b->n > 0; i++) {
                b->b[rnd() % b->n] = (uint8_t)rnd();
            }
            if (rnd() % 3 == 0 && b->n > 0) {
                b->n = rnd() % b->n;
            }
            size_t off = 0;
            while (off < b->n) {
                size_t n = 1 + rnd() % 300;
                if (n > b->n - off) {
                    n = b->n - off;
                }
                pt_feed(t, dirs[k], b->b + off, n);
                off += n;
            }
            free(b);
            if (rnd() % 10 == 0) {
                pt_gap(t, dirs[k], 10);
            }
        }
        pt_fin(t, PB_DIR_TO_SERVER);
        ck_assert_uint_le(pt_nevents(t), 2);
        pt_close(t);
    }
    /* each hello truncated at every length parses or fails cleanly */
    struct pt_buf m = {.n = 0};
    client_hello(&m, sid_c, 32, 5);
    for (size_t n = 0; n < m.n - 4; n++) {
        struct tls_hello *h = tls_parse_client_hello(m.b + 4, n);
        tls_hello_free(h);
    }
    m.n = 0;
    server_hello(&m, sid_s, 32, true, true);
    for (size_t n = 0; n < m.n - 4; n++) {
        struct tls_hello *h = tls_parse_server_hello(m.b + 4, n);
        tls_hello_free(h);
    }
    free(f);
}
END_TEST

static Suite *tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, tls12_full_handshake);
    tcase_add_test(tc, hello_split_at_every_offset);
    tcase_add_test(tc, handshake_over_many_records);
    tcase_add_test(tc, byte_by_byte);
    tcase_add_test(tc, client_hello_then_fin);
    tcase_add_test(tc, tls13_version_and_resumption);
    tcase_add_test(tc, ticket_resumption);
    tcase_add_test(tc, alerts);
    tcase_add_test(tc, alert_only_connection);
    tcase_add_test(tc, nothing_parsed_no_event);
    tcase_add_test(tc, garbage_then_hello_recovers);
    tcase_add_test(tc, gap_publishes_and_resets);
    tcase_add_test(tc, options);
    tcase_add_test(tc, bad_fingerprint_refused);
    tcase_add_test(tc, oversized_handshake_refused);
    tcase_add_test(tc, handshake_buffer_bounded);
    tcase_add_test(tc, many_extensions_capped);
    tcase_add_test(tc, truncated_and_corrupted_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(tls_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
