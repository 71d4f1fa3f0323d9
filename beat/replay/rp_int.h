/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/rp_int.h - what the replay driver (replay.c), the event loader
 * (rp_load.c) and the protocol clients (rp_http.c, rp_redis.c, rp_mysql.c,
 * rp_pgsql.c) share.
 */
#ifndef PB_REPLAY_INT_H
#define PB_REPLAY_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* requests loaded from the input at most (more are counted, not kept) */
#define RP_MAX_REQUESTS 1000000u
/* one NDJSON line at most */
#define RP_MAX_LINE (64u * 1024u * 1024u)
/* a response kept for comparison / read from a wire client at most */
#define RP_MAX_BODY (16u * 1024u * 1024u)
/* header rewrites, filters */
#define RP_MAX_RULES 64u
/* Redis arguments per command, nesting of a Redis reply */
#define RP_MAX_ARGS 4096u
#define RP_MAX_DEPTH 16u

enum rp_proto { RP_HTTP, RP_REDIS, RP_MYSQL, RP_PGSQL };

struct rp_target {
    enum rp_proto proto;
    char scheme[16];
    char host[256];
    uint16_t port;
    char user[128], pass[256], db[128];
    char base[512]; /* http: scheme://host:port, no trailing slash */
};

/* What a response said, recorded or replayed. */
struct rp_result {
    bool have;        /* there is a response */
    int status;       /* HTTP status code; 0 none */
    bool error;       /* Packetbeat status != OK; a SQL or Redis error */
    int64_t size;     /* HTTP body bytes, SQL rows returned; -1 unknown */
    int64_t affected; /* MySQL/PgSQL rows changed; -1 unknown */
    char *code;       /* SQL error code ("1046", "42P01"); owned, NULL none */
    char *body;       /* HTTP body, Redis value, SQL error text; owned, NULL none */
    size_t body_len;
    int64_t dur_ns; /* latency; -1 unknown */
    char *fail;     /* replay only: why no response came (owned) */
};

struct rp_req {
    size_t idx;     /* position in the input (1-based line of a kept event) */
    uint64_t ts_ns; /* event.start / @timestamp */
    char *label;    /* "GET /x", "SET", "select ..." (owned, short) */
    char *verb;     /* HTTP method, Redis command (upper case), SQL verb */
    /* http */
    char *target;   /* path?query */
    char **headers; /* "Name: value" (owned) */
    size_t nheaders;
    char *body;
    size_t body_len;
    /* redis */
    char **argv;
    size_t *argl;
    size_t argc;
    /* mysql, pgsql */
    char *query;
    struct rp_result rec, got;
};

struct rp_opts {
    struct rp_target t;
    const char *headers[RP_MAX_RULES]; /* --header "Name: value" / "Name:" */
    size_t nheaders;
    long timeout_ms;
    bool compare_body;
};

/* A protocol client; one per worker, used by one thread. */
struct rp_client_ops {
    void *(*open)(const struct rp_opts *o, char *err, size_t errlen);
    /* Sends r and fills r->got (have, status/error/size/body, dur_ns);
     * on a transport failure r->got.fail is set and the client reconnects
     * on the next call. */
    void (*send)(void *cl, const struct rp_opts *o, struct rp_req *r);
    void (*close)(void *cl);
};

extern const struct rp_client_ops rp_http_ops;
extern const struct rp_client_ops rp_redis_ops;
extern const struct rp_client_ops rp_mysql_ops;
extern const struct rp_client_ops rp_pgsql_ops;

/* rp_load.c: turns one event into a request for `proto`. Returns 1 when
 * made, 0 when the event is of another kind (*why set: "protocol",
 * "incomplete"), -1 on allocation failure. */
int rp_req_from_event(const json_t *ev, enum rp_proto proto, struct rp_req *r, const char **why);
void rp_req_free(struct rp_req *r);
void rp_result_free(struct rp_result *res);
/* Parses an RFC 3339 time into ns since the epoch; 0 when it cannot. */
uint64_t rp_parse_time(const char *s);

/* rp_net.c: a TCP connection with timeouts and a bounded read buffer. */
struct rp_conn {
    int fd;
    long timeout_ms;
    uint8_t *buf;
    size_t off, len, cap;
};
int rp_conn_open(struct rp_conn *c, const char *host, uint16_t port, long timeout_ms, char *err,
                 size_t errlen);
void rp_conn_close(struct rp_conn *c);
int rp_conn_write(struct rp_conn *c, const void *p, size_t n);
/* Makes n bytes available at c->buf + c->off (n <= RP_MAX_BODY); 0 or -1. */
int rp_conn_need(struct rp_conn *c, size_t n);
/* Position of the next CRLF at or after c->off (reads more as needed, at
 * most max bytes); -1 on failure. */
long rp_conn_line(struct rp_conn *c, size_t max);
uint64_t rp_mono_ns(void);
char *rp_strfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* crypto helpers (OpenSSL EVP) */
void rp_sha1(const void *p, size_t n, uint8_t out[20]);
void rp_sha256(const void *p, size_t n, uint8_t out[32]);
void rp_md5_hex(const void *p, size_t n, char out[33]);

#endif
