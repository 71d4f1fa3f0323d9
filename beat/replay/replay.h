/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/replay.h - `packetbeat replay` (an extension, not in
 * Packetbeat): sends the requests of captured transactions (NDJSON events
 * from the file output, or stdin) to a target server, compares each new
 * response with the recorded one and reports counts, mismatches with
 * examples and latency percentiles, old vs new. See README "Replay".
 */
#ifndef PB_REPLAY_H
#define PB_REPLAY_H

/* argv[0] is "replay". Returns the exit status: 0 all matched, 2 some
 * mismatched or failed, 1 usage or set-up error. */
int pb_replay_main(int argc, char **argv);

#endif
