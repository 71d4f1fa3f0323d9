/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/file.c - output.file (libbeat fileout + the date
 * rotator of elastic-agent-libs/file): one encoded event per line in
 *
 *   <path>/<filename>-<YYYYMMDD>.ndjson        first file of a day
 *   <path>/<filename>-<YYYYMMDD>-<N>.ndjson    N-th rotation that day
 *
 * Settings (defaults): path (""; `%{+FORMAT}` expands the UTC start time;
 * relative paths are relative to the working directory, as in libbeat),
 * filename ("packetbeat"), rotate_every_kb (10240), number_of_files (7, the
 * rotated files kept besides the active one, 2..1024), permissions (0600;
 * the directory gets 0700 plus r-x for group/others when the file mode
 * gives them anything), rotate_on_startup (true), codec.
 *
 * The rotator, as libbeat's:
 * - at start the active file is the newest existing <filename>-*.ndjson,
 *   else today's name; it is opened at the first write, then (when it
 *   exists and rotate_on_startup) rotated to a new name, else appended to;
 * - before a write that would take the counted size past rotate_every_kb
 *   the file is closed and a new one opened: today's name, or with -N, N
 *   one above the highest index of today's files; the oldest rotated files
 *   beyond number_of_files are removed;
 * - the size counter starts at zero and does not count the write that
 *   opened a file (libbeat's trigger does the same), so a file may exceed
 *   the limit by one event;
 * - an event longer than rotate_every_kb is dropped with an error.
 * Batches are always acked (libbeat does); an event that cannot be
 * encoded or written is logged and dropped. A failed write is truncated
 * away, so the file only ever holds whole lines.
 *
 * The active file's blocks are reserved a few MB ahead of its end
 * (fallocate, the size unchanged) and the rest given back when it is
 * closed: see reserve_ahead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"
#include "publisher/output.h"

#define SEL "file"
#define EXT ".ndjson"
#define MAX_BACKUPS_LIMIT 1024
#define WBUF_FLUSH_BYTES (64u * 1024u)
/* Spans of the queue's memory gathered into one writev: a batch written in
   one call of a few MB lets the page cache take large folios, where one
   write per queue block (~250 KB, ending anywhere) costs it half again as
   much kernel time. */
#define MAX_SPANS 64
/* How far ahead of its end the active file's blocks are reserved. */
#define RESERVE_AHEAD_BYTES (4u * 1024u * 1024u)

struct fileout {
    struct pb_codec codec;
    char *dir;    /* owned: directory of the files ("." when none) */
    char *fname;  /* owned: the filename prefix */
    char *active; /* owned: full path of the active file */
    uint64_t max_size;
    unsigned max_backups;
    mode_t perm;
    bool init_trigger; /* rotate once at the first write */
    uint64_t size;     /* the size trigger's count */
    int fd;
    uint64_t flushed; /* bytes of the active file known written */
    uint64_t reserved; /* its blocks are reserved up to here (0: none) */
    bool no_reserve;   /* the file system cannot (fallocate unsupported) */
    struct pb_codec_buf enc;
    /* What waits for a write: lines copied into wbuf, or runs of lines
       lying end to end in the queue's memory (spans), never both. */
    struct pb_codec_buf wbuf;
    struct iovec spans[MAX_SPANS];
    int nspans;
    size_t pend_events;
};

/* ---- names -------------------------------------------------------------- */

/* Parses "<fname>-YYYYMMDD.ndjson" or "<fname>-YYYYMMDD-N.ndjson". */
static bool parse_name(const char *fname, const char *name, int *date, long *index)
{
    size_t fl = strlen(fname);
    size_t nl = strlen(name);
    size_t el = strlen(EXT);
    if (nl < fl + 1 + 8 + el || strncmp(name, fname, fl) != 0 || name[fl] != '-' ||
        strcmp(name + nl - el, EXT) != 0) {
        return false;
    }
    const char *d = name + fl + 1;
    int v = 0;
    for (int i = 0; i < 8; i++) {
        if (d[i] < '0' || d[i] > '9') {
            return false;
        }
        v = v * 10 + (d[i] - '0');
    }
    *date = v;
    *index = 0;
    const char *rest = d + 8;
    const char *end = name + nl - el;
    if (rest == end) {
        return true;
    }
    if (*rest != '-' || rest + 1 == end || end - rest > 10) {
        return false;
    }
    long idx = 0;
    for (const char *p = rest + 1; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        idx = idx * 10 + (*p - '0');
    }
    *index = idx;
    return true;
}

struct ent {
    int date;
    long index;
    char *name; /* owned */
};

static int ent_cmp(const void *a, const void *b)
{
    const struct ent *x = a;
    const struct ent *y = b;
    if (x->date != y->date) {
        return x->date < y->date ? -1 : 1;
    }
    if (x->index != y->index) {
        return x->index < y->index ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

/* Our files in dir, oldest first; date_only > 0 keeps only that date. */
static int list_files(const struct fileout *f, int date_only, struct ent **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(f->dir);
    if (d == NULL) {
        return errno == ENOENT ? 0 : -PB_EIO;
    }
    struct ent *v = NULL;
    size_t cnt = 0;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int date;
        long idx;
        if (!parse_name(f->fname, de->d_name, &date, &idx)) {
            continue;
        }
        if (date_only > 0 && date != date_only) {
            continue;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > 65536) {
                break; /* more of our files than anyone keeps: enough */
            }
            struct ent *nv = pb_realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                rc = -PB_ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt].name = pb_strdup(de->d_name);
        if (v[cnt].name == NULL) {
            rc = -PB_ENOMEM;
            break;
        }
        v[cnt].date = date;
        v[cnt].index = idx;
        cnt++;
    }
    closedir(d);
    if (cnt > 1) {
        qsort(v, cnt, sizeof *v, ent_cmp);
    }
    *out = v;
    *n = cnt;
    return rc;
}

static void free_list(struct ent *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pb_free(v[i].name);
    }
    pb_free(v);
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    size_t nl = strlen(name);
    char *p = pb_malloc(dl + nl + 2);
    if (p != NULL) {
        memcpy(p, dir, dl);
        p[dl] = '/';
        memcpy(p + dl + 1, name, nl + 1);
    }
    return p;
}

