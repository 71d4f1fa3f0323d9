/* SPDX-License-Identifier: Apache-2.0
 * protos/nfs/nfs_event.h - the NFS transaction event as Packetbeat 8.x
 * builds it: made when the call is seen, completed by the reply (or marked
 * NO_REPLY when the call expires).
 */
#ifndef PB_NFS_EVENT_H
#define PB_NFS_EVENT_H

#include <jansson.h>

#include "beat/event.h"
#include <stdbool.h>
#include <stdint.h>

#include "beat/net.h"
#include "nfs_parse.h"

/* The event for a call: `tuple` has the caller as src. `size` is the record
 * size (source.bytes). NULL on allocation failure. */
pb_event *nfs_call_event(const struct nfs_call *c, const struct pb_tuple *tuple, uint64_t ts_ns,
                         size_t size);
/* Completes ev with the reply (destination.bytes, event.end/duration,
 * rpc.status, nfs.status, event.outcome). `proc` is the call's procedure.
 * Returns false when Packetbeat would publish nothing (accept status out of
 * range, NFS status word missing). */
bool nfs_reply_complete(pb_event *ev, const struct nfs_reply *r, uint32_t proc, uint64_t start_ns,
                        uint64_t ts_ns, size_t size);
/* Marks ev as never answered (status NO_REPLY). */
void nfs_mark_no_reply(pb_event *ev);

#endif
