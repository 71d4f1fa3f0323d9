/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_diskqueue.c - queue.disk: frames in order, acks out
 * of order and the saved position, restart, segment rotation and deletion,
 * the size limit, a torn tail, a corrupt frame; and the pipeline with
 * queue.disk keeping unacked events across a restart.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "publisher/diskqueue.h"
#include "publisher/output.h"
#include "publisher/pipeline.h"
#include "tests/support/ptrun.h"

static char dir[256];

static void rm_rf(const char *d)
{
    DIR *dd = opendir(d);
    if (dd == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(dd)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        char p[512];
        snprintf(p, sizeof p, "%s/%s", d, de->d_name);
        unlink(p);
    }
    closedir(dd);
    rmdir(d);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pb-dq-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    strncat(dir, "/q", sizeof dir - strlen(dir) - 1);
}

static void teardown(void)
{
    rm_rf(dir);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    rmdir(dir);
}

static size_t count_segments(void)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        n += l > 4 && strcmp(de->d_name + l - 4, ".seg") == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static struct pb_diskq *open_q(uint64_t max, uint64_t seg)
{
    char err[256] = "";
    struct pb_diskq_opts o = {.path = dir, .max_size = max, .segment_size = seg};
    struct pb_diskq *q = pb_diskq_open(&o, err, sizeof err);
    ck_assert_msg(q != NULL, "open: %s", err);
    return q;
}

static void put(struct pb_diskq *q, int i)
{
    char b[64];
    int n = snprintf(b, sizeof b, "{\"n\":%d}", i);
    ck_assert_int_eq(pb_diskq_append(q, b, (size_t)n), 0);
}

/* reads one frame and returns its "n" */
static int get(struct pb_diskq *q, uint64_t *id)
{
    char *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(pb_diskq_read(q, &data, &len, id), 1);
    int v = -1;
    ck_assert_int_eq(sscanf(data, "{\"n\":%d}", &v), 1);
    pb_free(data);
    return v;
}

START_TEST(frames_in_order_and_position_survives_restart)
{
    struct pb_diskq *q = open_q(0, 1u << 20);
    for (int i = 0; i < 100; i++) {
        put(q, i);
    }
    ck_assert_uint_eq(pb_diskq_unread(q), 100);
    uint64_t ids[40];
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(get(q, &ids[i]), i);
        ck_assert_uint_eq(ids[i], (uint64_t)i);
    }
    /* ack 10..39 first: the position stays at 0 (0..9 not acked) */
    for (int i = 10; i < 40; i++) {
        pb_diskq_ack(q, ids[i]);
    }
    ck_assert_uint_eq(pb_diskq_unacked(q), 100);
    for (int i = 0; i < 5; i++) {
        pb_diskq_ack(q, ids[i]);
    }
    ck_assert_uint_eq(pb_diskq_unacked(q), 95);
    pb_diskq_ack(q, ids[2]); /* twice: ignored */
    pb_diskq_ack(q, 99);     /* not read yet: ignored */
    ck_assert_uint_eq(pb_diskq_unacked(q), 95);
    pb_diskq_close(q);

    /* restart: reading starts at the first unacked frame (5); the ones
       acked after the gap (10..39) come again: at-least-once */
    q = open_q(0, 1u << 20);
    ck_assert_uint_eq(pb_diskq_unread(q), 95);
    uint64_t id;
    ck_assert_int_eq(get(q, &id), 5);
    ck_assert_uint_eq(id, 5);
    for (int i = 6; i < 100; i++) {
        ck_assert_int_eq(get(q, &id), i);
        pb_diskq_ack(q, id);
    }
    char *data;
    size_t len;
    ck_assert_int_eq(pb_diskq_read(q, &data, &len, &id), 0);
    pb_diskq_ack(q, 5);
    ck_assert_uint_eq(pb_diskq_unacked(q), 0);
    /* new frames continue the ids */
    put(q, 1000);
    ck_assert_int_eq(get(q, &id), 1000);
    ck_assert_uint_eq(id, 100);
    pb_diskq_close(q);
}
END_TEST

