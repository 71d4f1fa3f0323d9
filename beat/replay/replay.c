/* SPDX-License-Identifier: Apache-2.0
 * beat/replay/replay.c - `packetbeat replay`: command line, loading and
 * filtering the captured transactions, the send schedule (original timing
 * scaled by --speed, or a fixed --rate), the worker threads, the progress
 * line and the report (see replay.h and README "Replay").
 */
#include "beat/replay/replay.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "beat/alloc.h"
#include "beat/lazy/lazylib.h"
#include "beat/replay/rp_int.h"
#include "beat/summary/hist.h"

enum kind { K_STATUS, K_ERROR, K_SIZE, K_BODY, K_FAILED, K_N };
static const char *const kind_names[K_N] = {"status", "error", "size", "body", "failed"};

struct args {
    const char *target;
    const char *inputs[64];
    size_t ninputs;
    double speed; /* 0: as fast as possible */
    double rate;  /* requests per second; 0: none */
    long concurrency;
    const char *paths[RP_MAX_RULES];
    size_t npaths;
    const char *verbs[RP_MAX_RULES]; /* --method / --command values, comma lists */
    size_t nverbs;
    bool dry_run, allow_remote, quiet, compare_body;
    const char *report;
    long examples;
    long limit;
};

struct example {
    size_t idx;
    char *text;
};

struct run {
    struct args a;
    struct rp_opts o;
    const struct rp_client_ops *ops;
    struct rp_req *reqs;
    size_t n;
    uint64_t *when;       /* send offset from the start, ns */
    unsigned char *kinds; /* per request: mismatch bits */
    /* input counters */
    uint64_t lines, bad_json, skip_proto, skip_incomplete, skip_filter, skip_limit;
    /* progress */
    atomic_size_t next, sent, matched, mismatched, failed;
    uint64_t t_start;
    void **clients;
};

static volatile sig_atomic_t stop_req;

static void on_sigint(int sig)
{
    (void)sig;
    stop_req = 1;
}

static void usage(FILE *f)
{
    fputs("Usage:\n"
          "  packetbeat replay --target URL [flags] [FILE ...]\n\n"
          "Sends the requests of captured transactions (NDJSON events of the file\n"
          "output; no FILE or \"-\": stdin) to URL and compares the responses with the\n"
          "recorded ones. URL: http://host:port, redis://[:password@]host:port[/db],\n"
          "mysql://user:password@host:port/db, postgres://user:password@host:port/db.\n\n"
          "Flags:\n"
          "      --target URL        server to replay to (loopback only unless --allow-remote)\n"
          "      --speed F           original timing, F times faster (default 1; 0: no waits)\n"
          "      --rate N[/s|/m]     fixed request rate instead of the original timing\n"
          "      --concurrency N     parallel connections (default 1)\n"
          "      --path GLOB         HTTP: only URL paths matching GLOB (repeatable)\n"
          "      --method M[,M]      HTTP: only these methods (repeatable)\n"
          "      --command C[,C]     Redis command / SQL verb filter (repeatable)\n"
          "      --header 'N: v'     set a request header; 'N:' removes it (repeatable)\n"
          "      --compare-body      compare bodies (HTTP) and values (Redis) too\n"
          "      --timeout SECONDS   per request (default 10)\n"
          "      --limit N           replay at most N requests\n"
          "      --examples N        mismatch examples per kind in the report (default 5)\n"
          "      --report FILE       also write the report as JSON to FILE\n"
          "      --dry-run           list what would be sent; send nothing\n"
          "      --allow-remote      allow a target outside 127.0.0.0/8 and ::1\n"
          "  -q, --quiet             no progress line\n\n"
          "Exit status: 0 all responses matched, 2 some mismatched or failed, 1 error.\n",
          f);
}

