/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_tcp.c - the TCP stream tracker (packet/tcp.c) driven
 * with hand-made segments and a fake protocol that records every callback:
 * in-order data, retransmits, overlaps, gaps, FIN, RST, the stream cap,
 * eviction and idle expiry, client/server detection, zero copy and tail
 * buffering, split consumption, DROP.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beat/limits.h"
#include "beat/cfg.h"
#include "packet/decoder.h"
#include "packet/packet.h"
#include "packet/pcapfile.h"
#include "packet/tcp.h"
#include "protos/protos.h"
#include "tests/support/ptrun.h"

#define SEC 1000000000ull

/* ---- the fake protocol ---- */

enum mode {
    M_ALL,      /* consume everything, OK */
    M_LINES,    /* consume complete lines, MORE */
    M_ONE_LINE, /* consume one line per call, OK; MORE without a full line */
    M_NONE,     /* consume nothing, MORE */
    M_DROP_X,   /* DROP when the data holds an 'X', else consume all */
    M_GREEDY,   /* claims more than it was given */
};

struct rec {
    char kind; /* D data, G gap, F fin, E expire, X free */
    enum pb_dir d;
    size_t len;
    const uint8_t *ptr;
    char data[64];
    uint64_t conn_id;
    struct pb_tuple tuple;
    bool pkt_null;
    unsigned state_calls;
};

struct fake_state {
    unsigned calls;
    uint8_t pad[100];
};

static struct rec recs[256];
static size_t nrec;
static size_t nfree, nexpire, ndata, ntick, nshutdown;
static uint64_t last_data_ts, data_bytes[2];
static enum mode mode;
static bool gap_drop;

static struct rec *add_rec(char kind, struct pb_conn *c, enum pb_dir d)
{
    if (kind == 'D') {
        ndata++;
    }
    if (nrec >= sizeof recs / sizeof recs[0]) {
        return NULL;
    }
    struct rec *r = &recs[nrec++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->d = d;
    r->conn_id = c->id;
    r->tuple = c->tuple;
    r->pkt_null = c->pkt == NULL;
    return r;
}

static enum pb_parse fake_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                               size_t *consumed)
{
    struct fake_state *st = c->state;
    last_data_ts = c->ts_ns;
    data_bytes[d] += len;
    struct rec *r = add_rec('D', c, d);
    if (r != NULL) {
        r->len = len;
        r->ptr = data;
        r->state_calls = st->calls;
        memcpy(r->data, data, len < sizeof r->data - 1 ? len : sizeof r->data - 1);
    }
    st->calls++;
    const uint8_t *nl;
    switch (mode) {
    case M_ALL:
        *consumed = len;
        return PB_PARSE_OK;
    case M_LINES:
        *consumed = 0;
        for (size_t i = len; i > 0; i--) {
            if (data[i - 1] == '\n') {
                *consumed = i;
                break;
            }
        }
        return PB_PARSE_MORE;
    case M_ONE_LINE:
        nl = memchr(data, '\n', len);
        if (nl == NULL) {
            *consumed = 0;
            return PB_PARSE_MORE;
        }
        *consumed = (size_t)(nl - data) + 1;
        return PB_PARSE_OK;
    case M_NONE:
        *consumed = 0;
        return PB_PARSE_MORE;
    case M_DROP_X:
        if (memchr(data, 'X', len) != NULL) {
            return PB_PARSE_DROP;
        }
        *consumed = len;
        return PB_PARSE_OK;
    case M_GREEDY:
        *consumed = len + 100;
        return PB_PARSE_OK;
    }
    return PB_PARSE_DROP;
}

static bool fake_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    struct rec *r = add_rec('G', c, d);
    if (r != NULL) {
        r->len = lost;
    }
    return gap_drop;
}

static void fake_fin(struct pb_conn *c, enum pb_dir d)
{
    add_rec('F', c, d);
}

static void fake_expire(struct pb_conn *c)
{
    nexpire++;
    add_rec('E', c, PB_DIR_TO_SERVER);
}

static void fake_free(struct pb_conn *c)
{
    nfree++;
    add_rec('X', c, PB_DIR_TO_SERVER);
}

static void fake_tick(struct pb_proto *p, uint64_t now_ns)
{
    ntick++;
}

static void fake_shutdown(struct pb_proto *p)
{
    nshutdown++;
}

static const struct pb_proto_ops fake_ops = {
    .name = "fake",
    .transports = PB_TCP,
    .conn_size = sizeof(struct fake_state),
    .on_data = fake_data,
    .on_gap = fake_gap,
    .on_fin = fake_fin,
    .on_expire = fake_expire,
    .conn_free = fake_free,
    .on_tick = fake_tick,
    .on_shutdown = fake_shutdown,
};

static struct pb_protos ps;
static struct pb_proto protos[2];
static struct pb_tcp *t;

