/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/kafka/kafka.c - output.kafka (libbeat outputs/kafka) on
 * librdkafka.
 *
 * Settings (defaults, libbeat's): hosts (required), topic / topics (one is
 * required; format strings and rules, publisher/fmtstr.h), key (format
 * string), partition.{random,round_robin,hash} (hash; reachable_only,
 * group_events, hash.hash, hash.random), version (2.1.0), client_id
 * (beats), codec, headers, metadata.{refresh_frequency (10m), full,
 * retry.max, retry.backoff}, required_acks (1), compression (gzip; none,
 * snappy, lz4, zstd), compression_level (4), max_message_bytes (1000000),
 * timeout (30s), broker_timeout (10s), keep_alive (0), channel_buffer_size
 * (256), bulk_max_size (2048), bulk_flush_frequency (0), max_retries (3),
 * backoff.init/max, username/password, sasl.mechanism, ssl.*.
 *
 * How they map onto librdkafka:
 *   version            api.version.request (>= 0.10) + broker.version.fallback;
 *                      at connect an ApiVersions probe checks that a broker
 *                      accepts the Produce version this `version` implies and
 *                      fails with a clear message if not
 *   required_acks      acks              broker_timeout  request.timeout.ms
 *   compression(_level) compression.codec (+ compression.level for gzip)
 *   max_message_bytes  checked per message (key + value; larger ones are
 *                      dropped and counted, as libbeat does) + message.max.bytes
 *   timeout            socket.timeout.ms, message.timeout.ms
 *   keep_alive         socket.keepalive.enable   client_id  client.id
 *   bulk_max_size      batch.num.messages  bulk_flush_frequency  linger.ms
 *   channel_buffer_size bounds queue.buffering.max.messages
 *   metadata.*         topic.metadata.refresh.interval.ms / .sparse /
 *                      .fast.interval.ms
 *   backoff.init       retry.backoff.ms (librdkafka does no retries of its
 *                      own: retries = 0; the pipeline retries failed events
 *                      with backoff and max_retries as for every output)
 *   username/password, sasl.mechanism  security.protocol sasl_*, sasl.*
 *   ssl.*              security.protocol ssl, ssl.ca/certificate/key.*,
 *                      enable.ssl.certificate.verification,
 *                      ssl.endpoint.identification.algorithm
 *   partition.*        our partitioner callback (libbeat's strategies)
 *
 * Delivery: each event is one message whose opaque points at its batch;
 * librdkafka's delivery reports (polled by one thread per client) end the
 * batch once every message reported: all ok -> ack, else the failed ones
 * are retried (pb_batch_retry_events) and the rest acked.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/lazy/lazylib.h"
#include "beat/log.h"
#include "publisher/codec.h"
#include "publisher/fmtstr.h"
#include "publisher/output.h"
#include "publisher/outputs/kafka/kafka_util.h"

#define SEL "kafka"
#define MAX_HOSTS 256
#define MAX_TOPICS 1024 /* distinct topics one client keeps handles for */
#define MAX_HEADERS 64
#define MAX_AVAIL 4096 /* partitions considered for reachable_only */

enum part_mode {
    PART_HASH,
    PART_RANDOM,
    PART_ROUND_ROBIN,
};

struct khdr {
    char *key;   /* owned */
    char *value; /* owned */
};

struct kafkaout;

struct ktopic {
    char *name; /* owned */
    rd_kafka_topic_t *rkt;
    struct kafkaout *ko; /* borrowed */
    pthread_mutex_t mu;  /* partitioner state, used from librdkafka threads */
    int32_t partition;
    int64_t count;
    uint64_t rng;
};

struct kbatch {
    struct pb_batch *b;
    atomic_size_t pending;
    pthread_mutex_t mu;
    size_t *failed; /* owned */
    size_t nfailed;
    size_t given_up;
    char err[256];
    struct kmsg *msgs; /* owned */
};

struct kmsg {
    struct kbatch *kb;
    size_t idx;
    uint32_t hash;
    bool has_hash;  /* hash computed (key or fields) */
    bool hash_fail; /* a hash field was missing */
};

struct kafkaout {
    /* settings */
    char **hosts; /* owned */
    size_t nhosts;
    int64_t worker;
    struct pb_outsel *topic; /* owned */
    struct pb_fmtstr *key;   /* owned, NULL: no key */
    struct pb_codec codec;
    struct khdr *headers; /* owned */
    size_t nheaders;
    struct pb_kafka_version version;
    char version_str[32];
    enum part_mode pmode;
    bool reachable_only;
    int64_t group_events;
    char **hash_fields; /* owned */
    size_t nhash_fields;
    bool reads_fields; /* the topic, key or partition reads event fields */
    bool hash_random;
    int64_t max_message_bytes;
    int64_t timeout_ns;
    bool tls;
    bool probe; /* ApiVersions check possible (no TLS) */
    char client_id[256];
    rd_kafka_conf_t *conf; /* owned until rd_kafka_new takes it */

    /* runtime */
    rd_kafka_t *rk;
    pthread_t poller;
    bool poller_started;
    atomic_bool stop;
    pthread_mutex_t tmu; /* topics */
    struct ktopic **topics;
    size_t ntopics;
    bool tmu_init;
    struct pb_codec_buf enc;
    struct pb_codec_buf tbuf;
    struct pb_codec_buf kbuf;
    uint64_t rng;
};

/* ---- small helpers ------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v, char *err, size_t errlen)
{
    char e[256];
    if (rd_kafka_conf_set(c, k, v, e, sizeof e) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka setting %s=%s: %s", k, v, e);
        return -PB_EINVAL;
    }
    return 0;
}

static int conf_setf(rd_kafka_conf_t *c, const char *k, char *err, size_t errlen, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
static int conf_setf(rd_kafka_conf_t *c, const char *k, char *err, size_t errlen, const char *fmt,
                     ...)
{
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    return conf_set(c, k, v, err, errlen);
}

static int64_t clamp_ms(int64_t ns, int64_t lo, int64_t hi)
{
    int64_t ms = ns / 1000000;
    return ms < lo ? lo : ms > hi ? hi : ms;
}

/* Milliseconds since the epoch of a Beats @timestamp text (0 when it is
   not one). */
static int64_t ts_text_ms(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, used = 0;
    if (s == NULL ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6) {
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = s + used;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    return ms;
}

/* @timestamp as milliseconds since the epoch; 0 when absent. */
static int64_t event_ts_ms(const json_t *ev)
{
    return ts_text_ms(json_string_value(json_object_get(ev, "@timestamp")));
}

/* The @timestamp text an event's encoding begins with (Beats writes it
   first), as event_ts_ms reads it; false when the encoding begins with
   anything else. */
static bool encoded_ts_ms(const char *js, size_t len, int64_t *ms)
{
    static const char key[] = "{\"@timestamp\":\"";
    size_t k = sizeof key - 1;
    char text[64];
    if (len <= k || memcmp(js, key, k) != 0) {
        return false;
    }
    const char *v = js + k;
    const char *q = memchr(v, '"', len - k < sizeof text ? len - k : sizeof text);
    if (q == NULL || memchr(v, '\\', (size_t)(q - v)) != NULL) {
        return false;
    }
    memcpy(text, v, (size_t)(q - v));
    text[q - v] = '\0';
    *ms = ts_text_ms(text);
    return true;
}

/* ---- librdkafka callbacks ------------------------------------------------- */

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    enum pb_log_level l = level <= 3   ? PB_LOG_ERROR
                          : level == 4 ? PB_LOG_WARN
                          : level <= 6 ? PB_LOG_INFO
                                       : PB_LOG_DEBUG;
    if (pb_log_enabled(l, SEL)) {
        pb_log(l, SEL, "librdkafka %s: %s", fac, buf);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        pb_error(SEL, "Kafka: client has run out of available brokers to talk to: %s", reason);
    } else {
        pb_warn(SEL, "Kafka error: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
}

static void kbatch_free(struct kbatch *kb)
{
    pthread_mutex_destroy(&kb->mu);
    pb_free(kb->failed);
    pb_free(kb->msgs);
    pb_free(kb);
}

/* One message done: the last one ends the batch. */
static void kbatch_done(struct kbatch *kb)
{
    if (atomic_fetch_sub(&kb->pending, 1) != 1) {
        return;
    }
    struct pb_batch *b = kb->b;
    pb_debug(SEL, "finished kafka batch");
    if (kb->nfailed > 0) {
        pb_error(SEL, "Kafka publish failed with: %s", kb->err);
        pb_batch_given_up(b, kb->given_up);
        pb_batch_retry_events(b, kb->failed, kb->nfailed);
    } else {
        pb_batch_given_up(b, kb->given_up);
        pb_batch_ack(b);
    }
    kbatch_free(kb);
}

static void kbatch_fail(struct kbatch *kb, size_t idx, const char *why)
{
    pthread_mutex_lock(&kb->mu);
    kb->failed[kb->nfailed++] = idx;
    if (kb->err[0] == '\0') {
        snprintf(kb->err, sizeof kb->err, "%s", why);
    }
    pthread_mutex_unlock(&kb->mu);
}

static void kbatch_giveup(struct kbatch *kb)
{
    pthread_mutex_lock(&kb->mu);
    kb->given_up++;
    pthread_mutex_unlock(&kb->mu);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    struct kmsg *km = m->_private;
    if (km == NULL) {
        return;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *topic = m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "";
        if (m->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
            m->err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE) {
            pb_error(SEL, "Kafka (topic=%s): dropping too large message of size %zu.", topic,
                     m->len + m->key_len);
            kbatch_giveup(km->kb);
        } else if (m->err == RD_KAFKA_RESP_ERR_INVALID_MSG) {
            pb_error(SEL, "Kafka (topic=%s): dropping invalid message", topic);
            kbatch_giveup(km->kb);
        } else {
            kbatch_fail(km->kb, km->idx, rd_kafka_err2str(m->err));
        }
    }
    kbatch_done(km->kb);
}

/* libbeat's partitioners (messagePartitioner + strategies). */
static int32_t partitioner_cb(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                              int32_t cnt, void *rkt_opaque, void *msg_opaque)
{
    struct ktopic *t = rkt_opaque;
    const struct kmsg *km = msg_opaque;
    if (t == NULL || cnt <= 0) {
        return RD_KAFKA_PARTITION_UA;
    }
    struct kafkaout *ko = t->ko;
    int32_t avail[MAX_AVAIL];
    int32_t n = cnt;
    bool mapped = false;
    if (ko->reachable_only && cnt <= MAX_AVAIL) {
        int32_t k = 0;
        for (int32_t i = 0; i < cnt; i++) {
            if (rd_kafka_topic_partition_available(rkt, i)) {
                avail[k++] = i;
            }
        }
        if (k > 0) {
            n = k;
            mapped = true;
        }
    }
    int32_t p = 0;
    pthread_mutex_lock(&t->mu);
    switch (ko->pmode) {
    case PART_RANDOM:
        if (t->count >= ko->group_events || t->partition >= n) {
            t->count = 0;
            t->partition = (int32_t)(xorshift(&t->rng) % (uint64_t)n);
        }
        t->count++;
        p = t->partition;
        break;
    case PART_ROUND_ROBIN:
        if (t->count >= ko->group_events) {
            t->count = 0;
            t->partition++;
        }
        if (t->partition >= n || t->partition < 0) {
            t->partition = 0;
        }
        t->count++;
        p = t->partition;
        break;
    case PART_HASH:
    default:
        if (km != NULL && km->has_hash && !km->hash_fail) {
            p = pb_kafka_hash2partition(km->hash, n);
        } else if (km != NULL && km->hash_fail && !ko->hash_random) {
            p = 0; /* libbeat: a failed hash leaves the message on partition 0 */
        } else if (ko->nhash_fields == 0 && key != NULL && keylen > 0) {
            p = pb_kafka_hash2partition(pb_kafka_fnv1a(PB_FNV32_INIT, key, keylen), n);
        } else {
            p = (int32_t)(xorshift(&t->rng) % (uint64_t)n);
        }
        break;
    }
    pthread_mutex_unlock(&t->mu);
    if (p < 0 || p >= n) {
        p = 0;
    }
    return mapped ? avail[p] : p;
}

static void *poll_main(void *arg)
{
    struct kafkaout *ko = arg;
    while (!atomic_load(&ko->stop)) {
        rd_kafka_poll(ko->rk, 100);
    }
    return NULL;
}

/* ---- config --------------------------------------------------------------- */

static int cfg_fail(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", pb_cfg_errmsg());
    return -PB_EINVAL;
}

static int read_partition(struct kafkaout *ko, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    char path[256];
    const struct pb_cfg *part = pb_cfg_get(cfg, "partition");
    ko->pmode = PART_HASH;
    ko->hash_random = true;
    ko->group_events = 1;
    if (part == NULL || part->kind == PB_CFG_NULL) {
        return 0;
    }
    pb_cfg_path(part, path, sizeof path);
    if (part->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "required 'object', but found '%s' in field '%s'",
                 part->kind == PB_CFG_LIST ? "array" : "string", path);
        return -PB_EINVAL;
    }
    if (pb_cfg_len(part) > 1) {
        snprintf(err, errlen, "too many partitioners accessing '%s'", path);
        return -PB_EINVAL;
    }
    if (pb_cfg_len(part) == 0) {
        return 0;
    }
    const struct pb_cfg *p = pb_cfg_at(part, 0);
    if (strcmp(p->key, "random") == 0) {
        ko->pmode = PART_RANDOM;
    } else if (strcmp(p->key, "round_robin") == 0) {
        ko->pmode = PART_ROUND_ROBIN;
    } else if (strcmp(p->key, "hash") == 0) {
        ko->pmode = PART_HASH;
    } else {
        snprintf(err, errlen, "unknown kafka partition mode %s accessing '%s'", p->key, path);
        return -PB_EINVAL;
    }
    if (pb_cfg_bool(p, "reachable_only", false, &ko->reachable_only) != 0) {
        return cfg_fail(err, errlen);
    }
    if (ko->pmode != PART_HASH) {
        if (pb_cfg_int(p, "group_events", 1, &ko->group_events) != 0) {
            return cfg_fail(err, errlen);
        }
        if (ko->group_events < 1) {
            pb_cfg_path(p, path, sizeof path);
            snprintf(err, errlen, "requires value >= 1 accessing '%s.group_events'", path);
            return -PB_EINVAL;
        }
    } else if (pb_cfg_strv(p, "hash", &ko->hash_fields, &ko->nhash_fields) != 0 ||
               pb_cfg_bool(p, "random", true, &ko->hash_random) != 0) {
        return cfg_fail(err, errlen);
    }
    return 0;
}

static int read_headers(struct kafkaout *ko, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    const struct pb_cfg *h = pb_cfg_get(cfg, "headers");
    if (h == NULL || h->kind != PB_CFG_LIST) {
        return 0;
    }
    size_t n = pb_cfg_len(h);
    if (n > MAX_HEADERS) {
        snprintf(err, errlen, "too many kafka headers (limit %d)", MAX_HEADERS);
        return -PB_EINVAL;
    }
    ko->headers = pb_calloc(n ? n : 1, sizeof *ko->headers);
    if (ko->headers == NULL) {
        return -PB_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *it = pb_cfg_at(h, i);
        const char *k = NULL;
        const char *v = NULL;
        if (pb_cfg_str(it, "key", "", &k) != 0 || pb_cfg_str(it, "value", "", &v) != 0) {
            return cfg_fail(err, errlen);
        }
        if (k == NULL || k[0] == '\0') {
            continue;
        }
        ko->headers[ko->nheaders].key = pb_strdup(k);
        ko->headers[ko->nheaders].value = pb_strdup(v != NULL ? v : "");
        ko->nheaders++;
        if (ko->headers[ko->nheaders - 1].key == NULL ||
            ko->headers[ko->nheaders - 1].value == NULL) {
            return -PB_ENOMEM;
        }
    }
    return 0;
}

/* ssl.* onto librdkafka; *on tells whether TLS is used. */
static int read_ssl(rd_kafka_conf_t *c, const struct pb_cfg *cfg, bool *on, char *err,
                    size_t errlen)
{
    const struct pb_cfg *ssl = pb_cfg_get(cfg, "ssl");
    bool enabled = true;
    *on = false;
    if (ssl == NULL) {
        return 0;
    }
    if (ssl->kind == PB_CFG_MAP && pb_cfg_bool(ssl, "enabled", true, &enabled) != 0) {
        return cfg_fail(err, errlen);
    }
    if (!enabled) {
        return 0;
    }
    *on = true;
    if (ssl->kind != PB_CFG_MAP) {
        return 0;
    }
    const char *vm = "full";
    const char *cert = NULL;
    const char *key = NULL;
    const char *pass = NULL;
    char **cas = NULL;
    size_t ncas = 0;
    if (pb_cfg_str(ssl, "verification_mode", "full", &vm) != 0 ||
        pb_cfg_str(ssl, "certificate", NULL, &cert) != 0 ||
        pb_cfg_str(ssl, "key", NULL, &key) != 0 ||
        pb_cfg_str(ssl, "key_passphrase", NULL, &pass) != 0 ||
        pb_cfg_strv(ssl, "certificate_authorities", &cas, &ncas) != 0) {
        return cfg_fail(err, errlen);
    }
    int rc = 0;
    if (vm == NULL || strcasecmp(vm, "full") == 0 || strcasecmp(vm, "strict") == 0) {
        rc = conf_set(c, "ssl.endpoint.identification.algorithm", "https", err, errlen);
    } else if (strcasecmp(vm, "certificate") == 0) {
        rc = conf_set(c, "ssl.endpoint.identification.algorithm", "none", err, errlen);
    } else if (strcasecmp(vm, "none") == 0) {
        rc = conf_set(c, "enable.ssl.certificate.verification", "false", err, errlen);
        if (rc == 0) {
            rc = conf_set(c, "ssl.endpoint.identification.algorithm", "none", err, errlen);
        }
    } else {
        snprintf(err, errlen, "unknown verification mode '%s'", vm);
        rc = -PB_EINVAL;
    }
    if (rc == 0 && ncas > 0) {
        bool pem = strstr(cas[0], "-----BEGIN") != NULL;
        rc = conf_set(c, pem ? "ssl.ca.pem" : "ssl.ca.location", cas[0], err, errlen);
        if (ncas > 1) {
            pb_warn(SEL, "only the first of ssl.certificate_authorities is used");
        }
    }
    if (rc == 0 && cert != NULL) {
        bool pem = strstr(cert, "-----BEGIN") != NULL;
        rc = conf_set(c, pem ? "ssl.certificate.pem" : "ssl.certificate.location", cert, err,
                      errlen);
    }
    if (rc == 0 && key != NULL) {
        bool pem = strstr(key, "-----BEGIN") != NULL;
        rc = conf_set(c, pem ? "ssl.key.pem" : "ssl.key.location", key, err, errlen);
    }
    if (rc == 0 && pass != NULL) {
        rc = conf_set(c, "ssl.key.password", pass, err, errlen);
    }
    if (rc == 0 && (pb_cfg_has(ssl, "cipher_suites") || pb_cfg_has(ssl, "supported_protocols"))) {
        pb_warn(SEL, "ssl.cipher_suites and ssl.supported_protocols are not applied to Kafka "
                     "connections by this build");
    }
    pb_cfg_strv_free(cas);
    return rc;
}

static int kafka_clients(const struct pb_cfg *cfg, char *err, size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    return 1; /* libbeat: one client; librdkafka has its own broker threads */
}

static int kafka_init(struct pb_output *o, const struct pb_cfg *cfg, char *err, size_t errlen)
{
    struct kafkaout *ko = o->ctx;
    char path[256];
    const char *version = NULL;
    const char *client_id = NULL;
    const char *compression = NULL;
    const char *username = NULL;
    const char *password = NULL;
    const char *mech = NULL;
    const char *key = NULL;
    int64_t clevel = 4, acks = 1, mmb = 1000000, chanbuf = 256, bulk = 2048;
    int64_t broker_timeout = 10LL * 1000000000LL, keep_alive = 0, flush_freq = 0;
    int64_t meta_refresh = 600LL * 1000000000LL, meta_backoff = 250000000LL, meta_max = 3;
    int64_t backoff_init = 1000000000LL, workers = 1;
    bool meta_full = false;
    int rc;
    if (pb_lazy_rdkafka(err, errlen) != 0) {
        return -PB_EINVAL;
    }

    pb_cfg_path(cfg, path, sizeof path);
    ko->rng = (uint64_t)mono_ns() ^ (uint64_t)(uintptr_t)ko;
    if (!pb_cfg_has(cfg, "hosts")) {
        snprintf(err, errlen, "missing required field accessing '%s.hosts'", path);
        return -PB_EINVAL;
    }
    if (pb_cfg_strv(cfg, "hosts", &ko->hosts, &ko->nhosts) != 0 ||
        pb_cfg_int(cfg, "workers", 1, &workers) != 0 ||
        pb_cfg_int(cfg, "worker", workers, &ko->worker) != 0 ||
        pb_cfg_str(cfg, "version", "2.1.0", &version) != 0 ||
        pb_cfg_str(cfg, "client_id", "beats", &client_id) != 0 ||
        pb_cfg_str(cfg, "compression", "gzip", &compression) != 0 ||
        pb_cfg_int(cfg, "compression_level", 4, &clevel) != 0 ||
        pb_cfg_int(cfg, "required_acks", 1, &acks) != 0 ||
        pb_cfg_int(cfg, "max_message_bytes", 1000000, &mmb) != 0 ||
        pb_cfg_int(cfg, "channel_buffer_size", 256, &chanbuf) != 0 ||
        pb_cfg_int(cfg, "bulk_max_size", 2048, &bulk) != 0 ||
        pb_cfg_duration(cfg, "bulk_flush_frequency", 0, &flush_freq) != 0 ||
        pb_cfg_duration(cfg, "timeout", 30LL * 1000000000LL, &ko->timeout_ns) != 0 ||
        pb_cfg_duration(cfg, "broker_timeout", 10LL * 1000000000LL, &broker_timeout) != 0 ||
        pb_cfg_duration(cfg, "keep_alive", 0, &keep_alive) != 0 ||
        pb_cfg_duration(cfg, "metadata.refresh_frequency", meta_refresh, &meta_refresh) != 0 ||
        pb_cfg_bool(cfg, "metadata.full", false, &meta_full) != 0 ||
        pb_cfg_int(cfg, "metadata.retry.max", 3, &meta_max) != 0 ||
        pb_cfg_duration(cfg, "metadata.retry.backoff", meta_backoff, &meta_backoff) != 0 ||
        pb_cfg_duration(cfg, "backoff.init", backoff_init, &backoff_init) != 0 ||
        pb_cfg_str(cfg, "username", "", &username) != 0 ||
        pb_cfg_str(cfg, "password", "", &password) != 0 ||
        pb_cfg_str(cfg, "sasl.mechanism", "", &mech) != 0 ||
        pb_cfg_str(cfg, "key", NULL, &key) != 0) {
        return cfg_fail(err, errlen);
    }
    if (ko->nhosts == 0) {
        snprintf(err, errlen, "no hosts configured accessing '%s'", path);
        return -PB_EINVAL;
    }
    if (ko->nhosts > MAX_HOSTS) {
        snprintf(err, errlen, "too many hosts accessing '%s.hosts'", path);
        return -PB_EINVAL;
    }
    if (ko->worker < 1) {
        ko->worker = 1;
    }
    static const char *const comps[][2] = {{"none", "none"}, {"no", "none"},       {"off", "none"},
                                           {"gzip", "gzip"}, {"snappy", "snappy"}, {"lz4", "lz4"},
                                           {"zstd", "zstd"}};
    const char *codec = NULL;
    for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++) {
        if (strcasecmp(compression, comps[i][0]) == 0) {
            codec = comps[i][1];
        }
    }
    if (codec == NULL) {
        snprintf(err, errlen, "compression mode '%s' unknown accessing '%s'", compression, path);
        return -PB_EINVAL;
    }
    if (pb_kafka_version_parse(version, &ko->version) != 0) {
        snprintf(err, errlen, "unknown/unsupported kafka version '%s' accessing '%s.version'",
                 version, path);
        return -PB_EINVAL;
    }
    snprintf(ko->version_str, sizeof ko->version_str, "%s", version);
    if (username[0] != '\0' && password[0] == '\0') {
        snprintf(err, errlen, "password must be set when username is configured accessing '%s'",
                 path);
        return -PB_EINVAL;
    }
    if (strcmp(codec, "gzip") == 0 && clevel != -1000 && (clevel < 0 || clevel > 9)) {
        snprintf(err, errlen, "compression_level must be between 0 and 9 accessing '%s'", path);
        return -PB_EINVAL;
    }
    if (!pb_cfg_has(cfg, "topic") && !pb_cfg_has(cfg, "topics")) {
        snprintf(err, errlen, "either 'topic' or 'topics' must be defined accessing '%s'", path);
        return -PB_EINVAL;
    }
    if (acks < -1) {
        snprintf(err, errlen, "requires value >= -1 accessing '%s.required_acks'", path);
        return -PB_EINVAL;
    }
    if (mmb < 1 || chanbuf < 1) {
        snprintf(err, errlen, "requires value >= 1 accessing '%s.%s'", path,
                 mmb < 1 ? "max_message_bytes" : "channel_buffer_size");
        return -PB_EINVAL;
    }
    if (ko->timeout_ns < 1 || broker_timeout < 1) {
        snprintf(err, errlen, "requires duration >= 1 accessing '%s.%s'", path,
                 ko->timeout_ns < 1 ? "timeout" : "broker_timeout");
        return -PB_EINVAL;
    }
    if (mech[0] != '\0' && strcasecmp(mech, "PLAIN") != 0 &&
        strcasecmp(mech, "SCRAM-SHA-256") != 0 && strcasecmp(mech, "SCRAM-SHA-512") != 0) {
        snprintf(err, errlen,
                 "not valid mechanism '%s', only supported with PLAIN|SCRAM-SHA-512|SCRAM-SHA-256 "
                 "accessing '%s.sasl'",
                 mech, path);
        return -PB_EINVAL;
    }
    if (pb_cfg_has(cfg, "kerberos")) {
        pb_warn(SEL, "kerberos authentication for Kafka is not supported by this build");
    }
    ko->max_message_bytes = mmb;
    snprintf(ko->client_id, sizeof ko->client_id, "%s", client_id);

    rc = read_partition(ko, cfg, err, errlen);
    if (rc == 0) {
        rc = read_headers(ko, cfg, err, errlen);
    }
    if (rc != 0) {
        return rc;
    }
    ko->topic = pb_outsel_new(cfg, "topic", "topics", true, err, errlen);
    if (ko->topic == NULL) {
        return -PB_EINVAL;
    }
    if (key != NULL) {
        char why[256] = "";
        ko->key = pb_fmtstr_compile(key, why, sizeof why);
        if (ko->key == NULL) {
            snprintf(err, errlen, "%s accessing '%s.key'", why, path);
            return -PB_EINVAL;
        }
    }
    rc = pb_codec_init(&ko->codec, cfg, false, err, errlen);
    if (rc != 0) {
        return rc;
    }

    /* librdkafka configuration */
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    ko->conf = c;
    char bootstrap[8192];
    size_t bl = 0;
    bootstrap[0] = '\0';
    for (size_t i = 0; i < ko->nhosts; i++) {
        int n = snprintf(bootstrap + bl, sizeof bootstrap - bl, "%s%s", i ? "," : "", ko->hosts[i]);
        if (n < 0 || (size_t)n >= sizeof bootstrap - bl) {
            snprintf(err, errlen, "hosts list too long accessing '%s.hosts'", path);
            return -PB_EINVAL;
        }
        bl += (size_t)n;
    }
    bool v010 = pb_kafka_version_cmp(&ko->version, 0, 10, 0) >= 0;
    char fallback[32];
    if (v010) {
        snprintf(fallback, sizeof fallback, "%s", version);
    } else {
        snprintf(fallback, sizeof fallback, "%s",
                 pb_kafka_version_cmp(&ko->version, 0, 9, 0) >= 0 ? "0.9.0" : "0.8.2");
    }
    int64_t qmax = chanbuf * 64;
    if (qmax < bulk * 4) {
        qmax = bulk * 4;
    }
    if (qmax > 10000000) {
        qmax = 10000000;
    }
    int64_t msgmax = mmb + 4096;
    if (msgmax < 1000) {
        msgmax = 1000;
    }
    if (msgmax > 1000000000) {
        msgmax = 1000000000;
    }
    int64_t to_ms = clamp_ms(ko->timeout_ns, 10, 86400000);
    rc = conf_set(c, "bootstrap.servers", bootstrap, err, errlen);
    rc = rc ? rc : conf_set(c, "client.id", client_id, err, errlen);
    rc = rc ? rc : conf_set(c, "api.version.request", v010 ? "true" : "false", err, errlen);
    rc = rc ? rc : conf_set(c, "broker.version.fallback", fallback, err, errlen);
    rc = rc ? rc : conf_setf(c, "acks", err, errlen, "%" PRId64, acks);
    rc = rc ? rc
            : conf_setf(c, "request.timeout.ms", err, errlen, "%" PRId64,
                        clamp_ms(broker_timeout, 1, 900000));
    rc = rc ? rc : conf_setf(c, "message.timeout.ms", err, errlen, "%" PRId64, to_ms);
    rc = rc ? rc : conf_setf(c, "socket.timeout.ms", err, errlen, "%" PRId64, to_ms);
    rc =
        rc ? rc
           : conf_set(c, "socket.keepalive.enable", keep_alive > 0 ? "true" : "false", err, errlen);
    rc = rc ? rc : conf_set(c, "compression.codec", codec, err, errlen);
    if (rc == 0 && strcmp(codec, "gzip") == 0 && clevel != -1000) {
        rc = conf_setf(c, "compression.level", err, errlen, "%" PRId64, clevel);
    }
    rc = rc ? rc : conf_setf(c, "message.max.bytes", err, errlen, "%" PRId64, msgmax);
    rc = rc ? rc
            : conf_setf(c, "batch.num.messages", err, errlen, "%" PRId64,
                        bulk < 1         ? 2048
                        : bulk > 1000000 ? 1000000
                                         : bulk);
    rc = rc ? rc
            : conf_setf(c, "linger.ms", err, errlen, "%" PRId64, clamp_ms(flush_freq, 0, 900000));
    rc = rc ? rc : conf_setf(c, "queue.buffering.max.messages", err, errlen, "%" PRId64, qmax);
    rc = rc ? rc : conf_set(c, "retries", "0", err, errlen);
    rc = rc ? rc
            : conf_setf(c, "retry.backoff.ms", err, errlen, "%" PRId64,
                        clamp_ms(backoff_init, 1, 300000));
    rc = rc ? rc
            : conf_setf(c, "topic.metadata.refresh.interval.ms", err, errlen, "%" PRId64,
                        meta_refresh <= 0 ? -1 : clamp_ms(meta_refresh, 10, 3600000));
    rc = rc ? rc
            : conf_set(c, "topic.metadata.refresh.sparse", meta_full ? "false" : "true", err,
                       errlen);
    rc = rc ? rc
            : conf_setf(c, "topic.metadata.refresh.fast.interval.ms", err, errlen, "%" PRId64,
                        clamp_ms(meta_backoff, 1, 60000));
    rc = rc ? rc : conf_set(c, "log.connection.close", "false", err, errlen);
    if (rc != 0) {
        return rc;
    }
    rc = read_ssl(c, cfg, &ko->tls, err, errlen);
    if (rc != 0) {
        return rc;
    }
    const char *proto = ko->tls ? "ssl" : "plaintext";
    if (username[0] != '\0') {
        proto = ko->tls ? "sasl_ssl" : "sasl_plaintext";
        char m[32];
        snprintf(m, sizeof m, "%s", mech[0] != '\0' ? mech : "PLAIN");
        for (char *q = m; *q != '\0'; q++) {
            if (*q >= 'a' && *q <= 'z') {
                *q = (char)(*q - 'a' + 'A');
            }
        }
        rc = conf_set(c, "sasl.mechanisms", m, err, errlen);
        rc = rc ? rc : conf_set(c, "sasl.username", username, err, errlen);
        rc = rc ? rc : conf_set(c, "sasl.password", password, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    rc = conf_set(c, "security.protocol", proto, err, errlen);
    if (rc != 0) {
        return rc;
    }
    ko->probe = !ko->tls;
    /* a topic, key or partition made from each event's fields needs its
       tree; without them the queue can keep the events as their JSON, all
       a message needs (its timestamp is the encoding's first member) */
    ko->reads_fields = !pb_outsel_is_const(ko->topic) || ko->key != NULL ||
                       (ko->pmode == PART_HASH && ko->nhash_fields > 0);
    o->queue_json = pb_codec_is_plain_json(&ko->codec) && !ko->reads_fields;
    rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
    rd_kafka_conf_set_log_cb(c, log_cb);
    rd_kafka_conf_set_error_cb(c, error_cb);
    rd_kafka_conf_set_opaque(c, ko);
    pthread_mutex_init(&ko->tmu, NULL);
    ko->tmu_init = true;
    return 0;
}

/* ---- connect: version check + metadata ------------------------------------------ */

/* host:port -> host, port (IPv6 in brackets). */
static bool split_host(const char *hp, char *host, size_t hl, char *port, size_t pl)
{
    const char *c;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (rb == NULL || rb[1] != ':') {
            return false;
        }
        snprintf(host, hl, "%.*s", (int)(rb - hp - 1), hp + 1);
        snprintf(port, pl, "%s", rb + 2);
        return true;
    }
    c = strrchr(hp, ':');
    if (c == NULL || c == hp) {
        return false;
    }
    snprintf(host, hl, "%.*s", (int)(c - hp), hp);
    snprintf(port, pl, "%s", c + 1);
    return true;
}

static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ns();
        if (left <= 0) {
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = ev};
        int rc = poll(&pfd, 1, (int)((left + 999999) / 1000000));
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return -1;
        }
    }
}

