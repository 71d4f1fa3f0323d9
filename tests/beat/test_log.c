/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_log.c - logging to files (beat/log.c): libbeat's file
 * names (<name>-YYYYMMDD[-N].ndjson), rotation on size and at start-up,
 * keepfiles, permissions, JSON and plain lines, and logging.* config keys;
 * the event data log (logging.event_data.*): defaults, its own files
 * whatever the main log's output, stderr or nowhere.
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
                            .files = {.rotate_bytes = 1000, .keepfiles = 2, .permissions = 0640}};
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
    o.files.no_rotate_on_startup = true;
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
    ck_assert_str_eq(o.files.path, "/tmp/x");
    ck_assert_str_eq(o.files.name, "nm");
    ck_assert_uint_eq(o.files.rotate_bytes, 5u * 1024 * 1024);
    ck_assert_uint_eq(o.files.keepfiles, 3);
    ck_assert_uint_eq(o.files.permissions, 0644);
    ck_assert_int_eq(o.files.interval_ns, 3600LL * 1000000000LL);
    ck_assert(o.files.no_rotate_on_startup);
    pb_cfg_free(c);
    static const char bad[] = "logging.files.keepfiles: 2000\n";
    c = pb_cfg_parse(bad, strlen(bad), "t.yml", err, sizeof err);
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "keepfiles"));
    pb_cfg_free(c);
}
END_TEST

/* The one line of the only file in dir/sub named <prefix>... (NULL: none). */
static json_t *only_line(const char *sub, const char *prefix, char *name_out, size_t nlen)
{
    char names[16][128];
    size_t n = count_files(sub, names, 16), hits = 0;
    json_t *j = NULL;
    for (size_t k = 0; k < n; k++) {
        if (strncmp(names[k], prefix, strlen(prefix)) != 0) {
            continue;
        }
        hits++;
        snprintf(name_out, nlen, "%s", names[k]);
        char path[600];
        snprintf(path, sizeof path, "%s/%s/%s", dir, sub, names[k]);
        j = json_load_file(path, JSON_DISABLE_EOF_CHECK, NULL);
    }
    ck_assert_uint_le(hits, 1);
    return j;
}

