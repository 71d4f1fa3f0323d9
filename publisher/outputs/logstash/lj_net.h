/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/logstash/lj_net.h - the transport under the Logstash
 * output (libbeat transport.Client): host:port parsing with a default port,
 * TCP dial with a timeout over every resolved address, an optional SOCKS5
 * proxy (proxy_url), TLS through OpenSSL with libbeat's `ssl.*` settings,
 * and a connection that one writer thread and one reader thread may use at
 * once (non-blocking socket; every OpenSSL call under the connection's
 * mutex).
 */
#ifndef PB_LJ_NET_H
#define PB_LJ_NET_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"

#define PB_LJ_HOST_MAX 256
#define PB_LJ_MAX_ADDRS 16

/* "host", "host:port", "[v6]:port" or a bare IPv6 address; host without
   brackets into host, the port (defport when none) into *port and the
   joined form ("host:port", "[v6]:port") into full. 0 or -PB_EINVAL. */
int pb_lj_split_host(const char *in, int defport, char *host, size_t hostlen, int *port, char *full,
                     size_t fulllen);

enum pb_lj_verify {
    PB_LJ_VERIFY_FULL = 0,
    PB_LJ_VERIFY_STRICT,
    PB_LJ_VERIFY_CERTIFICATE,
    PB_LJ_VERIFY_NONE,
};

/* `ssl.*` of one output; NULL ctx when TLS is off. */
struct pb_lj_tls {
    SSL_CTX *ctx; /* owned */
    enum pb_lj_verify verify;
    char *server_name; /* owned: ssl.server_name? unused when NULL */
};

/* Reads ssl.* below node and builds the context (TLS on when an `ssl`
   section exists and ssl.enabled is not false). 0 or -PB_EINVAL with a
   message. */
int pb_lj_tls_init(struct pb_lj_tls *t, const struct pb_cfg *node, char *err, size_t errlen);
void pb_lj_tls_fini(struct pb_lj_tls *t);
/* "TLSv1.3", ... */
const char *pb_lj_tls_version_name(int version);

/* proxy_url: socks5://[user[:pass]@]host[:port] */
struct pb_lj_proxy {
    bool on;
    char host[PB_LJ_HOST_MAX];
    int port;
    char user[256];
    char pass[256];
    bool local_resolve; /* proxy_use_local_resolver */
};
int pb_lj_proxy_init(struct pb_lj_proxy *p, const struct pb_cfg *node, char *err, size_t errlen);

/* ---- dialing, step by step (the `test output` report shows each step) -- */

/* Resolves host; text forms of up to max addresses into addrs (each
   PB_LJ_HOST_MAX), the count into *n. 0 or -PB_EIO with Go's wording. */
int pb_lj_resolve(const char *host, char (*addrs)[PB_LJ_HOST_MAX], size_t max, size_t *n, char *err,
                  size_t errlen);
/* Connects to the first address that answers within timeout_ns; the fd
   (blocking) or -PB_EIO with "dial tcp ADDR:PORT: connect: ..." in err. */
int pb_lj_dial_addrs(char (*addrs)[PB_LJ_HOST_MAX], size_t n, int port, int64_t timeout_ns,
                     char *err, size_t errlen);
/* SOCKS5 CONNECT through an fd already connected to the proxy. */
int pb_lj_socks5(int fd, const struct pb_lj_proxy *p, const char *host, int port,
                 int64_t timeout_ns, char *err, size_t errlen);

struct pb_lj_conn {
    int fd; /* -1: closed */
    SSL *ssl;
    pthread_mutex_t mu; /* OpenSSL calls */
    bool mu_init;
};

/* TLS handshake on a connected fd (taken by c on success and failure). 0
   or -PB_EIO with the error in err; *version gets the TLS version. */
int pb_lj_tls_handshake(struct pb_lj_conn *c, int fd, const struct pb_lj_tls *t, const char *host,
                        int64_t timeout_ns, int *version, char *err, size_t errlen);
/* Plain connection over a connected fd (taken). */
int pb_lj_conn_plain(struct pb_lj_conn *c, int fd);
/* Whole dial: resolve (unless proxied), connect, SOCKS5, TLS. */
int pb_lj_conn_open(struct pb_lj_conn *c, const char *host, int port, const struct pb_lj_tls *t,
                    const struct pb_lj_proxy *p, int64_t timeout_ns, char *err, size_t errlen);

/* Writes all of buf before deadline (monotonic ns; 0 none). 0, or
   -PB_EIO (error or timeout: the message in err). */
int pb_lj_conn_write(struct pb_lj_conn *c, const void *buf, size_t len, int64_t deadline_ns,
                     char *err, size_t errlen);
/* Reads what is there, waiting up to wait_ns: >0 bytes, 0 nothing yet
   (time is up), -1 EOF, -2 error (message in err). */
int pb_lj_conn_read(struct pb_lj_conn *c, void *buf, size_t cap, int64_t wait_ns, char *err,
                    size_t errlen);
/* Wakes a reader and stops further I/O (shutdown), keeps the fd. */
void pb_lj_conn_shutdown(struct pb_lj_conn *c);
/* Frees everything; c->fd is -1 after. */
void pb_lj_conn_close(struct pb_lj_conn *c);

int64_t pb_lj_now_ns(void);

#endif
