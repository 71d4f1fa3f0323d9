/* SPDX-License-Identifier: Apache-2.0
 * packet/workers.h - packet workers (packetbeat.interfaces.workers, ours):
 * the capture thread keeps reading and decoding (IP reassembly and tunnels
 * stay in one place) and hands each decoded packet to one of N threads,
 * chosen by a hash of its addresses and ports that is the same for both
 * directions, so that all the packets of a TCP connection, a UDP or ICMP
 * exchange and a flow meet in one worker. Each worker owns a TCP tracker,
 * a set of protocol instances and a flow table shard.
 *
 *  - Each worker has a ring of PB_WORKER_RING_BYTES; the packet (decoded
 *    headers and payload) is copied in. A full ring makes the capture
 *    thread wait: nothing is dropped.
 *  - Timer ticks (the capture thread's 100 ms wall-clock tick) and the end
 *    of input travel in-band in every ring, so that a worker sees them at
 *    the same place in its packet stream as a single thread would.
 *  - TCP connection ids (part of the flow id) are the ones one tracker
 *    would have given: connection k created in packet order gets id k. A
 *    worker creating a connection waits until the others have handled
 *    every earlier packet, then counts the connections they created
 *    before it (a log per worker, trimmed below what all workers passed).
 *  - Events leave from the worker threads: the emit function must be
 *    thread-safe (the frame serialises the client/processors path).
 */
#ifndef PB_PACKET_WORKERS_H
#define PB_PACKET_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"
#include "protos/protos.h"

struct pb_decoded;
struct pb_tcp;
struct pb_flows;

/* What one worker runs on; owned ones are freed by pb_workers_free. */
struct pb_worker_parts {
    struct pb_protos *ps; /* NULL: no protocols */
    struct pb_tcp *tcp;
    struct pb_flows *fl; /* NULL when flows are off */
    bool owned;          /* ps (with pb_protos_free + pb_free), tcp, fl */
};

/* Frees p's parts if owned (then zeroes p). */
void pb_worker_parts_free(struct pb_worker_parts *p);

/* One decoded frame through parts p, as the single thread and each worker
 * handle it: TCP tracking, or UDP or ICMP dispatch (when ok: decoded), then
 * hook (when set) and the flows. now is the frame's clock (timeouts). */
void pb_worker_parts_frame(const struct pb_worker_parts *p, struct pb_decoded *d, bool ok,
                           uint64_t now, pb_packet_hook_fn hook, void *hook_ctx);

struct pb_workers;

/* n (2..PB_MAX_WORKERS) workers over parts[0..n) (copied; ownership of the
 * owned parts passes even on failure). The hook, if any, is called from the
 * worker threads. Threads start with pb_workers_start. NULL with err. */
struct pb_workers *pb_workers_new(unsigned n, const struct pb_worker_parts *parts,
                                  pb_packet_hook_fn hook, void *hook_ctx, char *err, size_t errlen);
/* Replaces the hook (before pb_workers_start). */
void pb_workers_set_hook(struct pb_workers *ws, pb_packet_hook_fn hook, void *ctx);
/* The staging calls each worker thread makes (pb_capture_set_stage), set
 * before pb_workers_start. */
void pb_workers_set_stage(struct pb_workers *ws, pb_stage_fn fn, void *ctx);
/* Starts the threads (once); -PB_E* when one cannot start. */
int pb_workers_start(struct pb_workers *ws);
/* Hands a decoded packet (d, pb_decode's result ok; borrowed) to its
 * worker; now_ns is the wall clock for TCP idle times and flows. Waits while
 * that worker's ring is full. */
void pb_workers_packet(struct pb_workers *ws, const struct pb_decoded *d, bool ok, uint64_t now_ns);
/* Every worker runs its timers (protocols, TCP expiry, flows) at now_ns,
 * after the packets handed to it so far. */
void pb_workers_tick(struct pb_workers *ws, uint64_t now_ns);
/* Stops the workers after the packets handed so far; with end_of_input
 * each first flushes TCP, shuts its protocols down and drops its
 * connections, as the single-threaded loop does at the end of a file.
 * Returns once every thread has ended. Flows are left for the caller
 * (pb_flows_final on each part, after this). */
void pb_workers_finish(struct pb_workers *ws, bool end_of_input);
/* Counters summed over the workers, as of their last tick (a worker
 * copies them at each tick and at the end; any thread may read them). */
void pb_workers_tcp_stats(struct pb_workers *ws, struct pb_tcp_stats *sum, size_t *mem);
void pb_workers_flows_stats(struct pb_workers *ws, struct pb_flows_stats *sum);
void pb_workers_proto_stats(struct pb_workers *ws, size_t idx, struct pb_proto_stats *sum);
/* Once the threads are gone: copies the counters again (pb_flows_final on
 * the capture thread changed the flows' ones). */
void pb_workers_refresh_stats(struct pb_workers *ws);
unsigned pb_workers_count(const struct pb_workers *ws);
const struct pb_worker_parts *pb_workers_part(const struct pb_workers *ws, unsigned i);
/* Finishes (without end of input) if still running, frees owned parts. */
void pb_workers_free(struct pb_workers *ws);

/* The worker of a decoded packet among n: the same for both directions. */
unsigned pb_workers_pick(const struct pb_decoded *d, bool ok, unsigned n);

#endif
