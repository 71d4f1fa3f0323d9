/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_event.c - event helpers: dotted paths, UTF-8 repair, time
 * formats, Community ID, and the common transaction fields.
 */
#include <arpa/inet.h>
#include <check.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/net.h"
#include "beat/utf8.h"
#include "publisher/codec.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

START_TEST(community_id_matches_packetbeat)
{
    /* values from Packetbeat's golden events (http_basic_auth) */
    char id[64];
    struct pb_tuple udp = pt_tuple("172.31.98.49", 51958, "8.8.8.8", 53, PB_IPPROTO_UDP);
    pb_community_id(&udp, id);
    ck_assert_str_eq(id, "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y=");
    struct pb_tuple rev = pb_tuple_reverse(&udp);
    ck_assert_uint_eq(pb_community_id(&rev, id), strlen(id)); /* from the cache */
    ck_assert_str_eq(id, "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y="); /* direction-free */
    struct pb_tuple tcp = pt_tuple("172.31.98.49", 55874, "93.184.216.34", 80, PB_IPPROTO_TCP);
    ck_assert_uint_eq(pb_community_id(&tcp, id), strlen(id));
    ck_assert_str_eq(id, "1:TMPM5eEnGOXfxAjx6NKlyjx+X10=");
    /* same addresses, another port: not the cached id of the first */
    struct pb_tuple other = pt_tuple("172.31.98.49", 51959, "8.8.8.8", 53, PB_IPPROTO_UDP);
    pb_community_id(&other, id);
    ck_assert_str_ne(id, "1:/Zwm1tJot2cAhFAO0OxKQHuXs3Y=");
}
END_TEST

/* Community ID v1 of any tuple as the spec writes it (ICMP types with a
 * counterpart hash like it, the others keep their direction; ports only for
 * TCP, UDP, SCTP and ICMP), with OpenSSL: the reference for the cached ids
 * and for those made from a cache key (pb_community_id_from on a miss). */
static void ref_community_id(const struct pb_tuple *t, char out[64])
{
    static const uint8_t v4[][2] = {{8, 0},  {0, 8},  {13, 14}, {14, 13}, {15, 16},
                                    {10, 9}, {9, 10}, {17, 18}, {18, 17}};
    static const uint8_t v6[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133},
                                    {136, 135}, {135, 136}, {130, 131}, {139, 140},
                                    {140, 139}, {144, 145}, {145, 144}};
    size_t alen = t->src.v6 ? 16 : 4;
    const uint8_t *a = t->src.b, *b = t->dst.b;
    uint16_t pa = t->sport, pb = t->dport;
    bool icmp = t->proto == PB_IPPROTO_ICMP || t->proto == PB_IPPROTO_ICMPV6;
    bool ports =
        icmp || t->proto == PB_IPPROTO_TCP || t->proto == PB_IPPROTO_UDP || t->proto == 132;
    bool one_way = false;
    if (icmp) {
        one_way = true;
        size_t n =
            t->proto == PB_IPPROTO_ICMP ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
        for (size_t i = 0; i < n; i++) {
            const uint8_t *e = t->proto == PB_IPPROTO_ICMP ? v4[i] : v6[i];
            if (e[0] == (uint8_t)pa) {
                pb = e[1];
                one_way = false;
            }
        }
    }
    int c = memcmp(a, b, alen);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        const uint8_t *x = a;
        a = b;
        b = x;
        uint16_t p = pa;
        pa = pb;
        pb = p;
    }
    uint8_t buf[40] = {0};
    size_t n = 2; /* seed 0 */
    memcpy(buf + n, a, alen);
    n += alen;
    memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = t->proto;
    buf[n++] = 0;
    if (ports) {
        buf[n++] = (uint8_t)(pa >> 8);
        buf[n++] = (uint8_t)pa;
        buf[n++] = (uint8_t)(pb >> 8);
        buf[n++] = (uint8_t)pb;
    }
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1(buf, n, md);
    memcpy(out, "1:", 2);
    EVP_EncodeBlock((unsigned char *)out + 2, md, SHA_DIGEST_LENGTH);
}

/* Connection i of many: IPv4 and IPv6, TCP and UDP, tuples a byte apart,
   some of them reversed. */
static struct pb_tuple many_tuple(int i)
{
    char src[64], dst[64];
    if (i % 3 == 2) {
        snprintf(src, sizeof src, "fd00::%x:1", i / 3);
        snprintf(dst, sizeof dst, "fd00::%x:2", i % 5);
    } else {
        snprintf(src, sizeof src, "10.%d.%d.1", i / 256, i % 256);
        snprintf(dst, sizeof dst, "10.255.0.%d", i % 5);
    }
    struct pb_tuple t =
        pt_tuple(src, (uint16_t)(40000 + i % 7), dst, 80, i % 2 ? PB_IPPROTO_TCP : PB_IPPROTO_UDP);
    return i % 4 == 3 ? pb_tuple_reverse(&t) : t;
}

/* Ids are remembered per thread: many connections (more than the cache
   holds; IPv4 and IPv6, TCP and UDP, tuples a byte apart, both
   directions) asked in two orders give the reference's ids. */
START_TEST(community_id_cache_never_mixes_connections)
{
    enum { N = 3000 };
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < N; k++) {
            int i = pass == 0 ? k : N - 1 - k;
            struct pb_tuple t = many_tuple(i);
            char id[64], want[64];
            pb_community_id(&t, id);
            ref_community_id(&t, want);
            ck_assert_msg(strcmp(id, want) == 0, "tuple %d: %s, want %s", i, id, want);
            /* a port one apart: another id */
            t.dport++;
            pb_community_id(&t, id);
            ck_assert_str_ne(id, want);
            ref_community_id(&t, want);
            ck_assert_str_eq(id, want);
        }
    }
}
END_TEST

/* An id looked up ahead (pb_community_id_ahead) is the reference's id
   when asked for later, also after other tuples took its cache slot in
   between, and when asked on another thread (whose cache it is not). */
struct ahead_arg {
    const struct pb_tuple *t;
    const struct pb_cid_ahead *a;
    char id[64];
};

static void *ahead_elsewhere(void *arg)
{
    struct ahead_arg *x = arg;
    pb_community_id_from(x->t, x->a, x->id);
    return NULL;
}

START_TEST(community_id_ahead_as_computed)
{
    enum { N = 3000 };
    static struct pb_tuple t[N];
    static struct pb_cid_ahead a[N];
    for (int i = 0; i < N; i++) {
        t[i] = many_tuple(i);
        pb_community_id_ahead(&t[i], &a[i]);
        if (i % 2 == 0) {
            char id[64];
            pb_community_id(&t[i], id); /* cached now: later asks may hit */
        }
    }
    /* more tuples than the cache holds: some slots hold others now */
    for (int i = 0; i < N; i++) {
        char id[64], want[64];
        ck_assert_uint_eq(pb_community_id_from(&t[i], &a[i], id), 30);
        ref_community_id(&t[i], want);
        ck_assert_msg(strcmp(id, want) == 0, "tuple %d: %s, want %s", i, id, want);
    }
    struct ahead_arg x = {.t = &t[7], .a = &a[7]};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, ahead_elsewhere, &x), 0);
    ck_assert_int_eq(pthread_join(th, NULL), 0);
    char want[64];
    ref_community_id(&t[7], want);
    ck_assert_str_eq(x.id, want);
}
END_TEST

/* An id made from what pb_community_id_ahead worked out (its cache key,
 * on a miss) is the spec's for every kind of tuple: IPv4 and IPv6; TCP,
 * UDP, SCTP, ICMP and ICMPv6 (types with a counterpart or one-way), GRE
 * (no ports); both directions, equal addresses. */
START_TEST(community_id_from_key_any_tuple)
{
    static const char *const addrs[][2] = {{"192.168.1.1", "10.1.2.3"},
                                           {"10.1.2.3", "192.168.1.1"},
                                           {"127.0.0.1", "127.0.0.1"},
                                           {"fd00::1", "fd00::2"},
                                           {"fd00::2", "::ffff:10.0.0.1"}};
    static const uint8_t protos[] = {PB_IPPROTO_TCP,  PB_IPPROTO_UDP,    132,
                                     PB_IPPROTO_ICMP, PB_IPPROTO_ICMPV6, 47};
    static const uint16_t ports[][2] = {{40000, 53}, {53, 40000}, {8, 0},   {0, 8},
                                        {3, 1},      {128, 0},    {135, 0}, {7, 7}};
    size_t n = 0;
    for (size_t a = 0; a < sizeof addrs / sizeof addrs[0]; a++) {
        for (size_t p = 0; p < sizeof protos; p++) {
            for (size_t q = 0; q < sizeof ports / sizeof ports[0]; q++, n++) {
                struct pb_tuple t =
                    pt_tuple(addrs[a][0], ports[q][0], addrs[a][1], ports[q][1], protos[p]);
                char want[64], id[64], again[64];
                ref_community_id(&t, want);
                struct pb_cid_ahead ah;
                pb_community_id_ahead(&t, &ah);
                /* a miss, or the id an equal tuple (reversed) left */
                ck_assert_uint_eq(pb_community_id_from(&t, &ah, id), 30);
                ck_assert_msg(strcmp(id, want) == 0, "tuple %zu: %s, want %s", n, id, want);
                ck_assert_uint_eq(pb_community_id(&t, again), 30); /* the cached id */
                ck_assert_str_eq(again, want);
            }
        }
    }
}
END_TEST

/* IPv4 text is written from a table: every octet value in every position
   reads as inet_ntop writes it, with its length. */
START_TEST(ipv4_text_like_inet_ntop)
{
    for (unsigned pos = 0; pos < 4; pos++) {
        for (unsigned v = 0; v < 256; v++) {
            struct pb_ip ip;
            memset(&ip, 0, sizeof ip);
            ip.b[0] = 1;
            ip.b[1] = 20;
            ip.b[2] = 255;
            ip.b[3] = 0;
            ip.b[pos] = (uint8_t)v;
            char got[PB_IP_STRLEN], want[INET_ADDRSTRLEN];
            ck_assert_ptr_nonnull(inet_ntop(AF_INET, ip.b, want, sizeof want));
            ck_assert_str_eq(pb_ip_str(&ip, got), want);
            ck_assert_uint_eq(pb_ip_fmt(&ip, got), strlen(want));
            ck_assert_str_eq(got, want);
        }
    }
}
END_TEST