static int today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* "<dir>/<fname>-<date>[-<index>].ndjson" */
static char *make_name(const struct fileout *f, int date, long index)
{
    char tail[48];
    if (index > 0) {
        snprintf(tail, sizeof tail, "-%08d-%ld" EXT, date, index);
    } else {
        snprintf(tail, sizeof tail, "-%08d" EXT, date);
    }
    size_t fl = strlen(f->fname);
    size_t tl = strlen(tail);
    char *name = pb_malloc(fl + tl + 1);
    if (name == NULL) {
        return NULL;
    }
    memcpy(name, f->fname, fl);
    memcpy(name + fl, tail, tl + 1);
    char *full = join(f->dir, name);
    pb_free(name);
    return full;
}

/* ---- directory ----------------------------------------------------------- */

static mode_t dir_mode(mode_t perm)
{
    mode_t m = 0700;
    if (perm & 0070) {
        m |= 0050;
    }
    if (perm & 0007) {
        m |= 0005;
    }
    return m;
}

static int mkdir_all(const char *path, mode_t mode)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        return len == 0 ? 0 : -PB_EINVAL;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST) {
                return -PB_EIO;
            }
            buf[i] = c;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -PB_EIO;
    }
    return 0;
}

/* ---- rotator --------------------------------------------------------------- */

/* libbeat's triggers: the startup one fires once; the size one counts. */
static bool rotation_triggered(struct fileout *f, uint64_t len)
{
    if (f->init_trigger) {
        f->init_trigger = false;
        return true;
    }
    if (f->size + len > f->max_size) {
        f->size = 0;
        return true;
    }
    f->size += len;
    return false;
}

