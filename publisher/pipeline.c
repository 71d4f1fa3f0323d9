/* SPDX-License-Identifier: Apache-2.0
 * publisher/pipeline.c - libbeat's publisher pipeline: a bounded memory
 * queue (queue.mem.*), output worker threads taking batches, retries with
 * equal-jitter backoff and a time to live per batch, acks.
 *
 *   producer ──publish──▶ ring (pending) ──worker takes ≤ batch size──▶ output
 *                            ▲                                         │
 *                            └──────── retry list ◀── retry/cancel ────┤
 *                                       drop after max_retries ◀───────┤
 *                                       free + release room ◀── ack ───┘
 *
 * Room: `used` counts every event not yet acked or dropped (pending in the
 * ring, in a batch at the output, or waiting for a retry); a producer waits
 * (or drops) while used == queue.mem.events, so memory stays bounded by the
 * queue size, as in libbeat where events leave the queue only when acked.
 *
 * Batches (libbeat memqueue + eventConsumer): a worker asks for
 * min(bulk_max_size, flush.min_events) events (bulk_max_size <= 0:
 * flush.min_events) and waits up to flush.timeout for that many, then
 * takes what is there; while closing it never waits. Retried batches go
 * before new ones. A batch starts with ttl = max_retries + 1; each retry
 * spends one, at 0 the batch is dropped and counted; ttl <= 0 (max_retries
 * -1) never expires; a cancelled batch spends nothing.
 *
 * Backoff (libbeat backoffClient, per worker): after a failed publish
 * (retry, retry_events, cancelled) or connect, the worker waits a random
 * time in [d/2, d), d starting at 2 * backoff.init and doubling up to
 * backoff.max; a success resets d.
 *
 * Locking: one mutex guards everything; output callbacks run without it.
 */
#include "publisher/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/hpool.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/diskqueue.h"
#include "publisher/output.h"

#ifndef PB_VERSION
#define PB_VERSION "8.17.2"
#endif

#define SEL "publisher"

/* Caps on what the config may ask for. */
#define PB_MAX_QUEUE_EVENTS (64u * 1024u * 1024u)
#define PB_MAX_OUTPUT_CLIENTS 1024

/* libbeat defaults */
#define DEF_QUEUE_EVENTS 3200
#define DEF_MIN_EVENTS 1600
#define DEF_FLUSH_TIMEOUT_NS (10LL * 1000000000LL)
#define DEF_BACKOFF_INIT_NS (1LL * 1000000000LL)
#define DEF_BACKOFF_MAX_NS (60LL * 1000000000LL)

enum fin {
    FIN_ACK,
    FIN_RETRY,
    FIN_RETRY_EVENTS,
    FIN_DROP,
    FIN_CANCELLED,
};

struct worker;

/* One queued event. With queue.mem and an output whose clients all set
   queue_json, it is kept as its JSON encoding (the json codec's defaults:
   compact, no escape_html), about a tenth of the size of its jansson
   tree; the tree is decoded again, once per batch slot (kept through
   retries: an output may mark it), only when the output asks for it
   (pb_batch_event). With another output, an event built in its arena
   waits there and becomes a tree on the output's thread (pb_batch_event);
   with queue.disk, or one published as a tree, the queue holds trees. An
   event
   whose encoding would not decode back to the same values (see
   pb_json_encode_exact) is kept as its tree instead. */
struct slab;
struct qev {
    json_t *tree;      /* owned; NULL until decoded when js is set */
    char *js;          /* the encoding: owned, or in slab; or NULL */
    struct slab *slab; /* a reference on the slab holding js (then '\n' follows it) */
    uint32_t len;      /* of js (at most PB_CODEC_MAX_EVENT_BYTES) */
    /* With js: where its @metadata and agent lie (pb_enc_spans; lengths 0:
       not known), @metadata's in 16 bits (it follows @timestamp). Without:
       ev. Five words, as the queue holds thousands. */
    uint16_t meta_at, meta_len;
    union {
        pb_event *ev; /* owned: an arena event whose tree the output makes */
        struct {
            uint32_t at, len;
        } agent;
    };
};
_Static_assert(PB_CODEC_MAX_EVENT_BYTES <= UINT32_MAX, "qev.len holds an encoding's length");

/* q's arena event, if it holds one. */
static inline pb_event *qev_arena(const struct qev *q)
{
    return q->js == NULL ? q->ev : NULL;
}

/* The spans of q's encoding in its few bits. */
static void qev_set_spans(struct qev *q, const struct pb_enc_spans *sp)
{
    bool meta = sp->meta_at <= UINT16_MAX && sp->meta_len <= UINT16_MAX;
    q->meta_at = meta ? (uint16_t)sp->meta_at : 0;
    q->meta_len = meta ? (uint16_t)sp->meta_len : 0;
    q->agent.at = sp->agent_at;
    q->agent.len = sp->agent_len;
}

struct pb_batch {
    struct pb_pipeline *pl; /* borrowed */
    struct worker *w;       /* borrowed: the worker that published it */
    struct qev *ev;         /* owned array of owned events */
    uint64_t *ids;          /* owned: disk queue frame ids; NULL with queue.mem */
    size_t n;
    size_t given_up;       /* of the events it acks, not delivered (non-retryable) */
    int ttl;               /* attempts left; <= 0: forever */
    bool out;              /* at the output, not yet finished */
    struct pb_batch *next; /* retry list */
};

struct worker {
    struct pb_pipeline *pl;
    struct pb_output out;
    pthread_t thr;
    bool started;
    bool inited;
    bool connected;
    unsigned inflight;
    int64_t pub_d;          /* publish backoff duration d */
    int64_t conn_d;         /* connect backoff duration d */
    int64_t backoff_until;  /* monotonic ns, 0: none */
    int64_t flush_deadline; /* monotonic ns while waiting to fill a batch */
};

struct pb_pipeline {
    /* pb_pipeline_set_stop: a signal cuts a close that waits forever */
    volatile sig_atomic_t *stop;
    int64_t stop_grace_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* workers and close: anything changed */
    pthread_cond_t cv_space; /* producers: room freed or closing */

    struct qev *ring; /* pending events */
    size_t cap;
    size_t head;
    size_t count;
    size_t used; /* events not yet acked/dropped */

    struct pb_batch *retry_head;
    struct pb_batch *retry_tail;
    size_t batches_out; /* handed to the output, not finished */

    bool closing;
    bool stopping;
    bool started;

    /* settings */
    int64_t flush_timeout_ns;
    size_t batch_want;
    int max_retries;
    int64_t backoff_init_ns;
    int64_t backoff_max_ns;
    unsigned max_inflight;

    /* queue.disk (NULL: queue.mem). Then `count` is the frames not read
       yet and `used` the frames not acked; the ring is not used. */
    struct pb_diskq *dq;
    bool queue_json; /* queue.mem keeps events encoded (every client's queue_json) */
    bool queue_spans; /* and notes their spans (a client's queue_spans) */
    int64_t dq_retry_ns;
    int64_t dq_retry_max_ns;

    const struct pb_output_ops *ops;
    struct worker *workers;
    size_t nworkers;

    uint64_t rng;
    struct pb_pipeline_stats st;
};

/* ---- helpers ----------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void wait_until(struct pb_pipeline *pl, int64_t deadline_ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
    pthread_cond_timedwait(&pl->cv, &pl->mu, &ts);
}

static uint64_t rng_next(struct pb_pipeline *pl)
{
    /* xorshift64* */
    uint64_t x = pl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pl->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* libbeat's EqualJitterBackoff.WaitDuration: d/2 + rand[0, d/2), then d
 * doubles up to max. */
static int64_t jitter_wait(struct pb_pipeline *pl, int64_t *d)
{
    int64_t half = *d / 2;
    int64_t wait = half;
    if (half > 0) {
        wait += (int64_t)(rng_next(pl) % (uint64_t)half);
    }
    if (*d > pl->backoff_max_ns / 2) {
        *d = pl->backoff_max_ns;
    } else {
        *d *= 2;
        if (*d > pl->backoff_max_ns) {
            *d = pl->backoff_max_ns;
        }
    }
    return wait;
}