START_TEST(community_id_icmp_pairs)
{
    /* an echo request and its reply hash alike; a one-way type keeps direction */
    char a[64], b[64];
    struct pb_tuple req = pt_tuple("10.0.0.1", 8, "10.0.0.2", 0, PB_IPPROTO_ICMP);
    struct pb_tuple rep = pt_tuple("10.0.0.2", 0, "10.0.0.1", 0, PB_IPPROTO_ICMP);
    pb_community_id(&req, a);
    pb_community_id(&rep, b);
    ck_assert_str_eq(a, b);
    struct pb_tuple unr1 = pt_tuple("10.0.0.1", 3, "10.0.0.2", 1, PB_IPPROTO_ICMP);
    struct pb_tuple unr2 = pt_tuple("10.0.0.2", 3, "10.0.0.1", 1, PB_IPPROTO_ICMP);
    pb_community_id(&unr1, a);
    pb_community_id(&unr2, b);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(dotted_put_get_del)
{
    json_t *ev = json_object();
    ck_assert_int_eq(pb_json_put_str(ev, "http.request.method", "GET"), 0);
    ck_assert_int_eq(pb_json_put_int(ev, "http.response.status_code", 200), 0);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "http.request.method")), "GET");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "http.response.status_code")), 200);
    /* a key with literal dots is found too */
    json_object_set_new(ev, "a.b", json_pack("{s:i}", "c", 7));
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "a.b.c")), 7);
    /* replacing a scalar with an object on the way */
    pb_json_put_str(ev, "x", "scalar");
    pb_json_put_str(ev, "x.y", "nested");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "x.y")), "nested");
    ck_assert(pb_json_del(ev, "http.request.method"));
    ck_assert_ptr_null(pb_json_get(ev, "http.request.method"));
    ck_assert(!pb_json_del(ev, "no.such.key"));
    json_decref(ev);
}
END_TEST

/* The same calls on an event in its arena. */
START_TEST(arena_put_get_del)
{
    pb_event *ev = pb_ev_new();
    ck_assert_int_eq(pb_ev_put_str(ev, "http.request.method", "GET"), 0);
    ck_assert_int_eq(pb_ev_put_int(ev, "http.response.status_code", 200), 0);
    ck_assert_str_eq(pb_ev_get_str(ev, "http.request.method", NULL), "GET");
    int64_t v = 0;
    ck_assert(pb_ev_get_int(ev, "http.response.status_code", &v) && v == 200);
    ck_assert_int_eq(pb_ev_obj_size(ev, "http"), 2);
    ck_assert_int_eq(pb_ev_obj_size(ev, "http.request.method"), -1);
    /* a key with literal dots is found too, in the arena and in jansson */
    pb_node_set_int(pb_node_obj(pb_ev_obj(ev, ""), "a.b"), "c", 7);
    ck_assert(pb_ev_get_int(ev, "a.b.c", &v) && v == 7);
    pb_ev_put(ev, "j", json_pack("{s:{s:s}}", "k", "l", "m"));
    ck_assert_str_eq(pb_ev_get_str(ev, "j.k.l", NULL), "m");
    /* replacing a scalar with an object on the way; a value set again
       keeps its place */
    pb_ev_put_str(ev, "x", "scalar");
    pb_ev_put_str(ev, "x.y", "nested");
    ck_assert_str_eq(pb_ev_get_str(ev, "x.y", NULL), "nested");
    ck_assert(pb_ev_del(ev, "http.request.method"));
    ck_assert(!pb_ev_has(ev, "http.request.method"));
    ck_assert(!pb_ev_del(ev, "no.such.key"));
    ck_assert(pb_ev_del(ev, "j.k.l"));
    pb_ev_put_int(ev, "a.b", 1); /* a path: a new "a" object, as in jansson */
    pb_ev_add_related_ip(ev, "10.0.0.1");
    pb_ev_add_related_ip(ev, "10.0.0.2");
    pb_ev_add_related_ip(ev, "10.0.0.1");
    struct pb_codec_buf b = {0};
    bool exact = false;
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, &exact), 0);
    ck_assert(exact);
    ck_assert_str_eq(
        (pb_codec_buf_append(&b, "", 1), b.p),
        "{\"http\":{\"request\":{},\"response\":{\"status_code\":200}},\"a.b\":{\"c\":7},"
        "\"j\":{\"k\":{}},\"x\":{\"y\":\"nested\"},\"a\":{\"b\":1},"
        "\"related\":{\"ip\":[\"10.0.0.1\",\"10.0.0.2\"]}}");
    pb_codec_buf_free(&b);
    pb_ev_free(ev);
}
END_TEST

/* Encoded from the arena or from the tree made of it: the same bytes, for
 * strings that need escaping, invalid UTF-8, numbers of every kind, nested
 * arrays and embedded jansson values; and back from the tree to an arena. */
START_TEST(arena_encoding_equals_tree)
{
    static const uint8_t wire[] = {'q', '"', '\\', '\n', 0x01, 0xff, 0xc3, 0xa9,
                                   0,   'z', 0xe2, 0x80, 0xa8, '<',  '>',  '&'};
    pb_event *ev = pb_ev_new();
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_set_str(root, "@metadata", "meta goes second");
    pb_node_set_str(root, "plain", "just text, longer than eight bytes");
    pb_node_set_strn(root, "wire", wire, sizeof wire);
    pb_node_set_strn(root, "k\"ey\xc3\xa9", "v", 1);
    pb_node_set_strn(root, "bad\xff", "dropped", 7); /* jansson refuses such keys */
    pb_node_set_int(root, "neg", -42);
    pb_node_set_uint(root, "big", UINT64_MAX);
    pb_node_set_real(root, "real", 0.25);
    pb_node_set_bool(root, "t", true);
    pb_node_set_null(root, "nothing");
    pb_node *arr = pb_node_arr(root, "list");
    pb_node_set_str(arr, NULL, "a");
    pb_node_set_str(pb_node_obj(arr, NULL), "in", "object");
    pb_node_arr(arr, NULL);
    pb_node_set(root, "embedded", json_pack("{s:[i,s]}", "x", 1, "y\"z"));
    pb_node_set_str(root, "@timestamp", "goes first");
    /* the same kinds of members, nested (compact output has its own path
       for nodes below the top) */
    pb_node *deep = pb_node_obj(pb_node_obj(root, "deep"), "er");
    pb_node_set_strn(deep, "wire", wire, sizeof wire);
    pb_node_set_strn(deep, "k\"ey\xc3\xa9", "v", 1);
    pb_node_set_int(deep, "neg", INT64_MIN);
    pb_node_set_uint(deep, "big", UINT64_MAX);
    pb_node_set_real(deep, "real", -1.5e300);
    pb_node_set_bool(deep, "f", false);
    pb_node_set_null(deep, "nothing");
    pb_node *darr = pb_node_arr(deep, "list");
    pb_node_set_int(darr, NULL, 7);
    pb_node_set_strn(darr, NULL, wire, sizeof wire);
    pb_node_set_null(darr, NULL);
    pb_node_set(darr, NULL, json_pack("[b,f]", 1, 0.5));
    pb_node_obj(darr, NULL);

    /* wire bytes made valid exactly as pb_json_strn makes them */
    json_t *js = pb_json_strn(wire, sizeof wire);
    size_t wlen = 0;
    const char *w = pb_ev_get_str(ev, "wire", &wlen);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(wlen, json_string_length(js));
    ck_assert(memcmp(w, json_string_value(js), wlen) == 0);
    json_decref(js);

    struct pb_codec_buf a = {0}, t = {0}, h1 = {0}, h2 = {0}, r = {0};
    bool ea = false, et = false;
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, &ea), 0);
    ck_assert_int_eq(pb_ev_encode(ev, false, true, &h1, NULL), 0);
    json_t *tree = pb_ev_json(ev);
    ck_assert_ptr_nonnull(tree);
    ck_assert_ptr_null(json_object_get(tree, "bad\xff"));
    ck_assert_int_eq(pb_json_encode_exact(tree, &t, &et), 0);
    ck_assert_int_eq(pb_json_encode(tree, false, true, &h2), 0);
    ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0, "%.*s\n%.*s", (int)a.len, a.p,
                  (int)t.len, t.p);
    ck_assert_int_eq(ea, et);
    ck_assert_int_eq(h1.len, h2.len);
    ck_assert(memcmp(h1.p, h2.p, h1.len) == 0);
    ck_assert(a.len > 13 && memcmp(a.p, "{\"@timestamp\":", 13) == 0);
    /* the tree back into an arena encodes the same again */
    ck_assert_int_eq(pb_ev_to_arena(ev), 0);
    ck_assert(!pb_ev_is_tree(ev));
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &r, NULL), 0);
    ck_assert_int_eq(r.len, a.len);
    ck_assert(memcmp(r.p, a.p, a.len) == 0);
    pb_codec_buf_free(&a);
    pb_codec_buf_free(&t);
    pb_codec_buf_free(&h1);
    pb_codec_buf_free(&h2);
    pb_codec_buf_free(&r);
    pb_ev_free(ev);
}
END_TEST

/* A jansson value held by others (a shared template) is copied before a
 * path write or delete goes into it. */
START_TEST(arena_shared_json_copied_on_write)
{
    json_t *shared = json_pack("{s:s,s:{s:s}}", "name", "h", "os", "type", "linux");
    pb_event *ev = pb_ev_new();
    pb_ev_put(ev, "host", json_incref(shared));
    pb_ev_put_str(ev, "host.os.type", "changed");
    ck_assert(pb_ev_del(ev, "host.name"));
    ck_assert_str_eq(pb_ev_get_str(ev, "host.os.type", NULL), "changed");
    ck_assert_str_eq(json_string_value(pb_json_get(shared, "os.type")), "linux");
    ck_assert_str_eq(json_string_value(json_object_get(shared, "name")), "h");
    ck_assert_int_eq(shared->refcount, 1);
    pb_ev_free(ev);

    /* held by reference (pb_node_set_frozen): its count is never touched,
       a write copies it, a tree made of the event holds its own reference */
    pb_ev_freeze(shared);
    ev = pb_ev_new();
    pb_node_set_frozen(pb_ev_obj(ev, ""), "host", shared);
    ck_assert_int_eq(shared->refcount, 1);
    struct pb_codec_buf a = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, NULL), 0);
    ck_assert_int_eq(pb_codec_buf_append(&a, "", 1), 0);
    ck_assert_str_eq(a.p, "{\"host\":{\"name\":\"h\",\"os\":{\"type\":\"linux\"}}}");
    pb_codec_buf_free(&a);
    pb_ev_put_str(ev, "host.os.type", "changed");
    ck_assert_str_eq(pb_ev_get_str(ev, "host.os.type", NULL), "changed");
    ck_assert_str_eq(json_string_value(pb_json_get(shared, "os.type")), "linux");
    ck_assert_int_eq(shared->refcount, 1);
    pb_ev_free(ev);
    ev = pb_ev_new();
    pb_node_set_frozen(pb_ev_obj(ev, ""), "host", shared);
    json_t *tree = pb_ev_take(ev);
    ck_assert_int_eq(shared->refcount, 2);
    json_decref(tree);
    ck_assert_int_eq(shared->refcount, 1);
    pb_ev_thaw(shared);
    json_decref(shared);
}
END_TEST

