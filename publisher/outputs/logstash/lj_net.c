/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/logstash/lj_net.c - TCP, SOCKS5 and TLS for the
 * Logstash output (see lj_net.h). Error texts follow Go's net and
 * crypto/tls wording where libbeat shows them to the user.
 */
#include "publisher/outputs/logstash/lj_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"

int64_t pb_lj_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Milliseconds left until deadline for poll(); -1 for none. */
static int ms_left(int64_t deadline_ns)
{
    if (deadline_ns <= 0) {
        return -1;
    }
    int64_t left = deadline_ns - pb_lj_now_ns();
    if (left <= 0) {
        return 0;
    }
    int64_t ms = (left + 999999) / 1000000;
    return ms > 3600000 ? 3600000 : (int)ms;
}

/* Go spells errno texts in lower case ("connection refused"). */
static void errno_text(int e, char *buf, size_t n)
{
    const char *s;
    switch (e) {
    case ECONNREFUSED:
        s = "connection refused";
        break;
    case ECONNRESET:
        s = "connection reset by peer";
        break;
    case EPIPE:
        s = "broken pipe";
        break;
    case ETIMEDOUT:
        s = "i/o timeout";
        break;
    case ENETUNREACH:
        s = "network is unreachable";
        break;
    case EHOSTUNREACH:
        s = "no route to host";
        break;
    default:
        s = strerror(e);
        break;
    }
    snprintf(buf, n, "%s", s);
    if (n > 0 && buf[0] != '\0') {
        buf[0] = (char)tolower((unsigned char)buf[0]);
    }
}

/* ---- hosts ------------------------------------------------------------------- */

static int parse_port(const char *s, size_t n, int *port)
{
    if (n == 0 || n > 5) {
        return -PB_EINVAL;
    }
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -PB_EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) {
        return -PB_EINVAL;
    }
    *port = v;
    return 0;
}

int pb_lj_split_host(const char *in, int defport, char *host, size_t hostlen, int *port, char *full,
                     size_t fulllen)
{
    size_t len = strlen(in);
    const char *h = in;
    size_t hl = len;
    *port = defport;
    if (len == 0) {
        return -PB_EINVAL;
    }
    if (in[0] == '[') {
        const char *rb = memchr(in, ']', len);
        if (rb == NULL) {
            return -PB_EINVAL;
        }
        h = in + 1;
        hl = (size_t)(rb - h);
        const char *rest = rb + 1;
        if (*rest == ':') {
            if (parse_port(rest + 1, strlen(rest + 1), port) != 0) {
                return -PB_EINVAL;
            }
        } else if (*rest != '\0') {
            return -PB_EINVAL;
        }
    } else {
        const char *c1 = strchr(in, ':');
        const char *c2 = strrchr(in, ':');
        if (c1 != NULL && c1 == c2) {
            hl = (size_t)(c1 - in);
            if (parse_port(c1 + 1, strlen(c1 + 1), port) != 0) {
                return -PB_EINVAL;
            }
        }
        /* more than one colon: a bare IPv6 address, default port */
    }
    if (hl == 0 || hl >= hostlen) {
        return -PB_EINVAL;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (memchr(host, ':', hl) != NULL) {
        snprintf(full, fulllen, "[%s]:%d", host, *port);
    } else {
        snprintf(full, fulllen, "%s:%d", host, *port);
    }
    return 0;
}

static bool is_ip(const char *host)
{
    unsigned char b[16];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

/* ---- TLS config ----------------------------------------------------------------- */

const char *pb_lj_tls_version_name(int version)
{
    switch (version) {
    case TLS1_VERSION:
        return "TLSv1.0";
    case TLS1_1_VERSION:
        return "TLSv1.1";
    case TLS1_2_VERSION:
        return "TLSv1.2";
    case TLS1_3_VERSION:
        return "TLSv1.3";
    default:
        return "unknown";
    }
}

static int tls_version_of(const char *s)
{
    if (strcmp(s, "TLSv1.0") == 0 || strcmp(s, "TLSv1") == 0) {
        return TLS1_VERSION;
    }
    if (strcmp(s, "TLSv1.1") == 0) {
        return TLS1_1_VERSION;
    }
    if (strcmp(s, "TLSv1.2") == 0) {
        return TLS1_2_VERSION;
    }
    if (strcmp(s, "TLSv1.3") == 0) {
        return TLS1_3_VERSION;
    }
    return 0;
}

static bool is_pem(const char *s)
{
    return strncmp(s, "-----BEGIN", 10) == 0;
}

static BIO *open_pem(const char *s)
{
    return is_pem(s) ? BIO_new_mem_buf(s, -1) : BIO_new_file(s, "r");
}

static void ssl_errtext(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, n, "unknown error");
        return;
    }
    ERR_error_string_n(e, buf, n);
    ERR_clear_error();
}

