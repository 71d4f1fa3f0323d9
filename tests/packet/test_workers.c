/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_workers.c - packet workers (packet/workers.c): the
 * worker of a packet is the same for both directions; N workers give the
 * TCP connection ids and the flows (ids, which hold the connection ids,
 * and the shared max_flows cap) of one tracker and one flow table fed in
 * packet order; ticks and the end reach every worker; the capture loop
 * with packetbeat.interfaces.workers calls the packet hook for every frame.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "packet/decoder.h"
#include "packet/flows.h"
#include "packet/packet.h"
#include "packet/tcp.h"
#include "packet/workers.h"
#include "protos/protos.h"
#include "tests/support/ptrun.h"

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

/* ---- events, from any thread ---- */

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *flow_ids; /* flow.id of every flow event */

static void collect(void *ctx, struct pb_proto *p, pb_event *ev)
{
    (void)ctx;
    (void)p;
    pthread_mutex_lock(&ev_mu);
    const char *id = pb_ev_get_str(ev, "flow.id", NULL);
    if (id != NULL) {
        json_array_append_new(flow_ids, json_string(id));
    }
    pthread_mutex_unlock(&ev_mu);
    pb_ev_free(ev);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The collected flow ids, sorted, joined by spaces (owned by the caller). */
static char *take_ids(void)
{
    size_t n = json_array_size(flow_ids);
    const char **v = calloc(n + 1, sizeof *v);
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(flow_ids, i));
        len += strlen(v[i]) + 1;
    }
    qsort(v, n, sizeof *v, cmp_str);
    char *out = calloc(1, len);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        memcpy(out + pos, v[i], l);
        out[pos + l] = ' ';
        pos += l + 1;
    }
    free(v);
    json_array_clear(flow_ids);
    return out;
}

static struct pb_cfg *root;

static void setup(void)
{
    flow_ids = json_array();
    static const char yaml[] = "packetbeat.protocols:\n"
                               "- type: redis\n"
                               "  ports: [6379]\n"
                               "packetbeat.flows:\n"
                               "  timeout: 30s\n"
                               "  period: -1s\n";
    char err[256];
    root = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(root != NULL, "%s", err);
}

static void teardown(void)
{
    pb_cfg_free(root);
    json_decref(flow_ids);
}

/* ---- packets ---- */

static struct pb_ip ip4(uint8_t c, uint8_t d)
{
    struct pb_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.b[0] = 10;
    ip.b[1] = 0;
    ip.b[2] = c;
    ip.b[3] = d;
    return ip;
}

static struct pb_decoded tcp_pkt(struct pb_ip src, uint16_t sport, struct pb_ip dst, uint16_t dport,
                                 uint8_t flags, uint32_t seq, const char *data, uint64_t ts)
{
    struct pb_decoded d;
    memset(&d, 0, sizeof d);
    d.ts_ns = ts;
    d.wire_len = 60;
    d.nip = 1;
    d.tuple.src = src;
    d.tuple.dst = dst;
    d.tuple.sport = sport;
    d.tuple.dport = dport;
    d.tuple.proto = PB_IPPROTO_TCP;
    d.tcp_flags = flags;
    d.tcp_seq = seq;
    d.payload = (const uint8_t *)data;
    d.payload_len = data != NULL ? strlen(data) : 0;
    return d;
}

static struct pb_decoded udp_pkt(struct pb_ip src, uint16_t sport, struct pb_ip dst, uint16_t dport,
                                 uint64_t ts)
{
    struct pb_decoded d = tcp_pkt(src, sport, dst, dport, 0, 0, NULL, ts);
    d.tuple.proto = PB_IPPROTO_UDP;
    return d;
}

/* A mix in packet order: redis connections from many clients (SYN, a
 * request, an answer), UDP flows, and a port without protocol. */