START_TEST(invalid_utf8_is_replaced)
{
    static const uint8_t bad[] = {'a', 0xff, 'b', 0xc3, 0xa9, 0xe2, 0x82}; /* a?bé + cut */
    json_t *s = pb_json_strn(bad, sizeof bad);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(json_string_value(s), "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(s);
}
END_TEST

START_TEST(time_formats)
{
    char buf[40];
    uint64_t ts = 1424218386123456789ull; /* 2015-02-18T00:13:06.123456789Z */
    ck_assert_str_eq(pb_time_fmt(ts, false, buf), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_time_fmt(ts, true, buf), "2015-02-18T00:13:06.123456789Z");
    pb_time_set_precision(9);
    ck_assert_str_eq(pb_time_fmt(ts, false, buf), "2015-02-18T00:13:06.123456789Z");
    pb_time_set_precision(6);
    ck_assert_str_eq(pb_time_fmt(ts, false, buf), "2015-02-18T00:13:06.123456Z");
    ck_assert_str_eq(pb_time_fmt(ts - 3456789, false, buf), "2015-02-18T00:13:06.12Z");
    ck_assert_str_eq(pb_time_fmt(ts - 123456789, false, buf), "2015-02-18T00:13:06Z");
    pb_time_set_precision(3);
    ck_assert_str_eq(pb_time_fmt(ts - 123456789, false, buf), "2015-02-18T00:13:06.000Z");
}
END_TEST

START_TEST(tx_event_common_fields)
{
    struct pb_tuple t = pt_tuple("172.31.98.49", 55874, "93.184.216.34", 80, PB_IPPROTO_TCP);
    struct pb_tx tx = {.type = "http", .tuple = &t, .start_ns = 1424218386000000000ull,
                       .end_ns = 1424218386018341000ull, .status = "OK", .src_bytes = 130,
                       .dst_bytes = 1591};
    json_t *ev = pb_ev_take(pb_tx_event(&tx));
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "type")), "http");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "event.dataset")), "http");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "event.kind")), "event");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "event.duration")), 18341000);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "client.ip")), "172.31.98.49");
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "server.port")), 80);
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "network.bytes")), 1721);
    ck_assert_int_eq(json_integer_value(pb_json_get(ev, "destination.bytes")), 1591);
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.community_id")),
                     "1:TMPM5eEnGOXfxAjx6NKlyjx+X10=");
    ck_assert_str_eq(json_string_value(pb_json_get(ev, "network.type")), "ipv4");
    ck_assert_int_eq(json_array_size(pb_json_get(ev, "related.ip")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(pb_json_get(ev, "event.type"), 1)),
                     "protocol");
    json_decref(ev);

    /* zero bytes are omitted, as Packetbeat omits zero values */
    tx.src_bytes = 0;
    tx.dst_bytes = -1;
    tx.end_ns = 0;
    ev = pb_ev_take(pb_tx_event(&tx));
    ck_assert_ptr_null(pb_json_get(ev, "source.bytes"));
    ck_assert_ptr_null(pb_json_get(ev, "network.bytes"));
    ck_assert_ptr_null(pb_json_get(ev, "event.duration"));
    json_decref(ev);
}
END_TEST

/* The arena's encoding of ev equals the one of its jansson tree (built
 * apart, from a copy, so the arena stays as it is). */
static void assert_encodes_as_tree(pb_event *ev)
{
    struct pb_codec_buf a = {0}, t = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, NULL), 0);
    json_t *tree = json_loadb(a.p, a.len, 0, NULL);
    ck_assert_ptr_nonnull(tree);
    pb_event *copy = pb_ev_wrap(json_deep_copy(tree));
    ck_assert_int_eq(pb_ev_to_arena(copy), 0); /* an arena made the general way */
    ck_assert_int_eq(pb_ev_encode(copy, false, false, &t, NULL), 0);
    ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0, "%.*s\n%.*s", (int)a.len, a.p,
                  (int)t.len, t.p);
    pb_codec_buf_free(&t);
    /* the tree of the event itself (which leaves the arena) agrees too */
    json_t *own = pb_ev_json(ev);
    ck_assert(json_equal(own, tree));
    ck_assert_int_eq(pb_ev_to_arena(ev), 0);
    json_decref(tree);
    pb_codec_buf_free(&a);
    pb_ev_free(copy);
}

/* Objects made with their encoding (endpoints, string arrays, copies) are
 * written from it only while unchanged: every kind of change shows. */
START_TEST(cached_encodings_follow_changes)
{
    struct pb_tuple t = pt_tuple("10.1.2.3", 40000, "fd00::1", 53, PB_IPPROTO_UDP);
    struct pb_tx tx = {.type = "dns",
                       .tuple = &t,
                       .start_ns = 1424218386000000000ull,
                       .end_ns = 1424218386018341000ull,
                       .status = "OK",
                       .src_bytes = 70,
                       .dst_bytes = 0};
    for (int change = 0; change < 9; change++) {
        pb_event *ev = pb_tx_event(&tx);
        ck_assert_ptr_nonnull(ev);
        struct pb_codec_buf b = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
        /* as made: source has bytes, destination none, client copies source */
        ck_assert_ptr_nonnull(
            strstr(b.p, "\"source\":{\"ip\":\"10.1.2.3\",\"port\":40000,\"bytes\":70}"));
        ck_assert_ptr_nonnull(strstr(b.p, "\"server\":{\"ip\":\"fd00::1\",\"port\":53}"));
        ck_assert_ptr_nonnull(strstr(b.p, "\"related\":{\"ip\":[\"10.1.2.3\",\"fd00::1\"]}"));
        ck_assert_ptr_nonnull(strstr(b.p, "\"type\":[\"connection\",\"protocol\"]"));
        pb_codec_buf_free(&b);
        const char *want = NULL;
        switch (change) {
        case 0:
            want = "\"source\":{\"ip\":\"10.1.2.3\",\"port\":1,\"bytes\":70}";
            pb_ev_put_int(ev, "source.port", 1); /* replaced in place */
            break;
        case 1:
            want = "\"client\":{\"ip\":\"10.1.2.3\",\"port\":40000,\"bytes\":70,\"domain\":\"x\"}";
            pb_ev_put_str(ev, "client.domain", "x"); /* appended to the copy only */
            break;
        case 2:
            want = "\"source\":{\"ip\":\"10.1.2.3\",\"bytes\":70}";
            ck_assert(pb_ev_del(ev, "source.port"));
            break;
        case 3:
            want = "\"related\":{\"ip\":[\"10.1.2.3\",\"fd00::1\",\"192.0.2.9\"]}";
            pb_ev_add_related_ip(ev, "192.0.2.9");
            break;
        case 4:
            want = "\"type\":[\"connection\",\"protocol\",\"end\"]";
            pb_node_set_str(pb_ev_arr(ev, "event.type"), NULL, "end");
            break;
        case 5:
            want = "\"destination\":{\"ip\":{\"v\":1},\"port\":53}";
            pb_ev_put(ev, "destination.ip", json_pack("{s:i}", "v", 1));
            break;
        case 6:
            want = "\"server\":{\"ip\":\"fd00::1\",\"port\":53,\"n\":{\"x\":true}}";
            pb_ev_put_bool(ev, "server.n.x", true);
            break;
        case 7:
            want = "\"client\":{\"ip\":\"10.1.2.3\",\"port\":40000,\"bytes\":70}";
            pb_ev_put_int(ev, "source.port", 2); /* the copy keeps its own */
            break;
        default:
            want = "\"source\":{\"ip\":\"10.1.2.3\",\"port\":40000,\"bytes\":70}";
            /* through a tree and back: made the general way */
            ck_assert_ptr_nonnull(pb_ev_json(ev));
            ck_assert_int_eq(pb_ev_to_arena(ev), 0);
            break;
        }
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
        ck_assert_msg(strstr(b.p, want) != NULL, "change %d: %.*s", change, (int)b.len, b.p);
        pb_codec_buf_free(&b);
        assert_encodes_as_tree(ev);
        /* pretty output walks the nodes: the same values */
        ck_assert_int_eq(pb_ev_encode(ev, true, false, &b, NULL), 0);
        json_t *pretty = json_loadb(b.p, b.len, 0, NULL);
        json_t *tree = pb_ev_json(ev);
        ck_assert(json_equal(pretty, tree));
        json_decref(pretty);
        pb_codec_buf_free(&b);
        pb_ev_free(ev);
    }
}
END_TEST

/* @timestamp, event.start and event.end hold one text per instant, made
 * in the event's own arena: each event has its own, and a member set
 * again leaves the others alone. */
START_TEST(tx_event_times)
{
    struct pb_tuple t = pt_tuple("10.0.0.1", 40000, "10.0.0.2", 53, PB_IPPROTO_UDP);
    struct pb_tx tx = {.type = "dns",
                       .tuple = &t,
                       .start_ns = 1424218386123000000ull,
                       .end_ns = 1424218386123000000ull,
                       .status = "OK",
                       .src_bytes = 1,
                       .dst_bytes = 1};
    pb_event *a = pb_tx_event(&tx);
    tx.start_ns += 1500000000ull;
    tx.end_ns = tx.start_ns + 2000000ull;
    pb_event *b = pb_tx_event(&tx);
    ck_assert_str_eq(pb_ev_get_str(a, "@timestamp", NULL), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_ev_get_str(a, "event.start", NULL), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_ev_get_str(a, "event.end", NULL), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_ev_get_str(b, "@timestamp", NULL), "2015-02-18T00:13:07.623Z");
    ck_assert_str_eq(pb_ev_get_str(b, "event.start", NULL), "2015-02-18T00:13:07.623Z");
    ck_assert_str_eq(pb_ev_get_str(b, "event.end", NULL), "2015-02-18T00:13:07.625Z");
    assert_encodes_as_tree(a);
    pb_ev_put_str(a, "event.start", "changed");
    pb_ev_put_str(b, "@timestamp", "changed");
    ck_assert_str_eq(pb_ev_get_str(a, "@timestamp", NULL), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_ev_get_str(a, "event.end", NULL), "2015-02-18T00:13:06.123Z");
    ck_assert_str_eq(pb_ev_get_str(b, "event.start", NULL), "2015-02-18T00:13:07.623Z");
    assert_encodes_as_tree(a);
    assert_encodes_as_tree(b);
    pb_ev_free(a);
    pb_ev_free(b);
    /* the global precision */
    pb_time_set_precision(6);
    tx.start_ns = 1424218386123456789ull;
    a = pb_tx_event(&tx);
    ck_assert_str_eq(pb_ev_get_str(a, "@timestamp", NULL), "2015-02-18T00:13:06.123456Z");
    ck_assert_str_eq(pb_ev_get_str(a, "event.start", NULL), "2015-02-18T00:13:06.123456Z");
    pb_time_set_precision(3);
    pb_ev_free(a);
}
END_TEST