static int parse_args(int argc, char **argv, struct args *a, struct rp_opts *o)
{
    a->speed = 1.0;
    a->concurrency = 1;
    a->examples = 5;
    a->limit = -1;
    o->timeout_ms = 10000;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (s[0] != '-' || strcmp(s, "-") == 0) {
            if (a->ninputs >= 64) {
                fprintf(stderr, "replay: too many input files\n");
                return -1;
            }
            a->inputs[a->ninputs++] = s;
            continue;
        }
        const char *name = s + (s[1] == '-' ? 2 : 1);
        const char *val = NULL;
        const char *eq = strchr(name, '=');
        char nbuf[64];
        if (eq != NULL) {
            snprintf(nbuf, sizeof nbuf, "%.*s", (int)(eq - name), name);
            name = nbuf;
            val = eq + 1;
        }
        bool flag = strcmp(name, "dry-run") == 0 || strcmp(name, "allow-remote") == 0 ||
                    strcmp(name, "quiet") == 0 || strcmp(name, "q") == 0 ||
                    strcmp(name, "compare-body") == 0 || strcmp(name, "h") == 0 ||
                    strcmp(name, "help") == 0;
        if (!flag && val == NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "replay: flag needs an argument: %s\n", s);
                return -1;
            }
            val = argv[++i];
        }
        char *end = NULL;
        if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(name, "dry-run") == 0) {
            a->dry_run = true;
        } else if (strcmp(name, "allow-remote") == 0) {
            a->allow_remote = true;
        } else if (strcmp(name, "quiet") == 0 || strcmp(name, "q") == 0) {
            a->quiet = true;
        } else if (strcmp(name, "compare-body") == 0) {
            a->compare_body = true;
        } else if (strcmp(name, "target") == 0) {
            a->target = val;
        } else if (strcmp(name, "speed") == 0) {
            a->speed = strtod(val, &end);
            if (end == val || *end != '\0' || !(a->speed >= 0) || isinf(a->speed)) {
                fprintf(stderr, "replay: invalid --speed %s\n", val);
                return -1;
            }
        } else if (strcmp(name, "rate") == 0) {
            a->rate = strtod(val, &end);
            double per = 1.0;
            if (end != NULL && strcmp(end, "/m") == 0) {
                per = 60.0;
            } else if (end != NULL && strcmp(end, "/h") == 0) {
                per = 3600.0;
            } else if (end == NULL || (*end != '\0' && strcmp(end, "/s") != 0)) {
                end = NULL;
            }
            if (end == NULL || end == val || !(a->rate > 0) || isinf(a->rate)) {
                fprintf(stderr, "replay: invalid --rate %s (e.g. 500/s)\n", val);
                return -1;
            }
            a->rate /= per;
        } else if (strcmp(name, "concurrency") == 0 || strcmp(name, "limit") == 0 ||
                   strcmp(name, "examples") == 0) {
            long v = strtol(val, &end, 10);
            if (end == val || *end != '\0' || v < 0 ||
                (strcmp(name, "concurrency") == 0 && (v < 1 || v > 256))) {
                fprintf(stderr, "replay: invalid --%s %s\n", name, val);
                return -1;
            }
            *(strcmp(name, "concurrency") == 0 ? &a->concurrency
              : strcmp(name, "limit") == 0     ? &a->limit
                                               : &a->examples) = v;
        } else if (strcmp(name, "timeout") == 0) {
            double t = strtod(val, &end);
            if (end == val || *end != '\0' || !(t > 0) || t > 3600) {
                fprintf(stderr, "replay: invalid --timeout %s\n", val);
                return -1;
            }
            o->timeout_ms = (long)(t * 1000.0);
        } else if (strcmp(name, "path") == 0 && a->npaths < RP_MAX_RULES) {
            a->paths[a->npaths++] = val;
        } else if ((strcmp(name, "method") == 0 || strcmp(name, "command") == 0) &&
                   a->nverbs < RP_MAX_RULES) {
            a->verbs[a->nverbs++] = val;
        } else if (strcmp(name, "header") == 0 && o->nheaders < RP_MAX_RULES) {
            if (strchr(val, ':') == NULL || val[0] == ':') {
                fprintf(stderr, "replay: --header wants 'Name: value' or 'Name:'\n");
                return -1;
            }
            o->headers[o->nheaders++] = val;
        } else if (strcmp(name, "report") == 0) {
            a->report = val;
        } else {
            fprintf(stderr, "replay: unknown flag %s\n", s);
            usage(stderr);
            return -1;
        }
    }
    if (a->target == NULL) {
        fprintf(stderr, "replay: --target is required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Percent-decodes a URL user-info or path part into out. */
static void pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < cap; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char h[3] = {s[i + 1], s[i + 2], 0};
            out[w++] = (char)strtol(h, NULL, 16);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
}

static int parse_target(const char *url, struct rp_target *t)
{
    memset(t, 0, sizeof *t);
    const char *sep = strstr(url, "://");
    if (sep == NULL || (size_t)(sep - url) >= sizeof t->scheme) {
        return -1;
    }
    snprintf(t->scheme, sizeof t->scheme, "%.*s", (int)(sep - url), url);
    uint16_t defport;
    if (strcasecmp(t->scheme, "http") == 0 || strcasecmp(t->scheme, "https") == 0) {
        t->proto = RP_HTTP;
        defport = strcasecmp(t->scheme, "http") == 0 ? 80 : 443;
    } else if (strcasecmp(t->scheme, "redis") == 0) {
        t->proto = RP_REDIS;
        defport = 6379;
    } else if (strcasecmp(t->scheme, "mysql") == 0 || strcasecmp(t->scheme, "mariadb") == 0) {
        t->proto = RP_MYSQL;
        defport = 3306;
    } else if (strcasecmp(t->scheme, "postgres") == 0 || strcasecmp(t->scheme, "postgresql") == 0 ||
               strcasecmp(t->scheme, "pgsql") == 0) {
        t->proto = RP_PGSQL;
        defport = 5432;
    } else {
        return -1;
    }
    const char *p = sep + 3;
    const char *slash = strchr(p, '/');
    const char *auth_end = slash != NULL ? slash : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon != NULL ? colon : at;
        pct_decode(p, (size_t)(uend - p), t->user, sizeof t->user);
        if (colon != NULL) {
            pct_decode(colon + 1, (size_t)(at - colon - 1), t->pass, sizeof t->pass);
        }
        p = at + 1;
    }
    const char *hend = auth_end;
    const char *port = NULL;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (rb == NULL) {
            return -1;
        }
        snprintf(t->host, sizeof t->host, "%.*s", (int)(rb - p - 1), p + 1);
        port = rb + 1 < auth_end && rb[1] == ':' ? rb + 2 : NULL;
    } else {
        const char *colon = memchr(p, ':', (size_t)(hend - p));
        snprintf(t->host, sizeof t->host, "%.*s", (int)((colon != NULL ? colon : hend) - p), p);
        port = colon != NULL ? colon + 1 : NULL;
    }
    t->port = defport;
    if (port != NULL) {
        char *end = NULL;
        long v = strtol(port, &end, 10);
        if (end != auth_end || v < 1 || v > 65535) {
            return -1;
        }
        t->port = (uint16_t)v;
    }
    if (t->host[0] == '\0') {
        return -1;
    }
    if (slash != NULL && slash[1] != '\0') {
        const char *q = strchr(slash + 1, '?');
        size_t dl = q != NULL ? (size_t)(q - slash - 1) : strlen(slash + 1);
        pct_decode(slash + 1, dl, t->db, sizeof t->db);
    }
    if (t->proto == RP_MYSQL && t->user[0] == '\0') {
        snprintf(t->user, sizeof t->user, "root");
    }
    if (t->proto == RP_PGSQL && t->user[0] == '\0') {
        snprintf(t->user, sizeof t->user, "postgres");
    }
    bool v6 = strchr(t->host, ':') != NULL;
    snprintf(t->base, sizeof t->base, "%s://%s%s%s:%u", t->scheme, v6 ? "[" : "", t->host,
             v6 ? "]" : "", t->port);
    return 0;
}

