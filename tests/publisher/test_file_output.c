/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_file_output.c - output.file through the pipeline:
 * NDJSON validity and Beats key order, file names, rotation by size,
 * number_of_files, permissions, rotate_on_startup, oversized events; and
 * the JSON / format codec the outputs share.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "publisher/codec.h"
#include "publisher/pipeline.h"
#include "tests/support/ptrun.h"

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_fileout_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    umask(022);
}

static void rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
                continue;
            }
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
        if (d != NULL) {
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void teardown(void)
{
    rm_rf(tmpdir);
}

static int today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static json_t *ev(int64_t id, size_t pad)
{
    json_t *e = json_object();
    json_object_set_new(e, "id", json_integer(id));
    char *p = pb_malloc(pad + 1);
    memset(p, 'x', pad);
    p[pad] = '\0';
    json_object_set_new(e, "pad", json_string(p));
    pb_free(p);
    json_object_set_new(e, "@metadata",
                        json_pack("{s:s,s:s}", "beat", "packetbeat", "type", "_doc"));
    json_object_set_new(e, "@timestamp", json_string("2020-01-01T00:00:00.000Z"));
    return e;
}

/* Runs a pipeline with output.file (extra settings in `extra`, YAML flow
 * map entries) over events ids [first, first+n) with `pad` bytes each. */
static void run(const char *extra, int first, int n, size_t pad)
{
    char yaml[2048];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 1ms}\n"
             "output.file: {path: '%s/out', filename: packetbeat%s%s}\n",
             tmpdir, extra[0] ? ", " : "", extra);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = first; i < first + n; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i, pad), true), 0);
    }
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}

struct fileinfo {
    char name[256];
    int date;
    long index;
    off_t size;
    off_t disk; /* bytes of blocks allocated */
    mode_t mode;
};

static int fi_cmp(const void *a, const void *b)
{
    const struct fileinfo *x = a;
    const struct fileinfo *y = b;
    if (x->date != y->date) {
        return x->date < y->date ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Files in tmpdir/out, oldest first; each name must be ours. */
static size_t list_out(struct fileinfo *fi, size_t max)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/out", tmpdir);
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] == '.') {
            continue;
        }
        struct fileinfo *f = &fi[n];
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        int date = 0;
        long index = 0;
        char tail[64] = "";
        int got = sscanf(de->d_name, "packetbeat-%8d%63s", &date, tail);
        ck_assert_msg(got >= 1, "unexpected file %s", de->d_name);
        if (strcmp(tail, ".ndjson") != 0) {
            ck_assert_msg(sscanf(tail, "-%ld.ndjson", &index) == 1, "bad name %s", de->d_name);
            char want[64];
            snprintf(want, sizeof want, "-%ld.ndjson", index);
            ck_assert_str_eq(tail, want);
        }
        f->date = date;
        f->index = index;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        ck_assert_int_eq(stat(p, &st), 0);
        f->size = st.st_size;
        f->disk = (off_t)st.st_blocks * 512;
        f->mode = st.st_mode & 0777;
        n++;
    }
    closedir(d);
    qsort(fi, n, sizeof *fi, fi_cmp);
    return n;
}

static char *read_file(const char *name, size_t *len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/out/%s", tmpdir, name);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = pb_malloc((size_t)sz + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)sz, f), (size_t)sz);
    buf[sz] = '\0';
    fclose(f);
    *len = (size_t)sz;
    return buf;
}

/* Appends the ids of every line (each must be a JSON object ending in \n). */
static size_t read_ids(const struct fileinfo *fi, size_t nf, int64_t *ids, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t len;
        char *buf = read_file(fi[i].name, &len);
        ck_assert_msg(len == 0 || buf[len - 1] == '\n', "%s: unterminated line", fi[i].name);
        char *line = buf;
        while (line < buf + len) {
            char *nl = memchr(line, '\n', (size_t)(buf + len - line));
            ck_assert_ptr_nonnull(nl);
            json_error_t je;
            json_t *o = json_loadb(line, (size_t)(nl - line), JSON_REJECT_DUPLICATES, &je);
            ck_assert_msg(o != NULL && json_is_object(o), "%s: bad line: %s", fi[i].name, je.text);
            if (n < max) {
                ids[n++] = json_integer_value(json_object_get(o, "id"));
            }
            json_decref(o);
            line = nl + 1;
        }
        pb_free(buf);
    }
    return n;
}

/* A pipeline with output.file at tmpdir/out (more of its settings in
 * file_extra, YAML flow map entries) and queue.mem's settings queue (*c:
 * the config, for the caller to free after closing it). */