/* Removes the oldest rotated files beyond max_backups. */
static void purge(struct fileout *f)
{
    struct ent *v;
    size_t n;
    if (list_files(f, 0, &v, &n) != 0 && v == NULL) {
        return;
    }
    /* rotated = all but the active one */
    const char *active_name = strrchr(f->active, '/');
    active_name = active_name != NULL ? active_name + 1 : f->active;
    size_t rotated = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, active_name) != 0) {
            rotated++;
        }
    }
    size_t excess = rotated > f->max_backups ? rotated - f->max_backups : 0;
    for (size_t i = 0; i < n && excess > 0; i++) {
        if (strcmp(v[i].name, active_name) == 0) {
            continue;
        }
        char *p = join(f->dir, v[i].name);
        if (p != NULL) {
            if (unlink(p) != 0 && errno != ENOENT) {
                pb_error(SEL, "failed to delete %s during rotation: %s", p, strerror(errno));
            }
            pb_free(p);
        }
        excess--;
    }
    free_list(v, n);
}

/* The next active name: today's, or today's with one index above the
 * highest one present. */
static int next_name(struct fileout *f)
{
    int date = today();
    struct ent *v;
    size_t n;
    int rc = list_files(f, date, &v, &n);
    if (rc != 0) {
        free_list(v, n);
        return rc;
    }
    long index = 0;
    if (n > 0) {
        index = v[n - 1].index + 1;
    }
    free_list(v, n);
    char *name = make_name(f, date, index);
    if (name == NULL) {
        return -PB_ENOMEM;
    }
    pb_free(f->active);
    f->active = name;
    return 0;
}

static int open_trunc(struct fileout *f)
{
    if (mkdir_all(f->dir, dir_mode(f->perm)) != 0) {
        pb_error(SEL, "failed to make directories for new file: %s: %s", f->dir, strerror(errno));
        return -PB_EIO;
    }
    f->fd = open(f->active, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, f->perm);
    if (f->fd < 0) {
        pb_error(SEL, "failed to open new file '%s': %s", f->active, strerror(errno));
        return -PB_EIO;
    }
    f->flushed = 0;
    return 0;
}

static int rotate_and_open(struct fileout *f)
{
    int rc = next_name(f);
    if (rc != 0) {
        pb_error(SEL, "failed to rotate backups: %s", pb_strerror(rc));
        return rc;
    }
    purge(f);
    return open_trunc(f);
}

/* First write: create the directory; append to or rotate an existing file. */
static int open_new(struct fileout *f)
{
    struct stat st;
    if (mkdir_all(f->dir, dir_mode(f->perm)) != 0) {
        pb_error(SEL, "failed to make directories for new file: %s: %s", f->dir, strerror(errno));
        return -PB_EIO;
    }
    if (stat(f->active, &st) == 0) {
        if (!rotation_triggered(f, 0)) {
            f->fd = open(f->active, O_WRONLY | O_APPEND | O_CLOEXEC, f->perm);
            if (f->fd < 0) {
                pb_error(SEL, "failed to append to existing file: %s", strerror(errno));
                return -PB_EIO;
            }
            off_t end = lseek(f->fd, 0, SEEK_END);
            f->flushed = end > 0 ? (uint64_t)end : 0;
            return 0;
        }
        return rotate_and_open(f);
    }
    return open_trunc(f);
}

/* Reserves the active file's blocks ahead of a write of len bytes, a
 * step of RESERVE_AHEAD_BYTES at a time (or of rotate_every_kb when that
 * is less), keeping its size. ext4 then writes into blocks it
 * has already allocated, where each new block of a growing file would be
 * reserved, quota-charged and mapped one by one as the write goes: a
 * quarter of the kernel time of a large write. close_file gives back what
 * was not written. Best effort: a failure only means the usual path. */
static void reserve_ahead(struct fileout *f, size_t len)
{
    if (f->no_reserve || f->flushed + len <= f->reserved) {
        return;
    }
    uint64_t ahead = f->max_size < RESERVE_AHEAD_BYTES ? f->max_size : RESERVE_AHEAD_BYTES;
    uint64_t from = f->reserved > f->flushed ? f->reserved : f->flushed;
    uint64_t to = f->flushed + len + ahead;
    if (fallocate(f->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from)) == 0) {
        f->reserved = to;
    } else if (errno == EOPNOTSUPP || errno == ENOSYS) {
        f->no_reserve = true;
    }
}

static void close_file(struct fileout *f)
{
    if (f->fd >= 0) {
        /* the reserved blocks past the end back to the file system */
        if (f->reserved > f->flushed && ftruncate(f->fd, (off_t)f->flushed) != 0) {
            pb_debug(SEL, "giving back the reserved blocks: %s", strerror(errno));
        }
        close(f->fd);
        f->fd = -1;
    }
    f->reserved = 0;
}