static void setup(void)
{
    memset(&ps, 0, sizeof ps);
    memset(protos, 0, sizeof protos);
    memset(recs, 0, sizeof recs);
    nrec = nfree = nexpire = ndata = ntick = nshutdown = 0;
    last_data_ts = data_bytes[0] = data_bytes[1] = 0;
    mode = M_ALL;
    gap_drop = true;
    protos[0].ops = &fake_ops;
    protos[0].tx_timeout_ns = 10 * (int64_t)SEC;
    protos[0].ports[0] = 80;
    protos[0].nports = 1;
    protos[1].ops = &fake_ops;
    protos[1].tx_timeout_ns = 2 * (int64_t)SEC;
    protos[1].ports[0] = 6379;
    protos[1].nports = 1;
    ps.list = protos;
    ps.n = 2;
    pb_protos_set_port(&ps, PB_TCP, 80, 1);
    pb_protos_set_port(&ps, PB_TCP, 6379, 2);
    t = pb_tcp_new(&ps);
    ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
    pb_tcp_free(t);
    t = NULL;
}

/* ---- segments ---- */

#define CLI 0x0a000001u /* 10.0.0.1 */
#define SRV 0x0a000002u /* 10.0.0.2 */

static struct pb_pkt seg(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                         const void *data, size_t len)
{
    struct pb_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_ns = 1577836800ull * SEC;
    p.tuple.proto = 6;
    for (int i = 0; i < 4; i++) {
        p.tuple.src.b[i] = (uint8_t)(src >> (24 - 8 * i));
        p.tuple.dst.b[i] = (uint8_t)(dst >> (24 - 8 * i));
    }
    p.tuple.sport = sport;
    p.tuple.dport = dport;
    p.payload = data;
    p.payload_len = len;
    return p;
}

/* client 10.0.0.1:40000 <-> server 10.0.0.2:80 */
static uint64_t c2s(uint32_t seq, uint8_t flags, const char *s)
{
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, s, s ? strlen(s) : 0);
    return pb_tcp_process(t, &p, seq, flags, 100 * SEC);
}

static uint64_t s2c(uint32_t seq, uint8_t flags, const char *s)
{
    struct pb_pkt p = seg(SRV, 80, CLI, 40000, s, s ? strlen(s) : 0);
    return pb_tcp_process(t, &p, seq, flags, 100 * SEC);
}

static size_t count_kind(char kind)
{
    size_t n = 0;
    for (size_t i = 0; i < nrec; i++) {
        n += recs[i].kind == kind;
    }
    return n;
}

static const struct rec *nth_kind(char kind, size_t nth)
{
    for (size_t i = 0; i < nrec; i++) {
        if (recs[i].kind == kind && nth-- == 0) {
            return &recs[i];
        }
    }
    return NULL;
}

/* ---- tests ---- */

START_TEST(tcp_in_order_both_directions)
{
    uint64_t syn = c2s(1000, PB_TCP_SYN, NULL);
    ck_assert_uint_ne(syn, 0);
    uint64_t id = c2s(1001, PB_TCP_ACK | PB_TCP_PSH, "GET /\n");
    ck_assert_uint_eq(id, syn);
    ck_assert_uint_eq(s2c(5001, PB_TCP_ACK | PB_TCP_PSH, "HTTP 200\n"), id);
    ck_assert_uint_eq(c2s(1007, PB_TCP_ACK | PB_TCP_PSH, "GET /2\n"), id);
    ck_assert_uint_eq(count_kind('D'), 3);
    const struct rec *r = nth_kind('D', 0);
    ck_assert_int_eq(r->d, PB_DIR_TO_SERVER);
    ck_assert_str_eq(r->data, "GET /\n");
    ck_assert_uint_eq(r->tuple.sport, 40000);
    ck_assert_uint_eq(r->tuple.dport, 80);
    ck_assert(!r->pkt_null);
    r = nth_kind('D', 1);
    ck_assert_int_eq(r->d, PB_DIR_TO_CLIENT);
    ck_assert_str_eq(r->data, "HTTP 200\n");
    ck_assert_str_eq(nth_kind('D', 2)->data, "GET /2\n");
    ck_assert_uint_eq(pb_tcp_count(t), 1);
    ck_assert_uint_eq(pb_tcp_stats(t)->conns_created, 1);
}
END_TEST

START_TEST(tcp_state_zeroed_and_kept)
{
    c2s(1, PB_TCP_ACK, "a\n");
    c2s(3, PB_TCP_ACK, "b\n");
    ck_assert_uint_eq(nth_kind('D', 0)->state_calls, 0);
    ck_assert_uint_eq(nth_kind('D', 1)->state_calls, 1);
}
END_TEST

