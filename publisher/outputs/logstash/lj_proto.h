/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/logstash/lj_proto.h - the Lumberjack v2 wire format as
 * the Logstash `beats` input speaks it (go-lumber client v2); pure: no I/O.
 *
 *   client → server
 *     '2' 'W' u32 count                    window: count data frames follow
 *     '2' 'J' u32 seq u32 len <len bytes>  one JSON event; seq is 1..count
 *                                          within the window
 *     '2' 'C' u32 len <zlib stream>        compressed: the J frames of the
 *                                          window, deflated as one stream
 *   server → client
 *     '2' 'A' u32 seq                      ACK: events 1..seq of the oldest
 *                                          unfinished window are done; seq <
 *                                          count is a partial ACK, an ACK
 *                                          that does not advance (0 while
 *                                          Logstash is busy) is a keep-alive
 *
 * All integers are big endian.
 */
#ifndef PB_LJ_PROTO_H
#define PB_LJ_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "publisher/codec.h"
#include "publisher/deflate.h"

#define PB_LJ_VERSION '2'
#define PB_LJ_ACK_LEN 6

/* Appends the window frame '2W' count. 0 or -PB_ENOMEM/-PB_ELIMIT. */
int pb_lj_put_window(struct pb_codec_buf *out, uint32_t count);
/* Appends one JSON data frame '2J' seq len json. */
int pb_lj_put_json(struct pb_codec_buf *out, uint32_t seq, const void *json, size_t len);
/* Appends '2C' len zlib(in) at the given level (1..9), compressed by d.
   -PB_EINVAL for a bad level, -PB_ELIMIT when in is too large for one
   frame. */
int pb_lj_put_compressed(struct pb_deflater *d, struct pb_codec_buf *out, const void *in,
                         size_t len, int level);

enum pb_lj_ack_rc {
    PB_LJ_ACK_MORE = 0, /* fewer than 6 bytes */
    PB_LJ_ACK_OK = 1,   /* one ACK parsed, 6 bytes used */
    PB_LJ_ACK_BAD = -1, /* not an ACK frame: protocol error */
};
/* Parses one ACK frame from the front of p. */
enum pb_lj_ack_rc pb_lj_parse_ack(const uint8_t *p, size_t len, uint32_t *seq);

enum pb_lj_win_rc {
    PB_LJ_WIN_KEEPALIVE = 0, /* no progress (seq 0 or repeated) */
    PB_LJ_WIN_PARTIAL = 1,   /* progress, window not complete */
    PB_LJ_WIN_DONE = 2,      /* every event of the window acked */
    PB_LJ_WIN_ERROR = -1,    /* seq beyond the window: protocol error */
};
/* Applies ACK seq to a window of count events of which *acked are already
   acked; updates *acked. */
enum pb_lj_win_rc pb_lj_apply_ack(uint32_t count, uint32_t *acked, uint32_t seq);

/* libbeat's slow-start window (outputs/logstash/window.go semantics): starts
   at 10 events, grows by half again after each fully acked window that
   used the whole window, up to the largest size that worked and then up
   to max; halves (not below 1) on a failure. */
struct pb_lj_slowstart {
    int size;
    int max_ok;
    int max;
};
void pb_lj_ss_init(struct pb_lj_slowstart *w, int start, int max);
void pb_lj_ss_grow(struct pb_lj_slowstart *w, int batch_size);
void pb_lj_ss_shrink(struct pb_lj_slowstart *w);

#endif
