/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/redis/redis.c - output.redis (libbeat outputs/redis):
 * events are pushed to a Redis list (RPUSH) or published to a channel
 * (PUBLISH), spoken with our own RESP writer/reader (resp.h).
 *
 * Settings (defaults): hosts (required; "host[:port]", port 6379, or a URL
 * redis://[:password@]host:port / rediss://... for TLS), key / keys
 * (format strings and rules, see publisher/fmtstr.h; key defaults to
 * `index`, which defaults to "packetbeat"), datatype (list | channel),
 * db (0), password, timeout (5s), loadbalance (true), worker (1),
 * bulk_max_size (2048), max_retries (3), backoff.init/max (1s/60s), ssl.*,
 * codec.
 *
 * Clients: with loadbalance one client per host and worker (libbeat
 * ReadHostList), each with its own connection and worker thread; without,
 * one client that fails over to the next host when a connection fails.
 *
 * Per connection: [TLS] AUTH <password> (when set), PING, SELECT <db>
 * (when db != 0); for a list with a constant key INFO tells the server
 * version, and Redis >= 2.4 gets one RPUSH with every event of the batch;
 * otherwise each event is its own command, pipelined, with its own key.
 *
 * Results: a reply that is a Redis error retries that event (one attempt
 * spent); an event that cannot be encoded is dropped and counted; a lost
 * connection (write/read failure, timeout) cancels what was not confirmed,
 * which costs no attempt, and the worker reconnects.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"
#include "publisher/output.h"
#include "publisher/outputs/redis/redis_tls.h"
#include "publisher/outputs/redis/resp.h"

#define SEL "redis"
#define SEL_PIPE "publisher_pipeline_output"
#define DEFAULT_PORT "6379"
#define DEF_TIMEOUT_NS (5LL * 1000000000LL)
#define MAX_HOSTS 256
#define MAX_RBUF (4u * 1024u * 1024u) /* replies we read: INFO is the largest */

struct rhost {
    char *host;     /* owned: name or address, without brackets */
    char *port;     /* owned */
    char *display;  /* owned: "host:port" as configured */
    char *password; /* owned: from the URL, NULL when none */
    int scheme;     /* 0: none, 1: redis://, 2: rediss:// */
};

struct redisout {
    struct rhost *hosts; /* owned: this client's hosts (failover: all) */
    size_t nhosts;
    size_t active;
    struct pb_outsel *key; /* owned */
    char *key_fallback;    /* owned: `index` when no `key` is set, else NULL */
    bool key_const;
    bool channel; /* datatype channel: PUBLISH */
    int64_t db;
    int64_t timeout_ns;
    char *password; /* owned, NULL when none */
    struct pb_codec codec;
    struct pb_redis_tls tls;     /* from ssl.* */
    struct pb_redis_tls tls_def; /* rediss:// without ssl.*: system defaults */

    /* the connection */
    int fd;
    SSL *ssl;
    bool bulk; /* one RPUSH per batch */
    char tls_version[32];

    struct pb_codec_buf w;   /* command bytes */
    struct pb_codec_buf enc; /* encoded events of a batch */
    struct pb_codec_buf kbuf;
    uint8_t *rbuf; /* owned: reply bytes */
    size_t rlen, rcap, rused;
    char errmsg[512]; /* last I/O or server error */
};

/* ---- hosts ---------------------------------------------------------------- */

static void host_fini(struct rhost *h)
{
    pb_free(h->host);
    pb_free(h->port);
    pb_free(h->display);
    pb_free(h->password);
    memset(h, 0, sizeof *h);
}

/* "[redis[s]://][[user]:password@]host[:port]" */
static int parse_host(const char *s, struct rhost *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    const char *p = s;
    const char *sep = strstr(s, "://");
    if (sep != NULL) {
        size_t sl = (size_t)(sep - s);
        if (sl == 5 && strncmp(s, "redis", 5) == 0) {
            h->scheme = 1;
        } else if (sl == 6 && strncmp(s, "rediss", 6) == 0) {
            h->scheme = 2;
        } else {
            snprintf(err, errlen, "invalid redis url scheme %.*s", (int)sl, s);
            return -PB_EINVAL;
        }
        p = sep + 3;
    }
    const char *at = strrchr(p, '@');
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon != NULL) {
            h->password = pb_strndup(colon + 1, (size_t)(at - colon - 1));
            if (h->password == NULL) {
                return -PB_ENOMEM;
            }
        }
        p = at + 1;
    }
    size_t len = strlen(p);
    while (len > 0 && p[len - 1] == '/') {
        len--; /* redis://host:port/ */
    }
    const char *hs = p;
    size_t hl = len;
    const char *port = NULL;
    size_t portl = 0;
    if (len > 0 && p[0] == '[') {
        const char *rb = memchr(p, ']', len);
        if (rb == NULL) {
            snprintf(err, errlen, "invalid redis url host %.*s", (int)len, p);
            return -PB_EINVAL;
        }
        hs = p + 1;
        hl = (size_t)(rb - hs);
        if ((size_t)(rb + 1 - p) < len && rb[1] == ':') {
            port = rb + 2;
            portl = len - (size_t)(rb + 2 - p);
        }
    } else {
        const char *c = memchr(p, ':', len);
        if (c != NULL && memchr(c + 1, ':', len - (size_t)(c + 1 - p)) == NULL) {
            hl = (size_t)(c - p);
            port = c + 1;
            portl = len - hl - 1;
        }
    }
    if (hl == 0) {
        snprintf(err, errlen, "invalid redis url host %.*s", (int)len, p);
        return -PB_EINVAL;
    }
    h->host = pb_strndup(hs, hl);
    h->port = port != NULL && portl > 0 ? pb_strndup(port, portl) : pb_strdup(DEFAULT_PORT);
    if (h->host == NULL || h->port == NULL) {
        return -PB_ENOMEM;
    }
    size_t dl = hl + strlen(h->port) + 4;
    h->display = pb_malloc(dl);
    if (h->display == NULL) {
        return -PB_ENOMEM;
    }
    bool v6 = memchr(h->host, ':', hl) != NULL;
    snprintf(h->display, dl, v6 ? "[%s]:%s" : "%s:%s", h->host, h->port);
    return 0;
}

