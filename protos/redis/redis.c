/* SPDX-License-Identifier: Apache-2.0
 * protos/redis/redis.c - the redis plugin: per-direction RESP streams,
 * request/response queues with Packetbeat's eviction limits
 * (queue_max_bytes, queue_max_messages), pipelined correlation in order.
 *
 * A message is a request when the client sent it and a reply when the
 * server did (Packetbeat decides by content, taking any array whose first
 * element names a command for a request, even a reply from the server, and
 * then pairs the wrong messages); replies are paired with the oldest queued
 * request; a reply with no request waiting is dropped. A gap drops the
 * connection's state (both directions and the queues); garbage drops the
 * direction's stream.
 */
#include <string.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/spares.h"
#include "redis_int.h"

/* Packetbeat's defaults: up to 1 MB or 20000 unmatched messages per queue. */
#define DEFAULT_QUEUE_BYTES (1024 * 1024)
#define DEFAULT_QUEUE_MSGS 20000
/* Hard caps when the configuration says "no limit" (0 or negative). */
#define HARD_QUEUE_BYTES (64ll * 1024 * 1024)
#define HARD_QUEUE_MSGS 1000000ll

/* Message blocks: a power of two of text bytes, at least MSG_MIN_TEXT
 * (so that one block fits most requests); blocks of up to
 * MSG_MIN_TEXT << (NCLASS - 1) bytes of answered messages are kept per
 * worker for the next ones, up to SPARES_MAX of each size (pipelined
 * requests wait together, so a connection may need several at once). */
#define MSG_MIN_TEXT 128u
#define NCLASS 4u /* 128, 256, 512, 1024 */
#define SPARES_MAX 32u

struct redis_priv {
    int64_t max_bytes;
    int64_t max_msgs;
    struct pb_spares spares; /* this worker's spare message blocks */
};

/* Packetbeat's MessageQueue: evicts the oldest messages to make room. */
struct redis_queue {
    struct redis_msg *head, *tail;
    int64_t bytes_avail;
    int64_t slots_avail;
};

struct redis_stream {
    struct redis_scan scan;
    bool started;    /* a message has begun */
    uint64_t ts_ns;  /* its first packet's time */
    size_t skip;     /* bytes still buffered from before a state reset */
    size_t buffered; /* bytes the core keeps for us after the last call */
};

struct redis_conn {
    bool ready;
    struct redis_stream st[2];
    struct redis_queue requests, responses;
};

static void msg_free(struct redis_msg *m)
{
    pb_free(m);
}

/* A block for a message of text_len bytes of text (cap set), a spare
 * when there is one of its size; NULL on ENOMEM. */
static struct redis_msg *msg_alloc(struct redis_priv *pv, size_t text_len)
{
    size_t cap = 0;
    struct redis_msg *m = pb_spares_get(&pv->spares, text_len + 1, &cap);
    if (m != NULL) {
        m->cap = cap;
    }
    return m;
}

/* Frees m, or keeps it as a spare. */
static void msg_done(struct redis_priv *pv, struct redis_msg *m)
{
    if (m != NULL) {
        pb_spares_put(&pv->spares, m, m->cap);
    }
}

static void queue_init(struct redis_queue *q, const struct redis_priv *pv)
{
    memset(q, 0, sizeof *q);
    q->bytes_avail = pv->max_bytes;
    q->slots_avail = pv->max_msgs;
}

static struct redis_msg *queue_pop(struct redis_queue *q)
{
    struct redis_msg *m = q->head;
    if (m == NULL) {
        return NULL;
    }
    q->head = m->next;
    if (q->head == NULL) {
        q->tail = NULL;
    }
    m->next = NULL;
    q->slots_avail++;
    q->bytes_avail += (int64_t)m->size;
    return m;
}

static void queue_clear(struct redis_queue *q)
{
    struct redis_msg *m;
    while ((m = queue_pop(q)) != NULL) {
        msg_free(m);
    }
}

