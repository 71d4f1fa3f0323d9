/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_client.c - what the pipeline client adds to every event
 * (beat/client.c): network.direction, also after source.ip changed since
 * the event was built, ecs.version, host.name, and the global processors
 * (the shipped chain) on events in their arena.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beat/cfg.h"
#include "beat/client.h"
#include "beat/event.h"
#include "beat/net.h"
#include "beat/processors.h"
#include "publisher/codec.h"
#include "tests/support/ptrun.h"
#include "tests/support/ptutil.h"

static char errbuf[1024];
static struct pb_cfg *cfg;
static struct pb_beat_info info = {.beat = "packetbeat",
                                   .version = "8.17.2",
                                   .hostname = "test-host",
                                   .name = "test-agent",
                                   .ephemeral_id = "e",
                                   .agent_id = "a"};

static struct pb_client *client_of(const char *yaml)
{
    cfg = pb_cfg_parse(yaml, strlen(yaml), "test.yml", errbuf, sizeof errbuf);
    ck_assert_msg(cfg != NULL, "yaml: %s", errbuf);
    struct pb_client *c = pb_client_new(cfg, &info, errbuf, sizeof errbuf);
    ck_assert_msg(c != NULL, "client: %s", errbuf);
    return c;
}

static void client_free(struct pb_client *c)
{
    pb_client_free(c);
    pb_cfg_free(cfg);
    cfg = NULL;
}

static struct pb_tuple tuple(const char *s, const char *d)
{
    return pt_tuple(s, 40000, d, 53, PB_IPPROTO_UDP);
}

static pb_event *tx_event(const struct pb_tuple *t, const char *type)
{
    struct pb_tx tx = {.type = type, .tuple = t, .start_ns = 1424218386000000000ull};
    pb_event *ev = pb_tx_event(&tx);
    ck_assert_ptr_nonnull(ev);
    return ev;
}

/* network.direction of ev once finalised (ev is freed). */
static char *direction_of(struct pb_client *c, pb_event *ev)
{
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_ptr_nonnull(ev);
    const char *d = pb_ev_get_str(ev, "network.direction", NULL);
    char *out = strdup(d != NULL ? d : "(none)");
    pb_ev_free(ev);
    return out;
}

#define ck_direction(c, ev, want)                                                                  \
    do {                                                                                           \
        char *got_ = direction_of((c), (ev));                                                      \
        ck_assert_msg(strcmp(got_, (want)) == 0, "direction %s, want %s", got_, (want));           \
        free(got_);                                                                                \
    } while (0)

/* The direction follows the addresses the event holds when it is
 * finalised, whoever changed them after pb_tx_event. */
START_TEST(direction_follows_source_ip)
{
    struct pb_client *c = client_of("packetbeat.interfaces.internal_networks: [private]\n");
    struct pb_tuple t = tuple("10.0.0.1", "8.8.8.8");
    ck_direction(c, tx_event(&t, "dns"), "outbound");

    pb_event *ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "source.ip", "127.0.0.1");
    ck_direction(c, ev, "egress");

    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "destination.ip", "10.9.9.9");
    ck_direction(c, ev, "internal");

    /* through a tree and back into the arena (as after a processor
       without an arena form): the arena's memory is used again */
    ev = tx_event(&t, "dns");
    json_t *tree = pb_ev_json(ev);
    ck_assert_ptr_nonnull(tree);
    pb_json_put_str(tree, "source.ip", "8.8.4.4");
    ck_direction(c, ev, "external");

    ev = tx_event(&t, "dns");
    tree = pb_ev_json(ev);
    pb_json_put_str(tree, "source.ip", "10.0.0.7");
    pb_json_put_str(tree, "destination.ip", "127.0.0.1");
    ck_assert_int_eq(pb_ev_to_arena(ev), 0);
    ck_direction(c, ev, "ingress");

    /* a root key "source.ip" (found before source, then ip), the source
       object replaced, or removed: each seen */
    ev = tx_event(&t, "dns");
    pb_node_set_str(pb_ev_obj(ev, ""), "source.ip", "127.0.0.1");
    ck_direction(c, ev, "egress");
    ev = tx_event(&t, "dns");
    pb_node_set_str(pb_node_obj(pb_ev_obj(ev, ""), "destination"), "ip", "10.9.9.9");
    ck_direction(c, ev, "internal");
    ev = tx_event(&t, "dns");
    pb_node_set_int(pb_ev_obj(ev, ""), "source", 1);
    pb_ev_put_str(ev, "source.ip", "127.0.0.1");
    ck_direction(c, ev, "egress");
    ev = tx_event(&t, "dns");
    ck_assert(pb_ev_del(ev, "destination.ip"));
    ck_direction(c, ev, "unknown");

    /* a source that is no address: decided by the destination */
    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "source.ip", "nope");
    ck_direction(c, ev, "unknown");

    struct pb_tuple t6 = tuple("fd00::1", "2001:db8::1");
    ck_direction(c, tx_event(&t6, "dns"), "outbound");
    ev = tx_event(&t6, "dns");
    pb_ev_put_str(ev, "destination.ip", "fe80::1");
    ck_direction(c, ev, "ingress");

    /* one set already stays */
    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "network.direction", "mine");
    ck_direction(c, ev, "mine");
    /* also as a key with a dot */
    ev = tx_event(&t, "dns");
    pb_node_set_str(pb_ev_obj(ev, ""), "network.direction", "literal");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "network.direction", NULL), "literal");
    json_t *j = pb_ev_json(ev);
    ck_assert_ptr_null(json_object_get(json_object_get(j, "network"), "direction"));
    pb_ev_free(ev);

    /* an event built by hand, with no noted addresses */
    ev = pb_ev_new();
    pb_ev_put_str(ev, "source.ip", "8.8.8.8");
    pb_ev_put_str(ev, "destination.ip", "192.168.1.1");
    pb_ev_put_str(ev, "network.type", "ipv4");
    ck_direction(c, ev, "inbound");
    client_free(c);
}
END_TEST