/* ---- I/O -------------------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ns();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = ev};
        int ms = (int)((left + 999999) / 1000000);
        int rc = poll(&pfd, 1, ms);
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* Go's error text style: "connection refused", lower case. */
static void errtext(int e, char *buf, size_t n)
{
    snprintf(buf, n, "%s", e == ETIMEDOUT ? "i/o timeout" : strerror(e));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && e != ETIMEDOUT) {
        buf[0] = (char)(buf[0] - 'A' + 'a');
    }
}

/* A TCP connection to host:port within the deadline; -1 with ro->errmsg. */
static int dial(struct redisout *ro, const struct rhost *h, int64_t deadline)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(h->host, h->port, &hints, &res);
    if (gai != 0) {
        snprintf(ro->errmsg, sizeof ro->errmsg, "lookup %s: %s", h->host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            int ok = 0;
            if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                ok = soerr == 0;
                last = soerr;
            } else {
                last = errno;
            }
            if (!ok) {
                close(fd);
                fd = -1;
            }
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        char e[128];
        errtext(last, e, sizeof e);
        snprintf(ro->errmsg, sizeof ro->errmsg, "dial tcp %s: connect: %s", h->display, e);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void conn_close(struct redisout *ro)
{
    if (ro->ssl != NULL) {
        SSL_free(ro->ssl);
        ro->ssl = NULL;
    }
    if (ro->fd >= 0) {
        close(ro->fd);
        ro->fd = -1;
    }
    ro->rlen = 0;
    ro->rused = 0;
}

static int tls_handshake(struct redisout *ro, const struct pb_redis_tls *t, const struct rhost *h,
                         int64_t deadline)
{
    char why[256];
    ro->ssl = pb_redis_tls_client(t, ro->fd, h->host, why, sizeof why);
    if (ro->ssl == NULL) {
        snprintf(ro->errmsg, sizeof ro->errmsg, "%s", why);
        return -1;
    }
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(ro->ssl);
        if (rc == 1) {
            break;
        }
        int e = SSL_get_error(ro->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(ro->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 0) {
                snprintf(ro->errmsg, sizeof ro->errmsg, "TLS handshake with %s: i/o timeout",
                         h->display);
                return -1;
            }
            continue;
        }
        long vr = SSL_get_verify_result(ro->ssl);
        if (vr != X509_V_OK) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "x509: %s", X509_verify_cert_error_string(vr));
        } else {
            pb_redis_tls_errstr(why, sizeof why);
            snprintf(ro->errmsg, sizeof ro->errmsg, "TLS handshake with %s failed: %s", h->display,
                     why);
        }
        return -1;
    }
    snprintf(ro->tls_version, sizeof ro->tls_version, "%s", SSL_get_version(ro->ssl));
    return 0;
}

