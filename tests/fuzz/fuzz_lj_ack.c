/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_lj_ack.c - the Logstash output's ACK reader as the
 * connection drives it: frames parsed off the front of whatever the server
 * sent, each ACK applied to the window in flight (publisher/outputs/
 * logstash/lj_proto.h).
 *
 * Input: byte 0 and 1 the window size (big endian, 0 taken as 1); the rest
 * is the server's byte stream, delivered in one piece and again one byte
 * at a time (both must agree).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "publisher/outputs/logstash/lj_proto.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    return 0;
}

/* Feeds s[0..n) as the connection would, growing the received prefix by
 * `step` bytes (0: all at once). Returns how the stream ended, with the
 * number of acked events in *acked and of ACK frames in *frames. */
static int drive(const uint8_t *s, size_t n, size_t step, uint32_t count, uint32_t *acked,
                 size_t *frames)
{
    size_t used = 0, have = step == 0 ? n : 0;
    *acked = 0;
    *frames = 0;
    for (;;) {
        uint32_t seq = 0;
        enum pb_lj_ack_rc rc = pb_lj_parse_ack(s + used, have - used, &seq);
        if (rc == PB_LJ_ACK_BAD) {
            return -1;
        }
        if (rc == PB_LJ_ACK_MORE) {
            if (have == n) {
                return 0;
            }
            have += step;
            if (have > n) {
                have = n;
            }
            continue;
        }
        if (rc != PB_LJ_ACK_OK) {
            __builtin_trap(); /* an answer outside the contract */
        }
        used += PB_LJ_ACK_LEN;
        if (used > have) {
            __builtin_trap();
        }
        (*frames)++;
        uint32_t before = *acked;
        enum pb_lj_win_rc w = pb_lj_apply_ack(count, acked, seq);
        if (*acked > count || (w != PB_LJ_WIN_ERROR && *acked < before)) {
            __builtin_trap();
        }
        if (w == PB_LJ_WIN_ERROR) {
            return -2;
        }
        if (w == PB_LJ_WIN_DONE) {
            if (*acked != count) {
                __builtin_trap();
            }
            return 1;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    uint32_t count = (uint32_t)data[0] << 8 | data[1];
    if (count == 0) {
        count = 1;
    }
    /* an exactly-sized copy, so that reading past the end is caught */
    size_t n = size - 2;
    uint8_t *s = malloc(n > 0 ? n : 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data + 2, n);
    uint32_t a1 = 0, a2 = 0;
    size_t f1 = 0, f2 = 0;
    int r1 = drive(s, n, 0, count, &a1, &f1);
    int r2 = drive(s, n, 1, count, &a2, &f2);
    if (r1 != r2 || a1 != a2 || f1 != f2) {
        __builtin_trap(); /* the split changed the outcome */
    }
    struct pb_lj_slowstart w;
    pb_lj_ss_init(&w, 10, 2048);
    for (size_t i = 0; i < n; i++) {
        if (s[i] & 1) {
            pb_lj_ss_grow(&w, s[i]);
        } else {
            pb_lj_ss_shrink(&w);
        }
        if (w.size < 1 || w.size > 2048) {
            __builtin_trap();
        }
    }
    free(s);
    return 0;
}