/* TCP connect within deadline; -1 with errno-ish text in why. */
static int dial(const char *hostport, int64_t deadline, char *why, size_t whylen)
{
    char host[256];
    char port[32];
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    if (!split_host(hostport, host, sizeof host, port, sizeof port)) {
        snprintf(why, whylen, "address %s: missing port in address", hostport);
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(why, whylen, "lookup %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            bool ok = false;
            if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
                int soerr = 0;
                socklen_t sl = sizeof soerr;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
                ok = soerr == 0;
                last = soerr;
            } else {
                last = errno == EINPROGRESS ? ETIMEDOUT : errno;
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
        snprintf(e, sizeof e, "%s", last == ETIMEDOUT ? "i/o timeout" : strerror(last));
        if (e[0] >= 'A' && e[0] <= 'Z') {
            e[0] = (char)(e[0] - 'A' + 'a');
        }
        snprintf(why, whylen, "dial tcp %s: connect: %s", hostport, e);
    }
    return fd;
}

/* ApiVersions against one broker: 1 it answered (ranges set), 0 it did
 * not (down, or older than 0.10: it closes the connection). */
static int probe_broker(struct kafkaout *ko, const char *hostport, struct pb_kafka_api_range *prod,
                        char *why, size_t whylen)
{
    int64_t deadline = mono_ns() + (ko->timeout_ns < 5000000000LL ? ko->timeout_ns : 5000000000LL);
    int fd = dial(hostport, deadline, why, whylen);
    if (fd < 0) {
        return 0;
    }
    uint8_t req[512];
    size_t n = pb_kafka_apiversions_req(req, sizeof req, 0x5042, ko->client_id);
    size_t off = 0;
    int got = 0;
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            break;
        } else if (wait_fd(fd, POLLOUT, deadline) != 0) {
            break;
        }
    }
    uint8_t resp[8192];
    size_t have = 0;
    size_t want = 4;
    while (off == n && have < want) {
        ssize_t r = recv(fd, resp + have, want - have, 0);
        if (r > 0) {
            have += (size_t)r;
            if (have == 4 && want == 4) {
                uint32_t sz = ((uint32_t)resp[0] << 24) | ((uint32_t)resp[1] << 16) |
                              ((uint32_t)resp[2] << 8) | resp[3];
                if (sz < 10 || sz > sizeof resp - 4) {
                    snprintf(why, whylen, "broker %s: malformed ApiVersions response", hostport);
                    break;
                }
                want = 4 + sz;
            }
            continue;
        }
        if (r == 0) {
            snprintf(why, whylen, "broker %s closed the connection on an ApiVersions request",
                     hostport);
            break;
        }
        if (errno != EAGAIN && errno != EINTR) {
            snprintf(why, whylen, "read from %s: %s", hostport, strerror(errno));
            break;
        }
        if (wait_fd(fd, POLLIN, deadline) != 0) {
            snprintf(why, whylen, "read from %s: i/o timeout", hostport);
            break;
        }
    }
    close(fd);
    if (want > 4 && have == want) {
        struct pb_kafka_api_range meta;
        int rc = pb_kafka_apiversions_parse(resp + 4, have - 4, 0x5042, prod, &meta);
        if (rc == 0) {
            got = 1;
        } else {
            snprintf(why, whylen, "broker %s: bad ApiVersions response", hostport);
        }
    }
    return got;
}