static int load_cas(SSL_CTX *ctx, char **cas, size_t n, char *err, size_t errlen)
{
    X509_STORE *st = SSL_CTX_get_cert_store(ctx);
    for (size_t i = 0; i < n; i++) {
        BIO *b = open_pem(cas[i]);
        if (b == NULL) {
            snprintf(err, errlen, "failed reading CA certificate: open %s: %s", cas[i],
                     strerror(errno));
            ERR_clear_error();
            return -PB_EINVAL;
        }
        size_t added = 0;
        X509 *x;
        while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            X509_STORE_add_cert(st, x);
            X509_free(x);
            added++;
        }
        ERR_clear_error();
        BIO_free(b);
        if (added == 0) {
            snprintf(err, errlen, "failed reading CA certificate: %s: no certificate found",
                     is_pem(cas[i]) ? "(inline)" : cas[i]);
            return -PB_EINVAL;
        }
    }
    return 0;
}

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *p = u;
    if (p == NULL) {
        return 0;
    }
    size_t l = strlen(p);
    if (l > (size_t)size) {
        l = (size_t)size;
    }
    memcpy(buf, p, l);
    return (int)l;
}

static int load_keypair(SSL_CTX *ctx, const char *cert, const char *key, const char *pass,
                        char *err, size_t errlen)
{
    char e[256];
    BIO *b = open_pem(cert);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
        ssl_errtext(e, sizeof e);
        snprintf(err, errlen, "failed loading client certificate %s: %s",
                 is_pem(cert) ? "(inline)" : cert, b == NULL ? strerror(errno) : e);
        X509_free(x);
        BIO_free(b);
        return -PB_EINVAL;
    }
    X509_free(x);
    /* the rest of the chain */
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        SSL_CTX_add_extra_chain_cert(ctx, x); /* takes x */
    }
    ERR_clear_error();
    BIO_free(b);
    b = open_pem(key);
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, pass_cb, (void *)pass) : NULL;
    if (k == NULL || SSL_CTX_use_PrivateKey(ctx, k) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ssl_errtext(e, sizeof e);
        snprintf(err, errlen, "failed loading client key %s: %s", is_pem(key) ? "(inline)" : key,
                 b == NULL ? strerror(errno) : e);
        EVP_PKEY_free(k);
        BIO_free(b);
        return -PB_EINVAL;
    }
    EVP_PKEY_free(k);
    BIO_free(b);
    return 0;
}

