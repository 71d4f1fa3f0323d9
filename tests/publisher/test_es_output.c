/* SPDX-License-Identifier: Apache-2.0
 * tests/publisher/test_es_output.c - the pure parts of output.elasticsearch:
 * the _bulk body (action lines, documents without @metadata, create for
 * data streams, pipelines, ids), the _bulk answer parser (good, partial and
 * malformed answers), item classification, index format strings and rules,
 * host URLs.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/net.h"
#include "publisher/codec.h"
#include "publisher/outputs/elasticsearch/es.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

static json_t *event(void)
{
    json_error_t je;
    json_t *ev = json_loads("{\"@timestamp\":\"2024-03-05T10:11:12.123Z\","
                            "\"@metadata\":{\"beat\":\"packetbeat\",\"type\":\"_doc\","
                            "\"version\":\"8.17.2\"},"
                            "\"type\":\"http\",\"agent\":{\"version\":\"8.17.2\"},"
                            "\"url\":{\"path\":\"/a<b>\"}}",
                            0, &je);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

static struct es_sel *sel(const char *yaml, const char *key, const char *multi, const char *def)
{
    char err[256] = "";
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct es_sel *s = es_sel_new(c, key, multi, def, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    pb_cfg_free(c);
    return s;
}

static char *body_of(const json_t *ev, struct es_sel *idx, struct es_sel *pipe, int major,
                     int minor, bool html)
{
    struct es_item_meta m;
    char err[256];
    struct pb_codec_buf b = {0};
    ck_assert_int_eq(es_item_meta_of(ev, idx, pipe, major, minor, &m, err, sizeof err), 0);
    ck_assert_int_eq(es_bulk_append(&b, &m, NULL, ev, html), 0);
    es_item_meta_clear(&m);
    ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
    return b.p;
}

START_TEST(bulk_create_for_data_stream)
{
    json_t *ev = event();
    struct es_sel *idx = sel("{}", "index", "indices", "packetbeat-%{[agent.version]}");
    char *body = body_of(ev, idx, NULL, 8, 17, false);
    ck_assert_str_eq(body, "{\"create\":{\"_index\":\"packetbeat-8.17.2\"}}\n"
                           "{\"@timestamp\":\"2024-03-05T10:11:12.123Z\",\"type\":\"http\","
                           "\"agent\":{\"version\":\"8.17.2\"},\"url\":{\"path\":\"/a<b>\"}}\n");
    pb_free(body);
    /* escape_html */
    body = body_of(ev, idx, NULL, 8, 17, true);
    ck_assert_ptr_nonnull(strstr(body, "\"/a\\u003cb\\u003e\""));
    pb_free(body);
    /* before 7.5 without an _id: index */
    body = body_of(ev, idx, NULL, 7, 4, false);
    ck_assert_int_eq(strncmp(body, "{\"index\":{\"_index\":\"packetbeat-8.17.2\"}}\n", 40), 0);
    pb_free(body);
    es_sel_free(idx);
    json_decref(ev);
}
END_TEST

START_TEST(bulk_metadata_overrides)
{
    json_t *ev = event();
    json_t *meta = json_object_get(ev, "@metadata");
    json_object_set_new(meta, "index", json_string("Custom-Idx"));
    json_object_set_new(meta, "pipeline", json_string("My-Pipe"));
    json_object_set_new(meta, "_id", json_string("abc"));
    json_object_set_new(meta, "op_type", json_string("index"));
    struct es_sel *idx = sel("{}", "index", "indices", "packetbeat-%{[agent.version]}");
    char *body = body_of(ev, idx, NULL, 8, 17, false);
    ck_assert_int_eq(
        strncmp(
            body,
            "{\"index\":{\"_index\":\"custom-idx\",\"pipeline\":\"my-pipe\",\"_id\":\"abc\"}}\n",
            67),
        0);
    pb_free(body);
    /* a delete has no document line */
    json_object_set_new(meta, "op_type", json_string("delete"));
    body = body_of(ev, idx, NULL, 8, 17, false);
    ck_assert_str_eq(body, "{\"delete\":{\"_index\":\"custom-idx\",\"pipeline\":\"my-pipe\","
                           "\"_id\":\"abc\"}}\n");
    pb_free(body);
    /* a pipeline that is no string is an error */
    json_object_set_new(meta, "pipeline", json_integer(3));
    struct es_item_meta m;
    char err[256];
    ck_assert_int_ne(es_item_meta_of(ev, idx, NULL, 8, 17, &m, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "pipeline metadata is no string"));
    es_sel_free(idx);
    json_decref(ev);
}
END_TEST