/* Every address the host resolves to must be loopback. */
static bool loopback_only(const char *host)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        return false;
    }
    bool ok = true;
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const struct sockaddr_in *s = (const struct sockaddr_in *)a->ai_addr;
            ok &= (ntohl(s->sin_addr.s_addr) >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a->ai_addr;
            ok &= IN6_IS_ADDR_LOOPBACK(&s->sin6_addr) != 0;
        } else {
            ok = false;
        }
    }
    freeaddrinfo(res);
    return ok;
}

static bool verb_ok(const struct args *a, const char *verb)
{
    if (a->nverbs == 0) {
        return true;
    }
    size_t vl = strlen(verb);
    for (size_t i = 0; i < a->nverbs; i++) {
        const char *s = a->verbs[i];
        while (*s != '\0') {
            const char *c = strchr(s, ',');
            size_t l = c != NULL ? (size_t)(c - s) : strlen(s);
            if (l == vl && strncasecmp(s, verb, l) == 0) {
                return true;
            }
            s += l + (c != NULL ? 1 : 0);
        }
    }
    return false;
}

static bool path_ok(const struct args *a, const char *target)
{
    if (a->npaths == 0) {
        return true;
    }
    char path[2048];
    size_t l = strcspn(target, "?");
    snprintf(path, sizeof path, "%.*s", (int)(l < sizeof path - 1 ? l : sizeof path - 1), target);
    for (size_t i = 0; i < a->npaths; i++) {
        if (fnmatch(a->paths[i], path, 0) == 0) {
            return true;
        }
    }
    return false;
}