static size_t make_traffic(struct pb_decoded *out, size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < 60 && n + 6 <= max; i++) {
        struct pb_ip cli = ip4((uint8_t)(i % 7), (uint8_t)(1 + i));
        struct pb_ip srv = ip4(200, (uint8_t)(1 + i % 3));
        uint16_t sport = (uint16_t)(40000 + i * 13);
        uint64_t ts = T0 + i * 1000000ull;
        out[n++] = tcp_pkt(cli, sport, srv, 6379, PB_TCP_SYN, 100, NULL, ts);
        out[n++] = udp_pkt(cli, (uint16_t)(5000 + i), srv, 9999, ts + 1);
        out[n++] = tcp_pkt(cli, sport, srv, 6379, PB_TCP_ACK | PB_TCP_PSH, 101,
                           "*1\r\n$4\r\nPING\r\n", ts + 2);
        out[n++] =
            tcp_pkt(srv, 6379, cli, sport, PB_TCP_ACK | PB_TCP_PSH, 500, "+PONG\r\n", ts + 3);
        /* no protocol on 7777: a flow, no connection */
        out[n++] = tcp_pkt(cli, sport, srv, 7777, PB_TCP_SYN, 1, NULL, ts + 4);
        if (i % 4 == 0) {
            out[n++] = udp_pkt(srv, 9999, cli, (uint16_t)(5000 + i), ts + 5);
        }
    }
    return n;
}

struct parts_set {
    struct pb_protos *ps;
    struct pb_tcp *tcp;
    struct pb_flows *fl;
};

static struct pb_worker_parts new_parts(size_t max_flows)
{
    struct pb_worker_parts p = {.owned = true};
    char err[256];
    p.ps = calloc(1, sizeof *p.ps);
    ck_assert_int_eq(pb_protos_setup(p.ps, root, collect, NULL, err, sizeof err), 0);
    p.tcp = pb_tcp_new(p.ps);
    ck_assert_ptr_nonnull(p.tcp);
    pb_tcp_set_track_empty(p.tcp, true);
    struct pb_flows_config fc;
    ck_assert_int_eq(
        pb_flows_config_read(pb_cfg_get(root, "packetbeat.flows"), &fc, err, sizeof err), 0);
    fc.max_flows = max_flows;
    p.fl = pb_flows_new(&fc, NULL, collect, NULL, T0);
    ck_assert_ptr_nonnull(p.fl);
    return p;
}

static uint64_t count_ids(void *ctx)
{
    uint64_t *next = ctx;
    return ++*next;
}

/* One tracker and one table, in packet order, as the capture loop does;
 * connection ids from 1 as in a fresh process. */
static char *reference(const struct pb_decoded *pk, size_t n, size_t max_flows)
{
    struct pb_worker_parts p = new_parts(max_flows);
    uint64_t next_id = 0;
    pb_tcp_set_id_source(p.tcp, count_ids, &next_id);
    for (size_t i = 0; i < n; i++) {
        struct pb_decoded d = pk[i];
        if (d.tuple.proto == PB_IPPROTO_TCP) {
            struct pb_pkt pkt;
            memset(&pkt, 0, sizeof pkt);
            pkt.ts_ns = d.ts_ns;
            pkt.tuple = d.tuple;
            pkt.payload = d.payload;
            pkt.payload_len = d.payload_len;
            d.conn_id = pb_tcp_process(p.tcp, &pkt, d.tcp_seq, d.tcp_flags, T0);
        }
        pb_flows_packet(p.fl, &d, true, T0);
    }
    pb_tcp_flush(p.tcp);
    pb_protos_shutdown(p.ps);
    pb_tcp_close_all(p.tcp);
    pb_flows_final(p.fl, T0);
    pb_flows_free(p.fl);
    pb_tcp_free(p.tcp);
    pb_protos_free(p.ps);
    free(p.ps);
    return take_ids();
}

static size_t hook_frames;
static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;

static void count_hook(void *ctx, const struct pb_decoded *d, bool ok)
{
    (void)ctx;
    (void)d;
    (void)ok;
    pthread_mutex_lock(&hook_mu);
    hook_frames++;
    pthread_mutex_unlock(&hook_mu);
}

static char *with_workers(unsigned nw, const struct pb_decoded *pk, size_t n, size_t max_flows)
{
    struct pb_worker_parts parts[4];
    for (unsigned i = 0; i < nw; i++) {
        parts[i] = new_parts(max_flows);
    }
    char err[256];
    struct pb_workers *ws = pb_workers_new(nw, parts, NULL, NULL, err, sizeof err);
    ck_assert_msg(ws != NULL, "%s", err);
    pb_workers_set_hook(ws, count_hook, NULL);
    ck_assert_int_eq(pb_workers_start(ws), 0);
    for (size_t i = 0; i < n; i++) {
        pb_workers_packet(ws, &pk[i], true, T0);
        if (i % 50 == 49) {
            pb_workers_tick(ws, T0);
        }
    }
    pb_workers_finish(ws, true);
    for (unsigned i = 0; i < nw; i++) {
        pb_flows_final(pb_workers_part(ws, i)->fl, T0);
    }
    pb_workers_refresh_stats(ws);
    struct pb_flows_stats fs;
    pb_workers_flows_stats(ws, &fs);
    struct pb_tcp_stats ts;
    size_t mem = 0;
    pb_workers_tcp_stats(ws, &ts, &mem);
    ck_assert_uint_eq(ts.conns_created, 60);
    ck_assert_uint_le(fs.created, max_flows);
    ck_assert_uint_eq(fs.events, json_array_size(flow_ids));
    pb_workers_free(ws);
    return take_ids();
}

