/* SPDX-License-Identifier: Apache-2.0
 * beat/procs.h - process enrichment (packetbeat.procs) on Linux, as
 * Packetbeat's process watcher does it:
 *
 *  - enabled (default false); off with -I (the frame does not create it).
 *  - An endpoint (IP, port) of an event is looked up only when the IP is
 *    local (loopback, or an address of a local interface). The owner is
 *    found from /proc/net/{tcp,tcp6} or {udp,udp6} (the socket's inode) and
 *    /proc/<pid>/fd (which process holds that inode); a socket bound to the
 *    exact address wins over one bound to the any-address.
 *  - The process: pid, ppid, name (comm), args (cmdline), executable,
 *    working directory, start time; cached 30 s per pid. When the joined
 *    args contain a monitored[].cmdline_grep, the name becomes that entry's
 *    `process` (first match; an empty cmdline_grep matches everything).
 *  - The socket table is reread when a lookup misses, at most once per
 *    PB_PROCS_REFRESH_NS per transport. Tables and caches are capped
 *    (PB_MAX_PROC_SOCKETS, PB_MAX_PROC_CACHE).
 *
 * Not thread-safe: used from the thread that finalises events.
 */
#ifndef PB_PROCS_H
#define PB_PROCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/net.h"

#define PB_MAX_PROC_SOCKETS 65536u
#define PB_MAX_PROC_CACHE 4096u
#define PB_PROCS_REFRESH_NS (100ull * 1000000ull)

struct pb_procs;

struct pb_proc_info {
    int pid, ppid;
    char name[256];
    char exe[1024];
    char cwd[1024];
    json_t *args;      /* array of strings; owned by the cache */
    uint64_t start_ns; /* wall clock, 0 unknown */
};

/* Reads packetbeat.procs. Returns NULL when it is disabled (logs "Process
 * watcher disabled") or on allocation failure; err is set only on a config
 * error (then NULL too). proc_root is "/proc" (tests point it elsewhere). */
struct pb_procs *pb_procs_new(const struct pb_cfg *root, const char *proc_root, char *err,
                              size_t errlen);
void pb_procs_free(struct pb_procs *p);

/* The process owning (ip, port) for transport PB_IPPROTO_TCP or _UDP, NULL
 * when the IP is not local or no process is found. Borrowed until the next
 * call. now_ns: wall clock. */
const struct pb_proc_info *pb_procs_find(struct pb_procs *p, uint8_t transport,
                                         const struct pb_ip *ip, uint16_t port, uint64_t now_ns);

/* Adds source.process / destination.process / process to ev from its
 * source.ip/port, destination.ip/port and network.transport. flow: the
 * layout of flow events (ppid, every key present) instead of the ECS one of
 * transactions (parent.pid, empty values left out). */
void pb_procs_enrich(struct pb_procs *p, pb_event *ev, bool flow, uint64_t now_ns);

#endif