/* The builders that make a container with its members in one piece, on
 * what they do not take that way (strings to escape, more than sixteen,
 * none, a copy of an empty object, an address that is not plain): the
 * general setters, encoded as a tree would be. */
START_TEST(container_builders_fall_back)
{
    static const char *const odd[] = {"plain", "q\"uote", "tab\there", "\xc3\xa9t\xc3\xa9",
                                      "bad\xff"};
    const char *many[17];
    char text[17][8];
    for (int i = 0; i < 17; i++) {
        snprintf(text[i], sizeof text[i], "s%d", i);
        many[i] = text[i];
    }
    static const char *const none[] = {NULL};
    pb_event *ev = pb_ev_new();
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_strs(root, PB_KEY("odd"), odd, 5);
    pb_node_add_strs(root, PB_KEY("many"), many, 17);
    pb_node_add_strs(root, PB_KEY("sixteen"), many, 16);
    pb_node_add_strs(root, PB_KEY("nostrs"), none, 0);
    pb_node_add_static_strs(root, PB_KEY("nostatic"), none, 0, "[]");
    pb_node *empty = pb_node_add_obj(root, PB_KEY("empty"));
    pb_node_add_copy(root, PB_KEY("copy"), empty);
    pb_node_add_endpoint(root, PB_KEY("oddip"), "a\"b", 5, 6);
    pb_node_add_endpoint(root, PB_KEY("noip"), NULL, 5, 6);
    pb_node *src = pb_node_add_endpoint(root, PB_KEY("src"), "192.0.2.1", 0, 0);
    pb_node_add_copy(root, PB_KEY("srccopy"), src);
    ck_assert_ptr_null(pb_ev_get_str(ev, "odd", NULL)); /* an array */
    json_t *arr = pb_ev_get_json(ev, "odd");
    ck_assert_uint_eq(json_array_size(arr), 5);
    ck_assert_str_eq(json_string_value(json_array_get(arr, 1)), "q\"uote");
    ck_assert_str_eq(json_string_value(json_array_get(arr, 4)), "bad\xef\xbf\xbd");
    json_decref(arr);
    ck_assert_int_eq(pb_ev_obj_size(ev, "noip"), 0);
    ck_assert_int_eq(pb_ev_obj_size(ev, "copy"), 0);
    ck_assert_int_eq(pb_ev_obj_size(ev, "srccopy"), 1);
    ck_assert_str_eq(pb_ev_get_str(ev, "oddip.ip", NULL), "a\"b");
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    ck_assert_ptr_nonnull(strstr(b.p, "\"nostrs\":[],\"nostatic\":[],\"empty\":{},\"copy\":{}"));
    ck_assert_ptr_nonnull(strstr(b.p, "\"oddip\":{\"ip\":\"a\\\"b\",\"port\":5,\"bytes\":6}"));
    ck_assert_ptr_nonnull(strstr(b.p, "\"many\":[\"s0\","));
    ck_assert_ptr_nonnull(strstr(b.p, "\"s15\",\"s16\"]"));
    ck_assert_ptr_nonnull(strstr(b.p, "\"srccopy\":{\"ip\":\"192.0.2.1\"}"));
    pb_codec_buf_free(&b);
    assert_encodes_as_tree(ev);
    pb_ev_free(ev);
}
END_TEST

/* The plain-text checks (short keys and values gathered into one word,
 * longer ones eight bytes a step; ASCII runs skipped eight bytes a step
 * in the UTF-8 check) against byte-wise references: one odd byte at every
 * place of strings of every short length, as keys and as values, must
 * encode exactly as the tree encoder (which checks byte by byte) does. */
static size_t ref_valid_len(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = p[i] < 0x80 ? 1 : pb_utf8_decode(p + i, n - i, NULL);
        if (l == 0) {
            break;
        }
        i += l;
    }
    return i;
}

START_TEST(plain_checks_at_every_place)
{
    static const uint8_t odd[] = {'"', '\\', 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xe2, 0xff, 0};
    for (size_t len = 1; len <= 40; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof odd; k++) {
                uint8_t buf[48];
                memset(buf, 'a' + (int)(len % 20), sizeof buf);
                buf[pos] = odd[k];
                if (odd[k] == 0xc3 && pos + 1 < len) {
                    buf[pos + 1] = 0xa9; /* a valid two-byte sequence */
                }
                ck_assert_uint_eq(pb_utf8_valid_len(buf, len), ref_valid_len(buf, len));
                pb_event *ev = pb_ev_new();
                pb_node *root = pb_ev_obj(ev, "");
                pb_node_set_strn(root, "v", buf, len);
                char key[49];
                memcpy(key, buf, len);
                key[len] = '\0';
                if (odd[k] != 0) {
                    pb_node_set_str(root, key, "k");
                }
                struct pb_codec_buf a = {0}, t = {0};
                ck_assert_int_eq(pb_ev_encode(ev, false, false, &a, NULL), 0);
                json_t *tree = pb_ev_json(ev);
                ck_assert_int_eq(pb_json_encode(tree, false, false, &t), 0);
                ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0,
                              "len %zu pos %zu byte %02x: %.*s / %.*s", len, pos, odd[k],
                              (int)a.len, a.p, (int)t.len, t.p);
                pb_codec_buf_free(&a);
                pb_codec_buf_free(&t);
                pb_ev_free(ev);
            }
        }
    }
    /* long runs of ASCII around bad bytes */
    uint8_t big[300];
    for (size_t pos = 0; pos < sizeof big; pos += 7) {
        memset(big, 'x', sizeof big);
        big[pos] = 0xff;
        ck_assert_uint_eq(pb_utf8_valid_len(big, sizeof big), pos);
        ck_assert_uint_eq(pb_utf8_valid_len(big, pos), pos);
    }
}
END_TEST

/* The event of paths_agree_with_jansson, in the arena or as a tree. */
static pb_event *path_event(void)
{
    pb_event *ev = pb_ev_new();
    pb_ev_put_str(ev, "http.request.method", "GET");
    pb_ev_put_int(ev, "http.response.status_code", 200);
    pb_node *root = pb_ev_obj(ev, "");
    /* keys with literal dots, at the root and below */
    pb_node_set_int(pb_node_obj(root, "a.b"), "c", 7);
    pb_node_set_str(root, "a.b.d", "literal");
    pb_node_set_str(pb_node_obj(pb_ev_obj(ev, "x"), "y.z"), "w", "deep");
    pb_node_set_str(pb_ev_obj(ev, "x"), "y.z.w", "literal beats the split");
    /* a jansson subtree, and a path through a non-object */
    pb_ev_put(ev, "j", json_pack("{s:{s:s,s:{s:i}}}", "k", "l", "m", "n.o", "p", 3));
    pb_ev_put_str(ev, "s", "scalar");
    pb_ev_put(ev, "arr", json_pack("[i]", 1));
    pb_ev_put_str(ev, "", "empty key");
    /* 16 levels: one dot more than a split path holds */
    char deep[64] = "";
    for (int i = 0; i < 16; i++) {
        strcat(deep, "q.");
    }
    strcat(deep, "end");
    pb_ev_put_str(ev, deep, "bottom");
    return ev;
}

/* Split paths (pb_path) find what the string forms and pb_json_get find. */
START_TEST(paths_agree_with_jansson)
{
    static const char *const paths[] = {"http",
                                        "http.request",
                                        "http.request.method",
                                        "http.response.status_code",
                                        "http.request.body.content",
                                        "a.b",
                                        "a.b.c",
                                        "a.b.d",
                                        "a",
                                        "x.y.z.w",
                                        "x.y.z",
                                        "x.y",
                                        "j",
                                        "j.k",
                                        "j.m.n.o",
                                        "j.m.n",
                                        "j.m.n.o.p",
                                        "s",
                                        "s.t",
                                        "arr",
                                        "arr.0",
                                        "",
                                        ".",
                                        "a..b",
                                        "http.",
                                        ".http",
                                        "q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.end",
                                        "q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q",
                                        "q.q.q.q.q.q.q.q.q.q.q.q.q.q.q",
                                        "q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.nope",
                                        "nope.x"};
    pb_event *ev = path_event();
    pb_event *tev = path_event();
    json_t *tree = pb_ev_json(tev);
    ck_assert_ptr_nonnull(tree);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        const char *path = paths[i];
        struct pb_path p;
        pb_path_init(&p, path);
        json_t *want = pb_json_get(tree, path);
        ck_assert_msg(pb_ev_has_p(ev, &p) == (want != NULL), "has %s", path);
        ck_assert_msg(pb_ev_has(ev, path) == (want != NULL), "has string %s", path);
        ck_assert_msg(pb_ev_has_p(tev, &p) == (want != NULL), "has tree %s", path);
        long size = json_is_object(want) ? (long)json_object_size(want) : -1;
        ck_assert_msg(pb_ev_obj_size_p(ev, &p) == size, "size %s", path);
        ck_assert_msg(pb_ev_obj_size(ev, path) == size, "size string %s", path);
        const char *got = pb_ev_get_str_p(ev, &p, NULL);
        const char *ws = json_string_value(want);
        ck_assert_msg((got == NULL && ws == NULL) || (got && ws && strcmp(got, ws) == 0),
                      "str %s: %s vs %s", path, got ? got : "-", ws ? ws : "-");
        json_t *gj = pb_ev_get_json_p(ev, &p);
        ck_assert_msg(json_equal(gj, want) || (gj == NULL && want == NULL), "json %s", path);
        json_decref(gj);
    }
    struct pb_path p;
    pb_path_init(&p, "q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.end");
    ck_assert_int_eq(p.ndots, PB_PATH_LONG);
    ck_assert_str_eq(pb_ev_get_str_p(ev, &p, NULL), "bottom");
    pb_path_init(&p, "x.y.z.w");
    ck_assert_str_eq(pb_ev_get_str_p(ev, &p, NULL), "literal beats the split");
    pb_ev_free(ev);
    pb_ev_free(tev);
}
END_TEST

static bool ip_is(const struct pb_ip *ip, const char *want)
{
    struct pb_ip w;
    return pb_ip_parse(want, &w) && memcmp(ip, &w, sizeof w) == 0;
}

/* pb_ev_parse_ip gives what pb_ip_parse gives, also once source.ip has
 * been replaced, in the arena or through a tree and back (the arena's
 * memory is reused then). */