/* Counts after the disk queue changed (mutex held). */
static void dq_sync(struct pb_pipeline *pl)
{
    pl->count = (size_t)pb_diskq_unread(pl->dq);
    pl->used = (size_t)pb_diskq_unacked(pl->dq);
}

/* ---- encoding slabs ----------------------------------------------------
 * Packet threads encode events straight into slabs: blocks of SLAB_BYTES
 * filled one encoding after the other, each followed by '\n', so that the
 * events of a batch mostly lie end to end and the file output writes them
 * from there (pb_batch_event_line) without a copy, and no event costs a
 * malloc and a free on two threads. A slab never moves. It counts its
 * references: one per queued event in it, and a bias while it is the
 * current slab of its thread (an event encoded then is counted in the
 * thread's own nev, and the bias traded for them when the slab retires), so
 * that the packet thread does not write the counter the output threads
 * decrement once per event; the last one to let go gives it back to a small
 * pool (the memory stays warm for the next) or frees it. An event kept for
 * a retry while the rest of its batch leaves is copied out (qev_unpin), so
 * that a few retried events cannot hold many slabs. */
#define SLAB_BYTES (256u * 1024u)
/* A slab with less room left is retired before an encode: few events
   overflow the rest of a slab and are encoded twice. */
#define SLAB_MIN_ROOM (16u * 1024u)

#ifdef PB_ASAN
#define SLAB_POOL 1 /* ASan sees a use after free only when freed */
#else
#define SLAB_POOL 8
#endif

/* The references of a current slab: more than it can hold events. */
#define SLAB_BIAS ((size_t)1 << (sizeof(size_t) * 8 - 2))

struct slab {
    atomic_size_t refs;
    /* its thread's, while current: on their own cache line */
    char pad[64 - sizeof(atomic_size_t)];
    size_t used; /* bytes written */
    size_t nev;  /* events encoded in it */
    char data[SLAB_BYTES];
};

/* The first slabs come from a range of transparent huge pages
 * (beat/hpool.h): a queue of default size keeps some 25 slabs alive, 64
 * page faults each with 4 KB pages. Beyond its 64 slabs they are malloc'd,
 * and given back to a small pool or freed. */
#define SLAB_ARENA_SLABS 64

static pthread_mutex_t slab_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slab *slab_pool[SLAB_POOL];
static size_t slab_npool;
static struct pb_hpool slab_arena; /* size 0: not set up yet */

/* Drops n references (modulo 2^N: the retirement of a current slab adds
   its events less the bias); the last one gives the slab up. */
static void slab_drop(struct slab *s, size_t n)
{
    if (atomic_fetch_sub_explicit(&s->refs, n, memory_order_acq_rel) != n) {
        return;
    }
#ifndef PB_ASAN
    pthread_mutex_lock(&slab_mu);
    if (pb_hpool_owns(&slab_arena, s)) {
        pb_hpool_put(&slab_arena, s);
        s = NULL;
    } else if (slab_npool < SLAB_POOL) {
        slab_pool[slab_npool++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&slab_mu);
#endif
    free(s); /* disowned */
}

static void slab_unref(struct slab *s)
{
    slab_drop(s, 1);
}

/* Its thread is done with slab s: the bias becomes its events' references. */
static void slab_retire(struct slab *s)
{
    slab_drop(s, SLAB_BIAS - s->nev);
}

/* A current slab (the bias its caller's), empty; NULL without memory. */
static struct slab *slab_new(void)
{
    struct slab *s = NULL;
    pthread_mutex_lock(&slab_mu);
    if (slab_arena.size == 0) {
        pb_hpool_init(&slab_arena, sizeof *s, SLAB_ARENA_SLABS);
    }
    s = pb_hpool_get(&slab_arena);
    if (s == NULL && slab_npool > 0) {
        s = slab_pool[--slab_npool];
    }
    pthread_mutex_unlock(&slab_mu);
    if (s == NULL && (s = pb_malloc(sizeof *s)) != NULL) {
        /* not the memory of the thread that happens to start it */
        pb_alloc_disown(s);
    }
    if (s != NULL) {
        atomic_init(&s->refs, SLAB_BIAS);
        s->used = 0;
        s->nev = 0;
    }
    return s;
}

__attribute__((destructor)) static void slab_pool_free(void)
{
    pthread_mutex_lock(&slab_mu);
    while (slab_npool > 0) {
        free(slab_pool[--slab_npool]);
    }
    pthread_mutex_unlock(&slab_mu);
}

/* The ring slot i places after the head (i <= cap): a compare instead
   of a division (tens of cycles) for every event in and out. */
static inline size_t ring_at(const struct pb_pipeline *pl, size_t i)
{
    size_t at = pl->head + i;
    return at >= pl->cap ? at - pl->cap : at;
}

static void qev_free(struct qev *q)
{
    pb_ev_free(qev_arena(q));
    json_decref(q->tree);
    if (q->slab != NULL) {
        slab_unref(q->slab);
    } else {
        free(q->js); /* disowned (pb_alloc_disown) */
    }
    *q = (struct qev){0};
}

/* An event that stays while the rest of its slab may leave: its encoding
   moves to a block of its own (it stays in the slab when memory is short). */
static void qev_unpin(struct qev *q)
{
    char *own = q->slab != NULL ? malloc(q->len > 0 ? q->len : 1) : NULL;
    if (own != NULL) {
        memcpy(own, q->js, q->len);
        slab_unref(q->slab);
        q->slab = NULL;
        q->js = own;
    }
}

/* The batch's events leave the queue: freed, their room released (with
   queue.disk: acked on disk). */
static void release_events(struct pb_pipeline *pl, struct pb_batch *b)
{
    struct slab *run = NULL; /* the events of a run in one slab: one drop */
    size_t nrun = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct qev *q = &b->ev[i];
        if (q->slab != NULL) {
            if (q->slab != run) {
                if (run != NULL) {
                    slab_drop(run, nrun);
                }
                run = q->slab;
                nrun = 0;
            }
            nrun++;
            q->slab = NULL;
            q->js = NULL;
        }
        qev_free(q);
        if (b->ids != NULL) {
            pb_diskq_ack(pl->dq, b->ids[i]);
        }
    }
    if (run != NULL) {
        slab_drop(run, nrun);
    }
    if (pl->dq != NULL) {
        dq_sync(pl);
    } else {
        pl->used -= b->n;
    }
    pthread_cond_broadcast(&pl->cv_space);
    pthread_cond_broadcast(&pl->cv);
}

static void batch_free(struct pb_batch *b)
{
    if (b != NULL) {
        pb_free(b->ev);
        pb_free(b->ids);
        pb_free(b);
    }
}

static void retry_push(struct pb_pipeline *pl, struct pb_batch *b)
{
    b->next = NULL;
    if (pl->retry_tail != NULL) {
        pl->retry_tail->next = b;
    } else {
        pl->retry_head = b;
    }
    pl->retry_tail = b;
    pthread_cond_broadcast(&pl->cv);
}

static struct pb_batch *retry_pop(struct pb_pipeline *pl)
{
    struct pb_batch *b = pl->retry_head;
    if (b != NULL) {
        pl->retry_head = b->next;
        if (pl->retry_head == NULL) {
            pl->retry_tail = NULL;
        }
        b->next = NULL;
    }
    return b;
}

/* ---- batch API --------------------------------------------------------- */

size_t pb_batch_len(const struct pb_batch *b)
{
    return b->n;
}

json_t *pb_batch_event(const struct pb_batch *b, size_t i)
{
    if (i >= b->n) {
        return NULL;
    }
    struct qev *q = &b->ev[i];
    if (q->tree == NULL && qev_arena(q) != NULL) {
        /* made on the output's thread, which also frees it */
        q->tree = pb_ev_take(q->ev);
        q->ev = NULL;
        if (q->tree == NULL) {
            pb_error(SEL, "cannot make a queued event's tree: out of memory");
        }
    }
    if (q->tree == NULL && q->js != NULL) {
        /* decoded once per slot; the batch belongs to one output call */
        json_error_t jerr;
        q->tree = json_loadb(q->js, q->len, JSON_ALLOW_NUL, &jerr);
        if (q->tree == NULL) {
            pb_error(SEL, "cannot decode a queued event (%s)", jerr.text);
        }
    }
    return q->tree;
}