START_TEST(tcp_server_first_packet)
{
    /* The first segment seen comes from the server's port 80. */
    uint64_t id = s2c(7000, PB_TCP_ACK, "HTTP 200\n");
    ck_assert_uint_ne(id, 0);
    const struct rec *r = nth_kind('D', 0);
    ck_assert_int_eq(r->d, PB_DIR_TO_CLIENT);
    ck_assert_uint_eq(r->tuple.sport, 40000); /* stored client -> server */
    ck_assert_uint_eq(r->tuple.dport, 80);
    ck_assert_uint_eq(r->tuple.src.b[3], 1);
    ck_assert_uint_eq(c2s(1, PB_TCP_ACK, "GET\n"), id);
    ck_assert_int_eq(nth_kind('D', 1)->d, PB_DIR_TO_SERVER);
}
END_TEST

START_TEST(tcp_both_ports_protocol_port)
{
    /* 10.0.0.2:80 -> 10.0.0.1:80, first sender is the client */
    struct pb_pkt p = seg(SRV, 80, CLI, 80, "x\n", 2);
    pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC);
    const struct rec *r = nth_kind('D', 0);
    ck_assert_int_eq(r->d, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(r->tuple.src.b[3], 2);
    pb_tcp_close_all(t);
    nrec = 0;
    /* a SYN/ACK first: its receiver is the client */
    p = seg(SRV, 80, CLI, 80, NULL, 0);
    pb_tcp_process(t, &p, 1, PB_TCP_SYN | PB_TCP_ACK, SEC);
    p = seg(CLI, 80, SRV, 80, "y\n", 2);
    pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC);
    r = nth_kind('D', 0);
    ck_assert_int_eq(r->d, PB_DIR_TO_SERVER);
    ck_assert_uint_eq(r->tuple.src.b[3], 1);
}
END_TEST

START_TEST(tcp_unknown_ports_and_empty_segments)
{
    struct pb_pkt p = seg(CLI, 40000, SRV, 8080, "GET\n", 4);
    ck_assert_uint_eq(pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC), 0);
    /* a bare ACK creates no connection */
    ck_assert_uint_eq(c2s(1, PB_TCP_ACK, NULL), 0);
    ck_assert_uint_eq(pb_tcp_count(t), 0);
    ck_assert_uint_eq(count_kind('D'), 0);
    ck_assert_uint_eq(pb_tcp_stats(t)->ignored, 2);
    /* a SYN does */
    ck_assert_uint_ne(c2s(1, PB_TCP_SYN, NULL), 0);
    ck_assert_uint_eq(pb_tcp_count(t), 1);
}
END_TEST

START_TEST(tcp_retransmit_ignored)
{
    c2s(100, PB_TCP_ACK, "hello\n");
    c2s(100, PB_TCP_ACK, "hello\n");              /* full retransmit */
    c2s(102, PB_TCP_ACK, "llo\n");                /* ends at the expected seq */
    c2s(100, PB_TCP_ACK | PB_TCP_FIN, "hello\n"); /* retransmit: its FIN too */
    ck_assert_uint_eq(count_kind('D'), 1);
    ck_assert_uint_eq(count_kind('F'), 0);
    ck_assert_uint_eq(pb_tcp_stats(t)->retransmits, 3);
}
END_TEST

START_TEST(tcp_overlap_trimmed)
{
    c2s(100, PB_TCP_ACK, "0123456789");
    c2s(105, PB_TCP_ACK, "56789abcde"); /* overlaps 5 bytes */
    ck_assert_uint_eq(count_kind('D'), 2);
    ck_assert_str_eq(nth_kind('D', 1)->data, "abcde");
    ck_assert_uint_eq(pb_tcp_stats(t)->overlaps, 1);
}
END_TEST

START_TEST(tcp_gap_reported_then_data)
{
    mode = M_LINES;
    c2s(100, PB_TCP_ACK, "abc"); /* partial line buffered */
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, NULL, 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), 3);
    c2s(110, PB_TCP_ACK, "xyz\n"); /* 7 bytes missing */
    const struct rec *g = nth_kind('G', 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->len, 7);
    ck_assert_int_eq(g->d, PB_DIR_TO_SERVER);
    ck_assert(g->pkt_null);
    /* gap callback returned true: "abc" was dropped, only the new data */
    const struct rec *r = nth_kind('D', 1);
    ck_assert_str_eq(r->data, "xyz\n");
    ck_assert_uint_eq(pb_tcp_stats(t)->gaps, 1);
    ck_assert_uint_eq(pb_tcp_stats(t)->gap_bytes, 7);
}
END_TEST

START_TEST(tcp_gap_kept_when_protocol_says_so)
{
    mode = M_LINES;
    gap_drop = false;
    c2s(100, PB_TCP_ACK, "abc");
    c2s(110, PB_TCP_ACK, "xyz\n");
    ck_assert_str_eq(nth_kind('D', 1)->data, "abcxyz\n");
}
END_TEST

START_TEST(tcp_gap_ordering)
{
    c2s(100, PB_TCP_ACK, "a");
    c2s(200, PB_TCP_ACK, "b");
    ck_assert_int_eq(recs[0].kind, 'D');
    ck_assert_int_eq(recs[1].kind, 'G');
    ck_assert_uint_eq(recs[1].len, 99);
    ck_assert_int_eq(recs[2].kind, 'D');
}
END_TEST

