/* SPDX-License-Identifier: Apache-2.0
 * tests/protos/test_nfs.c - nfs: ONC-RPC record marking over TCP (records
 * split anywhere, several per segment), NFSv3 procedures, NFSv4 COMPOUND
 * main-operation naming, xid correlation, NO_REPLY expiry, RPC failures,
 * fragments, gaps, truncated and garbage records.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protos/nfs/nfs_parse.h"
#include "protos/proto.h"
#include "tests/support/pt.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

extern const struct pb_proto_ops pb_proto_nfs;

#define CFG "ports: [2049]"

/* ---- XDR record builder ---- */

static void put_opaque(struct pt_buf *r, const void *p, size_t len)
{
    pt_be32(r, (uint32_t)len);
    ck_assert_uint_le(r->n + len + 3, sizeof r->b);
    memcpy(r->b + r->n, p, len);
    r->n += len;
    while (r->n % 4 != 0) {
        r->b[r->n++] = 0;
    }
}

/* Starts a record: room for the mark, which rec_close fills in. */
static void rec_open(struct pt_buf *r)
{
    r->n = 0;
    pt_be32(r, 0);
}

static void rec_close(struct pt_buf *r, bool last)
{
    uint32_t size = (uint32_t)(r->n - 4);
    uint32_t mark = size | (last ? 0x80000000u : 0);
    r->b[0] = (uint8_t)(mark >> 24);
    r->b[1] = (uint8_t)(mark >> 16);
    r->b[2] = (uint8_t)(mark >> 8);
    r->b[3] = (uint8_t)mark;
}

/* Call header with AUTH_UNIX (stamp 7, machine "client1", uid 1000,
 * gid 100, gids [100, 4]). */
static void call_head(struct pt_buf *r, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc)
{
    rec_open(r);
    pt_be32(r, xid);
    pt_be32(r, 0); /* CALL */
    pt_be32(r, 2); /* RPC version */
    pt_be32(r, prog);
    pt_be32(r, vers);
    pt_be32(r, proc);
    struct pt_buf cred = {.n = 0};
    pt_be32(&cred, 7);
    put_opaque(&cred, "client1", 7);
    pt_be32(&cred, 1000);
    pt_be32(&cred, 100);
    pt_be32(&cred, 2);
    pt_be32(&cred, 100);
    pt_be32(&cred, 4);
    pt_be32(r, 1); /* AUTH_UNIX */
    put_opaque(r, cred.b, cred.n);
    pt_be32(r, 0); /* verifier AUTH_NONE */
    pt_be32(r, 0);
}