/* ---- tests ---- */

START_TEST(pick_is_symmetric)
{
    for (unsigned i = 0; i < 500; i++) {
        struct pb_decoded d = tcp_pkt(ip4((uint8_t)i, (uint8_t)(i * 7)), (uint16_t)(i * 31),
                                      ip4((uint8_t)(i * 3), 9), (uint16_t)(80 + i), 0, 0, NULL, 0);
        struct pb_decoded r =
            tcp_pkt(d.tuple.dst, d.tuple.dport, d.tuple.src, d.tuple.sport, 0, 0, NULL, 0);
        for (unsigned n = 2; n <= 16; n++) {
            ck_assert_uint_eq(pb_workers_pick(&d, true, n), pb_workers_pick(&r, true, n));
            ck_assert_uint_lt(pb_workers_pick(&d, true, n), n);
        }
        /* not down to the transport (a flow on the IP layer), or ICMP: the
           addresses alone, so that it meets the ICMP packets of the pair */
        struct pb_decoded icmp = d;
        icmp.tuple.proto = PB_IPPROTO_ICMP;
        icmp.tuple.sport = icmp.tuple.dport = 0;
        ck_assert_uint_eq(pb_workers_pick(&d, false, 4), pb_workers_pick(&icmp, true, 4));
        ck_assert_uint_eq(pb_workers_pick(&r, false, 4), pb_workers_pick(&icmp, true, 4));
        /* VLANs do not matter (the tracker ignores them) */
        struct pb_decoded v = d;
        v.nvlan = 1;
        v.vlan[0] = (uint16_t)i;
        ck_assert_uint_eq(pb_workers_pick(&v, true, 4), pb_workers_pick(&d, true, 4));
    }
    /* the packets of one worker are not all of them */
    unsigned hits[2] = {0, 0};
    for (unsigned i = 0; i < 200; i++) {
        struct pb_decoded d =
            tcp_pkt(ip4(1, (uint8_t)i), (uint16_t)(1000 + i), ip4(2, 2), 80, 0, 0, NULL, 0);
        hits[pb_workers_pick(&d, true, 2)]++;
    }
    ck_assert_uint_gt(hits[0], 50);
    ck_assert_uint_gt(hits[1], 50);
}
END_TEST

START_TEST(workers_give_single_thread_ids)
{
    static struct pb_decoded pk[400];
    size_t n = make_traffic(pk, 400);
    char *want = reference(pk, n, 100000);
    ck_assert_uint_gt(strlen(want), 100);
    for (unsigned nw = 2; nw <= 4; nw++) {
        hook_frames = 0;
        char *got = with_workers(nw, pk, n, 100000);
        ck_assert_str_eq(got, want);
        ck_assert_uint_eq(hook_frames, n);
        free(got);
    }
    free(want);
}
END_TEST

START_TEST(workers_share_max_flows)
{
    static struct pb_decoded pk[400];
    size_t n = make_traffic(pk, 400);
    /* far fewer flows than the traffic opens: which ones are counted is
       decided in packet order, as in one table */
    for (size_t max = 1; max <= 90; max += 22) {
        char *want = reference(pk, n, max);
        for (unsigned nw = 2; nw <= 3; nw++) {
            char *got = with_workers(nw, pk, n, max);
            ck_assert_str_eq(got, want);
            free(got);
        }
        free(want);
    }
}
END_TEST

static Suite *workers_suite(void)
{
    Suite *s = suite_create("workers");
    TCase *tc = tcase_create("workers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, pick_is_symmetric);
    tcase_add_test(tc, workers_give_single_thread_ids);
    tcase_add_test(tc, workers_share_max_flows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(workers_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