/* Writes the lines that wait (wbuf's copies or the spans in the queue's
 * memory); on failure cuts the file back to whole lines and drops them. */
static void flush_lines(struct fileout *f)
{
    struct iovec one, *iov = f->spans;
    int n = f->nspans;
    if (n == 0) {
        one = (struct iovec){.iov_base = f->wbuf.p, .iov_len = f->wbuf.len};
        iov = &one;
        n = f->wbuf.len > 0 ? 1 : 0;
    }
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    if (len == 0) {
        return;
    }
    if (f->fd >= 0) {
        reserve_ahead(f, len);
    }
    size_t off = 0;
    while (f->fd >= 0 && off < len) {
        ssize_t w = writev(f->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        off += (size_t)w;
        /* a short write: on from where it stopped */
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    if (off < len) {
        int e = errno;
        if (f->fd >= 0 && ftruncate(f->fd, (off_t)f->flushed) != 0) {
            pb_debug(SEL, "truncate after failed write: %s", strerror(errno));
        }
        f->reserved = 0; /* given back with the cut */
        pb_error(SEL,
                 "Writing event to file failed with: failed to write to file: %s; %zu event(s) "
                 "dropped",
                 strerror(e), f->pend_events);
    } else {
        f->flushed += len;
    }
    f->wbuf.len = 0;
    f->nspans = 0;
    f->pend_events = 0;
}

/* The rotator's Write for one line: line[0..len0) and a newline, which
   follows it in memory when nl (then it is written from there). */
static void write_line(struct fileout *f, const char *line, size_t len0, bool nl)
{
    size_t len = len0 + 1;
    if ((uint64_t)len > f->max_size) {
        pb_error(SEL,
                 "Writing event to file failed with: data size (%zu bytes) is greater than the "
                 "max file size (%" PRIu64 " bytes)",
                 len, f->max_size);
        return;
    }
    if (f->fd < 0) {
        if (open_new(f) != 0) {
            return;
        }
    } else if (rotation_triggered(f, len)) {
        flush_lines(f);
        close_file(f);
        if (rotate_and_open(f) != 0) {
            return;
        }
    }
    if (nl) {
        struct iovec *last = f->nspans > 0 ? &f->spans[f->nspans - 1] : NULL;
        if (last != NULL && line == (const char *)last->iov_base + last->iov_len) {
            last->iov_len += len;
        } else {
            if (f->wbuf.len > 0 || f->nspans == MAX_SPANS) {
                flush_lines(f);
            }
            f->spans[f->nspans++] = (struct iovec){.iov_base = (void *)line, .iov_len = len};
        }
    } else {
        if (f->nspans > 0) {
            flush_lines(f);
        }
        size_t at = f->wbuf.len;
        if (pb_codec_buf_append(&f->wbuf, line, len0) != 0 ||
            pb_codec_buf_append(&f->wbuf, "\n", 1) != 0) {
            f->wbuf.len = at; /* no half line */
            pb_error(SEL, "Writing event to file failed with: out of memory");
            return;
        }
    }
    f->pend_events++;
    if (f->wbuf.len >= WBUF_FLUSH_BYTES) {
        flush_lines(f);
    }
}

/* ---- path format: %{+FORMAT} (Joda-style, UTC) ------------------------------ */

/* Expands %{+FORMAT} in a path with the current UTC time. */
static char *expand_path(const char *in, char *err, size_t errlen)
{
    struct pb_codec_buf b = {0};
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    const char *p = in;
    int rc = 0;
    while (*p != '\0' && rc == 0) {
        const char *open = strstr(p, "%{");
        if (open == NULL) {
            rc = pb_codec_buf_append(&b, p, strlen(p));
            break;
        }
        const char *close = strchr(open, '}');
        if (close == NULL) {
            rc = pb_codec_buf_append(&b, p, strlen(p));
            break;
        }
        rc = pb_codec_buf_append(&b, p, (size_t)(open - p));
        if (rc == 0) {
            if (open[2] == '+') {
                rc = pb_fmt_joda_time(&b, open + 3, (size_t)(close - open - 3), &tm, now.tv_nsec);
            } else {
                snprintf(err, errlen, "path: only timestamp formats (%%{+FORMAT}) are supported");
                rc = -PB_EINVAL;
            }
        }
        p = close + 1;
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(&b, "", 1);
    }
    if (rc != 0) {
        if (err[0] == '\0') {
            snprintf(err, errlen, "out of memory");
        }
        pb_codec_buf_free(&b);
        return NULL;
    }
    return b.p;
}

/* ---- output ------------------------------------------------------------------ */

static void mode_string(mode_t m, char out[11])
{
    static const char rwx[] = "rwxrwxrwx";
    out[0] = '-';
    for (int i = 0; i < 9; i++) {
        out[i + 1] = (m & (1u << (8 - i))) ? rwx[i] : '-';
    }
    out[10] = '\0';
}

static int read_perm(const struct pb_cfg *cfg, mode_t *perm, char *err, size_t errlen)
{
    const struct pb_cfg *n = pb_cfg_get(cfg, "permissions");
    *perm = 0600;
    if (n == NULL || n->kind == PB_CFG_NULL) {
        return 0;
    }
    char path[256];
    pb_cfg_path(n, path, sizeof path);
    if (n->kind != PB_CFG_SCALAR || n->value == NULL || n->value[0] == '\0') {
        snprintf(err, errlen, "can not convert to integer accessing '%s'", path);
        return -PB_EINVAL;
    }
    /* YAML 1.1 integers, as go-yaml reads them: 0600 and 0o600 are octal */
    const char *s = n->value;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        s += 2;
        base = 8;
    } else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, base);
    if (errno != 0 || end == s || *end != '\0' || v < 0) {
        snprintf(err, errlen, "can not convert '%s' to integer accessing '%s'", n->value, path);
        return -PB_EINVAL;
    }
    if (v > 0777) {
        snprintf(err, errlen, "file rotator permissions mask of %llo is invalid", v);
        return -PB_EINVAL;
    }
    *perm = (mode_t)v;
    return 0;
}

