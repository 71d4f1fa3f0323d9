/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_log.c - logging to files (beat/log.c): libbeat's file
 * names (<name>-YYYYMMDD[-N].ndjson), rotation on size and at start-up,
 * keepfiles, permissions, JSON and plain lines, and logging.* config keys.
 */
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beat/cfg.h"
#include "beat/log.h"
#include "tests/support/ptrun.h"

static char dir[256];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pb_log_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    pb_log_close();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static size_t count_files(const char *sub, char names[][128], size_t max)
{
    char d[400];
    snprintf(d, sizeof d, "%s/%s", dir, sub);
    DIR *dh = opendir(d);
    size_t n = 0;
    struct dirent *e;
    while (dh != NULL && (e = readdir(dh)) != NULL) {
        if (e->d_name[0] != '.' && n < max) {
            snprintf(names[n++], 128, "%.120s", e->d_name);
        }
    }
    if (dh != NULL) {
        closedir(dh);
    }
    return n;
}

static void today(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(out, 16, "%Y%m%d", &tm);
}

START_TEST(rotation_by_size_keepfiles_and_startup)
{
    char logs[300];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    struct pb_log_opts o = {.level = PB_LOG_INFO,
                            .json = true,
                            .name = "packetbeat",
                            .logs_path = logs,
                            .rotate_bytes = 1000,
                            .keepfiles = 2,
                            .permissions = 0640};
    ck_assert_int_eq(pb_log_setup(&o), 0);
    char active[512], want[512], day[16];
    today(day);
    pb_log_active_file(active, sizeof active);
    snprintf(want, sizeof want, "%s/packetbeat-%s.ndjson", logs, day);
    ck_assert_str_eq(active, want);
    /* ~200 bytes a line: 1000-byte files rotate every few lines */
    for (int i = 0; i < 40; i++) {
        pb_info("test", "line %d %0100d", i, 0);
    }
    char names[64][128];
    size_t n = count_files("logs", names, 64);
    ck_assert_uint_eq(n, 3); /* active + keepfiles rotated */
    pb_log_active_file(active, sizeof active);
    struct stat st;
    ck_assert_int_eq(stat(active, &st), 0);
    ck_assert_int_le(st.st_size, 1000);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    /* the newest line is in the active file, as JSON */
    FILE *f = fopen(active, "r");
    char line[1024], last[1024] = "";
    while (fgets(line, sizeof line, f) != NULL) {
        snprintf(last, sizeof last, "%s", line);
    }
    fclose(f);
    json_t *j = json_loads(last, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "message")), "line 39"));
    ck_assert_str_eq(json_string_value(json_object_get(j, "log.level")), "info");
    json_decref(j);
    /* a later index than the first file of the day */
    snprintf(want, sizeof want, "%s/packetbeat-%s-", logs, day);
    ck_assert_int_eq(strncmp(active, want, strlen(want)), 0);

    /* start-up rotation: a new setup starts a new file */
    char before[512];
    snprintf(before, sizeof before, "%s", active);
    ck_assert_int_eq(pb_log_setup(&o), 0);
    pb_log_active_file(active, sizeof active);
    ck_assert_str_ne(active, before);
    /* ... unless rotateonstartup is false */
    o.no_rotate_on_startup = true;
    pb_info("test", "x");
    snprintf(before, sizeof before, "%s", active);
    ck_assert_int_eq(pb_log_setup(&o), 0);
    pb_log_active_file(active, sizeof active);
    ck_assert_str_eq(active, before);
}
END_TEST

START_TEST(plain_text_lines)
{
    struct pb_log_opts o = {.level = PB_LOG_WARN, .json = false, .name = "pbt", .logs_path = dir};
    ck_assert_int_eq(pb_log_setup(&o), 0);
    pb_info("x", "not written");
    pb_warn("sel", "careful %d", 7);
    char active[512];
    pb_log_active_file(active, sizeof active);
    FILE *f = fopen(active, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_null(fgets(line + 256, 256, f));
    fclose(f);
    ck_assert_ptr_nonnull(strstr(line, "\twarn\tsel\tcareful 7"));
}
END_TEST

START_TEST(config_keys)
{
    static const char y[] = "logging:\n  json: false\n  files:\n    path: /tmp/x\n    name: nm\n"
                            "    rotateeverybytes: 5MiB\n    keepfiles: 3\n    permissions: 0644\n"
                            "    interval: 1h\n    rotateonstartup: false\n";
    char err[512];
    struct pb_cfg *c = pb_cfg_parse(y, strlen(y), "t.yml", err, sizeof err);
    ck_assert_ptr_nonnull(c);
    struct pb_log_opts o = {.json = true, .name = "packetbeat"};
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), 0);
    ck_assert(!o.json);
    ck_assert_str_eq(o.files_path, "/tmp/x");
    ck_assert_str_eq(o.name, "nm");
    ck_assert_uint_eq(o.rotate_bytes, 5u * 1024 * 1024);
    ck_assert_uint_eq(o.keepfiles, 3);
    ck_assert_uint_eq(o.permissions, 0644);
    ck_assert_int_eq(o.interval_ns, 3600LL * 1000000000LL);
    ck_assert(o.no_rotate_on_startup);
    pb_cfg_free(c);
    static const char bad[] = "logging.files.keepfiles: 2000\n";
    c = pb_cfg_parse(bad, strlen(bad), "t.yml", err, sizeof err);
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "keepfiles"));
    pb_cfg_free(c);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rotation_by_size_keepfiles_and_startup);
    tcase_add_test(tc, plain_text_lines);
    tcase_add_test(tc, config_keys);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(log_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