int pb_lj_tls_init(struct pb_lj_tls *t, const struct pb_cfg *node, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    const struct pb_cfg *ssl = pb_cfg_get(node, "ssl");
    if (ssl == NULL || ssl->kind == PB_CFG_NULL) {
        return 0;
    }
    bool enabled = true;
    const char *mode = "full";
    const char *cert = NULL;
    const char *key = NULL;
    const char *pass = NULL;
    char **protos = NULL;
    size_t nprotos = 0;
    char **cas = NULL;
    size_t ncas = 0;
    int rc = -PB_EINVAL;
    if (pb_cfg_bool(ssl, "enabled", true, &enabled) != 0 ||
        pb_cfg_str(ssl, "verification_mode", "full", &mode) != 0 ||
        pb_cfg_str(ssl, "certificate", NULL, &cert) != 0 ||
        pb_cfg_str(ssl, "key", NULL, &key) != 0 ||
        pb_cfg_str(ssl, "key_passphrase", NULL, &pass) != 0 ||
        pb_cfg_strv(ssl, "supported_protocols", &protos, &nprotos) != 0 ||
        pb_cfg_strv(ssl, "certificate_authorities", &cas, &ncas) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        goto out;
    }
    if (!enabled) {
        rc = 0;
        goto out;
    }
    if (strcmp(mode, "full") == 0 || mode[0] == '\0') {
        t->verify = PB_LJ_VERIFY_FULL;
    } else if (strcmp(mode, "strict") == 0) {
        t->verify = PB_LJ_VERIFY_STRICT;
    } else if (strcmp(mode, "certificate") == 0) {
        t->verify = PB_LJ_VERIFY_CERTIFICATE;
    } else if (strcmp(mode, "none") == 0) {
        t->verify = PB_LJ_VERIFY_NONE;
    } else {
        char path[256];
        pb_cfg_path(ssl, path, sizeof path);
        snprintf(err, errlen, "unknown verification mode '%s' accessing '%s.verification_mode'",
                 mode, path);
        goto out;
    }
    int minv = TLS1_2_VERSION;
    int maxv = TLS1_3_VERSION;
    if (nprotos > 0) {
        minv = TLS1_3_VERSION;
        maxv = TLS1_VERSION;
        for (size_t i = 0; i < nprotos; i++) {
            int v = tls_version_of(protos[i]);
            if (v == 0) {
                char path[256];
                pb_cfg_path(ssl, path, sizeof path);
                snprintf(err, errlen, "invalid tls version '%s' accessing '%s.supported_protocols'",
                         protos[i], path);
                goto out;
            }
            minv = v < minv ? v : minv;
            maxv = v > maxv ? v : maxv;
        }
    }
    if ((cert != NULL && cert[0] != '\0') != (key != NULL && key[0] != '\0')) {
        snprintf(err, errlen,
                 (cert != NULL && cert[0] != '\0') ? "key file not configured"
                                                   : "certificate file not configured");
        goto out;
    }
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        snprintf(err, errlen, "cannot create a TLS context");
        goto out;
    }
    SSL_CTX_set_min_proto_version(t->ctx, minv);
    SSL_CTX_set_max_proto_version(t->ctx, maxv);
    if (minv < TLS1_2_VERSION) {
        /* old protocols need the legacy security level */
        SSL_CTX_set_security_level(t->ctx, 0);
    }
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ncas > 0) {
        if (load_cas(t->ctx, cas, ncas, err, errlen) != 0) {
            goto out;
        }
    } else {
        SSL_CTX_set_default_verify_paths(t->ctx);
    }
    if (cert != NULL && cert[0] != '\0' &&
        load_keypair(t->ctx, cert, key, pass, err, errlen) != 0) {
        goto out;
    }
    SSL_CTX_set_verify(t->ctx, t->verify == PB_LJ_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    rc = 0;
out:
    pb_cfg_strv_free(protos);
    pb_cfg_strv_free(cas);
    if (rc != 0) {
        pb_lj_tls_fini(t);
    }
    return rc;
}

void pb_lj_tls_fini(struct pb_lj_tls *t)
{
    if (t->ctx != NULL) {
        SSL_CTX_free(t->ctx);
    }
    pb_free(t->server_name);
    memset(t, 0, sizeof *t);
}

/* ---- proxy ------------------------------------------------------------------ */

