/* SPDX-License-Identifier: Apache-2.0
 * publisher/diskqueue.c - segment files for queue.disk (see diskqueue.h).
 *
 *   segments[0]            ...           segments[nseg-1]
 *   ├ frames < ack_id: acked ┤ read, unacked ┤ unread ┤ ← writer appends
 *                            ack_id          rd_id    next_id
 *
 * `acked` is a ring of flags for ids in [ack_id, rd_id): acks out of order
 * are remembered there until the gap below them closes.
 */
#include "publisher/diskqueue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"

#define SEL "diskqueue"
#define SEG_MAGIC "PBDQSEG1"
#define STATE_MAGIC "PBDQST01"
#define MAX_SEGMENTS 100000u
/* frames handed out and not acked yet, at most (the pipeline keeps far
   fewer: batches at the outputs and waiting for a retry) */
#define MAX_UNACKED_READ (1u << 24)

struct seg {
    uint64_t num;
    uint64_t first_id;
    uint64_t nframes;
    uint64_t size; /* bytes, header included */
};

struct pb_diskq {
    char *path;
    uint64_t max_size;
    uint64_t seg_size;

    struct seg *segs; /* oldest first */
    size_t nseg;
    size_t segcap;
    uint64_t bytes;

    int wfd; /* the last segment, open for append; -1 none */

    uint64_t ack_id;
    uint64_t rd_id;
    uint64_t next_id;
    size_t rd_seg;    /* segment index of rd_id (when rd_id < next_id) */
    uint64_t rd_off;  /* its offset there */
    int rfd;          /* open segment for reading, -1 none */
    uint64_t rfd_num; /* which */

    uint8_t *acked; /* ring, base ack_id */
    size_t acap;    /* power of two */
    size_t ahead;   /* ring index of ack_id */

    int state_fd;
    uint64_t skipped;
};

/* ---- little-endian helpers --------------------------------------------------- */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t crc(const void *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const uint8_t *b = p;
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, b, k);
        b += k;
        n -= k;
    }
    return (uint32_t)c;
}

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -PB_EIO;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -PB_EIO;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static char *seg_path(const struct pb_diskq *q, uint64_t num)
{
    size_t n = strlen(q->path) + 32;
    char *p = pb_malloc(n);
    if (p != NULL) {
        snprintf(p, n, "%s/%" PRIu64 ".seg", q->path, num);
    }
    return p;
}

/* ---- state ------------------------------------------------------------------ */

static void state_write(struct pb_diskq *q)
{
    if (q->state_fd < 0) {
        return;
    }
    uint8_t b[20];
    memcpy(b, STATE_MAGIC, 8);
    put64(b + 8, q->ack_id);
    put32(b + 16, crc(b, 16));
    if (pwrite(q->state_fd, b, sizeof b, 0) != (ssize_t)sizeof b) {
        pb_warn(SEL, "cannot write the queue state in %s: %s", q->path, strerror(errno));
    }
}

static uint64_t state_read(int fd)
{
    uint8_t b[20];
    if (pread_full(fd, b, sizeof b, 0) != 0 || memcmp(b, STATE_MAGIC, 8) != 0 ||
        get32(b + 16) != crc(b, 16)) {
        return 0;
    }
    return get64(b + 8);
}

/* ---- segments --------------------------------------------------------------- */