/* ecs.version and host.name are added when missing, kept when there. */
START_TEST(ecs_and_host_defaults)
{
    struct pb_client *c = client_of("name: x\n");
    struct pb_tuple t = tuple("10.0.0.1", "8.8.8.8");
    pb_event *ev = pb_client_finalize(c, tx_event(&t, "dns"), NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "ecs.version", NULL), "8.0.0");
    ck_assert_str_eq(pb_ev_get_str(ev, "host.name", NULL), "test-host");
    ck_assert_str_eq(pb_ev_get_str(ev, "agent.name", NULL), "test-agent");
    ck_assert_str_eq(pb_ev_get_str(ev, "@metadata.beat", NULL), "packetbeat");
    json_t *j = pb_ev_json(ev);
    /* the order libbeat gives: ecs and host after agent, last */
    const char *last[3] = {NULL, NULL, NULL};
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        last[0] = last[1];
        last[1] = last[2];
        last[2] = k;
    }
    ck_assert_str_eq(last[0], "agent");
    ck_assert_str_eq(last[1], "ecs");
    ck_assert_str_eq(last[2], "host");
    pb_ev_free(ev);

    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "ecs.version", "1.0");
    pb_ev_put_str(ev, "ecs.other", "o");
    pb_ev_put_str(ev, "host.name", "given");
    pb_ev_put_str(ev, "host.ip", "1.1.1.1");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "ecs.version", NULL), "1.0");
    ck_assert_str_eq(pb_ev_get_str(ev, "host.name", NULL), "given");
    ck_assert_int_eq(pb_ev_obj_size(ev, "host"), 2);
    pb_ev_free(ev);

    /* an ecs object without a version gets one, in the object's place */
    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "ecs.other", "o");
    pb_ev_put_str(ev, "host", "not an object");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "ecs.version", NULL), "8.0.0");
    ck_assert_int_eq(pb_ev_obj_size(ev, "ecs"), 2);
    ck_assert_str_eq(pb_ev_get_str(ev, "host.name", NULL), "test-host");
    pb_ev_free(ev);

    /* literal dotted keys count as there; each missing one alone is added */
    ev = tx_event(&t, "dns");
    pb_node_set_str(pb_ev_obj(ev, ""), "ecs.version", "2.0");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "ecs.version", NULL), "2.0");
    ck_assert_int_eq(pb_ev_obj_size(ev, "ecs"), -1);
    ck_assert_str_eq(pb_ev_get_str(ev, "host.name", NULL), "test-host");
    pb_ev_free(ev);
    ev = tx_event(&t, "dns");
    pb_ev_put_str(ev, "agent.name", "mine");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "agent.name", NULL), "mine");
    ck_assert_str_eq(pb_ev_get_str(ev, "ecs.version", NULL), "8.0.0");
    ck_assert_str_eq(pb_ev_get_str(ev, "@metadata.beat", NULL), "packetbeat");
    pb_ev_free(ev);
    client_free(c);
}
END_TEST

/* A host name that is not plain text (quotes, backslashes, control
 * bytes) is escaped in the output, whether host is new or was there. */
