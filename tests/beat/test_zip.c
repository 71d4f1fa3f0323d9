/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_zip.c - unpacking zip archives (beat/zip.c): stored and
 * deflated entries, names that would leave the directory, bad CRCs,
 * headers that understate a size, the caps, and every truncation of a good
 * archive. The archives are built here, byte by byte.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "beat/zip.h"
#include "tests/support/ptrun.h"

/* ---- building archives ---------------------------------------------------- */

struct zb {
    uint8_t data[1 << 20]; /* local headers and data */
    size_t len;
    uint8_t cd[1 << 14]; /* central directory */
    size_t cdlen;
    unsigned n;
};

static void put(uint8_t *b, size_t *len, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        b[(*len)++] = (uint8_t)(v >> (8 * i));
    }
}

/* Adds an entry: method 0 stores data, 8 deflates it; crc_xor and usize
 * (when not -1) falsify the headers. */
static void zb_add(struct zb *z, const char *name, const void *data, size_t len, int method,
                   uint32_t crc_xor, long usize)
{
    uint8_t *comp = (uint8_t *)data;
    size_t clen = len;
    if (method == 8) {
        comp = malloc(len + 1024);
        z_stream zs = {0};
        ck_assert_int_eq(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *)(uintptr_t)data;
        zs.avail_in = (uInt)len;
        zs.next_out = comp;
        zs.avail_out = (uInt)(len + 1024);
        ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
        clen = zs.total_out;
        deflateEnd(&zs);
    }
    uint32_t crc = (uint32_t)crc32(0, data, (uInt)len) ^ crc_xor;
    uint32_t us = usize >= 0 ? (uint32_t)usize : (uint32_t)len;
    size_t nl = strlen(name);
    size_t local = z->len;
    put(z->data, &z->len, 0x04034b50u, 4);
    put(z->data, &z->len, 20, 2);
    put(z->data, &z->len, 0, 2);
    put(z->data, &z->len, (uint64_t)method, 2);
    put(z->data, &z->len, 0, 4);
    put(z->data, &z->len, crc, 4);
    put(z->data, &z->len, clen, 4);
    put(z->data, &z->len, us, 4);
    put(z->data, &z->len, nl, 2);
    put(z->data, &z->len, 0, 2);
    memcpy(z->data + z->len, name, nl);
    z->len += nl;
    memcpy(z->data + z->len, comp, clen);
    z->len += clen;
    put(z->cd, &z->cdlen, 0x02014b50u, 4);
    put(z->cd, &z->cdlen, 0x0314, 2);
    put(z->cd, &z->cdlen, 20, 2);
    put(z->cd, &z->cdlen, 0, 2);
    put(z->cd, &z->cdlen, (uint64_t)method, 2);
    put(z->cd, &z->cdlen, 0, 4);
    put(z->cd, &z->cdlen, crc, 4);
    put(z->cd, &z->cdlen, clen, 4);
    put(z->cd, &z->cdlen, us, 4);
    put(z->cd, &z->cdlen, nl, 2);
    put(z->cd, &z->cdlen, 0, 2);
    put(z->cd, &z->cdlen, 0, 2);
    put(z->cd, &z->cdlen, 0, 2);
    put(z->cd, &z->cdlen, 0, 2);
    put(z->cd, &z->cdlen, 0, 4);
    put(z->cd, &z->cdlen, local, 4);
    memcpy(z->cd + z->cdlen, name, nl);
    z->cdlen += nl;
    z->n++;
    if (comp != data) {
        free(comp);
    }
}

/* The whole archive (owned by z until the next call). */
static const uint8_t *zb_finish(struct zb *z, size_t *len)
{
    size_t off = z->len;
    memcpy(z->data + z->len, z->cd, z->cdlen);
    z->len += z->cdlen;
    put(z->data, &z->len, 0x06054b50u, 4);
    put(z->data, &z->len, 0, 2);
    put(z->data, &z->len, 0, 2);
    put(z->data, &z->len, z->n, 2);
    put(z->data, &z->len, z->n, 2);
    put(z->data, &z->len, z->cdlen, 4);
    put(z->data, &z->len, off, 4);
    put(z->data, &z->len, 0, 2);
    *len = z->len;
    return z->data;
}

static struct zb *zb_new(void)
{
    struct zb *z = calloc(1, sizeof *z);
    ck_assert_ptr_nonnull(z);
    return z;
}

