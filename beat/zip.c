/* SPDX-License-Identifier: Apache-2.0
 * beat/zip.c - unpacking a zip archive (see zip.h).
 * Format: PKWARE APPNOTE.TXT 6.3.x, sections 4.3.7 (local header),
 * 4.3.12 (central directory header), 4.3.16 (end of central directory).
 *
 * The central directory is the index: each of its records names an entry,
 * its method, CRC and sizes, and where its local header is. The local
 * header is only read for its own name and extra lengths, to find the data;
 * the sizes in the central directory are the ones trusted (and checked
 * against what inflating gives), as Go's archive/zip does.
 */
#include "beat/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "beat/err.h"
#include "beat/limits.h"
#include "beat/rd.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define END_LEN 22u
#define LOCAL_LEN 30u
#define METHOD_STORED 0
#define METHOD_DEFLATE 8
#define FLAG_ENCRYPTED 0x0001u

#define NOT_ZIP "zip: not a valid zip file"

/* One central directory record: the fields used. */
struct entry {
    struct pb_slice name;
    uint16_t flags, method;
    uint32_t crc;
    uint32_t csize, usize;
    uint32_t local; /* offset of the local header */
};

struct out {
    int fd;
    const char *path; /* borrowed, for messages */
    uint32_t crc;
    uint64_t written;
};

/* The name as it can go into a message: at most 200 bytes, control bytes
 * as '?'. */
static void printable(struct pb_slice s, char *buf, size_t n)
{
    size_t i = 0;
    for (; i < s.len && i + 1 < n && i < 200; i++) {
        buf[i] = s.ptr[i] < 0x20 || s.ptr[i] == 0x7f ? '?' : (char)s.ptr[i];
    }
    buf[i] = '\0';
}

/* Refuses what would leave the target: an absolute name, a `..` component
 * or a NUL byte (which would cut the name short). */
static bool name_ok(struct pb_slice s)
{
    if (s.len == 0 || s.ptr[0] == '/' || memchr(s.ptr, '\0', s.len) != NULL) {
        return false;
    }
    size_t i = 0;
    while (i < s.len) {
        size_t j = i;
        while (j < s.len && s.ptr[j] != '/') {
            j++;
        }
        if (j - i == 2 && s.ptr[i] == '.' && s.ptr[i + 1] == '.') {
            return false;
        }
        i = j + 1;
    }
    return true;
}

/* Creates every directory of path below the target (path[0..base) is the
 * target, which exists). */
static int make_parents(char *path, size_t base)
{
    for (char *s = path + base + 1; *s != '\0'; s++) {
        if (*s != '/') {
            continue;
        }
        *s = '\0';
        int rc = mkdir(path, 0755);
        *s = '/';
        if (rc != 0 && errno != EEXIST) {
            return -1;
        }
    }
    return 0;
}