START_TEST(selectors_and_rules)
{
    json_t *ev = event();
    struct es_sel *idx = sel("index: \"pb-%{[agent.version]}-%{+yyyy.MM.dd}\"\n"
                             "indices:\n"
                             "  - index: \"HTTP-%{[type]}\"\n"
                             "    when.equals: {type: http}\n"
                             "  - index: \"never\"\n",
                             "index", "indices", NULL);
    char err[256];
    char *name = es_sel_select(idx, ev, err, sizeof err);
    ck_assert_str_eq(name, "http-http");
    pb_free(name);
    json_object_set_new(ev, "type", json_string("dns"));
    name = es_sel_select(idx, ev, err, sizeof err);
    ck_assert_str_eq(name, "never");
    pb_free(name);
    es_sel_free(idx);

    idx = sel("index: \"pb-%{[agent.version]}-%{+yyyy.MM.dd}\"\n", "index", "indices", NULL);
    name = es_sel_select(idx, ev, err, sizeof err);
    ck_assert_str_eq(name, "pb-8.17.2-2024.03.05");
    pb_free(name);
    es_sel_free(idx);

    /* missing field: error; with a default: the default */
    idx = sel("index: \"x-%{[nope]}\"\n", "index", "indices", NULL);
    ck_assert_ptr_null(es_sel_select(idx, ev, err, sizeof err));
    ck_assert_str_eq(err, "key not found");
    es_sel_free(idx);
    idx = sel("index: \"x-%{[nope]:dflt}\"\n", "index", "indices", NULL);
    name = es_sel_select(idx, ev, err, sizeof err);
    ck_assert_str_eq(name, "x-dflt");
    pb_free(name);
    es_sel_free(idx);

    /* mappings */
    struct es_sel *p = sel("pipelines:\n"
                           "  - pipeline: \"%{[type]}\"\n"
                           "    mappings: {dns: dns-pipe}\n"
                           "    default: other\n",
                           "pipeline", "pipelines", NULL);
    name = es_sel_select(p, ev, err, sizeof err);
    ck_assert_str_eq(name, "dns-pipe");
    pb_free(name);
    json_object_set_new(ev, "type", json_string("tls"));
    name = es_sel_select(p, ev, err, sizeof err);
    ck_assert_str_eq(name, "other");
    pb_free(name);
    es_sel_free(p);
    json_decref(ev);
}
END_TEST

START_TEST(parse_good_answer)
{
    static const char ans[] =
        "{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},"
        "{\"create\":{\"status\":429,\"error\":{\"type\":\"es_rejected_execution_exception\"}}},"
        "{\"create\":{\"status\":400,\"error\":{\"type\":\"document_parsing_exception\"}}},"
        "{\"create\":{\"status\":409,\"error\":{}}},{\"index\":{\"status\":503}},"
        "{\"create\":{\"error\":\"x\",\"status\":200}}]}";
    int st[6];
    char *msg[6];
    char err[256];
    ck_assert_int_eq(es_bulk_parse(ans, strlen(ans), 6, st, msg, err, sizeof err), 6);
    ck_assert_int_eq(st[0], 201);
    ck_assert_int_eq(st[1], 429);
    ck_assert_int_eq(st[2], 400);
    ck_assert_int_eq(st[3], 409);
    ck_assert_int_eq(st[4], 503);
    ck_assert_int_eq(st[5], 200);
    ck_assert_ptr_null(msg[0]);
    ck_assert_str_eq(msg[2], "{\"type\":\"document_parsing_exception\"}");
    ck_assert_int_eq(es_item_classify(st[0]), ES_ITEM_ACK);
    ck_assert_int_eq(es_item_classify(st[1]), ES_ITEM_RETRY);
    ck_assert_int_eq(es_item_classify(st[2]), ES_ITEM_FATAL);
    ck_assert_int_eq(es_item_classify(st[3]), ES_ITEM_DUP);
    ck_assert_int_eq(es_item_classify(st[4]), ES_ITEM_RETRY);
    ck_assert_int_eq(es_item_classify(0), ES_ITEM_RETRY);
    ck_assert_int_eq(es_item_classify(404), ES_ITEM_FATAL);
    for (int i = 0; i < 6; i++) {
        pb_free(msg[i]);
    }
}
END_TEST