pb_event *pb_batch_arena(const struct pb_batch *b, size_t i)
{
    return i < b->n && b->ev[i].tree == NULL ? qev_arena(&b->ev[i]) : NULL;
}

const char *pb_batch_event_json(const struct pb_batch *b, size_t i, size_t *len)
{
    if (i >= b->n || b->ev[i].js == NULL) {
        return NULL;
    }
    *len = b->ev[i].len;
    return b->ev[i].js;
}

bool pb_batch_event_spans(const struct pb_batch *b, size_t i, struct pb_enc_spans *sp)
{
    if (i >= b->n || b->ev[i].js == NULL) {
        return false;
    }
    const struct qev *q = &b->ev[i];
    *sp = (struct pb_enc_spans){.meta_at = q->meta_at,
                                .meta_len = q->meta_len,
                                .agent_at = q->agent.at,
                                .agent_len = q->agent.len};
    return true;
}

const char *pb_batch_event_line(const struct pb_batch *b, size_t i, size_t *len)
{
    if (i >= b->n || b->ev[i].js == NULL || b->ev[i].slab == NULL) {
        return NULL;
    }
    *len = b->ev[i].len + 1;
    return b->ev[i].js;
}

void pb_batch_given_up(struct pb_batch *b, size_t n)
{
    b->given_up = n < b->n ? n : b->n;
}

/* Counts n events leaving as acked, minus those the output gave up on. */
static void count_acked(struct pb_pipeline *pl, struct pb_batch *b, size_t n)
{
    size_t f = b->given_up < n ? b->given_up : n;
    pl->st.acked += n - f;
    pl->st.failed += f;
    b->given_up = 0;
}

