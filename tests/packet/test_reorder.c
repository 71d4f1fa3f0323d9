/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_reorder.c - bounded TCP reordering: the segment list
 * (packet/reorder.c) and the tracker holding out-of-order segments
 * (packet/tcp.c, pb_tcp_set_reorder) with a line protocol whose lines stand
 * for transactions: shuffled segments lose lines without reordering and
 * keep them with it; holes that cannot fill (byte and segment caps, timeout,
 * the peer answering, the end) become the gaps Packetbeat reports.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/limits.h"
#include "packet/reorder.h"
#include "packet/tcp.h"
#include "protos/protos.h"
#include "tests/support/ptrun.h"

#define SEC 1000000000ull
#define MS 1000000ull
#define T0 (1577836800ull * SEC)

/* ---- a line protocol: each complete line is a transaction ---- */

static char lines[64][32];
static size_t nlines;
static char log_[512]; /* D<dir><line> G<dir> F<dir>, in order */
static size_t gaps;
static char tunnel_seen[64][8]; /* tunnel type when each line was seen */

static void logf_(const char *s)
{
    size_t n = strlen(log_);
    snprintf(log_ + n, sizeof log_ - n, "%s ", s);
}

static enum pb_parse line_data(struct pb_conn *c, enum pb_dir d, const uint8_t *data, size_t len,
                               size_t *consumed)
{
    (void)c;
    size_t pos = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '\n') {
            continue;
        }
        size_t n = i - pos;
        if (nlines < 64 && n < 30) {
            lines[nlines][0] = d == PB_DIR_TO_SERVER ? '>' : '<';
            memcpy(lines[nlines] + 1, data + pos, n);
            lines[nlines][n + 1] = '\0';
            const struct pb_tunnel *tun = pb_ev_tunnel();
            snprintf(tunnel_seen[nlines], sizeof tunnel_seen[0], "%s",
                     tun != NULL ? pb_tunnel_name(tun->kind) : "-");
            logf_(lines[nlines]);
            nlines++;
        }
        pos = i + 1;
    }
    *consumed = pos;
    return PB_PARSE_MORE;
}

static bool line_gap(struct pb_conn *c, enum pb_dir d, size_t lost)
{
    (void)c;
    (void)lost;
    gaps++;
    logf_(d == PB_DIR_TO_SERVER ? "G>" : "G<");
    return true; /* drop the partial line, as protocols do */
}

static void line_fin(struct pb_conn *c, enum pb_dir d)
{
    (void)c;
    logf_(d == PB_DIR_TO_SERVER ? "F>" : "F<");
}

static const struct pb_proto_ops line_ops = {
    .name = "line",
    .transports = PB_TCP,
    .on_data = line_data,
    .on_gap = line_gap,
    .on_fin = line_fin,
};

static struct pb_protos ps;
static struct pb_proto proto;
static struct pb_tcp *t;

static void setup(void)
{
    memset(&ps, 0, sizeof ps);
    memset(&proto, 0, sizeof proto);
    memset(lines, 0, sizeof lines);
    memset(log_, 0, sizeof log_);
    nlines = gaps = 0;
    proto.ops = &line_ops;
    proto.ports[0] = 80;
    proto.nports = 1;
    ps.list = &proto;
    ps.n = 1;
    pb_protos_set_port(&ps, PB_TCP, 80, 1);
    t = pb_tcp_new(&ps);
    ck_assert_ptr_nonnull(t);
}

static void teardown(void)
{
    pb_tcp_free(t);
    t = NULL;
    pb_ev_set_tunnel(NULL);
}

static void reorder_on(void)
{
    pb_tcp_set_reorder(t, PB_TCP_REORDER_BYTES, PB_TCP_REORDER_SEGMENTS, PB_TCP_REORDER_TIMEOUT_NS);
}