START_TEST(host_name_escaped)
{
    static const char odd[] = "h\"o\\st\x01";
    struct pb_beat_info oinfo = info;
    oinfo.hostname = odd;
    cfg = pb_cfg_parse("name: x\n", 8, "test.yml", errbuf, sizeof errbuf);
    ck_assert_ptr_nonnull(cfg);
    struct pb_client *c = pb_client_new(cfg, &oinfo, errbuf, sizeof errbuf);
    ck_assert_msg(c != NULL, "client: %s", errbuf);
    struct pb_tuple t = tuple("10.0.0.1", "8.8.8.8");
    for (int given = 0; given < 2; given++) {
        pb_event *ev = tx_event(&t, "dns");
        if (given) {
            pb_ev_put_str(ev, "host.ip", "192.0.2.1");
        }
        ev = pb_client_finalize(c, ev, NULL);
        ck_assert_str_eq(pb_ev_get_str(ev, "host.name", NULL), odd);
        struct pb_codec_buf b = {0};
        ck_assert_int_eq(pb_ev_encode(ev, false, false, &b, NULL), 0);
        ck_assert_int_eq(pb_codec_buf_append(&b, "", 1), 0);
        ck_assert_msg(strstr(b.p, "\"name\":\"h\\\"o\\\\st\\u0001\"}") != NULL, "%s", b.p);
        pb_codec_buf_free(&b);
        pt_arena_encodes_as_tree(ev);
        pb_ev_free(ev);
    }
    client_free(c);
}
END_TEST

/* The shipped processors on events in their arena: the host object of
 * add_host_metadata unless forwarded, and detect_mime_type on HTTP bodies
 * given as plain keys, as keys with dots, or not at all. */
START_TEST(shipped_processors)
{
    struct pb_client *c = client_of("processors:\n"
                                    "  - if.contains.tags: forwarded\n"
                                    "    then:\n"
                                    "      - drop_fields:\n"
                                    "          fields: [host]\n"
                                    "    else:\n"
                                    "      - add_host_metadata: ~\n"
                                    "  - add_cloud_metadata: ~\n"
                                    "  - add_docker_metadata: ~\n"
                                    "  - detect_mime_type:\n"
                                    "      field: http.request.body.content\n"
                                    "      target: http.request.mime_type\n"
                                    "  - detect_mime_type:\n"
                                    "      field: http.response.body.content\n"
                                    "      target: http.response.mime_type\n");
    static const char html[] = "<html><body>hello</body></html>";
    static const char pdf[] = "%PDF-1.4 ...";
    const char *want_html = pb_mime_detect((const unsigned char *)html, strlen(html));
    ck_assert_ptr_nonnull(want_html);
    struct pb_tuple t = tuple("10.0.0.1", "8.8.8.8");

    pb_event *ev = tx_event(&t, "http");
    pb_ev_put_str(ev, "http.request.body.content", html);
    pb_ev_put_str(ev, "http.response.body.content", pdf);
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_ptr_nonnull(ev);
    ck_assert_str_eq(pb_ev_get_str(ev, "http.request.mime_type", NULL), want_html);
    ck_assert_str_eq(pb_ev_get_str(ev, "http.response.mime_type", NULL), "application/pdf");
    ck_assert_ptr_nonnull(pb_ev_get_str(ev, "host.hostname", NULL));
    ck_assert(!pb_ev_is_tree(ev));
    pb_ev_free(ev);

    /* the body under a key with a dot */
    ev = tx_event(&t, "http");
    pb_node_set_str(pb_ev_obj(ev, "http"), "request.body.content", html);
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "http.request.mime_type", NULL), want_html);
    ck_assert(!pb_ev_has(ev, "http.response.mime_type"));
    pb_ev_free(ev);

    /* a type set already stays; no body, no type */
    ev = tx_event(&t, "http");
    pb_ev_put_str(ev, "http.request.body.content", html);
    pb_ev_put_str(ev, "http.request.mime_type", "given");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert_str_eq(pb_ev_get_str(ev, "http.request.mime_type", NULL), "given");
    ck_assert(!pb_ev_has(ev, "http.response.mime_type"));
    pb_ev_free(ev);

    ev = tx_event(&t, "dns");
    pb_node_set_str(pb_ev_arr(ev, "tags"), NULL, "forwarded");
    ev = pb_client_finalize(c, ev, NULL);
    ck_assert(!pb_ev_has(ev, "host"));
    ck_assert(!pb_ev_has(ev, "http"));
    pb_ev_free(ev);
    client_free(c);
}
END_TEST