static struct pb_pipeline *pipeline_at(const char *file_extra, const char *queue, struct pb_cfg **c)
{
    char yaml[1024];
    char err[512] = "";
    snprintf(yaml, sizeof yaml, "output.file: {path: '%s/out'%s%s}\nqueue.mem: {%s}\n", tmpdir,
             file_extra[0] != '\0' ? ", " : "", file_extra, queue);
    *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(*c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(*c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    return pl;
}

/* The output directory holds one file, and it is want, byte for byte. */
static void expect_one_file(const struct pb_codec_buf *want)
{
    struct fileinfo fi[4];
    ck_assert_uint_eq(list_out(fi, 4), 1);
    size_t len;
    char *buf = read_file(fi[0].name, &len);
    ck_assert_uint_eq(len, want->len);
    ck_assert(memcmp(buf, want->p, len) == 0);
    pb_free(buf);
}

/* ---- tests ---------------------------------------------------------------- */

START_TEST(ndjson_lines_in_beats_order)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_at("", "events: 64, flush.min_events: 8, flush.timeout: 0", &c);
    pb_pipeline_start(pl);
    for (int i = 0; i < 20; i++) {
        json_t *e = ev(i, 3);
        json_object_set_new(e, "url", json_string("http://h/p?a=<b>&c=\xc3\xa9\x01\xe2\x80\xa8"));
        json_object_set_new(e, "ratio", json_real(0.1));
        pb_pipeline_publish(pl, e, true);
    }
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);

    struct fileinfo fi[8];
    size_t nf = list_out(fi, 8);
    ck_assert_uint_eq(nf, 1);
    char want[64];
    snprintf(want, sizeof want, "packetbeat-%08d.ndjson", today());
    ck_assert_str_eq(fi[0].name, want);
    ck_assert_int_eq(fi[0].mode, 0600);

    int64_t ids[64];
    ck_assert_uint_eq(read_ids(fi, nf, ids, 64), 20);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(ids[i], i);
    }
    size_t len;
    char *buf = read_file(fi[0].name, &len);
    const char *first = "{\"@timestamp\":\"2020-01-01T00:00:00.000Z\",\"@metadata\":{\"beat\":"
                        "\"packetbeat\",\"type\":\"_doc\"},\"id\":0,\"pad\":\"xxx\",\"url\":"
                        "\"http://h/p?a=<b>&c=\xc3\xa9\\u0001\\u2028\",\"ratio\":0.1}\n";
    ck_assert_msg(strncmp(buf, first, strlen(first)) == 0, "got: %.300s", buf);
    pb_free(buf);
}
END_TEST

/* Event i of lines_written_in_order: most encode exactly and reach the
   file from the queue's slabs, every seventh keeps a float that would not
   read back (the output encodes its tree itself), one is larger than a
   slab (a block of its own). */
static json_t *mixed_ev(int i)
{
    json_t *e = ev(i, i == 1500 ? 300000 : (size_t)(i % 97));
    if (i % 7 == 3) {
        json_object_set_new(e, "f", json_real(2.0));
    }
    return e;
}

START_TEST(lines_written_in_order_from_slabs_and_copies)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_at(
        "rotate_every_kb: 1048576", "events: 4096, flush.min_events: 512, flush.timeout: 1ms", &c);
    const int n = 6000; /* ~700 KB: several slabs */
    struct pb_codec_buf want = {0};
    for (int i = 0; i < n; i++) {
        json_t *e = mixed_ev(i);
        ck_assert_int_eq(pb_json_encode(e, false, false, &want), 0);
        ck_assert_int_eq(pb_codec_buf_append(&want, "\n", 1), 0);
        json_decref(e);
    }
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, mixed_ev(i), true), 0);
    }
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);

    expect_one_file(&want);
    pb_codec_buf_free(&want);
}
END_TEST

/* A batch of ~20 MB: its lines lie in some 80 of the queue's slabs, more
   runs than one gathered write takes, and still reach the file whole and in
   order. */
START_TEST(batch_of_many_slabs_written_whole)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_at(
        "rotate_every_kb: 1048576", "events: 8192, flush.min_events: 4096, flush.timeout: 1s", &c);
    const int n = 8192;
    struct pb_codec_buf want = {0};
    for (int i = 0; i < n; i++) {
        json_t *e = ev(i, 5000);
        ck_assert_int_eq(pb_json_encode(e, false, false, &want), 0);
        ck_assert_int_eq(pb_codec_buf_append(&want, "\n", 1), 0);
        json_decref(e);
    }
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i, 5000), true), 0);
    }
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);

    expect_one_file(&want);
    pb_codec_buf_free(&want);
}
END_TEST