START_TEST(tcp_seq_wraparound)
{
    c2s(0xfffffffcu, PB_TCP_ACK, "abcdefgh"); /* wraps to 4 */
    c2s(4, PB_TCP_ACK, "ijkl");
    c2s(0xfffffffeu, PB_TCP_ACK, "cdef"); /* old: retransmit */
    ck_assert_uint_eq(count_kind('D'), 2);
    ck_assert_uint_eq(count_kind('G'), 0);
    ck_assert_str_eq(nth_kind('D', 1)->data, "ijkl");
}
END_TEST

START_TEST(tcp_fin_each_direction)
{
    c2s(1, PB_TCP_ACK, "q\n");
    c2s(3, PB_TCP_ACK | PB_TCP_FIN, "last\n"); /* data, then FIN */
    s2c(9, PB_TCP_ACK | PB_TCP_FIN, NULL);
    ck_assert_uint_eq(count_kind('F'), 2);
    const struct rec *f = nth_kind('F', 0);
    ck_assert_int_eq(f->d, PB_DIR_TO_SERVER);
    ck_assert(f->pkt_null);
    ck_assert_int_eq(nth_kind('F', 1)->d, PB_DIR_TO_CLIENT);
    /* the data of the FIN segment came before the FIN */
    ck_assert_int_eq(recs[1].kind, 'D');
    ck_assert_int_eq(recs[2].kind, 'F');
}
END_TEST

START_TEST(tcp_rst_is_not_fin)
{
    c2s(1, PB_TCP_ACK, "q\n");
    s2c(1, PB_TCP_RST, NULL);
    s2c(1, PB_TCP_RST | PB_TCP_ACK, "bye\n");
    ck_assert_uint_eq(count_kind('F'), 0);
    ck_assert_uint_eq(count_kind('D'), 2); /* the RST's payload is data */
    ck_assert_str_eq(nth_kind('D', 1)->data, "bye\n");
}
END_TEST

START_TEST(tcp_zero_copy_and_tail)
{
    mode = M_LINES;
    static const char one[] = "line1\nhalf";
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, one, 10);
    pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC);
    /* nothing was buffered: the parser saw the packet's own bytes */
    ck_assert_ptr_eq(nth_kind('D', 0)->ptr, (const uint8_t *)one);
    struct pb_tuple tu = p.tuple;
    ck_assert_int_eq(pb_tcp_buffered(t, &tu, PB_DIR_TO_SERVER), 4);
    static const char two[] = "-line\n";
    p = seg(CLI, 40000, SRV, 80, two, 6);
    pb_tcp_process(t, &p, 11, PB_TCP_ACK, SEC);
    const struct rec *r = nth_kind('D', 1);
    ck_assert_ptr_ne(r->ptr, (const uint8_t *)two);
    ck_assert_str_eq(r->data, "half-line\n");
    ck_assert_int_eq(pb_tcp_buffered(t, &tu, PB_DIR_TO_SERVER), 0);
    /* buffer empty again: zero copy again */
    static const char three[] = "x\n";
    p = seg(CLI, 40000, SRV, 80, three, 2);
    pb_tcp_process(t, &p, 17, PB_TCP_ACK, SEC);
    ck_assert_ptr_eq(nth_kind('D', 2)->ptr, (const uint8_t *)three);
}
END_TEST

START_TEST(tcp_split_consumption_loops)
{
    mode = M_ONE_LINE;
    c2s(1, PB_TCP_ACK, "a\nbb\nccc\ndd");
    /* one call per line while it returns OK, then MORE on "dd" */
    ck_assert_uint_eq(count_kind('D'), 4);
    ck_assert_str_eq(nth_kind('D', 0)->data, "a\nbb\nccc\ndd");
    ck_assert_str_eq(nth_kind('D', 1)->data, "bb\nccc\ndd");
    ck_assert_str_eq(nth_kind('D', 2)->data, "ccc\ndd");
    ck_assert_str_eq(nth_kind('D', 3)->data, "dd");
    c2s(12, PB_TCP_ACK, "d\n");
    ck_assert_str_eq(nth_kind('D', 4)->data, "ddd\n");
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, NULL, 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), 0);
}
END_TEST

START_TEST(tcp_parse_drop)
{
    mode = M_LINES;
    c2s(1, PB_TCP_ACK, "abc");
    mode = M_DROP_X;
    c2s(4, PB_TCP_ACK, "X");
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, NULL, 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), 0);
    mode = M_ALL;
    c2s(5, PB_TCP_ACK, "fresh");
    ck_assert_str_eq(nth_kind('D', 2)->data, "fresh");
    ck_assert_uint_eq(pb_tcp_stats(t)->parse_drops, 1);
}
END_TEST

START_TEST(tcp_greedy_consumed_clamped)
{
    mode = M_GREEDY;
    c2s(1, PB_TCP_ACK, "abc");
    c2s(4, PB_TCP_ACK, "def");
    ck_assert_str_eq(nth_kind('D', 1)->data, "def");
}
END_TEST

