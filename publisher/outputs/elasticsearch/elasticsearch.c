/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/elasticsearch/elasticsearch.c - output.elasticsearch
 * (libbeat outputs/elasticsearch): one client per worker and host (load
 * balancing: every client takes batches from the same queue), each with its
 * own keep-alive connection.
 *
 * Settings (defaults): hosts (required), protocol, path, username/password
 * or api_key (not both), headers, parameters, proxy_url, proxy_disable,
 * ssl.*, bulk_max_size (1600), worker (1), compression_level (1),
 * escape_html (false), timeout (90s), idle_connection_timeout (3s), index
 * ("packetbeat-%{[agent.version]}") and indices, pipeline and pipelines,
 * max_retries (3), backoff.init/max (1s/60s), preset, allow_older_versions
 * (true), non_indexable_policy (drop | dead_letter_index.index).
 *
 * connect: GET / (version; with allow_older_versions false an older
 * major.minor than the Beat is refused), then index management as
 * Packetbeat does on connect: ILM policy, index template (kept when it
 * exists), data stream.
 *
 * publish: one _bulk request per batch (split in halves on 413). Per item:
 * < 300 acked; 409 a duplicate (acked); 429 and >= 500 retried; other 4xx
 * dropped and logged (or re-sent to the dead letter index). A request that
 * fails as a whole (no answer, non-200 status, an answer that cannot be
 * parsed) retries every event; the pipeline backs off.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/lazy/lazylib.h"
#include "beat/log.h"
#include "es.h"
#include "publisher/output.h"

#define SEL "elasticsearch"

#ifndef PB_COMMIT
#define PB_COMMIT "unknown"
#endif

/* libbeat defaults */
#define DEF_BULK_MAX_SIZE 1600
#define DEF_MAX_RETRIES 3
#define DEF_TIMEOUT_NS (90LL * 1000000000LL)
#define DEF_IDLE_NS (3LL * 1000000000LL)
#define DEF_COMPRESSION 1
#define SEC 1000000000LL

struct preset {
    const char *name;
    int64_t bulk_max_size, worker, events, min_events, flush_ns, compression, idle_ns;
};

/* libbeat's config_presets.go values */
static const struct preset presets[] = {
    {"balanced", 1600, 1, 3200, 1600, 10 * SEC, 1, 3 * SEC},
    {"throughput", 1600, 4, 12800, 1600, 5 * SEC, 1, 15 * SEC},
    {"scale", 1600, 1, 3200, 1600, 20 * SEC, 1, 1 * SEC},
    {"latency", 50, 1, 4100, 2050, 1 * SEC, 1, 60 * SEC},
    {"custom", -1, -1, -1, -1, -1, -1, -1},
};

/* ---- dead letter bookkeeping --------------------------------------------------- */

/* Events refused with a non-retryable status that go to the dead letter
   index on their next attempt. Keyed by the event; the table holds a
   reference so a pointer is never reused while listed. Shared by the
   clients, since a retried batch may reach any of them. */
struct dl_entry {
    json_t *ev; /* one reference */
    int status;
    char *msg; /* owned */
};

static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dl_entry *dl_tab;
static size_t dl_n, dl_cap;
static unsigned dl_users;

static struct dl_entry *dl_find(const json_t *ev)
{
    for (size_t i = 0; i < dl_n; i++) {
        if (dl_tab[i].ev == ev) {
            return &dl_tab[i];
        }
    }
    return NULL;
}

static bool dl_add(json_t *ev, int status, const char *msg)
{
    bool ok = false;
    pthread_mutex_lock(&dl_mu);
    if (dl_find(ev) == NULL && dl_n < ES_MAX_DEAD_LETTER) {
        if (dl_n == dl_cap) {
            size_t nc = dl_cap ? dl_cap * 2 : 64;
            struct dl_entry *nt = pb_realloc(dl_tab, nc * sizeof *nt);
            if (nt != NULL) {
                dl_tab = nt;
                dl_cap = nc;
            }
        }
        if (dl_n < dl_cap) {
            dl_tab[dl_n].ev = json_incref(ev);
            dl_tab[dl_n].status = status;
            dl_tab[dl_n].msg = pb_strdup(msg != NULL ? msg : "");
            dl_n++;
            ok = true;
        }
    }
    pthread_mutex_unlock(&dl_mu);
    return ok;
}

/* Copies the entry of ev (msg owned by the caller); false when none. */
static bool dl_get(const json_t *ev, int *status, char **msg)
{
    pthread_mutex_lock(&dl_mu);
    struct dl_entry *e = dl_find(ev);
    if (e != NULL) {
        *status = e->status;
        *msg = pb_strdup(e->msg);
    }
    pthread_mutex_unlock(&dl_mu);
    return e != NULL;
}

static void dl_remove(const json_t *ev)
{
    pthread_mutex_lock(&dl_mu);
    struct dl_entry *e = dl_find(ev);
    if (e != NULL) {
        json_decref(e->ev);
        pb_free(e->msg);
        *e = dl_tab[--dl_n];
    }
    pthread_mutex_unlock(&dl_mu);
}

static void dl_ref(void)
{
    pthread_mutex_lock(&dl_mu);
    dl_users++;
    pthread_mutex_unlock(&dl_mu);
}

static void dl_unref(void)
{
    pthread_mutex_lock(&dl_mu);
    if (dl_users > 0 && --dl_users == 0) {
        for (size_t i = 0; i < dl_n; i++) {
            json_decref(dl_tab[i].ev);
            pb_free(dl_tab[i].msg);
        }
        pb_free(dl_tab);
        dl_tab = NULL;
        dl_n = dl_cap = 0;
    }
    pthread_mutex_unlock(&dl_mu);
}

/* ---- the client -------------------------------------------------------------------- */

struct host {
    char *url; /* owned */
    char *user, *pass;
};

/* The selectors' choice (index, pipeline, operation) for events whose
 * @metadata and agent are the client's shared templates: the events of a
 * run share one or two such pairs, and selectors that read nothing else
 * choose the same for each, so it is made once per pair. Known by the
 * templates' encodings (not their addresses, which a new template may
 * reuse), or, when the queue holds the events' JSON, by the text of the
 * two members in it; then the server's version. Never evicted (a batch's
 * items borrow the strings): pairs past META_MEMOS are chosen every time. */