/* A file that stops taking bytes in the middle of a batch (RLIMIT_FSIZE:
   a short write, then EFBIG) is cut back to the batch's start: what it
   keeps is whole lines, each the event it says, in order, and fewer than
   were published. */
START_TEST(failed_write_leaves_whole_lines)
{
    enum { N = 3000, PAD = 300, LIMIT = 200000 };
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_at(
        "rotate_every_kb: 1048576", "events: 4096, flush.min_events: 256, flush.timeout: 1ms", &c);
    /* the limit holds for Check's own message file too: set while the
       pipeline writes only, with no assertion in between */
    struct rlimit was;
    getrlimit(RLIMIT_FSIZE, &was);
    struct rlimit rl = {.rlim_cur = LIMIT, .rlim_max = was.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    int set = setrlimit(RLIMIT_FSIZE, &rl);
    int started = pb_pipeline_start(pl), published = 0;
    for (int i = 0; i < N; i++) {
        published += pb_pipeline_publish(pl, ev(i, PAD), true) == 0;
    }
    pb_pipeline_close(pl, -1);
    setrlimit(RLIMIT_FSIZE, &was);
    pb_cfg_free(c);
    ck_assert_int_eq(set, 0);
    ck_assert_int_eq(started, 0);
    ck_assert_int_eq(published, N);

    struct fileinfo fi[4];
    ck_assert_uint_eq(list_out(fi, 4), 1);
    size_t len;
    char *buf = read_file(fi[0].name, &len);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_le(len, LIMIT);
    ck_assert_msg(buf[len - 1] == '\n', "the file ends inside a line");
    int64_t last = -1;
    size_t lines = 0;
    for (char *line = buf; line < buf + len;) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        ck_assert_ptr_nonnull(nl);
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &je);
        ck_assert_msg(o != NULL, "line %zu: %s", lines, je.text);
        int64_t id = json_integer_value(json_object_get(o, "id"));
        json_decref(o);
        ck_assert_int_gt(id, last);
        struct pb_codec_buf want = {0};
        json_t *e = ev(id, PAD);
        ck_assert_int_eq(pb_json_encode(e, false, false, &want), 0);
        json_decref(e);
        ck_assert_uint_eq(want.len, (size_t)(nl - line));
        ck_assert(memcmp(want.p, line, want.len) == 0);
        pb_codec_buf_free(&want);
        last = id;
        lines++;
        line = nl + 1;
    }
    ck_assert_uint_lt(lines, N);
    pb_free(buf);
}
END_TEST

START_TEST(no_events_no_file)
{
    run("", 0, 0, 0);
    struct fileinfo fi[4];
    ck_assert_uint_eq(list_out(fi, 4), 0);
}
END_TEST

START_TEST(rotation_by_size)
{
    /* lines of ~210 bytes, 1 KiB files */
    run("rotate_every_kb: 1, number_of_files: 1024", 0, 60, 100);
    struct fileinfo fi[64];
    size_t nf = list_out(fi, 64);
    ck_assert_uint_ge(nf, 8);
    int d = today();
    for (size_t i = 0; i < nf; i++) {
        ck_assert_int_eq(fi[i].date, d);
        ck_assert_int_eq(fi[i].index, (long)i); /* D.ndjson, then -1, -2, ... */
        /* at most the limit plus the one line libbeat does not count */
        ck_assert_int_le(fi[i].size, 1024 + 256);
        if (i + 1 < nf) {
            ck_assert_int_gt(fi[i].size, 1024 - 256); /* rotated only when full */
        }
    }
    int64_t ids[128];
    ck_assert_uint_eq(read_ids(fi, nf, ids, 128), 60);
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(ids[i], i); /* oldest file first gives the event order */
    }
}
END_TEST

START_TEST(number_of_files_keeps_newest)
{
    run("rotate_every_kb: 1, number_of_files: 2", 0, 100, 100);
    struct fileinfo fi[64];
    size_t nf = list_out(fi, 64);
    ck_assert_uint_eq(nf, 3); /* two rotated files plus the active one */
    int64_t ids[128];
    size_t n = read_ids(fi, nf, ids, 128);
    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(ids[n - 1], 99);
    for (size_t i = 1; i < n; i++) {
        ck_assert_int_eq(ids[i], ids[i - 1] + 1); /* the newest events, contiguous */
    }
    ck_assert_int_gt(fi[0].index, 0); /* the first files were purged */
}
END_TEST