START_TEST(tcp_stream_cap)
{
    mode = M_NONE;
    size_t chunk = 64 * 1024;
    uint8_t *buf = calloc(1, chunk);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 'a', chunk);
    uint32_t seq = 1;
    size_t sent = 0;
    struct pb_pkt p = seg(CLI, 40000, SRV, 80, buf, chunk);
    while (sent + chunk <= PB_MAX_STREAM_BYTES) {
        pb_tcp_process(t, &p, seq, PB_TCP_ACK, SEC);
        seq += (uint32_t)chunk;
        sent += chunk;
    }
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), (long)sent);
    ck_assert_uint_eq(count_kind('G'), 0);
    pb_tcp_process(t, &p, seq, PB_TCP_ACK, SEC); /* one more: over the cap */
    ck_assert_uint_eq(pb_tcp_stats(t)->stream_overflow, 1);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), 0);
    const struct rec *g = nth_kind('G', 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(g->len, sent + chunk);
    /* the stream goes on with the next segment */
    seq += (uint32_t)chunk;
    pb_tcp_process(t, &p, seq, PB_TCP_ACK, SEC);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), (long)chunk);
    free(buf);
}
END_TEST

START_TEST(tcp_idle_expiry_wall_clock)
{
    struct pb_pkt a = seg(CLI, 40000, SRV, 80, "a", 1);
    struct pb_pkt b = seg(CLI, 40001, SRV, 6379, "b", 1); /* 2 s timeout */
    pb_tcp_process(t, &a, 1, PB_TCP_ACK, 100 * SEC);
    pb_tcp_process(t, &b, 1, PB_TCP_ACK, 100 * SEC);
    pb_tcp_expire(t, 101 * SEC);
    ck_assert_uint_eq(pb_tcp_count(t), 2);
    pb_tcp_expire(t, 102 * SEC + 1);
    ck_assert_uint_eq(pb_tcp_count(t), 1);
    ck_assert_uint_eq(nexpire, 1);
    ck_assert_uint_eq(nfree, 1);
    /* expire comes before free */
    ck_assert_int_eq(recs[nrec - 2].kind, 'E');
    ck_assert_int_eq(recs[nrec - 1].kind, 'X');
    /* activity keeps a connection alive */
    pb_tcp_process(t, &a, 2, PB_TCP_ACK, 109 * SEC);
    pb_tcp_expire(t, 115 * SEC);
    ck_assert_uint_eq(pb_tcp_count(t), 1);
    pb_tcp_expire(t, 119 * SEC + 1);
    ck_assert_uint_eq(pb_tcp_count(t), 0);
    ck_assert_uint_eq(pb_tcp_stats(t)->conns_expired, 2);
}
END_TEST

START_TEST(tcp_close_all_no_expire)
{
    c2s(1, PB_TCP_ACK, "a");
    s2c(1, PB_TCP_ACK, "b");
    struct pb_pkt b = seg(CLI, 40001, SRV, 6379, "b", 1);
    pb_tcp_process(t, &b, 1, PB_TCP_ACK, SEC);
    pb_tcp_close_all(t);
    ck_assert_uint_eq(pb_tcp_count(t), 0);
    ck_assert_uint_eq(nfree, 2);
    ck_assert_uint_eq(nexpire, 0);
    ck_assert_uint_eq(pb_tcp_stats(t)->conns_dropped, 2);
}
END_TEST

/* The memory budget (PB_MAX_TCP_MEMORY, here 64 KiB): connections holding
 * unconsumed bytes are evicted oldest first to stay within it, and one
 * connection that alone passes it loses its buffer. */
START_TEST(tcp_memory_budget)
{
    mode = M_NONE; /* every byte stays buffered */
    const size_t budget = 64 * 1024;
    pb_tcp_set_limits(t, 0, budget);
    static uint8_t half[1000];
    memset(half, 'q', sizeof half);
    for (uint32_t i = 0; i < 200; i++) {
        struct pb_pkt p = seg(CLI, (uint16_t)(2000 + i), SRV, 80, half, sizeof half);
        ck_assert_uint_ne(pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC + i), 0);
        ck_assert_uint_le(pb_tcp_memory(t), budget);
    }
    const struct pb_tcp_stats *st = pb_tcp_stats(t);
    ck_assert_uint_gt(st->mem_evicted, 0);
    ck_assert_uint_eq(st->mem_evicted, nexpire);
    ck_assert_uint_eq(pb_tcp_count(t) + st->mem_evicted, 200);
    ck_assert_uint_eq(st->conns_evicted, 0);
    /* the newest are kept, the oldest went */
    struct pb_pkt last = seg(CLI, 2199, SRV, 80, "", 0);
    struct pb_pkt first = seg(CLI, 2000, SRV, 80, "", 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &last.tuple, PB_DIR_TO_SERVER), 1000);
    ck_assert_int_eq(pb_tcp_buffered(t, &first.tuple, PB_DIR_TO_SERVER), -1);
    const struct rec *e = nth_kind('E', 0);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->tuple.sport, 2000);

    /* one stream larger than the budget: its buffer goes, as a gap */
    nrec = 0; /* the record table only holds the last ones */
    static uint8_t big[16 * 1024];
    memset(big, 'r', sizeof big);
    struct pb_pkt b = seg(CLI, 3000, SRV, 80, big, sizeof big);
    uint32_t seq = 1;
    for (int i = 0; i < 8; i++) {
        pb_tcp_process(t, &b, seq, PB_TCP_ACK, 2 * SEC);
        seq += (uint32_t)sizeof big;
        ck_assert_uint_le(pb_tcp_memory(t), budget);
    }
    ck_assert_uint_gt(st->mem_drops, 0);
    ck_assert_ptr_nonnull(nth_kind('G', 0));
    ck_assert_int_lt(pb_tcp_buffered(t, &b.tuple, PB_DIR_TO_SERVER), (long)(8 * sizeof big));
    pb_tcp_close_all(t);
    ck_assert_uint_eq(pb_tcp_memory(t), 0);
}
END_TEST