int pb_lj_proxy_init(struct pb_lj_proxy *p, const struct pb_cfg *node, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    const char *url = NULL;
    bool local = false;
    if (pb_cfg_str(node, "proxy_url", NULL, &url) != 0 ||
        pb_cfg_bool(node, "proxy_use_local_resolver", false, &local) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (url == NULL || url[0] == '\0') {
        return 0;
    }
    const char *rest;
    if (strncmp(url, "socks5://", 9) == 0) {
        rest = url + 9;
    } else {
        const char *colon = strstr(url, "://");
        snprintf(err, errlen, "unsupported proxy scheme: %.*s",
                 colon != NULL ? (int)(colon - url) : (int)strlen(url), url);
        return -PB_EINVAL;
    }
    const char *at = strrchr(rest, '@');
    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        size_t ul = (size_t)((colon != NULL ? colon : at) - rest);
        if (ul >= sizeof p->user) {
            snprintf(err, errlen, "proxy_url: user name too long");
            return -PB_EINVAL;
        }
        memcpy(p->user, rest, ul);
        p->user[ul] = '\0';
        if (colon != NULL) {
            size_t pl = (size_t)(at - colon - 1);
            if (pl >= sizeof p->pass) {
                snprintf(err, errlen, "proxy_url: password too long");
                return -PB_EINVAL;
            }
            memcpy(p->pass, colon + 1, pl);
            p->pass[pl] = '\0';
        }
        rest = at + 1;
    }
    char hp[PB_LJ_HOST_MAX + 16];
    size_t hl = strcspn(rest, "/");
    if (hl >= sizeof hp) {
        snprintf(err, errlen, "proxy_url: host too long");
        return -PB_EINVAL;
    }
    memcpy(hp, rest, hl);
    hp[hl] = '\0';
    char full[PB_LJ_HOST_MAX + 16];
    if (pb_lj_split_host(hp, 1080, p->host, sizeof p->host, &p->port, full, sizeof full) != 0) {
        snprintf(err, errlen, "parse \"%s\": invalid proxy address", url);
        return -PB_EINVAL;
    }
    p->on = true;
    p->local_resolve = local;
    return 0;
}

/* ---- dialing ---------------------------------------------------------------- */

int pb_lj_resolve(const char *host, char (*addrs)[PB_LJ_HOST_MAX], size_t max, size_t *n, char *err,
                  size_t errlen)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    *n = 0;
    int gr = getaddrinfo(host, NULL, &hints, &res);
    if (gr != 0) {
        snprintf(err, errlen, "lookup %s: %s", host,
                 gr == EAI_NONAME || gr == EAI_NODATA ? "no such host" : gai_strerror(gr));
        return -PB_EIO;
    }
    for (struct addrinfo *ai = res; ai != NULL && *n < max; ai = ai->ai_next) {
        char buf[PB_LJ_HOST_MAX];
        const void *a = ai->ai_family == AF_INET6
                            ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
                            : (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        if (inet_ntop(ai->ai_family, a, buf, sizeof buf) == NULL) {
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < *n; i++) {
            dup = dup || strcmp(addrs[i], buf) == 0;
        }
        if (!dup) {
            snprintf(addrs[(*n)++], PB_LJ_HOST_MAX, "%s", buf);
        }
    }
    freeaddrinfo(res);
    if (*n == 0) {
        snprintf(err, errlen, "lookup %s: no such host", host);
        return -PB_EIO;
    }
    return 0;
}

static int dial_one(const char *addr, int port, int64_t timeout_ns, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    bool v6 = strchr(addr, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        sl = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &s4->sin_addr);
        sl = sizeof *s4;
    }
    char where[PB_LJ_HOST_MAX + 16];
    snprintf(where, sizeof where, v6 ? "[%s]:%d" : "%s:%d", addr, port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        char e[128];
        errno_text(errno, e, sizeof e);
        snprintf(err, errlen, "dial tcp %s: socket: %s", where, e);
        return -PB_EIO;
    }
    int64_t deadline = timeout_ns > 0 ? pb_lj_now_ns() + timeout_ns : 0;
    int rc = connect(fd, (struct sockaddr *)&ss, sl);
    int e = rc == 0 ? 0 : errno;
    if (rc != 0 && e == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int pr;
        do {
            pr = poll(&p, 1, ms_left(deadline));
        } while (pr < 0 && errno == EINTR);
        if (pr == 0) {
            e = ETIMEDOUT;
        } else {
            socklen_t el = sizeof e;
            e = 0;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        }
    }
    if (e != 0) {
        char et[128];
        errno_text(e, et, sizeof et);
        if (e == ETIMEDOUT) {
            snprintf(err, errlen, "dial tcp %s: i/o timeout", where);
        } else {
            snprintf(err, errlen, "dial tcp %s: connect: %s", where, et);
        }
        close(fd);
        return -PB_EIO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    return fd;
}

