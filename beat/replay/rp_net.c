/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_net.c - blocking TCP with poll() timeouts and a bounded
 * read buffer for the replay wire clients; small crypto helpers.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/replay/rp_int.h"

uint64_t rp_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

char *rp_strfmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    char *s = pb_malloc((size_t)n + 1);
    if (s == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void digest(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
    unsigned len = 0;
    EVP_Digest(p, n, out, &len, md, NULL);
}

void rp_sha1(const void *p, size_t n, uint8_t out[20])
{
    digest(EVP_sha1(), p, n, out);
}

void rp_sha256(const void *p, size_t n, uint8_t out[32])
{
    digest(EVP_sha256(), p, n, out);
}

void rp_md5_hex(const void *p, size_t n, char out[33])
{
    uint8_t d[16];
    digest(EVP_md5(), p, n, d);
    for (size_t i = 0; i < 16; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

int rp_conn_open(struct rp_conn *c, const char *host, uint16_t port, long timeout_ms, char *err,
                 size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            c->fd = fd;
            break;
        }
        snprintf(err, errlen, "connect %s:%u: %s", host, port, strerror(errno));
        close(fd);
    }
    freeaddrinfo(res);
    return c->fd >= 0 ? 0 : -1;
}

void rp_conn_close(struct rp_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->fd = -1;
    pb_free(c->buf);
    c->buf = NULL;
    c->off = c->len = c->cap = 0;
}

static int wait_fd(struct rp_conn *c, short ev)
{
    struct pollfd p = {.fd = c->fd, .events = ev};
    int rc;
    do {
        rc = poll(&p, 1, (int)c->timeout_ms);
    } while (rc < 0 && errno == EINTR);
    return rc > 0 ? 0 : -1;
}

int rp_conn_write(struct rp_conn *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        if (wait_fd(c, POLLOUT) < 0) {
            return -1;
        }
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads once (at least one byte) into the buffer, compacting/growing it so
 * that `want` bytes past off fit. */
static int fill(struct rp_conn *c, size_t want)
{
    if (want > RP_MAX_BODY + 64) {
        return -1;
    }
    if (c->off > 0 && c->off == c->len) {
        c->off = c->len = 0;
    }
    if (c->off + want > c->cap) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (want > c->cap) {
            size_t cap = c->cap ? c->cap : 16384;
            while (cap < want) {
                cap *= 2;
            }
            uint8_t *nb = pb_realloc(c->buf, cap);
            if (nb == NULL) {
                return -1;
            }
            c->buf = nb;
            c->cap = cap;
        }
    }
    if (wait_fd(c, POLLIN) < 0) {
        return -1;
    }
    ssize_t r;
    do {
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    } while (r < 0 && errno == EINTR);
    if (r <= 0) {
        return -1;
    }
    c->len += (size_t)r;
    return 0;
}

int rp_conn_need(struct rp_conn *c, size_t n)
{
    if (c->fd < 0) {
        return -1;
    }
    while (c->len - c->off < n) {
        if (fill(c, n) < 0) {
            return -1;
        }
    }
    return 0;
}

long rp_conn_line(struct rp_conn *c, size_t max)
{
    size_t from = c->off;
    for (;;) {
        for (size_t i = from; i + 1 < c->len; i++) {
            if (c->buf[i] == '\r' && c->buf[i + 1] == '\n') {
                return (long)i;
            }
        }
        size_t have = c->len - c->off;
        if (have >= max || c->fd < 0) {
            return -1;
        }
        from = c->len > c->off ? c->len - 1 : c->off;
        size_t keep = from - c->off;
        if (fill(c, have + 1 > 4096 ? have + 1 : 4096) < 0) {
            return -1;
        }
        from = c->off + keep; /* the buffer may have moved */
    }
}
