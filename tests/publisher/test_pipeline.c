/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_pipeline.c - the publisher pipeline driven through a
 * fake output registered with pb_output_register_test: blocking and
 * non-blocking publish, batch sizes, retries with backoff and max_retries,
 * cancelled batches, partial retries, asynchronous completion, close and
 * the output selection errors; plus the console output on a redirected
 * stdout.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "beat/event.h"
#include "publisher/codec.h"
#include "publisher/output.h"
#include "publisher/pipeline.h"
#include "tests/support/ptrun.h"

/* ---- the fake output ---------------------------------------------------- */

enum fake_mode {
    FAKE_ACK,       /* ack everything */
    FAKE_FAIL_N,    /* retry the first fail_n attempts, then ack */
    FAKE_CANCEL_N,  /* cancel the first fail_n attempts, then ack */
    FAKE_RETRY_ODD, /* first attempt of a batch: retry_events(odd indices) */
    FAKE_DROP,      /* drop everything */
    FAKE_HOLD,      /* keep batches until release_thread() acks them */
    FAKE_GIVE_UP_2, /* ack, two of the events given up */
};

#define MAX_ATTEMPTS 4096

static struct {
    pthread_mutex_t mu;
    enum fake_mode mode;
    int fail_n;
    int attempts;
    int connects;
    int connect_fail_n;
    size_t max_batch;
    size_t nbatches;
    int64_t t_attempt[MAX_ATTEMPTS];
    int64_t seen[100000]; /* ids in the order they were acked */
    size_t nseen;
    int64_t delay_us; /* per publish */
    struct pb_batch *held[64];
    size_t nheld;
    bool retried_once;
    size_t last_batch_ids[64];
    size_t last_batch_len;
    size_t njson;     /* acked events the queue held encoded */
    size_t json_bad;  /* of those, encodings that differ from the codec's */
    size_t ntree;     /* acked events the queue held as a tree */
    size_t nline;     /* acked events with a line (pb_batch_event_line) */
    size_t line_bad;  /* of those, lines other than the encoding and '\n' */
    size_t adjacent;  /* lines that start where the batch's previous one ended */
} fake;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ev_id(json_t *ev)
{
    return json_integer_value(json_object_get(ev, "id"));
}

static void record_ack(struct pb_batch *b)
{
    const char *prev_end = NULL;
    for (size_t i = 0; i < pb_batch_len(b); i++) {
        size_t jlen = 0;
        const char *js = pb_batch_event_json(b, i, &jlen);
        size_t llen = 0;
        const char *line = pb_batch_event_line(b, i, &llen);
        if (line != NULL) {
            fake.nline++;
            if (line != js || llen != jlen + 1 || line[jlen] != '\n') {
                fake.line_bad++;
            }
            fake.adjacent += line == prev_end;
            prev_end = line + llen;
        } else {
            prev_end = NULL;
        }
        if (js != NULL) {
            struct pb_codec_buf enc = {0};
            fake.njson++;
            if (pb_json_encode(pb_batch_event(b, i), false, false, &enc) != 0 || enc.len != jlen ||
                memcmp(enc.p, js, jlen) != 0) {
                fake.json_bad++;
            }
            pb_codec_buf_free(&enc);
        } else {
            fake.ntree++;
        }
        if (fake.nseen < sizeof fake.seen / sizeof fake.seen[0]) {
            fake.seen[fake.nseen++] = ev_id(pb_batch_event(b, i));
        }
    }
}

static int fake_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    bool bad = false;
    pb_cfg_bool(cfg, "fail_init", false, &bad);
    if (bad) {
        snprintf(err, errlen, "fake init failed");
        return -PB_EINVAL;
    }
    bool trees = false;
    pb_cfg_bool(cfg, "trees", false, &trees);
    o->queue_json = !trees; /* trees: an output that needs every tree */
    return 0;
}

static int fake_connect(struct pb_output *o)
{
    pthread_mutex_lock(&fake.mu);
    fake.connects++;
    int fail = fake.connects <= fake.connect_fail_n;
    pthread_mutex_unlock(&fake.mu);
    return fail ? -PB_EIO : 0;
}