START_TEST(tcp_eviction_oldest_first)
{
    struct pb_pkt p;
    pb_tcp_set_limits(t, 0, (size_t)1 << 40); /* the count cap, not the memory budget */
    for (uint32_t i = 0; i <= PB_MAX_TCP_CONNS; i++) {
        if (i == PB_MAX_TCP_CONNS) {
            ck_assert_uint_eq(nexpire, 0);
            nrec = 0; /* the record table only holds the last ones */
        }
        p = seg(CLI + (i >> 14), (uint16_t)(1024 + (i & 0x3fff)), SRV, 80, "z", 1);
        ck_assert_uint_ne(pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC + i), 0);
    }
    ck_assert_uint_eq(pb_tcp_count(t), PB_MAX_TCP_CONNS);
    ck_assert_uint_eq(pb_tcp_stats(t)->conns_evicted, 1);
    ck_assert_uint_eq(nexpire, 1);
    ck_assert_uint_eq(nfree, 1);
    /* the first connection (port 1024) went */
    const struct rec *e = nth_kind('E', 0);
    ck_assert_uint_eq(e->tuple.sport, 1024);
    ck_assert_uint_eq(e->tuple.src.b[3], 1);
    p = seg(CLI, 1024, SRV, 80, NULL, 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), -1);
    p = seg(CLI, 1025, SRV, 80, NULL, 0);
    ck_assert_int_eq(pb_tcp_buffered(t, &p.tuple, PB_DIR_TO_SERVER), 0);
}
END_TEST

START_TEST(tcp_ipv6_connection)
{
    struct pb_pkt p = seg(0, 40000, 0, 80, "v6\n", 3);
    p.tuple.src.v6 = p.tuple.dst.v6 = 1;
    p.tuple.src.b[15] = 1;
    p.tuple.dst.b[15] = 2;
    uint64_t id = pb_tcp_process(t, &p, 1, PB_TCP_ACK, SEC);
    ck_assert_uint_ne(id, 0);
    struct pb_pkt q = seg(0, 80, 0, 40000, "r\n", 2);
    q.tuple.src = p.tuple.dst;
    q.tuple.dst = p.tuple.src;
    ck_assert_uint_eq(pb_tcp_process(t, &q, 1, PB_TCP_ACK, SEC), id);
    ck_assert_int_eq(nth_kind('D', 1)->d, PB_DIR_TO_CLIENT);
    /* an IPv4 tuple with the same low bytes is another connection */
    struct pb_pkt r = seg(1, 40000, 2, 80, "v4\n", 3);
    ck_assert_uint_ne(pb_tcp_process(t, &r, 1, PB_TCP_ACK, SEC), id);
}
END_TEST

/* ---- the capture loop over files (packet/capture.c) ---- */

static char tmpdir[] = "/tmp/pbtcpXXXXXX";

static void cap_setup(void)
{
    setup();
    /* wsgi_loopback.pcap: one HTTP exchange on port 8888 */
    protos[0].ports[0] = 8888;
    pb_protos_set_port(&ps, PB_TCP, 80, 0);
    pb_protos_set_port(&ps, PB_TCP, 6379, 0);
    pb_protos_set_port(&ps, PB_TCP, 8888, 1);
    ps.n = 1;
}

static const char *pcap_path(const char *rel)
{
    static char path[1024];
    const char *src = getenv("PB_SRC");
    snprintf(path, sizeof path, "%s/tests/conformance/pcaps/%s", src ? src : ".", rel);
    return path;
}