static int io_write(struct redisout *ro, const char *p, size_t n, int64_t deadline)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w;
        short want = POLLOUT;
        if (ro->ssl != NULL) {
            ERR_clear_error();
            int rc =
                SSL_write(ro->ssl, p + off, (int)(n - off > (1u << 30) ? (1u << 30) : n - off));
            if (rc > 0) {
                off += (size_t)rc;
                continue;
            }
            int e = SSL_get_error(ro->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                snprintf(ro->errmsg, sizeof ro->errmsg, "write: TLS connection broken");
                return -1;
            }
            want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
            w = send(ro->fd, p + off, n - off, MSG_NOSIGNAL);
            if (w > 0) {
                off += (size_t)w;
                continue;
            }
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                char e[128];
                errtext(errno, e, sizeof e);
                snprintf(ro->errmsg, sizeof ro->errmsg, "write: %s", e);
                return -1;
            }
        }
        if (wait_fd(ro->fd, want, deadline) != 0) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "write: i/o timeout");
            return -1;
        }
    }
    return 0;
}

/* Reads more reply bytes into rbuf. -1 with errmsg on EOF/error/timeout. */
static int io_read_more(struct redisout *ro, int64_t deadline)
{
    if (ro->rlen == ro->rcap) {
        if (ro->rcap >= MAX_RBUF) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "reply too large");
            return -1;
        }
        size_t ncap = ro->rcap ? ro->rcap * 2 : 16384;
        uint8_t *nb = pb_realloc(ro->rbuf, ncap);
        if (nb == NULL) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "out of memory");
            return -1;
        }
        ro->rbuf = nb;
        ro->rcap = ncap;
    }
    for (;;) {
        short want = POLLIN;
        if (ro->ssl != NULL) {
            ERR_clear_error();
            int rc = SSL_read(ro->ssl, ro->rbuf + ro->rlen, (int)(ro->rcap - ro->rlen));
            if (rc > 0) {
                ro->rlen += (size_t)rc;
                return 0;
            }
            int e = SSL_get_error(ro->ssl, rc);
            if (e == SSL_ERROR_ZERO_RETURN ||
                (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)) {
                snprintf(ro->errmsg, sizeof ro->errmsg, "EOF");
                return -1;
            }
            want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        } else {
            ssize_t r = recv(ro->fd, ro->rbuf + ro->rlen, ro->rcap - ro->rlen, 0);
            if (r > 0) {
                ro->rlen += (size_t)r;
                return 0;
            }
            if (r == 0) {
                snprintf(ro->errmsg, sizeof ro->errmsg, "EOF");
                return -1;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                char e[128];
                errtext(errno, e, sizeof e);
                snprintf(ro->errmsg, sizeof ro->errmsg, "read: %s", e);
                return -1;
            }
        }
        if (wait_fd(ro->fd, want, deadline) != 0) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "read: i/o timeout");
            return -1;
        }
    }
}

/* The next reply (valid until the next call). -1: connection failed. */
static int next_reply(struct redisout *ro, struct pb_resp_reply *r, int64_t deadline)
{
    if (ro->rused > 0) {
        memmove(ro->rbuf, ro->rbuf + ro->rused, ro->rlen - ro->rused);
        ro->rlen -= ro->rused;
        ro->rused = 0;
    }
    for (;;) {
        long n = ro->rlen > 0 ? pb_resp_parse(ro->rbuf, ro->rlen, r) : 0;
        if (n > 0) {
            ro->rused = (size_t)n;
            return 0;
        }
        if (n < 0) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "protocol error in server reply");
            return -1;
        }
        if (io_read_more(ro, deadline) != 0) {
            return -1;
        }
    }
}

/* One command, one reply; a Redis error reply is returned as -2 with the
 * message in errmsg. */
static int call(struct redisout *ro, size_t argc, const char *const *argv, struct pb_resp_reply *r)
{
    int64_t deadline = mono_ns() + ro->timeout_ns;
    ro->w.len = 0;
    if (pb_resp_cmd(&ro->w, argc, argv) != 0) {
        snprintf(ro->errmsg, sizeof ro->errmsg, "out of memory");
        return -1;
    }
    if (io_write(ro, ro->w.p, ro->w.len, deadline) != 0 || next_reply(ro, r, deadline) != 0) {
        return -1;
    }
    if (r->type == PB_RESP_ERROR) {
        snprintf(ro->errmsg, sizeof ro->errmsg, "%.*s", (int)r->len, r->str);
        return -2;
    }
    return 0;
}