static void finish(struct pb_batch *b, enum fin how, const size_t *idx, size_t nidx)
{
    struct pb_pipeline *pl = b->pl;
    pthread_mutex_lock(&pl->mu);
    if (!b->out) {
        pthread_mutex_unlock(&pl->mu);
        pb_error(SEL, "output finished a batch twice; ignored");
        return;
    }
    b->out = false;
    pl->batches_out--;
    struct worker *w = b->w;
    b->w = NULL;
    if (w != NULL && w->inflight > 0) {
        w->inflight--;
    }

    if (how == FIN_RETRY_EVENTS) {
        /* keep the failed events (in batch order), ack the rest */
        size_t keep = 0;
        size_t nacked = 0;
        unsigned char *mark = pb_calloc(b->n, 1);
        if (mark == NULL) {
            how = FIN_RETRY; /* cannot tell them apart: retry them all */
        } else {
            for (size_t i = 0; i < nidx; i++) {
                if (idx[i] < b->n) {
                    mark[idx[i]] = 1;
                }
            }
            for (size_t i = 0; i < b->n; i++) {
                if (mark[i]) {
                    if (b->ids != NULL) {
                        b->ids[keep] = b->ids[i];
                    }
                    b->ev[keep] = b->ev[i];
                    qev_unpin(&b->ev[keep++]); /* the rest of its slab may go */
                } else {
                    qev_free(&b->ev[i]);
                    if (b->ids != NULL) {
                        pb_diskq_ack(pl->dq, b->ids[i]);
                    }
                    nacked++;
                }
            }
            pb_free(mark);
            count_acked(pl, b, nacked);
            if (pl->dq != NULL) {
                dq_sync(pl);
            } else {
                pl->used -= nacked;
            }
            b->n = keep;
            if (nacked > 0) {
                pthread_cond_broadcast(&pl->cv_space);
            }
            how = keep == 0 ? FIN_ACK : FIN_RETRY;
        }
    }

    switch (how) {
    case FIN_ACK:
        count_acked(pl, b, b->n);
        release_events(pl, b);
        batch_free(b);
        if (w != NULL) {
            w->pub_d = 2 * pl->backoff_init_ns;
        }
        break;
    case FIN_DROP:
        pl->st.failed += b->n;
        release_events(pl, b);
        batch_free(b);
        if (w != NULL) {
            w->pub_d = 2 * pl->backoff_init_ns;
        }
        break;
    case FIN_RETRY:
    case FIN_CANCELLED:
    default:
        b->given_up = 0;
        if (how == FIN_RETRY && b->ttl > 0) {
            b->ttl--;
            if (b->ttl == 0) {
                pb_info(SEL, "Drop batch");
                pb_debug(SEL, "dropped %zu event(s) after %d failed attempt(s)", b->n,
                         pl->max_retries + 1);
                pl->st.dropped += b->n;
                release_events(pl, b);
                batch_free(b);
                b = NULL;
            }
        }
        if (b != NULL) {
            retry_push(pl, b);
        }
        if (w != NULL) {
            w->backoff_until = mono_ns() + jitter_wait(pl, &w->pub_d);
            if (how == FIN_CANCELLED && pl->ops->connect != NULL) {
                w->connected = false;
            }
        }
        break;
    }
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

void pb_batch_ack(struct pb_batch *b)
{
    finish(b, FIN_ACK, NULL, 0);
}

void pb_batch_retry(struct pb_batch *b)
{
    finish(b, FIN_RETRY, NULL, 0);
}

void pb_batch_retry_events(struct pb_batch *b, const size_t *idx, size_t n)
{
    finish(b, FIN_RETRY_EVENTS, idx, n);
}

void pb_batch_drop(struct pb_batch *b)
{
    finish(b, FIN_DROP, NULL, 0);
}

void pb_batch_cancelled(struct pb_batch *b)
{
    finish(b, FIN_CANCELLED, NULL, 0);
}

/* ---- workers ----------------------------------------------------------- */

static bool has_work(const struct pb_pipeline *pl)
{
    return pl->retry_head != NULL || pl->count > 0;
}

/* queue.disk: reads up to n frames into b (mutex held); frames that are
   not an event are acked and counted as failed. */
static void take_from_disk(struct pb_pipeline *pl, struct pb_batch *b, size_t n)
{
    b->n = 0;
    while (b->n < n) {
        char *data = NULL;
        size_t len = 0;
        uint64_t id = 0;
        int rc = pb_diskq_read(pl->dq, &data, &len, &id);
        if (rc < 0) {
            pl->st.failed += 1;
            continue; /* the unreadable frames were skipped */
        }
        if (rc == 0) {
            break;
        }
        json_error_t jerr;
        json_t *ev = json_loadb(data, len, 0, &jerr);
        pb_free(data);
        if (!json_is_object(ev)) {
            pb_error(SEL, "disk queue: frame %" PRIu64 " is not an event (%s); dropped", id,
                     jerr.text);
            json_decref(ev);
            pb_diskq_ack(pl->dq, id);
            pl->st.failed++;
            continue;
        }
        b->ev[b->n].tree = ev;
        b->ids[b->n] = id;
        b->n++;
    }
    dq_sync(pl);
}

/* Takes up to n pending events into a new batch (mutex held). */
static struct pb_batch *take_batch(struct pb_pipeline *pl, size_t n)
{
    struct pb_batch *b = pb_calloc(1, sizeof *b);
    if (b == NULL) {
        return NULL;
    }
    b->ev = pb_calloc(n, sizeof *b->ev);
    if (b->ev == NULL) {
        pb_free(b);
        return NULL;
    }
    b->pl = pl;
    b->ttl = pl->max_retries < 0 ? 0 : pl->max_retries + 1;
    if (pl->dq != NULL) {
        b->ids = pb_calloc(n, sizeof *b->ids);
        if (b->ids == NULL) {
            batch_free(b);
            return NULL;
        }
        take_from_disk(pl, b, n);
        if (b->n == 0) {
            batch_free(b);
            return NULL;
        }
        return b;
    }
    for (size_t i = 0; i < n; i++) {
        b->ev[i] = pl->ring[pl->head];
        memset(&pl->ring[pl->head], 0, sizeof pl->ring[pl->head]);
        pl->head = ring_at(pl, 1);
    }
    pl->count -= n;
    b->n = n;
    b->pl = pl;
    b->ttl = pl->max_retries < 0 ? 0 : pl->max_retries + 1;
    return b;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pb_pipeline *pl = w->pl;
    const struct pb_output_ops *ops = pl->ops;

    pthread_mutex_lock(&pl->mu);
    for (;;) {
        if (pl->stopping) {
            break;
        }
        if (w->inflight >= pl->max_inflight) {
            pthread_cond_wait(&pl->cv, &pl->mu);
            continue;
        }
        int64_t now = mono_ns();
        if (w->backoff_until != 0) {
            if (now < w->backoff_until) {
                wait_until(pl, w->backoff_until);
                continue;
            }
            w->backoff_until = 0;
        }
        if (!has_work(pl)) {
            w->flush_deadline = 0;
            pthread_cond_wait(&pl->cv, &pl->mu);
            continue;
        }
        if (!w->connected && ops->connect != NULL) {
            pthread_mutex_unlock(&pl->mu);
            int rc = ops->connect(&w->out);
            pthread_mutex_lock(&pl->mu);
            if (rc != 0) {
                w->backoff_until = mono_ns() + jitter_wait(pl, &w->conn_d);
                continue;
            }
            w->connected = true;
            w->conn_d = 2 * pl->backoff_init_ns;
            continue;
        }

        struct pb_batch *b = retry_pop(pl);
        if (b != NULL) {
            pl->st.retried += b->n;
        } else {
            size_t want = pl->batch_want;
            if (pl->count < want && pl->flush_timeout_ns > 0 && !pl->closing) {
                if (w->flush_deadline == 0) {
                    w->flush_deadline = now + pl->flush_timeout_ns;
                }
                if (now < w->flush_deadline) {
                    wait_until(pl, w->flush_deadline);
                    continue;
                }
            }
            w->flush_deadline = 0;
            b = take_batch(pl, pl->count < want ? pl->count : want);
            if (b == NULL) {
                /* out of memory (or, with queue.disk, nothing readable
                   right now): leave the events queued and try later */
                w->backoff_until = now + 100000000LL;
                continue;
            }
        }
        b->w = w;
        b->out = true;
        w->inflight++;
        pl->batches_out++;
        pl->st.batches++;
        pthread_mutex_unlock(&pl->mu);
        ops->publish(&w->out, b);
        pthread_mutex_lock(&pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* ---- configuration ------------------------------------------------------ */

static int cfg_fail(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", pb_cfg_errmsg());
    return -PB_EINVAL;
}

/* Finds the one enabled output section: 0 with *node set, or an
 * error in libbeat's words. */
static int select_output(const struct pb_cfg *root, const struct pb_cfg **node, char *err,
                         size_t errlen)
{
    const struct pb_cfg *outs = pb_cfg_get(root, "output");
    const struct pb_cfg *chosen = NULL;
    *node = NULL;
    if (outs != NULL && outs->kind == PB_CFG_MAP) {
        size_t n = pb_cfg_len(outs);
        for (size_t i = 0; i < n; i++) {
            const struct pb_cfg *sub = pb_cfg_at(outs, i);
            bool enabled = true;
            if (sub->kind != PB_CFG_MAP && sub->kind != PB_CFG_NULL) {
                continue; /* not a section */
            }
            if (pb_cfg_bool(sub, "enabled", true, &enabled) != 0) {
                return cfg_fail(err, errlen);
            }
            if (!enabled) {
                continue;
            }
            if (chosen != NULL) {
                const char *src = root->src_name != NULL ? root->src_name : "";
                snprintf(err, errlen,
                         "error unpacking config data: more than one namespace configured "
                         "accessing 'output' (source:'%s')",
                         src);
                return -PB_EINVAL;
            }
            chosen = sub;
        }
    }
    if (chosen == NULL) {
        snprintf(err, errlen, "no outputs are defined, please define one under the output section");
        return -PB_EINVAL;
    }
    *node = chosen;
    return 0;
}

static const struct pb_output_ops *find_ops(const char *name, char *err, size_t errlen)
{
    const struct pb_output_ops *ops = pb_output_find(name);
    if (ops == NULL) {
        if (pb_output_known_unimplemented(name)) {
            snprintf(err, errlen, "output type %s is not supported by this build yet", name);
        } else {
            snprintf(err, errlen, "output type %s undefined", name);
        }
    }
    return ops;
}

struct queue_settings {
    int64_t events;
    int64_t min_events;
    int64_t flush_timeout_ns;
    /* queue.disk */
    bool disk;
    char path[4096];
    uint64_t max_size;
    uint64_t segment_size;
    int64_t read_ahead;
    int64_t write_ahead;
    int64_t retry_ns;
    int64_t retry_max_ns;
};

/* queue.disk (libbeat diskqueue userConfig): path (${path.data}/diskqueue),
 * max_size (required), segment_size (max_size / 10), read_ahead (512),
 * write_ahead (2048), retry_interval (1s), max_retry_interval (30s). */
static int read_disk_queue(const struct pb_cfg *root, const struct pb_cfg *dn,
                           struct queue_settings *q, char *why, size_t whylen)
{
    char path[256];
    const char *dir = NULL;
    const char *data = NULL;
    pb_cfg_path(dn, path, sizeof path);
    if (!pb_cfg_has(dn, "max_size")) {
        snprintf(why, whylen, "missing required field accessing '%s.max_size'", path);
        return -PB_EINVAL;
    }
    bool has_seg = pb_cfg_has(dn, "segment_size");
    if (pb_cfg_str(dn, "path", "", &dir) != 0 ||
        pb_cfg_size(dn, "max_size", 0, &q->max_size) != 0 ||
        pb_cfg_size(dn, "segment_size", 0, &q->segment_size) != 0 ||
        pb_cfg_int(dn, "read_ahead", 512, &q->read_ahead) != 0 ||
        pb_cfg_int(dn, "write_ahead", 2048, &q->write_ahead) != 0 ||
        pb_cfg_duration(dn, "retry_interval", 1000000000LL, &q->retry_ns) != 0 ||
        pb_cfg_duration(dn, "max_retry_interval", 30000000000LL, &q->retry_max_ns) != 0 ||
        pb_cfg_str(root, "path.data", "data", &data) != 0) {
        snprintf(why, whylen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (q->retry_ns <= 0 || q->retry_max_ns <= 0) {
        snprintf(why, whylen, "requires duration > 0 accessing '%s.%s'", path,
                 q->retry_ns <= 0 ? "retry_interval" : "max_retry_interval");
        return -PB_EINVAL;
    }
    if (!has_seg) {
        q->segment_size = q->max_size / 10;
    } else if (q->max_size != 0 && q->max_size < q->segment_size * 2) {
        snprintf(why, whylen, "disk queue max_size must be at least twice as big as segment_size");
        return -PB_EINVAL;
    }
    if (q->max_size != 0 && q->max_size < 10u * 1000u * 1000u) {
        snprintf(why, whylen, "disk queue max_size (%" PRIu64 ") cannot be less than 10MB",
                 q->max_size);
        return -PB_EINVAL;
    }
    if (has_seg && q->segment_size < 1000u * 1000u) {
        snprintf(why, whylen, "disk queue segment_size (%" PRIu64 ") cannot be less than 1MB",
                 q->segment_size);
        return -PB_EINVAL;
    }
    if (q->retry_max_ns < q->retry_ns) {
        snprintf(why, whylen, "disk queue max_retry_interval can't be less than retry_interval");
        return -PB_EINVAL;
    }
    if (q->segment_size == 0) {
        q->segment_size = 100u << 20; /* max_size 0 (no limit): libbeat's 100MiB */
    }
    if (q->read_ahead < 1) {
        q->read_ahead = 512;
    }
    if (dir != NULL && dir[0] != '\0') {
        snprintf(q->path, sizeof q->path, "%s", dir);
    } else {
        snprintf(q->path, sizeof q->path, "%s/diskqueue", data != NULL ? data : "data");
    }
    q->disk = true;
    return 0;
}

static int read_mem_queue(const struct pb_cfg *mem, struct queue_settings *q, char *why,
                          size_t whylen)
{
    char path[256];
    if (pb_cfg_int(mem, "events", DEF_QUEUE_EVENTS, &q->events) != 0 ||
        pb_cfg_int(mem, "flush.min_events", DEF_MIN_EVENTS, &q->min_events) != 0 ||
        pb_cfg_duration(mem, "flush.timeout", DEF_FLUSH_TIMEOUT_NS, &q->flush_timeout_ns) != 0) {
        snprintf(why, whylen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    pb_cfg_path(mem, path, sizeof path);
    if (q->events < 32) {
        snprintf(why, whylen, "requires value >= 32 accessing '%s.events'", path);
        return -PB_EINVAL;
    }
    if (q->events > (int64_t)PB_MAX_QUEUE_EVENTS) {
        snprintf(why, whylen, "queue size %" PRId64 " is above the limit %u accessing '%s.events'",
                 q->events, PB_MAX_QUEUE_EVENTS, path);
        return -PB_EINVAL;
    }
    if (q->min_events < 0) {
        snprintf(why, whylen, "requires value >= 0 accessing '%s.flush.min_events'", path);
        return -PB_EINVAL;
    }
    if (q->min_events > q->events) {
        snprintf(why, whylen, "flush.min_events must be less events accessing '%s'", path);
        return -PB_EINVAL;
    }
    return 0;
}

/* queue.* or the output's own `queue` (libbeat 8.x accepts one of the two);
 * only the memory queue exists here. Bad settings are fatal, as libbeat
 * parses them up front. */
static int read_queue(const struct pb_cfg *root, const struct pb_cfg *out_node,
                      struct queue_settings *q, char *err, size_t errlen)
{
    const struct pb_cfg *top = pb_cfg_get(root, "queue");
    const struct pb_cfg *qn = pb_cfg_get(out_node, "queue");
    if (qn != NULL && top != NULL) {
        snprintf(err, errlen,
                 "error unpacking config data: top level queue and output level queue settings "
                 "defined, only one is allowed accessing config");
        return -PB_EINVAL;
    }
    if (qn == NULL) {
        qn = top;
    }
    q->events = DEF_QUEUE_EVENTS;
    q->min_events = DEF_MIN_EVENTS;
    q->flush_timeout_ns = DEF_FLUSH_TIMEOUT_NS;
    q->disk = false;
    if (qn == NULL || qn->kind != PB_CFG_MAP) {
        return 0;
    }
    const struct pb_cfg *chosen = NULL;
    size_t n = pb_cfg_len(qn);
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *sub = pb_cfg_at(qn, i);
        bool enabled = true;
        if (sub->kind != PB_CFG_MAP && sub->kind != PB_CFG_NULL) {
            continue;
        }
        if (pb_cfg_bool(sub, "enabled", true, &enabled) != 0) {
            return cfg_fail(err, errlen);
        }
        if (!enabled) {
            continue;
        }
        if (chosen != NULL) {
            char path[256];
            pb_cfg_path(qn, path, sizeof path);
            snprintf(err, errlen, "more than one namespace configured accessing '%s'", path);
            return -PB_EINVAL;
        }
        chosen = sub;
    }
    if (chosen == NULL) {
        return 0;
    }
    if (strcmp(chosen->key, "disk") == 0) {
        char why[512];
        if (read_disk_queue(root, chosen, q, why, sizeof why) != 0) {
            snprintf(err, errlen, "couldn't unpack disk queue config: %s", why);
            return -PB_EINVAL;
        }
        return 0;
    }
    if (strcmp(chosen->key, "mem") != 0) {
        snprintf(err, errlen, "unrecognized queue type '%s'", chosen->key);
        return -PB_EINVAL;
    }
    char why[512];
    if (read_mem_queue(chosen, q, why, sizeof why) != 0) {
        snprintf(err, errlen, "couldn't unpack memory queue config: %s", why);
        return -PB_EINVAL;
    }
    return 0;
}

struct out_settings {
    int64_t clients;
    int64_t bulk_max_size;
    int64_t max_retries;
    int64_t backoff_init_ns;
    int64_t backoff_max_ns;
};

static int read_out_settings(const struct pb_output_ops *ops, const struct pb_cfg *node,
                             struct out_settings *o, char *err, size_t errlen)
{
    o->clients = 1;
    o->bulk_max_size = ops->default_bulk_max_size;
    o->max_retries = ops->default_max_retries;
    o->backoff_init_ns = DEF_BACKOFF_INIT_NS;
    o->backoff_max_ns = DEF_BACKOFF_MAX_NS;
    if (ops->flags & PB_OUTPUT_NET) {
        int64_t workers = 1;
        if (pb_cfg_int(node, "workers", 1, &workers) != 0 ||
            pb_cfg_int(node, "worker", workers, &o->clients) != 0 ||
            pb_cfg_int(node, "bulk_max_size", ops->default_bulk_max_size, &o->bulk_max_size) != 0 ||
            pb_cfg_int(node, "max_retries", ops->default_max_retries, &o->max_retries) != 0 ||
            pb_cfg_duration(node, "backoff.init", DEF_BACKOFF_INIT_NS, &o->backoff_init_ns) != 0 ||
            pb_cfg_duration(node, "backoff.max", DEF_BACKOFF_MAX_NS, &o->backoff_max_ns) != 0) {
            return cfg_fail(err, errlen);
        }
        if (o->clients < 1) {
            char path[256];
            pb_cfg_path(node, path, sizeof path);
            snprintf(err, errlen, "requires value >= 1 accessing '%s.worker'", path);
            return -PB_EINVAL;
        }
    }
    if (ops->clients != NULL) {
        int n = ops->clients(node, err, errlen);
        if (n < 0) {
            return n;
        }
        o->clients = n;
    }
    if (o->clients > PB_MAX_OUTPUT_CLIENTS) {
        snprintf(err, errlen, "too many output clients (%" PRId64 ", limit %d)", o->clients,
                 PB_MAX_OUTPUT_CLIENTS);
        return -PB_EINVAL;
    }
    if (o->backoff_init_ns < 0) {
        o->backoff_init_ns = 0;
    }
    if (o->backoff_max_ns < o->backoff_init_ns) {
        o->backoff_max_ns = o->backoff_init_ns;
    }
    return 0;
}

/* Inits one client; on failure its close has run. */
static int client_init(struct worker *w, const struct pb_output_ops *ops, const struct pb_cfg *root,
                       const struct pb_cfg *node, char *err, size_t errlen)
{
    w->out.ops = ops;
    w->out.beat = "packetbeat";
    w->out.version = PB_VERSION;
    w->out.root = root;
    w->out.priv = w;
    if (ops->ctx_size > 0) {
        w->out.ctx = pb_calloc(1, ops->ctx_size);
        if (w->out.ctx == NULL) {
            snprintf(err, errlen, "out of memory");
            return -PB_ENOMEM;
        }
    }
    int rc = ops->init != NULL ? ops->init(&w->out, node, err, errlen) : 0;
    if (rc != 0) {
        if (ops->close != NULL) {
            ops->close(&w->out);
        }
        pb_free(w->out.ctx);
        w->out.ctx = NULL;
        return rc < 0 ? rc : -PB_EINVAL;
    }
    w->out.root = NULL;
    w->inited = true;
    return 0;
}

static void client_fini(struct worker *w)
{
    if (w->inited && w->out.ops->close != NULL) {
        w->out.ops->close(&w->out);
    }
    w->inited = false;
    pb_free(w->out.ctx);
    w->out.ctx = NULL;
}

/* ---- public ------------------------------------------------------------- */

static void pipeline_free(struct pb_pipeline *pl)
{
    if (pl == NULL) {
        return;
    }
    for (size_t i = 0; i < pl->nworkers; i++) {
        client_fini(&pl->workers[i]);
    }
    pb_free(pl->workers);
    if (pl->ring != NULL) {
        for (size_t i = 0; i < pl->count; i++) {
            qev_free(&pl->ring[ring_at(pl, i)]);
        }
        pb_free(pl->ring);
    }
    struct pb_batch *b;
    while ((b = retry_pop(pl)) != NULL) {
        for (size_t i = 0; i < b->n; i++) {
            qev_free(&b->ev[i]);
        }
        batch_free(b);
    }
    pb_diskq_close(pl->dq);
    pthread_cond_destroy(&pl->cv_space);
    pthread_cond_destroy(&pl->cv);
    pthread_mutex_destroy(&pl->mu);
    pb_free(pl);
}

struct pb_pipeline *pb_pipeline_new(const struct pb_cfg *root, char *err, size_t errlen)
{
    const struct pb_cfg *node = NULL;
    struct queue_settings q;
    struct out_settings os;
    const struct pb_output_ops *ops;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (select_output(root, &node, err, errlen) != 0) {
        return NULL;
    }
    ops = find_ops(node->key, err, errlen);
    if (ops == NULL) {
        return NULL;
    }
    if (read_queue(root, node, &q, err, errlen) != 0 ||
        read_out_settings(ops, node, &os, err, errlen) != 0) {
        return NULL;
    }
    if (ops->tune != NULL) {
        struct pb_output_tuning t = {os.clients, os.bulk_max_size, q.events, q.min_events,
                                     q.flush_timeout_ns};
        if (ops->tune(node, &t, err, errlen) != 0) {
            return NULL;
        }
        if (t.clients < 0 || t.clients > PB_MAX_OUTPUT_CLIENTS || t.queue_events < 32 ||
            t.queue_events > (int64_t)PB_MAX_QUEUE_EVENTS || t.queue_min_events < 0 ||
            t.queue_min_events > t.queue_events) {
            snprintf(err, errlen, "output %s: invalid worker or queue settings", ops->name);
            return NULL;
        }
        os.clients = t.clients;
        os.bulk_max_size = t.bulk_max_size;
        q.events = t.queue_events;
        q.min_events = t.queue_min_events;
        q.flush_timeout_ns = t.queue_flush_timeout_ns;
    }

    struct pb_pipeline *pl = pb_calloc(1, sizeof *pl);
    if (pl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&pl->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&pl->cv, &ca);
    pthread_cond_init(&pl->cv_space, &ca);
    pthread_condattr_destroy(&ca);

    pl->ops = ops;
    pl->cap = (size_t)q.events;
    pl->flush_timeout_ns = q.flush_timeout_ns;
    size_t want = os.bulk_max_size > 0 ? (size_t)os.bulk_max_size : (size_t)q.min_events;
    if (q.min_events > 0 && want > (size_t)q.min_events) {
        want = (size_t)q.min_events;
    }
    if (want == 0 || want > pl->cap) {
        want = pl->cap; /* flush.min_events 0 and no bulk_max_size */
    }
    if (q.disk) {
        /* the disk queue hands out what it has, up to the batch size */
        want = os.bulk_max_size > 0 ? (size_t)os.bulk_max_size : (size_t)q.read_ahead;
        pl->flush_timeout_ns = 0;
        pl->dq_retry_ns = q.retry_ns;
        pl->dq_retry_max_ns = q.retry_max_ns;
    }
    pl->batch_want = want;
    pl->max_retries = os.max_retries < -1 ? -1 : (int)os.max_retries;
    pl->backoff_init_ns = os.backoff_init_ns;
    pl->backoff_max_ns = os.backoff_max_ns;
    pl->max_inflight = ops->max_inflight == 0 ? 1 : ops->max_inflight;
    pl->rng = (uint64_t)mono_ns() ^ ((uint64_t)(uintptr_t)pl << 16) ^ 0x9E3779B97F4A7C15ULL;
    if (pl->rng == 0) {
        pl->rng = 1;
    }

    if (q.disk) {
        struct pb_diskq_opts dqo = {
            .path = q.path,
            .max_size = q.max_size,
            .segment_size = q.segment_size,
        };
        pl->dq = pb_diskq_open(&dqo, err, errlen);
        if (pl->dq == NULL) {
            pipeline_free(pl);
            return NULL;
        }
        dq_sync(pl);
    } else {
        pl->ring = pb_calloc(pl->cap, sizeof *pl->ring);
    }
    pl->workers = os.clients > 0 ? pb_calloc((size_t)os.clients, sizeof *pl->workers) : NULL;
    if ((pl->dq == NULL && pl->ring == NULL) || (os.clients > 0 && pl->workers == NULL)) {
        snprintf(err, errlen, "out of memory");
        pipeline_free(pl);
        return NULL;
    }
    pl->nworkers = (size_t)os.clients;
    for (size_t i = 0; i < pl->nworkers; i++) {
        struct worker *w = &pl->workers[i];
        w->pl = pl;
        w->out.index = (unsigned)i;
        w->out.nclients = (unsigned)pl->nworkers;
        w->pub_d = 2 * pl->backoff_init_ns;
        w->conn_d = 2 * pl->backoff_init_ns;
        if (client_init(w, ops, root, node, err, errlen) != 0) {
            pipeline_free(pl);
            return NULL;
        }
    }
    pl->queue_json = pl->nworkers > 0;
    for (size_t i = 0; i < pl->nworkers; i++) {
        pl->queue_json = pl->queue_json && pl->workers[i].out.queue_json;
        pl->queue_spans = pl->queue_spans || pl->workers[i].out.queue_spans;
    }
    pl->queue_spans = pl->queue_spans && pl->queue_json;
    pb_debug(SEL,
             "pipeline: output %s, %zu client(s), queue %zu events, batch %zu, flush timeout "
             "%" PRId64 "ns, max_retries %d",
             ops->name, pl->nworkers, pl->cap, pl->batch_want, pl->flush_timeout_ns,
             pl->max_retries);
    return pl;
}

int pb_pipeline_start(struct pb_pipeline *pl)
{
    if (pl == NULL) {
        return -PB_EINVAL;
    }
    pthread_mutex_lock(&pl->mu);
    if (pl->started) {
        pthread_mutex_unlock(&pl->mu);
        return 0;
    }
    pl->started = true;
    pthread_mutex_unlock(&pl->mu);
    for (size_t i = 0; i < pl->nworkers; i++) {
        struct worker *w = &pl->workers[i];
        int rc = pthread_create(&w->thr, NULL, worker_main, w);
        if (rc != 0) {
            pb_error(SEL, "cannot start output worker: %s", strerror(rc));
            return -PB_EIO;
        }
        w->started = true;
    }
    return 0;
}

/* queue.disk: the event is written to the current segment (mutex held on
 * entry and exit); full → wait (block) or drop, a write error → retry
 * after retry_interval, doubling up to max_retry_interval (block) or drop. */
static int publish_disk(struct pb_pipeline *pl, json_t *ev, bool block)
{
    char *s = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (s == NULL) {
        pl->st.dropped++;
        pb_error(SEL, "disk queue: cannot serialise an event; dropped");
        return -PB_ENOMEM;
    }
    size_t len = strlen(s);
    int64_t retry = pl->dq_retry_ns;
    int rc;
    for (;;) {
        if (pl->closing) {
            rc = -PB_EIO;
            break;
        }
        rc = pb_diskq_append(pl->dq, s, len);
        if (rc == 0 || rc == -PB_EINVAL || !block) {
            break;
        }
        if (rc == -PB_ELIMIT) {
            pthread_cond_wait(&pl->cv_space, &pl->mu);
            continue;
        }
        pb_error(SEL, "disk queue: writing an event failed (%s); retrying in %" PRId64 "ms",
                 strerror(errno), retry / 1000000);
        struct timespec ts;
        int64_t dl = mono_ns() + retry;
        ts.tv_sec = (time_t)(dl / 1000000000LL);
        ts.tv_nsec = (long)(dl % 1000000000LL);
        pthread_cond_timedwait(&pl->cv_space, &pl->mu, &ts);
        retry = retry * 2 > pl->dq_retry_max_ns ? pl->dq_retry_max_ns : retry * 2;
    }
    free(s); /* jansson's allocator */
    if (rc != 0) {
        if (rc == -PB_EINVAL) {
            pb_error(SEL, "disk queue: an event of %zu bytes does not fit in a segment; dropped",
                     len);
        }
        pl->st.dropped++;
        return rc;
    }
    dq_sync(pl);
    pl->st.published++;
    pthread_cond_broadcast(&pl->cv);
    return 0;
}

/* The scratch buffer of the encoding threads stays allocated up to this
 * size (an event that does not fit a slab is encoded there, then copied). */
#define SCRATCH_KEEP (256u * 1024u)

/* What an encoding thread keeps: its current slab and its scratch buffer
   (released when the thread ends). */
struct enc_thread {
    struct slab *slab; /* a reference, or NULL */
    struct pb_codec_buf scratch;
};

static pthread_key_t enc_key;
static pthread_once_t enc_once = PTHREAD_ONCE_INIT;
static bool enc_ok;
/* This thread's encoding state once made: what enc_key holds, without
   the two library calls of a lookup for every event (enc_key remains for
   its destructor). */
static _Thread_local struct enc_thread *enc_self;

static void enc_thread_free(void *p)
{
    struct enc_thread *t = p;
    enc_self = NULL; /* runs on the thread that ends */
    if (t->slab != NULL) {
        slab_retire(t->slab);
    }
    pb_codec_buf_free(&t->scratch);
    pb_free(t);
}

static void enc_init(void)
{
    enc_ok = pthread_key_create(&enc_key, enc_thread_free) == 0;
}

/* This thread's encoding state, or NULL. */
static struct enc_thread *thread_enc(void)
{
    if (enc_self != NULL) {
        return enc_self;
    }
    pthread_once(&enc_once, enc_init);
    if (!enc_ok) {
        return NULL;
    }
    struct enc_thread *t = pthread_getspecific(enc_key);
    if (t == NULL && (t = pb_calloc(1, sizeof *t)) != NULL &&
        pthread_setspecific(enc_key, t) != 0) {
        pb_free(t);
        t = NULL;
    }
    enc_self = t;
    return t;
}

/* Retires the thread's slab (its events keep it) for a new one. */
static struct slab *renew_slab(struct enc_thread *t)
{
    if (t->slab != NULL) {
        slab_retire(t->slab);
    }
    t->slab = slab_new();
    return t->slab;
}

static int encode_into(const pb_event *ev, const json_t *tree, struct pb_codec_buf *b, bool *exact,
                       struct pb_enc_spans *sp)
{
    *exact = false;
    if (ev != NULL && sp != NULL) {
        return pb_ev_encode_spans(ev, b, exact, sp);
    }
    return ev != NULL ? pb_ev_encode(ev, false, false, b, exact)
                      : pb_json_encode_exact(tree, b, exact);
}

/* Encodes into the rest of slab s, then '\n': 0 (the event is at
   s->data + *at, *len bytes), 1 when the encoding would not be exact,
   -PB_ELIMIT when it does not fit. */
static int encode_in_slab(struct slab *s, const pb_event *ev, const json_t *tree, size_t *at,
                          size_t *len, struct pb_enc_spans *sp)
{
    struct pb_codec_buf b = {
        .p = s->data + s->used, .cap = SLAB_BYTES - s->used - 1, .fixed = true};
    bool exact;
    int rc = encode_into(ev, tree, &b, &exact, sp);
    if (rc != 0) {
        return rc;
    }
    if (!exact) {
        return 1;
    }
    b.p[b.len] = '\n';
    *at = s->used;
    *len = b.len;
    s->used += b.len + 1;
    s->nev++; /* a reference, counted by the bias until the slab retires */
    return 0;
}

/* The compact encoding of an arena event (ev) or of a tree (*len bytes,
 * for the queue; *sp, unless NULL, where an arena event's @metadata and
 * agent went): in this thread's slab (*slab set to the reference the
 * caller now holds), or in a block of its own (*slab NULL) when it does
 * not fit one. Neither is memory of the protocol that published it (the
 * TCP tracker charges a connection with what its callbacks keep). NULL
 * when it cannot be made exactly (the caller queues the event itself). */
static char *encode_block(const pb_event *ev, const json_t *tree, size_t *len, struct slab **slab,
                          struct pb_enc_spans *sp)
{
    struct enc_thread *t = thread_enc();
    *slab = NULL;
    if (t != NULL) {
        struct slab *s = t->slab;
        if (s == NULL || SLAB_BYTES - s->used < SLAB_MIN_ROOM) {
            s = renew_slab(t);
        }
        size_t at = 0;
        int rc = s != NULL ? encode_in_slab(s, ev, tree, &at, len, sp) : -PB_ENOMEM;
        if (rc == -PB_ELIMIT && s->used > 0 && (s = renew_slab(t)) != NULL) {
            rc = encode_in_slab(s, ev, tree, &at, len, sp);
        }
        if (rc == 0) {
            *slab = s;
            return s->data + at;
        }
        if (rc == 1) {
            return NULL;
        }
    }
    /* larger than a slab, or no slab: the growing buffer */
    struct pb_codec_buf local = {0};
    struct pb_codec_buf *b = t != NULL ? &t->scratch : &local;
    bool exact = false;
    b->len = 0;
    int rc = encode_into(ev, tree, b, &exact, sp);
    char *block = NULL;
    if (rc == 0 && exact && (block = pb_malloc(b->len > 0 ? b->len : 1)) != NULL) {
        memcpy(block, b->p, b->len);
        *len = b->len;
        pb_alloc_disown(block);
    }
    if (b->cap > SCRATCH_KEEP || b == &local) {
        pb_codec_buf_free(b); /* a rare huge event */
    }
    return block;
}

/* Puts q[0..n) on the memory queue in order, under one hold of the lock
 * (taking them all). With block=false what finds the queue full is dropped
 * and counted; -PB_ELIMIT (-PB_EIO when closing) if any was. */
static int enqueue_many(struct pb_pipeline *pl, struct qev *q, size_t n, bool block)
{
    int rc = 0;
    pthread_mutex_lock(&pl->mu);
    for (size_t i = 0; i < n; i++) {
        while (pl->used >= pl->cap && !pl->closing && block) {
            pthread_cond_wait(&pl->cv_space, &pl->mu);
        }
        if (pl->closing || pl->used >= pl->cap) {
            rc = pl->closing ? -PB_EIO : -PB_ELIMIT;
            pl->st.dropped++;
            if (qev_arena(&q[i]) != NULL) {
                pb_ev_own(q[i].ev); /* disowned by enqueue: freed here */
            }
            qev_free(&q[i]);
            continue;
        }
        pl->ring[ring_at(pl, pl->count)] = q[i];
        pl->count++;
        pl->used++;
        pl->st.published++;
        /* A waiting worker only cares when work appears (it then starts
           its flush timer) and when a full batch is there; waking it for
           every event costs a futex wake and a context switch per event. */
        if (pl->count == 1 || pl->count == pl->batch_want) {
            pthread_cond_broadcast(&pl->cv);
        }
    }
    pthread_mutex_unlock(&pl->mu);
    return rc;
}

/* ---- staged publishing ----
 * A packet thread that turns its stage on (pb_pipeline_stage) publishes
 * into a small array of its own, moved onto the queue STAGE_MAX events at
 * a time: one lock (and at most one wake-up) for many events instead of
 * one per event. The thread empties its stage whenever it may wait and
 * before it stops, so nothing stays behind. */
enum { STAGE_MAX = 64 };
static _Thread_local struct stage {
    struct pb_pipeline *pl; /* borrowed; NULL: events go straight to the queue */
    bool block;
    size_t n;
    struct qev q[STAGE_MAX];
} stage;

static int stage_flush(struct stage *s)
{
    int rc = s->n > 0 ? enqueue_many(s->pl, s->q, s->n, s->block) : 0;
    s->n = 0;
    return rc;
}

void pb_pipeline_stage(struct pb_pipeline *pl, bool on)
{
    struct stage *s = &stage;
    if (s->pl != NULL) {
        (void)stage_flush(s);
    }
    /* only the memory queue: the disk queue writes under its own lock */
    s->pl = on && pl != NULL && pl->dq == NULL ? pl : NULL;
}

/* This thread's next stage entry for an event published to pl, to be
 * filled in place and then taken by stage_commit; NULL when events for pl
 * do not go through the stage. (Filled where it stays: a queue entry
 * written field by field and then copied whole would make the copy's wide
 * loads wait for every store before them, the encoding's included, on
 * lines that miss: that wait was ~4 % of a dense run.) */
static inline struct qev *stage_slot(const struct pb_pipeline *pl)
{
    struct stage *s = &stage;
    return s->pl == pl ? &s->q[s->n] : NULL; /* n < STAGE_MAX: a full stage is emptied */
}

static int stage_commit(bool block)
{
    struct stage *s = &stage;
    s->n++;
    s->block = block;
    return s->n == STAGE_MAX ? stage_flush(s) : 0;
}

/* Puts the queue entry q on the memory queue (taking it), through this
 * thread's stage when it has one for pl. */
static int enqueue(struct pb_pipeline *pl, const struct qev *q, bool block)
{
    if (qev_arena(q) != NULL) {
        /* freed by the output's thread: out of this thread's count now,
           while the protocol that made it is still in its callback (the
           TCP tracker charges a connection with what its callbacks keep;
           a staged event leaves later, during another's) */
        pb_ev_disown(q->ev);
    }
    struct stage *s = &stage;
    if (s->pl != pl) {
        struct qev one = *q;
        return enqueue_many(pl, &one, 1, block);
    }
    s->q[s->n++] = *q;
    s->block = block;
    return s->n == STAGE_MAX ? stage_flush(s) : 0;
}

int pb_pipeline_publish(struct pb_pipeline *pl, json_t *ev, bool block)
{
    if (pl == NULL || ev == NULL) {
        json_decref(ev);
        return -PB_EINVAL;
    }
    struct qev q = {.tree = ev};
    if (pl->dq == NULL && pl->queue_json) {
        /* queue.mem keeps the encoding (outside the lock: producers
           encode in parallel with the workers) */
        size_t len = 0;
        q.js = encode_block(NULL, ev, &len, &q.slab, NULL);
        q.len = (uint32_t)len;
        if (q.js != NULL) {
            q.tree = NULL;
            json_decref(ev);
        }
    }
    if (pl->dq != NULL) {
        pthread_mutex_lock(&pl->mu);
        int rc = publish_disk(pl, ev, block);
        pthread_mutex_unlock(&pl->mu);
        return rc;
    }
    return enqueue(pl, &q, block);
}

int pb_pipeline_publish_event(struct pb_pipeline *pl, pb_event *ev, bool block)
{
    if (pl == NULL || ev == NULL) {
        pb_ev_free(ev);
        return -PB_EINVAL;
    }
    if (pl->dq == NULL && pl->queue_json && !pb_ev_is_tree(ev)) {
        /* encoded from the arena: no jansson tree is ever built; the
           entry is made in the stage (stage_slot) when there is one */
        struct qev one, *q = stage_slot(pl);
        bool staged = q != NULL;
        if (!staged) {
            q = &one;
        }
        struct pb_enc_spans sp = {0};
        size_t len = 0;
        q->tree = NULL;
        q->js = encode_block(ev, NULL, &len, &q->slab, pl->queue_spans ? &sp : NULL);
        q->len = (uint32_t)len;
        qev_set_spans(q, &sp);
        if (q->js != NULL) {
            pb_ev_free(ev);
            return staged ? stage_commit(block) : enqueue_many(pl, q, 1, block);
        }
    }
    if (pl->dq == NULL && !pb_ev_is_tree(ev)) {
        /* an output that reads trees: the event waits in its arena and
           becomes a tree on the output's thread (pb_batch_event), so that
           the tree is made and freed by one thread */
        return enqueue(pl, &(struct qev){.ev = ev}, block);
    }
    json_t *tree = pb_ev_take(ev);
    if (tree == NULL) {
        pthread_mutex_lock(&pl->mu);
        pl->st.dropped++;
        pthread_mutex_unlock(&pl->mu);
        return -PB_ENOMEM;
    }
    return pb_pipeline_publish(pl, tree, block);
}

void pb_pipeline_close(struct pb_pipeline *pl, int64_t timeout_ns)
{
    pb_pipeline_close_stats(pl, timeout_ns, NULL);
}

void pb_pipeline_close_stats(struct pb_pipeline *pl, int64_t timeout_ns,
                             struct pb_pipeline_stats *final)
{
    if (pl == NULL) {
        return;
    }
    bool any_started = false;
    for (size_t i = 0; i < pl->nworkers; i++) {
        any_started = any_started || pl->workers[i].started;
    }
    pthread_mutex_lock(&pl->mu);
    pl->closing = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_cond_broadcast(&pl->cv_space);
    int64_t deadline = timeout_ns < 0 ? 0 : mono_ns() + timeout_ns;
    while (any_started && pl->used > 0) {
        if (timeout_ns < 0 && pl->stop != NULL && *pl->stop) {
            /* asked to stop while waiting for every ack (-I): wait the
               grace period from now, as a live shutdown would */
            timeout_ns = pl->stop_grace_ns;
            deadline = mono_ns() + timeout_ns;
        }
        if (timeout_ns < 0) {
            /* in slices, to notice the stop flag */
            wait_until(pl, mono_ns() + 100 * 1000000LL);
        } else {
            if (mono_ns() >= deadline) {
                break;
            }
            wait_until(pl, deadline);
        }
    }
    size_t left = pl->used;
    pl->stopping = true;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);

    for (size_t i = 0; i < pl->nworkers; i++) {
        if (pl->workers[i].started) {
            pthread_join(pl->workers[i].thr, NULL);
            pl->workers[i].started = false;
        }
    }
    /* the outputs finish what they still hold before their close returns */
    for (size_t i = 0; i < pl->nworkers; i++) {
        client_fini(&pl->workers[i]);
    }
    pthread_mutex_lock(&pl->mu);
    size_t out = pl->batches_out;
    pthread_mutex_unlock(&pl->mu);
    if (final != NULL) {
        pb_pipeline_get_stats(pl, final);
    }
    if (left > 0 && pl->dq != NULL) {
        pb_info(SEL, "shutdown: %zu event(s) not acknowledged yet stay in the disk queue", left);
    } else if (left > 0) {
        pb_info(SEL, "shutdown: %zu event(s) not acknowledged by the output were dropped", left);
    }
    if (out > 0) {
        /* a broken output kept batches past its close: leave them (and
           the pipeline memory they point to) rather than risk a late
           callback touching freed memory */
        pb_error(SEL, "output %s kept %zu batch(es) after close", pl->ops->name, out);
        return;
    }
    pipeline_free(pl);
}

void pb_pipeline_set_stop(struct pb_pipeline *pl, volatile sig_atomic_t *stop, int64_t grace_ns)
{
    pl->stop = stop;
    pl->stop_grace_ns = grace_ns < 0 ? 0 : grace_ns;
}

void pb_pipeline_get_stats(struct pb_pipeline *pl, struct pb_pipeline_stats *st)
{
    pthread_mutex_lock(&pl->mu);
    *st = pl->st;
    st->active = pl->used;
    pthread_mutex_unlock(&pl->mu);
}

int pb_pipeline_test_output(const struct pb_cfg *root, char *err, size_t errlen)
{
    const struct pb_cfg *node = NULL;
    const struct pb_output_ops *ops;
    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    if (select_output(root, &node, err, errlen) != 0) {
        return -PB_EINVAL;
    }
    ops = find_ops(node->key, err, errlen);
    if (ops == NULL) {
        return -PB_EINVAL;
    }
    struct worker w;
    memset(&w, 0, sizeof w);
    w.out.nclients = 1;
    int rc = client_init(&w, ops, root, node, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (ops->test != NULL) {
        rc = ops->test(&w.out, err, errlen);
    } else {
        snprintf(err, errlen, "%s output doesn't support testing", ops->name);
        rc = -PB_EINVAL;
    }
    client_fini(&w);
    return rc;
}