static void fake_publish(struct pb_output *o, struct pb_batch *b)
{
    if (fake.delay_us > 0) {
        usleep((useconds_t)fake.delay_us);
    }
    pthread_mutex_lock(&fake.mu);
    int attempt = fake.attempts++;
    if (attempt < MAX_ATTEMPTS) {
        fake.t_attempt[attempt] = now_ns();
    }
    size_t n = pb_batch_len(b);
    fake.nbatches++;
    if (n > fake.max_batch) {
        fake.max_batch = n;
    }
    fake.last_batch_len = n < 64 ? n : 64;
    for (size_t i = 0; i < fake.last_batch_len; i++) {
        fake.last_batch_ids[i] = (size_t)ev_id(pb_batch_event(b, i));
    }
    enum fake_mode mode = fake.mode;
    if (mode == FAKE_HOLD && fake.nheld < 64) {
        fake.held[fake.nheld++] = b;
        pthread_mutex_unlock(&fake.mu);
        return;
    }
    if ((mode == FAKE_FAIL_N || mode == FAKE_CANCEL_N) && attempt < fake.fail_n) {
        pthread_mutex_unlock(&fake.mu);
        if (mode == FAKE_FAIL_N) {
            pb_batch_retry(b);
        } else {
            pb_batch_cancelled(b);
        }
        return;
    }
    if (mode == FAKE_RETRY_ODD && !fake.retried_once) {
        size_t idx[64];
        size_t k = 0;
        fake.retried_once = true;
        for (size_t i = 1; i < n && k < 64; i += 2) {
            idx[k++] = i;
        }
        /* the acked ones are the even indices */
        for (size_t i = 0; i < n; i += 2) {
            fake.seen[fake.nseen++] = ev_id(pb_batch_event(b, i));
        }
        pthread_mutex_unlock(&fake.mu);
        pb_batch_retry_events(b, idx, k);
        return;
    }
    if (mode == FAKE_GIVE_UP_2) {
        pthread_mutex_unlock(&fake.mu);
        pb_batch_given_up(b, 2);
        pb_batch_ack(b);
        return;
    }
    if (mode == FAKE_DROP) {
        pthread_mutex_unlock(&fake.mu);
        pb_batch_drop(b);
        return;
    }
    record_ack(b);
    pthread_mutex_unlock(&fake.mu);
    pb_batch_ack(b);
}

/* acks held batches from another thread */
static void *release_thread(void *arg)
{
    (void)arg;
    usleep(20000);
    pthread_mutex_lock(&fake.mu);
    size_t n = fake.nheld;
    struct pb_batch *held[64];
    memcpy(held, fake.held, n * sizeof held[0]);
    fake.nheld = 0;
    for (size_t i = 0; i < n; i++) {
        record_ack(held[i]);
    }
    pthread_mutex_unlock(&fake.mu);
    for (size_t i = 0; i < n; i++) {
        pb_batch_ack(held[i]);
    }
    return NULL;
}

static void fake_close(struct pb_output *o)
{
    /* finish what is still held: cancelled */
    pthread_mutex_lock(&fake.mu);
    size_t n = fake.nheld;
    struct pb_batch *held[64];
    memcpy(held, fake.held, n * sizeof held[0]);
    fake.nheld = 0;
    pthread_mutex_unlock(&fake.mu);
    for (size_t i = 0; i < n; i++) {
        pb_batch_cancelled(held[i]);
    }
}

static const struct pb_output_ops fake_ops = {
    .name = "fake",
    .flags = PB_OUTPUT_NET,
    .ctx_size = 16,
    .default_bulk_max_size = 0,
    .default_max_retries = 3,
    .max_inflight = 1,
    .init = fake_init,
    .connect = fake_connect,
    .publish = fake_publish,
    .close = fake_close,
};

static const struct pb_output_ops fake_async_ops = {
    .name = "fakeasync",
    .flags = PB_OUTPUT_NET,
    .ctx_size = 0,
    .default_bulk_max_size = 0,
    .default_max_retries = 3,
    .max_inflight = 4,
    .init = fake_init,
    .publish = fake_publish,
    .close = fake_close,
};

static void fake_reset(enum fake_mode mode)
{
    pthread_mutex_lock(&fake.mu);
    fake.mode = mode;
    fake.fail_n = 0;
    fake.attempts = 0;
    fake.connects = 0;
    fake.connect_fail_n = 0;
    fake.max_batch = 0;
    fake.nbatches = 0;
    fake.nseen = 0;
    fake.delay_us = 0;
    fake.nheld = 0;
    fake.retried_once = false;
    fake.last_batch_len = 0;
    fake.njson = 0;
    fake.json_bad = 0;
    fake.ntree = 0;
    fake.nline = 0;
    fake.line_bad = 0;
    fake.adjacent = 0;
    pthread_mutex_unlock(&fake.mu);
}

/* ---- helpers -------------------------------------------------------------- */

static struct pb_cfg *cfg_of(const char *yaml)
{
    char err[512] = "";
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "config: %s", err);
    return c;
}

static struct pb_pipeline *pipeline_of(const char *yaml, struct pb_cfg **cfg_out)
{
    char err[512] = "";
    struct pb_cfg *c = cfg_of(yaml);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "pipeline: %s", err);
    *cfg_out = c;
    return pl;
}

static json_t *ev(int64_t id)
{
    json_t *e = json_object();
    json_object_set_new(e, "@timestamp", json_string("2020-01-01T00:00:00.000Z"));
    json_object_set_new(e, "id", json_integer(id));
    return e;
}

static struct pb_pipeline_stats stats(struct pb_pipeline *pl)
{
    struct pb_pipeline_stats st;
    pb_pipeline_get_stats(pl, &st);
    return st;
}

/* Waits up to ms for pred (then assert it). */
#define WAIT_FOR(pred, ms)                                                                         \
    do {                                                                                           \
        int64_t end_ = now_ns() + (int64_t)(ms)*1000000LL;                                         \
        while (!(pred) && now_ns() < end_) {                                                       \
            usleep(1000);                                                                          \
        }                                                                                          \
    } while (0)

