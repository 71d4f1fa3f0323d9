/* SPDX-License-Identifier: Apache-2.0
 * beat/processors.h - libbeat processors and conditions: a list read from a
 * `processors:` config node, run on each event in order. Global, per
 * protocol and per flows section, as in Packetbeat.
 */
#ifndef PB_PROCESSORS_H
#define PB_PROCESSORS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"

struct pb_cond;
struct pb_processors;

/* A condition from its config node (`equals: {...}`, `and: [...]`, ...).
 * NULL with err set. */
struct pb_cond *pb_cond_new(const struct pb_cfg *node, char *err, size_t errlen);
bool pb_cond_eval(const struct pb_cond *c, const json_t *ev);
bool pb_cond_eval_ev(const struct pb_cond *c, pb_event *ev);
void pb_cond_free(struct pb_cond *c);

/* The processors of a list node (NULL node: an empty list). NULL with err
 * naming the processor and key on a bad config. */
struct pb_processors *pb_processors_new(const struct pb_cfg *list, char *err, size_t errlen);
/* Runs every processor on ev; takes ev and returns it, or NULL when a
 * processor dropped it. Thread-compatible: one list per thread or external
 * locking. */
pb_event *pb_processors_run(struct pb_processors *ps, pb_event *ev);
bool pb_processors_empty(const struct pb_processors *ps);
/* When all ps does to the usual event is add_host_metadata setting host
 * to a value all events share (pb_processors_mark_last): that value (the
 * event holds it by reference), *reads the key bits (pb_key_bit) whose
 * absence from an arena event's root makes it the usual one. Then running
 * ps on such an event whose host is absent, {} or only a name gives what
 * setting host to the value gives. Else NULL. */
const json_t *pb_processors_host_plan(const struct pb_processors *ps, uint64_t *reads);
/* Whether ps knows ahead what it does to the usual event (one whose root
 * lacks every field its conditions and processors read): then
 * pb_processors_run applies just that to such events. For tests. */
bool pb_processors_planned(const struct pb_processors *ps);
/* Tells ps that it is the last thing to change events: after it they are
 * only read (encoded, queued, sent). Processors whose output no later
 * processor of ps can change may then hand every event the same immutable
 * subtree (add_host_metadata's host object) instead of a copy each. */
void pb_processors_mark_last(struct pb_processors *ps);
/* True when no processor of ps (NULL: none) can change, in place, what an
 * event holds at the top-level key ("agent", "@metadata"): such values may
 * then be shared read-only between events. */
bool pb_processors_keep(const struct pb_processors *ps, const char *key);
void pb_processors_free(struct pb_processors *ps);

/* MIME type of a body as libbeat's detect_mime_type reports it (Go's
 * http.DetectContentType rules), NULL when unknown. */
const char *pb_mime_detect(const unsigned char *data, size_t len);

#endif
