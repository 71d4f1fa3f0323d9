/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/logstash/logstash.c - output.logstash: Lumberjack v2 to
 * the Logstash `beats` input, as libbeat's logstash output with go-lumber
 * does it.
 *
 * Settings (defaults): hosts (required; port 5044 when a host has none),
 * index ("packetbeat", lower-cased; it is @metadata.beat), loadbalance
 * (false), worker/workers (1), bulk_max_size (2048), slow_start (false),
 * pipelining (2; 0 = synchronous), compression_level (3; 0 = off), timeout
 * (30s), ttl (0; synchronous client only), escape_html (false),
 * max_retries (3) and backoff.* (the pipeline applies them), ssl.*,
 * proxy_url (socks5://) and proxy_use_local_resolver.
 *
 * Clients: the host list is `hosts` with each host repeated `worker`
 * times. loadbalance: one client (pipeline worker) per entry, each with
 * its own connection. Otherwise one client that connects to a random
 * entry and, after a failure, to another one (libbeat's failover client).
 *
 * One client:
 *
 *   worker thread (publish)                     reader thread (per connection)
 *   ─────────────────────────                   ──────────────────────────────
 *   split the batch into windows                read '2A' seq frames
 *   (whole batch, or slow-start size)           apply to the oldest window:
 *   wait while `pipelining` windows                keep-alive / partial / done
 *     are unacked                               no progress for `timeout`,
 *   encode '2W' + '2J'… (+ '2C' zlib)              EOF, a bad frame: fail every
 *   queue the window, write it                     window in flight
 *
 * A batch ends when its last window is acked (pb_batch_ack) or failed:
 * the events past the acked prefix are retried (pb_batch_retry_events,
 * which spends one attempt); the connection is closed and the next
 * publish reconnects. A batch that arrives while no connection can be
 * made is cancelled (no attempt spent) and the pipeline backs off.
 * With pipelining 0 publish waits for its batch (libbeat's sync client,
 * which also honours ttl: reconnect once the connection is that old).
 * Events that cannot be encoded are logged and given up.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/output.h"
#include "publisher/outputs/logstash/lj_net.h"
#include "publisher/outputs/logstash/lj_proto.h"

#define SEL "logstash"
#define DEF_PORT 5044
#define DEF_TIMEOUT_NS (30LL * 1000000000LL)
#define SS_START 10
#define MAX_PIPELINING 64
#define MAX_HOST_ENTRIES 1024
#define READ_SLICE_NS (200LL * 1000000LL)
#define ACKBUF 4096

struct lscfg {
    char **hosts; /* owned, NULL-terminated */
    size_t nhosts;
    int64_t workers;
    bool loadbalance;
    bool slow_start;
    bool escape_html;
    int64_t timeout_ns;
    int64_t ttl_ns;
    int pipelining;
    int compression;
    int bulk_max_size;
    char *index; /* owned, lower case */
    struct pb_lj_tls tls;
    struct pb_lj_proxy proxy;
};

struct lsbatch {
    struct pb_batch *b; /* borrowed until finished */
    size_t n;
    uint8_t *state;  /* owned: per event 0 not encoded yet, 1 sent, 2 given up */
    size_t acked_to; /* events [0, acked_to) are acked */
    unsigned pending;
    bool sending;
    bool failed;
    bool finished;
    bool owner_waits; /* sync client: publish frees it */
    char err[256];
};

struct win {
    struct lsbatch *lb; /* borrowed */
    size_t start, end;  /* batch indices */
    uint32_t count;     /* encoded events in the window */
    uint32_t acked;
};

struct lsctx {
    struct lscfg cfg;
    size_t nlist; /* hosts × workers */
    long fixed;   /* loadbalance: this client's entry; -1 failover */
    long active;  /* entry in use, -1 none yet */
    char host[PB_LJ_HOST_MAX];
    int port;
    char name[1024]; /* for logs */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool mu_init;
    struct pb_lj_conn conn;
    bool up;
    bool broken;
    bool stop_reader;
    pthread_t reader;
    bool reader_on;
    int64_t connected_at;

    struct win q[MAX_PIPELINING];
    size_t qhead;
    size_t qn;
    int64_t progress_at;

    bool use_ss;
    struct pb_lj_slowstart ss;
    struct pb_codec_buf enc;
    struct pb_codec_buf raw;
    struct pb_codec_buf out;
    struct pb_deflater deflater;
    uint64_t rng;
};

/* ---- config ------------------------------------------------------------------- */

static void lscfg_free(struct lscfg *c)
{
    pb_cfg_strv_free(c->hosts);
    c->hosts = NULL;
    pb_free(c->index);
    c->index = NULL;
    pb_lj_tls_fini(&c->tls);
}

static int range_err(const struct pb_cfg *node, const char *key, const char *what, char *err,
                     size_t errlen)
{
    char path[256];
    pb_cfg_path(node, path, sizeof path);
    snprintf(err, errlen, "%s accessing '%s.%s'", what, path, key);
    return -PB_EINVAL;
}

/* hosts, worker and loadbalance: what clients() needs too */
static int read_hosts(const struct pb_cfg *node, struct lscfg *c, char *err, size_t errlen)
{
    int64_t workers = 1;
    if (pb_cfg_strv(node, "hosts", &c->hosts, &c->nhosts) != 0 ||
        pb_cfg_int(node, "workers", 1, &workers) != 0 ||
        pb_cfg_int(node, "worker", workers, &c->workers) != 0 ||
        pb_cfg_bool(node, "loadbalance", false, &c->loadbalance) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (c->nhosts == 0) {
        return range_err(node, "hosts", "missing required field", err, errlen);
    }
    if (c->workers < 1) {
        c->workers = 1;
    }
    if ((int64_t)c->nhosts * c->workers > MAX_HOST_ENTRIES) {
        snprintf(err, errlen, "too many logstash clients (%zu hosts x %" PRId64 " workers)",
                 c->nhosts, c->workers);
        return -PB_EINVAL;
    }
    for (size_t i = 0; i < c->nhosts; i++) {
        char h[PB_LJ_HOST_MAX];
        char full[PB_LJ_HOST_MAX + 16];
        int port;
        if (pb_lj_split_host(c->hosts[i], DEF_PORT, h, sizeof h, &port, full, sizeof full) != 0) {
            snprintf(err, errlen, "address %s: invalid host or port", c->hosts[i]);
            return -PB_EINVAL;
        }
    }
    return 0;
}

static int read_cfg(const struct pb_cfg *node, struct lscfg *c, char *err, size_t errlen)
{
    const char *index = NULL;
    int64_t pipelining = 2;
    int64_t level = 3;
    int64_t bulk = 2048;
    int64_t retries = 3;
    if (pb_cfg_has(node, "port")) {
        char path[256];
        pb_cfg_path(node, path, sizeof path);
        snprintf(err, errlen, "setting '%s.port' has been removed", path);
        return -PB_EINVAL;
    }
    int rc = read_hosts(node, c, err, errlen);
    if (rc != 0) {
        return rc;
    }
    if (pb_cfg_str(node, "index", "", &index) != 0 ||
        pb_cfg_bool(node, "slow_start", false, &c->slow_start) != 0 ||
        pb_cfg_bool(node, "escape_html", false, &c->escape_html) != 0 ||
        pb_cfg_duration(node, "timeout", DEF_TIMEOUT_NS, &c->timeout_ns) != 0 ||
        pb_cfg_duration(node, "ttl", 0, &c->ttl_ns) != 0 ||
        pb_cfg_int(node, "pipelining", 2, &pipelining) != 0 ||
        pb_cfg_int(node, "compression_level", 3, &level) != 0 ||
        pb_cfg_int(node, "bulk_max_size", 2048, &bulk) != 0 ||
        pb_cfg_int(node, "max_retries", 3, &retries) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (pipelining < 0) {
        return range_err(node, "pipelining", "requires value >= 0", err, errlen);
    }
    if (level < 0) {
        return range_err(node, "compression_level", "requires value >= 0", err, errlen);
    }
    if (level > 9) {
        return range_err(node, "compression_level", "requires value <= 9", err, errlen);
    }
    if (c->ttl_ns < 0) {
        return range_err(node, "ttl", "requires duration >= 0", err, errlen);
    }
    if (retries < -1) {
        return range_err(node, "max_retries", "requires value >= -1", err, errlen);
    }
    if (pipelining > MAX_PIPELINING) {
        pb_warn(SEL, "pipelining %" PRId64 " is above the limit, using %d", pipelining,
                MAX_PIPELINING);
        pipelining = MAX_PIPELINING;
    }
    c->pipelining = (int)pipelining;
    c->compression = (int)level;
    c->bulk_max_size = bulk > 0 && bulk < INT32_MAX ? (int)bulk : 2048;
    if (c->timeout_ns <= 0) {
        c->timeout_ns = DEF_TIMEOUT_NS;
    }
    const char *ix = (index != NULL && index[0] != '\0') ? index : "packetbeat";
    c->index = pb_strdup(ix);
    if (c->index == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (char *p = c->index; *p != '\0'; p++) {
        *p = (char)tolower((unsigned char)*p);
    }
    rc = pb_lj_tls_init(&c->tls, node, err, errlen);
    if (rc != 0) {
        return rc;
    }
    return pb_lj_proxy_init(&c->proxy, node, err, errlen);
}

/* The i-th entry of hosts × workers (h1, h1, h2, h2 for two workers). */
static const char *entry_host(const struct lscfg *c, size_t i)
{
    return c->hosts[(i / (size_t)c->workers) % c->nhosts];
}

static int ls_clients(const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct lscfg c;
    memset(&c, 0, sizeof c);
    int rc = read_hosts(cfg, &c, err, errlen);
    size_t n = c.nhosts * (size_t)c.workers;
    bool lb = c.loadbalance;
    lscfg_free(&c);
    if (rc != 0) {
        return rc;
    }
    return lb ? (int)n : 1;
}

/* ---- helpers ---------------------------------------------------------------------- */

static uint64_t rng_next(struct lsctx *c)
{
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void client_name(const struct lscfg *cfg, const char *entry, char *out, size_t n)
{
    char h[PB_LJ_HOST_MAX];
    char full[PB_LJ_HOST_MAX + 16];
    int port;
    if (pb_lj_split_host(entry, DEF_PORT, h, sizeof h, &port, full, sizeof full) != 0) {
        snprintf(full, sizeof full, "%s", entry);
    }
    if (cfg->pipelining > 0) {
        snprintf(out, n, "backoff(async(tcp://%s))", full);
    } else {
        snprintf(out, n, "backoff(tcp://%s)", full);
    }
}

/* Encodes ev with @metadata.beat set to the configured index. */
static int encode_event(struct lsctx *c, json_t *ev, struct pb_codec_buf *out)
{
    json_t *meta = json_object_get(ev, "@metadata");
    const char *beat = json_string_value(json_object_get(meta, "beat"));
    if (json_is_object(meta) && beat != NULL && strcmp(beat, c->cfg.index) == 0) {
        return pb_json_encode(ev, false, c->cfg.escape_html, out);
    }
    json_t *copy = json_copy(ev);
    json_t *m2 = json_is_object(meta) ? json_copy(meta) : json_object();
    int rc = -PB_ENOMEM;
    if (copy != NULL && m2 != NULL &&
        json_object_set_new_nocheck(m2, "beat", json_string(c->cfg.index)) == 0) {
        if (!json_is_object(meta)) {
            json_object_set_new_nocheck(m2, "type", json_string_nocheck("_doc"));
        }
        if (json_object_set(copy, "@metadata", m2) == 0) {
            rc = pb_json_encode(copy, false, c->cfg.escape_html, out);
        }
    }
    json_decref(m2);
    json_decref(copy);
    return rc;
}

/* True when js (the queue's encoding of an event) starts with @timestamp
   and then "@metadata":{"beat":"<index>", ...}: then encode_event would
   write js as it is (the index holds no byte JSON escapes). */
static bool json_beat_is(const char *js, size_t len, const char *index)
{
    static const char ts[] = "{\"@timestamp\":\"";
    static const char meta[] = ",\"@metadata\":{\"beat\":\"";
    size_t ilen = strlen(index);
    for (size_t k = 0; k < ilen; k++) {
        unsigned char ch = (unsigned char)index[k];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
            return false;
        }
    }
    if (len < sizeof ts - 1 || memcmp(js, ts, sizeof ts - 1) != 0) {
        return false;
    }
    size_t i = sizeof ts - 1;
    while (i < len && js[i] != '"' && js[i] != '\\') {
        i++;
    }
    if (i >= len || js[i] != '"') {
        return false;
    }
    i++;
    if (len - i < sizeof meta - 1 + ilen + 2 || memcmp(js + i, meta, sizeof meta - 1) != 0) {
        return false;
    }
    i += sizeof meta - 1;
    if (memcmp(js + i, index, ilen) != 0 || js[i + ilen] != '"') {
        return false;
    }
    return js[i + ilen + 1] == ',' || js[i + ilen + 1] == '}';
}

/* ---- completion ------------------------------------------------------------------- */

/* Ends the pb batch of lb (no locks held). */
static void finish_batch(struct lsctx *c, struct lsbatch *lb)
{
    size_t given_up = 0;
    for (size_t i = 0; i < lb->n; i++) {
        given_up += lb->state[i] == 2;
    }
    if (!lb->failed) {
        if (given_up > 0) {
            pb_batch_given_up(lb->b, given_up);
        }
        pb_batch_ack(lb->b);
    } else {
        size_t *idx = pb_calloc(lb->n, sizeof *idx);
        pb_error(SEL, "Failed to publish events caused by: %s", lb->err);
        if (idx == NULL) {
            pb_batch_retry(lb->b);
        } else {
            size_t k = 0;
            for (size_t i = lb->acked_to; i < lb->n; i++) {
                if (lb->state[i] != 2) {
                    idx[k++] = i;
                }
            }
            if (given_up > 0) {
                pb_batch_given_up(lb->b, given_up);
            }
            pb_batch_retry_events(lb->b, idx, k);
            pb_free(idx);
        }
    }
    lb->b = NULL;
    bool free_it;
    pthread_mutex_lock(&c->mu);
    lb->finished = true;
    free_it = !lb->owner_waits;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (free_it) {
        pb_free(lb->state);
        pb_free(lb);
    }
}

/* mutex held: is lb ready to end, and nobody else ends it? */
static bool take_done(struct lsbatch *lb)
{
    if (lb->pending == 0 && !lb->sending && !lb->finished && lb->b != NULL) {
        lb->sending = true; /* claims it */
        return true;
    }
    return false;
}

/* mutex held: acked prefix of a window into batch indices */
static void advance(struct win *w)
{
    struct lsbatch *lb = w->lb;
    uint32_t seen = 0;
    size_t i = w->start;
    while (i < w->end && seen < w->acked) {
        if (lb->state[i] == 1) {
            seen++;
        }
        i++;
    }
    if (i > lb->acked_to) {
        lb->acked_to = i;
    }
}

/* Fails every window in flight (mutex held); the batches that end are put
   in done[] (room for MAX_PIPELINING). */
static size_t fail_all_locked(struct lsctx *c, const char *why, struct lsbatch **done)
{
    size_t nd = 0;
    if (c->qn > 0 && c->use_ss) {
        pb_lj_ss_shrink(&c->ss);
    }
    while (c->qn > 0) {
        struct win *w = &c->q[c->qhead];
        struct lsbatch *lb = w->lb;
        advance(w);
        if (!lb->failed) {
            lb->failed = true;
            snprintf(lb->err, sizeof lb->err, "%s", why);
        }
        lb->pending--;
        c->qhead = (c->qhead + 1) % MAX_PIPELINING;
        c->qn--;
        if (take_done(lb)) {
            done[nd++] = lb;
        }
    }
    if (!c->broken) {
        c->broken = true;
        pb_lj_conn_shutdown(&c->conn);
    }
    pthread_cond_broadcast(&c->cv);
    return nd;
}

static void fail_all(struct lsctx *c, const char *why)
{
    struct lsbatch *done[MAX_PIPELINING];
    pthread_mutex_lock(&c->mu);
    size_t nd = fail_all_locked(c, why, done);
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < nd; i++) {
        finish_batch(c, done[i]);
    }
}

/* ---- reader thread ----------------------------------------------------------------- */

static void *reader_main(void *arg)
{
    struct lsctx *c = arg;
    uint8_t buf[ACKBUF];
    size_t have = 0;
    char err[256];
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool stop = c->stop_reader || c->broken;
        int64_t deadline = c->qn > 0 ? c->progress_at + c->cfg.timeout_ns : 0;
        pthread_mutex_unlock(&c->mu);
        if (stop) {
            fail_all(c, "connection closed");
            break;
        }
        int64_t now = pb_lj_now_ns();
        if (deadline != 0 && now >= deadline) {
            fail_all(c, "read tcp: i/o timeout");
            break;
        }
        int64_t wait = READ_SLICE_NS;
        if (deadline != 0 && deadline - now < wait) {
            wait = deadline - now;
        }
        int r = pb_lj_conn_read(&c->conn, buf + have, sizeof buf - have, wait, err, sizeof err);
        if (r == 0) {
            continue;
        }
        if (r < 0) {
            fail_all(c, err);
            break;
        }
        have += (size_t)r;
        size_t off = 0;
        const char *bad = NULL;
        char why[128];
        struct lsbatch *done[MAX_PIPELINING];
        size_t nd = 0;
        pthread_mutex_lock(&c->mu);
        while (bad == NULL) {
            uint32_t seq = 0;
            enum pb_lj_ack_rc rc = pb_lj_parse_ack(buf + off, have - off, &seq);
            if (rc == PB_LJ_ACK_MORE) {
                break;
            }
            if (rc == PB_LJ_ACK_BAD) {
                bad = "lumberjack protocol error";
                break;
            }
            off += PB_LJ_ACK_LEN;
            c->progress_at = pb_lj_now_ns();
            if (c->qn == 0) {
                if (seq != 0) {
                    snprintf(why, sizeof why, "unexpected ACK (seq=%" PRIu32 ") with no window",
                             seq);
                    bad = why;
                }
                continue;
            }
            struct win *w = &c->q[c->qhead];
            enum pb_lj_win_rc wr = pb_lj_apply_ack(w->count, &w->acked, seq);
            if (wr == PB_LJ_WIN_ERROR) {
                snprintf(why, sizeof why,
                         "invalid sequence number received (seq=%" PRIu32 ", expected=%" PRIu32 ")",
                         seq, w->count);
                bad = why;
                break;
            }
            if (wr == PB_LJ_WIN_KEEPALIVE) {
                continue;
            }
            advance(w);
            if (wr == PB_LJ_WIN_DONE) {
                struct lsbatch *lb = w->lb;
                if (c->use_ss) {
                    pb_lj_ss_grow(&c->ss, (int)(lb->n > INT32_MAX ? INT32_MAX : lb->n));
                }
                lb->pending--;
                c->qhead = (c->qhead + 1) % MAX_PIPELINING;
                c->qn--;
                if (take_done(lb)) {
                    done[nd++] = lb;
                }
                pthread_cond_broadcast(&c->cv);
            }
        }
        if (bad != NULL) {
            nd += fail_all_locked(c, bad, done + nd);
        }
        pthread_mutex_unlock(&c->mu);
        memmove(buf, buf + off, have - off);
        have -= off;
        for (size_t i = 0; i < nd; i++) {
            finish_batch(c, done[i]);
        }
        if (bad != NULL) {
            break;
        }
    }
    return NULL;
}

/* ---- connection ------------------------------------------------------------------ */

static void teardown(struct lsctx *c)
{
    if (c->reader_on) {
        pthread_mutex_lock(&c->mu);
        c->stop_reader = true;
        pthread_mutex_unlock(&c->mu);
        pb_lj_conn_shutdown(&c->conn);
        pthread_join(c->reader, NULL);
        c->reader_on = false;
    }
    pb_lj_conn_close(&c->conn);
    pthread_mutex_lock(&c->mu);
    c->up = false;
    c->stop_reader = false;
    pthread_mutex_unlock(&c->mu);
}

static void pick_entry(struct lsctx *c)
{
    size_t e;
    if (c->fixed >= 0) {
        e = (size_t)c->fixed;
    } else if (c->nlist == 1) {
        e = 0;
    } else {
        /* failover: random, and another one than before */
        do {
            e = (size_t)(rng_next(c) % c->nlist);
        } while (c->active >= 0 && (long)e == c->active);
    }
    c->active = (long)e;
    char full[PB_LJ_HOST_MAX + 16];
    pb_lj_split_host(entry_host(&c->cfg, e), DEF_PORT, c->host, sizeof c->host, &c->port, full,
                     sizeof full);
    client_name(&c->cfg, entry_host(&c->cfg, e), c->name, sizeof c->name);
}

static int do_connect(struct lsctx *c)
{
    char err[512];
    teardown(c);
    pick_entry(c);
    pb_info("publisher_pipeline_output", "Connecting to %s", c->name);
    memset(&c->conn, 0, sizeof c->conn);
    c->conn.fd = -1;
    if (pb_lj_conn_open(&c->conn, c->host, c->port, &c->cfg.tls, &c->cfg.proxy, c->cfg.timeout_ns,
                        err, sizeof err) != 0) {
        pb_error("publisher_pipeline_output", "Failed to connect to %s: %s", c->name, err);
        return -PB_EIO;
    }
    pthread_mutex_lock(&c->mu);
    c->broken = false;
    c->stop_reader = false;
    c->qn = 0;
    c->qhead = 0;
    c->up = true;
    c->connected_at = pb_lj_now_ns();
    pthread_mutex_unlock(&c->mu);
    int rc = pthread_create(&c->reader, NULL, reader_main, c);
    if (rc != 0) {
        pb_error(SEL, "cannot start the ACK reader: %s", strerror(rc));
        pb_lj_conn_close(&c->conn);
        c->up = false;
        return -PB_EIO;
    }
    c->reader_on = true;
    pb_info("publisher_pipeline_output", "Connection to %s established", c->name);
    return 0;
}

static bool need_connect(struct lsctx *c)
{
    pthread_mutex_lock(&c->mu);
    bool need = !c->up || c->broken;
    pthread_mutex_unlock(&c->mu);
    if (!need && c->cfg.pipelining == 0 && c->cfg.ttl_ns > 0 &&
        pb_lj_now_ns() - c->connected_at >= c->cfg.ttl_ns) {
        pb_debug(SEL, "connection ttl reached, reconnecting");
        need = true;
        if (c->use_ss) {
            c->ss.size = SS_START < c->ss.max ? SS_START : c->ss.max;
        }
    }
    return need;
}

static int ls_connect(struct pb_output *o)
{
    struct lsctx *c = o->ctx;
    if (!need_connect(c)) {
        return 0;
    }
    return do_connect(c);
}

/* ---- publish --------------------------------------------------------------------- */

/* Encodes events [start, end) as one window into c->out; *count gets the
   number of data frames (0: nothing to send). */
static int encode_window(struct lsctx *c, struct lsbatch *lb, size_t start, size_t end,
                         uint32_t *count)
{
    uint32_t seq = 0;
    c->raw.len = 0;
    c->out.len = 0;
    for (size_t i = start; i < end; i++) {
        c->enc.len = 0;
        size_t jlen = 0;
        const char *js = c->cfg.escape_html ? NULL : pb_batch_event_json(lb->b, i, &jlen);
        int rc = js != NULL && json_beat_is(js, jlen, c->cfg.index)
                     ? pb_codec_buf_append(&c->enc, js, jlen)
                     : encode_event(c, pb_batch_event(lb->b, i), &c->enc);
        if (rc == 0) {
            rc = pb_lj_put_json(&c->raw, seq + 1, c->enc.p, c->enc.len);
        }
        if (rc != 0) {
            pb_error(SEL, "Failed to encode event: %s", pb_strerror(rc));
            lb->state[i] = 2;
            continue;
        }
        lb->state[i] = 1;
        seq++;
    }
    *count = seq;
    if (seq == 0) {
        return 0;
    }
    int rc = pb_lj_put_window(&c->out, seq);
    if (rc == 0) {
        rc = c->cfg.compression > 0 ? pb_lj_put_compressed(&c->deflater, &c->out, c->raw.p,
                                                           c->raw.len, c->cfg.compression)
                                    : pb_codec_buf_append(&c->out, c->raw.p, c->raw.len);
    }
    return rc;
}

static void ls_publish(struct pb_output *o, struct pb_batch *b)
{
    struct lsctx *c = o->ctx;
    if (need_connect(c) && do_connect(c) != 0) {
        pb_batch_cancelled(b);
        return;
    }
    size_t n = pb_batch_len(b);
    struct lsbatch *lb = pb_calloc(1, sizeof *lb);
    uint8_t *state = lb != NULL ? pb_calloc(n, 1) : NULL;
    if (state == NULL) {
        pb_free(lb);
        pb_batch_retry(b);
        return;
    }
    lb->b = b;
    lb->n = n;
    lb->state = state;
    lb->sending = true;
    lb->owner_waits = c->cfg.pipelining == 0;
    size_t maxq = c->cfg.pipelining > 0 ? (size_t)c->cfg.pipelining : 1;
    size_t pos = 0;
    char err[256];
    while (pos < n) {
        size_t wsize = c->use_ss ? (size_t)c->ss.size : n;
        size_t end = pos + wsize < n ? pos + wsize : n;
        pb_debug(SEL, "Try to publish %zu events to logstash host %s with window size %zu", n - pos,
                 c->name, wsize);
        pthread_mutex_lock(&c->mu);
        while (c->qn >= maxq && !c->broken) {
            pthread_cond_wait(&c->cv, &c->mu);
        }
        bool broken = c->broken;
        pthread_mutex_unlock(&c->mu);
        if (broken) {
            pthread_mutex_lock(&c->mu);
            if (!lb->failed) {
                lb->failed = true;
                snprintf(lb->err, sizeof lb->err, "connection closed");
            }
            pthread_mutex_unlock(&c->mu);
            break;
        }
        uint32_t count = 0;
        int rc = encode_window(c, lb, pos, end, &count);
        if (rc != 0) {
            /* the window as a whole failed to encode: give its events up */
            pb_error(SEL, "Failed to encode a window of %zu events: %s", end - pos,
                     pb_strerror(rc));
            memset(lb->state + pos, 2, end - pos);
            pos = end;
            continue;
        }
        if (count == 0) {
            pos = end;
            continue;
        }
        pthread_mutex_lock(&c->mu);
        struct win *w = &c->q[(c->qhead + c->qn) % MAX_PIPELINING];
        w->lb = lb;
        w->start = pos;
        w->end = end;
        w->count = count;
        w->acked = 0;
        if (c->qn == 0) {
            c->progress_at = pb_lj_now_ns();
        }
        c->qn++;
        lb->pending++;
        pthread_mutex_unlock(&c->mu);
        int64_t deadline = pb_lj_now_ns() + c->cfg.timeout_ns;
        if (pb_lj_conn_write(&c->conn, c->out.p, c->out.len, deadline, err, sizeof err) != 0) {
            fail_all(c, err);
            break;
        }
        pos = end;
    }
    bool waits = lb->owner_waits; /* lb may be gone once unlocked */
    pthread_mutex_lock(&c->mu);
    lb->sending = false;
    bool done = take_done(lb);
    pthread_mutex_unlock(&c->mu);
    if (done) {
        finish_batch(c, lb);
    }
    if (waits) {
        pthread_mutex_lock(&c->mu);
        while (!lb->finished) {
            pthread_cond_wait(&c->cv, &c->mu);
        }
        pthread_mutex_unlock(&c->mu);
        pb_free(lb->state);
        pb_free(lb);
    }
}

/* ---- init / close ---------------------------------------------------------------- */

static void ls_close(struct pb_output *o)
{
    struct lsctx *c = o->ctx;
    if (c == NULL) {
        return;
    }
    if (c->mu_init) {
        teardown(c); /* fails what is still in flight: retried */
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        if (c->conn.mu_init) {
            pthread_mutex_destroy(&c->conn.mu);
            c->conn.mu_init = false;
        }
        c->mu_init = false;
    }
    pb_codec_buf_free(&c->enc);
    pb_codec_buf_free(&c->raw);
    pb_codec_buf_free(&c->out);
    pb_deflater_fini(&c->deflater);
    lscfg_free(&c->cfg);
}

static int ls_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct lsctx *c = o->ctx;
    c->conn.fd = -1;
    c->active = -1;
    int rc = read_cfg(cfg, &c->cfg, err, errlen);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    c->mu_init = true;
    c->nlist = c->cfg.nhosts * (size_t)c->cfg.workers;
    c->fixed = c->cfg.loadbalance ? (long)(o->index % c->nlist) : -1;
    c->rng = (uint64_t)pb_lj_now_ns() ^ ((uint64_t)(uintptr_t)c << 7) ^ 0x9E3779B97F4A7C15ULL;
    if (c->rng == 0) {
        c->rng = 1;
    }
    c->use_ss = c->cfg.slow_start;
    o->queue_json = !c->cfg.escape_html;
    pb_lj_ss_init(&c->ss, SS_START, c->cfg.bulk_max_size);
    if (c->cfg.pipelining > 0 && c->cfg.ttl_ns > 0 && o->index == 0) {
        pb_warn(SEL, "The async Logstash client does not support the \"ttl\" option");
    }
    pick_entry(c);
    return 0;
}

/* ---- test output ----------------------------------------------------------------- */

/* libbeat's console test driver: "name..." then nested steps, OK / WARN /
   ERROR, two spaces per level; the first failure ends the test. */
struct drv {
    int level;
    bool reported;
};

static void drv_indent(const struct drv *d)
{
    for (int i = 0; i < d->level; i++) {
        fputs("  ", stdout);
    }
}

static void drv_line(struct drv *d)
{
    if (!d->reported) {
        fputc('\n', stdout);
    }
    drv_indent(d);
    d->reported = true;
}

static struct drv drv_run(struct drv *d, const char *name)
{
    if (!d->reported) {
        fputc('\n', stdout);
    }
    drv_indent(d);
    printf("%s...", name);
    struct drv sub = {.level = d->level + 1, .reported = false};
    return sub;
}

static void drv_run_end(struct drv *d, struct drv *sub)
{
    if (!sub->reported) {
        fputs("OK\n", stdout);
    }
    d->reported = true;
}

static void drv_info(struct drv *d, const char *field, const char *value)
{
    drv_line(d);
    printf("%s: %s\n", field, value);
}

static void drv_warn(struct drv *d, const char *field, const char *why)
{
    drv_line(d);
    printf("%s... WARN %s\n", field, why);
}

/* OK when err is NULL, else ERROR err; returns !err. */
static bool drv_check(struct drv *d, const char *field, const char *err)
{
    drv_line(d);
    if (err == NULL) {
        printf("%s... OK\n", field);
        return true;
    }
    printf("%s... ERROR %s\n", field, err);
    return false;
}

/* One host entry, as transport.Client.Test does it. */
static bool test_entry(struct lsctx *c, struct drv *d, const char *entry)
{
    char host[PB_LJ_HOST_MAX];
    char full[PB_LJ_HOST_MAX + 16];
    char title[PB_LJ_HOST_MAX + 64];
    char err[512];
    int port = DEF_PORT;
    if (pb_lj_split_host(entry, DEF_PORT, host, sizeof host, &port, full, sizeof full) != 0) {
        snprintf(full, sizeof full, "%s", entry);
    }
    snprintf(title, sizeof title, "logstash: %s", full);
    struct drv top = drv_run(d, title);
    bool ok = true;

    /* connection: parse host, dns lookup, addresses, dial up */
    struct drv conn = drv_run(&top, "connection");
    char addrs[PB_LJ_MAX_ADDRS][PB_LJ_HOST_MAX];
    size_t na = 0;
    ok = drv_check(&conn, "parse host", NULL);
    int rc = pb_lj_resolve(host, addrs, PB_LJ_MAX_ADDRS, &na, err, sizeof err);
    ok = drv_check(&conn, "dns lookup", rc == 0 ? NULL : err);
    if (ok) {
        char list[PB_LJ_MAX_ADDRS * (PB_LJ_HOST_MAX + 2)];
        size_t off = 0;
        list[0] = '\0';
        for (size_t i = 0; i < na; i++) {
            int k = snprintf(list + off, sizeof list - off, "%s%s", i > 0 ? ", " : "", addrs[i]);
            if (k > 0 && (size_t)k < sizeof list - off) {
                off += (size_t)k;
            }
        }
        drv_info(&conn, "addresses", list);
        int fd = pb_lj_dial_addrs(addrs, na, port, c->cfg.timeout_ns, err, sizeof err);
        ok = drv_check(&conn, "dial up", fd >= 0 ? NULL : err);
        if (fd >= 0) {
            struct pb_lj_conn tmp = {.fd = -1};
            pb_lj_conn_plain(&tmp, fd);
            pb_lj_conn_close(&tmp);
            pthread_mutex_destroy(&tmp.mu);
        }
    }
    if (!ok) {
        return false;
    }
    drv_run_end(&top, &conn);

    if (c->cfg.tls.ctx == NULL) {
        drv_warn(&top, "TLS", "secure connection disabled");
    } else {
        struct drv tls = drv_run(&top, "TLS");
        int fd = -1;
        if (pb_lj_resolve(host, addrs, PB_LJ_MAX_ADDRS, &na, err, sizeof err) == 0) {
            fd = pb_lj_dial_addrs(addrs, na, port, c->cfg.timeout_ns, err, sizeof err);
        }
        if (fd < 0) {
            return drv_check(&tls, "dial up", err);
        }
        if (c->cfg.tls.verify == PB_LJ_VERIFY_NONE) {
            drv_warn(&tls, "security", "server's certificate chain verification is disabled");
        } else {
            drv_info(&tls, "security", "server's certificate chain verification is enabled");
        }
        struct pb_lj_conn tc = {.fd = -1};
        int version = 0;
        rc = pb_lj_tls_handshake(&tc, fd, &c->cfg.tls, host, c->cfg.timeout_ns, &version, err,
                                 sizeof err);
        if (!drv_check(&tls, "handshake", rc == 0 ? NULL : err)) {
            if (tc.mu_init) {
                pthread_mutex_destroy(&tc.mu);
            }
            return false;
        }
        drv_info(&tls, "TLS version", pb_lj_tls_version_name(version));
        pb_lj_conn_close(&tc);
        pthread_mutex_destroy(&tc.mu);
        drv_check(&tls, "dial up", NULL);
        drv_run_end(&top, &tls);
    }

    struct pb_lj_conn tc = {.fd = -1};
    rc = pb_lj_conn_open(&tc, host, port, &c->cfg.tls, &c->cfg.proxy, c->cfg.timeout_ns, err,
                         sizeof err);
    pb_lj_conn_close(&tc);
    if (tc.mu_init) {
        pthread_mutex_destroy(&tc.mu);
    }
    if (!drv_check(&top, "talk to server", rc == 0 ? NULL : err)) {
        return false;
    }
    drv_run_end(d, &top);
    return true;
}

static int ls_test(struct pb_output *o, char *msg, size_t msglen)
{
    struct lsctx *c = o->ctx;
    struct drv root = {.level = 0, .reported = true};
    size_t n = c->nlist;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (!c->cfg.loadbalance && n > 1) {
            char name[32];
            snprintf(name, sizeof name, "Client %zu", i);
            struct drv sub = drv_run(&root, name);
            ok = test_entry(c, &sub, entry_host(&c->cfg, i));
            if (ok) {
                drv_run_end(&root, &sub);
            }
        } else {
            ok = test_entry(c, &root, entry_host(&c->cfg, i));
        }
    }
    fflush(stdout);
    if (msglen > 0) {
        msg[0] = '\0';
    }
    return ok ? 0 : -PB_EIO;
}

const struct pb_output_ops pb_output_logstash = {
    .name = "logstash",
    .flags = PB_OUTPUT_NET,
    .ctx_size = sizeof(struct lsctx),
    .default_bulk_max_size = 2048,
    .default_max_retries = 3,
    .max_inflight = MAX_PIPELINING + 1,
    .clients = ls_clients,
    .init = ls_init,
    .connect = ls_connect,
    .publish = ls_publish,
    .close = ls_close,
    .test = ls_test,
};