static int add_req(struct run *r, struct rp_req *q, size_t *cap)
{
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        struct rp_req *nr = pb_realloc(r->reqs, nc * sizeof *nr);
        if (nr == NULL) {
            return -1;
        }
        r->reqs = nr;
        *cap = nc;
    }
    r->reqs[r->n++] = *q;
    return 0;
}

static int load_stream(struct run *r, FILE *f, size_t *cap)
{
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        if (stop_req) {
            break;
        }
        if (len == 0 || (len == 1 && line[0] == '\n')) {
            continue;
        }
        r->lines++;
        if ((size_t)len > RP_MAX_LINE) {
            r->bad_json++;
            continue;
        }
        json_t *ev = json_loadb(line, (size_t)len, JSON_DECODE_ANY, NULL);
        if (!json_is_object(ev)) {
            json_decref(ev);
            r->bad_json++;
            continue;
        }
        struct rp_req q;
        memset(&q, 0, sizeof q);
        const char *why = NULL;
        int rc = rp_req_from_event(ev, r->o.t.proto, &q, &why);
        json_decref(ev);
        if (rc < 0) {
            pb_free(line);
            return -1;
        }
        if (rc == 0) {
            if (strcmp(why, "protocol") == 0) {
                r->skip_proto++;
            } else {
                r->skip_incomplete++;
            }
            continue;
        }
        q.idx = (size_t)r->lines;
        if (!verb_ok(&r->a, q.verb) || (q.target != NULL && !path_ok(&r->a, q.target))) {
            r->skip_filter++;
            rp_req_free(&q);
            continue;
        }
        if (r->n >= RP_MAX_REQUESTS) {
            r->skip_limit++;
            rp_req_free(&q);
            continue;
        }
        if (add_req(r, &q, cap) < 0) {
            rp_req_free(&q);
            pb_free(line);
            return -1;
        }
    }
    pb_free(line);
    return 0;
}