static void setup(void)
{
    pb_output_register_test(&fake_ops);
    pb_output_register_test(&fake_async_ops);
    fake_reset(FAKE_ACK);
}

static void teardown(void)
{
    pb_output_register_test(NULL);
}

/* ---- tests ------------------------------------------------------------------- */

START_TEST(blocking_publish_never_drops)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of("queue.mem: {events: 32, flush.min_events: 5, "
                                         "flush.timeout: 1ms}\noutput.fake: {}\n",
                                         &c);
    fake.delay_us = 50; /* slower than the producer: the queue fills */
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    const int n = 5000;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), true), 0);
        ck_assert_uint_le(stats(pl).active, 32);
    }
    pb_pipeline_close(pl, -1);
    /* close freed the pipeline: the fake's records tell what happened */
    ck_assert_uint_eq(fake.nseen, (size_t)n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(fake.seen[i], i); /* in order, once each */
    }
    ck_assert_uint_le(fake.max_batch, 5);
    /* queue.mem held them encoded, as the json codec writes them */
    ck_assert_uint_eq(fake.njson, (size_t)n);
    ck_assert_uint_eq(fake.json_bad, 0);
    pb_cfg_free(c);
}
END_TEST

START_TEST(inexact_events_stay_trees)
{
    /* a float with an integral value would read back as an integer: the
       queue keeps such an event as its tree */
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of("output.fake: {}\n", &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 10; i++) {
        json_t *e = ev(i);
        json_object_set_new(e, "f", json_real(i % 2 ? 2.0 : 2.5));
        ck_assert_int_eq(pb_pipeline_publish(pl, e, true), 0);
    }
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 10);
    ck_assert_uint_eq(fake.ntree, 5);
    ck_assert_uint_eq(fake.njson, 5);
    ck_assert_uint_eq(fake.json_bad, 0);
    pb_cfg_free(c);

    /* an output that did not ask for encoded events gets trees only */
    fake_reset(FAKE_ACK);
    pl = pipeline_of("output.fake: {trees: true}\n", &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), true), 0);
    }
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 3);
    ck_assert_uint_eq(fake.ntree, 3);
    ck_assert_uint_eq(fake.njson, 0);
    pb_cfg_free(c);
}
END_TEST

/* An event built in its arena (pb_pipeline_publish_event): encoded from
 * the arena for an output that queues JSON, kept in its arena and made a
 * tree on the output's thread for one that reads trees; the same ids in
 * order either way, through retries (the tree is made once per slot). */
static pb_event *arena_ev(int64_t id)
{
    pb_event *e = pb_ev_new();
    pb_ev_put_str(e, "@timestamp", "2020-01-01T00:00:00.000Z");
    pb_ev_put_int(e, "id", id);
    pb_ev_put_str(e, "nested.s", "x\"y");
    return e;
}

START_TEST(arena_events_to_json_and_tree_outputs)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of("output.fake: {}\n", &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(i), true), 0);
    }
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 20);
    ck_assert_uint_eq(fake.njson, 20);
    ck_assert_uint_eq(fake.json_bad, 0);
    pb_cfg_free(c);

    fake_reset(FAKE_FAIL_N);
    fake.fail_n = 2;
    pl = pipeline_of("queue.mem: {flush.min_events: 10, flush.timeout: 1ms}\n"
                     "output.fake: {trees: true, max_retries: -1}\n",
                     &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 30; i++) {
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(i), true), 0);
    }
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 30);
    ck_assert_uint_eq(fake.ntree, 30);
    for (size_t i = 0; i < fake.nseen; i++) {
        ck_assert_int_eq(fake.seen[i], (int64_t)i);
    }
    pb_cfg_free(c);

    /* held in their arenas when the close gives up: freed with the queue */
    fake_reset(FAKE_HOLD);
    pl = pipeline_of("output.fake: {trees: true}\n", &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(i), true), 0);
    }
    pb_pipeline_close(pl, 0);
    pb_cfg_free(c);
}
END_TEST

/* An arena event with a pad of n bytes. */
static pb_event *padded_ev(int64_t id, size_t n)
{
    pb_event *e = arena_ev(id);
    char *p = malloc(n + 1);
    ck_assert_ptr_nonnull(p);
    memset(p, 'p', n);
    p[n] = '\0';
    pb_ev_put_str(e, "pad", p);
    free(p);
    return e;
}