START_TEST(parse_ip_follows_changes)
{
    struct pb_tuple t = pt_tuple("10.0.0.1", 1000, "2001:db8::1", 53, PB_IPPROTO_UDP);
    struct pb_tx tx = {.type = "dns", .tuple = &t, .start_ns = 1};
    pb_event *ev = pb_tx_event(&tx);
    struct pb_ip ip;
    ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "source.ip", NULL), &ip));
    ck_assert(ip_is(&ip, "10.0.0.1"));
    ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "destination.ip", NULL), &ip));
    ck_assert(ip_is(&ip, "2001:db8::1"));
    /* the client.ip string is another one: parsed */
    ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "client.ip", NULL), &ip));
    ck_assert(ip_is(&ip, "10.0.0.1"));
    pb_ev_put_str(ev, "source.ip", "127.0.0.1");
    ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "source.ip", NULL), &ip));
    ck_assert(ip_is(&ip, "127.0.0.1"));
    pb_ev_put_str(ev, "destination.ip", "not an address");
    ck_assert(!pb_ev_parse_ip(ev, pb_ev_get_str(ev, "destination.ip", NULL), &ip));
    ck_assert(!pb_ev_parse_ip(ev, NULL, &ip));
    pb_ev_free(ev);

    /* same lengths, so that the new strings may land where the old were */
    for (int round = 0; round < 2; round++) {
        ev = pb_tx_event(&tx);
        json_t *tree = pb_ev_json(ev);
        ck_assert_ptr_nonnull(tree);
        pb_json_put_str(tree, "source.ip", "10.0.0.9");
        pb_json_put_str(tree, "destination.ip", "2001:db8::9");
        if (round == 1) {
            ck_assert_int_eq(pb_ev_to_arena(ev), 0);
        }
        ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "source.ip", NULL), &ip));
        ck_assert(ip_is(&ip, "10.0.0.9"));
        ck_assert(pb_ev_parse_ip(ev, pb_ev_get_str(ev, "destination.ip", NULL), &ip));
        ck_assert(ip_is(&ip, "2001:db8::9"));
        pb_ev_free(ev);
    }

    /* a new source.ip string at the very address of the noted one, once
       the arena is reused: it is parsed, not taken for the old address */
    ev = pb_tx_event(&tx);
    const char *old = pb_ev_get_str(ev, "source.ip", NULL);
    json_t *tree = pb_ev_json(ev);
    ck_assert_ptr_nonnull(tree);
    json_decref(tree); /* handed on: replaced by an empty event */
    ev = pb_ev_rewrap(ev, json_object());
    ck_assert_int_eq(pb_ev_to_arena(ev), 0);
    bool reused = false;
    for (int i = 0; i < 4096 && !reused; i++) {
        pb_ev_put_str(ev, "source.ip", "1.2.3.4"); /* 8 bytes more each time */
        reused = pb_ev_get_str(ev, "source.ip", NULL) == old;
    }
    ck_assert_msg(reused, "the arena did not reuse the address");
    ck_assert(pb_ev_parse_ip(ev, old, &ip));
    ck_assert(ip_is(&ip, "1.2.3.4"));
    pb_ev_free(ev);
}
END_TEST

static void encode_eq(pb_event *a, pb_event *b)
{
    struct pb_codec_buf x = {0}, y = {0};
    ck_assert_int_eq(pb_ev_encode(a, false, false, &x, NULL), 0);
    ck_assert_int_eq(pb_ev_encode(b, false, false, &y, NULL), 0);
    ck_assert_msg(x.len == y.len && memcmp(x.p, y.p, x.len) == 0, "%.*s\n%.*s", (int)x.len, x.p,
                  (int)y.len, y.p);
    pb_codec_buf_free(&x);
    pb_codec_buf_free(&y);
}

/* An event may come from the block the thread kept from the last one
 * freed: it is empty all the same, and the thread's allocation count sees
 * it come and go as a malloc and a free. */
START_TEST(event_blocks_reused_empty_and_counted)
{
    int64_t base = pb_alloc_thread_bytes();
    static char big[20000];
    memset(big, 'x', sizeof big - 1);
    for (int i = 0; i < 4; i++) {
        pb_event *ev = pb_ev_new();
        ck_assert_int_gt(pb_alloc_thread_bytes(), base);
        ck_assert(!pb_ev_is_tree(ev));
        struct pb_codec_buf b = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
        ck_assert_uint_eq(b.len, 2);
        ck_assert_int_eq(memcmp(b.p, "{}", 2), 0);
        pb_codec_buf_free(&b);
        pb_ev_put_str(ev, "a.b", big); /* a second chunk */
        if (i == 1) {
            ck_assert_ptr_nonnull(pb_ev_json(ev)); /* freed as a tree */
        }
        if (i == 2) {
            struct pb_tuple t = pt_tuple("10.0.0.1", 1, "10.0.0.2", 2, PB_IPPROTO_TCP);
            struct pb_tx tx = {.type = "x", .tuple = &t, .start_ns = 1};
            pb_ev_free(ev);
            ev = pb_tx_event(&tx); /* waiting fields */
        }
        pb_ev_free(ev);
        ck_assert_int_eq(pb_alloc_thread_bytes(), base);
    }
}
END_TEST

/* The same steps on a pb_tx_event's event, whatever its form: the calls
 * that keep the fields waiting, or their general forms once built. */
static void tx_steps(pb_event *ev, unsigned k, bool static_action)
{
    static const char *const answers[] = {"10.0.0.9", "", NULL, "10.0.0.9", "fd00::53"};
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_static(root, PB_KEY("method"), "GET");
    if (k & 1) {
        const char *outcome = (k & 2) ? "failure" : NULL;
        ck_assert_int_eq(static_action ? pb_tx_add_static_action(ev, "redis.get", 9, outcome)
                                       : pb_tx_add_action(ev, "redis.get", 9, outcome),
                         0);
    } else if (k & 2) {
        ck_assert_int_eq(pb_tx_add_action(ev, NULL, 0, "success"), 0);
        if (static_action) {
            /* an action after the outcome: the general way */
            ck_assert_int_eq(pb_tx_add_static_action(ev, "memcache.load", 13, NULL), 0);
        }
    }
    if (k & 4) {
        /* duplicates of the tuple's addresses and of each other dropped */
        const char *tuple_ips[] = {"192.168.1.1", "fd00::1"};
        ck_assert_int_eq(pb_ev_add_related_ips(ev, tuple_ips, 2), 0);
        ck_assert_int_eq(pb_ev_add_related_ips(ev, answers, 5), 0);
    }
    if (k & 32) {
        ck_assert_int_eq(pb_tx_add_domain(ev, "example.com"), 0);
        if (k & 1) {
            ck_assert_int_eq(pb_tx_add_domain(ev, "example.org"), 0); /* set again: replaced */
        }
        ck_assert_int_eq(pb_ev_add_related_host(ev, "example.com", 11), 0);
        ck_assert_int_eq(pb_ev_add_related_host(ev, "", 0), 0);
        ck_assert_int_eq(pb_ev_add_related_host(ev, "http://a/b", 10), 0);
        ck_assert_int_eq(pb_ev_add_related_host(ev, "example.com", 11), 0);
        if (k & 4) {
            /* a name that needs escaping: the general way */
            ck_assert_int_eq(pb_ev_add_related_host(ev, "q\"x", 3), 0);
        }
    }
    pb_node_add_obj(pb_node_add_obj(root, PB_KEY("redis")), PB_KEY("x"));
    if (k & 8) {
        pb_ev_put_str(ev, "error.message", "boom");
    }
    if (k & 16) {
        if (pb_tx_direction_tuple(ev) != NULL) {
            pb_tx_set_direction(ev, "egress");
        } else {
            pb_ev_put_str(ev, "network.direction", "egress");
        }
    }
    pb_node_set_str(root, "@metadata", "meta");
}

/* pb_tx_event's fields are written straight from where they wait exactly
 * as the encoder writes them once built, for every shape they take. */
START_TEST(tx_fields_written_as_built)
{
    static const char *const addrs[][2] = {
        {"192.168.1.1", "10.1.2.3"}, {"fd00::1", "fd00::2"}, {"127.0.0.1", "127.0.0.1"}};
    static const uint8_t protos[] = {PB_IPPROTO_TCP, PB_IPPROTO_UDP, PB_IPPROTO_ICMP, 47};
    size_t n = 0;
    for (unsigned shape = 0; shape < 3 * 4 * 4 * 4; shape++) {
        unsigned a = shape % 3, pr = shape / 3 % 4, times = shape / 12 % 4, bytes = shape / 48;
        struct pb_tuple t =
            pt_tuple(addrs[a][0], (bytes & 1) ? 0 : 40000, addrs[a][1], 53, protos[pr]);
        uint64_t start = times == 1 ? 0 : 1700000000123456789ull;
        uint64_t end = times == 0 ? 0 : times == 2 ? start : times == 3 ? start + 5000 : 99;
        struct pb_tx tx = {.type = "redis",
                           .tuple = &t,
                           .start_ns = start,
                           .end_ns = end,
                           .status = (shape & 1) ? "OK" : NULL,
                           .src_bytes = (bytes & 1) ? -1 : 120,
                           .dst_bytes = (bytes & 2) ? 0 : 7,
                           .no_client_server = (shape % 7) == 3};
        for (unsigned k = 0; k < 64; k++, n++) {
            pb_event *lazy = pb_tx_event(&tx), *built = pb_tx_event(&tx);
            ck_assert_ptr_nonnull(lazy->txp);
            pb_ev_settle(built);
            ck_assert_ptr_null(built->txp);
            /* the static action on every other shape */
            tx_steps(lazy, k, shape & 1);
            tx_steps(built, k, shape & 1);
            /* none of the steps built it (but a name that needs escaping,
               a domain without a server object, an action after the
               outcome) */
            ck_assert(lazy->txp != NULL || (k & 36) == 36 || ((k & 32) && tx.no_client_server) ||
                      ((k & 3) == 2 && (shape & 1)));
            encode_eq(lazy, built);
            assert_encodes_as_tree(lazy);
            pb_ev_free(lazy);
            pb_ev_free(built);
        }
    }
    ck_assert_uint_eq(n, 192 * 64);
}
END_TEST

/* Anything that looks at one of the waiting fields, or at the root as a
 * whole, sees them built, in their place before every later member; other
 * keys leave them waiting. */
