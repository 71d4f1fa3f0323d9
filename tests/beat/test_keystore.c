/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_keystore.c - the file keystore (beat/keystore.c): round
 * trip through the encrypted file, libbeat's layout ("v1" + base64 of salt,
 * iv, AES-GCM data), 0600 files, strict permissions, a corrupted file, and
 * ${KEY} in a config resolved from the keystore before the environment.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/keystore.h"
#include "tests/support/ptrun.h"

static char dir[256], path[300];
static char err[1024];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pb_ks_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/packetbeat.keystore", dir);
}

static void teardown(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(round_trip)
{
    struct pb_keystore *ks = pb_keystore_open(path, true, err, sizeof err);
    ck_assert_msg(ks != NULL, "%s", err);
    ck_assert(!pb_keystore_persisted(ks));
    ck_assert_int_eq(pb_keystore_create(ks, err, sizeof err), 0);
    ck_assert_int_eq(pb_keystore_set(ks, "ES_PWD", "s3cr\xc3\xa9t", 7), 0);
    ck_assert_int_eq(pb_keystore_set(ks, "OTHER", "x", 1), 0);
    ck_assert_int_eq(pb_keystore_save(ks, err, sizeof err), 0);
    pb_keystore_free(ks);

    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    FILE *f = fopen(path, "r");
    char head[3] = "";
    ck_assert_int_eq(fread(head, 1, 2, f), 2);
    fclose(f);
    ck_assert_str_eq(head, "v1");
    /* salt 64 + iv 12 + data + tag 16, base64: far more than the secrets */
    ck_assert_int_gt(st.st_size, 2 + (64 + 12 + 16) * 4 / 3);

    ks = pb_keystore_open(path, true, err, sizeof err);
    ck_assert_msg(ks != NULL, "%s", err);
    ck_assert(pb_keystore_persisted(ks));
    char *v = pb_keystore_get(ks, "ES_PWD");
    ck_assert_str_eq(v, "s3cr\xc3\xa9t");
    pb_free(v);
    ck_assert(pb_keystore_del(ks, "OTHER"));
    ck_assert_int_eq(pb_keystore_save(ks, err, sizeof err), 0);
    pb_keystore_free(ks);
    ks = pb_keystore_open(path, true, err, sizeof err);
    ck_assert_ptr_null(pb_keystore_get(ks, "OTHER"));
    pb_keystore_free(ks);
}
END_TEST

START_TEST(strict_perms_and_corruption)
{
    struct pb_keystore *ks = pb_keystore_open(path, true, err, sizeof err);
    ck_assert_int_eq(pb_keystore_create(ks, err, sizeof err), 0);
    pb_keystore_free(ks);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_ptr_null(pb_keystore_open(path, true, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "can only be writable and readable by the owner"));
    ks = pb_keystore_open(path, false, err, sizeof err);
    ck_assert_ptr_nonnull(ks);
    pb_keystore_free(ks);
    /* flip one byte of the ciphertext: authentication fails */
    FILE *f = fopen(path, "r+");
    fseek(f, 120, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 120, SEEK_SET);
    fputc(c == 'A' ? 'B' : 'A', f);
    fclose(f);
    ck_assert_ptr_null(pb_keystore_open(path, false, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "could not decrypt"));
    f = fopen(path, "w");
    fputs("v2AAAA", f);
    fclose(f);
    ck_assert_ptr_null(pb_keystore_open(path, false, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "doesn't match expected version"));
}
END_TEST

START_TEST(config_uses_keystore_before_env)
{
    struct pb_keystore *ks = pb_keystore_open(path, true, err, sizeof err);
    ck_assert_int_eq(pb_keystore_set(ks, "PB_TEST_PWD", "from-keystore", 13), 0);
    ck_assert_int_eq(pb_keystore_save(ks, err, sizeof err), 0);
    pb_keystore_free(ks);
    setenv("PB_TEST_PWD", "from-env", 1);
    setenv("PB_TEST_ONLY_ENV", "env-only", 1);
    pb_keystore_install_resolver(dir, NULL);
    static const char yaml[] = "output.elasticsearch:\n  password: ${PB_TEST_PWD}\n"
                               "  username: ${PB_TEST_ONLY_ENV}\n  api_key: ${MISSING:dflt}\n";
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test.yml", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    const char *s = NULL;
    ck_assert_int_eq(pb_cfg_str(c, "output.elasticsearch.password", NULL, &s), 0);
    ck_assert_str_eq(s, "from-keystore");
    ck_assert_int_eq(pb_cfg_str(c, "output.elasticsearch.username", NULL, &s), 0);
    ck_assert_str_eq(s, "env-only");
    ck_assert_int_eq(pb_cfg_str(c, "output.elasticsearch.api_key", NULL, &s), 0);
    ck_assert_str_eq(s, "dflt");
    pb_cfg_free(c);
    pb_cfg_set_resolver(NULL, NULL);
}
END_TEST

static Suite *keystore_suite(void)
{
    Suite *s = suite_create("keystore");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, strict_perms_and_corruption);
    tcase_add_test(tc, config_uses_keystore_before_env);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(keystore_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