START_TEST(encodings_lie_end_to_end_in_slabs)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 8192, flush.min_events: 1024, flush.timeout: 1ms}\n"
                    "output.fake: {}\n",
                    &c);
    /* ~1.1 MB of small events (several slabs), one larger than a slab,
       one that fills most of one */
    const int n = 8000;
    for (int i = 0; i < n; i++) {
        size_t pad = i == 4000 ? 400000 : i == 6000 ? 200000 : (size_t)(i % 200);
        ck_assert_int_eq(pb_pipeline_publish_event(pl, padded_ev(i, pad), true), 0);
    }
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, (size_t)n);
    for (size_t i = 0; i < fake.nseen; i++) {
        ck_assert_int_eq(fake.seen[i], (int64_t)i);
    }
    ck_assert_uint_eq(fake.njson, (size_t)n);
    ck_assert_uint_eq(fake.json_bad, 0);
    /* all but the one larger than a slab */
    ck_assert_uint_eq(fake.nline, (size_t)n - 1);
    ck_assert_uint_eq(fake.line_bad, 0);
    /* breaks only between slabs and batches */
    ck_assert_uint_ge(fake.adjacent, (size_t)n - 40);
    pb_cfg_free(c);
}
END_TEST

START_TEST(nonblocking_drops_and_counts_when_full)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 32, flush.min_events: 8}\noutput.fake: {}\n", &c);
    /* not started: nothing leaves the queue */
    for (int i = 0; i < 32; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), false), 0);
    }
    ck_assert_int_eq(pb_pipeline_publish(pl, ev(32), false), -PB_ELIMIT);
    ck_assert_int_eq(pb_pipeline_publish(pl, ev(33), false), -PB_ELIMIT);
    struct pb_pipeline_stats st = stats(pl);
    ck_assert_uint_eq(st.published, 32);
    ck_assert_uint_eq(st.dropped, 2);
    ck_assert_uint_eq(st.active, 32);
    /* once started the queue drains and there is room again */
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    WAIT_FOR(stats(pl).acked == 32, 15000);
    ck_assert(stats(pl).acked == 32);
    ck_assert_int_eq(pb_pipeline_publish(pl, ev(34), false), 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 33);
    pb_cfg_free(c);
}
END_TEST

/* Staged publishing: a thread's events wait in its stage (not yet
 * published) until it is emptied, all of them in order, none lost; a full
 * stage empties itself; a full queue drops and counts what did not fit. */
START_TEST(staged_events_wait_then_all_leave_in_order)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of("queue.mem: {flush.timeout: 1ms}\noutput.fake: {}\n", &c);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    pb_pipeline_stage(pl, true);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(i), true), 0);
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(100 + i), true), 0);
    }
    ck_assert_uint_eq(stats(pl).published, 0);
    pb_pipeline_stage(pl, true); /* emptied; staging goes on */
    ck_assert_uint_eq(stats(pl).published, 20);
    for (int i = 0; i < 200; i++) { /* more than a stage holds */
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(1000 + i), true), 0);
    }
    ck_assert_uint_gt(stats(pl).published, 20);
    ck_assert_uint_lt(stats(pl).published, 220);
    pb_pipeline_stage(pl, false);
    ck_assert_uint_eq(stats(pl).published, 220);
    /* off: straight to the queue */
    ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(5000), true), 0);
    ck_assert_uint_eq(stats(pl).published, 221);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 221);
    ck_assert_uint_eq(fake.json_bad, 0);
    for (size_t i = 0; i < 20; i++) {
        ck_assert_int_eq(fake.seen[i], i % 2 == 0 ? (int64_t)(i / 2) : (int64_t)(100 + i / 2));
    }
    for (size_t i = 20; i < 220; i++) {
        ck_assert_int_eq(fake.seen[i], (int64_t)(1000 + i - 20));
    }
    ck_assert_int_eq(fake.seen[220], 5000);
    pb_cfg_free(c);

    /* not started, room for 32: the rest of a stage is dropped and counted */
    fake_reset(FAKE_ACK);
    pl = pipeline_of("queue.mem: {events: 32, flush.min_events: 8}\noutput.fake: {}\n", &c);
    pb_pipeline_stage(pl, true);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(pb_pipeline_publish_event(pl, arena_ev(i), false), 0);
    }
    pb_pipeline_stage(pl, false);
    struct pb_pipeline_stats st = stats(pl);
    ck_assert_uint_eq(st.published, 32);
    ck_assert_uint_eq(st.dropped, 8);
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 32);
    for (size_t i = 0; i < 32; i++) {
        ck_assert_int_eq(fake.seen[i], (int64_t)i);
    }
    pb_cfg_free(c);
}
END_TEST

/* An event published leaves the publishing thread's allocation count at
 * once, staged or not, queued as JSON or in its arena: the TCP tracker
 * charges a connection with what its protocol's callbacks keep (the
 * count's change over the callback), and a staged event that left the
 * count only when its stage was emptied (during some later callback) was
 * charged to its connection for good: enough of them and the connection
 * was evicted for its memory, its transactions lost (the Elasticsearch
 * and Kafka outputs, whose queue held arenas). A full queue's drop gives
 * back what it frees. */