int pb_lj_dial_addrs(char (*addrs)[PB_LJ_HOST_MAX], size_t n, int port, int64_t timeout_ns,
                     char *err, size_t errlen)
{
    /* libbeat tries the addresses in random order */
    size_t start = n > 1 ? (size_t)((unsigned)pb_lj_now_ns() % n) : 0;
    int fd = -PB_EIO;
    for (size_t k = 0; k < n; k++) {
        fd = dial_one(addrs[(start + k) % n], port, timeout_ns, err, errlen);
        if (fd >= 0) {
            return fd;
        }
    }
    return fd;
}

static int io_full(int fd, void *buf, size_t len, bool wr, int64_t deadline)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t k = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (k > 0) {
            p += k;
            len -= (size_t)k;
            continue;
        }
        if (k == 0 && !wr) {
            return -1;
        }
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
        struct pollfd pf = {.fd = fd, .events = wr ? POLLOUT : POLLIN};
        int pr = poll(&pf, 1, ms_left(deadline));
        if (pr == 0) {
            return -2;
        }
    }
    return 0;
}

int pb_lj_socks5(int fd, const struct pb_lj_proxy *p, const char *host, int port,
                 int64_t timeout_ns, char *err, size_t errlen)
{
    int64_t deadline = timeout_ns > 0 ? pb_lj_now_ns() + timeout_ns : 0;
    uint8_t b[600];
    size_t n = 0;
    bool auth = p->user[0] != '\0';
    b[n++] = 5;
    b[n++] = auth ? 2 : 1;
    b[n++] = 0;
    if (auth) {
        b[n++] = 2;
    }
    if (io_full(fd, b, n, true, deadline) != 0 || io_full(fd, b, 2, false, deadline) != 0) {
        snprintf(err, errlen, "socks connect tcp %s:%d->%s:%d: i/o error", p->host, p->port, host,
                 port);
        return -PB_EIO;
    }
    if (b[0] != 5 || (b[1] != 0 && !(auth && b[1] == 2))) {
        snprintf(err, errlen,
                 "socks connect tcp %s:%d->%s:%d: no acceptable authentication methods", p->host,
                 p->port, host, port);
        return -PB_EIO;
    }
    if (b[1] == 2) {
        size_t ul = strlen(p->user);
        size_t pl = strlen(p->pass);
        n = 0;
        b[n++] = 1;
        b[n++] = (uint8_t)ul;
        memcpy(b + n, p->user, ul);
        n += ul;
        b[n++] = (uint8_t)pl;
        memcpy(b + n, p->pass, pl);
        n += pl;
        if (io_full(fd, b, n, true, deadline) != 0 || io_full(fd, b, 2, false, deadline) != 0 ||
            b[1] != 0) {
            snprintf(err, errlen,
                     "socks connect tcp %s:%d->%s:%d: username/password authentication failed",
                     p->host, p->port, host, port);
            return -PB_EIO;
        }
    }
    n = 0;
    b[n++] = 5;
    b[n++] = 1; /* CONNECT */
    b[n++] = 0;
    unsigned char ip[16];
    char addrs[1][PB_LJ_HOST_MAX];
    const char *target = host;
    if (p->local_resolve && !is_ip(host)) {
        size_t na = 0;
        if (pb_lj_resolve(host, addrs, 1, &na, err, errlen) != 0) {
            return -PB_EIO;
        }
        target = addrs[0];
    }
    if (inet_pton(AF_INET, target, ip) == 1) {
        b[n++] = 1;
        memcpy(b + n, ip, 4);
        n += 4;
    } else if (inet_pton(AF_INET6, target, ip) == 1) {
        b[n++] = 4;
        memcpy(b + n, ip, 16);
        n += 16;
    } else {
        size_t hl = strlen(target);
        if (hl > 255) {
            snprintf(err, errlen, "socks connect: host name too long");
            return -PB_EIO;
        }
        b[n++] = 3;
        b[n++] = (uint8_t)hl;
        memcpy(b + n, target, hl);
        n += hl;
    }
    b[n++] = (uint8_t)(port >> 8);
    b[n++] = (uint8_t)port;
    if (io_full(fd, b, n, true, deadline) != 0 || io_full(fd, b, 4, false, deadline) != 0) {
        snprintf(err, errlen, "socks connect tcp %s:%d->%s:%d: i/o error", p->host, p->port, host,
                 port);
        return -PB_EIO;
    }
    if (b[0] != 5 || b[1] != 0) {
        static const char *const why[] = {
            "succeeded",
            "general SOCKS server failure",
            "connection not allowed by ruleset",
            "network unreachable",
            "host unreachable",
            "connection refused",
            "TTL expired",
            "command not supported",
            "address type not supported",
        };
        snprintf(err, errlen, "socks connect tcp %s:%d->%s:%d: unknown error %s", p->host, p->port,
                 host, port, b[1] < 9 ? why[b[1]] : "unknown code");
        return -PB_EIO;
    }
    size_t skip = b[3] == 1 ? 4 : b[3] == 4 ? 16 : 0;
    if (b[3] == 3) {
        if (io_full(fd, b, 1, false, deadline) != 0) {
            snprintf(err, errlen, "socks connect: i/o error");
            return -PB_EIO;
        }
        skip = b[0];
    }
    if (io_full(fd, b, skip + 2, false, deadline) != 0) {
        snprintf(err, errlen, "socks connect: i/o error");
        return -PB_EIO;
    }
    return 0;
}