static int out_write(struct out *o, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    o->crc = (uint32_t)crc32(o->crc, p, (uInt)n);
    o->written += n;
    while (n > 0) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            snprintf(err, errlen, "write %s: %s", o->path, strerror(errno));
            return -PB_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Inflates raw deflate data into o, never past usize bytes. */
static int inflate_to(struct out *o, const uint8_t *data, uint32_t csize, uint32_t usize,
                      const char *name, char *err, size_t errlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = csize;
    uint8_t buf[65536];
    int rc = 0;
    int zr = Z_OK;
    while (rc == 0 && zr != Z_STREAM_END) {
        zs.next_out = buf;
        zs.avail_out = sizeof buf;
        zr = inflate(&zs, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END) {
            /* Z_BUF_ERROR: the data ended before the stream did */
            snprintf(err, errlen, NOT_ZIP " (%s: %s)", name,
                     zr == Z_BUF_ERROR ? "deflate data cut short" : "corrupt deflate data");
            rc = -PB_EPROTO;
            break;
        }
        size_t n = sizeof buf - zs.avail_out;
        if (o->written + n > usize) {
            /* a header that understates the size: stop here, not at EOF */
            snprintf(err, errlen, NOT_ZIP " (%s: more data than the %u bytes its header says)",
                     name, (unsigned)usize);
            rc = -PB_EPROTO;
            break;
        }
        rc = out_write(o, buf, n, err, errlen);
    }
    inflateEnd(&zs);
    return rc;
}

static int read_entry(struct pb_rd *cd, struct entry *e)
{
    if (pb_rd_le32(cd) != SIG_CENTRAL) {
        return -PB_EPROTO;
    }
    pb_rd_skip(cd, 4); /* version made by, version needed */
    e->flags = pb_rd_le16(cd);
    e->method = pb_rd_le16(cd);
    pb_rd_skip(cd, 4); /* time, date */
    e->crc = pb_rd_le32(cd);
    e->csize = pb_rd_le32(cd);
    e->usize = pb_rd_le32(cd);
    uint16_t nlen = pb_rd_le16(cd);
    uint16_t xlen = pb_rd_le16(cd);
    uint16_t clen = pb_rd_le16(cd);
    pb_rd_skip(cd, 8); /* disk, internal and external attributes */
    e->local = pb_rd_le32(cd);
    e->name = pb_rd_slice(cd, nlen);
    pb_rd_skip(cd, (size_t)xlen + clen);
    return pb_rd_ok(cd) ? 0 : -PB_EPROTO;
}

/* Writes one entry below target (a directory when its name ends in '/'). */
static int extract_entry(const uint8_t *zip, size_t cd_off, const struct entry *e,
                         const char *target, char *err, size_t errlen)
{
    char name[256];
    printable(e->name, name, sizeof name);
    if (!name_ok(e->name)) {
        snprintf(err, errlen, "Zip file contains files outside of the target directory: %s", name);
        return -PB_EINVAL;
    }
    char path[PATH_MAX];
    size_t base = strlen(target);
    if (base + 1 + e->name.len >= sizeof path) {
        snprintf(err, errlen, "zip: name too long: %s", name);
        return -PB_ELIMIT;
    }
    memcpy(path, target, base);
    path[base] = '/';
    memcpy(path + base + 1, e->name.ptr, e->name.len);
    path[base + 1 + e->name.len] = '\0';
    if (make_parents(path, base) != 0) {
        snprintf(err, errlen, "failed making directory for file %s: %s", path, strerror(errno));
        return -PB_EIO;
    }
    bool is_dir = e->name.ptr[e->name.len - 1] == '/';
    if (is_dir) {
        return 0; /* make_parents made it */
    }
    /* the local header: only its name and extra lengths are used */
    struct pb_rd r = pb_rd_make(zip, cd_off);
    pb_rd_skip(&r, e->local);
    uint32_t sig = pb_rd_le32(&r);
    pb_rd_skip(&r, 22);
    uint16_t nlen = pb_rd_le16(&r);
    uint16_t xlen = pb_rd_le16(&r);
    pb_rd_skip(&r, (size_t)nlen + xlen);
    struct pb_slice data = pb_rd_slice(&r, e->csize);
    if (!pb_rd_ok(&r) || sig != SIG_LOCAL) {
        snprintf(err, errlen, NOT_ZIP " (%s: bad local header or data past the end)", name);
        return -PB_EPROTO;
    }
    struct out o = {.fd = -1, .path = path};
    o.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (o.fd < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        return -PB_EIO;
    }
    int rc;
    if (e->method == METHOD_STORED) {
        rc = e->csize == e->usize ? out_write(&o, data.ptr, data.len, err, errlen) : -PB_EPROTO;
        if (rc == -PB_EPROTO) {
            snprintf(err, errlen, NOT_ZIP " (%s: stored sizes differ)", name);
        }
    } else {
        rc = inflate_to(&o, data.ptr, e->csize, e->usize, name, err, errlen);
    }
    if (rc == 0 && o.written != e->usize) {
        snprintf(err, errlen, NOT_ZIP " (%s: %llu bytes where its header says %u)", name,
                 (unsigned long long)o.written, (unsigned)e->usize);
        rc = -PB_EPROTO;
    }
    if (rc == 0 && o.crc != e->crc) {
        snprintf(err, errlen, "zip: checksum error (%s)", name);
        rc = -PB_EPROTO;
    }
    if (close(o.fd) != 0 && rc == 0) {
        snprintf(err, errlen, "close %s: %s", path, strerror(errno));
        rc = -PB_EIO;
    }
    return rc;
}

int pb_zip_extract(const uint8_t *zip, size_t len, const char *target,
                   const struct pb_zip_limits *lim, char *err, size_t errlen)
{
    static const struct pb_zip_limits def = {PB_ZIP_MAX_ENTRIES, PB_ZIP_MAX_ENTRY_BYTES,
                                             PB_ZIP_MAX_TOTAL_BYTES};
    if (lim == NULL) {
        lim = &def;
    }
    /* the end record: the last signature within its largest possible
       distance from the end (22 bytes + a 65535-byte comment) */
    if (len < END_LEN) {
        snprintf(err, errlen, NOT_ZIP);
        return -PB_EPROTO;
    }
    size_t end = len - END_LEN;
    size_t stop = len - END_LEN > 65535u ? len - END_LEN - 65535u : 0;
    bool found = false;
    for (;; end--) {
        struct pb_rd s = pb_rd_make(zip + end, 4);
        if (pb_rd_le32(&s) == SIG_END) {
            found = true;
            break;
        }
        if (end == stop) {
            break;
        }
    }
    if (!found) {
        snprintf(err, errlen, NOT_ZIP);
        return -PB_EPROTO;
    }
    struct pb_rd r = pb_rd_make(zip + end + 4, END_LEN - 4);
    uint16_t disk = pb_rd_le16(&r);
    uint16_t cd_disk = pb_rd_le16(&r);
    uint16_t count_here = pb_rd_le16(&r);
    uint16_t count = pb_rd_le16(&r);
    uint32_t cd_size = pb_rd_le32(&r);
    uint32_t cd_off = pb_rd_le32(&r);
    if (count == 0xffffu || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        snprintf(err, errlen, "zip: zip64 archives are not supported");
        return -PB_EINVAL;
    }
    if (disk != 0 || cd_disk != 0 || count_here != count) {
        snprintf(err, errlen, "zip: multi-disk archives are not supported");
        return -PB_EINVAL;
    }
    if ((uint64_t)cd_off + cd_size > end) {
        snprintf(err, errlen, NOT_ZIP);
        return -PB_EPROTO;
    }
    if (count > lim->max_entries) {
        snprintf(err, errlen, "zip: %u entries, more than the cap of %zu", (unsigned)count,
                 lim->max_entries);
        return -PB_ELIMIT;
    }
    struct pb_rd cd = pb_rd_make(zip + cd_off, cd_size);
    uint64_t total = 0;
    for (unsigned i = 0; i < count; i++) {
        struct entry e;
        if (read_entry(&cd, &e) != 0) {
            snprintf(err, errlen, NOT_ZIP);
            return -PB_EPROTO;
        }
        char name[256];
        printable(e.name, name, sizeof name);
        if (e.flags & FLAG_ENCRYPTED) {
            snprintf(err, errlen, "zip: %s is encrypted", name);
            return -PB_EINVAL;
        }
        if (e.method != METHOD_STORED && e.method != METHOD_DEFLATE) {
            snprintf(err, errlen, "zip: unsupported compression algorithm (method %u in %s)",
                     (unsigned)e.method, name);
            return -PB_EINVAL;
        }
        /* the declared size bounds what inflating may give (checked there) */
        if (e.usize > lim->max_entry_bytes) {
            snprintf(err, errlen,
                     "zip: %s is %u bytes uncompressed, more than the cap of %llu bytes an entry",
                     name, (unsigned)e.usize, (unsigned long long)lim->max_entry_bytes);
            return -PB_ELIMIT;
        }
        total += e.usize;
        if (total > lim->max_total_bytes) {
            snprintf(err, errlen, "zip: more than the cap of %llu bytes uncompressed in all",
                     (unsigned long long)lim->max_total_bytes);
            return -PB_ELIMIT;
        }
        int rc = extract_entry(zip, cd_off, &e, target, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int pb_zip_remove_tree(const char *path)
{
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -PB_EIO;
}