/* Newest existing file of ours, else today's name. */
static int initial_active(struct fileout *f)
{
    struct ent *v;
    size_t n;
    int rc = list_files(f, 0, &v, &n);
    if (rc != 0 && v == NULL) {
        return rc;
    }
    char *name = NULL;
    if (n > 0) {
        name = join(f->dir, v[n - 1].name);
    } else {
        name = make_name(f, today(), 0);
    }
    free_list(v, n);
    if (name == NULL) {
        return -PB_ENOMEM;
    }
    f->active = name;
    return 0;
}

static int file_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct fileout *f = o->ctx;
    const char *path = NULL;
    const char *filename = NULL;
    int64_t kb = 10240;
    int64_t nfiles = 7;
    bool ros = true;
    char key[256];

    f->fd = -1;
    if (pb_cfg_str(cfg, "path", "", &path) != 0 ||
        pb_cfg_str(cfg, "filename", "", &filename) != 0 ||
        pb_cfg_int(cfg, "rotate_every_kb", 10240, &kb) != 0 ||
        pb_cfg_int(cfg, "number_of_files", 7, &nfiles) != 0 ||
        pb_cfg_bool(cfg, "rotate_on_startup", true, &ros) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (kb < 1) {
        pb_cfg_path(cfg, key, sizeof key);
        snprintf(err, errlen, "requires value >= 1 accessing '%s.rotate_every_kb'", key);
        return -PB_EINVAL;
    }
    if (nfiles < 2 || nfiles > MAX_BACKUPS_LIMIT) {
        snprintf(err, errlen, "the number_of_files to keep should be between 2 and %d",
                 MAX_BACKUPS_LIMIT);
        return -PB_EINVAL;
    }
    int rc = read_perm(cfg, &f->perm, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = pb_codec_init(&f->codec, cfg, false, err, errlen);
    if (rc != 0) {
        return rc;
    }
    o->queue_json = pb_codec_is_plain_json(&f->codec);

    /* path joined with filename as Go's filepath.Join would: the directory
       is everything before the last '/' of the joined path */
    char *dir = expand_path(path != NULL ? path : "", err, errlen);
    if (dir == NULL) {
        return -PB_EINVAL;
    }
    const char *base = (filename != NULL && filename[0] != '\0') ? filename : o->beat;
    const char *slash = strrchr(base, '/');
    if (slash != NULL) {
        /* filename with a directory part: fold it into dir */
        size_t dl = strlen(dir);
        size_t pl = (size_t)(slash - base);
        char *nd = pb_malloc(dl + pl + 2);
        if (nd == NULL) {
            pb_free(dir);
            snprintf(err, errlen, "out of memory");
            return -PB_ENOMEM;
        }
        if (dl > 0) {
            memcpy(nd, dir, dl);
            nd[dl] = '/';
            memcpy(nd + dl + 1, base, pl);
            nd[dl + 1 + pl] = '\0';
        } else {
            memcpy(nd, base, pl);
            nd[pl] = '\0';
        }
        pb_free(dir);
        dir = nd;
        base = slash + 1;
    }
    /* trim trailing slashes (but keep "/") */
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') {
        dir[--dl] = '\0';
    }
    if (dl == 0) {
        pb_free(dir);
        dir = pb_strdup(".");
    }
    f->dir = dir;
    f->fname = pb_strdup(base);
    if (f->dir == NULL || f->fname == NULL || f->fname[0] == '\0') {
        snprintf(err, errlen, f->fname != NULL ? "file output: empty filename" : "out of memory");
        return f->fname != NULL ? -PB_EINVAL : -PB_ENOMEM;
    }
    f->max_size = (uint64_t)kb * 1024u;
    f->max_backups = (unsigned)nfiles;
    rc = initial_active(f);
    if (rc != 0) {
        snprintf(err, errlen, "file output: cannot list %s: %s", f->dir, pb_strerror(rc));
        return rc;
    }
    struct stat st;
    f->init_trigger = ros && stat(f->active, &st) == 0;

    char ms[11];
    mode_string(f->perm, ms);
    char shown[4096];
    snprintf(shown, sizeof shown, "%s/%s", f->dir, f->fname);
    pb_info(SEL,
            "Initialized file output. path=%s max_size_bytes=%" PRIu64 " max_backups=%u "
            "permissions=%s",
            shown, f->max_size, f->max_backups, ms);
    return 0;
}