static int seg_push(struct pb_diskq *q, const struct seg *s)
{
    if (q->nseg == q->segcap) {
        if (q->segcap >= MAX_SEGMENTS) {
            return -PB_ELIMIT;
        }
        size_t nc = q->segcap ? q->segcap * 2 : 16;
        struct seg *ns = pb_realloc(q->segs, nc * sizeof *ns);
        if (ns == NULL) {
            return -PB_ENOMEM;
        }
        q->segs = ns;
        q->segcap = nc;
    }
    q->segs[q->nseg++] = *s;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Scans one segment file: counts whole frames, cuts a torn tail. Fills s;
   -PB_EPROTO when the header is bad. If want_id lies in it, *off_of gets
   the offset of that frame. */
static int seg_scan(struct pb_diskq *q, uint64_t num, struct seg *s, uint64_t want_id,
                    uint64_t *off_of)
{
    char *p = seg_path(q, num);
    if (p == NULL) {
        return -PB_ENOMEM;
    }
    int fd = open(p, O_RDWR | O_CLOEXEC);
    int rc = 0;
    if (fd < 0) {
        pb_free(p);
        return -PB_EIO;
    }
    struct stat st;
    uint8_t h[PB_DISKQ_SEG_HEADER];
    if (fstat(fd, &st) != 0 || pread_full(fd, h, sizeof h, 0) != 0 ||
        memcmp(h, SEG_MAGIC, 8) != 0) {
        rc = -PB_EPROTO;
        goto out;
    }
    s->num = num;
    s->first_id = get64(h + 8);
    s->nframes = 0;
    uint64_t off = PB_DISKQ_SEG_HEADER;
    uint64_t end = (uint64_t)st.st_size;
    uint8_t *buf = NULL;
    size_t bcap = 0;
    while (off + PB_DISKQ_FRAME_OVERHEAD <= end) {
        uint8_t fh[PB_DISKQ_FRAME_OVERHEAD];
        if (pread_full(fd, fh, sizeof fh, off) != 0) {
            break;
        }
        uint32_t len = get32(fh);
        if (len == 0 || off + PB_DISKQ_FRAME_OVERHEAD + len > end || len > q->seg_size) {
            break;
        }
        if (len > bcap) {
            uint8_t *nb = pb_realloc(buf, len);
            if (nb == NULL) {
                break;
            }
            buf = nb;
            bcap = len;
        }
        if (pread_full(fd, buf, len, off + PB_DISKQ_FRAME_OVERHEAD) != 0 ||
            crc(buf, len) != get32(fh + 4)) {
            break;
        }
        if (s->first_id + s->nframes == want_id && off_of != NULL) {
            *off_of = off;
        }
        s->nframes++;
        off += PB_DISKQ_FRAME_OVERHEAD + len;
    }
    pb_free(buf);
    if (off < end) {
        pb_warn(SEL,
                "segment %s: %" PRIu64 " byte(s) after frame %" PRIu64
                " are not a whole frame; cut off",
                p, end - off, s->nframes);
        if (ftruncate(fd, (off_t)off) != 0) {
            rc = -PB_EIO;
        }
    }
    s->size = off;
out:
    close(fd);
    pb_free(p);
    return rc;
}

static void seg_delete(struct pb_diskq *q, size_t i)
{
    char *p = seg_path(q, q->segs[i].num);
    if (p != NULL) {
        if (unlink(p) != 0 && errno != ENOENT) {
            pb_warn(SEL, "cannot delete %s: %s", p, strerror(errno));
        }
        pb_free(p);
    }
    if (q->rfd >= 0 && q->rfd_num == q->segs[i].num) {
        close(q->rfd);
        q->rfd = -1;
    }
    q->bytes -= q->segs[i].size;
}

/* Drops the leading segments whose frames are all acked; the last one
   too when it is fully acked and nothing waits behind it. */
static void gc_segments(struct pb_diskq *q)
{
    size_t k = 0;
    while (k < q->nseg) {
        const struct seg *s = &q->segs[k];
        bool last = k + 1 == q->nseg;
        if (s->first_id + s->nframes > q->ack_id) {
            break;
        }
        if (last && q->ack_id != q->next_id) {
            break;
        }
        if (last && q->wfd >= 0) {
            close(q->wfd);
            q->wfd = -1;
        }
        seg_delete(q, k);
        k++;
    }
    if (k > 0) {
        memmove(q->segs, q->segs + k, (q->nseg - k) * sizeof *q->segs);
        q->nseg -= k;
        if (q->rd_seg >= k) {
            q->rd_seg -= k;
        } else {
            /* the segment being read is gone: the next one starts fresh */
            q->rd_seg = 0;
            q->rd_off = PB_DISKQ_SEG_HEADER;
        }
    }
}

static int open_new_segment(struct pb_diskq *q)
{
    uint64_t num = q->nseg > 0 ? q->segs[q->nseg - 1].num + 1 : 0;
    if (q->nseg == 0) {
        /* keep numbers growing across an emptied queue */
        num = q->next_id; /* unique enough: ids only grow */
    }
    char *p = seg_path(q, num);
    if (p == NULL) {
        return -PB_ENOMEM;
    }
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    pb_free(p);
    if (fd < 0) {
        return -PB_EIO;
    }
    uint8_t h[PB_DISKQ_SEG_HEADER];
    memset(h, 0, sizeof h);
    memcpy(h, SEG_MAGIC, 8);
    put64(h + 8, q->next_id);
    struct seg s = {.num = num, .first_id = q->next_id, .nframes = 0, .size = sizeof h};
    if (write_full(fd, h, sizeof h) != 0 || seg_push(q, &s) != 0) {
        close(fd);
        return -PB_EIO;
    }
    if (q->wfd >= 0) {
        close(q->wfd);
    }
    q->wfd = fd;
    q->bytes += sizeof h;
    return 0;
}

/* ---- public --------------------------------------------------------------- */

static int mkdirs(const char *path)
{
    char *p = pb_strdup(path);
    if (p == NULL) {
        return -PB_ENOMEM;
    }
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0750);
            *s = '/';
        }
    }
    int rc = (mkdir(p, 0750) == 0 || errno == EEXIST) ? 0 : -PB_EIO;
    pb_free(p);
    return rc;
}