/* Appends m (taken); returns how many old messages were evicted. */
static unsigned queue_append(struct redis_queue *q, struct redis_msg *m)
{
    unsigned evicted = 0;
    int64_t size = (int64_t)m->size;
    if (q->slots_avail <= 0 && q->head != NULL) {
        msg_free(queue_pop(q));
        evicted++;
    }
    while (q->bytes_avail < size && q->head != NULL) {
        msg_free(queue_pop(q));
        evicted++;
    }
    q->slots_avail--;
    q->bytes_avail -= size;
    if (q->tail == NULL) {
        q->head = m;
    } else {
        q->tail->next = m;
    }
    q->tail = m;
    return evicted;
}

static struct redis_conn *conn_of(struct pb_conn *c)
{
    struct redis_conn *rc = c->state;
    if (!rc->ready) {
        const struct redis_priv *pv = c->proto->priv;
        queue_init(&rc->requests, pv);
        queue_init(&rc->responses, pv);
        rc->ready = true;
    }
    return rc;
}

static void stream_reset(struct redis_stream *st)
{
    redis_scan_reset(&st->scan);
    st->started = false;
    st->ts_ns = 0;
}

static void correlate(struct pb_conn *c, struct redis_conn *rc)
{
    if (rc->requests.head == NULL) {
        struct redis_msg *m;
        while ((m = queue_pop(&rc->responses)) != NULL) {
            pb_debug("redis", "Response from unknown transaction. Ignoring");
            c->proto->stats.unmatched++;
            msg_free(m);
        }
        return;
    }
    while (rc->requests.head != NULL && rc->responses.head != NULL) {
        struct redis_msg *req = queue_pop(&rc->requests);
        struct redis_msg *resp = queue_pop(&rc->responses);
        pb_emit(c->proto, redis_tx_event(c->proto, &c->tuple, req, resp));
        msg_done(c->proto->priv, req);
        msg_done(c->proto->priv, resp);
    }
}

static void handle_message(struct pb_conn *c, struct redis_conn *rc, struct redis_msg *m)
{
    if (m->b.is_request) {
        c->proto->stats.unmatched += queue_append(&rc->requests, m);
        return;
    }
    c->proto->stats.unmatched += queue_append(&rc->responses, m);
    correlate(c, rc);
}

/* A message parsed into a buffer of the caller's (b), kept: a copy of its
 * text with b's strings pointing into it; NULL on ENOMEM. */
static struct redis_msg *msg_copy(struct redis_priv *pv, const struct redis_built *b)
{
    struct redis_msg *m = msg_alloc(pv, b->text_len);
    if (m == NULL) {
        return NULL;
    }
    memcpy(m->text, b->text, b->text_len + 1);
    m->b = *b;
    m->b.text = m->text;
    if (b->method != NULL) {
        m->b.method = m->text + (b->method - b->text);
    }
    if (b->path != NULL) {
        m->b.path = m->text + (b->path - b->text);
    }
    return m;
}

/* Texts up to this long are parsed on the stack (a longer one is parsed
 * again into its message). */
#define STACK_TEXT 16384

static enum pb_parse redis_on_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data,
                                   size_t len, size_t *consumed)
{
    struct redis_conn *rc = conn_of(c);
    struct redis_priv *pv = c->proto->priv;
    struct redis_stream *st = &rc->st[d];
    bool from_client = d == PB_DIR_TO_SERVER;
    char text[STACK_TEXT];
    size_t off = 0;
    if (st->skip > 0) {
        off = st->skip < len ? st->skip : len;
        st->skip -= off;
    }
    while (off < len) {
        if (!st->started) {
            st->started = true;
            st->ts_ns = c->ts_ns;
        }
        size_t mlen = 0;
        struct redis_built b;
        struct redis_msg *m = NULL;
        if (redis_scan_fresh(&st->scan) && redis_parse(data + off, len - off, from_client, false,
                                                       text, sizeof text, &b, &mlen) == 0) {
            /* the whole message in one pass */
            if (b.bad_int) {
                /* once more, to log what building it logs */
                (void)redis_parse(data + off, mlen, from_client, true, text, sizeof text, &b,
                                  &mlen);
            }
            if (!from_client && rc->requests.head != NULL && rc->responses.head == NULL) {
                /* answers the oldest request at once: as queued and
                   correlated, without a copy */
                struct redis_msg resp = {.ts_ns = st->ts_ns, .dir = d, .size = mlen, .b = b};
                struct redis_msg *req = queue_pop(&rc->requests);
                pb_emit(c->proto, redis_tx_event(c->proto, &c->tuple, req, &resp));
                msg_done(pv, req);
                off += mlen;
                stream_reset(st);
                continue;
            }
            m = msg_copy(pv, &b);
        } else {
            enum pb_parse r = redis_scan(&st->scan, data + off, len - off, &mlen);
            if (r == PB_PARSE_MORE) {
                break;
            }
            if (r == PB_PARSE_DROP) {
                pb_debug("redis", "Ignore Redis message. Drop tcp stream.");
                c->proto->stats.parse_errors++;
                stream_reset(st);
                st->buffered = 0;
                *consumed = len;
                return PB_PARSE_DROP;
            }
            m = msg_alloc(pv, mlen); /* the text is never longer */
            if (m != NULL && redis_build(data + off, mlen, from_client, m->text, &m->b) < 0) {
                pb_free(m);
                m = NULL;
            }
        }
        if (m == NULL) {
            c->proto->stats.dropped++;
        } else {
            m->next = NULL;
            m->ts_ns = st->ts_ns;
            m->dir = d;
            m->size = mlen;
            handle_message(c, rc, m);
        }
        off += mlen;
        stream_reset(st);
    }
    *consumed = off;
    st->buffered = len - off;
    return off < len ? PB_PARSE_MORE : PB_PARSE_OK;
}