/* v3 LOOKUP(dir fh, "name") */
static void v3_lookup_call(struct pt_buf *r, uint32_t xid)
{
    call_head(r, xid, 100003, 3, 3);
    put_opaque(r, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    put_opaque(r, "name", 4);
    rec_close(r, true);
}

static void reply(struct pt_buf *r, uint32_t xid, uint32_t accept, uint32_t nfs_status)
{
    rec_open(r);
    pt_be32(r, xid);
    pt_be32(r, 1); /* REPLY */
    pt_be32(r, 0); /* MSG_ACCEPTED */
    pt_be32(r, 0); /* verifier */
    pt_be32(r, 0);
    pt_be32(r, accept);
    pt_be32(r, nfs_status);
    pt_be32(r, 0); /* some result bytes */
    rec_close(r, true);
}

/* v4 COMPOUND with tag and the given operations (arguments filled in for
 * the helpers the parser skips). */
static void v4_compound(struct pt_buf *r, uint32_t xid, uint32_t minor, const char *tag,
                        const uint32_t *ops, size_t nops)
{
    call_head(r, xid, 100003, 4, 1);
    put_opaque(r, tag, strlen(tag));
    pt_be32(r, minor);
    pt_be32(r, (uint32_t)nops);
    for (size_t i = 0; i < nops; i++) {
        pt_be32(r, ops[i]);
        switch (ops[i]) {
        case 53: /* SEQUENCE: sessionid[16], seq, slot, highest, cachethis */
            for (int k = 0; k < 8; k++) {
                pt_be32(r, 0x11111111u);
            }
            break;
        case 22: /* PUTFH */
            put_opaque(r, "fhfhfhfh", 8);
            break;
        case 9: /* GETATTR bitmap<2> */
            pt_be32(r, 2);
            pt_be32(r, 0x0010011a);
            pt_be32(r, 0x00b0a23a);
            break;
        case 26: /* READDIR args (never read: first class) */
            pt_be32(r, 0);
            break;
        default:
            break;
        }
    }
    rec_close(r, true);
}

static struct pt_conn *open_nfs(void)
{
    return pt_open(&pb_proto_nfs, CFG);
}

static void feed_rec(struct pt_conn *t, enum pb_dir d, const struct pt_buf *r)
{
    pt_feed(t, d, r->b, r->n);
}

/* ---- tests ---- */

START_TEST(v3_lookup_event)
{
    struct pt_buf call, rep;
    v3_lookup_call(&call, 0xa19a75d0);
    reply(&rep, 0xa19a75d0, 0, 2);
    struct pt_conn *t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_advance(t, 5000000);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "type"), "nfs");
    ck_assert_str_eq(pt_str(t, 0, "status"), "OK");
    ck_assert_str_eq(pt_str(t, 0, "event.dataset"), "nfs");
    ck_assert_str_eq(pt_str(t, 0, "event.action"), "nfs.LOOKUP");
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "nfsv3");
    ck_assert_str_eq(pt_str(t, 0, "network.transport"), "tcp");
    ck_assert_str_eq(pt_str(t, 0, "rpc.xid"), "a19a75d0");
    ck_assert_str_eq(pt_str(t, 0, "rpc.auth_flavor"), "unix");
    ck_assert_str_eq(pt_str(t, 0, "rpc.status"), "success");
    ck_assert_str_eq(pt_str(t, 0, "rpc.cred.machinename"), "client1");
    ck_assert_int_eq(pt_int(t, 0, "rpc.cred.uid"), 1000);
    ck_assert_int_eq(pt_int(t, 0, "rpc.cred.gid"), 100);
    ck_assert_int_eq(pt_int(t, 0, "rpc.cred.stamp"), 7);
    ck_assert_uint_eq(json_array_size(pt_field(t, 0, "rpc.cred.gids")), 2);
    ck_assert_str_eq(pt_str(t, 0, "source.domain"), "client1");
    ck_assert_str_eq(pt_str(t, 0, "host.hostname"), "client1");
    ck_assert_int_eq(pt_int(t, 0, "user.id"), 1000);
    ck_assert_int_eq(pt_int(t, 0, "nfs.version"), 3);
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "LOOKUP");
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "NFSERR_NOENT");
    ck_assert_ptr_null(pt_field(t, 0, "nfs.tag"));
    ck_assert_int_eq(pt_int(t, 0, "source.bytes"), (int64_t)call.n - 4);
    ck_assert_int_eq(pt_int(t, 0, "destination.bytes"), (int64_t)rep.n - 4);
    ck_assert_int_eq(pt_int(t, 0, "network.bytes"), (int64_t)(call.n + rep.n - 8));
    ck_assert_int_eq(pt_int(t, 0, "event.duration"), 5000000);
    ck_assert_str_eq(pt_str(t, 0, "source.ip"), "10.0.0.1");
    ck_assert_int_eq(pt_int(t, 0, "destination.port"), 2049);
    ck_assert_ptr_null(pt_field(t, 0, "event.outcome"));
    pt_close(t);
}
END_TEST

/* The same event whatever the segmentation of call and reply. */
START_TEST(split_anywhere)
{
    struct pt_buf call, rep;
    v3_lookup_call(&call, 0x01020304);
    reply(&rep, 0x01020304, 0, 0);
    struct pt_conn *ref = open_nfs();
    feed_rec(ref, PB_DIR_TO_SERVER, &call);
    feed_rec(ref, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(ref), 1);
    char *want = pt_dump(ref);
    pt_close(ref);
    size_t maxn = call.n > rep.n ? call.n : rep.n;
    for (size_t cut = 1; cut < maxn; cut++) {
        struct pt_conn *t = open_nfs();
        size_t c1 = cut < call.n ? cut : call.n - 1;
        size_t r1 = cut < rep.n ? cut : rep.n - 1;
        pt_feed(t, PB_DIR_TO_SERVER, call.b, c1);
        pt_feed(t, PB_DIR_TO_SERVER, call.b + c1, call.n - c1);
        pt_feed(t, PB_DIR_TO_CLIENT, rep.b, r1);
        ck_assert_uint_eq(pt_nevents(t), 0);
        pt_feed(t, PB_DIR_TO_CLIENT, rep.b + r1, rep.n - r1);
        pt_expect_dump(t, want);
        pt_close(t);
    }
    /* byte by byte */
    struct pt_conn *t = open_nfs();
    pt_feed_bytewise(t, PB_DIR_TO_SERVER, call.b, call.n);
    pt_feed_bytewise(t, PB_DIR_TO_CLIENT, rep.b, rep.n);
    pt_expect_dump(t, want);
    pt_close(t);
    free(want);
}
END_TEST