/* The configured `version` against what a broker accepts. 0 ok; else a
 * clear message in why. */
static int check_version(struct kafkaout *ko, char *why, size_t whylen)
{
    char last[256] = "";
    bool v010 = pb_kafka_version_cmp(&ko->version, 0, 10, 0) >= 0;
    int need = pb_kafka_version_produce(&ko->version);
    for (size_t i = 0; i < ko->nhosts; i++) {
        struct pb_kafka_api_range prod;
        if (!probe_broker(ko, ko->hosts[i], &prod, last, sizeof last)) {
            continue;
        }
        if (!prod.present || prod.max < need || prod.min > need) {
            snprintf(why, whylen,
                     "Kafka broker %s cannot speak the configured version %s: it accepts "
                     "Produce requests v%d to v%d, version %s needs v%d; set "
                     "output.kafka.version to the broker's Kafka version (at most %s)",
                     ko->hosts[i], ko->version_str, prod.present ? prod.min : -1,
                     prod.present ? prod.max : -1, ko->version_str, need,
                     pb_kafka_version_for_produce(prod.present ? prod.max : 0));
            return -PB_EINVAL;
        }
        return 0;
    }
    if (v010 && strstr(last, "closed the connection") != NULL) {
        snprintf(why, whylen,
                 "kafka: client has run out of available brokers to talk to (Is your cluster "
                 "reachable?): %s (a broker older than 0.10 does this; then set "
                 "output.kafka.version to its version)",
                 last);
        return -PB_EIO;
    }
    if (!v010 && last[0] != '\0' && strstr(last, "closed the connection") != NULL) {
        return 0; /* an old broker without ApiVersions, as configured */
    }
    snprintf(why, whylen,
             "kafka: client has run out of available brokers to talk to (Is your cluster "
             "reachable?): %s",
             last[0] != '\0' ? last : "no broker answered");
    return -PB_EIO;
}

