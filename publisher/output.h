/* SPDX-License-Identifier: Apache-2.0
 * publisher/output.h - the output interface and the batch API.
 *
 * An output is one table of callbacks (struct pb_output_ops) listed once in
 * publisher/outputs/outputs.c. The pipeline creates one struct pb_output per
 * client (libbeat: one per worker; an output may ask for more, e.g. one per
 * worker and host) and drives each from its own worker thread:
 *
 *   init(o, cfg)   once, with the output's config node (output.<name>)
 *   connect(o)     optional; before the first publish and again after a
 *                  batch came back cancelled; on failure the worker waits
 *                  libbeat's backoff and tries again
 *   publish(o, b)  hands over one batch; the output ends it with exactly one
 *                  of pb_batch_ack/_retry/_retry_events/_drop/_cancelled,
 *                  now or later from any thread (a libcurl or librdkafka
 *                  callback). A worker keeps at most ops->max_inflight of
 *                  its batches unfinished (0 means 1: synchronous).
 *   close(o)       once, after the workers stopped; must finish (ack, drop
 *                  or cancel) every batch it still holds before returning.
 *
 * Events in a batch are borrowed: the pipeline frees them once the batch is
 * finished. Outputs serialise them with publisher/codec.h.
 */
#ifndef PB_OUTPUT_H
#define PB_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"

struct pb_output;
struct pb_batch;
struct pb_pipeline;

/* ops->flags */
enum {
    /* A network output (libbeat NetworkClient): reads `worker` (or
       `workers`), `max_retries`, `bulk_max_size`, `backoff.init` and
       `backoff.max` from its config node. Without it the output has one
       client and the defaults below. */
    PB_OUTPUT_NET = 1u << 0,
};

/* What the pipeline runs an output with, after the output's defaults, the
   config and the queue section; an output's `tune` may change it. */
struct pb_output_tuning {
    int64_t clients;                /* workers (one struct pb_output each) */
    int64_t bulk_max_size;          /* <= 0: the queue decides */
    int64_t queue_events;           /* queue.mem.events */
    int64_t queue_min_events;       /* queue.mem.flush.min_events */
    int64_t queue_flush_timeout_ns; /* queue.mem.flush.timeout */
};

struct pb_output_ops {
    const char *name; /* config key under output.: "file", "console", ... */
    unsigned flags;   /* PB_OUTPUT_* */
    size_t ctx_size;  /* o->ctx, zeroed by the pipeline, per client */
    /* Events per batch when bulk_max_size is not configured; <= 0 lets the
       queue decide (flush.min_events), as libbeat's -1 and 0 do. */
    int default_bulk_max_size;
    /* max_retries when not configured (libbeat: 3 for network outputs, 0
       for file and console, which never fail a batch). -1: forever. */
    int default_max_retries;
    /* Batches one worker may have unfinished at once; 0 means 1. */
    unsigned max_inflight;

    /* How many clients to run (each gets its own struct pb_output, ctx and
       worker thread); NULL: the `worker` setting for PB_OUTPUT_NET outputs,
       1 otherwise. 0 or more, or a negative pb_err with a message. */
    int (*clients)(const struct pb_cfg *cfg, char *err, size_t errlen);
    /* Reads the config node (output.<name>) into o->ctx. 0 or a negative
       pb_err with a message in err (libbeat's wording where it has one).
       A failed init is followed by close(o). */
    int (*init)(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen);
    /* Optional. 0 connected; negative: failed (the worker backs off). */
    int (*connect)(struct pb_output *o);
    /* Required. See above. */
    void (*publish)(struct pb_output *o, struct pb_batch *b);
    /* Optional. Frees what ctx owns. Also called after a failed init. */
    void (*close)(struct pb_output *o);
    /* Optional, for `test output`: checks the connection and says what it
       did in msg. 0 ok. */
    int (*test)(struct pb_output *o, char *msg, size_t msglen);
    /* Optional: adjusts the settings the pipeline read from cfg (the
       output's node) before it builds the queue and the clients, e.g. the
       Elasticsearch `preset` (bulk_max_size, worker, queue.mem.*) and one
       client per worker and host. 0 or a negative pb_err with a message. */
    int (*tune)(const struct pb_cfg *cfg, struct pb_output_tuning *t, char *err, size_t errlen);
};