START_TEST(segments_rotate_and_are_deleted_when_acked)
{
    /* 24 byte header + frames of 8 + ~8 bytes: about 10 frames a segment */
    struct pb_diskq *q = open_q(0, 200);
    for (int i = 0; i < 100; i++) {
        put(q, i);
    }
    size_t segs = count_segments();
    ck_assert_uint_gt(segs, 5);
    uint64_t id;
    for (int i = 0; i < 50; i++) {
        ck_assert_int_eq(get(q, &id), i);
        pb_diskq_ack(q, id);
    }
    ck_assert_uint_lt(count_segments(), segs);
    ck_assert_uint_gt(count_segments(), 0);
    for (int i = 50; i < 100; i++) {
        ck_assert_int_eq(get(q, &id), i);
        pb_diskq_ack(q, id);
    }
    ck_assert_uint_eq(count_segments(), 0);
    ck_assert_uint_eq(pb_diskq_bytes(q), 0);
    put(q, 7);
    ck_assert_uint_eq(count_segments(), 1);
    ck_assert_int_eq(get(q, &id), 7);
    pb_diskq_close(q);
}
END_TEST

START_TEST(full_queue_refuses_until_acked)
{
    struct pb_diskq *q = open_q(400, 200);
    int n = 0;
    while (n < 1000) {
        char b[64];
        int l = snprintf(b, sizeof b, "{\"n\":%d}", n);
        int rc = pb_diskq_append(q, b, (size_t)l);
        if (rc == -PB_ELIMIT) {
            break;
        }
        ck_assert_int_eq(rc, 0);
        n++;
    }
    ck_assert_int_gt(n, 5);
    ck_assert_int_lt(n, 1000);
    ck_assert_uint_le(pb_diskq_bytes(q), 400);
    /* bigger than a segment: never fits */
    char big[300];
    memset(big, 'x', sizeof big);
    ck_assert_int_eq(pb_diskq_append(q, big, sizeof big), -PB_EINVAL);
    /* ack the first segment's frames: room again */
    uint64_t id;
    for (int i = 0; i < n / 2 + 1; i++) {
        get(q, &id);
        pb_diskq_ack(q, id);
    }
    put(q, 5000);
    pb_diskq_close(q);
}
END_TEST

START_TEST(torn_tail_is_cut_and_corrupt_frame_skipped)
{
    struct pb_diskq *q = open_q(0, 1u << 20);
    for (int i = 0; i < 10; i++) {
        put(q, i);
    }
    pb_diskq_close(q);
    char seg[512];
    snprintf(seg, sizeof seg, "%s/0.seg", dir);
    /* a crash mid-write: half a frame header */
    int fd = open(seg, O_WRONLY | O_APPEND);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "\x20\x00\x00", 3), 3);
    close(fd);
    struct stat st;
    stat(seg, &st);
    off_t torn = st.st_size;
    q = open_q(0, 1u << 20);
    stat(seg, &st);
    ck_assert_int_eq(st.st_size, torn - 3);
    ck_assert_uint_eq(pb_diskq_unread(q), 10);
    put(q, 10);
    pb_diskq_close(q);

    /* flip a byte inside frame 0 after it was scanned at open: the reader
       finds the checksum wrong and skips the segment's frames */
    q = open_q(0, 1u << 20);
    fd = open(seg, O_WRONLY);
    ck_assert_int_eq(pwrite(fd, "Z", 1, 24 + 8 + 2), 1);
    close(fd);
    char *data;
    size_t len;
    uint64_t id;
    ck_assert_int_lt(pb_diskq_read(q, &data, &len, &id), 0);
    ck_assert_uint_eq(pb_diskq_skipped(q), 11);
    ck_assert_int_eq(pb_diskq_read(q, &data, &len, &id), 0);
    ck_assert_uint_eq(pb_diskq_unacked(q), 0);
    pb_diskq_close(q);
}
END_TEST

/* ---- the pipeline with queue.disk ------------------------------------------- */

static struct {
    pthread_mutex_t mu;
    bool ack;
    int seen[4096];
    size_t nseen;
} fo;

static void fo_publish(struct pb_output *o, struct pb_batch *b)
{
    pthread_mutex_lock(&fo.mu);
    bool ack = fo.ack;
    if (ack) {
        for (size_t i = 0; i < pb_batch_len(b); i++) {
            json_t *ev = pb_batch_event(b, i);
            if (fo.nseen < 4096) {
                fo.seen[fo.nseen++] = (int)json_integer_value(json_object_get(ev, "id"));
            }
        }
    }
    pthread_mutex_unlock(&fo.mu);
    if (ack) {
        pb_batch_ack(b);
    } else {
        pb_batch_cancelled(b);
    }
}