static char *tmpdir(void)
{
    char *d = strdup("/tmp/pb-test-zip.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void done(char *dir)
{
    ck_assert_int_eq(pb_zip_remove_tree(dir), 0);
    struct stat st;
    ck_assert_int_ne(stat(dir, &st), 0); /* removed with everything in it */
    free(dir);
}

/* ---- tests ---------------------------------------------------------------------------- */

static const char json[] = "{\"attributes\":{\"title\":\"Mine\"},\"id\":\"mine\"}";

START_TEST(stored_and_deflated)
{
    struct zb *z = zb_new();
    static uint8_t big[300000]; /* more than one inflate buffer */
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 7 % 251);
    }
    zb_add(z, "top/", "", 0, 0, 0, -1);
    zb_add(z, "top/packetbeat/7/dashboard/mine.json", json, strlen(json), 0, 0, -1);
    zb_add(z, "top/packetbeat/7/search/big.bin", big, sizeof big, 8, 0, -1);
    zb_add(z, "top/empty", "", 0, 8, 0, -1);
    size_t len;
    const uint8_t *zip = zb_finish(z, &len);
    char *dir = tmpdir();
    char err[512] = "";
    ck_assert_msg(pb_zip_extract(zip, len, dir, NULL, err, sizeof err) == 0, "%s", err);
    size_t n;
    char *got = slurp(dir, "top/packetbeat/7/dashboard/mine.json", &n);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(n, strlen(json));
    ck_assert(memcmp(got, json, n) == 0);
    free(got);
    got = slurp(dir, "top/packetbeat/7/search/big.bin", &n);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(n, sizeof big);
    ck_assert(memcmp(got, big, n) == 0);
    free(got);
    got = slurp(dir, "top/empty", &n);
    ck_assert_ptr_nonnull(got);
    ck_assert_uint_eq(n, 0);
    free(got);
    done(dir);
    free(z);
}
END_TEST

START_TEST(names_outside_refused)
{
    static const char *const bad[] = {"../x.json", "top/../../x.json", "/x.json", "top/..",
                                      "a/b/../../../x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct zb *z = zb_new();
        zb_add(z, bad[i], json, strlen(json), 0, 0, -1);
        size_t len;
        const uint8_t *zip = zb_finish(z, &len);
        char *dir = tmpdir();
        char err[512] = "";
        ck_assert_int_lt(pb_zip_extract(zip, len, dir, NULL, err, sizeof err), 0);
        ck_assert_msg(strstr(err, "Zip file contains files outside of the target directory: ") ==
                          err,
                      "%s: %s", bad[i], err);
        ck_assert_ptr_nonnull(strstr(err, bad[i]));
        done(dir);
        free(z);
    }
    /* names with dots that stay inside are fine */
    struct zb *z = zb_new();
    zb_add(z, "top/..x/.../a..json", json, strlen(json), 0, 0, -1);
    size_t len;
    const uint8_t *zip = zb_finish(z, &len);
    char *dir = tmpdir();
    char err[512] = "";
    ck_assert_msg(pb_zip_extract(zip, len, dir, NULL, err, sizeof err) == 0, "%s", err);
    done(dir);
    free(z);
}
END_TEST

START_TEST(bad_crc)
{
    for (int method = 0; method <= 8; method += 8) {
        struct zb *z = zb_new();
        zb_add(z, "top/a.json", json, strlen(json), method, 0x10, -1);
        size_t len;
        const uint8_t *zip = zb_finish(z, &len);
        char *dir = tmpdir();
        char err[512] = "";
        ck_assert_int_lt(pb_zip_extract(zip, len, dir, NULL, err, sizeof err), 0);
        ck_assert_str_eq(err, "zip: checksum error (top/a.json)");
        done(dir);
        free(z);
    }
}
END_TEST

/* A deflated entry whose header says 100 bytes but inflates to 1 MB: the
 * unpacking stops at 100 bytes, it does not write the rest first. */
START_TEST(understated_size)
{
    struct zb *z = zb_new();
    uint8_t *zeros = calloc(1, 1 << 20);
    zb_add(z, "top/bomb", zeros, 1 << 20, 8, 0, 100);
    free(zeros);
    size_t len;
    const uint8_t *zip = zb_finish(z, &len);
    char *dir = tmpdir();
    char err[512] = "";
    ck_assert_int_lt(pb_zip_extract(zip, len, dir, NULL, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "more data than the 100 bytes its header says") != NULL, "%s", err);
    size_t n = 0;
    char *got = slurp(dir, "top/bomb", &n);
    ck_assert_uint_le(n, 100);
    free(got);
    done(dir);
    free(z);
}
END_TEST