static int kafka_connect(struct pb_output *o)
{
    struct kafkaout *ko = o->ctx;
    char why[768];
    pb_debug(SEL, "connect: %s", ko->hosts[0]);
    if (ko->probe) {
        int rc = check_version(ko, why, sizeof why);
        if (rc != 0) {
            pb_error(SEL, "Kafka connect fails with: %s", why);
            return rc;
        }
    }
    if (ko->rk == NULL) {
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, ko->conf, e, sizeof e);
        if (rk == NULL) {
            pb_error(SEL, "Kafka connect fails with: %s", e);
            return -PB_EIO;
        }
        ko->conf = NULL; /* rd_kafka_new took it */
        ko->rk = rk;
        atomic_store(&ko->stop, false);
        if (pthread_create(&ko->poller, NULL, poll_main, ko) != 0) {
            pb_error(SEL, "Kafka connect fails with: cannot start the delivery report thread");
            return -PB_EIO;
        }
        ko->poller_started = true;
    }
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t merr =
        rd_kafka_metadata(ko->rk, 0, NULL, &md, (int)clamp_ms(ko->timeout_ns, 100, 60000));
    if (merr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        pb_error(SEL,
                 "Kafka connect fails with: kafka: client has run out of available brokers to "
                 "talk to (Is your cluster reachable?): %s",
                 rd_kafka_err2str(merr));
        return -PB_EIO;
    }
    rd_kafka_metadata_destroy(md);
    pb_info("publisher_pipeline_output", "Connection to kafka(%s) established", ko->hosts[0]);
    return 0;
}