struct pb_output {
    const struct pb_output_ops *ops; /* borrowed */
    void *ctx;                       /* owned by the pipeline: ops->ctx_size bytes */
    unsigned index;                  /* this client's number, 0..nclients-1 */
    unsigned nclients;
    const char *beat;    /* "packetbeat" (index / @metadata.beat) */
    const char *version; /* "8.17.2" */
    /* The whole config tree (borrowed, valid during init only): for
       path.home, name and other global keys an output may need. */
    const struct pb_cfg *root;
    void *priv; /* the pipeline's own; outputs leave it alone */
    /* Set by init when the output reads events through
       pb_batch_event_json and seldom needs their trees: when every client
       sets it, the memory queue keeps events as their JSON encoding (a
       tenth of a tree's memory). Left false, it keeps the trees: cheaper
       for an output that needs each event's tree anyway (decoding costs
       more than the encoding saves). */
    bool queue_json;
    /* With queue_json: also note where each event's @metadata and agent
       lie in its encoding (pb_batch_event_spans). */
    bool queue_spans;
};

/* ---- batches --------------------------------------------------------- */

/* Events in the batch (at least 1). */
size_t pb_batch_len(const struct pb_batch *b);
/* The i-th event (borrowed; do not change or free it). The queue may hold
   it encoded only (pb_batch_event_json): then the first call decodes it,
   and the tree is kept with the batch; NULL if that fails. */
json_t *pb_batch_event(const struct pb_batch *b, size_t i);
/* The i-th event as the json codec writes it with its defaults (compact,
   no escape_html; no trailing newline), len bytes (borrowed, valid until
   the batch is finished); NULL when the queue holds only its tree (then
   encode pb_batch_event). Cheaper than encoding the tree again. */
const char *pb_batch_event_json(const struct pb_batch *b, size_t i, size_t *len);
/* Where the i-th event's @metadata and agent lie in its encoding
   (pb_batch_event_json; lengths 0: not known). False when the queue does
   not hold it encoded. */
struct pb_enc_spans; /* publisher/codec.h */
bool pb_batch_event_spans(const struct pb_batch *b, size_t i, struct pb_enc_spans *sp);
/* The same encoding followed by its '\n' (len counts it) when the queue
   holds it that way, NULL otherwise. Consecutive events often lie end to
   end: one's line ends where the next one's starts. */
const char *pb_batch_event_line(const struct pb_batch *b, size_t i, size_t *len);
/* The i-th event while the queue still holds it in its arena (borrowed,
   read only), NULL otherwise (then use pb_batch_event): an output that can
   read the arena (pb_ev_get_*, pb_ev_encode_doc) avoids making its tree. */
pb_event *pb_batch_arena(const struct pb_batch *b, size_t i);

/* Optional, just before pb_batch_ack or pb_batch_retry_events: n of the
   events that call acks were in fact given up (a non-retryable per-event
   error, e.g. an Elasticsearch mapping error, already logged); they are
   counted as failed instead of acked. */
void pb_batch_given_up(struct pb_batch *b, size_t n);

/* Every event was delivered. */
void pb_batch_ack(struct pb_batch *b);
/* Nothing was delivered: send the whole batch again after backoff; spends
   one attempt (after max_retries failed attempts it is dropped). */
void pb_batch_retry(struct pb_batch *b);
/* Events idx[0..n-1] (indices into this batch, any order, no duplicates)
   failed and are sent again as one batch; the rest are acked. n == 0 is an
   ack. Spends one attempt. */
void pb_batch_retry_events(struct pb_batch *b, const size_t *idx, size_t n);
/* Give up on every event (not retryable, e.g. a mapping error); counted
   as failed. */
void pb_batch_drop(struct pb_batch *b);
/* The connection went away before the batch could be sent: send it again
   without spending an attempt; the worker reconnects (ops->connect) and
   backs off first. */
void pb_batch_cancelled(struct pb_batch *b);

/* ---- registry (publisher/outputs/outputs.c) ---------------------------- */

/* The ops of an output type, NULL if this build has none of that name.
   Outputs registered with pb_output_register_test are found first. */
const struct pb_output_ops *pb_output_find(const char *name);
/* Output types that libbeat has but this build does not implement yet
   (true: a clear "not supported yet" error instead of "undefined"). */
bool pb_output_known_unimplemented(const char *name);
/* Tests only: adds an output type (up to 8) found by pb_output_find;
   NULL clears them. Not thread-safe: call before creating pipelines. */
void pb_output_register_test(const struct pb_output_ops *ops);

#endif