START_TEST(tx_fields_built_when_looked_at)
{
    struct pb_tuple t = pt_tuple("10.0.0.1", 5000, "10.0.0.2", 6379, PB_IPPROTO_TCP);
    struct pb_tx tx = {.type = "redis",
                       .tuple = &t,
                       .start_ns = 1000,
                       .end_ns = 3000,
                       .status = "OK",
                       .src_bytes = 10,
                       .dst_bytes = 20};
    pb_event *ev = pb_tx_event(&tx);
    pb_node_add_static(pb_ev_obj(ev, ""), PB_KEY("method"), "GET");
    ck_assert(!pb_ev_has(ev, "tags"));
    ck_assert(pb_ev_has(ev, "method"));
    ck_assert_ptr_nonnull(ev->txp);
    ck_assert_str_eq(pb_ev_get_str(ev, "event.dataset", NULL), "redis");
    ck_assert_ptr_null(ev->txp);
    int64_t d = 0;
    ck_assert(pb_ev_get_int(ev, "event.duration", &d));
    ck_assert_int_eq(d, 2000);
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
    ck_assert_ptr_nonnull(strstr(b.p, "\"network\":{\"bytes\":30"));
    ck_assert_ptr_nonnull(strstr(b.p, "\"protocol\":\"redis\"},\"method\":\"GET\"}"));
    pb_codec_buf_free(&b);
    pb_ev_free(ev);

    /* a change inside one: built first, the change lands in it */
    const char *const paths[] = {"network.forwarded_ip", "event.start", "source.domain",
                                 "related.ip",           "status",      "@timestamp"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        pb_event *lazy = pb_tx_event(&tx), *built = pb_tx_event(&tx);
        pb_ev_settle(built);
        pb_node_add_static(pb_ev_obj(lazy, ""), PB_KEY("method"), "GET");
        pb_node_add_static(pb_ev_obj(built, ""), PB_KEY("method"), "GET");
        if (i % 2 == 0) {
            pb_ev_put_str(lazy, paths[i], "x");
            pb_ev_put_str(built, paths[i], "x");
        } else {
            ck_assert(pb_ev_del(lazy, paths[i]));
            ck_assert(pb_ev_del(built, paths[i]));
        }
        ck_assert_ptr_null(lazy->txp);
        encode_eq(lazy, built);
        pb_ev_free(lazy);
        pb_ev_free(built);
    }

    /* pretty and escaped forms, and the tree, are made from them built */
    pb_event *lazy = pb_tx_event(&tx), *built = pb_tx_event(&tx);
    pb_ev_settle(built);
    struct pb_codec_buf x = {0}, y = {0};
    ck_assert_int_eq(pb_ev_encode(lazy, true, true, &x, NULL), 0);
    ck_assert_int_eq(pb_ev_encode(built, true, true, &y, NULL), 0);
    ck_assert_msg(x.len == y.len && memcmp(x.p, y.p, x.len) == 0, "%.*s", (int)x.len, x.p);
    pb_codec_buf_free(&x);
    pb_codec_buf_free(&y);
    pb_ev_free(lazy);
    pb_ev_free(built);
    lazy = pb_tx_event(&tx);
    json_t *tree = pb_ev_json(lazy);
    ck_assert_str_eq(json_string_value(pb_json_get(tree, "client.ip")), "10.0.0.1");
    ck_assert_str_eq(json_string_value(pb_json_get(tree, "network.transport")), "tcp");
    pb_ev_free(lazy);
}
END_TEST

/* A frozen object in an arena event is written from its cached encoding
 * (made by the first encode), and what decodes back inexactly (a float
 * written without '.') marks the whole encoding inexact. */
#define HAS(b, lit) (memmem((b).p, (b).len, lit, sizeof(lit) - 1) != NULL)

START_TEST(frozen_members_written_from_cache)
{
    json_t *exact = json_pack("{s:s,s:i}", "name", "vm", "n", 1);
    json_t *inexact = json_pack("{s:f}", "ratio", 2.0);
    pb_ev_freeze(exact);
    pb_ev_freeze(inexact);
    for (int round = 0; round < 3; round++) {
        pb_event *ev = pb_ev_new();
        pb_node *root = pb_ev_obj(ev, "");
        pb_node_set_str(root, "type", "x");
        pb_node_set_frozen(root, "agent", exact);
        struct pb_codec_buf b = {0};
        bool ok = false;
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, &ok), 0);
        ck_assert(ok);
        /* the cached encoding, even of a value changed since (which the
           contract forbids): rounds 1 and 2 write round 0's */
        ck_assert(HAS(b, "\"agent\":{\"name\":\"vm\",\"n\":1}"));
        json_object_set_new(exact, "name", json_string("changed"));
        pb_node_set_frozen(root, "m", inexact);
        b.len = 0;
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, &ok), 0);
        ck_assert(!ok);
        ck_assert(HAS(b, "\"m\":{\"ratio\":2}"));
        pb_codec_buf_free(&b);
        pb_ev_free(ev);
    }
    pb_ev_thaw(exact);
    pb_ev_thaw(inexact);
    json_decref(exact);
    json_decref(inexact);
}
END_TEST

/* Runs of frozen members (the agent, ecs and host most events end with)
 * are written from the encoding the thread keeps of them, and a frozen
 * @metadata from its own: the same bytes as member by member (an arena
 * made from the decoded tree holds copies, no frozen values), wherever a
 * run is (alone, after or before other members, first, in a nested
 * object, longer than the longest run kept, too large to keep), their
 * inexactness kept, the second encoding of an event (from the kept runs)
 * as the first. */
START_TEST(frozen_runs_as_members)
{
    json_t *big = json_object();
    char *text = malloc(5000);
    ck_assert_ptr_nonnull(text);
    memset(text, 'x', 4999);
    text[4999] = '\0';
    json_object_set_new(big, "text", json_string(text));
    free(text);
    json_t *vals[5] = {
        json_pack("{s:s,s:s}", "name", "vm", "type", "packetbeat"),
        json_pack("{s:s}", "version", "8.0.0"),
        json_pack("{s:s,s:[s,s]}", "name", "h", "ip", "10.0.0.1", "fe80::1"),
        json_pack("{s:f}", "ratio", 2.0), /* written "2": inexact */
        big,                              /* larger than a kept run */
    };
    static const char *const keys[] = {"agent", "ecs", "host", "m", "big", "x"};
    for (size_t i = 0; i < 5; i++) {
        pb_ev_freeze(vals[i]);
    }
    uint32_t x = 7;
    for (int round = 0; round < 3000; round++) {
        pb_event *ev = pb_ev_new();
        pb_node *root = pb_ev_obj(ev, "");
        pb_node *nest = NULL;
        int n = 1 + round % 14;
        /* a frozen @metadata (written first, on its own), exact or not */
        bool meta_inexact = round % 5 == 1;
        if (round % 5 < 2) {
            pb_node_add_frozen(root, PB_KEY("@metadata"), vals[meta_inexact ? 3 : 1]);
        }
        for (int i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            unsigned pick = (x >> 16) % 10;
            pb_node *to = nest != NULL && (x >> 27) % 2 ? nest : root;
            /* mostly the usual three, now and then the others, or the
               first under another key */
            unsigned v = pick < 6 ? pick % 3 : pick == 6 ? 3 : pick == 7 ? 4 : 0;
            const char *key = keys[pick < 6 ? pick % 3 : pick < 9 ? pick - 3 : 5];
            if (pick < 9) {
                pb_node_set_frozen(to, key, vals[v]);
            } else if (nest == NULL) {
                nest = pb_node_obj(root, "nest");
            } else {
                pb_node_set_str(to, key, "plain");
            }
        }
        bool inexact = false;
        for (size_t k = 0; k < 2; k++) { /* the second time from what the first kept */
            struct pb_codec_buf b = {0};
            bool exact = false;
            ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, &exact), 0);
            json_t *t = json_loadb(b.p, b.len, 0, NULL);
            ck_assert_ptr_nonnull(t);
            json_t *m = json_object_get(t, "m");
            json_t *nm = json_object_get(json_object_get(t, "nest"), "m");
            inexact = json_is_object(m) || json_is_object(nm) || meta_inexact;
            ck_assert_int_eq(exact, !inexact);
            json_decref(t);
            pb_codec_buf_free(&b);
        }
        /* member by member: an arena made from the decoded text (the
           inexact float read back as an integer writes the same) */
        struct pb_codec_buf e = {0}, g = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &e, NULL), 0);
        pb_event *copy = pb_ev_wrap(json_loadb(e.p, e.len, 0, NULL));
        ck_assert_int_eq(pb_ev_to_arena(copy), 0);
        ck_assert_int_eq(pb_ev_encode(copy, false, false, &g, NULL), 0);
        ck_assert_msg(e.len == g.len && memcmp(e.p, g.p, e.len) == 0, "%.*s\n%.*s", (int)e.len, e.p,
                      (int)g.len, g.p);
        pb_codec_buf_free(&e);
        pb_codec_buf_free(&g);
        pb_ev_free(copy);
        pb_ev_free(ev);
    }
    for (size_t i = 0; i < 5; i++) {
        pb_ev_thaw(vals[i]);
        json_decref(vals[i]);
    }
}
END_TEST

/* A kept run compares the keys it was made with by their bytes: a key
 * copied into an event's arena goes with the event, and the next event
 * (made in the same block) may hold another key at the same address. */
START_TEST(frozen_runs_keys_by_bytes)
{
    json_t *a = json_pack("{s:i}", "n", 1);
    json_t *b = json_pack("{s:i}", "n", 2);
    pb_ev_freeze(a);
    pb_ev_freeze(b);
    static const char *const names[][2] = {{"agent", "ecs"}, {"agenX", "ecX"}, {"agent", "ecs"}};
    for (size_t k = 0; k < 3; k++) {
        pb_event *ev = pb_ev_new();
        pb_node *root = pb_ev_obj(ev, "");
        pb_node_set_str(root, "type", "x");
        pb_node_set_frozen(root, names[k][0], a); /* keys copied into the arena */
        pb_node_set_frozen(root, names[k][1], b);
        struct pb_codec_buf buf = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &buf, NULL), 0);
        char want[96];
        snprintf(want, sizeof want, "{\"type\":\"x\",\"%s\":{\"n\":1},\"%s\":{\"n\":2}}",
                 names[k][0], names[k][1]);
        ck_assert_msg(buf.len == strlen(want) && memcmp(buf.p, want, buf.len) == 0, "%.*s",
                      (int)buf.len, buf.p);
        pb_codec_buf_free(&buf);
        pb_ev_free(ev);
    }
    pb_ev_thaw(a);
    pb_ev_thaw(b);
    json_decref(a);
    json_decref(b);
}
END_TEST

/* A kept run is not written once one of its values was thawed: here the
 * same value, changed while thawed and frozen again at the same address. */