static int run_file(const char *file, bool topspeed, int loops, const char *dump,
                    volatile sig_atomic_t *stop, pb_packet_hook_fn hook, void *hook_ctx,
                    uint64_t *packets)
{
    struct pb_cfg *root = pb_cfg_new_root("test");
    ck_assert_ptr_nonnull(root);
    struct pb_capture_opts o = {.file = file, .topspeed = topspeed, .loops = loops, .dump = dump};
    char err[512];
    struct pb_capture *c = pb_capture_open(root, &o, &ps, NULL, NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    if (hook != NULL) {
        pb_capture_set_packet_hook(c, hook, hook_ctx);
    }
    int rc = pb_capture_run(c, stop);
    if (packets != NULL) {
        *packets = pb_capture_packets(c);
    }
    pb_capture_close(c);
    pb_cfg_free(root);
    return rc;
}

START_TEST(cap_file_to_eof)
{
    uint64_t packets = 0;
    ck_assert_int_eq(
        run_file(pcap_path("wsgi_loopback.pcap"), true, 1, NULL, NULL, NULL, NULL, &packets), 0);
    ck_assert_uint_eq(packets, 48);
    const struct rec *r = nth_kind('D', 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(r->d, PB_DIR_TO_SERVER);
    ck_assert_mem_eq(r->data, "GET / ", 6);
    ck_assert_uint_eq(r->tuple.dport, 8888);
    ck_assert_uint_eq(r->tuple.sport, 46249);
    ck_assert_uint_gt(data_bytes[PB_DIR_TO_CLIENT], 20000);
    /* -t: packets keep their pcap time */
    ck_assert_uint_lt(last_data_ts, 1500000000ull * SEC);
    /* end of file: protocols shut down, connections freed without expiry */
    ck_assert_uint_eq(nshutdown, 1);
    ck_assert_uint_eq(nfree, 1);
    ck_assert_uint_eq(nexpire, 0);
}
END_TEST

START_TEST(cap_loops_and_dump)
{
    char dump[300];
    snprintf(dump, sizeof dump, "%s/dump.pcap", tmpdir);
    uint64_t packets = 0;
    ck_assert_int_eq(
        run_file(pcap_path("wsgi_loopback.pcap"), true, 1, NULL, NULL, NULL, NULL, &packets), 0);
    size_t once = ndata;
    uint64_t bytes_once = data_bytes[0] + data_bytes[1];
    nrec = ndata = nfree = nshutdown = 0;
    data_bytes[0] = data_bytes[1] = 0;
    ck_assert_int_eq(
        run_file(pcap_path("wsgi_loopback.pcap"), true, 3, dump, NULL, NULL, NULL, &packets), 0);
    ck_assert_uint_eq(packets, 3 * 48);
    /* the same segments again are retransmits to Packetbeat's tracker */
    ck_assert_uint_eq(ndata, once);
    ck_assert_uint_eq(data_bytes[0] + data_bytes[1], bytes_once);
    ck_assert_uint_eq(nshutdown, 1);
    /* -dump: every frame read, whole */
    char err[512];
    struct pb_pcapfile *f = pb_pcapfile_open(dump, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(pb_pcapfile_linktype(f), 1);
    const uint8_t *data;
    uint32_t cap, wire;
    uint64_t ts;
    size_t n = 0, big = 0;
    while (pb_pcapfile_next(f, &data, &cap, &wire, &ts, err, sizeof err) == 1) {
        n++;
        big += cap == 16450;
    }
    pb_pcapfile_close(f);
    ck_assert_uint_eq(n, 3 * 48);
    ck_assert_uint_gt(big, 0);
}
END_TEST

START_TEST(cap_stop_flag)
{
    volatile sig_atomic_t stop = 1;
    uint64_t packets = 1;
    ck_assert_int_eq(
        run_file(pcap_path("wsgi_loopback.pcap"), true, 1, NULL, &stop, NULL, NULL, &packets), 0);
    ck_assert_uint_eq(packets, 0);
    ck_assert_uint_eq(nshutdown, 0); /* not the end of the input */
    ck_assert_uint_eq(nexpire, 0);
}
END_TEST

struct hook_count {
    size_t frames, transport, with_conn;
};

static void count_hook(void *ctx, const struct pb_decoded *d, bool transport)
{
    struct hook_count *h = ctx;
    h->frames++;
    h->transport += transport;
    h->with_conn += d->conn_id != 0;
}

START_TEST(cap_packet_hook)
{
    struct hook_count h = {0, 0, 0};
    ck_assert_int_eq(
        run_file(pcap_path("wsgi_loopback.pcap"), true, 1, NULL, NULL, count_hook, &h, NULL), 0);
    ck_assert_uint_eq(h.frames, 48);
    ck_assert_uint_eq(h.transport, 48);
    ck_assert_uint_gt(h.with_conn, 40);
}
END_TEST

START_TEST(cap_open_errors)
{
    struct pb_cfg *root = pb_cfg_new_root("test");
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/nope.pcap", tmpdir);
    struct pb_capture_opts o = {.file = path, .topspeed = true, .loops = 1};
    ck_assert_ptr_null(pb_capture_open(root, &o, &ps, NULL, NULL, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, path));
    pb_cfg_free(root);
}
END_TEST

/* A raw-IP pcap of three TCP segments to port 8888, 150 ms apart. */
static void write_paced_pcap(const char *path)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    static const uint8_t hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0,   0, 0, 0,
                                    0,    0,    0,    0,    0xff, 0xff, 0, 0, 101, 0, 0, 0};
    fwrite(hdr, 1, sizeof hdr, fp);
    for (uint32_t k = 0; k < 3; k++) {
        uint8_t f[44];
        memset(f, 0, sizeof f);
        f[0] = 0x45;
        f[3] = 44;
        f[8] = 64;
        f[9] = 6;
        f[12] = 10, f[15] = 1, f[16] = 10, f[19] = 2;
        f[20] = 0x9c, f[21] = 0x40; /* 40000 */
        f[22] = 0x22, f[23] = 0xb8; /* 8888 */
        f[27] = (uint8_t)(1 + 4 * k);
        f[32] = 0x50;
        f[33] = PB_TCP_ACK | PB_TCP_PSH;
        memcpy(f + 40, "abc\n", 4);
        uint32_t rec[4] = {1600000000u, 150000u * k, 44, 44};
        fwrite(rec, 4, 4, fp); /* host order = little endian here */
        fwrite(f, 1, sizeof f, fp);
    }
    fclose(fp);
}

START_TEST(cap_paced_replay)
{
    char path[300];
    snprintf(path, sizeof path, "%s/paced.pcap", tmpdir);
    write_paced_pcap(path);
    struct timespec a, b, w;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_REALTIME, &w);
    uint64_t wall0 = (uint64_t)w.tv_sec * SEC + (uint64_t)w.tv_nsec;
    ck_assert_int_eq(run_file(path, false, 1, NULL, NULL, NULL, NULL, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t took =
        (uint64_t)(b.tv_sec - a.tv_sec) * SEC + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
    ck_assert_uint_ge(took, 280000000ull);
    ck_assert_uint_lt(took, 2 * SEC);
    ck_assert_uint_eq(count_kind('D'), 3);
    /* timers ran while sleeping */
    ck_assert_uint_ge(ntick, 2);
    /* paced packets carry the time they were delivered, as Packetbeat's */
    ck_assert_uint_ge(last_data_ts, wall0);
    /* with -t: no sleeping, pcap time */
    nrec = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(run_file(path, true, 1, NULL, NULL, NULL, NULL, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    took = (uint64_t)(b.tv_sec - a.tv_sec) * SEC + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
    ck_assert_uint_lt(took, 250000000ull);
    ck_assert_uint_eq(last_data_ts, 1600000000ull * SEC + 300000000ull);
}
END_TEST

static Suite *tcp_suite(void)
{
    Suite *s = suite_create("tcp");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tcp_in_order_both_directions);
    tcase_add_test(tc, tcp_state_zeroed_and_kept);
    tcase_add_test(tc, tcp_server_first_packet);
    tcase_add_test(tc, tcp_both_ports_protocol_port);
    tcase_add_test(tc, tcp_unknown_ports_and_empty_segments);
    tcase_add_test(tc, tcp_retransmit_ignored);
    tcase_add_test(tc, tcp_overlap_trimmed);
    tcase_add_test(tc, tcp_gap_reported_then_data);
    tcase_add_test(tc, tcp_gap_kept_when_protocol_says_so);
    tcase_add_test(tc, tcp_gap_ordering);
    tcase_add_test(tc, tcp_seq_wraparound);
    tcase_add_test(tc, tcp_fin_each_direction);
    tcase_add_test(tc, tcp_rst_is_not_fin);
    tcase_add_test(tc, tcp_zero_copy_and_tail);
    tcase_add_test(tc, tcp_split_consumption_loops);
    tcase_add_test(tc, tcp_parse_drop);
    tcase_add_test(tc, tcp_greedy_consumed_clamped);
    tcase_add_test(tc, tcp_stream_cap);
    tcase_add_test(tc, tcp_idle_expiry_wall_clock);
    tcase_add_test(tc, tcp_close_all_no_expire);
    tcase_add_test(tc, tcp_eviction_oldest_first);
    tcase_add_test(tc, tcp_memory_budget);
    tcase_add_test(tc, tcp_ipv6_connection);
    suite_add_tcase(s, tc);
    TCase *cap = tcase_create("capture");
    tcase_add_checked_fixture(cap, cap_setup, teardown);
    tcase_set_timeout(cap, 60);
    tcase_add_test(cap, cap_file_to_eof);
    tcase_add_test(cap, cap_loops_and_dump);
    tcase_add_test(cap, cap_stop_flag);
    tcase_add_test(cap, cap_packet_hook);
    tcase_add_test(cap, cap_open_errors);
    tcase_add_test(cap, cap_paced_replay);
    suite_add_tcase(s, cap);
    return s;
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        return EXIT_FAILURE;
    }
    int failed = pt_run_suite(tcp_suite());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", tmpdir);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