START_TEST(caps)
{
    struct zb *z = zb_new();
    zb_add(z, "a", json, strlen(json), 0, 0, -1);
    zb_add(z, "b", json, strlen(json), 8, 0, -1);
    zb_add(z, "c", json, strlen(json), 8, 0, -1);
    size_t len;
    const uint8_t *zip = zb_finish(z, &len);
    char *dir = tmpdir();
    char err[512] = "";
    struct pb_zip_limits lim = {2, 1000, 1000};
    ck_assert_int_lt(pb_zip_extract(zip, len, dir, &lim, err, sizeof err), 0);
    ck_assert_str_eq(err, "zip: 3 entries, more than the cap of 2");
    lim = (struct pb_zip_limits){3, strlen(json) - 1, 1000};
    ck_assert_int_lt(pb_zip_extract(zip, len, dir, &lim, err, sizeof err), 0);
    char want[128];
    snprintf(want, sizeof want,
             "zip: a is %zu bytes uncompressed, more than the cap of %zu bytes an entry",
             strlen(json), strlen(json) - 1);
    ck_assert_str_eq(err, want);
    lim = (struct pb_zip_limits){3, 1000, 2 * strlen(json) + 1};
    ck_assert_int_lt(pb_zip_extract(zip, len, dir, &lim, err, sizeof err), 0);
    snprintf(want, sizeof want, "zip: more than the cap of %zu bytes uncompressed in all",
             2 * strlen(json) + 1);
    ck_assert_str_eq(err, want);
    lim = (struct pb_zip_limits){3, strlen(json), 3 * strlen(json)};
    ck_assert_msg(pb_zip_extract(zip, len, dir, &lim, err, sizeof err) == 0, "%s", err);
    done(dir);
    free(z);
}
END_TEST

START_TEST(not_zip)
{
    /* an end record that announces one entry in an empty central directory */
    static const char lone_end[22] = {'P', 'K', 5, 6, 0, 0, 0, 0, 1, 0, 1};
    static const struct {
        const char *p;
        size_t len;
    } texts[] = {{"", 0}, {"this is not a zip archive\n", 26}, {lone_end, sizeof lone_end}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char *dir = tmpdir();
        char err[512] = "";
        ck_assert_int_lt(
            pb_zip_extract((const uint8_t *)texts[i].p, texts[i].len, dir, NULL, err, sizeof err),
            0);
        ck_assert_msg(strncmp(err, "zip: not a valid zip file", 25) == 0, "%s", err);
        done(dir);
    }
    struct zb *z = zb_new();
    zb_add(z, "a", json, strlen(json), 0, 0, -1);
    size_t len;
    uint8_t *zip = (uint8_t *)zb_finish(z, &len);
    zip[30 + 1 + strlen(json) + 10] = 12; /* the central record's method: bzip2 */
    char *dir = tmpdir();
    char err[512] = "";
    ck_assert_int_lt(pb_zip_extract(zip, len, dir, NULL, err, sizeof err), 0);
    ck_assert_str_eq(err, "zip: unsupported compression algorithm (method 12 in a)");
    done(dir);
    free(z);
}
END_TEST

/* Every prefix of a good archive fails cleanly (no crash, no read past
 * the end: run under ASan in CI's sanitizer build). */
START_TEST(every_truncation)
{
    struct zb *z = zb_new();
    zb_add(z, "top/a.json", json, strlen(json), 0, 0, -1);
    zb_add(z, "top/b.json", json, strlen(json), 8, 0, -1);
    size_t len;
    const uint8_t *zip = zb_finish(z, &len);
    char *dir = tmpdir();
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exactly sized (+1: malloc(0)) */
        memcpy(copy, zip, cut);
        char err[512] = "";
        ck_assert_int_lt(pb_zip_extract(copy, cut, dir, NULL, err, sizeof err), 0);
        ck_assert(err[0] != '\0');
        free(copy);
    }
    char err[512] = "";
    ck_assert_msg(pb_zip_extract(zip, len, dir, NULL, err, sizeof err) == 0, "%s", err);
    done(dir);
    free(z);
}
END_TEST

static Suite *zip_suite(void)
{
    Suite *s = suite_create("zip");
    TCase *c = tcase_create("extract");
    tcase_add_test(c, stored_and_deflated);
    tcase_add_test(c, names_outside_refused);
    tcase_add_test(c, bad_crc);
    tcase_add_test(c, understated_size);
    tcase_add_test(c, caps);
    tcase_add_test(c, not_zip);
    tcase_add_test(c, every_truncation);
    suite_add_tcase(s, c);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(zip_suite());
    return failed == 0 ? 0 : 1;
}