START_TEST(frozen_runs_follow_thaw)
{
    json_t *a = json_pack("{s:i}", "n", 1);
    json_t *b = json_pack("{s:s}", "version", "8.0.0");
    pb_ev_freeze(a);
    pb_ev_freeze(b);
    for (int round = 0; round < 3; round++) {
        pb_event *ev = pb_ev_new();
        pb_node *root = pb_ev_obj(ev, "");
        pb_node_set_str(root, "type", "x");
        pb_node_add_frozen(root, PB_KEY("agent"), a);
        pb_node_add_frozen(root, PB_KEY("ecs"), b);
        for (int k = 0; k < 2; k++) {
            struct pb_codec_buf buf = {0};
            ck_assert_int_eq(pb_ev_encode(ev, false, false, &buf, NULL), 0);
            char want[64];
            snprintf(want, sizeof want, ",\"agent\":{\"n\":%d},\"ecs\":", round + 1);
            ck_assert_msg(memmem(buf.p, buf.len, want, strlen(want)) != NULL, "%.*s", (int)buf.len,
                          buf.p);
            pb_codec_buf_free(&buf);
        }
        pb_ev_free(ev);
        pb_ev_thaw(a);
        json_object_set_new(a, "n", json_integer(round + 2));
        pb_ev_freeze(a);
    }
    pb_ev_thaw(a);
    pb_ev_thaw(b);
    json_decref(a);
    json_decref(b);
}
END_TEST

/* The encoding and spans (pb_ev_encode_spans) of ev, where the root's
 * hints may say where @metadata and agent are, are those of the same
 * event made from its tree (no hints: found by a walk). */
static void spans_as_walked(pb_event *ev)
{
    struct pb_codec_buf a = {0}, t = {0};
    struct pb_enc_spans sa, st;
    bool exact;
    ck_assert_int_eq(pb_ev_encode_spans(ev, &a, &exact, &sa), 0);
    pb_event *copy = pb_ev_wrap(json_loadb(a.p, a.len, 0, NULL));
    ck_assert_ptr_nonnull(copy);
    ck_assert_int_eq(pb_ev_to_arena(copy), 0);
    ck_assert_int_eq(pb_ev_encode_spans(copy, &t, &exact, &st), 0);
    ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0, "%.*s\n%.*s", (int)a.len, a.p,
                  (int)t.len, t.p);
    ck_assert_uint_eq(sa.meta_at, st.meta_at);
    ck_assert_uint_eq(sa.meta_len, st.meta_len);
    ck_assert_uint_eq(sa.agent_at, st.agent_at);
    ck_assert_uint_eq(sa.agent_len, st.agent_len);
    ck_assert_uint_gt(sa.meta_len, 0);
    pb_codec_buf_free(&a);
    pb_codec_buf_free(&t);
    pb_ev_free(copy);
}

/* pb_ev_add_builtins makes what the four adds it stands for make: the same
 * encoding (a transaction's pending fields or plain members before them,
 * with and without a host name), the same tree, the same lookups and
 * hints, and the same results of later changes (host replaced by
 * add_host_metadata's rule, host.name set, agent changed); given a host
 * value, what that rule makes of the host it would add. */
START_TEST(builtins_at_once_as_four_adds)
{
    json_t *meta = json_pack("{s:s,s:s}", "beat", "packetbeat", "type", "_doc");
    json_t *agent = json_pack("{s:s}", "version", "8.17.2");
    json_t *ecs = json_pack("{s:s}", "version", "8.0.0");
    json_t *hostval = json_pack("{s:s,s:s}", "name", "vm", "id", "x");
    json_t *hostval2 = json_pack("{s:s,s:s}", "name", "vm", "id", "y");
    pb_ev_freeze(hostval2);
    pb_ev_freeze(meta);
    pb_ev_freeze(agent);
    pb_ev_freeze(ecs);
    pb_ev_freeze(hostval);
    struct pb_tuple t = pt_tuple("10.0.0.1", 1000, "10.0.0.2", 6379, PB_IPPROTO_TCP);
    struct pb_tx tx = {.type = "redis", .tuple = &t, .start_ns = 1000, .end_ns = 3000};
    for (unsigned shape = 0; shape < 4 * 2 * 6; shape++) {
        unsigned base = shape % 4, named = shape / 4 % 2, after = shape / 8;
        const char *hostname = named ? "vm-1" : NULL;
        /* two host values in turn: the encoder's runs of agent, ecs and
           host must tell them apart */
        const json_t *given = named ? hostval2 : hostval;
        pb_event *ev[2];
        for (int k = 0; k < 2; k++) {
            ev[k] = base & 1 ? pb_tx_event(&tx) : pb_ev_new();
            pb_node *root = pb_ev_obj(ev[k], "");
            if (base & 2) {
                pb_node_add_static(root, PB_KEY("method"), "GET");
            }
            if (k == 0) {
                /* after 5: host given at once */
                ck_assert_int_eq(pb_ev_add_builtins(ev[k], meta, agent, ecs, hostname,
                                                    hostname != NULL ? strlen(hostname) : 0,
                                                    after == 5 ? given : NULL),
                                 0);
            } else {
                pb_node_add_frozen(root, PB_KEY("@metadata"), meta);
                pb_node_add_frozen(root, PB_KEY("agent"), agent);
                pb_node_add_frozen(root, PB_KEY("ecs"), ecs);
                pb_node_add_static(pb_node_add_obj(root, PB_KEY("host")), PB_KEY("name"), hostname);
                if (after == 5) {
                    ck_assert_int_eq(pb_ev_frozen_if_bare(ev[k], PB_KEY("host"), true, given), 1);
                }
            }
            ck_assert_ptr_eq(pb_ev_frozen_member(ev[k], PB_KEY("@metadata")), meta);
            ck_assert_ptr_eq(pb_ev_frozen_member(ev[k], PB_KEY("agent")), agent);
            switch (after) {
            case 1:
                ck_assert_int_eq(pb_ev_frozen_if_bare(ev[k], PB_KEY("host"), true, hostval), 1);
                break;
            case 2:
                pb_ev_put_str(ev[k], "host.name", "other");
                break;
            case 3:
                pb_ev_put_str(ev[k], "agent.name", "a");
                ck_assert_ptr_null(pb_ev_frozen_member(ev[k], PB_KEY("agent")));
                break;
            case 4:
                pb_ev_put_str(ev[k], "tags", "t");
                ck_assert_str_eq(pb_ev_get_str(ev[k], "ecs.version", NULL), "8.0.0");
                break;
            default:
                break;
            }
            long want = after == 1 || after == 5 ? 2 : (named || after == 2) ? 1 : 0;
            ck_assert_int_eq(pb_ev_obj_size(ev[k], "host"), want);
        }
        encode_eq(ev[0], ev[1]);
        spans_as_walked(ev[0]);
        spans_as_walked(ev[1]);
        assert_encodes_as_tree(ev[0]);
        encode_eq(ev[0], ev[1]);
        pb_ev_free(ev[0]);
        pb_ev_free(ev[1]);
    }
    pb_ev_thaw(meta);
    pb_ev_thaw(agent);
    pb_ev_thaw(ecs);
    pb_ev_thaw(hostval);
    pb_ev_thaw(hostval2);
    json_decref(hostval2);
    json_decref(meta);
    json_decref(agent);
    json_decref(ecs);
    json_decref(hostval);
}
END_TEST

/* pb_ev_frozen_member finds the shared template a root member holds, by
 * its hint or by a walk, and nothing once the member changed; a
 * transaction's @timestamp is read without building its other pending
 * fields. */
START_TEST(frozen_members_and_pending_timestamp)
{
    json_t *meta = json_pack("{s:s}", "beat", "packetbeat");
    json_t *agent = json_pack("{s:s}", "version", "8.17.2");
    pb_ev_freeze(meta);
    pb_ev_freeze(agent);
    struct pb_tuple t = pt_tuple("10.0.0.1", 1000, "10.0.0.2", 6379, PB_IPPROTO_TCP);
    struct pb_tx tx = {.type = "redis",
                       .tuple = &t,
                       .start_ns = 1424218386000000000ull,
                       .end_ns = 1424218386018341000ull,
                       .status = "OK"};
    pb_event *ev = pb_tx_event(&tx);
    pb_node *root = pb_ev_obj(ev, "");
    pb_node_add_frozen(root, PB_KEY("@metadata"), meta);
    pb_node_add_frozen(root, PB_KEY("agent"), agent);
    ck_assert_ptr_eq(pb_ev_frozen_member(ev, "@metadata", 9), meta);
    ck_assert_ptr_eq(pb_ev_frozen_member(ev, "agent", 5), agent);
    ck_assert_ptr_null(pb_ev_frozen_member(ev, "type", 4)); /* pending, not frozen */

    json_t *ts = pb_ev_get_timestamp(ev);
    ck_assert_str_eq(json_string_value(ts), "2015-02-18T00:13:06.000Z");
    json_decref(ts);
    /* still pending: the encoder writes them straight */
    ck_assert_ptr_nonnull(ev->pops);
    json_t *ts2 = pb_ev_get_json(ev, "@timestamp"); /* this lookup builds them */
    ck_assert_ptr_null(ev->pops);
    ck_assert_str_eq(json_string_value(ts2), "2015-02-18T00:13:06.000Z");
    json_decref(ts2);
    ts = pb_ev_get_timestamp(ev); /* and now reads the member */
    ck_assert_str_eq(json_string_value(ts), "2015-02-18T00:13:06.000Z");
    json_decref(ts);

    /* an edit elsewhere outdates the hints: found by the walk */
    pb_ev_put_str(ev, "event.kind", "changed");
    ck_assert_ptr_eq(pb_ev_frozen_member(ev, "agent", 5), agent);
    /* the member itself changed or gone: nothing */
    pb_ev_put_str(ev, "agent.version", "9");
    ck_assert_ptr_null(pb_ev_frozen_member(ev, "agent", 5));
    ck_assert(pb_ev_del(ev, "@metadata"));
    ck_assert_ptr_null(pb_ev_frozen_member(ev, "@metadata", 9));
    /* a tree has none */
    json_t *tree = pb_ev_json(ev);
    ck_assert_ptr_nonnull(tree);
    ck_assert_ptr_null(pb_ev_frozen_member(ev, "agent", 5));
    pb_ev_free(ev);
    pb_ev_thaw(meta);
    pb_ev_thaw(agent);
    json_decref(meta);
    json_decref(agent);
}
END_TEST

/* The literal-key setters (pb_node_*_k) give what the others give: a key
 * set again keeps its place, a missing one is appended, a value that needs
 * escaping is escaped. */
