/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/logstash/lj_proto.c - Lumberjack v2 frames (see
 * lj_proto.h); pure: no I/O, no globals.
 */
#include "publisher/outputs/logstash/lj_proto.h"

#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/rd.h"

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int pb_lj_put_window(struct pb_codec_buf *out, uint32_t count)
{
    uint8_t h[6] = {PB_LJ_VERSION, 'W'};
    be32(h + 2, count);
    return pb_codec_buf_append(out, h, sizeof h);
}

int pb_lj_put_json(struct pb_codec_buf *out, uint32_t seq, const void *json, size_t len)
{
    if (len > UINT32_MAX) {
        return -PB_ELIMIT;
    }
    uint8_t h[10] = {PB_LJ_VERSION, 'J'};
    be32(h + 2, seq);
    be32(h + 6, (uint32_t)len);
    size_t before = out->len;
    int rc = pb_codec_buf_append(out, h, sizeof h);
    if (rc == 0) {
        rc = pb_codec_buf_append(out, json, len);
    }
    if (rc != 0) {
        out->len = before;
    }
    return rc;
}

int pb_lj_put_compressed(struct pb_deflater *d, struct pb_codec_buf *out, const void *in,
                         size_t len, int level)
{
    if (level < 1 || level > 9) {
        return -PB_EINVAL;
    }
    if (len > UINT32_MAX / 2) {
        return -PB_ELIMIT;
    }
    size_t before = out->len;
    uint8_t h[6] = {PB_LJ_VERSION, 'C'};
    int rc = pb_codec_buf_append(out, h, sizeof h);
    if (rc == 0) {
        rc = pb_deflate_append(d, PB_DEFLATE_ZLIB, level, out, in, len);
    }
    if (rc != 0) {
        out->len = before;
        return rc;
    }
    be32((uint8_t *)out->p + before + 2, (uint32_t)(out->len - before - sizeof h));
    return 0;
}

enum pb_lj_ack_rc pb_lj_parse_ack(const uint8_t *p, size_t len, uint32_t *seq)
{
    struct pb_rd r = pb_rd_make(p, len);
    uint8_t ver = pb_rd_u8(&r);
    uint8_t code = pb_rd_u8(&r);
    uint32_t v = pb_rd_be32(&r);
    if (len >= 1 && ver != PB_LJ_VERSION) {
        return PB_LJ_ACK_BAD;
    }
    if (len >= 2 && code != 'A') {
        return PB_LJ_ACK_BAD;
    }
    if (!pb_rd_ok(&r)) {
        return PB_LJ_ACK_MORE;
    }
    *seq = v;
    return PB_LJ_ACK_OK;
}

enum pb_lj_win_rc pb_lj_apply_ack(uint32_t count, uint32_t *acked, uint32_t seq)
{
    if (seq > count) {
        return PB_LJ_WIN_ERROR;
    }
    if (seq <= *acked) {
        return PB_LJ_WIN_KEEPALIVE;
    }
    *acked = seq;
    return seq == count ? PB_LJ_WIN_DONE : PB_LJ_WIN_PARTIAL;
}

/* ---- slow start ----------------------------------------------------------- */

static int grow_half(int v)
{
    /* ceil(1.5 * v) without floating point */
    return v + (v + 1) / 2;
}

void pb_lj_ss_init(struct pb_lj_slowstart *w, int start, int max)
{
    if (max < 1) {
        max = 1;
    }
    if (start > max) {
        start = max;
    }
    if (start < 1) {
        start = 1;
    }
    w->size = start;
    w->max_ok = 0;
    w->max = max;
}

void pb_lj_ss_grow(struct pb_lj_slowstart *w, int batch_size)
{
    int size = w->size;
    if (size > batch_size) {
        return; /* the window was not filled: it says nothing */
    }
    if (w->max_ok < size) {
        w->max_ok = size;
        int next = grow_half(size);
        if (batch_size < next) {
            next = batch_size;
        }
        if (next > w->max) {
            next = w->max;
        }
        size = next;
    } else if (size < w->max_ok) {
        size = grow_half(size);
        if (size > w->max_ok) {
            size = w->max_ok;
        }
    }
    w->size = size;
}

void pb_lj_ss_shrink(struct pb_lj_slowstart *w)
{
    int size = w->size / 2;
    w->size = size < 1 ? 1 : size;
}