START_TEST(permissions_and_directory_mode)
{
    char yaml[1024];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
             "output.file:\n  path: '%s/p/a/b'\n  permissions: 0640\n",
             tmpdir);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(1, 1), true);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);

    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/p/a/b", tmpdir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0750); /* 0700 + r-x for the group */
    snprintf(p, sizeof p, "%s/p/a/b/packetbeat-%08d.ndjson", tmpdir, today());
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);

    /* defaults: 0600 files in a 0700 directory */
    run("", 0, 1, 1);
    snprintf(p, sizeof p, "%s/out", tmpdir);
    ck_assert_int_eq(stat(p, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    struct fileinfo fi[4];
    ck_assert_uint_eq(list_out(fi, 4), 1);
    ck_assert_int_eq(fi[0].mode, 0600);
}
END_TEST

START_TEST(rotate_on_startup)
{
    struct fileinfo fi[8];
    int64_t ids[64];
    run("", 0, 3, 10);
    ck_assert_uint_eq(list_out(fi, 8), 1);
    /* default: an existing file is rotated away at the first write */
    run("", 3, 2, 10);
    size_t nf = list_out(fi, 8);
    ck_assert_uint_eq(nf, 2);
    ck_assert_int_eq(fi[1].index, 1);
    ck_assert_uint_eq(read_ids(fi, 1, ids, 64), 3);
    ck_assert_uint_eq(read_ids(fi + 1, 1, ids, 64), 2);
    ck_assert_int_eq(ids[0], 3);
    /* rotate_on_startup: false appends to the newest file */
    run("rotate_on_startup: false", 5, 2, 10);
    nf = list_out(fi, 8);
    ck_assert_uint_eq(nf, 2);
    ck_assert_uint_eq(read_ids(fi + 1, 1, ids, 64), 4);
    ck_assert_int_eq(ids[0], 3);
    ck_assert_int_eq(ids[3], 6);
}
END_TEST

START_TEST(oversized_event_dropped_whole)
{
    char yaml[1024];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
             "output.file: {path: '%s/out', rotate_every_kb: 1}\n",
             tmpdir);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(0, 10), true);
    pb_pipeline_publish(pl, ev(1, 2000), true); /* larger than a file */
    pb_pipeline_publish(pl, ev(2, 10), true);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
    struct fileinfo fi[8];
    size_t nf = list_out(fi, 8);
    int64_t ids[8];
    ck_assert_uint_eq(read_ids(fi, nf, ids, 8), 2);
    ck_assert_int_eq(ids[0], 0);
    ck_assert_int_eq(ids[1], 2);
}
END_TEST

START_TEST(config_errors)
{
    static const char *const bad[][2] = {
        {"number_of_files: 1", "the number_of_files to keep should be between 2 and 1024"},
        {"number_of_files: 2000", "between 2 and 1024"},
        {"rotate_every_kb: 0", "rotate_every_kb"},
        {"permissions: 01777", "file rotator permissions mask of 1777 is invalid"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[1024];
        char err[512] = "";
        snprintf(yaml, sizeof yaml, "output.file: {path: '%s/out', %s}\n", tmpdir, bad[i][0]);
        struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
        ck_assert_msg(c != NULL, "%s", err);
        struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
        ck_assert_msg(pl == NULL, "accepted %s", bad[i][0]);
        ck_assert_msg(strstr(err, bad[i][1]) != NULL, "%s: got '%s'", bad[i][0], err);
        pb_cfg_free(c);
    }
}
END_TEST

START_TEST(path_time_format)
{
    char yaml[1024];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
             "output.file: {path: '%s/out/%%{+yyyy}-x'}\n",
             tmpdir);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(0, 1), true);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/out/%04d-x", tmpdir, tm.tm_year + 1900);
    ck_assert_msg(stat(p, &st) == 0 && S_ISDIR(st.st_mode), "no %s", p);
}
END_TEST

/* ---- codec ------------------------------------------------------------------- */

static void expect_json(json_t *v, bool pretty, bool html, const char *want)
{
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_json_encode(v, pretty, html, &b), 0);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    ck_assert_str_eq(b.p, want);
    pb_codec_buf_free(&b);
    json_decref(v);
}

