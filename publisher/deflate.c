/* SPDX-License-Identifier: Apache-2.0
 * publisher/deflate.c - whole-buffer DEFLATE through libdeflate (see the
 * header for why not zlib).
 */
#include "publisher/deflate.h"

#include <libdeflate.h>
#include <pthread.h>
#include <stdint.h>

#include "beat/alloc.h"
#include "beat/err.h"

/* libdeflate's tables come from pb_malloc like everything else: counted,
   and failing now and then under fault injection */
static void use_pb_alloc(void)
{
    libdeflate_set_memory_allocator(pb_malloc, pb_free);
}

static struct libdeflate_compressor *compressor(struct pb_deflater *d, int level)
{
    if (d->c != NULL && d->level == level) {
        return d->c;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, use_pb_alloc);
    pb_deflater_fini(d);
    d->c = libdeflate_alloc_compressor(level);
    d->level = level;
    return d->c;
}

int pb_deflate_append(struct pb_deflater *d, enum pb_deflate_fmt fmt, int level,
                      struct pb_codec_buf *out, const void *in, size_t len)
{
    if (level < 1 || level > 9) {
        return -PB_EINVAL;
    }
    struct libdeflate_compressor *c = compressor(d, level);
    if (c == NULL) {
        return -PB_ENOMEM;
    }
    size_t bound = fmt == PB_DEFLATE_GZIP ? libdeflate_gzip_compress_bound(c, len)
                                          : libdeflate_zlib_compress_bound(c, len);
    if (bound > UINT32_MAX || out->len > SIZE_MAX - bound) {
        return -PB_ELIMIT;
    }
    if (out->cap - out->len < bound) {
        if (out->fixed) {
            return -PB_ELIMIT;
        }
        size_t want = out->len + bound;
        char *np = pb_realloc(out->p, want);
        if (np == NULL) {
            return -PB_ENOMEM;
        }
        out->p = np;
        out->cap = want;
    }
    char *at = out->p + out->len;
    size_t n = fmt == PB_DEFLATE_GZIP ? libdeflate_gzip_compress(c, in, len, at, bound)
                                      : libdeflate_zlib_compress(c, in, len, at, bound);
    if (n == 0) { /* cannot happen with the bound's room */
        return -PB_EIO;
    }
    out->len += n;
    return 0;
}

void pb_deflater_fini(struct pb_deflater *d)
{
    libdeflate_free_compressor(d->c);
    d->c = NULL;
    d->level = 0;
}