static struct pb_pkt seg(bool to_server, uint16_t cport, const char *s, uint64_t ts)
{
    struct pb_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_ns = ts;
    p.tuple.proto = 6;
    uint8_t cli[4] = {10, 0, 0, 1}, srv[4] = {10, 0, 0, 2};
    memcpy(p.tuple.src.b, to_server ? cli : srv, 4);
    memcpy(p.tuple.dst.b, to_server ? srv : cli, 4);
    p.tuple.sport = to_server ? cport : 80;
    p.tuple.dport = to_server ? 80 : cport;
    p.payload = (const uint8_t *)s;
    p.payload_len = s != NULL ? strlen(s) : 0;
    return p;
}

#define C_ISN 1000u
#define S_ISN 5000u

/* client -> server at byte offset off (0: the first data byte) */
static void c2s_at(uint16_t cport, uint32_t off, uint8_t flags, const char *s, uint64_t ts)
{
    struct pb_pkt p = seg(true, cport, s, ts);
    pb_tcp_process(t, &p, C_ISN + 1 + off, flags, 100 * SEC);
}

static void s2c_at(uint16_t cport, uint32_t off, uint8_t flags, const char *s, uint64_t ts)
{
    struct pb_pkt p = seg(false, cport, s, ts);
    pb_tcp_process(t, &p, S_ISN + 1 + off, flags, 100 * SEC);
}

static void handshake(uint16_t cport, uint64_t ts)
{
    struct pb_pkt p = seg(true, cport, NULL, ts);
    pb_tcp_process(t, &p, C_ISN, 0x02, 100 * SEC); /* SYN */
    p = seg(false, cport, NULL, ts);
    pb_tcp_process(t, &p, S_ISN, 0x12, 100 * SEC); /* SYN/ACK */
}

/* Three requests in three segments, sent 1, 3, 2; then the answers. */
static void shuffled_exchange(void)
{
    handshake(40000, T0);
    c2s_at(40000, 0, 0x18, "GET a\nGE", T0 + 1 * MS);
    c2s_at(40000, 13, 0x18, "ET c\n", T0 + 3 * MS);
    c2s_at(40000, 8, 0x18, "T b\nG", T0 + 2 * MS);
    s2c_at(40000, 0, 0x18, "200 a\n200 b\n200 c\n", T0 + 4 * MS);
}

/* ---- the segment list ---- */

START_TEST(list_sorted_duplicates_and_clear)
{
    struct pb_reorder r;
    memset(&r, 0, sizeof r);
    struct pb_pkt p = seg(true, 1, "cccc", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 300, false), PB_REORDER_HELD);
    p = seg(true, 1, "aaaa", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 100, false), PB_REORDER_HELD);
    p = seg(true, 1, "bbbb", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 200, true), PB_REORDER_HELD);
    /* the same bytes again: a retransmit, nothing kept */
    p = seg(true, 1, "aaaa", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 100, false), PB_REORDER_DUPLICATE);
    ck_assert_uint_eq(r.nsegs, 3);
    ck_assert_uint_eq(r.bytes, 12);
    ck_assert_ptr_nonnull(pb_reorder_first(&r));
    ck_assert_uint_eq(pb_reorder_first(&r)->seq, 100);
    struct pb_reorder_seg *s = pb_reorder_pop(&r);
    ck_assert_uint_eq(s->seq, 100);
    ck_assert_mem_eq(s->pkt.payload, "aaaa", 4);
    pb_free(s);
    s = pb_reorder_pop(&r);
    ck_assert_uint_eq(s->seq, 200);
    ck_assert(s->fin);
    pb_free(s);
    pb_reorder_clear(&r); /* frees the third (ASan checks) */
    ck_assert_ptr_null(pb_reorder_first(&r));
    ck_assert_uint_eq(r.nsegs, 0);
    ck_assert_uint_eq(r.bytes, 0);
    ck_assert_uint_eq(r.mem, 0);
}
END_TEST