START_TEST(event_data_config)
{
    /* libbeat's logp.DefaultEventConfig; files.path is path.logs */
    static const char y[] = "path.logs: /var/log/pb\n";
    char err[512];
    struct pb_cfg *c = pb_cfg_parse(y, strlen(y), "t.yml", err, sizeof err);
    ck_assert_ptr_nonnull(c);
    struct pb_log_opts o = {.json = true, .name = "packetbeat"};
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), 0);
    ck_assert(o.event_to_files);
    ck_assert(!o.event_to_stderr);
    ck_assert_str_eq(o.event_files.path, "/var/log/pb");
    ck_assert_ptr_null(o.event_files.name); /* <name>-events-data */
    ck_assert_uint_eq(o.event_files.rotate_bytes, 5u * 1024 * 1024);
    ck_assert_uint_eq(o.event_files.keepfiles, 2);
    ck_assert_uint_eq(o.event_files.permissions, 0600);
    ck_assert_int_eq(o.event_files.interval_ns, 0);
    ck_assert(o.event_files.no_rotate_on_startup);
    /* the main log's defaults are not the event log's */
    ck_assert_uint_eq(o.files.rotate_bytes, 10u * 1024 * 1024);
    ck_assert_uint_eq(o.files.keepfiles, 7);
    ck_assert(!o.files.no_rotate_on_startup);
    pb_cfg_free(c);

    static const char y2[] = "logging.files.keepfiles: 9\n"
                             "logging.event_data:\n  to_stderr: true\n  to_files: false\n"
                             "  files:\n    path: /tmp/ev\n    name: evs\n"
                             "    rotateeverybytes: 1MiB\n    keepfiles: 4\n"
                             "    permissions: 0640\n    interval: 24h\n"
                             "    rotateonstartup: true\n";
    c = pb_cfg_parse(y2, strlen(y2), "t.yml", err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), 0);
    ck_assert(o.event_to_stderr);
    ck_assert(!o.event_to_files);
    ck_assert_str_eq(o.event_files.path, "/tmp/ev");
    ck_assert_str_eq(o.event_files.name, "evs");
    ck_assert_uint_eq(o.event_files.rotate_bytes, 1024u * 1024);
    ck_assert_uint_eq(o.event_files.keepfiles, 4);
    ck_assert_uint_eq(o.event_files.permissions, 0640);
    ck_assert_int_eq(o.event_files.interval_ns, 24LL * 3600 * 1000000000LL);
    ck_assert(!o.event_files.no_rotate_on_startup);
    ck_assert_uint_eq(o.files.keepfiles, 9);
    pb_cfg_free(c);

    /* bad values name the event_data key */
    static const char bad[] = "logging.event_data.files.keepfiles: 1\n";
    c = pb_cfg_parse(bad, strlen(bad), "t.yml", err, sizeof err);
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'logging.event_data.files.keepfiles'"));
    pb_cfg_free(c);
    static const char bad2[] = "logging.event_data.files.interval: 10ms\n";
    c = pb_cfg_parse(bad2, strlen(bad2), "t.yml", err, sizeof err);
    ck_assert_int_eq(pb_log_read_cfg(c, &o, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'logging.event_data.files.interval'"));
    pb_cfg_free(c);
}
END_TEST

START_TEST(event_data_file)
{
    char logs[300];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    /* the main log on stderr (-e): event data still goes to its file */
    struct pb_log_opts o = {.level = PB_LOG_INFO,
                            .to_stderr = true,
                            .json = true,
                            .name = "packetbeat",
                            .event_to_files = true,
                            .event_files = {.path = logs, .no_rotate_on_startup = true}};
    ck_assert_int_eq(pb_log_setup(&o), 0);
    char names[16][128], name[128], day[16];
    ck_assert_uint_eq(count_files("logs", names, 16), 0); /* created by its first line */
    pb_info("elasticsearch", "main line");
    pb_log_event_data(PB_LOG_DEBUG, "elasticsearch", "debug: below the level, not written");
    ck_assert_uint_eq(count_files("logs", names, 16), 0);
    /* a message longer than the main log's 2 KiB is kept whole */
    static char big[6001];
    memset(big, 'x', sizeof big - 1);
    pb_log_event_data(PB_LOG_WARN, "elasticsearch",
                      "Cannot index event '{\"a\":\"%s\"}' (status=400)", big);
    json_t *j = only_line("logs", "packetbeat-events-data-", name, sizeof name);
    ck_assert_ptr_nonnull(j);
    today(day);
    char want[128];
    snprintf(want, sizeof want, "packetbeat-events-data-%s.ndjson", day);
    ck_assert_str_eq(name, want);
    ck_assert_str_eq(json_string_value(json_object_get(j, "log.type")), "event");
    ck_assert_str_eq(json_string_value(json_object_get(j, "log.level")), "warn");
    ck_assert_str_eq(json_string_value(json_object_get(j, "log.logger")), "elasticsearch");
    const char *m = json_string_value(json_object_get(j, "message"));
    ck_assert_uint_eq(strlen(m), strlen("Cannot index event '{\"a\":\"\"}' (status=400)") + 6000);
    json_decref(j);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", logs, name);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    off_t first = st.st_size;

    /* no start-up rotation by default: a restart appends to the same file */
    ck_assert_int_eq(pb_log_setup(&o), 0);
    pb_log_event_data(PB_LOG_ERROR, "redis", "Failed event: {}");
    ck_assert_uint_eq(count_files("logs", names, 16), 1);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_gt(st.st_size, first);

    /* rotation and keepfiles as the main log's; the main log's files in
     * the same directory are not the event log's (nor the reverse) */
    o.to_stderr = false;
    o.logs_path = logs;
    o.files.keepfiles = 2;
    o.event_files.rotate_bytes = 7000;
    ck_assert_int_eq(pb_log_setup(&o), 0);
    for (int i = 0; i < 6; i++) {
        pb_log_event_data(PB_LOG_WARN, "elasticsearch", "%s", big);
    }
    size_t n = count_files("logs", names, 16), ev = 0, main = 0;
    for (size_t k = 0; k < n; k++) {
        if (strncmp(names[k], "packetbeat-events-data-", 23) == 0) {
            ev++;
        } else if (strncmp(names[k], "packetbeat-", 11) == 0) {
            main++;
        }
    }
    ck_assert_uint_eq(ev, 3); /* the active file and 2 kept */
    ck_assert_uint_eq(main, 1);
}
END_TEST

START_TEST(event_data_stderr_or_nowhere)
{
    char logs[300];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    char names[16][128];
    /* to_files: false (and no to_stderr): the line goes nowhere, and
     * never to the main log */
    struct pb_log_opts o = {.level = PB_LOG_INFO,
                            .json = true,
                            .name = "packetbeat",
                            .logs_path = logs,
                            .event_files = {.path = logs}};
    ck_assert_int_eq(pb_log_setup(&o), 0);
    pb_log_event_data(PB_LOG_WARN, "elasticsearch", "secret event");
    ck_assert_uint_eq(count_files("logs", names, 16), 1);
    char active[512];
    pb_log_active_file(active, sizeof active);
    FILE *f = fopen(active, "r");
    char buf[256] = "";
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    ck_assert_uint_eq(got, 0);
    /* to_stderr: on stderr, no file */
    o.event_to_files = true;
    o.event_to_stderr = true;
    ck_assert_int_eq(pb_log_setup(&o), 0);
    char errpath[400];
    snprintf(errpath, sizeof errpath, "%s/stderr", dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *ef = freopen(errpath, "w", stderr);
    ck_assert_ptr_nonnull(ef);
    pb_log_event_data(PB_LOG_WARN, "elasticsearch", "event on stderr");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char name[128];
    ck_assert_ptr_null(only_line("logs", "packetbeat-events-data", name, sizeof name));
    f = fopen(errpath, "r");
    got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "\"message\":\"event on stderr\""));
    ck_assert_ptr_nonnull(strstr(buf, "\"log.type\":\"event\""));
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
    tcase_add_test(tc, event_data_config);
    tcase_add_test(tc, event_data_file);
    tcase_add_test(tc, event_data_stderr_or_nowhere);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(log_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
