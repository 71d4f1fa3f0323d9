/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/summary.c - service statistics (see summary.h).
 */
#include "beat/summary/summary.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/summary/fingerprint.h"
#include "beat/summary/hist.h"

struct group {
    char *proto; /* borrowed from the protocol's entry */
    char *key;   /* owned */
    bool all, other;
    uint64_t count, errors, req_bytes, resp_bytes;
    struct pb_hist lat;
    struct group *next; /* hash chain */
};

struct proto_entry {
    char *name; /* owned */
    struct group *all, *other;
};

struct pb_summary {
    pthread_mutex_t mu;
    size_t max_groups, ngroups; /* ngroups: keyed groups, excluding all/other */
    uint64_t events, overflow;
    struct group **table; /* nbuckets chains */
    size_t nbuckets;
    struct proto_entry protos[PB_SUMMARY_MAX_PROTOCOLS];
    size_t nprotos;
};

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

static struct group *group_new(char *proto, const char *key, bool all, bool other)
{
    struct group *g = pb_calloc(1, sizeof *g);
    if (g == NULL) {
        return NULL;
    }
    g->key = pb_strdup(key);
    if (g->key == NULL) {
        pb_free(g);
        return NULL;
    }
    g->proto = proto;
    g->all = all;
    g->other = other;
    pb_hist_init(&g->lat);
    return g;
}

static void group_free(struct group *g)
{
    if (g != NULL) {
        pb_hist_free(&g->lat);
        pb_free(g->key);
        pb_free(g);
    }
}