static int cmp_req(const void *a, const void *b)
{
    const struct rp_req *x = a, *y = b;
    if (x->ts_ns != y->ts_ns) {
        return x->ts_ns < y->ts_ns ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Mismatch bits of one replayed request against its recording. */
static unsigned compare(const struct run *r, const struct rp_req *q)
{
    const struct rp_result *a = &q->rec, *b = &q->got;
    unsigned k = 0;
    if (b->fail != NULL || !b->have) {
        return 1u << K_FAILED;
    }
    if (!a->have) {
        return 0; /* nothing recorded to compare with */
    }
    switch (r->o.t.proto) {
    case RP_HTTP:
        if (a->status != b->status) {
            k |= 1u << K_STATUS;
        }
        if (a->size >= 0 && b->size >= 0 && a->size != b->size &&
            strcasecmp(q->verb, "HEAD") != 0 && a->status == b->status) {
            k |= 1u << K_SIZE;
        }
        if (r->a.compare_body && a->body != NULL && b->body != NULL &&
            (a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0)) {
            k |= 1u << K_BODY;
        }
        break;
    case RP_REDIS:
        if (a->error != b->error) {
            k |= 1u << K_ERROR;
        }
        if (r->a.compare_body && a->body != NULL && b->body != NULL &&
            (a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0)) {
            k |= 1u << K_BODY;
        }
        break;
    default:
        if (a->error != b->error ||
            (a->error && a->code != NULL && b->code != NULL && strcmp(a->code, b->code) != 0)) {
            k |= 1u << K_ERROR;
        } else if (!a->error) {
            bool rows = a->size >= 0 && b->size >= 0 && a->size != b->size;
            bool aff = a->affected >= 0 && b->affected >= 0 && a->affected != b->affected;
            if (rows || aff) {
                k |= 1u << K_SIZE;
            }
        }
        break;
    }
    return k;
}

static void sleep_until(uint64_t t)
{
    for (;;) {
        uint64_t now = rp_mono_ns();
        if (now >= t || stop_req) {
            return;
        }
        uint64_t d = t - now;
        if (d > 100000000ull) {
            d = 100000000ull; /* wake up for ^C */
        }
        struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
        nanosleep(&ts, NULL);
    }
}

struct worker {
    struct run *r;
    void *cl;
    pthread_t th;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n || stop_req) {
            break;
        }
        sleep_until(r->t_start + r->when[i]);
        if (stop_req) {
            break;
        }
        struct rp_req *q = &r->reqs[i];
        r->ops->send(w->cl, &r->o, q);
        unsigned k = compare(r, q);
        r->kinds[i] = (unsigned char)k;
        atomic_fetch_add(&r->sent, 1);
        if (k & (1u << K_FAILED)) {
            atomic_fetch_add(&r->failed, 1);
        } else if (k != 0) {
            atomic_fetch_add(&r->mismatched, 1);
        } else {
            atomic_fetch_add(&r->matched, 1);
        }
    }
    return NULL;
}

static void progress(struct run *r, bool final)
{
    double el = (double)(rp_mono_ns() - r->t_start) / 1e9;
    fprintf(stderr, "\rreplay: %zu/%zu sent  %zu matched  %zu mismatched  %zu failed  %.1fs%s",
            atomic_load(&r->sent), r->n, atomic_load(&r->matched), atomic_load(&r->mismatched),
            atomic_load(&r->failed), el, final ? "\n" : "   ");
    fflush(stderr);
}

static char *show(const char *s, size_t n)
{
    /* a short printable excerpt */
    char buf[96];
    size_t w = 0;
    for (size_t i = 0; i < n && w < 80; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[w++] = (char)(c >= 0x20 && c < 0x7f ? c : '.');
    }
    buf[w] = '\0';
    return rp_strfmt("\"%s\"%s", buf, n > 80 ? "..." : "");
}

/* "recorded X, replayed Y" for the first mismatching kind */
static char *describe(const struct rp_req *q, unsigned k)
{
    const struct rp_result *a = &q->rec, *b = &q->got;
    if (k & (1u << K_FAILED)) {
        return rp_strfmt("no response: %s", b->fail != NULL ? b->fail : "?");
    }
    if (k & (1u << K_STATUS)) {
        return rp_strfmt("status %d -> %d", a->status, b->status);
    }
    if (k & (1u << K_ERROR)) {
        return rp_strfmt("%s%s%s -> %s%s%s", a->error ? "error " : "ok",
                         a->error && a->code ? a->code : "", a->error && !a->code ? "" : "",
                         b->error ? "error " : "ok", b->error && b->code ? b->code : "",
                         b->error && b->body ? "" : "");
    }
    if (k & (1u << K_SIZE)) {
        if (q->verb != NULL && q->target != NULL) {
            return rp_strfmt("body size %lld -> %lld", (long long)a->size, (long long)b->size);
        }
        return rp_strfmt("rows %lld/%lld -> %lld/%lld (returned/affected)", (long long)a->size,
                         (long long)a->affected, (long long)b->size, (long long)b->affected);
    }
    if (k & (1u << K_BODY)) {
        char *x = show(a->body, a->body_len), *y = show(b->body, b->body_len);
        char *s = rp_strfmt("body %s -> %s", x ? x : "", y ? y : "");
        pb_free(x);
        pb_free(y);
        return s;
    }
    return rp_strfmt("?");
}

