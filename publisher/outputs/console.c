/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/console.c - output.console: one encoded event per line
 * on stdout (codec.json.pretty / escape_html, or codec.format; the legacy
 * `pretty` key when no codec is set), flushed after every batch. Like
 * libbeat's console output it acks every batch; an event that cannot be
 * encoded or written is dropped and logged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beat/err.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/output.h"

struct console {
    struct pb_codec codec;
    struct pb_codec_buf buf;
    FILE *out; /* borrowed: stdout */
};

static int console_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct console *c = o->ctx;
    bool pretty = false;
    if (pb_cfg_bool(cfg, "pretty", false, &pretty) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    int rc = pb_codec_init(&c->codec, cfg, pretty, err, errlen);
    if (rc != 0) {
        return rc;
    }
    c->out = stdout;
    o->queue_json = pb_codec_is_plain_json(&c->codec);
    return 0;
}

static void console_publish(struct pb_output *o, struct pb_batch *b)
{
    struct console *c = o->ctx;
    size_t n = pb_batch_len(b);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        c->buf.len = 0;
        size_t jlen = 0;
        const char *js = pb_codec_is_plain_json(&c->codec) ? pb_batch_event_json(b, i, &jlen) : NULL;
        int rc = js != NULL ? pb_codec_buf_append(&c->buf, js, jlen)
                            : pb_codec_encode(&c->codec, pb_batch_event(b, i), &c->buf);
        if (rc == 0) {
            rc = pb_codec_buf_append(&c->buf, "\n", 1);
        }
        if (rc != 0) {
            dropped++;
            pb_debug("console", "Unable to encode event: %s", pb_strerror(rc));
            continue;
        }
        if (fwrite(c->buf.p, 1, c->buf.len, c->out) != c->buf.len) {
            dropped++;
            pb_log(PB_LOG_CRITICAL, "console", "Unable to publish events to console: %s",
                   strerror(errno));
            clearerr(c->out);
        }
    }
    if (fflush(c->out) != 0) {
        pb_log(PB_LOG_CRITICAL, "console", "Unable to publish events to console: %s",
               strerror(errno));
        clearerr(c->out);
    }
    if (dropped > 0) {
        pb_debug("console", "%zu event(s) dropped", dropped);
    }
    pb_batch_ack(b);
}

static void console_close(struct pb_output *o)
{
    struct console *c = o->ctx;
    if (c == NULL) {
        return;
    }
    pb_codec_fini(&c->codec);
    pb_codec_buf_free(&c->buf);
}

const struct pb_output_ops pb_output_console = {
    .name = "console",
    .flags = 0,
    .ctx_size = sizeof(struct console),
    .default_bulk_max_size = 0, /* libbeat: batch size 0, the queue decides */
    .default_max_retries = 0,
    .max_inflight = 1,
    .init = console_init,
    .publish = console_publish,
    .close = console_close,
};