static const struct pb_output_ops fo_ops = {
    .name = "dqfake",
    .flags = PB_OUTPUT_NET,
    .default_bulk_max_size = 50,
    .default_max_retries = 3,
    .publish = fo_publish,
};

static struct pb_pipeline *dq_pipeline(void)
{
    char yaml[1024];
    char err[512] = "";
    snprintf(yaml, sizeof yaml,
             "queue.disk:\n  path: %s\n  max_size: 20MB\n  segment_size: 1MB\n"
             "output.dqfake:\n  backoff.init: 5ms\n  backoff.max: 10ms\n",
             dir);
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_cfg_free(c);
    return pl;
}

START_TEST(pipeline_keeps_unacked_events_across_restart)
{
    pb_output_register_test(&fo_ops);
    fo.ack = false;
    fo.nseen = 0;
    struct pb_pipeline *pl = dq_pipeline();
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 300; i++) {
        json_t *ev = json_pack("{s:i,s:s}", "id", i, "msg", "hello \"disk\" ☃");
        ck_assert_int_eq(pb_pipeline_publish(pl, ev, true), 0);
    }
    struct pb_pipeline_stats st;
    pb_pipeline_get_stats(pl, &st);
    ck_assert_uint_eq(st.published, 300);
    ck_assert_uint_eq(st.active, 300);
    pb_pipeline_close(pl, 50000000LL); /* the output never acks: all stay on disk */

    pthread_mutex_lock(&fo.mu);
    fo.ack = true;
    pthread_mutex_unlock(&fo.mu);
    pl = dq_pipeline();
    pb_pipeline_get_stats(pl, &st);
    ck_assert_uint_eq(st.active, 300);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    json_t *ev = json_pack("{s:i}", "id", 300);
    ck_assert_int_eq(pb_pipeline_publish(pl, ev, true), 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fo.nseen, 301);
    for (int i = 0; i <= 300; i++) {
        ck_assert_int_eq(fo.seen[i], i);
    }
    ck_assert_uint_eq(count_segments(), 0);

    /* and nothing is left for a third run */
    pl = dq_pipeline();
    pb_pipeline_get_stats(pl, &st);
    ck_assert_uint_eq(st.active, 0);
    pb_pipeline_close(pl, 0);
    pb_output_register_test(NULL);
}
END_TEST

START_TEST(disk_queue_config_errors)
{
    static const char *const bad[] = {
        "queue.disk:\n  path: /tmp/x\noutput.console: {}\n",
        "queue.disk:\n  max_size: 1MB\noutput.console: {}\n",
        "queue.disk:\n  max_size: 20MB\n  segment_size: 15MB\noutput.console: {}\n",
        "queue.disk:\n  max_size: 20MB\n  segment_size: 10KB\noutput.console: {}\n",
    };
    static const char *const want[] = {
        "missing required field",
        "cannot be less than 10MB",
        "at least twice as big as segment_size",
        "cannot be less than 1MB",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        struct pb_cfg *c = pb_cfg_parse(bad[i], strlen(bad[i]), "test", err, sizeof err);
        ck_assert_ptr_nonnull(c);
        struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
        ck_assert_ptr_null(pl);
        ck_assert_msg(strstr(err, want[i]) != NULL, "case %zu: %s", i, err);
        pb_cfg_free(c);
    }
}
END_TEST

static Suite *dq_suite(void)
{
    Suite *s = suite_create("diskqueue");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, frames_in_order_and_position_survives_restart);
    tcase_add_test(tc, segments_rotate_and_are_deleted_when_acked);
    tcase_add_test(tc, full_queue_refuses_until_acked);
    tcase_add_test(tc, torn_tail_is_cut_and_corrupt_frame_skipped);
    tcase_add_test(tc, pipeline_keeps_unacked_events_across_restart);
    tcase_add_test(tc, disk_queue_config_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pthread_mutex_init(&fo.mu, NULL);
    int failed = pt_run_suite(dq_suite());
    return failed == 0 ? 0 : 1;
}
