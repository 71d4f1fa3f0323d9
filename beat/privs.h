/* SPDX-License-Identifier: Apache-2.0
 * beat/privs.h - least privilege (ours): once the capture handles are open,
 * packetbeat can give up root and go on as an unprivileged user
 * (`packetbeat.run_as.user`, optional `packetbeat.run_as.group`). The open
 * pcap handles keep working; nothing else needs root afterwards except the
 * process enrichment (`packetbeat.procs` reads other users' /proc/<pid>/fd),
 * which then sees only that user's processes.
 */
#ifndef PB_PRIVS_H
#define PB_PRIVS_H

#include <stddef.h>

#include "beat/cfg.h"

/* Switches to packetbeat.run_as.user (and its group, or run_as.group) when
 * set: supplementary groups, gid, then uid, and checks that root cannot be
 * regained. 0 when done or not configured; -PB_E* with a message in err. */
int pb_privs_drop(const struct pb_cfg *root, char *err, size_t errlen);

#endif