/* ---- connection setup ------------------------------------------------------------ */

static const struct pb_redis_tls *host_tls(const struct redisout *ro, const struct rhost *h)
{
    if (h->scheme == 1) {
        return NULL; /* redis:// asks for plain TCP */
    }
    if (ro->tls.enabled) {
        return &ro->tls;
    }
    return h->scheme == 2 ? &ro->tls_def : NULL;
}

/* "redis_version:7.0.15" -> major, minor */
static bool server_version(const char *info, size_t len, int *major, int *minor)
{
    static const char tag[] = "redis_version:";
    for (size_t i = 0; i + sizeof tag - 1 < len; i++) {
        if (memcmp(info + i, tag, sizeof tag - 1) == 0) {
            const char *p = info + i + sizeof tag - 1;
            const char *end = info + len;
            int a = 0;
            int b = 0;
            if (p >= end || *p < '0' || *p > '9') {
                return false;
            }
            while (p < end && *p >= '0' && *p <= '9' && a < 100000) {
                a = a * 10 + (*p++ - '0');
            }
            if (p >= end || *p == '\r' || *p == '\n') {
                return false;
            }
            p++;
            if (p >= end || *p < '0' || *p > '9') {
                return false;
            }
            while (p < end && *p >= '0' && *p <= '9' && b < 100000) {
                b = b * 10 + (*p++ - '0');
            }
            *major = a;
            *minor = b;
            return true;
        }
    }
    return false;
}

/* Connects to h and runs the handshake. 0, or -1 with errmsg. */
static int open_conn(struct redisout *ro, const struct rhost *h, bool test_print)
{
    (void)test_print;
    conn_close(ro);
    ro->tls_version[0] = '\0';
    int64_t deadline = mono_ns() + ro->timeout_ns;
    ro->fd = dial(ro, h, deadline);
    if (ro->fd < 0) {
        return -1;
    }
    const struct pb_redis_tls *t = host_tls(ro, h);
    if (t != NULL && tls_handshake(ro, t, h, deadline) != 0) {
        conn_close(ro);
        return -1;
    }
    struct pb_resp_reply r;
    const char *pw = h->password != NULL ? h->password : ro->password;
    if (pw != NULL && pw[0] != '\0') {
        const char *argv[] = {"AUTH", pw};
        if (call(ro, 2, argv, &r) != 0) {
            conn_close(ro);
            return -1;
        }
    }
    const char *ping[] = {"PING"};
    if (call(ro, 1, ping, &r) != 0) {
        conn_close(ro);
        return -1;
    }
    if (ro->db != 0) {
        char dbs[32];
        snprintf(dbs, sizeof dbs, "%" PRId64, ro->db);
        const char *argv[] = {"SELECT", dbs};
        if (call(ro, 2, argv, &r) != 0) {
            conn_close(ro);
            return -1;
        }
    }
    ro->bulk = false;
    if (!ro->channel && ro->key_const) {
        const char *info[] = {"INFO"};
        if (call(ro, 1, info, &r) != 0) {
            conn_close(ro);
            return -1;
        }
        int major = 0;
        int minor = 0;
        if (r.type != PB_RESP_BULK || !server_version(r.str, r.len, &major, &minor)) {
            snprintf(ro->errmsg, sizeof ro->errmsg, "unable to read redis_version");
            conn_close(ro);
            return -1;
        }
        ro->bulk = major > 2 || (major == 2 && minor >= 4);
    }
    return 0;
}

/* ---- config ------------------------------------------------------------------- */

static int cfg_fail(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", pb_cfg_errmsg());
    return -PB_EINVAL;
}

struct common_cfg {
    char **hosts;
    size_t nhosts;
    int64_t worker;
    bool loadbalance;
};