/* The usual answer (every item a plain status) is read without a tree:
   the same statuses and counts as the tree parser, whitespace or not, and
   answers of another shape still read in full. */
START_TEST(parse_plain_answers_as_the_tree_parser)
{
    static const struct {
        const char *ans;
        size_t n;
        int got;
        int st[3];
    } cases[] = {
        {"{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"index\":{\"status\":200}},"
         "{\"create\":{\"status\":409}}]}",
         3,
         3,
         {201, 200, 409}},
        {"{ \"errors\" : false ,\n\"items\": [ {\"create\": {\"status\": 429} } ,"
         "{\"create\":{\"status\":201}}] } trailing",
         3,
         2,
         {429, 201, 0}},
        {"{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"status\":201}},"
         "{\"create\":{\"status\":503}}]}",
         2,
         2,
         {201, 201, 0}},
        /* not the plain shape: an error object, a status that is no
           three-digit integer, another key */
        {"{\"errors\":true,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"status\":400,"
         "\"error\":{\"type\":\"x\"}}}]}",
         2,
         2,
         {201, 400, 0}},
        {"{\"errors\":false,\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"status\":2010}}"
         "]}",
         2,
         1,
         {201, 0, 0}},
        {"{\"errors\":false,\"items\":[{\"create\":{\"status\":201.0}}]}", 1, 0, {0, 0, 0}},
        {"{\"errors\":false,\"items\":[]}", 2, 0, {0, 0, 0}},
        {"{\"errors\":false,\"items\":[{\"create\":{\"status\":201}}],\"x\":1}", 1, 1, {201, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st[3] = {7, 7, 7}, tst[3] = {7, 7, 7};
        char err[256];
        const char *a = cases[i].ans;
        int got = es_bulk_parse(a, strlen(a), cases[i].n, st, NULL, err, sizeof err);
        int tgot = es_bulk_parse_tree(a, strlen(a), cases[i].n, tst, NULL, err, sizeof err);
        ck_assert_msg(got == cases[i].got && tgot == got, "case %zu: %d and %d items", i, got,
                      tgot);
        for (size_t k = 0; k < cases[i].n; k++) {
            ck_assert_msg(st[k] == cases[i].st[k] && tst[k] == st[k], "case %zu item %zu: %d, %d",
                          i, k, st[k], tst[k]);
        }
    }
}
END_TEST

START_TEST(parse_malformed_answers)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"errors\":false}",
        "{\"errors\":false,\"items\":{}}",
        "{\"errors\":false,\"items\":[{\"create\":",
    };
    int st[3];
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st[0] = st[1] = st[2] = 7;
        ck_assert_int_eq(es_bulk_parse(bad[i], strlen(bad[i]), 3, st, NULL, err, sizeof err),
                         -PB_EPROTO);
        ck_assert_int_eq(st[0], 0);
        ck_assert_int_eq(st[2], 0);
    }
    ck_assert_int_eq(es_bulk_parse(NULL, 0, 3, st, NULL, err, sizeof err), -PB_EPROTO);
    /* too few items: the rest stays 0 (retried) */
    static const char shortans[] = "{\"items\":[{\"create\":{\"status\":201}}]}";
    ck_assert_int_eq(es_bulk_parse(shortans, strlen(shortans), 3, st, NULL, err, sizeof err), 1);
    ck_assert_int_eq(st[0], 201);
    ck_assert_int_eq(st[1], 0);
    /* a broken item stops the reading there */
    static const char broken[] =
        "{\"items\":[{\"create\":{\"status\":201}},{\"create\":{\"nostatus\":1}},"
        "{\"create\":{\"status\":201}}]}";
    ck_assert_int_eq(es_bulk_parse(broken, strlen(broken), 3, st, NULL, err, sizeof err), 1);
    ck_assert_int_eq(st[1], 0);
    ck_assert_int_eq(st[2], 0);
    static const char twokeys[] =
        "{\"items\":[{\"create\":{\"status\":201},\"index\":{\"status\":201}}]}";
    ck_assert_int_eq(es_bulk_parse(twokeys, strlen(twokeys), 1, st, NULL, err, sizeof err), 0);
    static const char badstatus[] = "{\"items\":[{\"create\":{\"status\":\"201\"}}]}";
    ck_assert_int_eq(es_bulk_parse(badstatus, strlen(badstatus), 1, st, NULL, err, sizeof err), 0);
    ck_assert_int_eq(st[0], 0);
}
END_TEST