START_TEST(literal_key_setters)
{
    json_t *frozen = json_pack("{s:s}", "f", "rozen");
    pb_ev_freeze(frozen);
    pb_event *a = pb_ev_new(), *b = pb_ev_new();
    for (int i = 0; i < 2; i++) {
        pb_event *ev = i == 0 ? a : b;
        pb_node *root = pb_ev_obj(ev, "");
        pb_node_set_str(root, "first", "x");
        pb_node_set_str(pb_node_obj(root, "ecs"), "other", "y");
        pb_node_set_int(root, "host", 5);
        pb_node_set_str(root, "last", "z");
        pb_node_arr(root, "arr");
    }
    pb_node *ra = pb_ev_obj(a, ""), *rb = pb_ev_obj(b, "");
    pb_node *ecs = pb_node_obj(ra, "ecs");
    ck_assert_ptr_eq(pb_node_obj_k(rb, PB_KEY("ecs")), pb_node_obj_k(rb, PB_KEY("ecs")));
    pb_node_set_str(ecs, "version", "8.0.0");
    pb_node_set_static_k(pb_node_obj_k(rb, PB_KEY("ecs")), PB_KEY("version"), "8.0.0");
    pb_node_set_str(ecs, "other", "q\"uote\xc3\xa9");
    pb_node_set_static_k(pb_node_obj_k(rb, PB_KEY("ecs")), PB_KEY("other"), "q\"uote\xc3\xa9");
    pb_node_set_str(pb_node_obj(ra, "host"), "name", "h");
    pb_node_set_static_k(pb_node_obj_k(rb, PB_KEY("host")), PB_KEY("name"), "h");
    pb_node_set_str(pb_node_obj(ra, "new"), "k", "v");
    pb_node_set_str_k(pb_node_obj_k(rb, PB_KEY("new")), PB_KEY("k"), "v");
    pb_node_set_frozen(ra, "first", frozen);
    pb_node_set_frozen_k(rb, PB_KEY("first"), frozen);
    pb_node_set_frozen(ra, "agent", frozen);
    pb_node_set_frozen_k(rb, PB_KEY("agent"), frozen);
    pb_node_set_str(pb_node_arr(ra, "arr"), NULL, "e");
    pb_node_set_static_k(pb_node_arr(rb, "arr"), PB_KEY("ignored"), "e");
    ck_assert_int_eq(pb_node_set_static_k(rb, PB_KEY("none"), NULL), 0);
    encode_eq(a, b);
    ck_assert_str_eq(pb_ev_get_str(b, "ecs.version", NULL), "8.0.0");
    /* the tree form too */
    json_t *ta = pb_ev_json(a), *tb = pb_ev_json(b);
    ck_assert(json_equal(ta, tb));
    pb_ev_free(a);
    pb_ev_free(b);
    pb_ev_thaw(frozen);
    json_decref(frozen);
}
END_TEST

/* pb_ev_path2 answers as pb_ev_has_p, and its object is where the path
 * leads: for each shape of root the path "a.b" can meet. */
START_TEST(path2_agrees_with_lookup)
{
    struct pb_path p;
    pb_path_init(&p, "a.b");
    const char *shapes[] = {"{}",
                            "{\"x\":1}",
                            "{\"a\":{}}",
                            "{\"a\":{\"c\":1}}",
                            "{\"a\":{\"b\":null}}",
                            "{\"a.b\":1}",
                            "{\"a.b\":1,\"a\":{}}",
                            "{\"a\":3}",
                            "{\"a\":[1]}",
                            "{\"a\":{\"b.c\":1}}"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        pb_event *ev = pb_ev_wrap(json_loads(shapes[i], 0, NULL));
        ck_assert_ptr_nonnull(ev);
        ck_assert_int_eq(pb_ev_to_arena(ev), 0);
        bool has = pb_ev_has_p(ev, &p);
        pb_node *o = (pb_node *)&o;
        int st = pb_ev_path2(ev, &p, &o);
        ck_assert_msg(st < 0 || (st == 1) == has, "%s: %d", shapes[i], st);
        if (st == 0 && o != NULL) {
            ck_assert_int_eq(pb_node_set_int(o, "b", 7), 0);
            int64_t v = 0;
            ck_assert(pb_ev_get_int(ev, "a.b", &v) && v == 7);
        } else if (st != 0) {
            ck_assert_ptr_null(o);
        }
        /* the shapes the finalizer meets are answered here */
        ck_assert_int_ge(st, i == 7 || i == 8 ? -1 : 0);
        pb_ev_free(ev);
    }
    /* a tree, and paths of another shape, are left to pb_ev_has_p */
    pb_event *ev = pb_ev_wrap(json_loads("{\"a\":{\"b\":1}}", 0, NULL));
    pb_node *o = NULL;
    ck_assert_int_eq(pb_ev_path2(ev, &p, &o), -1);
    ck_assert_int_eq(pb_ev_to_arena(ev), 0);
    ck_assert_int_eq(pb_ev_path2(ev, &p, &o), 1);
    struct pb_path q;
    pb_path_init(&q, "a");
    ck_assert_int_eq(pb_ev_path2(ev, &q, &o), -1);
    pb_ev_free(ev);
}
END_TEST

/* add_host_metadata's one-walk rule against the general lookups it
 * replaces (obj_size of host, has host.name), on every shape of host. */
START_TEST(frozen_if_bare_agrees_with_lookups)
{
    json_t *val = json_pack("{s:s,s:s}", "name", "vm", "id", "x");
    struct pb_path size_p, name_p;
    pb_path_init(&size_p, "host");
    pb_path_init(&name_p, "host.name");
    /* tail: another member after host (host is not the root's last) */
    for (int shape = 0; shape < 22; shape++) {
        for (int name_ok = 0; name_ok < 2; name_ok++) {
            bool tail = shape >= 11;
            pb_event *ev = pb_ev_new();
            pb_node *root = pb_ev_obj(ev, "");
            pb_node_set_str(root, "a", "b");
            switch (shape % 11) {
            case 0: /* no host */
                break;
            case 1:
                pb_node_obj(root, "host");
                break;
            case 2:
                pb_node_set_str(pb_node_obj(root, "host"), "name", "n");
                break;
            case 3:
                pb_node_set_str(pb_node_obj(root, "host"), "other", "n");
                break;
            case 4:
                pb_node_set_str(pb_node_obj(root, "host"), "other", "n");
                pb_node_set_str(root, "host.name", "literal");
                break;
            case 5: {
                pb_node *h = pb_node_obj(root, "host");
                pb_node_set_str(h, "name", "n");
                pb_node_set_str(h, "ip", "1.2.3.4");
                break;
            }
            case 6:
                pb_node_set_int(root, "host", 7);
                break;
            case 7:
                pb_node_set_str(root, "host.name", "only literal");
                break;
            case 8:
                pb_node_arr(root, "host");
                break;
            case 9: /* one member, kept as text: not a name */
                pb_node_add_raw(pb_node_obj(root, "host"), PB_KEY("os"), "{\"a\":1}", 7);
                break;
            default: /* one member, kept as text, at name */
                pb_node_add_raw(pb_node_obj(root, "host"), PB_KEY("name"), "{\"a\":1}", 7);
                break;
            }
            if (tail) {
                pb_node_set_str(root, "z", "y");
            }
            long n = pb_ev_obj_size_p(ev, &size_p);
            bool want = n <= 0 || (n == 1 && name_ok && pb_ev_has_p(ev, &name_p));
            int rc = pb_ev_frozen_if_bare(ev, PB_KEY("host"), name_ok, val);
            ck_assert_msg(rc == (want ? 1 : 0), "shape %d name_ok %d: rc %d", shape, name_ok, rc);
            if (rc == 1) {
                json_t *tree = pb_ev_json(ev);
                ck_assert(json_equal(json_object_get(tree, "host"), val));
            }
            pb_ev_free(ev);
        }
    }
    /* a jansson value at host, a tree event: the caller decides */
    pb_event *ev = pb_ev_new();
    pb_node_set(pb_ev_obj(ev, ""), "host", json_pack("{}"));
    ck_assert_int_eq(pb_ev_frozen_if_bare(ev, PB_KEY("host"), true, val), -1);
    ck_assert_ptr_nonnull(pb_ev_json(ev));
    ck_assert_int_eq(pb_ev_frozen_if_bare(ev, PB_KEY("host"), true, val), -1);
    pb_ev_free(ev);
    json_decref(val);
}
END_TEST

/* related.ip: each address once, whatever put the ones already there,
 * in the arena and on a tree alike; NULL and "" skipped. */
START_TEST(related_ips_added_once)
{
    for (int tree = 0; tree < 2; tree++) {
        pb_event *ev = pb_ev_new();
        pb_ev_add_unique(ev, "related.ip", "10.0.0.1", 8);
        pb_ev_add_unique(ev, "related.ip", "10.0.0.2", 8);
        if (tree) {
            ck_assert_ptr_nonnull(pb_ev_json(ev));
        }
        const char *ips[] = {"10.0.0.3", "10.0.0.1", NULL, "", "10.0.0.3", "10.0.0.2", "::1"};
        ck_assert_int_eq(pb_ev_add_related_ips(ev, ips, sizeof ips / sizeof ips[0]), 0);
        ck_assert_int_eq(pb_ev_add_related_ip(ev, "::1"), 0);
        struct pb_codec_buf b = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
        ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
        ck_assert_str_eq(b.p,
                         "{\"related\":{\"ip\":[\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\",\"::1\"]}}");
        pb_codec_buf_free(&b);
        pb_ev_free(ev);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("event");
    tcase_add_test(tc, community_id_matches_packetbeat);
    tcase_add_test(tc, related_ips_added_once);
    tcase_add_test(tc, tx_fields_written_as_built);
    tcase_add_test(tc, event_blocks_reused_empty_and_counted);
    tcase_add_test(tc, tx_fields_built_when_looked_at);
    tcase_add_test(tc, arena_put_get_del);
    tcase_add_test(tc, arena_encoding_equals_tree);
    tcase_add_test(tc, arena_shared_json_copied_on_write);
    tcase_add_test(tc, community_id_icmp_pairs);
    tcase_add_test(tc, community_id_from_key_any_tuple);
    tcase_add_test(tc, community_id_ahead_as_computed);
    tcase_add_test(tc, community_id_cache_never_mixes_connections);
    tcase_add_test(tc, ipv4_text_like_inet_ntop);
    tcase_add_test(tc, dotted_put_get_del);
    tcase_add_test(tc, invalid_utf8_is_replaced);
    tcase_add_test(tc, time_formats);
    tcase_add_test(tc, tx_event_common_fields);
    tcase_add_test(tc, cached_encodings_follow_changes);
    tcase_add_test(tc, container_builders_fall_back);
    tcase_add_test(tc, tx_event_times);
    tcase_add_test(tc, plain_checks_at_every_place);
    tcase_add_test(tc, paths_agree_with_jansson);
    tcase_add_test(tc, parse_ip_follows_changes);
    tcase_add_test(tc, literal_key_setters);
    tcase_add_test(tc, frozen_members_written_from_cache);
    tcase_add_test(tc, frozen_runs_as_members);
    tcase_add_test(tc, frozen_runs_follow_thaw);
    tcase_add_test(tc, frozen_runs_keys_by_bytes);
    tcase_add_test(tc, frozen_members_and_pending_timestamp);
    tcase_add_test(tc, builtins_at_once_as_four_adds);
    tcase_add_test(tc, frozen_if_bare_agrees_with_lookups);
    tcase_add_test(tc, path2_agrees_with_lookup);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