START_TEST(codec_floats_like_go)
{
    static const struct {
        double v;
        const char *s;
    } cases[] = {
        {0.1, "0.1"},
        {1.5, "1.5"},
        {3.0, "3"},
        {-2.5, "-2.5"},
        {123456.0, "123456"},
        {1e6, "1e+06"},
        {1234567.0, "1.234567e+06"},
        {0.0001, "0.0001"},
        {0.00001, "1e-05"},
        {1e21, "1e+21"},
        {0.0, "0"},
        {2.0 / 3.0, "0.6666666666666666"},
        {100.25, "100.25"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_json(json_real(cases[i].v), false, false, cases[i].s);
    }
}
END_TEST

START_TEST(codec_strings)
{
    expect_json(json_string("a/b<c>&\"\\\n\t\x1f"), false, false,
                "\"a/b<c>&\\\"\\\\\\n\\t\\u001f\"");
    expect_json(json_string("<&>"), false, true, "\"\\u003c\\u0026\\u003e\"");
    expect_json(json_string("\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9"), false, false,
                "\"\\u2028\\u2029\xc3\xa9\"");
    expect_json(json_stringn_nocheck("a\xff"
                                     "b",
                                     3),
                false, false, "\"a\\ufffdb\"");
    expect_json(json_pack("{s:[],s:{},s:n,s:b,s:I}", "a", "o", "n", "t", 1, "i",
                          (json_int_t)-9007199254740993LL),
                false, false, "{\"a\":[],\"o\":{},\"n\":null,\"t\":true,\"i\":-9007199254740993}");
}
END_TEST

START_TEST(codec_format)
{
    char yaml[] = "codec.format.string: '%{[id]} %{[a.b]} %{[x]:none}'\n";
    char err[256] = "";
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_codec codec;
    ck_assert_int_eq(pb_codec_init(&codec, c, false, err, sizeof err), 0);
    json_t *e = json_pack("{s:i,s:{s:s}}", "id", 7, "a", "b", "hi");
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_codec_encode(&codec, e, &b), 0);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    ck_assert_str_eq(b.p, "7 hi none");
    pb_codec_buf_free(&b);
    json_decref(e);
    pb_codec_fini(&codec);
    pb_cfg_free(c);

    char two[] = "codec: {json: {}, format: {string: x}}\n";
    c = pb_cfg_parse(two, strlen(two), "test", err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_ne(pb_codec_init(&codec, c, false, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "more than one namespace") != NULL, "%s", err);
    pb_codec_fini(&codec);
    pb_cfg_free(c);
}
END_TEST

/* The blocks reserved ahead of a file's end while it is written are given
   back when it is closed, by rotation or at the end: no file keeps more
   than its size in whole 4 KiB blocks (plus one for the file system's
   rounding). */
START_TEST(no_blocks_kept_past_the_end)
{
    /* ~2 KB lines: 64 KiB files, then one file of some 600 KB */
    run("rotate_every_kb: 64, number_of_files: 1024", 0, 300, 2000);
    run("rotate_every_kb: 4096, number_of_files: 1024", 300, 300, 2000);
    struct fileinfo fi[64];
    size_t nf = list_out(fi, 64);
    ck_assert_uint_ge(nf, 9);
    for (size_t i = 0; i < nf; i++) {
        off_t whole = (fi[i].size + 4095) / 4096 * 4096;
        ck_assert_msg(fi[i].disk <= whole + 4096, "%s: %lld bytes on disk for %lld", fi[i].name,
                      (long long)fi[i].disk, (long long)fi[i].size);
    }
    ck_assert_int_gt(fi[nf - 1].size, 500000);
    int64_t ids[1024];
    ck_assert_uint_eq(read_ids(fi, nf, ids, 1024), 600);
}
END_TEST

static Suite *file_suite(void)
{
    Suite *s = suite_create("file_output");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ndjson_lines_in_beats_order);
    tcase_add_test(tc, no_events_no_file);
    tcase_add_test(tc, rotation_by_size);
    tcase_add_test(tc, number_of_files_keeps_newest);
    tcase_add_test(tc, permissions_and_directory_mode);
    tcase_add_test(tc, rotate_on_startup);
    tcase_add_test(tc, oversized_event_dropped_whole);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, path_time_format);
    tcase_add_test(tc, codec_floats_like_go);
    tcase_add_test(tc, codec_strings);
    tcase_add_test(tc, codec_format);
    tcase_add_test(tc, lines_written_in_order_from_slabs_and_copies);
    tcase_add_test(tc, batch_of_many_slabs_written_whole);
    tcase_add_test(tc, failed_write_leaves_whole_lines);
    tcase_add_test(tc, no_blocks_kept_past_the_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(file_suite());
    return failed == 0 ? 0 : 1;
}
