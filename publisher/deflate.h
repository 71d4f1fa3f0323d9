/* SPDX-License-Identifier: Apache-2.0
 * publisher/deflate.h - whole-buffer DEFLATE for what the outputs send:
 * Elasticsearch's gzipped _bulk bodies and Logstash's compressed
 * Lumberjack windows (zlib format).
 *
 * libdeflate rather than zlib: every body is compressed at once (no
 * stream), which is what libdeflate is made for; at level 1 (the
 * Elasticsearch output's default) it compresses a body of events in less
 * than half zlib's time, a little smaller, and both formats are the
 * standard ones any peer inflates. zlib stays for inflating (HTTP bodies).
 *
 * A deflater keeps its compressor (a few hundred KB of match-finder
 * tables) between calls: one per connection, used by one thread at a time.
 */
#ifndef PB_DEFLATE_H
#define PB_DEFLATE_H

#include <stddef.h>

#include "publisher/codec.h"

enum pb_deflate_fmt {
    PB_DEFLATE_GZIP, /* RFC 1952: Content-Encoding: gzip */
    PB_DEFLATE_ZLIB, /* RFC 1950: Lumberjack's 'C' frames */
};

struct pb_deflater {
    struct libdeflate_compressor *c; /* for level; NULL until first used */
    int level;
};

/* Appends in[0..len) compressed in fmt at level (1-9, as the outputs'
 * compression_level) to out. 0; -PB_EINVAL for a level outside 1-9,
 * -PB_ENOMEM, -PB_ELIMIT when the result could not fit 4 GB. out is as it
 * was on failure. */
int pb_deflate_append(struct pb_deflater *d, enum pb_deflate_fmt fmt, int level,
                      struct pb_codec_buf *out, const void *in, size_t len);

/* Frees the compressor; d can be used again. */
void pb_deflater_fini(struct pb_deflater *d);

#endif