enum { META_MEMOS = 4 };
struct meta_memo {
    char *key; /* owned: @metadata's and agent's encodings or texts, then the version */
    size_t klen;
    struct es_item_meta meta; /* owned */
};

struct esout {
    struct es_conn_cfg cc;
    struct host *hosts; /* owned */
    size_t nhosts;
    struct es_conn conn; /* this client's host */
    bool conn_ready;
    struct es_sel *index;
    struct es_sel *pipeline;
    char *dead_letter_index; /* owned, NULL: drop */
    /* events still in their arena need no tree: no dead letter index and
       selectors that read at most @timestamp, @metadata and agent */
    bool arena_ok;
    /* and read nothing but @metadata and agent: memos below */
    bool memo_ok;
    /* and no escape_html: the queue holds the events' JSON (queue_json),
       a document is its event's encoding less @metadata, and a memo is
       found by the text of @metadata and agent */
    bool json_ok;
    struct meta_memo memos[META_MEMOS];
    size_t nmemos;
    bool allow_older;
    bool need_connect;
    struct es_setup_docs setup;
    bool setup_ok;
    bool dl_registered;
    struct pb_codec_buf body;
    /* per publish scratch */
    struct es_item_meta *meta;
    bool *encoded;
    bool *is_dl;
    int *status;
    char **msg;
    size_t scratch_cap;
};

static int cfg_err(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", pb_cfg_errmsg());
    return -PB_EINVAL;
}

static const struct preset *find_preset(const struct pb_cfg *cfg, char *err, size_t errlen, int *rc)
{
    const char *name = NULL;
    *rc = 0;
    if (pb_cfg_str(cfg, "preset", NULL, &name) != 0) {
        *rc = cfg_err(err, errlen);
        return NULL;
    }
    if (name == NULL || name[0] == '\0') {
        return NULL;
    }
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            return &presets[i];
        }
    }
    snprintf(err, errlen, "error applying preset: unknown preset value %s", name);
    *rc = -PB_EINVAL;
    return NULL;
}

static size_t count_hosts(const struct pb_cfg *cfg)
{
    char **v = NULL;
    size_t n = 0;
    if (pb_cfg_strv(cfg, "hosts", &v, &n) != 0) {
        return 0;
    }
    pb_cfg_strv_free(v);
    return n;
}

/* Preset values override the user's (libbeat warns about each). */
static int es_tune(const struct pb_cfg *cfg, struct pb_output_tuning *t, char *err, size_t errlen)
{
    int rc;
    const struct preset *p = find_preset(cfg, err, errlen, &rc);
    if (rc != 0) {
        return rc;
    }
    int64_t worker = t->clients;
    if (p != NULL && p->worker > 0) {
        char over[256] = "";
        static const char *const keys[] = {"bulk_max_size", "worker", "compression_level",
                                           "idle_connection_timeout", "queue"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            if (pb_cfg_has(cfg, keys[i])) {
                size_t l = strlen(over);
                snprintf(over + l, sizeof over - l, "%s%s", l > 0 ? ", " : "", keys[i]);
            }
        }
        if (over[0] != '\0') {
            pb_warn(SEL, "Some output settings were overridden by preset '%s': %s", p->name, over);
        }
        worker = p->worker;
        t->bulk_max_size = p->bulk_max_size;
        t->queue_events = p->events;
        t->queue_min_events = p->min_events;
        t->queue_flush_timeout_ns = p->flush_ns;
    }
    size_t nh = count_hosts(cfg);
    t->clients = worker * (int64_t)(nh > 0 ? nh : 1);
    return 0;
}

static char *b64(const char *s)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *o = pb_malloc((n + 2) / 3 * 4 + 1);
    size_t k = 0;
    if (o == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)s[i] << 16;
        if (i + 1 < n) {
            v |= (unsigned)(unsigned char)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= (unsigned char)s[i + 2];
        }
        o[k++] = tbl[(v >> 18) & 63];
        o[k++] = tbl[(v >> 12) & 63];
        o[k++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    o[k] = '\0';
    return o;
}

static int pct_append(struct pb_codec_buf *b, const char *s)
{
    static const char hx[] = "0123456789ABCDEF";
    int rc = 0;
    for (; *s != '\0' && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rc = pb_codec_buf_append(b, s, 1);
        } else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            rc = pb_codec_buf_append(b, e, 3);
        }
    }
    return rc;
}

/* A map node's scalar children. */
static int read_map(const struct pb_cfg *cfg, const char *key,
                    int (*each)(void *, const char *, const char *), void *ud, char *err,
                    size_t errlen)
{
    const struct pb_cfg *m = pb_cfg_get(cfg, key);
    char path[256];
    if (m == NULL || m->kind == PB_CFG_NULL) {
        return 0;
    }
    pb_cfg_path(m, path, sizeof path);
    if (m->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "required 'object', but found 'string' in field '%s'", path);
        return -PB_EINVAL;
    }
    size_t n = pb_cfg_len(m);
    if (n > ES_MAX_HEADERS) {
        snprintf(err, errlen, "too many entries accessing '%s'", path);
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *c = pb_cfg_at(m, i);
        if (c->kind != PB_CFG_SCALAR) {
            snprintf(err, errlen, "required 'string' accessing '%s.%s'", path, c->key);
            return -PB_EINVAL;
        }
        int rc = each(ud, c->key, c->value != NULL ? c->value : "");
        if (rc != 0) {
            snprintf(err, errlen, "out of memory");
            return rc;
        }
    }
    return 0;
}

static int add_header(void *ud, const char *k, const char *v)
{
    struct es_conn_cfg *cc = ud;
    char **nh = pb_realloc(cc->headers, (cc->nheaders + 1) * sizeof *nh);
    if (nh == NULL) {
        return -PB_ENOMEM;
    }
    cc->headers = nh;
    size_t l = strlen(k) + strlen(v) + 3;
    char *line = pb_malloc(l);
    if (line == NULL) {
        return -PB_ENOMEM;
    }
    snprintf(line, l, "%s: %s", k, v);
    cc->headers[cc->nheaders++] = line;
    return 0;
}