START_TEST(list_sequence_wraparound)
{
    struct pb_reorder r;
    memset(&r, 0, sizeof r);
    struct pb_pkt p = seg(true, 1, "late", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 10, false), PB_REORDER_HELD);
    p = seg(true, 1, "early", T0);
    ck_assert_int_eq(pb_reorder_add(&r, &p, 0xfffffff0u, false), PB_REORDER_HELD);
    ck_assert_uint_eq(pb_reorder_first(&r)->seq, 0xfffffff0u);
    pb_reorder_clear(&r);
}
END_TEST

/* ---- the tracker ---- */

START_TEST(shuffled_lost_without_reordering)
{
    shuffled_exchange();
    /* Packetbeat's way: "b" falls into the gap; the parser drops the line */
    ck_assert_uint_eq(gaps, 1);
    ck_assert_uint_eq(nlines, 5); /* GET a, ET c (broken), three answers */
    ck_assert_str_eq(lines[0], ">GET a");
    ck_assert_str_eq(lines[1], ">ET c");
    ck_assert_uint_eq(pb_tcp_stats(t)->retransmits, 1); /* the late segment */
}
END_TEST

START_TEST(shuffled_kept_with_reordering)
{
    reorder_on();
    shuffled_exchange();
    ck_assert_uint_eq(gaps, 0);
    ck_assert_uint_eq(nlines, 6);
    ck_assert_str_eq(lines[0], ">GET a");
    ck_assert_str_eq(lines[1], ">GET b");
    ck_assert_str_eq(lines[2], ">GET c");
    ck_assert_str_eq(lines[3], "<200 a");
    const struct pb_tcp_stats *st = pb_tcp_stats(t);
    ck_assert_uint_eq(st->reorder_held, 1);
    ck_assert_uint_eq(st->reordered, 1);
    ck_assert_uint_eq(st->reorder_gaps, 0);
    ck_assert_uint_eq(st->gaps, 0);
    ck_assert_uint_eq(st->retransmits, 0);
}
END_TEST

/* the first data segment comes second: the SYN said where data starts */
START_TEST(hole_before_first_byte)
{
    reorder_on();
    handshake(40001, T0);
    c2s_at(40001, 4, 0x18, "b\n", T0 + 2 * MS);
    c2s_at(40001, 0, 0x18, "GET ", T0 + 1 * MS);
    ck_assert_uint_eq(nlines, 1);
    ck_assert_str_eq(lines[0], ">GET b");
    ck_assert_uint_eq(gaps, 0);
    /* without a SYN there is no knowing: data starts where it is first seen */
    c2s_at(40002, 4, 0x18, "x\n", T0 + 3 * MS);
    ck_assert_uint_eq(nlines, 2);
    ck_assert_uint_eq(pb_tcp_stats(t)->reorder_held, 1);
}
END_TEST

/* a hole before the first byte that never fills: no gap, as Packetbeat
 * starts at the first data it sees */
START_TEST(start_hole_flushed_without_gap)
{
    reorder_on();
    handshake(40003, T0);
    c2s_at(40003, 10, 0x18, "x\ny\n", T0 + 1 * MS);
    ck_assert_uint_eq(nlines, 0);
    pb_tcp_flush(t);
    ck_assert_uint_eq(gaps, 0);
    ck_assert_uint_eq(nlines, 2);
    ck_assert_str_eq(log_, ">x >y ");
}
END_TEST

START_TEST(retransmit_and_overlap_of_held)
{
    reorder_on();
    handshake(40004, T0);
    c2s_at(40004, 0, 0x18, "aa\n", T0);
    c2s_at(40004, 6, 0x18, "cc\n", T0 + 1 * MS);
    c2s_at(40004, 6, 0x18, "cc\n", T0 + 2 * MS); /* the held one again */
    ck_assert_uint_eq(pb_tcp_stats(t)->retransmits, 1);
    c2s_at(40004, 3, 0x18, "bb\nc", T0 + 3 * MS); /* fills and overlaps one byte */
    ck_assert_str_eq(log_, ">aa >bb >cc ");
    ck_assert_uint_eq(pb_tcp_stats(t)->overlaps, 1);
    ck_assert_uint_eq(gaps, 0);
    c2s_at(40004, 0, 0x18, "aa\n", T0 + 4 * MS); /* old: a retransmit as before */
    ck_assert_uint_eq(pb_tcp_stats(t)->retransmits, 2);
    ck_assert_uint_eq(nlines, 3);
}
END_TEST