static void file_publish(struct pb_output *o, struct pb_batch *b)
{
    struct fileout *f = o->ctx;
    size_t n = pb_batch_len(b);
    for (size_t i = 0; i < n; i++) {
        f->enc.len = 0;
        size_t jlen = 0;
        const char *js = NULL;
        if (pb_codec_is_plain_json(&f->codec)) {
            /* the queue's encoding as it is, from where it is when it can */
            if ((js = pb_batch_event_line(b, i, &jlen)) != NULL) {
                write_line(f, js, jlen - 1, true);
                continue;
            }
            js = pb_batch_event_json(b, i, &jlen);
        }
        if (js != NULL) {
            write_line(f, js, jlen, false);
            continue;
        }
        int rc = pb_codec_encode(&f->codec, pb_batch_event(b, i), &f->enc);
        if (rc != 0) {
            pb_warn(SEL, "Failed to serialize the event: %s", pb_strerror(rc));
            continue;
        }
        write_line(f, f->enc.p, f->enc.len, false);
    }
    flush_lines(f);
    pb_batch_ack(b);
}

static void file_close(struct pb_output *o)
{
    struct fileout *f = o->ctx;
    if (f == NULL) {
        return;
    }
    flush_lines(f);
    close_file(f);
    pb_codec_fini(&f->codec);
    pb_codec_buf_free(&f->enc);
    pb_codec_buf_free(&f->wbuf);
    pb_free(f->dir);
    pb_free(f->fname);
    pb_free(f->active);
    f->dir = f->fname = f->active = NULL;
}

const struct pb_output_ops pb_output_file = {
    .name = "file",
    .flags = 0,
    .ctx_size = sizeof(struct fileout),
    .default_bulk_max_size = -1, /* libbeat sets -1: the queue decides */
    .default_max_retries = 0,
    .max_inflight = 1,
    .init = file_init,
    .publish = file_publish,
    .close = file_close,
};