/* Several records in one segment, replies out of order. */
START_TEST(pipelined_out_of_order)
{
    struct pt_buf a, b, ra, rb;
    v3_lookup_call(&a, 1);
    call_head(&b, 2, 100003, 3, 1); /* GETATTR */
    put_opaque(&b, "fh", 2);
    rec_close(&b, true);
    reply(&ra, 1, 0, 0);
    reply(&rb, 2, 0, 13);
    uint8_t both[4096];
    memcpy(both, a.b, a.n);
    memcpy(both + a.n, b.b, b.n);
    struct pt_conn *t = open_nfs();
    pt_feed(t, PB_DIR_TO_SERVER, both, a.n + b.n);
    memcpy(both, rb.b, rb.n);
    memcpy(both + rb.n, ra.b, ra.n);
    pt_feed(t, PB_DIR_TO_CLIENT, both, rb.n + ra.n);
    ck_assert_uint_eq(pt_nevents(t), 2);
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "GETATTR");
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "NFSERR_ACCESS");
    ck_assert_str_eq(pt_str(t, 0, "rpc.xid"), "00000002");
    ck_assert_str_eq(pt_str(t, 1, "nfs.opcode"), "LOOKUP");
    ck_assert_str_eq(pt_str(t, 1, "nfs.status"), "NFS_OK");
    /* a second reply to an answered xid matches nothing */
    feed_rec(t, PB_DIR_TO_CLIENT, &ra);
    ck_assert_uint_eq(pt_nevents(t), 2);
    pt_close(t);
}
END_TEST

static const char *v4_main(const uint32_t *ops, size_t n)
{
    static char name[64];
    struct pt_buf call;
    v4_compound(&call, 9, 1, "t", ops, n);
    struct nfs_call c;
    if (nfs_parse_call(call.b + 4, call.n - 4, &c) != NFS_OK_MSG || c.opcode == NULL) {
        return "(malformed)";
    }
    snprintf(name, sizeof name, "%s", c.opcode);
    return name;
}

START_TEST(v4_main_operation)
{
    static const uint32_t readdir[] = {53, 22, 26, 9};
    static const uint32_t getattr[] = {53, 22, 9};
    static const uint32_t layoutstats[] = {53, 22, 65};
    static const uint32_t clone[] = {53, 22, 32, 22, 71, 9};
    static const uint32_t unknown[] = {22, 4000};
    static const uint32_t illegal_op[] = {10044};
    ck_assert_str_eq(v4_main(readdir, 4), "READDIR");
    ck_assert_str_eq(v4_main(getattr, 3), "GETATTR");
    ck_assert_str_eq(v4_main(layoutstats, 3), "LAYOUTSTATS");
    ck_assert_str_eq(v4_main(clone, 6), "CLONE");
    ck_assert_str_eq(v4_main(unknown, 2), "ILLEGAL");
    ck_assert_str_eq(v4_main(illegal_op, 1), "ILLEGAL");
    ck_assert_str_eq(v4_main(NULL, 0), "ILLEGAL");
    /* helpers whose arguments run past the record: malformed */
    static const uint32_t trunc[] = {53};
    struct pt_buf call;
    v4_compound(&call, 9, 1, "t", trunc, 1);
    struct nfs_call c;
    ck_assert_int_eq(nfs_parse_call(call.b + 4, call.n - 4 - 8, &c), NFS_MALFORMED);
}
END_TEST

START_TEST(v4_event)
{
    static const uint32_t ops[] = {53, 22, 26, 9};
    struct pt_buf call, rep;
    v4_compound(&call, 0x77, 1, "readdir", ops, 4);
    reply(&rep, 0x77, 0, 0);
    struct pt_conn *t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "network.protocol"), "nfsv4");
    ck_assert_int_eq(pt_int(t, 0, "nfs.version"), 4);
    ck_assert_int_eq(pt_int(t, 0, "nfs.minor_version"), 1);
    ck_assert_str_eq(pt_str(t, 0, "nfs.tag"), "readdir");
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "READDIR");
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "NFS_OK");
    pt_close(t);

    /* v4 NULL procedure: status NFS_OK without reading results */
    struct pt_buf null_call;
    call_head(&null_call, 0x78, 100003, 4, 0);
    rec_close(&null_call, true);
    rec_open(&rep);
    pt_be32(&rep, 0x78);
    pt_be32(&rep, 1);
    pt_be32(&rep, 0);
    pt_be32(&rep, 0);
    pt_be32(&rep, 0);
    pt_be32(&rep, 0); /* success, no results */
    rec_close(&rep, true);
    t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &null_call);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "NULL");
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "NFS_OK");
    pt_close(t);
}
END_TEST