/* ---- connections ---------------------------------------------------------- */

static void conn_init(struct pb_lj_conn *c, int fd)
{
    if (!c->mu_init) {
        pthread_mutex_init(&c->mu, NULL);
        c->mu_init = true;
    }
    c->fd = fd;
    c->ssl = NULL;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) {
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
}

int pb_lj_conn_plain(struct pb_lj_conn *c, int fd)
{
    conn_init(c, fd);
    return 0;
}

static void verify_text(long vr, const char *host, char *err, size_t errlen)
{
    switch (vr) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        snprintf(err, errlen, "x509: certificate signed by unknown authority");
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(err, errlen, "x509: certificate is not valid for %s", host);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        snprintf(err, errlen, "x509: certificate has expired or is not yet valid");
        break;
    default:
        snprintf(err, errlen, "x509: %s", X509_verify_cert_error_string(vr));
        break;
    }
}

int pb_lj_tls_handshake(struct pb_lj_conn *c, int fd, const struct pb_lj_tls *t, const char *host,
                        int64_t timeout_ns, int *version, char *err, size_t errlen)
{
    conn_init(c, fd);
    SSL *s = SSL_new(t->ctx);
    if (s == NULL) {
        snprintf(err, errlen, "cannot create a TLS session");
        pb_lj_conn_close(c);
        return -PB_EIO;
    }
    c->ssl = s;
    SSL_set_fd(s, fd);
    bool ip = is_ip(host);
    if (!ip) {
        SSL_set_tlsext_host_name(s, host);
    }
    if (t->verify == PB_LJ_VERIFY_FULL || t->verify == PB_LJ_VERIFY_STRICT) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(s);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        if (ip) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        } else {
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
        }
    }
    int64_t deadline = timeout_ns > 0 ? pb_lj_now_ns() + timeout_ns : 0;
    ERR_clear_error();
    for (;;) {
        errno = 0;
        int r = SSL_connect(s);
        if (r == 1) {
            break;
        }
        int e = SSL_get_error(s, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev != 0) {
            struct pollfd p = {.fd = fd, .events = ev};
            int pr = poll(&p, 1, ms_left(deadline));
            if (pr == 0) {
                snprintf(err, errlen, "i/o timeout");
                pb_lj_conn_close(c);
                return -PB_EIO;
            }
            continue;
        }
        long vr = SSL_get_verify_result(s);
        if (vr != X509_V_OK && t->verify != PB_LJ_VERIFY_NONE) {
            verify_text(vr, host, err, errlen);
        } else if (ERR_peek_error() != 0) {
            char et[256];
            ssl_errtext(et, sizeof et);
            if (strstr(et, "alert") != NULL) {
                snprintf(err, errlen, "remote error: tls: %s", et);
            } else {
                snprintf(err, errlen, "tls: %s", et);
            }
        } else if (e == SSL_ERROR_SYSCALL && errno != 0) {
            char et[128];
            errno_text(errno, et, sizeof et);
            snprintf(err, errlen, "read tcp: %s", et);
        } else {
            snprintf(err, errlen, "EOF");
        }
        ERR_clear_error();
        pb_lj_conn_close(c);
        return -PB_EIO;
    }
    if (version != NULL) {
        *version = SSL_version(s);
    }
    return 0;
}