/* ---- publish ------------------------------------------------------------------ */

static struct ktopic *get_topic(struct kafkaout *ko, const char *name)
{
    struct ktopic *t = NULL;
    pthread_mutex_lock(&ko->tmu);
    for (size_t i = 0; i < ko->ntopics; i++) {
        if (strcmp(ko->topics[i]->name, name) == 0) {
            t = ko->topics[i];
            break;
        }
    }
    if (t == NULL && ko->ntopics < MAX_TOPICS) {
        struct ktopic **nt = pb_realloc(ko->topics, (ko->ntopics + 1) * sizeof *nt);
        t = pb_calloc(1, sizeof *t);
        if (nt != NULL) {
            ko->topics = nt;
        }
        if (nt == NULL || t == NULL) {
            pb_free(t);
            t = NULL;
        } else {
            t->name = pb_strdup(name);
            t->ko = ko;
            t->rng = xorshift(&ko->rng);
            t->partition = (int32_t)(xorshift(&ko->rng) & 0x7fffffff);
            t->count = ko->group_events; /* the first message picks a partition */
            pthread_mutex_init(&t->mu, NULL);
            rd_kafka_topic_conf_t *tc = rd_kafka_default_topic_conf_dup(ko->rk);
            if (tc != NULL) {
                rd_kafka_topic_conf_set_partitioner_cb(tc, partitioner_cb);
                rd_kafka_topic_conf_set_opaque(tc, t);
            }
            t->rkt = t->name != NULL && tc != NULL ? rd_kafka_topic_new(ko->rk, name, tc) : NULL;
            if (t->rkt == NULL) {
                if (tc != NULL && t->name == NULL) {
                    rd_kafka_topic_conf_destroy(tc);
                }
                pthread_mutex_destroy(&t->mu);
                pb_free(t->name);
                pb_free(t);
                t = NULL;
            } else {
                ko->topics[ko->ntopics++] = t;
            }
        }
    }
    pthread_mutex_unlock(&ko->tmu);
    return t;
}