START_TEST(published_events_leave_the_thread_count)
{
    static const char *const cfgs[] = {
        "output.fake: {}\n",
        "output.fake: {trees: true}\n",
        "queue.mem: {events: 32, flush.min_events: 8}\noutput.fake: {trees: true}\n",
    };
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        fake_reset(FAKE_ACK);
        struct pb_cfg *c;
        struct pb_pipeline *pl = pipeline_of(cfgs[k], &c);
        bool started = k < 2;
        if (started) {
            ck_assert_int_eq(pb_pipeline_start(pl), 0);
        }
        for (int staged = 0; staged < 2; staged++) {
            pb_pipeline_stage(pl, staged);
            /* the thread's first event makes its encoding state (kept) */
            int rc = pb_pipeline_publish_event(pl, arena_ev(-1), started);
            ck_assert(rc == 0 || (!started && rc == -PB_ELIMIT));
            for (int i = 0; i < 40; i++) { /* k == 2: the queue's 32 full, the rest dropped */
                int64_t before = pb_alloc_thread_bytes();
                rc = pb_pipeline_publish_event(pl, arena_ev(i), started);
                ck_assert(rc == 0 || (!started && rc == -PB_ELIMIT));
                ck_assert_msg(pb_alloc_thread_bytes() == before,
                              "config %zu, staged %d, event %d: %lld bytes still counted", k,
                              staged, i, (long long)(pb_alloc_thread_bytes() - before));
            }
            int64_t before = pb_alloc_thread_bytes();
            pb_pipeline_stage(pl, false); /* emptied (dropping what does not fit) */
            ck_assert_int_eq(pb_alloc_thread_bytes(), before);
        }
        if (!started) {
            ck_assert_int_eq(pb_pipeline_start(pl), 0);
        }
        pb_pipeline_close(pl, -1);
        pb_cfg_free(c);
    }
}
END_TEST

START_TEST(batches_never_exceed_bulk_max_size)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 4096, flush.min_events: 100, flush.timeout: 5ms}\n"
                    "output.fake: {bulk_max_size: 7}\n",
                    &c);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), true), 0);
    }
    ck_assert_int_eq(pb_pipeline_start(pl), 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 1000);
    ck_assert_uint_eq(fake.max_batch, 7); /* full batches of exactly 7 */
    ck_assert_uint_eq(fake.nbatches, (1000 + 6) / 7);
    pb_cfg_free(c);

    /* flush.min_events caps a larger bulk_max_size (libbeat's get request) */
    fake_reset(FAKE_ACK);
    pl = pipeline_of("queue.mem: {events: 4096, flush.min_events: 10, flush.timeout: 5ms}\n"
                     "output.fake: {bulk_max_size: 50}\n",
                     &c);
    for (int i = 0; i < 100; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    pb_pipeline_start(pl);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 100);
    ck_assert_uint_eq(fake.max_batch, 10);
    pb_cfg_free(c);
}
END_TEST

START_TEST(flush_timeout_sends_partial_batch)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 50, flush.timeout: 50ms}\n"
                    "output.fake: {}\n",
                    &c);
    pb_pipeline_start(pl);
    int64_t t0 = now_ns();
    for (int i = 0; i < 3; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    WAIT_FOR(stats(pl).acked == 3, 5000);
    ck_assert(stats(pl).acked == 3);
    int64_t waited = now_ns() - t0;
    ck_assert_int_ge(waited, 40 * 1000000LL); /* it waited for more events */
    ck_assert_uint_eq(fake.nbatches, 1);
    ck_assert_uint_eq(fake.max_batch, 3);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(retry_with_backoff_then_drop)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {max_retries: 3, backoff.init: 20ms, backoff.max: 60ms}\n",
                    &c);
    fake_reset(FAKE_FAIL_N);
    fake.fail_n = 1000; /* always fails */
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(1), true);
    WAIT_FOR(stats(pl).dropped == 1, 10000);
    ck_assert(stats(pl).dropped == 1);
    struct pb_pipeline_stats st = stats(pl);
    /* 1 attempt + max_retries retries, then dropped */
    ck_assert_int_eq(fake.attempts, 4);
    ck_assert_uint_eq(st.retried, 3);
    ck_assert_uint_eq(st.acked, 0);
    ck_assert_uint_eq(st.active, 0);
    /* equal jitter: waits in [d/2, d), d = 40ms, 60ms (max), 60ms */
    int64_t g1 = fake.t_attempt[1] - fake.t_attempt[0];
    int64_t g2 = fake.t_attempt[2] - fake.t_attempt[1];
    int64_t g3 = fake.t_attempt[3] - fake.t_attempt[2];
    ck_assert_int_ge(g1, 20 * 1000000LL);
    ck_assert_int_ge(g2, 30 * 1000000LL);
    ck_assert_int_ge(g3, 30 * 1000000LL);
    ck_assert_int_lt(g3, 200 * 1000000LL); /* capped by backoff.max */
    usleep(100000);
    ck_assert_int_eq(fake.attempts, 4); /* no more attempts after the drop */
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(max_retries_zero_drops_at_first_failure)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {max_retries: 0, backoff.init: 1ms, backoff.max: 2ms}\n",
                    &c);
    fake_reset(FAKE_FAIL_N);
    fake.fail_n = 1000;
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(1), true);
    WAIT_FOR(stats(pl).dropped == 1, 5000);
    ck_assert(stats(pl).dropped == 1);
    ck_assert_int_eq(fake.attempts, 1);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(retry_forever_until_success)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {max_retries: -1, backoff.init: 1ms, backoff.max: 4ms}\n",
                    &c);
    fake_reset(FAKE_FAIL_N);
    fake.fail_n = 12; /* far more than the default 3 */
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(7), true);
    pb_pipeline_close(pl, -1); /* waits for the ack */
    ck_assert_int_eq(fake.attempts, 13);
    ck_assert_uint_eq(fake.nseen, 1);
    ck_assert_int_eq(fake.seen[0], 7);
    pb_cfg_free(c);
}
END_TEST

