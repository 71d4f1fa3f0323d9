/* SPDX-License-Identifier: Apache-2.0
 * packet/pcapfile.c - capture files for -I (see pcapfile.h).
 *
 * Classic pcap layout (https://www.tcpdump.org/manpages/pcap-savefile.5.txt):
 *   file header (24): magic(4) major(2) minor(2) thiszone(4) sigfigs(4)
 *                     snaplen(4) linktype(4)
 *   record header (16): ts_sec(4) ts_frac(4) incl_len(4) orig_len(4)
 *   ("modified" pcap, magic 0xa1b2cd34, adds ifindex(4) proto(2) type(1) pad(1))
 * Numbers are in the writer's byte order, told by the magic.
 */
#include "pcapfile.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/lazy/lazylib.h"
#include "beat/limits.h"
#include "beat/rd.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define MAGIC_MOD 0xa1b2cd34u
#define MAGIC_NG 0x0a0d0d0au

/* Classic pcap is read with large read()s into one buffer, from which
   frames are handed out in place; the buffer holds at least one whole
   record of the largest frame. (A file mapped a window at a time costs
   as much or more: its pages reach the cache and the TLB one by one as the
   frames are read, where a read() leaves the last megabyte in the cache;
   on a 200 MB corpus 8 % more CPU in all.) */
#define READ_BUF_BYTES (1024u * 1024u)
_Static_assert(READ_BUF_BYTES >= PB_MAX_FRAME_BYTES + 24u, "a whole record must fit");

struct pb_pcapfile {
    char *path; /* owned, for messages */
    int fd;     /* classic pcap read by us; -1 when libpcap reads */
    pcap_t *pc; /* libpcap handle (pcapng) */
    bool swap;  /* big-endian file */
    bool nano;
    size_t rec_hdr; /* 16, or 24 for the modified format */
    int linktype;
    uint8_t *buf;    /* owned: READ_BUF_BYTES */
    size_t pos, len; /* unread bytes are buf[pos..len) */
};

/* Makes at least n unread bytes available (fewer at the end of the file);
   the bytes handed out before are moved. The number available, or -1 with
   errno on a read error. */
static __attribute__((noinline)) ssize_t fill_slow(struct pb_pcapfile *f, size_t n)
{
    memmove(f->buf, f->buf + f->pos, f->len - f->pos);
    f->len -= f->pos;
    f->pos = 0;
    while (f->len < n) {
        ssize_t got = read(f->fd, f->buf + f->len, READ_BUF_BYTES - f->len);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (got == 0) {
            break;
        }
        f->len += (size_t)got;
    }
    return (ssize_t)f->len;
}

/* fill, its common case (the bytes are there) inline */
static inline ssize_t fill(struct pb_pcapfile *f, size_t n)
{
    if (f->len - f->pos >= n) {
        return (ssize_t)(f->len - f->pos);
    }
    return fill_slow(f, n);
}

static uint32_t rd32(const struct pb_pcapfile *f, struct pb_rd *r)
{
    return f->swap ? pb_rd_be32(r) : pb_rd_le32(r);
}

static void pf_free(struct pb_pcapfile *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fd > STDIN_FILENO) {
        close(f->fd);
    }
    if (f->pc != NULL) {
        pcap_close(f->pc);
    }
    pb_free(f->buf);
    pb_free(f->path);
    pb_free(f);
}

