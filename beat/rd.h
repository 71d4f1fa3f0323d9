/* SPDX-License-Identifier: Apache-2.0
 * beat/rd.h - the bounds-checked reader every parser uses on untrusted bytes.
 * A read past the end sets `bad` (sticky) and returns 0; check pb_rd_ok()
 * once after a group of reads and decide there.
 */
#ifndef PB_RD_H
#define PB_RD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pb_slice {
    const uint8_t *ptr; /* borrowed */
    size_t len;
};

struct pb_rd {
    const uint8_t *p, *end;
    bool bad; /* sticky: set by the first short read */
};

static inline struct pb_rd pb_rd_make(const uint8_t *p, size_t len)
{
    struct pb_rd r = {p, p + len, false};
    return r;
}

static inline size_t pb_rd_left(const struct pb_rd *r)
{
    return r->bad ? 0 : (size_t)(r->end - r->p);
}

static inline bool pb_rd_ok(const struct pb_rd *r)
{
    return !r->bad;
}

static inline bool pb_rd_need(struct pb_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    return true;
}

static inline uint8_t pb_rd_u8(struct pb_rd *r)
{
    if (!pb_rd_need(r, 1)) {
        return 0;
    }
    return *r->p++;
}

static inline uint16_t pb_rd_be16(struct pb_rd *r)
{
    if (!pb_rd_need(r, 2)) {
        return 0;
    }
    uint16_t v = (uint16_t)(((unsigned)r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return v;
}

static inline uint32_t pb_rd_be24(struct pb_rd *r)
{
    if (!pb_rd_need(r, 3)) {
        return 0;
    }
    uint32_t v = ((uint32_t)r->p[0] << 16) | ((uint32_t)r->p[1] << 8) | r->p[2];
    r->p += 3;
    return v;
}

static inline uint32_t pb_rd_be32(struct pb_rd *r)
{
    if (!pb_rd_need(r, 4)) {
        return 0;
    }
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return v;
}

static inline uint64_t pb_rd_be64(struct pb_rd *r)
{
    uint64_t hi = pb_rd_be32(r);
    uint64_t lo = pb_rd_be32(r);
    return (hi << 32) | lo;
}

static inline uint16_t pb_rd_le16(struct pb_rd *r)
{
    if (!pb_rd_need(r, 2)) {
        return 0;
    }
    uint16_t v = (uint16_t)(r->p[0] | ((unsigned)r->p[1] << 8));
    r->p += 2;
    return v;
}

static inline uint32_t pb_rd_le24(struct pb_rd *r)
{
    if (!pb_rd_need(r, 3)) {
        return 0;
    }
    uint32_t v = r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16);
    r->p += 3;
    return v;
}

static inline uint32_t pb_rd_le32(struct pb_rd *r)
{
    if (!pb_rd_need(r, 4)) {
        return 0;
    }
    uint32_t v = r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16) |
                 ((uint32_t)r->p[3] << 24);
    r->p += 4;
    return v;
}

static inline uint64_t pb_rd_le64(struct pb_rd *r)
{
    uint64_t lo = pb_rd_le32(r);
    uint64_t hi = pb_rd_le32(r);
    return (hi << 32) | lo;
}

static inline void pb_rd_skip(struct pb_rd *r, size_t n)
{
    if (pb_rd_need(r, n)) {
        r->p += n;
    }
}

/* The next n bytes as a borrowed slice; {NULL, 0} and bad when short. */
static inline struct pb_slice pb_rd_slice(struct pb_rd *r, size_t n)
{
    struct pb_slice s = {NULL, 0};
    if (pb_rd_need(r, n)) {
        s.ptr = r->p;
        s.len = n;
        r->p += n;
    }
    return s;
}

/* Copies n bytes out; on a short read dst is zero-filled and r is bad. */
static inline void pb_rd_copy(struct pb_rd *r, void *dst, size_t n)
{
    if (pb_rd_need(r, n)) {
        memcpy(dst, r->p, n);
        r->p += n;
    } else {
        memset(dst, 0, n);
    }
}

/* One line ending in "\r\n" (or a bare "\n") found within the first `max`
 * bytes; the slice excludes the terminator. Not found: {NULL, 0} and r is NOT
 * marked bad (more bytes may come); check `ptr == NULL`. */
static inline struct pb_slice pb_rd_line(struct pb_rd *r, size_t max)
{
    struct pb_slice s = {NULL, 0};
    if (r->bad) {
        return s;
    }
    size_t avail = (size_t)(r->end - r->p);
    size_t lim = avail < max ? avail : max;
    const uint8_t *nl = memchr(r->p, '\n', lim);
    if (nl == NULL) {
        return s;
    }
    size_t len = (size_t)(nl - r->p);
    s.ptr = r->p;
    s.len = (len > 0 && nl[-1] == '\r') ? len - 1 : len;
    r->p = nl + 1;
    return s;
}

static inline bool pb_slice_eq(struct pb_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

#endif