int pb_lj_conn_open(struct pb_lj_conn *c, const char *host, int port, const struct pb_lj_tls *t,
                    const struct pb_lj_proxy *p, int64_t timeout_ns, char *err, size_t errlen)
{
    char addrs[PB_LJ_MAX_ADDRS][PB_LJ_HOST_MAX];
    size_t n = 0;
    int fd;
    c->fd = -1;
    if (p != NULL && p->on) {
        if (pb_lj_resolve(p->host, addrs, PB_LJ_MAX_ADDRS, &n, err, errlen) != 0) {
            return -PB_EIO;
        }
        fd = pb_lj_dial_addrs(addrs, n, p->port, timeout_ns, err, errlen);
        if (fd < 0) {
            return -PB_EIO;
        }
        if (pb_lj_socks5(fd, p, host, port, timeout_ns, err, errlen) != 0) {
            close(fd);
            return -PB_EIO;
        }
    } else {
        if (pb_lj_resolve(host, addrs, PB_LJ_MAX_ADDRS, &n, err, errlen) != 0) {
            return -PB_EIO;
        }
        fd = pb_lj_dial_addrs(addrs, n, port, timeout_ns, err, errlen);
        if (fd < 0) {
            return -PB_EIO;
        }
    }
    if (t != NULL && t->ctx != NULL) {
        return pb_lj_tls_handshake(c, fd, t, host, timeout_ns, NULL, err, errlen);
    }
    return pb_lj_conn_plain(c, fd);
}

int pb_lj_conn_write(struct pb_lj_conn *c, const void *buf, size_t len, int64_t deadline_ns,
                     char *err, size_t errlen)
{
    const uint8_t *p = buf;
    while (len > 0) {
        short want = 0;
        int e = 0;
        pthread_mutex_lock(&c->mu);
        if (c->fd < 0) {
            pthread_mutex_unlock(&c->mu);
            snprintf(err, errlen, "connection closed");
            return -PB_EIO;
        }
        if (c->ssl != NULL) {
            ERR_clear_error();
            errno = 0;
            int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
            int r = SSL_write(c->ssl, p, chunk);
            if (r > 0) {
                p += r;
                len -= (size_t)r;
            } else {
                int se = SSL_get_error(c->ssl, r);
                if (se == SSL_ERROR_WANT_WRITE) {
                    want = POLLOUT;
                } else if (se == SSL_ERROR_WANT_READ) {
                    want = POLLIN;
                } else {
                    e = errno != 0 ? errno : EPIPE;
                }
                ERR_clear_error();
            }
        } else {
            ssize_t r = send(c->fd, p, len, MSG_NOSIGNAL);
            if (r > 0) {
                p += r;
                len -= (size_t)r;
            } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
                want = POLLOUT;
            } else {
                e = r < 0 ? errno : EPIPE;
            }
        }
        int fd = c->fd;
        pthread_mutex_unlock(&c->mu);
        if (e != 0) {
            char et[128];
            errno_text(e, et, sizeof et);
            snprintf(err, errlen, "write tcp: %s", et);
            return -PB_EIO;
        }
        if (want != 0) {
            struct pollfd pf = {.fd = fd, .events = want};
            int pr = poll(&pf, 1, ms_left(deadline_ns));
            if (pr == 0) {
                snprintf(err, errlen, "write tcp: i/o timeout");
                return -PB_EIO;
            }
        }
    }
    return 0;
}