static const char *proto_name(enum rp_proto p)
{
    static const char *const n[] = {"http", "redis", "mysql", "pgsql"};
    return n[p];
}

static json_t *pct_json(const struct pb_hist *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "count", (json_int_t)h->n, "p50",
                     (json_int_t)pb_hist_pct(h, 50), "p90", (json_int_t)pb_hist_pct(h, 90), "p99",
                     (json_int_t)pb_hist_pct(h, 99), "max", (json_int_t)(h->n ? h->max : 0));
}

static void print_pct(FILE *f, const char *name, const struct pb_hist *h)
{
    fprintf(f, "    %-9s %8llu %10.3f %10.3f %10.3f %10.3f\n", name, (unsigned long long)h->n,
            (double)pb_hist_pct(h, 50) / 1e6, (double)pb_hist_pct(h, 90) / 1e6,
            (double)pb_hist_pct(h, 99) / 1e6, (double)(h->n ? h->max : 0) / 1e6);
}

static int report(struct run *r, double elapsed)
{
    uint64_t counts[K_N] = {0};
    json_t *examples = json_array();
    struct pb_hist rec, got;
    pb_hist_init(&rec);
    pb_hist_init(&got);
    size_t sent = atomic_load(&r->sent);
    size_t shown[K_N] = {0};
    for (size_t i = 0; i < r->n; i++) {
        const struct rp_req *q = &r->reqs[i];
        if (!q->got.have && q->got.fail == NULL) {
            if (r->a.dry_run && q->rec.dur_ns >= 0) {
                pb_hist_add(&rec, (uint64_t)q->rec.dur_ns);
            }
            continue; /* not sent (dry run, ^C) */
        }
        unsigned k = r->kinds[i];
        if (q->got.have && q->rec.dur_ns >= 0) {
            pb_hist_add(&rec, (uint64_t)q->rec.dur_ns);
        }
        if (q->got.have && q->got.dur_ns >= 0) {
            pb_hist_add(&got, (uint64_t)q->got.dur_ns);
        }
        int first = -1;
        for (int b = 0; b < K_N; b++) {
            if (k & (1u << b)) {
                counts[b]++;
                if (first < 0) {
                    first = b;
                }
            }
        }
        if (first >= 0 && shown[first] < (size_t)r->a.examples) {
            shown[first]++;
            char *d = describe(q, k);
            json_array_append_new(examples,
                                  json_pack("{s:I, s:s, s:s, s:s}", "line", (json_int_t)q->idx,
                                            "kind", kind_names[first], "request",
                                            q->label ? q->label : "", "detail", d ? d : ""));
            pb_free(d);
        }
    }
    size_t matched = atomic_load(&r->matched), mism = atomic_load(&r->mismatched),
           failed = atomic_load(&r->failed);
    FILE *f = stdout;
    fprintf(f, "Replay report: %s (%s)%s\n", r->o.t.base, proto_name(r->o.t.proto),
            r->a.dry_run ? " [dry run]" : "");
    fprintf(f,
            "  events read %llu: %zu to replay, skipped %llu other protocol, %llu incomplete, "
            "%llu filtered, %llu over the limit, %llu not JSON\n",
            (unsigned long long)r->lines, r->n, (unsigned long long)r->skip_proto,
            (unsigned long long)r->skip_incomplete, (unsigned long long)r->skip_filter,
            (unsigned long long)r->skip_limit, (unsigned long long)r->bad_json);
    fprintf(f, "  sent %zu in %.2fs: %zu matched, %zu mismatched, %zu failed\n", sent, elapsed,
            matched, mism, failed);
    fprintf(f, "  mismatches by kind:");
    for (int b = 0; b < K_N; b++) {
        fprintf(f, " %s %llu%s", kind_names[b], (unsigned long long)counts[b],
                b + 1 < K_N ? "," : "\n");
    }
    size_t i;
    json_t *e;
    if (json_array_size(examples) > 0) {
        fprintf(f, "  examples:\n");
        json_array_foreach(examples, i, e)
        {
            fprintf(f, "    line %lld [%s] %s: %s\n",
                    (long long)json_integer_value(json_object_get(e, "line")),
                    json_string_value(json_object_get(e, "kind")),
                    json_string_value(json_object_get(e, "request")),
                    json_string_value(json_object_get(e, "detail")));
        }
    }
    fprintf(f, "  latency ms     count        p50        p90        p99        max\n");
    print_pct(f, "recorded", &rec);
    print_pct(f, "replayed", &got);
    fflush(f);
    int rc = 0;
    if (r->a.report != NULL) {
        json_t *kinds = json_object();
        for (int b = 0; b < K_N; b++) {
            json_object_set_new(kinds, kind_names[b], json_integer((json_int_t)counts[b]));
        }
        json_t *rep = json_pack(
            "{s:s, s:s, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:o, "
            "s:o, s:{s:o, s:o}, s:f}",
            "target", r->o.t.base, "protocol", proto_name(r->o.t.proto), "dry_run", r->a.dry_run,
            "skipped", "protocol", (json_int_t)r->skip_proto, "incomplete",
            (json_int_t)r->skip_incomplete, "filtered", (json_int_t)r->skip_filter, "limit",
            (json_int_t)r->skip_limit, "not_json", (json_int_t)r->bad_json, "total",
            (json_int_t)(r->skip_proto + r->skip_incomplete + r->skip_filter + r->skip_limit +
                         r->bad_json),
            "events", (json_int_t)r->lines, "requests", (json_int_t)r->n, "sent", (json_int_t)sent,
            "matched", (json_int_t)matched, "mismatched", (json_int_t)mism, "failed",
            (json_int_t)failed, "mismatch_kinds", kinds, "examples", json_incref(examples),
            "latency_ns", "recorded", pct_json(&rec), "replayed", pct_json(&got), "elapsed_s",
            elapsed);
        if (rep == NULL || json_dump_file(rep, r->a.report, JSON_INDENT(2)) != 0) {
            fprintf(stderr, "replay: cannot write %s\n", r->a.report);
            rc = -1;
        }
        json_decref(rep);
    }
    json_decref(examples);
    pb_hist_free(&rec);
    pb_hist_free(&got);
    return rc;
}

