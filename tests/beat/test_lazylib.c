/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_lazylib.c - libcurl, librdkafka, libpcap and OpenSSL loaded on first use
 * (beat/lazy): a missing library is an error that names it; the forwarding
 * functions reach the real ones, arguments of every kind included.
 */
#include <check.h>
#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "beat/lazy/lazylib.h"
#include "tests/support/ptrun.h"

START_TEST(missing_library_is_named)
{
    struct pb_lazylib l = {.soname = "libpb-not-there.so.9"};
    char err[256] = "";
    ck_assert_int_eq(pb_lazylib_load(&l, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot load libpb-not-there.so.9") != NULL, "%s", err);
    /* tried once: the same answer again */
    err[0] = '\0';
    ck_assert_int_eq(pb_lazylib_load(&l, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "libpb-not-there.so.9") != NULL, "%s", err);
}
END_TEST

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

START_TEST(curl_calls_reach_libcurl)
{
    char err[256] = "";
    ck_assert_msg(pb_lazy_curl(err, sizeof err) == 0, "%s", err);
    CURL *h = curl_easy_init();
    ck_assert_ptr_nonnull(h);
    /* an option of each argument type: long, pointer, function, off_t, blob */
    ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink), CURLE_OK);
    ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)1 << 33),
                     CURLE_OK);
    struct curl_blob blob = {.data = (void *)"x", .len = 1, .flags = CURL_BLOB_COPY};
    ck_assert_int_eq(curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob), CURLE_OK);
    /* an unknown option is refused by libcurl itself */
    ck_assert_int_ne(curl_easy_setopt(h, (CURLoption)9999, 0L), CURLE_OK);
    struct curl_slist *l = curl_slist_append(NULL, "X-A: 1");
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(l->data, "X-A: 1");
    curl_slist_free_all(l);
    char *url = NULL;
    ck_assert_int_eq(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url), CURLE_OK);
    ck_assert_str_eq(url, "http://127.0.0.1:1/");
    ck_assert_str_eq(curl_easy_strerror(CURLE_OK), "No error");
    curl_easy_cleanup(h);
}
END_TEST

START_TEST(rdkafka_calls_reach_librdkafka)
{
    char err[256] = "";
    ck_assert_msg(pb_lazy_rdkafka(err, sizeof err) == 0, "%s", err);
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(rd_kafka_conf_set(c, "client.id", "pb", err, sizeof err), RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(c, "no.such.key", "1", err, sizeof err),
                     RD_KAFKA_CONF_UNKNOWN);
    ck_assert_msg(strstr(err, "no.such.key") != NULL, "%s", err);
    ck_assert_str_eq(rd_kafka_err2name(RD_KAFKA_RESP_ERR__QUEUE_FULL), "_QUEUE_FULL");
    rd_kafka_conf_destroy(c);
}
END_TEST

/* A filter compiled and run by libpcap through the forwarding functions:
   a TCP segment to port 80 passes "tcp dst port 80", one to 81 does not. */
START_TEST(pcap_calls_reach_libpcap)
{
    char err[256] = "";
    ck_assert_msg(pb_lazy_pcap(err, sizeof err) == 0, "%s", err);
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pcap_datalink(p), DLT_EN10MB);
    struct bpf_program prog;
    ck_assert_int_ne(pcap_compile(p, &prog, "tcp dst port nonsense", 1, PCAP_NETMASK_UNKNOWN), 0);
    ck_assert_msg(strlen(pcap_geterr(p)) > 0, "no error text");
    ck_assert_int_eq(pcap_compile(p, &prog, "tcp dst port 80", 1, PCAP_NETMASK_UNKNOWN), 0);
    unsigned char frame[54] = {0};
    frame[12] = 0x08; /* IPv4 */
    frame[14] = 0x45;
    frame[17] = 40; /* total length */
    frame[22] = 64;
    frame[23] = 6; /* TCP */
    frame[36] = 0;
    frame[37] = 80; /* destination port */
    frame[46] = 0x50;
    struct pcap_pkthdr h = {.caplen = sizeof frame, .len = sizeof frame};
    ck_assert_int_ne(pcap_offline_filter(&prog, &h, frame), 0);
    frame[37] = 81;
    ck_assert_int_eq(pcap_offline_filter(&prog, &h, frame), 0);
    pcap_freecode(&prog);
    pcap_close(p);
    ck_assert_str_eq(pcap_statustostr(PCAP_ERROR_NO_SUCH_DEVICE), "No such device exists");
}
END_TEST

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

/* OpenSSL through the forwarding functions (the test links OpenSSL too,
   but its calls go to the forwarders the binary has): known answers of
   SHA-256, HMAC-SHA-256 (RFC 4231 case 2) and base64, a refused
   certificate, a TLS client context. */
START_TEST(openssl_calls_reach_openssl)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char text[2 * EVP_MAX_MD_SIZE + 1];
    ck_assert_int_eq(EVP_Digest("abc", 3, md, &len, EVP_sha256(), NULL), 1);
    hex(md, len, text);
    ck_assert_str_eq(text, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_ptr_nonnull(pb_lazy_ssl_lib.handle);
    const char *msg = "what do ya want for nothing?";
    ck_assert_ptr_nonnull(
        HMAC(EVP_sha256(), "Jefe", 4, (const unsigned char *)msg, strlen(msg), md, &len));
    hex(md, len, text);
    ck_assert_str_eq(text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    unsigned char b64[16], back[16];
    ck_assert_int_eq(EVP_EncodeBlock(b64, (const unsigned char *)"pb!", 3), 4);
    ck_assert_int_eq(memcmp(b64, "cGIh", 4), 0);
    ck_assert_int_eq(EVP_DecodeBlock(back, b64, 4), 3);
    ck_assert_int_eq(memcmp(back, "pb!", 3), 0);
    const unsigned char junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    const unsigned char *in = junk;
    ck_assert_ptr_null(d2i_X509(NULL, &in, sizeof junk));
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    SSL_CTX_free(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lazylib");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, missing_library_is_named);
    tcase_add_test(tc, curl_calls_reach_libcurl);
    tcase_add_test(tc, rdkafka_calls_reach_librdkafka);
    tcase_add_test(tc, pcap_calls_reach_libpcap);
    tcase_add_test(tc, openssl_calls_reach_openssl);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? 0 : 1;
}