/* The usual event gets the host the global processors would give it with
 * the other builtins (their only change to it, known ahead): the same
 * event as running them, which a chain that also drops a field no event
 * has still does. On events with tags (forwarded or not, from the event,
 * the global section or a protocol's processors), fields under the root,
 * a host or agent of their own, an HTTP body, a protocol's processors
 * that drop host (the global ones then add it again). Fails when the host
 * is given to an event the processors treat otherwise. */
START_TEST(host_given_as_processors_give_it)
{
    static const char chain[] = "processors:\n"
                                "  - if.contains.tags: forwarded\n"
                                "    then:\n"
                                "      - drop_fields:\n"
                                "          fields: [host]\n"
                                "    else:\n"
                                "      - add_host_metadata: ~\n"
                                "  - add_cloud_metadata: ~\n"
                                "  - detect_mime_type:\n"
                                "      field: http.request.body.content\n"
                                "      target: http.request.mime_type\n";
    static const char *const prefixes[] = {
        "",
        "tags: [forwarded]\n",
        "tags: [other]\n",
        "fields: {a: 1}\nfields_under_root: true\n",
        "packetbeat.protocols:\n  - type: dns\n    processors:\n"
        "      - add_tags: {tags: [forwarded]}\n",
        "packetbeat.protocols:\n  - type: dns\n    tags: [forwarded]\n",
        "packetbeat.protocols:\n  - type: dns\n    processors:\n"
        "      - drop_fields: {fields: [host]}\n",
    };
    struct pb_tuple t = tuple("10.0.0.1", "8.8.8.8");
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        struct pb_cfg *cf[2];
        struct pb_client *c[2];
        for (int k = 0; k < 2; k++) {
            char yaml[1024];
            snprintf(yaml, sizeof yaml, "%s%s%s", prefixes[p], chain,
                     k == 1 ? "  - drop_fields: {fields: [zz_none]}\n" : "");
            cf[k] = pb_cfg_parse(yaml, strlen(yaml), "test.yml", errbuf, sizeof errbuf);
            ck_assert_msg(cf[k] != NULL, "yaml: %s", errbuf);
            c[k] = pb_client_new(cf[k], &info, errbuf, sizeof errbuf);
            ck_assert_msg(c[k] != NULL, "client: %s", errbuf);
        }
        for (int shape = 0; shape < 6; shape++) {
            struct pb_codec_buf b[2] = {{0}, {0}};
            for (int k = 0; k < 2; k++) {
                pb_event *ev = tx_event(&t, "dns");
                if (shape == 1) {
                    pb_node_set_str(pb_ev_arr(ev, "tags"), NULL, "forwarded");
                } else if (shape == 2) {
                    pb_ev_put_str(ev, "host.ip", "192.0.2.1");
                } else if (shape == 3) {
                    pb_ev_put_str(ev, "agent.name", "mine");
                } else if (shape == 4) {
                    pb_ev_put_str(ev, "http.request.body.content", "<html>x</html>");
                } else if (shape == 5) {
                    pb_ev_free(ev);
                    ev = pb_ev_new();
                    pb_node_add_static(pb_ev_obj(ev, ""), PB_KEY("method"), "GET");
                }
                const struct pb_cfg *sec = pb_cfg_at(pb_cfg_get(cf[k], "packetbeat.protocols"), 0);
                ev = pb_client_finalize(c[k], ev, sec);
                ck_assert_ptr_nonnull(ev);
                ck_assert_int_eq(pb_ev_encode(ev, false, false, &b[k], NULL), 0);
                pb_ev_free(ev);
            }
            ck_assert_msg(b[0].len == b[1].len && memcmp(b[0].p, b[1].p, b[0].len) == 0,
                          "prefix %zu shape %d:\n%.*s\n%.*s", p, shape, (int)b[0].len, b[0].p,
                          (int)b[1].len, b[1].p);
            pb_codec_buf_free(&b[0]);
            pb_codec_buf_free(&b[1]);
        }
        for (int k = 0; k < 2; k++) {
            pb_client_free(c[k]);
            pb_cfg_free(cf[k]);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("client");
    tcase_add_test(tc, direction_follows_source_ip);
    tcase_add_test(tc, ecs_and_host_defaults);
    tcase_add_test(tc, host_name_escaped);
    tcase_add_test(tc, shipped_processors);
    tcase_add_test(tc, host_given_as_processors_give_it);
    suite_add_tcase(s, tc);
    int failed = pt_run_suite(s);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
