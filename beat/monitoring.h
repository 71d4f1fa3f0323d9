/* SPDX-License-Identifier: Apache-2.0
 * beat/monitoring.h - what a Beat tells about itself while it runs: the HTTP
 * endpoint (`http.enabled`, `http.host`, `http.port`) serving `/` (the
 * beat's identity) and `/stats` (its counters), and the periodic
 * "Non-zero metrics in the last 30s" log line (`logging.metrics.enabled`,
 * `logging.metrics.period`).
 *
 * beat/ does not know the pipeline or the capture: whoever starts
 * monitoring passes a function that fills the stats object (libbeat's
 * layout: beat.*, libbeat.pipeline.*, libbeat.output.*, system.*, plus
 * packetbeat's own). It is called from the monitoring thread.
 */
#ifndef PB_MONITORING_H
#define PB_MONITORING_H

#include <jansson.h>
#include <stddef.h>

#include "beat/cfg.h"
#include "beat/client.h"

typedef void (*pb_stats_fn)(void *ctx, json_t *stats);

struct pb_monitoring;

/* Reads http.* and logging.metrics.*; starts the thread when either is on.
 * NULL with err[0] == '\0' when both are off; NULL with a message in err
 * when the config is bad or the endpoint cannot listen. info is borrowed. */
struct pb_monitoring *pb_monitoring_start(const struct pb_cfg *root,
                                          const struct pb_beat_info *info, pb_stats_fn fn,
                                          void *ctx, char *err, size_t errlen);
/* Stops the thread and the endpoint: the stats function is not called
 * any more until pb_monitoring_stop. Safe to call twice. */
void pb_monitoring_halt(struct pb_monitoring *m);
/* Halts if not yet, logs the "Total metrics" line as Beats do at exit
 * (calling the stats function once more) and frees m. */
void pb_monitoring_stop(struct pb_monitoring *m);

/* Exposed for tests: the stats document (beat.info.*, beat.memstats.rss,
 * beat.cpu, system.*) completed by fn; new reference. */
json_t *pb_monitoring_stats(struct pb_monitoring *m);
/* The `/` document; new reference. */
json_t *pb_monitoring_info(struct pb_monitoring *m);
/* The metrics of cur worth logging, nested as libbeat logs them: counters
 * as their increase since prev (NULL: since start), gauges (memory, cpu,
 * load, active events, uptime...) as their value, each only when not zero;
 * non-numeric leaves (output type, version) with their parent's numbers.
 * New reference. */
json_t *pb_monitoring_delta(const json_t *prev, const json_t *cur);

#endif