/* The hash.hash fields of ev into km (libbeat's makeFieldsHashPartitioner). */
static void hash_fields(const struct kafkaout *ko, const json_t *ev, struct kmsg *km)
{
    uint32_t h = PB_FNV32_INIT;
    for (size_t i = 0; i < ko->nhash_fields; i++) {
        const char *f = ko->hash_fields[i];
        const json_t *v = pb_event_get(ev, f, strlen(f));
        if (v == NULL) {
            km->hash_fail = true;
            if (i == 0 || ko->hash_random) {
                pb_error(SEL, "Hashing partition key failed: key not found: %s", f);
            }
            return;
        }
        if (json_is_string(v)) {
            h = pb_kafka_fnv1a(h, json_string_value(v), json_string_length(v));
        } else if (json_is_integer(v)) {
            int64_t x = json_integer_value(v);
            uint8_t le[8];
            for (int k = 0; k < 8; k++) {
                le[k] = (uint8_t)((uint64_t)x >> (8 * k));
            }
            h = pb_kafka_fnv1a(h, le, sizeof le);
        } else if (json_is_real(v)) {
            char buf[64];
            int n = snprintf(buf, sizeof buf, "%.7g", json_real_value(v));
            h = pb_kafka_fnv1a(h, buf, (size_t)n);
        } else if (json_is_boolean(v)) {
            uint8_t bv = json_is_true(v) ? 1 : 0;
            h = pb_kafka_fnv1a(h, &bv, 1);
        } else {
            km->hash_fail = true;
            return;
        }
    }
    km->hash = h;
    km->has_hash = true;
}