int pb_replay_main(int argc, char **argv)
{
    struct run *r = pb_calloc(1, sizeof *r);
    if (r == NULL) {
        return 1;
    }
    int status = 1;
    if (parse_args(argc, argv, &r->a, &r->o) < 0) {
        goto out;
    }
    r->o.compare_body = r->a.compare_body;
    if (parse_target(r->a.target, &r->o.t) < 0) {
        fprintf(stderr,
                "replay: cannot use target %s (http://, redis://, mysql://, "
                "postgres:// with host and port)\n",
                r->a.target);
        goto out;
    }
    if (!r->a.allow_remote && !loopback_only(r->o.t.host)) {
        fprintf(stderr,
                "replay: refusing target %s: not a loopback address (127.0.0.0/8, ::1);"
                " pass --allow-remote to replay to another host\n",
                r->o.t.host);
        goto out;
    }
    static const struct rp_client_ops *const ops[] = {&rp_http_ops, &rp_redis_ops, &rp_mysql_ops,
                                                      &rp_pgsql_ops};
    r->ops = ops[r->o.t.proto];

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    size_t cap = 0;
    if (r->a.ninputs == 0) {
        r->a.inputs[r->a.ninputs++] = "-";
    }
    for (size_t i = 0; i < r->a.ninputs; i++) {
        bool std = strcmp(r->a.inputs[i], "-") == 0;
        FILE *f = std ? stdin : fopen(r->a.inputs[i], "r");
        if (f == NULL) {
            fprintf(stderr, "replay: cannot open %s: %s\n", r->a.inputs[i], strerror(errno));
            goto out;
        }
        int rc = load_stream(r, f, &cap);
        if (!std) {
            fclose(f);
        }
        if (rc < 0) {
            fprintf(stderr, "replay: out of memory reading %s\n", r->a.inputs[i]);
            goto out;
        }
    }
    qsort(r->reqs, r->n, sizeof *r->reqs, cmp_req);
    if (r->a.limit >= 0 && (size_t)r->a.limit < r->n) {
        for (size_t i = (size_t)r->a.limit; i < r->n; i++) {
            rp_req_free(&r->reqs[i]);
        }
        r->skip_limit += r->n - (size_t)r->a.limit;
        r->n = (size_t)r->a.limit;
    }
    r->when = pb_calloc(r->n ? r->n : 1, sizeof *r->when);
    r->kinds = pb_calloc(r->n ? r->n : 1, 1);
    if (r->when == NULL || r->kinds == NULL) {
        goto out;
    }
    uint64_t t0 = r->n > 0 ? r->reqs[0].ts_ns : 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->a.rate > 0) {
            r->when[i] = (uint64_t)((double)i / r->a.rate * 1e9);
        } else if (r->a.speed > 0 && r->reqs[i].ts_ns >= t0 && t0 > 0) {
            r->when[i] = (uint64_t)((double)(r->reqs[i].ts_ns - t0) / r->a.speed);
        }
    }
    if (r->a.dry_run) {
        for (size_t i = 0; i < r->n; i++) {
            printf("%10.3fs  line %-6zu %s\n", (double)r->when[i] / 1e9, r->reqs[i].idx,
                   r->reqs[i].label != NULL ? r->reqs[i].label : "");
        }
        report(r, 0.0);
        status = 0;
        goto out;
    }
    if (r->o.t.proto == RP_HTTP && pb_lazy_curl(NULL, 0) == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT); /* else the clients tell why */
    }
    size_t nw = (size_t)r->a.concurrency;
    if (nw > r->n) {
        nw = r->n > 0 ? r->n : 1;
    }
    struct worker *ws = pb_calloc(nw, sizeof *ws);
    if (ws == NULL) {
        goto out;
    }
    for (size_t i = 0; i < nw; i++) {
        char err[512] = "";
        ws[i].r = r;
        ws[i].cl = r->ops->open(&r->o, err, sizeof err);
        if (ws[i].cl == NULL) {
            fprintf(stderr, "replay: cannot connect to %s: %s\n", r->o.t.base, err);
            for (size_t k = 0; k < i; k++) {
                r->ops->close(ws[k].cl);
            }
            pb_free(ws);
            goto out;
        }
    }
    bool tty = !r->a.quiet && isatty(STDERR_FILENO);
    r->t_start = rp_mono_ns();
    size_t started = 0;
    for (; started < nw; started++) {
        if (pthread_create(&ws[started].th, NULL, worker_main, &ws[started]) != 0) {
            break;
        }
    }
    if (started == 0) {
        worker_main(&ws[0]); /* no threads: replay inline */
    }
    for (unsigned tick = 0; started > 0 && atomic_load(&r->sent) < r->n && !stop_req; tick++) {
        if (tty && tick % 10 == 0) {
            progress(r, false);
        }
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
        if (atomic_load(&r->next) >= r->n + nw) {
            break;
        }
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(ws[i].th, NULL);
    }
    double elapsed = (double)(rp_mono_ns() - r->t_start) / 1e9;
    if (tty) {
        progress(r, true);
    }
    for (size_t i = 0; i < nw; i++) {
        r->ops->close(ws[i].cl);
    }
    pb_free(ws);
    if (r->o.t.proto == RP_HTTP) {
        curl_global_cleanup();
    }
    if (stop_req) {
        fprintf(stderr, "replay: interrupted\n");
    }
    int rrc = report(r, elapsed);
    status = rrc < 0 ? 1 : (atomic_load(&r->mismatched) > 0 || atomic_load(&r->failed) > 0) ? 2 : 0;
out:
    for (size_t i = 0; i < r->n; i++) {
        rp_req_free(&r->reqs[i]);
    }
    pb_free(r->reqs);
    pb_free(r->when);
    pb_free(r->kinds);
    pb_free(r);
    return status;
}