START_TEST(byte_budget_makes_gap)
{
    pb_tcp_set_reorder(t, 8, 16, PB_TCP_REORDER_TIMEOUT_NS);
    handshake(40005, T0);
    c2s_at(40005, 0, 0x18, "a\n", T0);
    c2s_at(40005, 4, 0x18, "c\n", T0 + 1 * MS); /* held: hole of 2 */
    ck_assert_uint_eq(pb_tcp_stats(t)->reorder_held, 1);
    c2s_at(40005, 20, 0x18, "e\n", T0 + 2 * MS); /* 20 bytes ahead: over 8 */
    /* held "c" after its gap, then "e" after its own gap, as Packetbeat */
    ck_assert_str_eq(log_, ">a G> >c G> >e ");
    ck_assert_uint_eq(pb_tcp_stats(t)->reorder_gaps, 1);
    ck_assert_uint_eq(pb_tcp_stats(t)->gaps, 2);
}
END_TEST

START_TEST(segment_budget_makes_gap)
{
    pb_tcp_set_reorder(t, PB_TCP_REORDER_BYTES, 2, PB_TCP_REORDER_TIMEOUT_NS);
    handshake(40006, T0);
    c2s_at(40006, 0, 0x18, "a\n", T0);
    c2s_at(40006, 4, 0x18, "c\n", T0);
    c2s_at(40006, 6, 0x18, "d\n", T0);
    c2s_at(40006, 8, 0x18, "e\n", T0); /* a third: over the cap */
    ck_assert_str_eq(log_, ">a G> >c >d >e ");
    ck_assert_uint_eq(pb_tcp_stats(t)->reorder_gaps, 1);
}
END_TEST

START_TEST(timeout_in_packet_time)
{
    reorder_on();
    handshake(40007, T0);
    c2s_at(40007, 0, 0x18, "a\n", T0);
    c2s_at(40007, 4, 0x18, "c\n", T0 + 1 * MS);
    /* another connection's packets: still within the timeout */
    handshake(40008, T0 + 500 * MS);
    ck_assert_uint_eq(nlines, 1);
    handshake(40009, T0 + 1 * MS + PB_TCP_REORDER_TIMEOUT_NS + 1);
    ck_assert_str_eq(log_, ">a G> >c ");
    ck_assert_uint_eq(pb_tcp_stats(t)->reorder_gaps, 1);
}
END_TEST

/* the server answering means the request is over: its hole becomes a gap
 * before the answer is seen */
START_TEST(answer_flushes_other_direction)
{
    reorder_on();
    handshake(40010, T0);
    c2s_at(40010, 0, 0x18, "a\n", T0);
    c2s_at(40010, 4, 0x18, "c\n", T0);
    s2c_at(40010, 0, 0x10, NULL, T0); /* a bare ACK changes nothing */
    ck_assert_uint_eq(nlines, 1);
    s2c_at(40010, 0, 0x18, "ok\n", T0);
    ck_assert_str_eq(log_, ">a G> >c <ok ");
}
END_TEST

START_TEST(fin_after_hole_waits)
{
    reorder_on();
    handshake(40011, T0);
    c2s_at(40011, 0, 0x18, "a\n", T0);
    c2s_at(40011, 4, 0x19, "c\n", T0); /* data + FIN after a hole */
    ck_assert_str_eq(log_, ">a ");
    c2s_at(40011, 2, 0x18, "b\n", T0);
    ck_assert_str_eq(log_, ">a >b >c F> ");
    /* a FIN alone with nothing held is taken at once, as before */
    c2s_at(40012, 0, 0x18, "x\n", T0);
    c2s_at(40012, 9, 0x11, NULL, T0);
    ck_assert_str_eq(log_, ">a >b >c F> >x F> ");
}
END_TEST