START_TEST(cancelled_does_not_spend_retries)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {max_retries: 1, backoff.init: 1ms, backoff.max: 2ms}\n",
                    &c);
    fake_reset(FAKE_CANCEL_N);
    fake.fail_n = 6;
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(3), true);
    WAIT_FOR(fake.nseen == 1, 10000);
    ck_assert(fake.nseen == 1);
    struct pb_pipeline_stats st = stats(pl);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_eq(st.acked, 1);
    ck_assert_int_eq(fake.attempts, 7);
    /* every cancel makes the worker reconnect: 1 + 6 connects */
    ck_assert_int_eq(fake.connects, 7);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(connect_failure_backs_off_and_retries)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {backoff.init: 10ms, backoff.max: 20ms}\n",
                    &c);
    fake.connect_fail_n = 3;
    pb_pipeline_start(pl);
    int64_t t0 = now_ns();
    pb_pipeline_publish(pl, ev(1), true);
    WAIT_FOR(fake.nseen == 1, 5000);
    ck_assert(fake.nseen == 1);
    ck_assert_int_eq(fake.connects, 4);
    ck_assert_int_ge(now_ns() - t0, (10 + 10 + 10) * 1000000LL);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(partial_retry_events)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 6, flush.timeout: 1s}\n"
                    "output.fake: {max_retries: 3, backoff.init: 1ms, backoff.max: 2ms}\n",
                    &c);
    fake_reset(FAKE_RETRY_ODD);
    for (int i = 0; i < 6; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    pb_pipeline_start(pl);
    WAIT_FOR(fake.nseen == 6, 5000);
    ck_assert(fake.nseen == 6);
    /* the second batch is exactly the failed events 1, 3, 5 */
    ck_assert_uint_eq(fake.nbatches, 2);
    ck_assert_uint_eq(fake.last_batch_len, 3);
    ck_assert_uint_eq(fake.last_batch_ids[0], 1);
    ck_assert_uint_eq(fake.last_batch_ids[1], 3);
    ck_assert_uint_eq(fake.last_batch_ids[2], 5);
    /* kept for the retry while the others left: out of their slab */
    ck_assert_uint_eq(fake.njson, 3);
    ck_assert_uint_eq(fake.json_bad, 0);
    ck_assert_uint_eq(fake.nline, 0);
    struct pb_pipeline_stats st = stats(pl);
    ck_assert_uint_eq(st.acked, 6);
    ck_assert_uint_eq(st.retried, 3);
    ck_assert_uint_eq(st.active, 0);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(drop_counts_failed)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of(
        "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\noutput.fake: {}\n", &c);
    fake_reset(FAKE_DROP);
    pb_pipeline_start(pl);
    for (int i = 0; i < 5; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    WAIT_FOR(stats(pl).failed == 5, 5000);
    ck_assert(stats(pl).failed == 5);
    ck_assert_uint_eq(stats(pl).active, 0);
    ck_assert_int_eq(fake.attempts >= 1, 1);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(given_up_events_count_as_failed)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 5, flush.timeout: 1s}\n"
                    "output.fake: {}\n",
                    &c);
    fake_reset(FAKE_GIVE_UP_2);
    for (int i = 0; i < 5; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    pb_pipeline_start(pl);
    WAIT_FOR(stats(pl).active == 0, 5000);
    struct pb_pipeline_stats st = stats(pl);
    ck_assert_uint_eq(st.active, 0);
    ck_assert_uint_eq(st.acked, 3);
    ck_assert_uint_eq(st.failed, 2);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
}
END_TEST

START_TEST(async_completion_from_another_thread)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 4, flush.timeout: 0}\n"
                    "output.fakeasync: {}\n",
                    &c);
    fake_reset(FAKE_HOLD);
    for (int i = 0; i < 16; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    pb_pipeline_start(pl);
    /* the worker keeps up to max_inflight (4) batches out at once */
    WAIT_FOR(fake.nheld == 4, 5000);
    ck_assert(fake.nheld == 4);
    usleep(20000);
    ck_assert_uint_eq(fake.nheld, 4);
    ck_assert_uint_eq(stats(pl).active, 16);
    pthread_t t;
    pthread_create(&t, NULL, release_thread, NULL);
    pthread_join(t, NULL);
    WAIT_FOR(stats(pl).acked == 16, 5000);
    ck_assert(stats(pl).acked == 16);
    ck_assert_uint_eq(stats(pl).active, 0);
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 16);
    pb_cfg_free(c);
}
END_TEST