START_TEST(dead_letter_document)
{
    json_t *ev = event();
    char *doc = es_dead_letter_doc(ev, 400, "{\"type\":\"x\"}", false);
    ck_assert_ptr_nonnull(doc);
    json_error_t je;
    json_t *d = json_loads(doc, 0, &je);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(json_string_value(json_object_get(d, "@timestamp")),
                     "2024-03-05T10:11:12.123Z");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "error.type")), 400);
    ck_assert_str_eq(json_string_value(json_object_get(d, "error.message")), "{\"type\":\"x\"}");
    const char *m = json_string_value(json_object_get(d, "message"));
    ck_assert_ptr_nonnull(strstr(m, "\"type\":\"http\""));
    ck_assert_ptr_null(strstr(m, "@metadata"));
    ck_assert_int_eq(strncmp(doc, "{\"@timestamp\":", 14), 0);
    json_decref(d);
    pb_free(doc);
    json_decref(ev);
}
END_TEST

START_TEST(host_urls)
{
    char err[256];
    char *u, *p;
    char *url = es_make_url("localhost", NULL, NULL, &u, &p, err, sizeof err);
    ck_assert_str_eq(url, "http://localhost:9200");
    ck_assert_ptr_null(u);
    pb_free(url);
    url = es_make_url("es.example:9201", "https", "/es/", &u, &p, err, sizeof err);
    ck_assert_str_eq(url, "https://es.example:9201/es");
    pb_free(url);
    url = es_make_url("http://user:p%40ss@127.0.0.1/sub", NULL, "pre", &u, &p, err, sizeof err);
    ck_assert_str_eq(url, "http://127.0.0.1:9200/pre/sub");
    ck_assert_str_eq(u, "user");
    ck_assert_str_eq(p, "p@ss");
    pb_free(url);
    pb_free(u);
    pb_free(p);
    url = es_make_url("::1", NULL, NULL, &u, &p, err, sizeof err);
    ck_assert_str_eq(url, "http://[::1]:9200");
    pb_free(url);
    ck_assert_ptr_null(es_make_url("ftp://x", NULL, NULL, &u, &p, err, sizeof err));
    ck_assert_ptr_null(es_make_url("x:port", NULL, NULL, &u, &p, err, sizeof err));
    ck_assert_ptr_null(es_make_url("", NULL, NULL, &u, &p, err, sizeof err));
}
END_TEST

/* An event still in its arena (the usual case: the queue holds it there
 * for this output) gives the bulk body the tree gives, with and without
 * escape_html; the default index reads only agent.version. */
START_TEST(bulk_from_arena_equals_tree)
{
    struct es_sel *def = sel("{}", "index", "indices", "packetbeat-%{[agent.version]}");
    struct es_sel *field = sel("{index: 'x-%{[type]}'}", "index", "indices", NULL);
    struct es_sel *rules =
        sel("{indices: [{index: 'a', when.equals.type: http}]}", "index", "indices", NULL);
    ck_assert(!es_sel_reads_fields(def));
    ck_assert(es_sel_reads_fields(field));
    ck_assert(es_sel_reads_fields(rules));
    for (int html = 0; html <= 1; html++) {
        json_t *tree = event();
        json_object_set_new(tree, "q", json_string("<a href=\"x\">\u00e9</a>"));
        pb_event *ev = pb_ev_wrap(json_deep_copy(tree));
        ck_assert_int_eq(pb_ev_to_arena(ev), 0);
        struct es_item_meta m;
        char err[256];
        ck_assert_int_eq(es_item_meta_of(tree, def, NULL, 8, 17, &m, err, sizeof err), 0);
        struct pb_codec_buf a = {0}, t = {0};
        ck_assert_int_eq(es_bulk_append_ev(&a, &m, NULL, ev, html), 0);
        ck_assert_int_eq(es_bulk_append(&t, &m, NULL, tree, html), 0);
        ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0, "%.*s\n%.*s", (int)a.len, a.p,
                      (int)t.len, t.p);
        ck_assert_ptr_null(memmem(a.p, a.len, "@metadata", 9));
        es_item_meta_clear(&m);
        pb_codec_buf_free(&a);
        pb_codec_buf_free(&t);
        pb_ev_free(ev);
        json_decref(tree);
    }
    es_sel_free(def);
    es_sel_free(field);
    es_sel_free(rules);
}
END_TEST