static int read_common(const struct pb_cfg *node, struct common_cfg *c, char *err, size_t errlen)
{
    char path[256];
    memset(c, 0, sizeof *c);
    c->worker = 1;
    c->loadbalance = true;
    pb_cfg_path(node, path, sizeof path);
    if (!pb_cfg_has(node, "hosts")) {
        snprintf(err, errlen, "missing required field accessing '%s.hosts'", path);
        return -PB_EINVAL;
    }
    int64_t workers = 1;
    if (pb_cfg_strv(node, "hosts", &c->hosts, &c->nhosts) != 0 ||
        pb_cfg_int(node, "workers", 1, &workers) != 0 ||
        pb_cfg_int(node, "worker", workers, &c->worker) != 0 ||
        pb_cfg_bool(node, "loadbalance", true, &c->loadbalance) != 0) {
        return cfg_fail(err, errlen);
    }
    if (c->nhosts == 0) {
        snprintf(err, errlen, "empty field accessing '%s.hosts'", path);
        return -PB_EINVAL;
    }
    if (c->nhosts > MAX_HOSTS) {
        snprintf(err, errlen, "too many hosts in '%s.hosts' (limit %d)", path, MAX_HOSTS);
        return -PB_EINVAL;
    }
    if (c->worker < 1) {
        c->worker = 1;
    }
    return 0;
}

static int redis_clients(const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct common_cfg c;
    int rc = read_common(cfg, &c, err, errlen);
    if (rc == 0) {
        rc = c.loadbalance ? (int)((int64_t)c.nhosts * c.worker) : 1;
    }
    pb_cfg_strv_free(c.hosts);
    return rc;
}

static int redis_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct redisout *ro = o->ctx;
    struct common_cfg c;
    char path[256];
    const char *index = NULL;
    const char *datatype = NULL;
    const char *password = NULL;
    int rc;

    ro->fd = -1;
    pb_cfg_path(cfg, path, sizeof path);
    if (pb_cfg_has(cfg, "port")) {
        snprintf(err, errlen, "setting '%s.port' has been removed", path);
        return -PB_EINVAL;
    }
    rc = read_common(cfg, &c, err, errlen);
    if (rc != 0) {
        pb_cfg_strv_free(c.hosts);
        return rc;
    }
    if (pb_cfg_str(cfg, "index", o->beat != NULL ? o->beat : "packetbeat", &index) != 0 ||
        pb_cfg_str(cfg, "datatype", "list", &datatype) != 0 ||
        pb_cfg_str(cfg, "password", NULL, &password) != 0 ||
        pb_cfg_int(cfg, "db", 0, &ro->db) != 0 ||
        pb_cfg_duration(cfg, "timeout", DEF_TIMEOUT_NS, &ro->timeout_ns) != 0) {
        pb_cfg_strv_free(c.hosts);
        return cfg_fail(err, errlen);
    }
    if (datatype == NULL || datatype[0] == '\0' || strcmp(datatype, "list") == 0) {
        ro->channel = false;
    } else if (strcmp(datatype, "channel") == 0) {
        ro->channel = true;
    } else {
        snprintf(err, errlen, "redis data type %s not supported accessing '%s'", datatype, path);
        pb_cfg_strv_free(c.hosts);
        return -PB_EINVAL;
    }
    if (ro->timeout_ns <= 0) {
        ro->timeout_ns = DEF_TIMEOUT_NS;
    }
    if (password != NULL) {
        ro->password = pb_strdup(password);
    }

    /* this client's hosts */
    size_t first = 0;
    size_t count = c.nhosts;
    if (c.loadbalance) {
        first = (size_t)(o->index / (unsigned)c.worker) % c.nhosts;
        count = 1;
    }
    ro->hosts = pb_calloc(count, sizeof *ro->hosts);
    if (ro->hosts == NULL) {
        pb_cfg_strv_free(c.hosts);
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < c.nhosts; i++) {
        struct rhost h;
        rc = parse_host(c.hosts[i], &h, err, errlen);
        if (rc != 0) {
            host_fini(&h);
            pb_cfg_strv_free(c.hosts);
            return rc;
        }
        if (i >= first && i < first + count) {
            ro->hosts[ro->nhosts++] = h;
        } else {
            host_fini(&h);
        }
    }
    pb_cfg_strv_free(c.hosts);

    /* key: the `keys` rules, then `key`, else `index` (libbeat sets key
       from index when it is absent) */
    ro->key = pb_outsel_new(cfg, "key", "keys", false, err, errlen);
    if (ro->key == NULL) {
        return -PB_EINVAL;
    }
    if (!pb_cfg_has(cfg, "key")) {
        ro->key_fallback = pb_strdup(index != NULL ? index : "packetbeat");
        if (ro->key_fallback == NULL) {
            snprintf(err, errlen, "out of memory");
            return -PB_ENOMEM;
        }
    }
    ro->key_const =
        pb_outsel_is_const(ro->key) && (pb_cfg_has(cfg, "key") || !pb_cfg_has(cfg, "keys"));

    rc = pb_codec_init(&ro->codec, cfg, false, err, errlen);
    if (rc != 0) {
        return rc;
    }
    o->queue_json = pb_codec_is_plain_json(&ro->codec) && ro->key_const;
    rc = pb_redis_tls_init(&ro->tls, cfg, err, errlen);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < ro->nhosts; i++) {
        if (ro->hosts[i].scheme == 2 && !ro->tls.enabled && ro->tls_def.ctx == NULL) {
            rc = pb_redis_tls_init_default(&ro->tls_def, err, errlen);
            if (rc != 0) {
                return rc;
            }
        }
    }
    if (pb_cfg_has(cfg, "proxy_url")) {
        pb_warn(SEL, "proxy_url is not supported by this build; connecting directly");
    }
    return 0;
}