/* the end of input: pb_tcp_flush hands over what is held (the capture
 * calls it before the protocols flush); close_all alone drops it, as it
 * drops everything pending */
START_TEST(flush_then_close_all)
{
    reorder_on();
    handshake(40013, T0);
    c2s_at(40013, 0, 0x18, "a\n", T0);
    c2s_at(40013, 4, 0x18, "c\n", T0);
    pb_tcp_flush(t);
    ck_assert_str_eq(log_, ">a G> >c ");
    c2s_at(40013, 8, 0x18, "e\n", T0); /* held again */
    size_t mem = pb_tcp_memory(t);
    pb_tcp_close_all(t);
    ck_assert_str_eq(log_, ">a G> >c ");
    ck_assert_uint_eq(pb_tcp_count(t), 0);
    ck_assert_uint_lt(pb_tcp_memory(t), mem);
    ck_assert_uint_eq(pb_tcp_memory(t), 0);
}
END_TEST

/* an idle connection expiring delivers its held data before on_expire */
START_TEST(expiry_delivers_held)
{
    reorder_on();
    handshake(40016, T0);
    c2s_at(40016, 0, 0x18, "a\n", T0);
    c2s_at(40016, 4, 0x18, "c\n", T0);
    pb_tcp_expire(t, 1000 * SEC);
    ck_assert_str_eq(log_, ">a G> >c ");
    ck_assert_uint_eq(pb_tcp_count(t), 0);
}
END_TEST

/* events built for a held segment get that segment's tunnel, not the
 * tunnel of the packet that let it go */
START_TEST(held_segment_keeps_its_tunnel)
{
    reorder_on();
    struct pb_tunnel vx;
    memset(&vx, 0, sizeof vx);
    vx.kind = PB_TUNNEL_VXLAN;
    handshake(40014, T0);
    c2s_at(40014, 0, 0x18, "a\n", T0);
    pb_ev_set_tunnel(&vx);
    c2s_at(40014, 4, 0x18, "c\n", T0);
    pb_ev_set_tunnel(NULL);
    c2s_at(40014, 2, 0x18, "b\n", T0);
    ck_assert_uint_eq(nlines, 3);
    ck_assert_str_eq(tunnel_seen[1], "-");
    ck_assert_str_eq(tunnel_seen[2], "vxlan");
    ck_assert_ptr_null(pb_ev_tunnel());
}
END_TEST

/* memory: held bytes are charged to the tracker and given back */
START_TEST(memory_charged_and_released)
{
    reorder_on();
    handshake(40015, T0);
    size_t before = pb_tcp_memory(t);
    c2s_at(40015, 10, 0x18, "zzzz\n", T0);
    ck_assert_uint_gt(pb_tcp_memory(t), before + 5);
    c2s_at(40015, 0, 0x18, "0123456789", T0);
    ck_assert_uint_eq(nlines, 1);
    ck_assert_uint_le(pb_tcp_memory(t), before + 1024); /* the stream buffer at most */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("reorder");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, list_sorted_duplicates_and_clear);
    tcase_add_test(tc, list_sequence_wraparound);
    tcase_add_test(tc, shuffled_lost_without_reordering);
    tcase_add_test(tc, shuffled_kept_with_reordering);
    tcase_add_test(tc, hole_before_first_byte);
    tcase_add_test(tc, start_hole_flushed_without_gap);
    tcase_add_test(tc, retransmit_and_overlap_of_held);
    tcase_add_test(tc, byte_budget_makes_gap);
    tcase_add_test(tc, segment_budget_makes_gap);
    tcase_add_test(tc, timeout_in_packet_time);
    tcase_add_test(tc, answer_flushes_other_direction);
    tcase_add_test(tc, fin_after_hole_waits);
    tcase_add_test(tc, flush_then_close_all);
    tcase_add_test(tc, expiry_delivers_held);
    tcase_add_test(tc, held_segment_keeps_its_tunnel);
    tcase_add_test(tc, memory_charged_and_released);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