static struct pb_pcapfile *open_libpcap(struct pb_pcapfile *f, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    if (f->fd > STDIN_FILENO) {
        close(f->fd);
    }
    f->fd = -1;
    if (pb_lazy_pcap(err, errlen) != 0) {
        pf_free(f);
        return NULL;
    }
    f->pc = pcap_open_offline_with_tstamp_precision(f->path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (f->pc == NULL) {
        snprintf(err, errlen, "%s: %s", f->path, ebuf[0] ? ebuf : "cannot read the file");
        pf_free(f);
        return NULL;
    }
    f->nano = pcap_get_tstamp_precision(f->pc) == PCAP_TSTAMP_PRECISION_NANO;
    f->linktype = pcap_datalink(f->pc);
    return f;
}

struct pb_pcapfile *pb_pcapfile_open(const char *path, char *err, size_t errlen)
{
    struct pb_pcapfile *f = pb_calloc(1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    f->fd = -1;
    f->path = pb_strdup(path);
    f->buf = pb_malloc(READ_BUF_BYTES);
    if (f->path == NULL || f->buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        pf_free(f);
        return NULL;
    }
    bool is_stdin = strcmp(path, "-") == 0;
    f->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        pf_free(f);
        return NULL;
    }
    if (!is_stdin) {
        (void)posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    ssize_t avail = fill(f, 24);
    if (avail < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        pf_free(f);
        return NULL;
    }
    size_t got = (size_t)avail < 24 ? (size_t)avail : 24;
    struct pb_rd r = pb_rd_make(f->buf, got);
    f->pos = got;
    uint32_t magic_le = pb_rd_le32(&r);
    if (!pb_rd_ok(&r)) {
        snprintf(err, errlen, "%s: %s", path,
                 got == 0 ? "empty file, not a pcap or pcapng file"
                          : "truncated file header, not a pcap or pcapng file");
        pf_free(f);
        return NULL;
    }
    uint32_t magic = magic_le;
    if (magic_le == MAGIC_US || magic_le == MAGIC_NS || magic_le == MAGIC_MOD) {
        f->swap = false;
    } else if (__builtin_bswap32(magic_le) == MAGIC_US || __builtin_bswap32(magic_le) == MAGIC_NS ||
               __builtin_bswap32(magic_le) == MAGIC_MOD) {
        f->swap = true;
        magic = __builtin_bswap32(magic_le);
    } else if (magic_le == MAGIC_NG && !is_stdin) {
        return open_libpcap(f, err, errlen);
    } else {
        snprintf(err, errlen, "%s: unknown file format, not a pcap or pcapng file", path);
        pf_free(f);
        return NULL;
    }
    if (got < 24) {
        snprintf(err, errlen, "%s: truncated pcap file header (%zu of 24 bytes)", path, got);
        pf_free(f);
        return NULL;
    }
    f->nano = magic == MAGIC_NS;
    f->rec_hdr = magic == MAGIC_MOD ? 24 : 16;
    pb_rd_skip(&r, 16); /* version, thiszone, sigfigs, snaplen */
    f->linktype = (int)(rd32(f, &r) & 0x03ffffffu);
    return f;
}

int pb_pcapfile_linktype(const struct pb_pcapfile *f)
{
    return f->linktype;
}

static int next_libpcap(struct pb_pcapfile *f, const uint8_t **data, uint32_t *caplen,
                        uint32_t *wirelen, uint64_t *ts_ns, char *err, size_t errlen)
{
    struct pcap_pkthdr *h = NULL;
    const u_char *d = NULL;
    int rc = pcap_next_ex(f->pc, &h, &d);
    if (rc == PCAP_ERROR_BREAK) {
        return 0;
    }
    if (rc != 1) {
        snprintf(err, errlen, "%s: %s", f->path, pcap_geterr(f->pc));
        return -1;
    }
    *data = d;
    *caplen = h->caplen;
    *wirelen = h->len;
    uint64_t frac = (uint64_t)h->ts.tv_usec;
    *ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (f->nano ? frac : frac * 1000ull);
    return 1;
}

int pb_pcapfile_next(struct pb_pcapfile *f, const uint8_t **data, uint32_t *caplen,
                     uint32_t *wirelen, uint64_t *ts_ns, char *err, size_t errlen)
{
    if (f->pc != NULL) {
        return next_libpcap(f, data, caplen, wirelen, ts_ns, err, errlen);
    }
    ssize_t avail = fill(f, f->rec_hdr);
    if (avail < 0) {
        snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    if (avail == 0) {
        return 0;
    }
    if ((size_t)avail < f->rec_hdr) {
        snprintf(err, errlen,
                 "%s: truncated dump file; tried to read %zu header bytes, only got %zd", f->path,
                 f->rec_hdr, avail);
        f->pos = f->len;
        return -1;
    }
    /* | seconds | fraction | captured length | original length | (all
       there: avail >= rec_hdr >= 16) */
    uint32_t w[4];
    memcpy(w, f->buf + f->pos, sizeof w);
    for (int i = 0; i < 4; i++) {
        w[i] = f->swap ? be32toh(w[i]) : le32toh(w[i]);
    }
    uint32_t sec = w[0], frac = w[1], incl = w[2], orig = w[3];
    if (incl > PB_MAX_FRAME_BYTES) {
        snprintf(err, errlen, "%s: invalid packet capture length %u, bigger than maximum of %u",
                 f->path, incl, (unsigned)PB_MAX_FRAME_BYTES);
        return -1;
    }
    avail = fill(f, f->rec_hdr + incl);
    if (avail < 0) {
        snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    if ((size_t)avail < f->rec_hdr + incl) {
        snprintf(err, errlen,
                 "%s: truncated dump file; tried to read %u captured bytes, only got %zu", f->path,
                 incl, (size_t)avail - f->rec_hdr);
        f->pos = f->len;
        return -1;
    }
    *data = f->buf + f->pos + f->rec_hdr;
    f->pos += f->rec_hdr + incl;
    *caplen = incl;
    *wirelen = orig < incl ? incl : orig;
    *ts_ns = (uint64_t)sec * 1000000000ull + (f->nano ? (uint64_t)frac : (uint64_t)frac * 1000ull);
    return 1;
}

void pb_pcapfile_close(struct pb_pcapfile *f)
{
    pf_free(f);
}