/* The index fallback when only `keys` is set: the key is the index. */
static int select_key(struct redisout *ro, const json_t *ev, const char *index_fallback)
{
    int rc = pb_outsel_select(ro->key, ev, &ro->kbuf);
    if (rc == 0 && ro->kbuf.len == 0 && index_fallback != NULL) {
        ro->kbuf.len = 0;
        rc = pb_codec_buf_append(&ro->kbuf, index_fallback, strlen(index_fallback) + 1);
        if (rc == 0) {
            ro->kbuf.len--;
        }
    }
    return rc;
}

static int redis_connect(struct pb_output *o)
{
    struct redisout *ro = o->ctx;
    if (ro->nhosts == 0) {
        return -PB_EINVAL;
    }
    const struct rhost *h = &ro->hosts[ro->active];
    if (open_conn(ro, h, false) != 0) {
        pb_error(SEL_PIPE, "Failed to connect to backoff(redis(tcp://%s)): %s", h->display,
                 ro->errmsg);
        ro->active = (ro->active + 1) % ro->nhosts; /* failover: next host */
        return -PB_EIO;
    }
    pb_info(SEL_PIPE, "Connection to backoff(redis(tcp://%s)) established", h->display);
    return 0;
}

/* ---- publish ------------------------------------------------------------------- */

/* The event of an encoding failure, for the event data log only (libbeat's
 * "Failed event" line). */
static void log_failed_event(struct pb_batch *b, size_t i)
{
    if (!pb_log_enabled(PB_LOG_ERROR, SEL)) {
        return;
    }
    size_t jlen = 0;
    const char *js = pb_batch_event_json(b, i, &jlen);
    char *dumped = NULL;
    if (js == NULL) {
        json_t *ev = pb_batch_event(b, i);
        dumped = ev != NULL ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        js = dumped;
        jlen = dumped != NULL ? strlen(dumped) : 0;
    }
    pb_log_event_data(PB_LOG_ERROR, SEL, "Failed event: %.*s", (int)jlen, js != NULL ? js : "");
    free(dumped);
}