int pb_lj_conn_read(struct pb_lj_conn *c, void *buf, size_t cap, int64_t wait_ns, char *err,
                    size_t errlen)
{
    int64_t deadline = pb_lj_now_ns() + (wait_ns > 0 ? wait_ns : 0);
    short want = POLLIN;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int fd = c->fd;
        bool pending = c->ssl != NULL && SSL_pending(c->ssl) > 0;
        pthread_mutex_unlock(&c->mu);
        if (fd < 0) {
            snprintf(err, errlen, "connection closed");
            return -2;
        }
        if (!pending) {
            struct pollfd pf = {.fd = fd, .events = want};
            int pr = poll(&pf, 1, ms_left(deadline));
            if (pr == 0) {
                return 0;
            }
            if (pr < 0 && errno == EINTR) {
                continue;
            }
        }
        pthread_mutex_lock(&c->mu);
        if (c->fd < 0) {
            pthread_mutex_unlock(&c->mu);
            snprintf(err, errlen, "connection closed");
            return -2;
        }
        int e = 0;
        int got = 0;
        want = 0;
        if (c->ssl != NULL) {
            ERR_clear_error();
            errno = 0;
            int chunk = cap > (1u << 30) ? (1 << 30) : (int)cap;
            int r = SSL_read(c->ssl, buf, chunk);
            if (r > 0) {
                got = r;
            } else {
                int se = SSL_get_error(c->ssl, r);
                if (se == SSL_ERROR_WANT_READ) {
                    want = POLLIN;
                } else if (se == SSL_ERROR_WANT_WRITE) {
                    want = POLLOUT;
                } else if (se == SSL_ERROR_ZERO_RETURN ||
                           (se == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)) {
                    got = -1;
                } else {
                    e = errno != 0 ? errno : ECONNRESET;
                }
                ERR_clear_error();
            }
        } else {
            ssize_t r = recv(c->fd, buf, cap, 0);
            if (r > 0) {
                got = (int)r;
            } else if (r == 0) {
                got = -1;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                want = POLLIN;
            } else {
                e = errno;
            }
        }
        pthread_mutex_unlock(&c->mu);
        if (got > 0) {
            return got;
        }
        if (got < 0) {
            snprintf(err, errlen, "EOF");
            return -1;
        }
        if (e != 0) {
            char et[128];
            errno_text(e, et, sizeof et);
            snprintf(err, errlen, "read tcp: %s", et);
            return -2;
        }
        if (pb_lj_now_ns() >= deadline) {
            return 0;
        }
    }
}

void pb_lj_conn_shutdown(struct pb_lj_conn *c)
{
    if (c->mu_init) {
        pthread_mutex_lock(&c->mu);
        if (c->fd >= 0) {
            shutdown(c->fd, SHUT_RDWR);
        }
        pthread_mutex_unlock(&c->mu);
    }
}

void pb_lj_conn_close(struct pb_lj_conn *c)
{
    if (c->mu_init) {
        pthread_mutex_lock(&c->mu);
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->mu_init) {
        pthread_mutex_unlock(&c->mu);
    }
}