static void kafka_publish(struct pb_output *o, struct pb_batch *b)
{
    struct kafkaout *ko = o->ctx;
    size_t n = pb_batch_len(b);
    struct kbatch *kb = pb_calloc(1, sizeof *kb);
    if (kb != NULL) {
        kb->failed = pb_calloc(n, sizeof *kb->failed);
        kb->msgs = pb_calloc(n, sizeof *kb->msgs);
    }
    if (kb == NULL || kb->failed == NULL || kb->msgs == NULL || ko->rk == NULL) {
        if (kb != NULL) {
            pb_free(kb->failed);
            pb_free(kb->msgs);
            pb_free(kb);
        }
        if (ko->rk == NULL) {
            pb_batch_cancelled(b);
        } else {
            pb_batch_retry(b);
        }
        return;
    }
    kb->b = b;
    pthread_mutex_init(&kb->mu, NULL);
    atomic_store(&kb->pending, n + 1); /* +1: held until every message is handed over */
    bool ts = pb_kafka_version_cmp(&ko->version, 0, 10, 0) >= 0;

    for (size_t i = 0; i < n; i++) {
        size_t jlen = 0;
        const char *js =
            pb_codec_is_plain_json(&ko->codec) ? pb_batch_event_json(b, i, &jlen) : NULL;
        int64_t tsms = 0;
        /* the tree only for fields (ko->reads_fields) or an encoding
           that does not begin with the timestamp */
        bool tree_free = js != NULL && !ko->reads_fields && (!ts || encoded_ts_ms(js, jlen, &tsms));
        json_t *ev = tree_free ? NULL : pb_batch_event(b, i);
        struct kmsg *km = &kb->msgs[i];
        km->kb = kb;
        km->idx = i;
        int rc = pb_outsel_select(ko->topic, ev, &ko->tbuf);
        if (rc != 0 || ko->tbuf.len == 0) {
            pb_error(SEL, "Dropping event: %s",
                     rc != 0 ? "setting kafka topic failed" : "no topic could be selected");
            kbatch_giveup(kb);
            kbatch_done(kb);
            continue;
        }
        ko->enc.len = 0;
        rc = js != NULL ? pb_codec_buf_append(&ko->enc, js, jlen)
                        : pb_codec_encode(&ko->codec, ev, &ko->enc);
        if (rc != 0) {
            pb_error(SEL, "Dropping event: %s", pb_strerror(rc));
            kbatch_giveup(kb);
            kbatch_done(kb);
            continue;
        }
        ko->kbuf.len = 0;
        bool has_key = ko->key != NULL && pb_fmtstr_run(ko->key, ev, &ko->kbuf) == 0;
        size_t klen = has_key ? ko->kbuf.len : 0;
        if ((int64_t)(ko->enc.len + klen) > ko->max_message_bytes) {
            pb_error(SEL, "Kafka (topic=%s): dropping too large message of size %zu.", ko->tbuf.p,
                     ko->enc.len + klen);
            kbatch_giveup(kb);
            kbatch_done(kb);
            continue;
        }
        if (ko->pmode == PART_HASH) {
            if (ko->nhash_fields > 0) {
                hash_fields(ko, ev, km);
            } else if (has_key) {
                km->hash = pb_kafka_fnv1a(PB_FNV32_INIT, ko->kbuf.p, klen);
                km->has_hash = true;
            }
        }
        struct ktopic *t = get_topic(ko, ko->tbuf.p);
        if (t == NULL) {
            kbatch_fail(kb, i, "cannot create topic handle");
            kbatch_done(kb);
            continue;
        }
        rd_kafka_headers_t *hdrs = NULL;
        if (ko->nheaders > 0) {
            hdrs = rd_kafka_headers_new(ko->nheaders);
            for (size_t h = 0; hdrs != NULL && h < ko->nheaders; h++) {
                rd_kafka_header_add(hdrs, ko->headers[h].key, -1, ko->headers[h].value, -1);
            }
        }
        if (ts && ev != NULL) {
            tsms = event_ts_ms(ev);
        }
        int64_t deadline = mono_ns() + ko->timeout_ns;
        rd_kafka_resp_err_t perr;
        for (;;) {
            /* produceva (not the variadic producev): a function the lazy
               loader can pass on (beat/lazy) */
            rd_kafka_vu_t vu[] = {
                {.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = t->rkt},
                {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = RD_KAFKA_PARTITION_UA},
                {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
                {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {ko->enc.p, ko->enc.len}},
                {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {has_key ? ko->kbuf.p : NULL, klen}},
                {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = tsms},
                {.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = hdrs},
                {.vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = km},
            };
            rd_kafka_error_t *e = rd_kafka_produceva(ko->rk, vu, sizeof vu / sizeof vu[0]);
            perr = RD_KAFKA_RESP_ERR_NO_ERROR;
            if (e != NULL) {
                perr = rd_kafka_error_code(e);
                rd_kafka_error_destroy(e);
            }
            if (perr != RD_KAFKA_RESP_ERR__QUEUE_FULL || mono_ns() > deadline ||
                atomic_load(&ko->stop)) {
                break;
            }
            usleep(10000); /* the poll thread drains delivery reports */
        }
        if (perr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (hdrs != NULL) {
                rd_kafka_headers_destroy(hdrs);
            }
            if (perr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
                pb_error(SEL, "Kafka (topic=%s): dropping too large message of size %zu.",
                         ko->tbuf.p, ko->enc.len + klen);
                kbatch_giveup(kb);
            } else {
                kbatch_fail(kb, i, rd_kafka_err2str(perr));
            }
            kbatch_done(kb);
        }
    }
    kbatch_done(kb); /* the +1 */
}

static void kafka_close(struct pb_output *o)
{
    struct kafkaout *ko = o->ctx;
    if (ko == NULL) {
        return;
    }
    if (ko->rk != NULL) {
        rd_kafka_flush(ko->rk, 2000);
        rd_kafka_purge(ko->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        int64_t deadline = mono_ns() + 5000000000LL;
        while (rd_kafka_outq_len(ko->rk) > 0 && mono_ns() < deadline) {
            if (!ko->poller_started) {
                rd_kafka_poll(ko->rk, 50);
            } else {
                usleep(20000);
            }
        }
    }
    if (ko->poller_started) {
        atomic_store(&ko->stop, true);
        pthread_join(ko->poller, NULL);
        ko->poller_started = false;
    }
    if (ko->rk != NULL) {
        rd_kafka_poll(ko->rk, 0);
    }
    for (size_t i = 0; i < ko->ntopics; i++) {
        struct ktopic *t = ko->topics[i];
        rd_kafka_topic_destroy(t->rkt);
        pthread_mutex_destroy(&t->mu);
        pb_free(t->name);
        pb_free(t);
    }
    pb_free(ko->topics);
    ko->topics = NULL;
    ko->ntopics = 0;
    if (ko->rk != NULL) {
        rd_kafka_destroy(ko->rk);
        ko->rk = NULL;
    }
    if (ko->conf != NULL) {
        rd_kafka_conf_destroy(ko->conf);
        ko->conf = NULL;
    }
    if (ko->tmu_init) {
        pthread_mutex_destroy(&ko->tmu);
        ko->tmu_init = false;
    }
    pb_cfg_strv_free(ko->hosts);
    ko->hosts = NULL;
    pb_cfg_strv_free(ko->hash_fields);
    ko->hash_fields = NULL;
    for (size_t i = 0; i < ko->nheaders; i++) {
        pb_free(ko->headers[i].key);
        pb_free(ko->headers[i].value);
    }
    pb_free(ko->headers);
    ko->headers = NULL;
    pb_outsel_free(ko->topic);
    ko->topic = NULL;
    pb_fmtstr_free(ko->key);
    ko->key = NULL;
    pb_codec_fini(&ko->codec);
    pb_codec_buf_free(&ko->enc);
    pb_codec_buf_free(&ko->tbuf);
    pb_codec_buf_free(&ko->kbuf);
}

/* ---- test output: libbeat's kafka client Test ---------------------------------- */

static int kafka_test(struct pb_output *o, char *msg, size_t msglen)
{
    struct kafkaout *ko = o->ctx;
    (void)msg;
    (void)msglen;
    if (ko->tls) {
        printf("TLS... WARN Kafka output doesn't support TLS testing\n");
    }
    for (size_t i = 0; i < ko->nhosts; i++) {
        for (int64_t w = 0; w < ko->worker; w++) {
            const char *hp = ko->hosts[i];
            char host[256];
            char port[32];
            printf("Kafka: %s...\n", hp);
            if (!split_host(hp, host, sizeof host, port, sizeof port)) {
                printf("  parse host... ERROR address %s: missing port in address\n", hp);
                fflush(stdout);
                return -PB_EINVAL;
            }
            printf("  parse host... OK\n");
            struct addrinfo hints;
            struct addrinfo *res = NULL;
            memset(&hints, 0, sizeof hints);
            hints.ai_socktype = SOCK_STREAM;
            int gai = getaddrinfo(host, port, &hints, &res);
            if (gai != 0) {
                printf("  dns lookup... ERROR lookup %s: %s\n", host, gai_strerror(gai));
                fflush(stdout);
                return -PB_EIO;
            }
            printf("  dns lookup... OK\n");
            char addrs[512] = "";
            size_t al = 0;
            for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
                char a[NI_MAXHOST];
                if (getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof a, NULL, 0,
                                NI_NUMERICHOST) == 0 &&
                    strstr(addrs, a) == NULL && al + strlen(a) + 3 < sizeof addrs) {
                    al +=
                        (size_t)snprintf(addrs + al, sizeof addrs - al, "%s%s", al ? ", " : "", a);
                }
            }
            freeaddrinfo(res);
            printf("  addresses: %s\n", addrs);
            char why[512];
            int fd = dial(hp, mono_ns() + ko->timeout_ns, why, sizeof why);
            if (fd < 0) {
                printf("  dial up... ERROR %s\n", why); /* libbeat goes on (d.Error) */
            } else {
                close(fd);
                printf("  dial up... OK\n");
            }
        }
    }
    fflush(stdout);
    return 0;
}

const struct pb_output_ops pb_output_kafka = {
    .name = "kafka",
    .flags = PB_OUTPUT_NET,
    .ctx_size = sizeof(struct kafkaout),
    .default_bulk_max_size = 2048,
    .default_max_retries = 3,
    .max_inflight = 4,
    .clients = kafka_clients,
    .init = kafka_init,
    .connect = kafka_connect,
    .publish = kafka_publish,
    .close = kafka_close,
    .test = kafka_test,
};
