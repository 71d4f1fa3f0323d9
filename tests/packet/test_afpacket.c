/* SPDX-License-Identifier: Apache-2.0
 * tests/packet/test_afpacket.c - the af_packet sniffer (packet/afpacket.c):
 * ring sizes as Packetbeat computes them, and (as root only; skipped
 * otherwise) real captures on the loopback device: UDP datagrams to
 * 127.0.0.1 come out once each (the outgoing copy left out), as Ethernet
 * frames on lo and as cooked (LINUX_SLL) frames on any, the filter applied
 * in the kernel, snaplen honoured, counters right, fanout groups joined.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "packet/afpacket.h"
#include "packet/decoder.h"
#include "tests/support/ptrun.h"

START_TEST(sizes_as_packetbeat)
{
    uint32_t frame = 0, block = 0, nr = 0;
    /* default snaplen 65535, 30 MB: 64 KiB frames, 8 MiB blocks, 3 of them */
    ck_assert_int_eq(pb_afp_compute_size(30, 65535, 4096, &frame, &block, &nr), 0);
    ck_assert_uint_eq(frame, 65536);
    ck_assert_uint_eq(block, 65536 * 128);
    ck_assert_uint_eq(nr, 3);
    /* a snaplen below a page: the page split evenly */
    ck_assert_int_eq(pb_afp_compute_size(30, 1500, 4096, &frame, &block, &nr), 0);
    ck_assert_uint_eq(frame, 2048);
    ck_assert_uint_eq(block, 2048 * 128);
    ck_assert_uint_eq(nr, 30 * 1024 * 1024 / (2048 * 128));
    /* a page exactly: the next page up */
    ck_assert_int_eq(pb_afp_compute_size(30, 4096, 4096, &frame, &block, &nr), 0);
    ck_assert_uint_eq(frame, 8192);
    /* odd sizes are aligned as the kernel wants (16-byte frames, page blocks) */
    ck_assert_int_eq(pb_afp_compute_size(30, 100, 4096, &frame, &block, &nr), 0);
    ck_assert_uint_eq(frame % 16, 0);
    ck_assert_uint_ge(frame, 100);
    ck_assert_uint_eq(block % 4096, 0);
    ck_assert_uint_ge(block / frame, 128);
    /* too small for one block */
    ck_assert_int_eq(pb_afp_compute_size(1, 65535, 4096, &frame, &block, &nr), -1);
    ck_assert_int_eq(pb_afp_compute_size(0, 1500, 4096, &frame, &block, &nr), -1);
    ck_assert_int_eq(pb_afp_compute_size(30, 0, 4096, &frame, &block, &nr), -1);
}
END_TEST

START_TEST(blocks_split)
{
    uint32_t frame = 0, block = 0, nr = 0;
    ck_assert_int_eq(pb_afp_compute_size(30, 65535, 4096, &frame, &block, &nr), 0);
    pb_afp_split_blocks(frame, &block, &nr);
    ck_assert_uint_eq(block, PB_AFP_MAX_BLOCK); /* 2 frames of 64 KiB */
    ck_assert_uint_eq(nr, 192);                 /* still 24 MiB */
    /* frames that do not divide the cap: whole frames, the size kept */
    ck_assert_int_eq(pb_afp_compute_size(100, 131072, 4096, &frame, &block, &nr), 0);
    uint64_t total = (uint64_t)block * nr;
    pb_afp_split_blocks(frame, &block, &nr);
    ck_assert_uint_eq(block % frame, 0);
    ck_assert_uint_eq(block % 4096, 0);
    ck_assert_uint_le(block, frame > PB_AFP_MAX_BLOCK ? frame : PB_AFP_MAX_BLOCK);
    ck_assert_uint_eq((uint64_t)block * nr, total / block * block);
    ck_assert_uint_gt((uint64_t)block * nr, total - block);
    /* a frame above the cap: one per block */
    block = 2u * 1024 * 1024 * 128;
    nr = 1;
    pb_afp_split_blocks(2u * 1024 * 1024, &block, &nr);
    ck_assert_uint_eq(block, 2u * 1024 * 1024);
    ck_assert_uint_eq(nr, 128);
    ck_assert_int_eq(pb_afp_compute_size(30, 1500, 4096, &frame, &block, &nr), 0);
    pb_afp_split_blocks(frame, &block, &nr);
    ck_assert_uint_eq(block, 2048 * 64);
    ck_assert_uint_eq(nr, 30 * 1024 * 1024 / (2048 * 128) * 2);
    /* small blocks stay */
    ck_assert_int_eq(pb_afp_compute_size(30, 500, 4096, &frame, &block, &nr), 0);
    ck_assert_uint_eq(frame, 512);
    pb_afp_split_blocks(frame, &block, &nr);
    ck_assert_uint_eq(block, 512 * 128);
}
END_TEST

START_TEST(open_errors)
{
    char err[256] = "";
    struct pb_afp_opts o = {"lo", 65535, 1, PB_AFP_NO_FANOUT, NULL, false};
    ck_assert_ptr_null(pb_afp_open(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "Buffer size too small"));
    if (geteuid() != 0) {
        return;
    }
    struct pb_afp_opts bad = {"nosuchdev0", 65535, 30, PB_AFP_NO_FANOUT, NULL, false};
    ck_assert_ptr_null(pb_afp_open(&bad, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no such device"));
    struct pb_afp_opts filt = {"lo", 65535, 30, PB_AFP_NO_FANOUT, "udp port", false};
    ck_assert_ptr_null(pb_afp_open(&filt, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "invalid filter 'udp port'"));
}
END_TEST

/* ---- live (root) ---- */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* Sends n datagrams of len bytes to 127.0.0.1:port. */
static void send_udp(uint16_t port, int n, size_t len)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static uint8_t buf[9000];
    ck_assert_uint_le(len, sizeof buf);
    for (int i = 0; i < n; i++) {
        memset(buf, 'a' + i % 26, len);
        ck_assert_int_eq(sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)len);
    }
    close(s);
}