START_TEST(close_drains_without_waiting_for_flush_timeout)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 50, flush.timeout: 30s}\n"
                    "output.fake: {}\n",
                    &c);
    pb_pipeline_start(pl);
    for (int i = 0; i < 5; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    usleep(10000);
    ck_assert_uint_eq(fake.nseen, 0); /* still waiting for 50 events */
    int64_t t0 = now_ns();
    pb_pipeline_close(pl, 5LL * 1000000000LL);
    ck_assert_int_lt(now_ns() - t0, 2LL * 1000000000LL);
    ck_assert_uint_eq(fake.nseen, 5);
    pb_cfg_free(c);
}
END_TEST

START_TEST(close_gives_up_after_timeout)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.fake: {max_retries: -1, backoff.init: 1ms, backoff.max: 5ms}\n",
                    &c);
    fake_reset(FAKE_FAIL_N);
    fake.fail_n = 1 << 30; /* never succeeds */
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(1), true);
    int64_t t0 = now_ns();
    pb_pipeline_close(pl, 150LL * 1000000LL);
    int64_t took = now_ns() - t0;
    ck_assert_int_ge(took, 140LL * 1000000LL);
    ck_assert_int_lt(took, 2LL * 1000000000LL);
    ck_assert_uint_eq(fake.nseen, 0);
    ck_assert_int_gt(fake.attempts, 3); /* retried forever until the timeout */
    pb_cfg_free(c);
}
END_TEST

START_TEST(close_cancels_held_batches)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl = pipeline_of(
        "queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\noutput.fakeasync: {}\n",
        &c);
    fake_reset(FAKE_HOLD);
    pb_pipeline_start(pl);
    pb_pipeline_publish(pl, ev(1), true);
    WAIT_FOR(fake.nheld == 1, 5000);
    ck_assert(fake.nheld == 1);
    pb_pipeline_close(pl, 20LL * 1000000LL); /* the output's close cancels it */
    ck_assert_uint_eq(fake.nheld, 0);
    pb_cfg_free(c);
}
END_TEST

START_TEST(several_workers)
{
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 256, flush.min_events: 16, flush.timeout: 1ms}\n"
                    "output.fake: {worker: 3}\n",
                    &c);
    pb_pipeline_start(pl);
    for (int i = 0; i < 3000; i++) {
        pb_pipeline_publish(pl, ev(i), true);
    }
    pb_pipeline_close(pl, -1);
    ck_assert_uint_eq(fake.nseen, 3000);
    static unsigned char seen[3000];
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < fake.nseen; i++) {
        ck_assert_int_lt(fake.seen[i], 3000);
        ck_assert_int_eq(seen[fake.seen[i]], 0);
        seen[fake.seen[i]] = 1;
    }
    ck_assert_int_le(fake.connects, 3); /* one connection per client */
    ck_assert_int_ge(fake.connects, 1);
    pb_cfg_free(c);
}
END_TEST

static void expect_error(const char *yaml, const char *want)
{
    char err[512] = "";
    struct pb_cfg *c = cfg_of(yaml);
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl == NULL, "pipeline created for: %s", yaml);
    ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
    pb_cfg_free(c);
}

START_TEST(output_selection)
{
    expect_error("name: x\n", "no outputs are defined, please define one under the output section");
    expect_error("output.fake.enabled: false\n",
                 "no outputs are defined, please define one under the output section");
    expect_error("output.fake: {}\noutput.console: {}\n",
                 "more than one namespace configured accessing 'output'");
    expect_error("output.discard: {}\n", "discard");
    expect_error("output.discard: {}\n", "not supported");
    expect_error("output.nosuch: {}\n", "output type nosuch undefined");
    expect_error("output.fake: {fail_init: true}\n", "fake init failed");
    expect_error("output.fake: {worker: 0}\n", "worker");
    expect_error("queue.disk: {}\noutput.fake: {}\n", "disk");

    /* a disabled second output is fine */
    char err[512] = "";
    struct pb_cfg *c = cfg_of("output.console.enabled: false\noutput.fake: {}\n");
    struct pb_pipeline *pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    pb_pipeline_close(pl, 0);
    pb_cfg_free(c);

    /* `test output` on outputs without a test, in libbeat's words */
    c = cfg_of("output.console: {}\n");
    ck_assert_int_ne(pb_pipeline_test_output(c, err, sizeof err), 0);
    ck_assert_str_eq(err, "console output doesn't support testing");
    pb_cfg_free(c);
    c = cfg_of("output.nosuch: {}\n");
    ck_assert_int_ne(pb_pipeline_test_output(c, err, sizeof err), 0);
    ck_assert_str_eq(err, "output type nosuch undefined");
    pb_cfg_free(c);

    /* bad memory queue settings are fatal, as in libbeat 8.x */
    expect_error("queue.mem: {events: 100}\noutput.fake: {}\n",
                 "couldn't unpack memory queue config: flush.min_events must be less events");
    expect_error("queue.mem: {events: 10, flush.min_events: 1}\noutput.fake: {}\n",
                 "requires value >= 32");
    expect_error("queue.mem: {events: 64, flush.min_events: 1}\n"
                 "output.fake: {queue.mem.events: 64}\n",
                 "top level queue and output level queue settings defined");

    /* defaults: 3200 events */
    c = cfg_of("output.fake: {}\n");
    pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    for (int i = 0; i < 3200; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), false), 0);
    }
    ck_assert_int_eq(pb_pipeline_publish(pl, ev(0), false), -PB_ELIMIT);
    pb_pipeline_close(pl, 0);
    pb_cfg_free(c);

    /* the output's own queue settings */
    c = cfg_of("output.fake: {queue.mem: {events: 40, flush.min_events: 4}}\n");
    pl = pb_pipeline_new(c, err, sizeof err);
    ck_assert_msg(pl != NULL, "%s", err);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(pb_pipeline_publish(pl, ev(i), false), 0);
    }
    ck_assert_int_eq(pb_pipeline_publish(pl, ev(0), false), -PB_ELIMIT);
    pb_pipeline_close(pl, 0);
    pb_cfg_free(c);
}
END_TEST