struct pb_summary *pb_summary_new(size_t max_groups)
{
    struct pb_summary *s = pb_calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->max_groups = max_groups > 0 ? max_groups : PB_SUMMARY_MAX_GROUPS;
    s->nbuckets = 64;
    while (s->nbuckets < s->max_groups && s->nbuckets < (1u << 20)) {
        s->nbuckets <<= 1;
    }
    s->table = pb_calloc(s->nbuckets, sizeof *s->table);
    if (s->table == NULL) {
        pb_free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static void clear(struct pb_summary *s)
{
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct group *g = s->table[i];
        while (g != NULL) {
            struct group *n = g->next;
            group_free(g);
            g = n;
        }
        s->table[i] = NULL;
    }
    for (size_t i = 0; i < s->nprotos; i++) {
        group_free(s->protos[i].all);
        group_free(s->protos[i].other);
        pb_free(s->protos[i].name);
    }
    memset(s->protos, 0, sizeof s->protos);
    s->nprotos = 0;
    s->ngroups = 0;
    s->events = 0;
    s->overflow = 0;
}

void pb_summary_free(struct pb_summary *s)
{
    if (s == NULL) {
        return;
    }
    clear(s);
    pb_free(s->table);
    pthread_mutex_destroy(&s->mu);
    pb_free(s);
}

void pb_summary_reset(struct pb_summary *s)
{
    pthread_mutex_lock(&s->mu);
    clear(s);
    pthread_mutex_unlock(&s->mu);
}

static struct proto_entry *proto_get(struct pb_summary *s, const char *name)
{
    for (size_t i = 0; i < s->nprotos; i++) {
        if (strcmp(s->protos[i].name, name) == 0) {
            return &s->protos[i];
        }
    }
    if (s->nprotos >= PB_SUMMARY_MAX_PROTOCOLS) {
        return NULL;
    }
    struct proto_entry *p = &s->protos[s->nprotos];
    p->name = pb_strdup(name);
    if (p->name == NULL) {
        return NULL;
    }
    p->all = group_new(p->name, "(all)", true, false);
    if (p->all == NULL) {
        pb_free(p->name);
        p->name = NULL;
        return NULL;
    }
    s->nprotos++;
    return p;
}

static void count(struct group *g, bool error, int64_t req, int64_t resp, int64_t dur)
{
    g->count++;
    g->errors += error ? 1 : 0;
    g->req_bytes += req > 0 ? (uint64_t)req : 0;
    g->resp_bytes += resp > 0 ? (uint64_t)resp : 0;
    if (dur >= 0) {
        pb_hist_add(&g->lat, (uint64_t)dur);
    }
}

void pb_summary_add(struct pb_summary *s, const char *proto, const char *key, bool error,
                    int64_t req_bytes, int64_t resp_bytes, int64_t duration_ns)
{
    char kbuf[PB_SUMMARY_KEY_MAX + 1];
    snprintf(kbuf, sizeof kbuf, "%s", key != NULL ? key : "");
    pthread_mutex_lock(&s->mu);
    struct proto_entry *p = proto_get(s, proto);
    if (p == NULL) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->events++;
    count(p->all, error, req_bytes, resp_bytes, duration_ns);
    uint64_t h = hash_str(hash_str(1469598103934665603ull, proto), kbuf);
    size_t b = (size_t)(h & (s->nbuckets - 1));
    struct group *g = s->table[b];
    while (g != NULL && (strcmp(g->key, kbuf) != 0 || strcmp(g->proto, p->name) != 0)) {
        g = g->next;
    }
    if (g == NULL && s->ngroups < s->max_groups) {
        g = group_new(p->name, kbuf, false, false);
        if (g != NULL) {
            g->next = s->table[b];
            s->table[b] = g;
            s->ngroups++;
        }
    }
    if (g == NULL) {
        if (p->other == NULL) {
            p->other = group_new(p->name, "(other)", false, true);
        }
        g = p->other;
        s->overflow++;
    }
    if (g != NULL) {
        count(g, error, req_bytes, resp_bytes, duration_ns);
    }
    pthread_mutex_unlock(&s->mu);
}

static const char *get_str(pb_event *ev, const char *path, size_t *len)
{
    return pb_ev_get_str(ev, path, len);
}

static int64_t get_int(pb_event *ev, const char *path)
{
    int64_t v = -1;
    if (pb_ev_get_int(ev, path, &v)) {
        return v;
    }
    json_t *j = pb_ev_get_json(ev, path); /* a real, rarely */
    v = json_is_real(j) ? (int64_t)json_real_value(j) : -1;
    json_decref(j);
    return v;
}

void pb_summary_key(pb_event *ev, char *out, size_t out_len)
{
    size_t n = 0, qn = 0;
    const char *type = get_str(ev, "type", NULL);
    const char *method = get_str(ev, "method", NULL);
    out[0] = '\0';
    if (type == NULL) {
        return;
    }
    if (strcmp(type, "http") == 0) {
        const char *path = get_str(ev, "url.path", &n);
        const char *query = get_str(ev, "url.query", &qn);
        char fp[PB_SUMMARY_KEY_MAX + 1];
        pb_fp_url(path != NULL ? path : "", path != NULL ? n : 0, query, qn, fp, sizeof fp);
        snprintf(out, out_len, "%s %s", method != NULL ? method : "-", fp);
        return;
    }
    const char *query = get_str(ev, "query", &n);
    if (query != NULL && (strcmp(type, "mysql") == 0 || strcmp(type, "pgsql") == 0 ||
                          strcmp(type, "cassandra") == 0)) {
        pb_fp_sql(query, n, strcmp(type, "mysql") == 0, out, out_len);
        return;
    }
    if (strcmp(type, "dns") == 0) {
        const char *qt = get_str(ev, "dns.question.type", NULL);
        snprintf(out, out_len, "%s %s", method != NULL ? method : "-", qt != NULL ? qt : "-");
        return;
    }
    if (method == NULL) {
        method = get_str(ev, "event.action", NULL);
    }
    if (method != NULL) {
        size_t i = 0;
        for (; method[i] != '\0' && i + 1 < out_len; i++) {
            char c = method[i];
            out[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        out[i] = '\0';
    }
}

void pb_summary_observe(struct pb_summary *s, pb_event *ev)
{
    if (s == NULL || ev == NULL) {
        return;
    }
    const char *type = get_str(ev, "type", NULL);
    if (type == NULL || strcmp(type, "flow") == 0 || strcmp(type, "summary") == 0) {
        return;
    }
    const char *status = get_str(ev, "status", NULL);
    bool error = status != NULL && strcmp(status, "OK") != 0;
    char key[PB_SUMMARY_KEY_MAX + 1];
    pb_summary_key(ev, key, sizeof key);
    pb_summary_add(s, type, key, error, get_int(ev, "source.bytes"),
                   get_int(ev, "destination.bytes"), get_int(ev, "event.duration"));
}

void pb_summary_counts(struct pb_summary *s, uint64_t *events, size_t *groups, uint64_t *overflow)
{
    pthread_mutex_lock(&s->mu);
    *events = s->events;
    *groups = s->ngroups;
    *overflow = s->overflow;
    pthread_mutex_unlock(&s->mu);
}

static int cmp_group(const void *a, const void *b)
{
    const struct group *x = *(struct group *const *)a, *y = *(struct group *const *)b;
    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(x->key, y->key);
}

static int cmp_proto(const void *a, const void *b)
{
    const struct proto_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static void row_of(const struct group *g, struct pb_summary_row *r)
{
    r->proto = g->proto;
    r->key = g->key;
    r->all = g->all;
    r->other = g->other;
    r->count = g->count;
    r->errors = g->errors;
    r->req_bytes = g->req_bytes;
    r->resp_bytes = g->resp_bytes;
    r->p50 = pb_hist_pct(&g->lat, 50);
    r->p90 = pb_hist_pct(&g->lat, 90);
    r->p99 = pb_hist_pct(&g->lat, 99);
    r->max = g->lat.n > 0 ? g->lat.max : 0;
}

void pb_summary_foreach(struct pb_summary *s,
                        void (*fn)(void *ctx, const struct pb_summary_row *row), void *ctx)
{
    pthread_mutex_lock(&s->mu);
    struct group **list = pb_calloc(s->ngroups > 0 ? s->ngroups : 1, sizeof *list);
    if (list == NULL) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    /* protocols sorted by name; the protos array is only reordered here,
       under the lock, and groups point at the names, not the entries */
    qsort(s->protos, s->nprotos, sizeof s->protos[0], cmp_proto);
    for (size_t pi = 0; pi < s->nprotos; pi++) {
        const struct proto_entry *p = &s->protos[pi];
        size_t n = 0;
        for (size_t b = 0; b < s->nbuckets; b++) {
            for (struct group *g = s->table[b]; g != NULL; g = g->next) {
                if (g->proto == p->name && n < s->ngroups) {
                    list[n++] = g;
                }
            }
        }
        qsort(list, n, sizeof list[0], cmp_group);
        struct pb_summary_row row;
        row_of(p->all, &row);
        fn(ctx, &row);
        for (size_t i = 0; i < n; i++) {
            row_of(list[i], &row);
            fn(ctx, &row);
        }
        if (p->other != NULL) {
            row_of(p->other, &row);
            fn(ctx, &row);
        }
    }
    pb_free(list);
    pthread_mutex_unlock(&s->mu);
}

static void print_ms(FILE *f, uint64_t ns)
{
    fprintf(f, " %9.3f", (double)ns / 1e6);
}

static void print_row(void *ctx, const struct pb_summary_row *r)
{
    FILE *f = ctx;
    double rate = r->count > 0 ? 100.0 * (double)r->errors / (double)r->count : 0.0;
    fprintf(f, "%-10.10s %-44.44s %8llu %6.1f %11llu %11llu", r->proto, r->key,
            (unsigned long long)r->count, rate, (unsigned long long)r->req_bytes,
            (unsigned long long)r->resp_bytes);
    print_ms(f, r->p50);
    print_ms(f, r->p90);
    print_ms(f, r->p99);
    print_ms(f, r->max);
    fputc('\n', f);
}

void pb_summary_print(struct pb_summary *s, FILE *f)
{
    uint64_t events, overflow;
    size_t groups;
    pb_summary_counts(s, &events, &groups, &overflow);
    fprintf(f, "Service summary: %llu transactions, %zu groups", (unsigned long long)events,
            groups);
    if (overflow > 0) {
        fprintf(f, ", %llu in (other) past the %zu-group cap", (unsigned long long)overflow,
                s->max_groups);
    }
    fputc('\n', f);
    fprintf(f, "%-10s %-44s %8s %6s %11s %11s %9s %9s %9s %9s\n", "protocol", "group", "count",
            "err%", "req bytes", "resp bytes", "p50 ms", "p90 ms", "p99 ms", "max ms");
    pb_summary_foreach(s, print_row, f);
    fflush(f);
}

struct ev_ctx {
    json_t *arr;
    uint64_t start_ns, end_ns;
    int failed;
};

static void event_row(void *vctx, const struct pb_summary_row *r)
{
    struct ev_ctx *c = vctx;
    json_t *ev = json_object();
    if (ev == NULL) {
        c->failed = 1;
        return;
    }
    int rc = 0;
    rc |= pb_json_put_time(ev, "@timestamp", c->end_ns);
    rc |= pb_json_put_str(ev, "type", "summary");
    rc |= pb_json_put_str(ev, "event.kind", "metric");
    rc |= pb_json_put(ev, "event.category", json_pack("[s]", "network"));
    rc |= pb_json_put(ev, "event.type", json_pack("[s]", "info"));
    rc |= pb_json_put_str(ev, "event.dataset", "summary");
    rc |= pb_json_put_time(ev, "event.start", c->start_ns);
    rc |= pb_json_put_time(ev, "event.end", c->end_ns);
    rc |= pb_json_put_int(ev, "event.duration", (int64_t)(c->end_ns - c->start_ns));
    rc |= pb_json_put_str(ev, "network.protocol", r->proto);
    rc |= pb_json_put_str(ev, "summary.protocol", r->proto);
    rc |= pb_json_put_str(ev, "summary.group", r->key);
    rc |= pb_json_put_str(ev, "summary.scope", r->all ? "protocol" : r->other ? "other" : "group");
    rc |= pb_json_put_uint(ev, "summary.count", r->count);
    rc |= pb_json_put_uint(ev, "summary.errors", r->errors);
    rc |= pb_json_put_real(ev, "summary.error_rate",
                           r->count > 0 ? (double)r->errors / (double)r->count : 0.0);
    rc |= pb_json_put_uint(ev, "summary.bytes.request", r->req_bytes);
    rc |= pb_json_put_uint(ev, "summary.bytes.response", r->resp_bytes);
    rc |= pb_json_put_uint(ev, "summary.duration.p50", r->p50);
    rc |= pb_json_put_uint(ev, "summary.duration.p90", r->p90);
    rc |= pb_json_put_uint(ev, "summary.duration.p99", r->p99);
    rc |= pb_json_put_uint(ev, "summary.duration.max", r->max);
    if (rc != 0 || json_array_append_new(c->arr, ev) != 0) {
        c->failed = 1;
    }
}

json_t *pb_summary_events(struct pb_summary *s, uint64_t start_ns, uint64_t end_ns)
{
    struct ev_ctx c = {json_array(), start_ns, end_ns >= start_ns ? end_ns : start_ns, 0};
    if (c.arr == NULL) {
        return NULL;
    }
    pb_summary_foreach(s, event_row, &c);
    if (c.failed) {
        json_decref(c.arr);
        return NULL;
    }
    return c.arr;
}

/* ---- runner ---- */

struct pb_summary_runner {
    struct pb_summary *total;  /* whole run, for --summary */
    struct pb_summary *window; /* current period; NULL without a period */
    bool table;
    int64_t period_ns;
    uint64_t window_start, run_start;
    pb_summary_emit_fn emit;
    void *ctx;
    pthread_t thread;
    bool thread_on, stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void emit_all(struct pb_summary_runner *r, struct pb_summary *s, uint64_t start)
{
    uint64_t now = wall_ns();
    json_t *arr = pb_summary_events(s, start, now);
    size_t i;
    json_t *ev;
    json_array_foreach(arr, i, ev)
    {
        r->emit(r->ctx, json_incref(ev));
    }
    json_decref(arr);
}

static void *runner_main(void *arg)
{
    struct pb_summary_runner *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        uint64_t next = r->window_start + (uint64_t)r->period_ns;
        struct timespec ts = {(time_t)(next / 1000000000ull), (long)(next % 1000000000ull)};
        int rc = pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (r->stopping) {
            break;
        }
        if (rc == ETIMEDOUT || wall_ns() >= next) {
            uint64_t start = r->window_start;
            r->window_start = wall_ns();
            pthread_mutex_unlock(&r->mu);
            uint64_t ev_n;
            size_t g;
            uint64_t ov;
            pb_summary_counts(r->window, &ev_n, &g, &ov);
            if (ev_n > 0) {
                emit_all(r, r->window, start);
            }
            pb_summary_reset(r->window);
            pthread_mutex_lock(&r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

struct pb_summary_runner *pb_summary_runner_new(const struct pb_cfg *root, bool table,
                                                pb_summary_emit_fn emit, void *ctx, char *err,
                                                size_t errlen)
{
    int64_t period = 0, max_groups = PB_SUMMARY_MAX_GROUPS;
    err[0] = '\0';
    if (pb_cfg_duration(root, "packetbeat.summary.period", 0, &period) < 0 || period < 0) {
        snprintf(err, errlen, "invalid packetbeat.summary.period");
        return NULL;
    }
    if (pb_cfg_int(root, "packetbeat.summary.max_groups", PB_SUMMARY_MAX_GROUPS, &max_groups) < 0 ||
        max_groups < 1 || max_groups > 1000000) {
        snprintf(err, errlen, "invalid packetbeat.summary.max_groups (1..1000000)");
        return NULL;
    }
    if (!table && period == 0) {
        return NULL;
    }
    struct pb_summary_runner *r = pb_calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->table = table;
    r->period_ns = period;
    r->emit = emit;
    r->ctx = ctx;
    r->run_start = r->window_start = wall_ns();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->total = table ? pb_summary_new((size_t)max_groups) : NULL;
    r->window = period > 0 ? pb_summary_new((size_t)max_groups) : NULL;
    if ((table && r->total == NULL) || (period > 0 && r->window == NULL)) {
        snprintf(err, errlen, "out of memory");
        pb_summary_runner_free(r);
        return NULL;
    }
    if (period > 0 && emit != NULL) {
        if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
            snprintf(err, errlen, "cannot start the summary thread");
            pb_summary_runner_free(r);
            return NULL;
        }
        r->thread_on = true;
    }
    return r;
}

void pb_summary_runner_observe(struct pb_summary_runner *r, pb_event *ev)
{
    if (r == NULL) {
        return;
    }
    pb_summary_observe(r->total, ev);
    pb_summary_observe(r->window, ev);
}

void pb_summary_runner_finish(struct pb_summary_runner *r)
{
    if (r == NULL) {
        return;
    }
    if (r->thread_on) {
        pthread_mutex_lock(&r->mu);
        r->stopping = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        r->thread_on = false;
    }
    if (r->emit != NULL) {
        /* the last window, or without a period the whole run */
        struct pb_summary *s = r->window != NULL ? r->window : r->total;
        uint64_t n = 0, ov;
        size_t g;
        if (s != NULL) {
            pb_summary_counts(s, &n, &g, &ov);
        }
        if (n > 0) {
            emit_all(r, s, r->window != NULL ? r->window_start : r->run_start);
        }
        r->emit = NULL;
    }
}

void pb_summary_runner_print(struct pb_summary_runner *r, FILE *f)
{
    if (r != NULL && r->table && r->total != NULL) {
        pb_summary_print(r->total, f);
    }
}

void pb_summary_runner_free(struct pb_summary_runner *r)
{
    if (r == NULL) {
        return;
    }
    pb_summary_runner_finish(r);
    pb_summary_free(r->total);
    pb_summary_free(r->window);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pb_free(r);
}