static void conn_reset(struct pb_conn *c)
{
    struct redis_conn *rc = c->state;
    queue_clear(&rc->requests);
    queue_clear(&rc->responses);
    for (int i = 0; i < 2; i++) {
        size_t keep = rc->st[i].buffered;
        stream_reset(&rc->st[i]);
        rc->st[i].skip = keep;
        rc->st[i].buffered = keep;
    }
    rc->ready = false;
}

static bool redis_on_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    /* Packetbeat drops the whole connection state on a gap. */
    struct redis_conn *rc = c->state;
    c->proto->stats.gaps++;
    conn_reset(c);
    rc->st[d].skip = 0;
    rc->st[d].buffered = 0;
    return true;
}

static void redis_on_fin(struct pb_conn *c, enum pb_dir d)
{
    /* Nothing to do: Packetbeat publishes nothing on FIN. */
}

static void redis_on_expire(struct pb_conn *c)
{
    /* Unanswered requests are dropped with the connection, as in Packetbeat. */
}

static void redis_conn_free(struct pb_conn *c)
{
    struct redis_conn *rc = c->state;
    if (rc != NULL) {
        queue_clear(&rc->requests);
        queue_clear(&rc->responses);
    }
}

static int redis_init(struct pb_proto *p)
{
    struct redis_priv *pv = pb_calloc(1, sizeof *pv);
    if (pv == NULL) {
        return -PB_ENOMEM;
    }
    int64_t bytes = 0, msgs = 0;
    if (pb_cfg_int(p->cfg, "queue_max_bytes", DEFAULT_QUEUE_BYTES, &bytes) < 0 ||
        pb_cfg_int(p->cfg, "queue_max_messages", DEFAULT_QUEUE_MSGS, &msgs) < 0) {
        pb_free(pv);
        return -PB_EINVAL;
    }
    pv->max_bytes = (bytes <= 0 || bytes > HARD_QUEUE_BYTES) ? HARD_QUEUE_BYTES : bytes;
    pv->max_msgs = (msgs <= 0 || msgs > HARD_QUEUE_MSGS) ? HARD_QUEUE_MSGS : msgs;
    pb_spares_init(&pv->spares, sizeof(struct redis_msg), MSG_MIN_TEXT, NCLASS, SPARES_MAX);
    p->priv = pv;
    return 0;
}

static void redis_fini(struct pb_proto *p)
{
    struct redis_priv *pv = p->priv;
    if (pv != NULL) {
        pb_spares_fini(&pv->spares);
    }
    pb_free(p->priv);
    p->priv = NULL;
}

const struct pb_proto_ops pb_proto_redis = {
    .name = "redis",
    .transports = PB_TCP,
    .conn_size = sizeof(struct redis_conn),
    .init = redis_init,
    .fini = redis_fini,
    .on_data = redis_on_data,
    .on_gap = redis_on_gap,
    .on_fin = redis_on_fin,
    .on_expire = redis_on_expire,
    .conn_free = redis_conn_free,
};