START_TEST(rpc_failures)
{
    struct pt_buf call, rep;
    /* accepted but PROC_UNAVAIL: no nfs.status, outcome failure */
    v3_lookup_call(&call, 5);
    reply(&rep, 5, 3, 0);
    struct pt_conn *t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "rpc.status"), "proc_unavail");
    ck_assert_ptr_null(pt_field(t, 0, "nfs.status"));
    ck_assert_str_eq(pt_str(t, 0, "event.outcome"), "failure");
    pt_close(t);

    /* denied reply: ignored, the call keeps waiting */
    t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    rec_open(&rep);
    pt_be32(&rep, 5);
    pt_be32(&rep, 1);
    pt_be32(&rep, 1); /* MSG_DENIED */
    pt_be32(&rep, 1); /* AUTH_ERROR */
    pt_be32(&rep, 1);
    rec_close(&rep, true);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 0);
    reply(&rep, 5, 0, 10004);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "NFSERR_NOTSUPP");
    pt_close(t);

    /* unknown NFS status: empty string, accept status out of range: nothing */
    t = open_nfs();
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    reply(&rep, 5, 0, 4242);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_str_eq(pt_str(t, 0, "nfs.status"), "");
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    reply(&rep, 5, 9, 0);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(no_reply_expiry)
{
    struct pt_buf call;
    v3_lookup_call(&call, 0x42);
    struct pt_conn *t = pt_open(&pb_proto_nfs, CFG "\ntransaction_timeout: 2s");
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    uint64_t now = pb_now_ns();
    pt_tick(t, now);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, now + 3000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "status"), "NO_REPLY");
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "LOOKUP");
    ck_assert_ptr_null(pt_field(t, 0, "event.duration"));
    ck_assert_ptr_null(pt_field(t, 0, "destination.bytes"));
    pt_close(t);

    /* default timeout is one minute */
    t = open_nfs();
    ck_assert_int_eq(pt_proto(t)->tx_timeout_ns, 60000000000ll);
    feed_rec(t, PB_DIR_TO_SERVER, &call);
    pt_tick(t, pb_now_ns() + 30000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_tick(t, pb_now_ns() + 61000000000ull);
    ck_assert_uint_eq(pt_nevents(t), 1);
    pt_close(t);
}
END_TEST

START_TEST(ignored_records)
{
    struct pt_buf r;
    struct pt_conn *t = open_nfs();
    /* another RPC program (mountd) */
    call_head(&r, 3, 100005, 3, 1);
    rec_close(&r, true);
    feed_rec(t, PB_DIR_TO_SERVER, &r);
    struct pt_buf rep;
    reply(&rep, 3, 0, 0);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 0);
    /* unknown message type, too short records */
    rec_open(&r);
    pt_be32(&r, 3);
    pt_be32(&r, 7);
    rec_close(&r, true);
    feed_rec(t, PB_DIR_TO_SERVER, &r);
    rec_open(&r);
    pt_be32(&r, 3);
    rec_close(&r, true);
    feed_rec(t, PB_DIR_TO_SERVER, &r);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);

    /* a non-final fragment stops the stream, as in Packetbeat */
    t = open_nfs();
    v3_lookup_call(&r, 8);
    rec_close(&r, false);
    feed_rec(t, PB_DIR_TO_SERVER, &r);
    v3_lookup_call(&r, 9);
    feed_rec(t, PB_DIR_TO_SERVER, &r);
    reply(&rep, 9, 0, 0);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 0);
    pt_close(t);
}
END_TEST

START_TEST(gap_resync)
{
    struct pt_buf call, rep;
    v3_lookup_call(&call, 0x55);
    reply(&rep, 0x55, 0, 0);
    struct pt_conn *t = open_nfs();
    /* half a record, a gap, then the tail of the lost record and a new one */
    pt_feed(t, PB_DIR_TO_SERVER, call.b, 10);
    pt_gap(t, PB_DIR_TO_SERVER, 500);
    uint8_t buf[4096];
    memcpy(buf, call.b + 20, call.n - 20);
    memcpy(buf + call.n - 20, call.b, call.n);
    pt_feed(t, PB_DIR_TO_SERVER, buf, call.n - 20 + call.n);
    feed_rec(t, PB_DIR_TO_CLIENT, &rep);
    ck_assert_uint_eq(pt_nevents(t), 1);
    ck_assert_str_eq(pt_str(t, 0, "nfs.opcode"), "LOOKUP");
    pt_close(t);
}
END_TEST

