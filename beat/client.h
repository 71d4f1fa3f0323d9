/* SPDX-License-Identifier: Apache-2.0
 * beat/client.h - what libbeat's pipeline client adds to every event before
 * it is queued: @metadata, agent.*, ecs.version, host.name, network.direction,
 * the global and per-section `fields`, `fields_under_root`, `tags`, `index`,
 * and the processors (later).
 */
#ifndef PB_CLIENT_H
#define PB_CLIENT_H

#include <jansson.h>

#include "beat/cfg.h"
#include "beat/event.h"

struct pb_beat_info {
    const char *beat;     /* "packetbeat" */
    const char *version;  /* "8.17.2" */
    const char *hostname; /* host.name */
    const char *name;     /* agent.name: `name` config or hostname */
    char ephemeral_id[40];
    char agent_id[40];
};

struct pb_client;

/* Reads the global settings (name, tags, fields, fields_under_root,
 * timestamp.precision, packetbeat.interfaces.internal_networks). NULL with
 * err set. info is borrowed and must outlive the client. */
struct pb_client *pb_client_new(const struct pb_cfg *root, const struct pb_beat_info *info,
                                char *err, size_t errlen);
void pb_client_free(struct pb_client *c);

/* Finalises ev for publishing. `section` is the config node of the protocol
 * or flows section that made the event (its fields/tags/index apply), NULL
 * for none. Takes ev; returns it, or NULL when a processor dropped it. */
pb_event *pb_client_finalize(struct pb_client *c, pb_event *ev, const struct pb_cfg *section);

struct pb_procs; /* beat/procs.h */
/* Process enrichment (packetbeat.procs) for every event finalised from now
 * on: source.process, destination.process, process. procs is borrowed (NULL
 * turns it off); it must outlive the client's use. */
void pb_client_set_procs(struct pb_client *c, struct pb_procs *procs);

/* Fills info: hostname, ephemeral id, and the agent id kept in
 * <data_path>/meta.json (created on first start). */
int pb_beat_info_init(struct pb_beat_info *info, const char *data_path, const char *name);

#endif