/* The encoding the queue holds (pb_ev_encode_spans) less its @metadata
 * span is the document the arena gives, byte for byte: for a transaction
 * (pending fields, templates), an event with @timestamp, and one without
 * (then @metadata comes first and the comma after it goes). The agent span
 * is that member with its comma. */
START_TEST(bulk_from_encoding_equals_arena)
{
    json_t *meta =
        json_pack("{s:s,s:s,s:s}", "beat", "packetbeat", "type", "_doc", "version", "8.17.2");
    json_t *agent = json_pack("{s:s,s:s}", "type", "packetbeat", "version", "8.17.2");
    pb_ev_freeze(meta);
    pb_ev_freeze(agent);
    struct pb_tuple t = pt_tuple("10.0.0.1", 1000, "10.0.0.2", 6379, PB_IPPROTO_TCP);
    struct pb_tx tx = {.type = "redis",
                       .tuple = &t,
                       .start_ns = 1424218386000000000ull,
                       .end_ns = 1424218386018341000ull,
                       .status = "OK",
                       .src_bytes = 10,
                       .dst_bytes = 20};
    struct es_item_meta m = {.op = ES_OP_CREATE, .index = "packetbeat-8.17.2"};
    for (int shape = 0; shape < 3; shape++) {
        pb_event *ev;
        if (shape == 0) {
            ev = pb_tx_event(&tx);
            pb_node *root = pb_ev_obj(ev, "");
            pb_node_add_frozen(root, PB_KEY("@metadata"), meta);
            ck_assert_int_eq(pb_node_add_str(root, PB_KEY("method"), "GET \"x\""), 0);
            pb_node_add_frozen(root, PB_KEY("agent"), agent);
            ck_assert_int_eq(pb_node_add_str(root, PB_KEY("z"), "last"), 0);
        } else {
            json_t *tree = event();
            if (shape == 2) {
                json_object_del(tree, "@timestamp");
            }
            ev = pb_ev_wrap(tree);
            ck_assert_int_eq(pb_ev_to_arena(ev), 0);
        }
        struct pb_codec_buf js = {0}, cut = {0}, doc = {0};
        struct pb_enc_spans sp;
        bool exact = false;
        ck_assert_int_eq(pb_ev_encode_spans(ev, &js, &exact, &sp), 0);
        ck_assert(exact);
        ck_assert_uint_gt(sp.meta_len, 0);
        ck_assert_uint_gt(sp.agent_len, 0);
        const char *mtext = shape == 2 ? "\"@metadata\":{" : ",\"@metadata\":{";
        ck_assert_msg(strncmp(js.p + sp.meta_at, mtext, strlen(mtext)) == 0, "%.*s", (int)js.len,
                      js.p);
        ck_assert_int_eq(js.p[sp.meta_at + sp.meta_len - 1], '}');
        ck_assert(strncmp(js.p + sp.agent_at, ",\"agent\":{", 10) == 0);
        ck_assert_int_eq(js.p[sp.agent_at + sp.agent_len - 1], '}');
        ck_assert_int_eq(es_bulk_append_cut(&cut, &m, NULL, js.p, js.len, sp.meta_at, sp.meta_len),
                         0);
        ck_assert_int_eq(es_bulk_append_ev(&doc, &m, NULL, ev, false), 0);
        ck_assert_msg(cut.len == doc.len && memcmp(cut.p, doc.p, cut.len) == 0, "%.*s\n%.*s",
                      (int)cut.len, cut.p, (int)doc.len, doc.p);
        ck_assert_ptr_null(memmem(cut.p, cut.len, "@metadata", 9));
        pb_codec_buf_free(&js);
        pb_codec_buf_free(&cut);
        pb_codec_buf_free(&doc);
        pb_ev_free(ev);
    }
    pb_ev_thaw(meta);
    pb_ev_thaw(agent);
    json_decref(meta);
    json_decref(agent);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("es_output");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bulk_create_for_data_stream);
    tcase_add_test(tc, bulk_from_arena_equals_tree);
    tcase_add_test(tc, bulk_from_encoding_equals_arena);
    tcase_add_test(tc, bulk_metadata_overrides);
    tcase_add_test(tc, selectors_and_rules);
    tcase_add_test(tc, parse_good_answer);
    tcase_add_test(tc, parse_plain_answers_as_the_tree_parser);
    tcase_add_test(tc, parse_malformed_answers);
    tcase_add_test(tc, dead_letter_document);
    tcase_add_test(tc, host_urls);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