/* Reads frames for up to 1.5 s; counts the UDP ones to port (decoded with
 * the frame's link type) and checks each. */
static int read_udp(struct pb_afp *a, uint16_t port, size_t len, uint32_t snaplen, int want)
{
    char derr[128];
    struct pb_decoder *dec = pb_decoder_new(pb_afp_linktype(a), derr, sizeof derr);
    ck_assert_ptr_nonnull(dec);
    int got = 0;
    uint64_t now = (uint64_t)time(NULL) * 1000000000ull;
    for (int tries = 0; tries < 15 && got < want + 1; tries++) {
        struct pb_afp_frame f;
        char err[256];
        int rc;
        while ((rc = pb_afp_next(a, 100, &f, err, sizeof err)) == 1) {
            struct pb_decoded d;
            ck_assert_uint_le(f.caplen, snaplen);
            ck_assert_uint_ge(f.wirelen, f.caplen);
            if (!pb_decode(dec, f.data, f.caplen, f.wirelen, f.ts_ns, &d) ||
                d.tuple.proto != PB_IPPROTO_UDP || d.tuple.dport != port) {
                continue;
            }
            /* kernel time in ns, within a minute of now */
            ck_assert_uint_gt(f.ts_ns + 60000000000ull, now);
            ck_assert_uint_lt(f.ts_ns, now + 60000000000ull);
            ck_assert_uint_eq(f.wirelen,
                              (pb_afp_linktype(a) == PB_LINK_LINUX_SLL ? 16 : 14) + 20 + 8 + len);
            if (pb_afp_linktype(a) == PB_LINK_LINUX_SLL) {
                ck_assert_uint_eq(rd16(f.data + 14), 0x0800); /* protocol */
                ck_assert_uint_eq(rd16(f.data + 2), 772);     /* ARPHRD_LOOPBACK */
            } else {
                ck_assert_uint_eq(rd16(f.data + 12), 0x0800);
            }
            got++;
        }
        ck_assert_int_eq(rc, 0);
    }
    pb_decoder_free(dec);
    return got;
}

static void capture_once(const char *device, int linktype)
{
    if (geteuid() != 0) {
        return;
    }
    char err[256] = "";
    uint16_t port = (uint16_t)(30000 + getpid() % 20000);
    char filter[64];
    snprintf(filter, sizeof filter, "udp dst port %u", (unsigned)port);
    struct pb_afp_opts o = {device, 9000, 8, PB_AFP_NO_FANOUT, filter, false};
    struct pb_afp *a = pb_afp_open(&o, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    ck_assert_int_eq(pb_afp_linktype(a), linktype);
    send_udp(port, 50, 300);
    send_udp((uint16_t)(port + 1), 20, 300); /* filtered out in the kernel */
    ck_assert_int_eq(read_udp(a, port, 300, 9000, 50), 50);
    struct pb_afp_stats st;
    pb_afp_stats(a, &st);
    ck_assert_uint_eq(st.socket_packets, 50); /* neither copies nor the other port */
    ck_assert_uint_eq(st.socket_drops, 0);
    ck_assert_uint_eq(st.packets, 50);
    pb_afp_stats(a, &st); /* sums over reads */
    ck_assert_uint_eq(st.socket_packets, 50);
    pb_afp_close(a);
}

START_TEST(capture_lo)
{
    capture_once("lo", PB_LINK_EN10MB);
}
END_TEST

START_TEST(capture_any)
{
    capture_once("any", PB_LINK_LINUX_SLL);
}
END_TEST

START_TEST(snaplen_cuts_frames)
{
    if (geteuid() != 0) {
        return;
    }
    char err[256] = "";
    uint16_t port = (uint16_t)(30000 + getpid() % 20000 + 2);
    char filter[64];
    snprintf(filter, sizeof filter, "udp dst port %u", (unsigned)port);
    struct pb_afp_opts o = {"lo", 200, 4, PB_AFP_NO_FANOUT, filter, false};
    struct pb_afp *a = pb_afp_open(&o, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    send_udp(port, 5, 1000);
    struct pb_afp_frame f;
    int n = 0;
    for (int i = 0; i < 15 && n < 5; i++) {
        while (pb_afp_next(a, 100, &f, err, sizeof err) == 1) {
            ck_assert_uint_eq(f.caplen, 200);
            ck_assert_uint_eq(f.wirelen, 14 + 20 + 8 + 1000);
            n++;
        }
    }
    ck_assert_int_eq(n, 5);
    pb_afp_close(a);
}
END_TEST

START_TEST(fanout_group)
{
    if (geteuid() != 0) {
        return;
    }
    char err[256] = "";
    int group = 4000 + getpid() % 1000;
    struct pb_afp_opts o = {"lo", 2000, 4, group, "udp", false};
    struct pb_afp *a = pb_afp_open(&o, err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    struct pb_afp *b = pb_afp_open(&o, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    o.fanout = 70000;
    ck_assert_ptr_null(pb_afp_open(&o, err, sizeof err));
    pb_afp_close(b);
    pb_afp_close(a);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("afpacket");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sizes_as_packetbeat);
    tcase_add_test(tc, blocks_split);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, capture_lo);
    tcase_add_test(tc, capture_any);
    tcase_add_test(tc, snaplen_cuts_frames);
    tcase_add_test(tc, fanout_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