static void redis_publish(struct pb_output *o, struct pb_batch *b)
{
    struct redisout *ro = o->ctx;
    size_t n = pb_batch_len(b);
    const char *cmd = ro->channel ? "PUBLISH" : "RPUSH";
    size_t *off = pb_calloc(n + 1, sizeof *off);
    size_t *elen = pb_calloc(n + 1, sizeof *elen);
    size_t *sent = pb_calloc(n + 1, sizeof *sent); /* event index per command */
    size_t *failed = pb_calloc(n + 1, sizeof *failed);
    size_t nsent = 0;
    size_t nfailed = 0;
    size_t given_up = 0;
    size_t confirmed = 0;
    bool io_err = false;

    if (off == NULL || elen == NULL || sent == NULL || failed == NULL) {
        pb_free(off);
        pb_free(elen);
        pb_free(sent);
        pb_free(failed);
        pb_batch_retry(b);
        return;
    }
    if (ro->fd < 0) {
        pb_free(off);
        pb_free(elen);
        pb_free(sent);
        pb_free(failed);
        pb_batch_cancelled(b);
        return;
    }
    /* encode */
    ro->enc.len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = ro->enc.len;
        size_t jlen = 0;
        const char *js =
            pb_codec_is_plain_json(&ro->codec) ? pb_batch_event_json(b, i, &jlen) : NULL;
        int rc = js != NULL ? pb_codec_buf_append(&ro->enc, js, jlen)
                            : pb_codec_encode(&ro->codec, pb_batch_event(b, i), &ro->enc);
        if (rc != 0) {
            pb_error(SEL,
                     "Encoding event failed with error: %s. Check the event_data log "
                     "(configured by logging.event_data.files.path) to view the event",
                     pb_strerror(rc));
            log_failed_event(b, i);
            given_up++;
            continue;
        }
        off[i] = start;
        elen[i] = ro->enc.len - start;
        sent[nsent++] = i;
    }
    size_t nok = nsent;
    size_t nreplies = 0;
    ro->w.len = 0;
    int rc = 0;
    if (nok > 0 && ro->bulk && !ro->channel && ro->key_const) {
        rc = select_key(ro, NULL, ro->key_fallback);
        if (rc == 0) {
            rc = pb_resp_begin(&ro->w, 2 + nok);
        }
        if (rc == 0) {
            rc = pb_resp_arg(&ro->w, cmd, strlen(cmd));
        }
        if (rc == 0) {
            rc = pb_resp_arg(&ro->w, ro->kbuf.p, ro->kbuf.len);
        }
        for (size_t k = 0; k < nok && rc == 0; k++) {
            rc = pb_resp_arg(&ro->w, ro->enc.p + off[sent[k]], elen[sent[k]]);
        }
        nreplies = 1;
    } else if (nok > 0) {
        size_t keep = 0;
        for (size_t k = 0; k < nok && rc == 0; k++) {
            size_t i = sent[k];
            rc = select_key(ro, pb_batch_event(b, i), ro->key_fallback);
            if (rc != 0) {
                break;
            }
            rc = pb_resp_begin(&ro->w, 3);
            if (rc == 0) {
                rc = pb_resp_arg(&ro->w, cmd, strlen(cmd));
            }
            if (rc == 0) {
                rc = pb_resp_arg(&ro->w, ro->kbuf.p, ro->kbuf.len);
            }
            if (rc == 0) {
                rc = pb_resp_arg(&ro->w, ro->enc.p + off[i], elen[i]);
            }
            sent[keep++] = i;
        }
        nsent = keep;
        nreplies = nsent;
    }
    if (rc != 0) {
        pb_error(SEL, "Failed to build the %s command: %s", cmd, pb_strerror(rc));
        pb_free(off);
        pb_free(elen);
        pb_free(sent);
        pb_free(failed);
        pb_batch_retry(b);
        return;
    }
    int64_t deadline = mono_ns() + ro->timeout_ns;
    if (nreplies > 0 && io_write(ro, ro->w.p, ro->w.len, deadline) != 0) {
        io_err = true;
    }
    for (size_t k = 0; k < nreplies && !io_err; k++) {
        struct pb_resp_reply r;
        deadline = mono_ns() + ro->timeout_ns;
        if (next_reply(ro, &r, deadline) != 0) {
            io_err = true;
            break;
        }
        if (r.type == PB_RESP_ERROR) {
            if (nreplies == 1 && ro->bulk && !ro->channel && ro->key_const) {
                pb_error(SEL, "Failed to %s to redis list with: %.*s", cmd, (int)r.len, r.str);
                for (size_t j = 0; j < nsent; j++) {
                    failed[nfailed++] = sent[j];
                }
            } else {
                pb_error(SEL, "Failed to %s event to list with %.*s", cmd, (int)r.len, r.str);
                failed[nfailed++] = sent[k];
            }
        } else {
            confirmed += nreplies == 1 && ro->bulk && !ro->channel && ro->key_const ? nsent : 1;
        }
    }
    if (io_err) {
        pb_error(SEL, "Failed to %s multiple events to list with %s", cmd, ro->errmsg);
        conn_close(ro);
        if (confirmed == 0 && nfailed == 0) {
            pb_free(off);
            pb_free(elen);
            pb_free(sent);
            pb_free(failed);
            pb_batch_cancelled(b); /* the connection went away: no attempt spent */
            return;
        }
        /* the rest of the pipeline was not confirmed */
        bool bulkmode = nreplies == 1;
        if (!bulkmode) {
            for (size_t k = confirmed + nfailed; k < nsent; k++) {
                failed[nfailed++] = sent[k];
            }
        }
    }
    pb_batch_given_up(b, given_up);
    if (nfailed > 0) {
        pb_batch_retry_events(b, failed, nfailed);
    } else {
        pb_batch_ack(b);
    }
    pb_free(off);
    pb_free(elen);
    pb_free(sent);
    pb_free(failed);
}