START_TEST(console_output_writes_lines)
{
    char path[] = "/tmp/pb_console_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);

    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.console: {codec.json: {pretty: false}}\n",
                    &c);
    pb_pipeline_start(pl);
    for (int i = 0; i < 3; i++) {
        json_t *e = ev(i);
        json_object_set_new(e, "url", json_string("http://a/b?x=<1>&y"));
        json_object_set_new(e, "@metadata", json_pack("{s:s}", "beat", "packetbeat"));
        pb_pipeline_publish(pl, e, true);
    }
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);

    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    const char *want = "{\"@timestamp\":\"2020-01-01T00:00:00.000Z\",\"@metadata\":{\"beat\":"
                       "\"packetbeat\"},\"id\":0,\"url\":\"http://a/b?x=<1>&y\"}\n";
    ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "got: %s", buf);
    int lines = 0;
    for (ssize_t i = 0; i < n; i++) {
        lines += buf[i] == '\n';
    }
    ck_assert_int_eq(lines, 3);
}
END_TEST

START_TEST(console_pretty)
{
    char path[] = "/tmp/pb_console_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    struct pb_cfg *c;
    struct pb_pipeline *pl =
        pipeline_of("queue.mem: {events: 64, flush.min_events: 8, flush.timeout: 0}\n"
                    "output.console: {codec.json: {pretty: true}}\n",
                    &c);
    pb_pipeline_start(pl);
    json_t *e = json_object();
    json_object_set_new(e, "@timestamp", json_string("T"));
    json_object_set_new(e, "a", json_pack("{s:[i,i],s:{}}", "b", 1, 2, "c"));
    pb_pipeline_publish(pl, e, true);
    pb_pipeline_close(pl, -1);
    pb_cfg_free(c);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unlink(path);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf,
                     "{\n  \"@timestamp\": \"T\",\n  \"a\": {\n    \"b\": [\n      1,\n      2\n"
                     "    ],\n    \"c\": {}\n  }\n}\n");
}
END_TEST

static Suite *pipeline_suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, blocking_publish_never_drops);
    tcase_add_test(tc, inexact_events_stay_trees);
    tcase_add_test(tc, arena_events_to_json_and_tree_outputs);
    tcase_add_test(tc, nonblocking_drops_and_counts_when_full);
    tcase_add_test(tc, staged_events_wait_then_all_leave_in_order);
    tcase_add_test(tc, batches_never_exceed_bulk_max_size);
    tcase_add_test(tc, published_events_leave_the_thread_count);
    tcase_add_test(tc, flush_timeout_sends_partial_batch);
    tcase_add_test(tc, retry_with_backoff_then_drop);
    tcase_add_test(tc, max_retries_zero_drops_at_first_failure);
    tcase_add_test(tc, retry_forever_until_success);
    tcase_add_test(tc, cancelled_does_not_spend_retries);
    tcase_add_test(tc, connect_failure_backs_off_and_retries);
    tcase_add_test(tc, partial_retry_events);
    tcase_add_test(tc, encodings_lie_end_to_end_in_slabs);
    tcase_add_test(tc, drop_counts_failed);
    tcase_add_test(tc, given_up_events_count_as_failed);
    tcase_add_test(tc, async_completion_from_another_thread);
    tcase_add_test(tc, close_drains_without_waiting_for_flush_timeout);
    tcase_add_test(tc, close_gives_up_after_timeout);
    tcase_add_test(tc, close_cancels_held_batches);
    tcase_add_test(tc, several_workers);
    tcase_add_test(tc, output_selection);
    tcase_add_test(tc, console_output_writes_lines);
    tcase_add_test(tc, console_pretty);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    pthread_mutex_init(&fake.mu, NULL);
    int failed = pt_run_suite(pipeline_suite());
    return failed == 0 ? 0 : 1;
}
