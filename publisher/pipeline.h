/* SPDX-License-Identifier: Apache-2.0
 * publisher/pipeline.h - the publisher pipeline: a bounded queue between the
 * capture thread and the output workers, batching, retries with backoff, and
 * acks. An event leaves the queue only when its output acked (or dropped) it.
 */
#ifndef PB_PIPELINE_H
#define PB_PIPELINE_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"

struct pb_pipeline;

/* Counters, read by monitoring (libbeat's names in comments). */
struct pb_pipeline_stats {
    uint64_t published; /* pipeline.events.published */
    uint64_t dropped;   /* pipeline.events.dropped (queue full, live mode) */
    uint64_t acked;     /* output.events.acked */
    uint64_t failed;    /* output.events.failed */
    uint64_t retried;   /* pipeline.events.retry */
    uint64_t batches;   /* output.events.batches */
    uint64_t active;    /* pipeline.events.active / queue fill */
};

/* Builds the queue (queue.mem.*) and the one configured output (output.*).
 * Exactly one output must be enabled. NULL with a message in err. */
struct pb_pipeline *pb_pipeline_new(const struct pb_cfg *root, char *err, size_t errlen);
/* Starts output workers. */
int pb_pipeline_start(struct pb_pipeline *pl);
/* Queues ev (takes it). block=true waits for room (-I); false drops and
 * counts when the queue is full, returning -PB_ELIMIT. */
int pb_pipeline_publish(struct pb_pipeline *pl, json_t *ev, bool block);
/* The same for an event (taken): with queue.mem and outputs that queue
 * JSON, encoded straight from its arena. */
int pb_pipeline_publish_event(struct pb_pipeline *pl, pb_event *ev, bool block);
/* Staged publishing for the calling thread: on, the events it publishes to
 * pl gather in a small stage of its own and enter the queue a few dozen at
 * a time; off, the stage is emptied and publishing goes straight to the
 * queue again. Each call empties the stage, so a thread calls it (on) when
 * it may wait for input and (off) before it stops: staged events are not
 * yet in the queue, and no one else moves them there. Only queue.mem
 * stages. */
void pb_pipeline_stage(struct pb_pipeline *pl, bool on);
/* Flushes and waits up to timeout_ns (<0: forever) for every queued event to
 * be acked, then stops the workers and frees everything. */
void pb_pipeline_close(struct pb_pipeline *pl, int64_t timeout_ns);
/* Same, and *final gets the counters as they stood once the outputs
 * finished (for the "Total metrics" log line). */
void pb_pipeline_close_stats(struct pb_pipeline *pl, int64_t timeout_ns,
                             struct pb_pipeline_stats *final);
void pb_pipeline_get_stats(struct pb_pipeline *pl, struct pb_pipeline_stats *st);
/* A close that waits forever (timeout < 0, as after -I) gives up waiting
 * grace_ns after *stop becomes non-zero (SIGINT/SIGTERM): what is still
 * unacknowledged then is dropped and counted, as in a live shutdown. */
void pb_pipeline_set_stop(struct pb_pipeline *pl, volatile sig_atomic_t *stop, int64_t grace_ns);
/* `test output`: connects to the output and reports; 0 ok. */
int pb_pipeline_test_output(const struct pb_cfg *root, char *err, size_t errlen);

#endif