static void redis_close(struct pb_output *o)
{
    struct redisout *ro = o->ctx;
    if (ro == NULL) {
        return;
    }
    conn_close(ro);
    for (size_t i = 0; i < ro->nhosts; i++) {
        host_fini(&ro->hosts[i]);
    }
    pb_free(ro->hosts);
    ro->hosts = NULL;
    ro->nhosts = 0;
    pb_outsel_free(ro->key);
    ro->key = NULL;
    pb_free(ro->key_fallback);
    ro->key_fallback = NULL;
    pb_free(ro->password);
    ro->password = NULL;
    pb_codec_fini(&ro->codec);
    pb_redis_tls_fini(&ro->tls);
    pb_redis_tls_fini(&ro->tls_def);
    pb_codec_buf_free(&ro->w);
    pb_codec_buf_free(&ro->enc);
    pb_codec_buf_free(&ro->kbuf);
    pb_free(ro->rbuf);
    ro->rbuf = NULL;
}

/* ---- test output -------------------------------------------------------------- */

static void t_line(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_line(int level, const char *fmt, ...)
{
    va_list ap;
    for (int i = 0; i < level; i++) {
        fputs("  ", stdout);
    }
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* libbeat's transport test steps, for each host. */
static int redis_test(struct pb_output *o, char *msg, size_t msglen)
{
    struct redisout *ro = o->ctx;
    int failures = 0;
    for (size_t i = 0; i < ro->nhosts; i++) {
        const struct rhost *h = &ro->hosts[i];
        t_line(0, "redis: %s...\n", h->display);
        t_line(1, "connection...\n");
        t_line(2, "parse host... OK\n");
        struct addrinfo hints;
        struct addrinfo *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        int gai = getaddrinfo(h->host, h->port, &hints, &res);
        if (gai != 0) {
            t_line(2, "dns lookup... ERROR lookup %s: %s\n", h->host, gai_strerror(gai));
            failures++;
            break;
        }
        t_line(2, "dns lookup... OK\n");
        char addrs[512] = "";
        size_t al = 0;
        for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
            char a[NI_MAXHOST];
            if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof a, NULL, 0, NI_NUMERICHOST) ==
                    0 &&
                strstr(addrs, a) == NULL && al + strlen(a) + 3 < sizeof addrs) {
                al += (size_t)snprintf(addrs + al, sizeof addrs - al, "%s%s", al ? ", " : "", a);
            }
        }
        freeaddrinfo(res);
        t_line(2, "addresses: %s\n", addrs);
        int64_t deadline = mono_ns() + ro->timeout_ns;
        int fd = dial(ro, h, deadline);
        if (fd < 0) {
            t_line(2, "dial up... ERROR %s\n", ro->errmsg);
            failures++;
            break;
        }
        close(fd);
        t_line(2, "dial up... OK\n");
        const struct pb_redis_tls *t = host_tls(ro, h);
        if (t == NULL) {
            t_line(1, "TLS... WARN secure connection disabled\n");
        } else {
            t_line(1, "TLS...\n");
            t_line(2, "security: %s\n",
                   t->verify == PB_RTLS_VERIFY_NONE
                       ? "server's certificate chain verification is disabled"
                       : "server's certificate chain verification is enabled");
            ro->fd = dial(ro, h, deadline);
            if (ro->fd < 0 || tls_handshake(ro, t, h, deadline) != 0) {
                t_line(2, "handshake... ERROR %s\n", ro->errmsg);
                conn_close(ro);
                failures++;
                break;
            }
            t_line(2, "handshake... OK\n");
            t_line(2, "TLS version: %s\n", ro->tls_version);
            t_line(2, "dial up... OK\n");
            conn_close(ro);
        }
        if (open_conn(ro, h, true) != 0) {
            t_line(1, "talk to server... ERROR %s\n", ro->errmsg);
            failures++;
            break;
        }
        conn_close(ro);
        t_line(1, "talk to server... OK\n");
    }
    fflush(stdout);
    if (failures > 0) {
        snprintf(msg, msglen, "%s", "");
        return -PB_EIO;
    }
    return 0;
}

const struct pb_output_ops pb_output_redis = {
    .name = "redis",
    .flags = PB_OUTPUT_NET,
    .ctx_size = sizeof(struct redisout),
    .default_bulk_max_size = 2048,
    .default_max_retries = 3,
    .max_inflight = 1,
    .clients = redis_clients,
    .init = redis_init,
    .connect = redis_connect,
    .publish = redis_publish,
    .close = redis_close,
    .test = redis_test,
};
