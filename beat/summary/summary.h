/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/summary.h - service statistics over the transaction events:
 * per protocol and per group (HTTP method + URL fingerprint, SQL statement
 * fingerprint, Redis command, ...) the count, error count and rate, request
 * and response bytes, and latency p50/p90/p99/max from event.duration.
 *
 * Read-only on the events it is shown: it never changes what Packetbeat
 * emits. Memory is bounded: at most `max_groups` groups (config
 * packetbeat.summary.max_groups, default PB_SUMMARY_MAX_GROUPS); events that
 * would open one more are counted into their protocol's "(other)" group.
 * Thread-safe (one mutex).
 */
#ifndef PB_SUMMARY_H
#define PB_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "beat/cfg.h"
#include "beat/event.h"

/* groups per summary unless packetbeat.summary.max_groups says otherwise */
#define PB_SUMMARY_MAX_GROUPS 1000u
/* distinct protocols (event `type` values) tracked; more are not counted */
#define PB_SUMMARY_MAX_PROTOCOLS 64u
/* a group key is cut at this many bytes */
#define PB_SUMMARY_KEY_MAX 256u

struct pb_summary;

struct pb_summary *pb_summary_new(size_t max_groups);
void pb_summary_free(struct pb_summary *s);
/* Forgets every group (a new window starts now). */
void pb_summary_reset(struct pb_summary *s);

/* Counts one transaction event (ev is only read). Flow events and events
 * without a `type` are ignored. */
void pb_summary_observe(struct pb_summary *s, pb_event *ev);
/* The same with the values already extracted; bytes/duration < 0: unknown. */
void pb_summary_add(struct pb_summary *s, const char *proto, const char *key, bool error,
                    int64_t req_bytes, int64_t resp_bytes, int64_t duration_ns);
/* The group key of an event ("GET /users/?", "SELECT * FROM t WHERE id = ?",
 * "SET"); writes "" when the event has nothing to group by. */
void pb_summary_key(pb_event *ev, char *out, size_t out_len);

/* Events seen, groups in use, events counted into "(other)" groups. */
void pb_summary_counts(struct pb_summary *s, uint64_t *events, size_t *groups, uint64_t *overflow);

/* One group's numbers, for tests and callers that render their own view. */
struct pb_summary_row {
    const char *proto, *key; /* borrowed until the next call on s */
    bool all, other;         /* the protocol's total row / its overflow group */
    uint64_t count, errors, req_bytes, resp_bytes;
    uint64_t p50, p90, p99, max; /* nanoseconds */
};
/* Calls fn for each row: per protocol (by name) its "(all)" row first, then
 * its groups by count (descending) then key, "(other)" last. */
void pb_summary_foreach(struct pb_summary *s,
                        void (*fn)(void *ctx, const struct pb_summary_row *row), void *ctx);

/* Prints the table. */
void pb_summary_print(struct pb_summary *s, FILE *f);

/* One event per row (see README "Service statistics"): type "summary",
 * event.kind "metric", summary.*; window is [start_ns, end_ns] (wall clock).
 * Returns a JSON array (new reference), NULL on allocation failure. */
json_t *pb_summary_events(struct pb_summary *s, uint64_t start_ns, uint64_t end_ns);

/* ---- the frame's helper: table, final and periodic events ---- */

typedef void (*pb_summary_emit_fn)(void *ctx, json_t *ev);

struct pb_summary_runner;

/* Reads packetbeat.summary.{period,max_groups}. Active when `table` (the
 * --summary flag) or a period > 0 is set; returns NULL otherwise (err "")
 * or on error (err set). With a period a thread emits one event per group
 * every period through emit (ctx passed back) and starts a new window. */
struct pb_summary_runner *pb_summary_runner_new(const struct pb_cfg *root, bool table,
                                                pb_summary_emit_fn emit, void *ctx, char *err,
                                                size_t errlen);
/* NULL-safe; ev is only read. */
void pb_summary_runner_observe(struct pb_summary_runner *r, pb_event *ev);
/* Stops the thread and emits the last window (or, without a period, the
 * whole run). Call before the pipeline closes. NULL-safe. */
void pb_summary_runner_finish(struct pb_summary_runner *r);
/* Prints the whole run's table on f when --summary was given. NULL-safe. */
void pb_summary_runner_print(struct pb_summary_runner *r, FILE *f);
/* Finishes (if not yet) and frees. NULL-safe. */
void pb_summary_runner_free(struct pb_summary_runner *r);

#endif