struct pb_diskq *pb_diskq_open(const struct pb_diskq_opts *o, char *err, size_t errlen)
{
    struct pb_diskq *q = pb_calloc(1, sizeof *q);
    uint64_t *nums = NULL;
    size_t nn = 0;
    size_t ncap = 0;
    if (q == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->wfd = -1;
    q->rfd = -1;
    q->state_fd = -1;
    q->max_size = o->max_size;
    q->seg_size = o->segment_size > PB_DISKQ_SEG_HEADER ? o->segment_size : 1u << 20;
    q->path = pb_strdup(o->path);
    if (q->path == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (mkdirs(q->path) != 0) {
        snprintf(err, errlen, "couldn't create disk queue directory %s: %s", q->path,
                 strerror(errno));
        goto fail;
    }
    char sp[4096];
    snprintf(sp, sizeof sp, "%s/state.dat", q->path);
    q->state_fd = open(sp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (q->state_fd < 0) {
        snprintf(err, errlen, "couldn't open disk queue state %s: %s", sp, strerror(errno));
        goto fail;
    }
    uint64_t want = state_read(q->state_fd);

    DIR *d = opendir(q->path);
    if (d == NULL) {
        snprintf(err, errlen, "couldn't read disk queue directory %s: %s", q->path,
                 strerror(errno));
        goto fail;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t l = strlen(nm);
        if (l < 5 || strcmp(nm + l - 4, ".seg") != 0 || l > 24) {
            continue;
        }
        uint64_t v = 0;
        bool ok = true;
        for (size_t i = 0; i + 4 < l; i++) {
            if (nm[i] < '0' || nm[i] > '9') {
                ok = false;
                break;
            }
            v = v * 10 + (uint64_t)(nm[i] - '0');
        }
        if (!ok || nn >= MAX_SEGMENTS) {
            continue;
        }
        if (nn == ncap) {
            size_t nc = ncap ? ncap * 2 : 16;
            uint64_t *nv = pb_realloc(nums, nc * sizeof *nv);
            if (nv == NULL) {
                break;
            }
            nums = nv;
            ncap = nc;
        }
        nums[nn++] = v;
    }
    closedir(d);
    if (nn > 1) {
        qsort(nums, nn, sizeof *nums, cmp_u64);
    }

    uint64_t rd_off = 0;
    bool rd_found = false;
    for (size_t i = 0; i < nn; i++) {
        struct seg s;
        uint64_t off = 0;
        int rc = seg_scan(q, nums[i], &s, want, &off);
        if (rc != 0) {
            pb_warn(SEL, "disk queue segment %" PRIu64 ".seg is unreadable (%s); ignored", nums[i],
                    pb_strerror(rc));
            continue;
        }
        if (q->nseg > 0) {
            const struct seg *prev = &q->segs[q->nseg - 1];
            if (s.first_id < prev->first_id + prev->nframes) {
                pb_warn(SEL, "disk queue segment %" PRIu64 ".seg overlaps the one before; ignored",
                        nums[i]);
                continue;
            }
        }
        if (s.first_id + s.nframes <= want) {
            /* acked before the restart */
            char *p = seg_path(q, s.num);
            if (p != NULL) {
                unlink(p);
                pb_free(p);
            }
            continue;
        }
        if (seg_push(q, &s) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        q->bytes += s.size;
        if (!rd_found && want >= s.first_id && want < s.first_id + s.nframes) {
            rd_found = true;
            rd_off = off;
        }
    }
    pb_free(nums);
    nums = NULL;

    if (q->nseg == 0) {
        q->ack_id = want;
        q->next_id = want;
    } else {
        const struct seg *f = &q->segs[0];
        const struct seg *l = &q->segs[q->nseg - 1];
        q->next_id = l->first_id + l->nframes;
        if (!rd_found) {
            /* the saved position is gone (segments lost): start at the oldest frame */
            want = f->first_id;
            rd_off = PB_DISKQ_SEG_HEADER;
        }
        q->ack_id = want;
    }
    q->rd_id = q->ack_id;
    q->rd_seg = 0;
    q->rd_off = q->nseg > 0 ? rd_off : PB_DISKQ_SEG_HEADER;
    q->acap = 1024;
    q->acked = pb_calloc(q->acap, 1);
    if (q->acked == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    state_write(q);
    /* append to the last segment while it has room */
    if (q->nseg > 0 && q->segs[q->nseg - 1].size < q->seg_size) {
        char *p = seg_path(q, q->segs[q->nseg - 1].num);
        if (p != NULL) {
            q->wfd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
            pb_free(p);
        }
    }
    if (q->next_id > q->ack_id) {
        pb_info(SEL, "disk queue %s: %" PRIu64 " event(s) from an earlier run in %zu segment(s)",
                q->path, q->next_id - q->ack_id, q->nseg);
    }
    return q;
fail:
    pb_free(nums);
    pb_diskq_close(q);
    return NULL;
}

void pb_diskq_close(struct pb_diskq *q)
{
    if (q == NULL) {
        return;
    }
    if (q->state_fd >= 0) {
        state_write(q);
        close(q->state_fd);
    }
    if (q->wfd >= 0) {
        close(q->wfd);
    }
    if (q->rfd >= 0) {
        close(q->rfd);
    }
    pb_free(q->segs);
    pb_free(q->acked);
    pb_free(q->path);
    pb_free(q);
}

int pb_diskq_append(struct pb_diskq *q, const void *data, size_t len)
{
    uint64_t need = PB_DISKQ_FRAME_OVERHEAD + (uint64_t)len;
    if (len == 0 || len > UINT32_MAX || need + PB_DISKQ_SEG_HEADER > q->seg_size ||
        (q->max_size > 0 && need + PB_DISKQ_SEG_HEADER > q->max_size)) {
        return -PB_EINVAL;
    }
    bool fresh = q->wfd < 0 || q->nseg == 0 || q->segs[q->nseg - 1].size + need > q->seg_size;
    uint64_t add = need + (fresh ? PB_DISKQ_SEG_HEADER : 0);
    if (q->max_size > 0 && q->bytes + add > q->max_size) {
        return -PB_ELIMIT;
    }
    if (fresh && open_new_segment(q) != 0) {
        return -PB_EIO;
    }
    struct seg *s = &q->segs[q->nseg - 1];
    uint8_t fh[PB_DISKQ_FRAME_OVERHEAD];
    put32(fh, (uint32_t)len);
    put32(fh + 4, crc(data, len));
    if (write_full(q->wfd, fh, sizeof fh) != 0 || write_full(q->wfd, data, len) != 0) {
        /* cut what was written so the file holds whole frames only */
        if (ftruncate(q->wfd, (off_t)s->size) != 0) {
            close(q->wfd);
            q->wfd = -1; /* the next append starts a new segment */
        }
        return -PB_EIO;
    }
    s->size += need;
    s->nframes++;
    q->bytes += need;
    q->next_id++;
    return 0;
}

static int grow_acks(struct pb_diskq *q, uint64_t need);

/* Marks [from, to) acked (frames that could not be read); rd_id is at to
   already. */
static void skip_ids(struct pb_diskq *q, uint64_t from, uint64_t to)
{
    if (grow_acks(q, to - q->ack_id) != 0) {
        /* too many to track one by one: give up on everything below to */
        memset(q->acked, 0, q->acap);
        q->ahead = 0;
        q->ack_id = to;
        gc_segments(q);
        state_write(q);
        return;
    }
    for (uint64_t id = from; id < to; id++) {
        pb_diskq_ack(q, id);
    }
}

static int grow_acks(struct pb_diskq *q, uint64_t need)
{
    if (need <= q->acap) {
        return 0;
    }
    if (need > MAX_UNACKED_READ) {
        return -PB_ELIMIT;
    }
    size_t nc = q->acap;
    while (nc < need) {
        nc *= 2;
    }
    uint8_t *na = pb_calloc(nc, 1);
    if (na == NULL) {
        return -PB_ENOMEM;
    }
    size_t used = (size_t)(q->rd_id - q->ack_id);
    if (used > q->acap) {
        used = q->acap; /* slots past the old ring were never set */
    }
    for (size_t i = 0; i < used; i++) {
        na[i] = q->acked[(q->ahead + i) & (q->acap - 1)];
    }
    pb_free(q->acked);
    q->acked = na;
    q->acap = nc;
    q->ahead = 0;
    return 0;
}

int pb_diskq_read(struct pb_diskq *q, char **data, size_t *len, uint64_t *id)
{
    *data = NULL;
    *len = 0;
    while (q->rd_id < q->next_id) {
        if (grow_acks(q, q->rd_id - q->ack_id + 1) != 0) {
            return 0; /* too much out: wait for acks */
        }
        if (q->rd_seg >= q->nseg) {
            return 0;
        }
        struct seg *s = &q->segs[q->rd_seg];
        if (q->rd_id >= s->first_id + s->nframes) {
            /* next segment */
            q->rd_seg++;
            q->rd_off = PB_DISKQ_SEG_HEADER;
            if (q->rd_seg < q->nseg && q->segs[q->rd_seg].first_id > q->rd_id) {
                uint64_t to = q->segs[q->rd_seg].first_id;
                uint64_t from = q->rd_id;
                q->rd_id = to;
                skip_ids(q, from, to);
            }
            continue;
        }
        if (q->rd_id < s->first_id) {
            q->rd_id = s->first_id;
            q->rd_off = PB_DISKQ_SEG_HEADER;
        }
        if (q->rfd < 0 || q->rfd_num != s->num) {
            if (q->rfd >= 0) {
                close(q->rfd);
            }
            char *p = seg_path(q, s->num);
            q->rfd = p != NULL ? open(p, O_RDONLY | O_CLOEXEC) : -1;
            pb_free(p);
            q->rfd_num = s->num;
        }
        uint8_t fh[PB_DISKQ_FRAME_OVERHEAD];
        char *buf = NULL;
        uint32_t flen = 0;
        bool ok = q->rfd >= 0 && pread_full(q->rfd, fh, sizeof fh, q->rd_off) == 0;
        if (ok) {
            flen = get32(fh);
            ok = flen > 0 && q->rd_off + PB_DISKQ_FRAME_OVERHEAD + flen <= s->size;
        }
        if (ok) {
            buf = pb_malloc(flen + 1);
            if (buf == NULL) {
                return -PB_ENOMEM;
            }
            ok = pread_full(q->rfd, buf, flen, q->rd_off + PB_DISKQ_FRAME_OVERHEAD) == 0 &&
                 crc(buf, flen) == get32(fh + 4);
        }
        if (!ok) {
            pb_free(buf);
            uint64_t from = q->rd_id;
            uint64_t to = s->first_id + s->nframes;
            pb_error(SEL,
                     "disk queue segment %" PRIu64 ".seg: frame %" PRIu64
                     " is unreadable; skipping %" PRIu64 " frame(s)",
                     s->num, from, to - from);
            q->skipped += to - from;
            q->rd_id = to;
            skip_ids(q, from, to);
            return -PB_EIO;
        }
        buf[flen] = '\0';
        *data = buf;
        *len = flen;
        *id = q->rd_id;
        q->acked[(q->ahead + (size_t)(q->rd_id - q->ack_id)) & (q->acap - 1)] = 0;
        q->rd_id++;
        q->rd_off += PB_DISKQ_FRAME_OVERHEAD + flen;
        return 1;
    }
    return 0;
}

void pb_diskq_ack(struct pb_diskq *q, uint64_t id)
{
    if (id < q->ack_id || id >= q->rd_id) {
        return;
    }
    q->acked[(q->ahead + (size_t)(id - q->ack_id)) & (q->acap - 1)] = 1;
    uint64_t before = q->ack_id;
    while (q->ack_id < q->rd_id && q->acked[q->ahead]) {
        q->acked[q->ahead] = 0;
        q->ahead = (q->ahead + 1) & (q->acap - 1);
        q->ack_id++;
    }
    if (q->ack_id != before) {
        gc_segments(q);
        state_write(q);
    }
}

uint64_t pb_diskq_unread(const struct pb_diskq *q)
{
    return q->next_id - q->rd_id;
}

uint64_t pb_diskq_unacked(const struct pb_diskq *q)
{
    return q->next_id - q->ack_id;
}

uint64_t pb_diskq_bytes(const struct pb_diskq *q)
{
    return q->bytes;
}

uint64_t pb_diskq_skipped(const struct pb_diskq *q)
{
    return q->skipped;
}