/* Every truncation of a call, with the record mark telling the truncated
 * size, and corrupted bytes: never a crash, never an event without reply. */
START_TEST(truncated_and_garbage)
{
    static const uint32_t ops[] = {53, 22, 26, 9};
    struct pt_buf full;
    v4_compound(&full, 0x99, 2, "tag", ops, 4);
    for (size_t len = 4; len <= full.n; len++) {
        struct pt_buf r = full;
        r.n = len;
        rec_close(&r, true);
        struct pt_conn *t = open_nfs();
        feed_rec(t, PB_DIR_TO_SERVER, &r);
        struct pt_buf rep;
        reply(&rep, 0x99, 0, 0);
        for (size_t cut = 4; cut <= rep.n; cut += 4) {
            struct pt_buf rr = rep;
            rr.n = cut;
            rec_close(&rr, true);
            feed_rec(t, PB_DIR_TO_CLIENT, &rr);
        }
        ck_assert_uint_le(pt_nevents(t), 1);
        pt_close(t);
    }
    srand(7);
    for (int round = 0; round < 300; round++) {
        struct pt_buf r = full;
        for (int k = 0; k < 6; k++) {
            r.b[4 + (size_t)rand() % (r.n - 4)] = (uint8_t)rand();
        }
        struct pt_conn *t = open_nfs();
        feed_rec(t, PB_DIR_TO_SERVER, &r);
        uint8_t junk[257];
        for (size_t i = 0; i < sizeof junk; i++) {
            junk[i] = (uint8_t)rand();
        }
        pt_feed(t, PB_DIR_TO_CLIENT, junk, sizeof junk);
        pt_gap(t, PB_DIR_TO_CLIENT, 3);
        pt_feed(t, PB_DIR_TO_CLIENT, junk, sizeof junk);
        pt_fin(t, PB_DIR_TO_SERVER);
        pt_tick(t, pb_now_ns() + 120000000000ull);
        pt_close(t);
    }
    /* huge counts must not be trusted */
    struct pt_buf r;
    call_head(&r, 1, 100003, 4, 1);
    put_opaque(&r, "x", 1);
    pt_be32(&r, 1);
    pt_be32(&r, 0xffffffffu); /* op count */
    pt_be32(&r, 9);           /* GETATTR with a huge bitmap length */
    pt_be32(&r, 0x40000000u);
    rec_close(&r, true);
    struct nfs_call c;
    ck_assert_int_eq(nfs_parse_call(r.b + 4, r.n - 4, &c), NFS_MALFORMED);
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(nfs_v3_opname(0), "NULL");
    ck_assert_str_eq(nfs_v3_opname(21), "COMMIT");
    ck_assert_str_eq(nfs_v3_opname(22), "ILLEGAL");
    ck_assert_str_eq(nfs_v4_opname(3), "ACCESS");
    ck_assert_str_eq(nfs_v4_opname(71), "CLONE");
    ck_assert_ptr_null(nfs_v4_opname(72));
    ck_assert_ptr_null(nfs_v4_opname(2));
    ck_assert_str_eq(nfs_status_name(10086), "NFSERR_RETURNCONFLICT");
    ck_assert_str_eq(nfs_status_name(10087), "");
    ck_assert_str_eq(nfs_status_name(70), "NFSERR_STALE");
    ck_assert_str_eq(rpc_accept_name(5), "system_err");
    ck_assert_ptr_null(rpc_accept_name(6));
}
END_TEST

static Suite *nfs_suite(void)
{
    Suite *s = suite_create("nfs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, v3_lookup_event);
    tcase_add_test(tc, split_anywhere);
    tcase_add_test(tc, pipelined_out_of_order);
    tcase_add_test(tc, v4_main_operation);
    tcase_add_test(tc, v4_event);
    tcase_add_test(tc, rpc_failures);
    tcase_add_test(tc, no_reply_expiry);
    tcase_add_test(tc, ignored_records);
    tcase_add_test(tc, gap_resync);
    tcase_add_test(tc, truncated_and_garbage);
    tcase_add_test(tc, names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(nfs_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