static int add_param(void *ud, const char *k, const char *v)
{
    struct pb_codec_buf *b = ud;
    int rc = 0;
    if (b->len > 0) {
        rc = pb_codec_buf_append(b, "&", 1);
    }
    if (rc == 0) {
        rc = pct_append(b, k);
    }
    if (rc == 0) {
        rc = pb_codec_buf_append(b, "=", 1);
    }
    if (rc == 0) {
        rc = pct_append(b, v);
    }
    return rc;
}

static long tls_version(const char *s, bool *ok)
{
    *ok = true;
    if (strcmp(s, "TLSv1.0") == 0 || strcmp(s, "TLSv1") == 0) {
        return 0;
    }
    if (strcmp(s, "TLSv1.1") == 0) {
        return 1;
    }
    if (strcmp(s, "TLSv1.2") == 0) {
        return 2;
    }
    if (strcmp(s, "TLSv1.3") == 0) {
        return 3;
    }
    *ok = false;
    return 0;
}

static int read_ssl(struct es_conn_cfg *cc, const struct pb_cfg *cfg, bool https, char *err,
                    size_t errlen)
{
    const struct pb_cfg *ssl = pb_cfg_get(cfg, "ssl");
    bool enabled = true;
    const char *mode = "full";
    const char *cert = NULL, *key = NULL, *pass = NULL;
    if (pb_cfg_bool(ssl, "enabled", true, &enabled) != 0 ||
        pb_cfg_str(ssl, "verification_mode", "full", &mode) != 0 ||
        pb_cfg_str(ssl, "certificate", NULL, &cert) != 0 ||
        pb_cfg_str(ssl, "key", NULL, &key) != 0 ||
        pb_cfg_str(ssl, "key_passphrase", NULL, &pass) != 0 ||
        pb_cfg_strv(ssl, "certificate_authorities", &cc->cas, &cc->ncas) != 0) {
        return cfg_err(err, errlen);
    }
    cc->ssl_enabled = (ssl != NULL ? enabled : true) && https;
    if (strcmp(mode, "none") == 0) {
        cc->verify = 0;
    } else if (strcmp(mode, "certificate") == 0) {
        cc->verify = 1;
    } else if (strcmp(mode, "full") == 0 || strcmp(mode, "strict") == 0 || mode[0] == '\0') {
        cc->verify = 2;
    } else {
        char path[256];
        pb_cfg_path(ssl, path, sizeof path);
        snprintf(err, errlen, "unknown verification mode '%s' accessing '%s.verification_mode'",
                 mode, path);
        return -PB_EINVAL;
    }
    if (mode[0] == '\0') {
        cc->verify = 2;
    }
    if (cert != NULL && key == NULL) {
        snprintf(err, errlen, "certificate file configured, but key file missing");
        return -PB_EINVAL;
    }
    if (key != NULL && cert == NULL) {
        snprintf(err, errlen, "key file configured, but certificate file missing");
        return -PB_EINVAL;
    }
    cc->cert = cert != NULL ? pb_strdup(cert) : NULL;
    cc->key = key != NULL ? pb_strdup(key) : NULL;
    cc->key_passphrase = pass != NULL ? pb_strdup(pass) : NULL;
    /* supported_protocols (default TLSv1.1..TLSv1.3) */
    char **protos = NULL;
    size_t np = 0;
    if (pb_cfg_strv(ssl, "supported_protocols", &protos, &np) != 0) {
        return cfg_err(err, errlen);
    }
    long lo = 1, hi = 3;
    if (np > 0) {
        lo = 3;
        hi = 0;
        for (size_t i = 0; i < np; i++) {
            bool ok;
            long v = tls_version(protos[i], &ok);
            if (!ok) {
                snprintf(err, errlen, "invalid tls version '%s'", protos[i]);
                pb_cfg_strv_free(protos);
                return -PB_EINVAL;
            }
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    pb_cfg_strv_free(protos);
    static const long mins[] = {CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1,
                                CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3};
    static const long maxs[] = {CURL_SSLVERSION_MAX_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1,
                                CURL_SSLVERSION_MAX_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_3};
    cc->tls_min = mins[lo];
    cc->tls_max = maxs[hi];
    return 0;
}

static int read_policy(struct esout *e, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    const struct pb_cfg *p = pb_cfg_get(cfg, "non_indexable_policy");
    char path[256];
    if (p == NULL || p->kind == PB_CFG_NULL) {
        return 0;
    }
    pb_cfg_path(p, path, sizeof path);
    if (p->kind != PB_CFG_MAP || pb_cfg_len(p) != 1) {
        snprintf(err, errlen, "only one namespace can be configured accessing '%s'", path);
        return -PB_EINVAL;
    }
    const struct pb_cfg *pol = pb_cfg_at(p, 0);
    if (strcmp(pol->key, "drop") == 0) {
        return 0;
    }
    if (strcmp(pol->key, "dead_letter_index") == 0) {
        const char *idx = NULL;
        if (pb_cfg_str(pol, "index", NULL, &idx) != 0) {
            return cfg_err(err, errlen);
        }
        if (idx == NULL || idx[0] == '\0') {
            snprintf(err, errlen, "empty index name accessing '%s.dead_letter_index'", path);
            return -PB_EINVAL;
        }
        e->dead_letter_index = pb_strdup(idx);
        return e->dead_letter_index != NULL ? 0 : -PB_ENOMEM;
    }
    snprintf(err, errlen, "no such policy type: %s accessing '%s'", pol->key, path);
    return -PB_EINVAL;
}

static void user_agent(char *buf, size_t n)
{
#if defined(__x86_64__)
    const char *arch = "amd64";
#elif defined(__aarch64__)
    const char *arch = "arm64";
#else
    const char *arch = "unknown";
#endif
    snprintf(buf, n, "Elastic-Packetbeat/%s (linux; %s; %s; %s)", PB_VERSION, arch, PB_COMMIT,
             __DATE__ " " __TIME__);
}

/* Reads everything but the host list; shared with `setup`. */
static int read_conn_cfg(struct es_conn_cfg *cc, const struct pb_cfg *cfg, bool https, char *err,
                         size_t errlen)
{
    const char *user = NULL, *pass = NULL, *apikey = NULL, *proxy = NULL;
    int64_t level = DEF_COMPRESSION;
    int rc;
    const struct preset *p = find_preset(cfg, err, errlen, &rc);
    if (rc != 0) {
        return rc;
    }
    if (pb_cfg_str(cfg, "username", NULL, &user) != 0 ||
        pb_cfg_str(cfg, "password", NULL, &pass) != 0 ||
        pb_cfg_str(cfg, "api_key", NULL, &apikey) != 0 ||
        pb_cfg_str(cfg, "proxy_url", NULL, &proxy) != 0 ||
        pb_cfg_bool(cfg, "proxy_disable", false, &cc->proxy_disable) != 0 ||
        pb_cfg_int(cfg, "compression_level", DEF_COMPRESSION, &level) != 0 ||
        pb_cfg_bool(cfg, "escape_html", false, &cc->escape_html) != 0 ||
        pb_cfg_duration(cfg, "timeout", DEF_TIMEOUT_NS, &cc->timeout_ns) != 0 ||
        pb_cfg_duration(cfg, "idle_connection_timeout", DEF_IDLE_NS, &cc->idle_ns) != 0) {
        return cfg_err(err, errlen);
    }
    char path[256];
    pb_cfg_path(cfg, path, sizeof path);
    if (apikey != NULL && apikey[0] != '\0' &&
        ((user != NULL && user[0] != '\0') || (pass != NULL && pass[0] != '\0'))) {
        snprintf(err, errlen, "cannot set both api_key and username/password accessing '%s'", path);
        return -PB_EINVAL;
    }
    if (p != NULL && p->compression >= 0) {
        level = p->compression;
        cc->idle_ns = p->idle_ns;
    }
    if (level < 0 || level > 9) {
        snprintf(err, errlen, "requires value %s accessing '%s.compression_level'",
                 level < 0 ? ">= 0" : "<= 9", path);
        return -PB_EINVAL;
    }
    cc->compression = (int)level;
    if (user != NULL && user[0] != '\0') {
        cc->username = pb_strdup(user);
    }
    if (pass != NULL && pass[0] != '\0') {
        cc->password = pb_strdup(pass);
    }
    if (apikey != NULL && apikey[0] != '\0') {
        cc->api_key = b64(apikey);
    }
    if (proxy != NULL && proxy[0] != '\0') {
        if (strstr(proxy, "://") == NULL) {
            snprintf(err, errlen, "parse \"%s\": invalid URI for request accessing '%s.proxy_url'",
                     proxy, path);
            return -PB_EINVAL;
        }
        cc->proxy_url = pb_strdup(proxy);
    }
    rc = read_map(cfg, "headers", add_header, cc, err, errlen);
    if (rc != 0) {
        return rc;
    }
    struct pb_codec_buf q = {0};
    rc = read_map(cfg, "parameters", add_param, &q, err, errlen);
    if (rc != 0) {
        pb_codec_buf_free(&q);
        return rc;
    }
    if (q.len > 0 && pb_codec_buf_append(&q, "", 1) == 0) {
        cc->query = q.p;
    } else {
        pb_codec_buf_free(&q);
    }
    rc = read_ssl(cc, cfg, https, err, errlen);
    if (rc != 0) {
        return rc;
    }
    user_agent(cc->user_agent, sizeof cc->user_agent);
    return 0;
}

static int read_hosts(const struct pb_cfg *cfg, struct host **out, size_t *nout, bool *https,
                      char *err, size_t errlen)
{
    char **hosts = NULL;
    size_t n = 0;
    const char *protocol = NULL, *pathp = NULL;
    char path[256];
    *out = NULL;
    *nout = 0;
    *https = false;
    pb_cfg_path(cfg, path, sizeof path);
    if (pb_cfg_strv(cfg, "hosts", &hosts, &n) != 0 ||
        pb_cfg_str(cfg, "protocol", NULL, &protocol) != 0 ||
        pb_cfg_str(cfg, "path", NULL, &pathp) != 0) {
        pb_cfg_strv_free(hosts);
        return cfg_err(err, errlen);
    }
    if (n == 0) {
        pb_cfg_strv_free(hosts);
        snprintf(err, errlen, "missing required field accessing '%s.hosts'", path);
        return -PB_EINVAL;
    }
    if (n > ES_MAX_HOSTS) {
        pb_cfg_strv_free(hosts);
        snprintf(err, errlen, "too many hosts (limit %d) accessing '%s.hosts'", ES_MAX_HOSTS, path);
        return -PB_EINVAL;
    }
    struct host *h = pb_calloc(n, sizeof *h);
    if (h == NULL) {
        pb_cfg_strv_free(hosts);
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        char why[512];
        h[i].url = es_make_url(hosts[i], protocol, pathp, &h[i].user, &h[i].pass, why, sizeof why);
        if (h[i].url == NULL) {
            pb_error(SEL, "invalid host param set: %s, Error: %s", hosts[i], why);
            snprintf(err, errlen, "%s", why);
            for (size_t k = 0; k < i; k++) {
                pb_free(h[k].url);
                pb_free(h[k].user);
                pb_free(h[k].pass);
            }
            pb_free(h);
            pb_cfg_strv_free(hosts);
            return -PB_EINVAL;
        }
        if (strncmp(h[i].url, "https://", 8) == 0) {
            *https = true;
        }
    }
    pb_cfg_strv_free(hosts);
    *out = h;
    *nout = n;
    return 0;
}

static void free_hosts(struct host *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pb_free(h[i].url);
        pb_free(h[i].user);
        pb_free(h[i].pass);
    }
    pb_free(h);
}

static int es_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct esout *e = o->ctx;
    bool https = false;
    if (pb_lazy_curl(err, errlen) != 0) {
        return -PB_EINVAL;
    }
    int rc = read_hosts(cfg, &e->hosts, &e->nhosts, &https, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = read_conn_cfg(&e->cc, cfg, https, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (pb_cfg_bool(cfg, "allow_older_versions", true, &e->allow_older) != 0) {
        return cfg_err(err, errlen);
    }
    rc = read_policy(e, cfg, err, errlen);
    if (rc != 0) {
        return rc;
    }
    char def_index[128];
    snprintf(def_index, sizeof def_index, "%s-%%{[agent.version]}", o->beat);
    e->index = es_sel_new(cfg, "index", "indices", def_index, err, errlen);
    if (e->index == NULL) {
        return -PB_EINVAL;
    }
    e->pipeline = es_sel_new(cfg, "pipeline", "pipelines", NULL, err, errlen);
    if (e->pipeline == NULL) {
        return -PB_EINVAL;
    }
    const struct host *h = &e->hosts[o->index % e->nhosts];
    rc = es_conn_init(&e->conn, &e->cc, h->url, h->user, h->pass);
    if (rc != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    e->conn_ready = true;
    e->arena_ok = e->dead_letter_index == NULL && !es_sel_reads_fields(e->index) &&
                  !es_sel_reads_fields(e->pipeline);
    e->memo_ok =
        e->arena_ok && es_sel_reads_meta_only(e->index) && es_sel_reads_meta_only(e->pipeline);
    e->json_ok = e->memo_ok && !e->cc.escape_html;
    o->queue_json = e->json_ok;
    o->queue_spans = e->json_ok;
    if (o->root != NULL) {
        rc = es_setup_docs_init(&e->setup, o->root, err, errlen);
        if (rc != 0) {
            return rc;
        }
        e->setup_ok = true;
    }
    dl_ref();
    e->dl_registered = true;
    if (o->index == 0) {
        pb_info(SEL, "elasticsearch url: %s", h->url);
    } else {
        pb_debug(SEL, "elasticsearch url: %s", h->url);
    }
    return 0;
}

static int es_connect(struct pb_output *o)
{
    struct esout *e = o->ctx;
    char err[2048] = "";
    pb_info(SEL, "Connecting to backoff(elasticsearch(%s))", e->conn.url);
    if (es_ping(&e->conn, err, sizeof err) != 0) {
        pb_error(SEL, "Failed to connect to backoff(elasticsearch(%s)): %s", e->conn.url, err);
        return -PB_EIO;
    }
    if (!e->allow_older) {
        int bmaj = 0, bmin = 0;
        sscanf(PB_VERSION, "%d.%d", &bmaj, &bmin);
        if (e->conn.major < bmaj || (e->conn.major == bmaj && e->conn.minor < bmin)) {
            pb_error(SEL,
                     "Failed to connect to backoff(elasticsearch(%s)): Connection marked as "
                     "failed because the onConnect callback failed: Elasticsearch is too old. "
                     "Please upgrade the instance. If you would like to connect to older "
                     "instances set output.elasticsearch.allow_older_versions to true. ES=%s, "
                     "Beat=%s",
                     e->conn.url, e->conn.version, PB_VERSION);
            return -PB_EIO;
        }
    }
    if (e->setup_ok) {
        if (es_setup_index(&e->conn, &e->setup, false, err, sizeof err) != 0) {
            pb_error(SEL,
                     "Failed to connect to backoff(elasticsearch(%s)): Connection marked as "
                     "failed because the onConnect callback failed: %s",
                     e->conn.url, err);
            return -PB_EIO;
        }
    }
    pb_info(SEL, "Connection to backoff(elasticsearch(%s)) established", e->conn.url);
    e->need_connect = false;
    return 0;
}

static int grow_scratch(struct esout *e, size_t n)
{
    if (n <= e->scratch_cap) {
        return 0;
    }
    struct es_item_meta *m = pb_realloc(e->meta, n * sizeof *m);
    if (m != NULL) {
        e->meta = m;
    }
    bool *enc = pb_realloc(e->encoded, n * sizeof *enc);
    if (enc != NULL) {
        e->encoded = enc;
    }
    bool *isdl = pb_realloc(e->is_dl, n * sizeof *isdl);
    if (isdl != NULL) {
        e->is_dl = isdl;
    }
    int *st = pb_realloc(e->status, n * sizeof *st);
    if (st != NULL) {
        e->status = st;
    }
    char **msg = pb_realloc(e->msg, n * sizeof *msg);
    if (msg != NULL) {
        e->msg = msg;
    }
    if (m == NULL || enc == NULL || isdl == NULL || st == NULL || msg == NULL) {
        return -PB_ENOMEM;
    }
    e->scratch_cap = n;
    return 0;
}

static const char *doc_type(const struct esout *e)
{
    return e->conn.major > 0 && e->conn.major < 7 ? "doc" : NULL;
}

#define BULK_QUERY "filter_path=errors,items.*.error,items.*.status"

/* The memo key of ev (into k): false when its @metadata or agent is not a
   shared template encoded already. */
static bool memo_key(const struct esout *e, pb_event *ev, struct pb_codec_buf *k)
{
    const json_t *meta = pb_ev_frozen_member(ev, "@metadata", 9);
    const json_t *agent = pb_ev_frozen_member(ev, "agent", 5);
    size_t mlen, alen;
    bool inexact;
    const char *menc = meta != NULL ? pb_ev_frozen_enc(meta, &mlen, &inexact) : NULL;
    const char *aenc = agent != NULL ? pb_ev_frozen_enc(agent, &alen, &inexact) : NULL;
    if (menc == NULL || aenc == NULL) {
        return false;
    }
    int version[2] = {e->conn.major, e->conn.minor};
    k->len = 0;
    return pb_codec_buf_append(k, menc, mlen) == 0 && pb_codec_buf_append(k, "", 1) == 0 &&
           pb_codec_buf_append(k, aenc, alen) == 0 &&
           pb_codec_buf_append(k, version, sizeof version) == 0;
}

/* The memo key of the i-th event of b when the queue holds it encoded (into
   k): the text of its @metadata and agent members (equal texts, equal
   values), then the server's version. False when either was not noted. */
static bool memo_key_json(const struct esout *e, const struct pb_batch *b, size_t i,
                          struct pb_codec_buf *k)
{
    size_t len;
    struct pb_enc_spans sp;
    const char *js = pb_batch_event_json(b, i, &len);
    if (js == NULL || !pb_batch_event_spans(b, i, &sp) || sp.meta_len == 0 || sp.agent_len == 0 ||
        sp.meta_at > len || sp.meta_len > len - sp.meta_at || sp.agent_at > len ||
        sp.agent_len > len - sp.agent_at) {
        return false;
    }
    int version[2] = {e->conn.major, e->conn.minor};
    k->len = 0;
    return pb_codec_buf_append(k, js + sp.meta_at, sp.meta_len) == 0 &&
           pb_codec_buf_append(k, "", 1) == 0 &&
           pb_codec_buf_append(k, js + sp.agent_at, sp.agent_len) == 0 &&
           pb_codec_buf_append(k, version, sizeof version) == 0;
}

static const struct meta_memo *memo_find(const struct esout *e, const struct pb_codec_buf *k)
{
    for (size_t i = 0; i < e->nmemos; i++) {
        const struct meta_memo *m = &e->memos[i];
        if (m->klen == k->len && memcmp(m->key, k->p, k->len) == 0) {
            return m;
        }
    }
    return NULL;
}

/* Keeps a copy of what was chosen for key k (when there is room). */
static void memo_add(struct esout *e, const struct pb_codec_buf *k, const struct es_item_meta *em)
{
    if (e->nmemos == META_MEMOS) {
        return;
    }
    struct meta_memo *m = &e->memos[e->nmemos];
    m->key = pb_malloc(k->len);
    m->meta = (struct es_item_meta){.op = em->op};
    m->meta.index = pb_strdup(em->index);
    m->meta.pipeline = em->pipeline != NULL ? pb_strdup(em->pipeline) : NULL;
    m->meta.id = em->id != NULL ? pb_strdup(em->id) : NULL;
    if (m->key == NULL || m->meta.index == NULL || (em->pipeline != NULL && !m->meta.pipeline) ||
        (em->id != NULL && !m->meta.id)) {
        pb_free(m->key);
        es_item_meta_clear(&m->meta);
        return;
    }
    memcpy(m->key, k->p, k->len);
    m->klen = k->len;
    e->nmemos++;
}

static void memos_free(struct esout *e)
{
    for (size_t i = 0; i < e->nmemos; i++) {
        pb_free(e->memos[i].key);
        es_item_meta_clear(&e->memos[i].meta);
    }
    e->nmemos = 0;
}

/* What es_item_meta_of reads of an event still in its arena, when the
 * selectors read no other field: @timestamp, @metadata and agent (new,
 * NULL on failure: then the tree is used). */
static json_t *meta_view(pb_event *ev)
{
    json_t *v = json_object();
    if (v == NULL) {
        return NULL;
    }
    /* the _new setters take the value even when they fail */
    json_t *ts = pb_ev_get_timestamp(ev);
    if (ts != NULL && json_object_set_new_nocheck(v, "@timestamp", ts) != 0) {
        json_decref(v);
        return NULL;
    }
    json_t *meta = pb_ev_get_json(ev, "@metadata");
    if (meta != NULL && json_object_set_new_nocheck(v, "@metadata", meta) != 0) {
        json_decref(v);
        return NULL;
    }
    json_t *agent = pb_ev_get_json(ev, "agent");
    if (agent != NULL && json_object_set_new_nocheck(v, "agent", agent) != 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* Appends event i's bulk item (action line and document) to body: the dead
 * letter document for an event sent there, else the event as encoded for
 * this output. */
static int append_item(struct esout *e, struct pb_batch *b, size_t i, struct pb_codec_buf *body)
{
    int rc;
    if (e->is_dl[i]) {
        int st = 0;
        char *msg = NULL;
        char *doc = NULL;
        if (dl_get(pb_batch_event(b, i), &st, &msg)) {
            doc = es_dead_letter_doc(pb_batch_event(b, i), st, msg, e->cc.escape_html);
        }
        struct es_item_meta dm = {.op = ES_OP_CREATE, .index = e->dead_letter_index};
        rc = doc != NULL
                 ? es_bulk_append_raw(body, &dm, doc_type(e), doc, strlen(doc), e->cc.escape_html)
                 : -PB_ENOMEM;
        pb_free(doc);
        pb_free(msg);
    } else {
        size_t jlen = 0;
        struct pb_enc_spans sp = {0};
        const char *js = e->json_ok ? pb_batch_event_json(b, i, &jlen) : NULL;
        pb_event *aev = e->arena_ok ? pb_batch_arena(b, i) : NULL;
        if (js != NULL && pb_batch_event_spans(b, i, &sp) && sp.meta_len > 0) {
            rc = es_bulk_append_cut(body, &e->meta[i], doc_type(e), js, jlen, sp.meta_at,
                                    sp.meta_len);
        } else if (aev != NULL) {
            rc = es_bulk_append_ev(body, &e->meta[i], doc_type(e), aev, e->cc.escape_html);
        } else {
            rc = es_bulk_append(body, &e->meta[i], doc_type(e), pb_batch_event(b, i),
                                e->cc.escape_html);
        }
    }
    return rc;
}

/* Event i's document as it went in the bulk request (pb_malloc'd), or
 * NULL: what libbeat writes to the event data log for an item Elasticsearch
 * refused. */
static char *item_doc(struct esout *e, struct pb_batch *b, size_t i)
{
    struct pb_codec_buf buf = {0};
    char *doc = NULL;
    if (append_item(e, b, i, &buf) == 0) {
        /* the action line, then the document line */
        const char *nl = memchr(buf.p, '\n', buf.len);
        if (nl != NULL) {
            size_t off = (size_t)(nl + 1 - buf.p);
            size_t len = buf.len - off;
            if (len > 0 && buf.p[buf.len - 1] == '\n') {
                len--;
            }
            doc = pb_strndup(buf.p + off, len);
        }
    }
    pb_codec_buf_free(&buf);
    return doc;
}

/* The event data log line for item i refused with status st (the main log
 * has the same text without the event): "<what> '<document>' (status=N):
 * <the item's error><tail>". */
static void log_refused_item(struct esout *e, struct pb_batch *b, size_t i, int st,
                             enum pb_log_level lvl, const char *what, const char *tail)
{
    if (!pb_log_enabled(lvl, SEL)) {
        return;
    }
    char *doc = item_doc(e, b, i);
    pb_log_event_data(lvl, SEL, "%s '%s' (status=%d): %s%s", what, doc != NULL ? doc : "", st,
                      e->msg[i] != NULL ? e->msg[i] : "", tail);
    pb_free(doc);
}

/* Sends the encoded events in idx[0..n) as one _bulk request and fills
 * e->status for them. 413 splits the range in halves. Returns 0 when an
 * answer was read (statuses set, 0 for unanswered), -PB_EIO when the
 * connection failed (statuses stay 0). */
static int send_range(struct esout *e, struct pb_batch *b, const size_t *idx, size_t n)
{
    char err[2048];
    struct pb_codec_buf *body = &e->body;
    body->len = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        int rc = append_item(e, b, i, body);
        if (rc != 0) {
            pb_error(SEL, "Failed to encode event: %s", pb_strerror(rc));
            e->status[i] = -1; /* not sent: dropped */
        }
    }
    if (body->len == 0) {
        return 0;
    }
    long status = 0;
    if (es_request(&e->conn, "POST", "/_bulk", BULK_QUERY, body->p, body->len, &status, err,
                   sizeof err) != 0) {
        pb_error(SEL, "failed to perform any bulk index operations: %s", err);
        return -PB_EIO;
    }
    if (status == 413) {
        if (n > 1) {
            size_t h = n / 2;
            int r1 = send_range(e, b, idx, h);
            if (r1 != 0) {
                return r1;
            }
            return send_range(e, b, idx + h, n - h);
        }
        pb_error(SEL, "the bulk payload is too large for the server. Consider to adjust "
                      "`http.max_content_length` parameter in Elasticsearch or `bulk_max_size` in "
                      "the beat. The batch has been dropped");
        e->status[idx[0]] = -1;
        return 0;
    }
    if (status != 200) {
        pb_error(SEL, "failed to perform any bulk index operations: %s: %.*s",
                 e->conn.status_line[0] ? e->conn.status_line : "error",
                 (int)(e->conn.resp.len > 1024 ? 1024 : e->conn.resp.len),
                 e->conn.resp.p != NULL ? e->conn.resp.p : "");
        return 0; /* statuses stay 0: retried */
    }
    /* items answer the events that made it into the body, in order */
    size_t sent = 0;
    for (size_t k = 0; k < n; k++) {
        if (e->status[idx[k]] == 0) {
            sent++;
        }
    }
    int *st = pb_calloc(sent > 0 ? sent : 1, sizeof *st);
    char **msg = pb_calloc(sent > 0 ? sent : 1, sizeof *msg);
    if (st == NULL || msg == NULL) {
        pb_free(st);
        pb_free(msg);
        return 0;
    }
    int got = es_bulk_parse(e->conn.resp.p, e->conn.resp.len, sent, st, msg, err, sizeof err);
    if (got < 0) {
        pb_error(SEL, "failed to parse bulk response: %s", err);
    } else if ((size_t)got < sent) {
        pb_error(SEL, "Failed to parse bulk response item: expected %zu items, read %d", sent, got);
    }
    size_t j = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        if (e->status[i] != 0) {
            continue;
        }
        e->status[i] = st[j];
        e->msg[i] = msg[j];
        j++;
    }
    pb_free(st);
    pb_free(msg);
    return 0;
}

static void es_publish(struct pb_output *o, struct pb_batch *b)
{
    struct esout *e = o->ctx;
    size_t n = pb_batch_len(b);
    char err[1024];

    if (e->need_connect && es_connect(o) != 0) {
        pb_batch_cancelled(b);
        return;
    }
    if (grow_scratch(e, n) != 0) {
        pb_error(SEL, "out of memory");
        pb_batch_retry(b);
        return;
    }
    size_t *idx = pb_calloc(n, sizeof *idx);
    size_t *retry = pb_calloc(n, sizeof *retry);
    if (idx == NULL || retry == NULL) {
        pb_free(idx);
        pb_free(retry);
        pb_batch_retry(b);
        return;
    }
    size_t nidx = 0;
    size_t given_up = 0;
    struct pb_codec_buf key = {0};
    for (size_t i = 0; i < n; i++) {
        pb_event *aev = e->arena_ok ? pb_batch_arena(b, i) : NULL;
        bool keyed = e->json_ok ? memo_key_json(e, b, i, &key)
                                : e->memo_ok && aev != NULL && memo_key(e, aev, &key);
        const struct meta_memo *memo = keyed ? memo_find(e, &key) : NULL;
        if (memo != NULL) {
            e->status[i] = 0;
            e->msg[i] = NULL;
            e->is_dl[i] = false;
            e->encoded[i] = true;
            e->meta[i] = memo->meta;
            e->meta[i].borrowed = true;
            idx[nidx++] = i;
            continue;
        }
        json_t *view = aev != NULL ? meta_view(aev) : NULL;
        json_t *ev = view != NULL ? view : pb_batch_event(b, i);
        e->status[i] = 0;
        e->msg[i] = NULL;
        e->is_dl[i] = false;
        e->encoded[i] = false;
        memset(&e->meta[i], 0, sizeof e->meta[i]);
        int st;
        char *m = NULL;
        if (e->dead_letter_index != NULL && dl_get(ev, &st, &m)) {
            pb_free(m);
            e->is_dl[i] = true;
            idx[nidx++] = i;
            continue;
        }
        int mrc = es_item_meta_of(ev, e->index, e->pipeline, e->conn.major, e->conn.minor,
                                  &e->meta[i], err, sizeof err);
        json_decref(view);
        if (mrc != 0) {
            pb_error(SEL, "%s", err);
            given_up++;
            continue;
        }
        if (keyed) {
            memo_add(e, &key, &e->meta[i]);
        }
        e->encoded[i] = true;
        idx[nidx++] = i;
    }
    pb_codec_buf_free(&key);

    int rc = nidx > 0 ? send_range(e, b, idx, nidx) : 0;
    size_t nretry = 0;
    size_t acked = 0, dups = 0, dropped = 0, dlq = 0;
    for (size_t k = 0; k < nidx; k++) {
        size_t i = idx[k];
        /* the dead letter table knows events by their trees */
        json_t *ev = e->dead_letter_index != NULL ? pb_batch_event(b, i) : NULL;
        int st = e->status[i];
        if (st < 0) { /* could not be sent at all */
            given_up++;
            dl_remove(ev);
            continue;
        }
        switch (es_item_classify(st)) {
        case ES_ITEM_ACK:
            acked++;
            if (e->is_dl[i]) {
                dlq++;
                dl_remove(ev);
            }
            break;
        case ES_ITEM_DUP:
            dups++;
            dl_remove(ev);
            break;
        case ES_ITEM_RETRY:
            if (st != 0) {
                pb_debug(SEL, "Bulk item insert failed (i=%zu, status=%d): %s", i, st,
                         e->msg[i] != NULL ? e->msg[i] : "");
            }
            retry[nretry++] = i;
            break;
        case ES_ITEM_FATAL:
            /* the event itself goes to the event data log only, as in libbeat */
            if (e->is_dl[i]) {
                pb_error(SEL,
                         "Can't deliver to dead letter index event (status=%d). Look at the "
                         "event log to view the event and cause.",
                         st);
                log_refused_item(e, b, i, st, PB_LOG_ERROR,
                                 "Can't deliver to dead letter index event", "");
                dl_remove(ev);
                dropped++;
            } else if (e->dead_letter_index != NULL &&
                       dl_add(ev, st, e->msg[i] != NULL ? e->msg[i] : "")) {
                pb_warn(SEL,
                        "Cannot index event (status=%d), trying dead letter index. Look at the "
                        "event log to view the event and cause.",
                        st);
                /* still the event itself: is_dl[i] changes at the next attempt */
                log_refused_item(e, b, i, st, PB_LOG_WARN, "Cannot index event",
                                 ", trying dead letter index");
                retry[nretry++] = i;
            } else {
                pb_warn(SEL,
                        "Cannot index event (status=%d): dropping event! Look at the event log "
                        "to view the event and cause.",
                        st);
                log_refused_item(e, b, i, st, PB_LOG_WARN, "Cannot index event",
                                 ", dropping event!");
                dropped++;
            }
            break;
        }
    }
    given_up += dropped;
    for (size_t i = 0; i < n; i++) {
        pb_free(e->msg[i]);
        e->msg[i] = NULL;
        if (e->encoded[i]) {
            es_item_meta_clear(&e->meta[i]);
        }
    }
    pb_debug(SEL,
             "bulk: %zu events: %zu acked, %zu duplicates, %zu to retry, %zu dropped, %zu to "
             "the dead letter index",
             n, acked, dups, nretry, given_up, dlq);
    if (rc != 0) {
        /* no answer: reconnect (GET /) before the next request */
        e->need_connect = true;
    }
    pb_batch_given_up(b, given_up);
    pb_batch_retry_events(b, retry, nretry);
    pb_free(idx);
    pb_free(retry);
}

static void es_close(struct pb_output *o)
{
    struct esout *e = o->ctx;
    if (e == NULL) {
        return;
    }
    if (e->conn_ready) {
        es_conn_fini(&e->conn);
    }
    es_conn_cfg_free(&e->cc);
    free_hosts(e->hosts, e->nhosts);
    es_sel_free(e->index);
    es_sel_free(e->pipeline);
    memos_free(e);
    pb_free(e->dead_letter_index);
    es_setup_docs_fini(&e->setup);
    pb_codec_buf_free(&e->body);
    pb_free(e->meta);
    pb_free(e->encoded);
    pb_free(e->is_dl);
    pb_free(e->status);
    pb_free(e->msg);
    if (e->dl_registered) {
        dl_unref();
    }
    memset(e, 0, sizeof *e);
}

/* `test output`: every host, printed as libbeat's test driver does. */
static int es_test(struct pb_output *o, char *msg, size_t msglen)
{
    struct esout *e = o->ctx;
    int rc = 0;
    for (size_t i = 0; i < e->nhosts && rc == 0; i++) {
        struct es_conn c;
        if (es_conn_init(&c, &e->cc, e->hosts[i].url, e->hosts[i].user, e->hosts[i].pass) != 0) {
            snprintf(msg, msglen, "out of memory");
            return -PB_ENOMEM;
        }
        rc = es_conn_test(&c, stdout);
        es_conn_fini(&c);
    }
    fflush(stdout);
    if (rc != 0) {
        msg[0] = '\0';
    }
    return rc;
}

const struct pb_output_ops pb_output_elasticsearch = {
    .name = "elasticsearch",
    .flags = PB_OUTPUT_NET,
    .ctx_size = sizeof(struct esout),
    .default_bulk_max_size = DEF_BULK_MAX_SIZE,
    .default_max_retries = DEF_MAX_RETRIES,
    .max_inflight = 1,
    .init = es_init,
    .connect = es_connect,
    .publish = es_publish,
    .close = es_close,
    .test = es_test,
    .tune = es_tune,
};

/* For `setup`: the connection settings and hosts of output.elasticsearch. */
int es_output_conns(const struct pb_cfg *node, struct es_conn_cfg *cc, struct es_conn **conns,
                    size_t *n, char *err, size_t errlen);

int es_output_conns(const struct pb_cfg *node, struct es_conn_cfg *cc, struct es_conn **conns,
                    size_t *n, char *err, size_t errlen)
{
    struct host *h = NULL;
    size_t nh = 0;
    bool https = false;
    *conns = NULL;
    *n = 0;
    int rc = read_hosts(node, &h, &nh, &https, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = read_conn_cfg(cc, node, https, err, errlen);
    if (rc != 0) {
        free_hosts(h, nh);
        return rc;
    }
    struct es_conn *c = pb_calloc(nh, sizeof *c);
    if (c == NULL) {
        free_hosts(h, nh);
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < nh; i++) {
        if (es_conn_init(&c[i], cc, h[i].url, h[i].user, h[i].pass) != 0) {
            for (size_t k = 0; k < i; k++) {
                es_conn_fini(&c[k]);
            }
            pb_free(c);
            free_hosts(h, nh);
            snprintf(err, errlen, "out of memory");
            return -PB_ENOMEM;
        }
    }
    free_hosts(h, nh);
    *conns = c;
    *n = nh;
    return 0;
}
