/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_processors.c - libbeat processors and conditions on
 * events (beat/processors*.c, beat/condition.c): each processor's effect,
 * its error behaviour, conditions (RE2 regexps, named networks), if/then/
 * else, and the error for an unknown processor.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/processors.h"
#include "publisher/codec.h"
#include "tests/support/ptrun.h"

static char errbuf[2048];

/* The processors of `yaml` (a document with a `processors:` list). */
static struct pb_processors *procs_of(const char *yaml)
{
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test.yml", errbuf, sizeof errbuf);
    ck_assert_msg(c != NULL, "yaml: %s", errbuf);
    errbuf[0] = '\0';
    struct pb_processors *ps =
        pb_processors_new(pb_cfg_get(c, "processors"), errbuf, sizeof errbuf);
    pb_cfg_free(c);
    return ps;
}

/* pb_processors_run on a jansson event (NULL: dropped). */
static json_t *run_tree(struct pb_processors *ps, json_t *ev)
{
    return pb_ev_take(pb_processors_run(ps, pb_ev_wrap(ev)));
}

/* Runs the processors on the JSON event; returns the result (NULL dropped). */
static json_t *run(const char *yaml, const char *event)
{
    struct pb_processors *ps = procs_of(yaml);
    ck_assert_msg(ps != NULL, "processors: %s", errbuf);
    json_error_t je;
    json_t *ev = json_loads(event, 0, &je);
    ck_assert_msg(ev != NULL, "event json: %s", je.text);
    ev = run_tree(ps, ev);
    pb_processors_free(ps);
    return ev;
}

static const char *str_at(const json_t *ev, const char *path)
{
    json_t *v = pb_json_get(ev, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

#define ck_str_at(ev, path, want)                                                                  \
    do {                                                                                           \
        const char *got_ = str_at((ev), (path));                                                   \
        ck_assert_msg(got_ != NULL && strcmp(got_, (want)) == 0, "%s: got '%s', want '%s'",        \
                      (path), got_ ? got_ : "(null)", (want));                                     \
    } while (0)

/* The two events encode to the same bytes (chain c, event e for the
 * message); both are freed. */
static void assert_same_encoding(pb_event *arena, pb_event *tree, size_t c, size_t e)
{
    struct pb_codec_buf a = {0}, t = {0};
    ck_assert_int_eq(pb_ev_encode(arena, false, false, &a, NULL), 0);
    ck_assert_int_eq(pb_ev_encode(tree, false, false, &t, NULL), 0);
    ck_assert_msg(a.len == t.len && memcmp(a.p, t.p, a.len) == 0,
                  "chain %zu event %zu:\n%.*s\n%.*s", c, e, (int)a.len, a.p, (int)t.len, t.p);
    pb_codec_buf_free(&a);
    pb_codec_buf_free(&t);
    pb_ev_free(tree);
    pb_ev_free(arena);
}

static void assert_fails(const char *yaml, const char *needle)
{
    struct pb_processors *ps = procs_of(yaml);
    ck_assert_msg(ps == NULL, "config accepted: %s", yaml);
    ck_assert_msg(strstr(errbuf, needle) != NULL, "error '%s' lacks '%s'", errbuf, needle);
}

START_TEST(unknown_processor_named)
{
    assert_fails("processors:\n  - no_such_thing: {}\n",
                 "the processor action no_such_thing does not exist");
    ck_assert_ptr_nonnull(strstr(errbuf, "dissect"));
}
END_TEST

START_TEST(conditions_regexp_re2_and_network)
{
    json_t *ev = run("processors:\n"
                     "  - add_tags:\n"
                     "      tags: [digits]\n"
                     "      when.regexp.url.path: '^/api/v\\d+/'\n"
                     "  - add_tags:\n"
                     "      tags: [ci]\n"
                     "      when.regexp.method: '(?i)^get$'\n"
                     "  - add_tags:\n"
                     "      tags: [priv]\n"
                     "      when.network.source.ip: [private]\n"
                     "  - add_tags:\n"
                     "      tags: [pub]\n"
                     "      when.network.destination.ip: public\n"
                     "  - add_tags:\n"
                     "      tags: [lo]\n"
                     "      when.network.destination.ip: [loopback, '10.0.0.0/8']\n",
                     "{\"url\":{\"path\":\"/api/v12/x\"},\"method\":\"Get\","
                     "\"source\":{\"ip\":\"192.168.1.5\"},\"destination\":{\"ip\":\"8.8.8.8\"}}");
    json_t *tags = json_object_get(ev, "tags");
    ck_assert_int_eq(json_array_size(tags), 4);
    ck_assert_str_eq(json_string_value(json_array_get(tags, 0)), "digits");
    ck_assert_str_eq(json_string_value(json_array_get(tags, 1)), "ci");
    ck_assert_str_eq(json_string_value(json_array_get(tags, 2)), "priv");
    ck_assert_str_eq(json_string_value(json_array_get(tags, 3)), "pub");
    json_decref(ev);
}
END_TEST

START_TEST(if_then_else)
{
    const char *y = "processors:\n"
                    "  - if:\n"
                    "      equals.status: OK\n"
                    "    then:\n"
                    "      - add_fields: {target: '', fields: {branch: then}}\n"
                    "    else:\n"
                    "      - add_fields: {target: '', fields: {branch: else}}\n";
    json_t *ev = run(y, "{\"status\":\"OK\"}");
    ck_str_at(ev, "branch", "then");
    json_decref(ev);
    ev = run(y, "{\"status\":\"Error\"}");
    ck_str_at(ev, "branch", "else");
    json_decref(ev);
}
END_TEST

START_TEST(host_metadata_when_not_forwarded)
{
    const char *y = "processors:\n"
                    "  - add_host_metadata:\n"
                    "      when.not.contains.tags: forwarded\n";
    json_t *ev = run(y, "{\"tags\":[\"x\"]}");
    ck_assert_ptr_nonnull(str_at(ev, "host.hostname"));
    ck_assert_ptr_nonnull(str_at(ev, "host.os.kernel"));
    json_decref(ev);
    ev = run(y, "{\"tags\":[\"forwarded\"]}");
    ck_assert_ptr_null(pb_json_get(ev, "host"));
    json_decref(ev);
}
END_TEST

/* With nothing after it that can change host (the shipped chain), every
   event gets the same host object; with anything that can, each its own
   copy, and a change to one event's host never shows in another's. */
START_TEST(host_metadata_shared_only_when_final)
{
    const char *shipped = "processors:\n"
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
    struct pb_processors *ps = procs_of(shipped);
    ck_assert_msg(ps != NULL, "%s", errbuf);
    pb_processors_mark_last(ps);
    json_t *a = run_tree(ps, json_pack("{s:{s:s}}", "host", "name", "pipeline-name"));
    json_t *b = run_tree(ps, json_object());
    ck_assert_ptr_nonnull(str_at(a, "host.os.kernel"));
    ck_assert_ptr_eq(json_object_get(a, "host"), json_object_get(b, "host"));
    /* the name is add_host_metadata's, as a merge would give */
    ck_assert_str_eq(str_at(a, "host.name"), str_at(b, "host.name"));
    /* an event with more host fields than the name is merged, not shared */
    json_t *c = run_tree(ps, json_pack("{s:{s:s,s:s}}", "host", "name", "n", "x", "y"));
    ck_assert_ptr_ne(json_object_get(c, "host"), json_object_get(a, "host"));
    ck_str_at(c, "host.x", "y");
    ck_assert_ptr_nonnull(str_at(c, "host.os.kernel"));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    pb_processors_free(ps);

    const char *later = "processors:\n"
                        "  - add_host_metadata: ~\n"
                        "  - if.equals.type: http\n"
                        "    then:\n"
                        "      - add_fields:\n"
                        "          target: host\n"
                        "          fields: {role: web}\n";
    ps = procs_of(later);
    ck_assert_msg(ps != NULL, "%s", errbuf);
    pb_processors_mark_last(ps);
    a = run_tree(ps, json_pack("{s:s}", "type", "http"));
    b = run_tree(ps, json_pack("{s:s}", "type", "dns"));
    ck_assert_ptr_ne(json_object_get(a, "host"), json_object_get(b, "host"));
    ck_str_at(a, "host.role", "web");
    ck_assert_ptr_null(pb_json_get(b, "host.role"));
    json_decref(a);
    json_decref(b);
    pb_processors_free(ps);
}
END_TEST

/* Which top-level values a chain may change in place (what decides that
   events can share the agent, @metadata and host objects). */
START_TEST(keep_analysis)
{
    struct pb_processors *ps = procs_of("processors:\n"
                                        "  - if.contains.tags: forwarded\n"
                                        "    then:\n"
                                        "      - drop_fields: {fields: [host]}\n"
                                        "    else:\n"
                                        "      - add_host_metadata: ~\n"
                                        "  - add_docker_metadata: ~\n"
                                        "  - detect_mime_type: {field: a.b, target: http.m}\n");
    ck_assert_msg(ps != NULL, "%s", errbuf);
    ck_assert(pb_processors_keep(ps, "agent"));
    ck_assert(pb_processors_keep(ps, "@metadata"));
    ck_assert(!pb_processors_keep(ps, "host"));
    ck_assert(!pb_processors_keep(ps, "http"));
    pb_processors_free(ps);
    ps = procs_of("processors:\n  - drop_fields: {fields: [agent]}\n");
    ck_assert(pb_processors_keep(ps, "agent")); /* taken out whole, not changed */
    pb_processors_free(ps);
    ps = procs_of("processors:\n  - drop_fields: {fields: [agent.name, x]}\n");
    ck_assert(!pb_processors_keep(ps, "agent"));
    ck_assert(pb_processors_keep(ps, "agents"));
    pb_processors_free(ps);
    ps = procs_of("processors:\n  - add_fields: {target: '', fields: {a: 1}}\n");
    ck_assert(!pb_processors_keep(ps, "agent")); /* unknown effects: assumed to change */
    pb_processors_free(ps);
    ck_assert(pb_processors_keep(NULL, "agent"));
}
END_TEST

START_TEST(cloud_docker_pass_cleanly)
{
    json_t *ev =
        run("processors:\n  - add_cloud_metadata: ~\n  - add_docker_metadata: ~\n", "{\"a\":1}");
    ck_assert_int_eq(json_object_size(ev), 1);
    json_decref(ev);
}
END_TEST

START_TEST(locale_and_observer)
{
    json_t *ev = run("processors:\n  - add_locale: ~\n  - add_observer_metadata: "
                     "{netinfo.enabled: false}\n",
                     "{}");
    const char *tz = str_at(ev, "event.timezone");
    ck_assert_ptr_nonnull(tz);
    ck_assert(tz[0] == '+' || tz[0] == '-');
    ck_assert_int_eq(strlen(tz), 6);
    ck_assert_ptr_nonnull(str_at(ev, "observer.hostname"));
    ck_assert_ptr_null(pb_json_get(ev, "observer.ip"));
    json_decref(ev);
}
END_TEST

START_TEST(add_id_unique)
{
    struct pb_processors *ps = procs_of("processors:\n  - add_id: ~\n");
    ck_assert_ptr_nonnull(ps);
    json_t *a = run_tree(ps, json_object());
    json_t *b = run_tree(ps, json_object());
    const char *ia = str_at(a, "@metadata._id"), *ib = str_at(b, "@metadata._id");
    ck_assert_ptr_nonnull(ia);
    ck_assert_int_eq(strlen(ia), 20);
    ck_assert_str_ne(ia, ib);
    json_decref(a);
    json_decref(b);
    pb_processors_free(ps);
}
END_TEST

START_TEST(network_direction)
{
    const char *y = "processors:\n"
                    "  - add_network_direction:\n"
                    "      source: source.ip\n"
                    "      destination: destination.ip\n"
                    "      target: network.direction\n"
                    "      internal_networks: [private, loopback]\n";
    static const struct {
        const char *s, *d, *want;
    } cases[] = {{"10.1.1.1", "192.168.0.1", "internal"},
                 {"10.1.1.1", "8.8.8.8", "outbound"},
                 {"8.8.8.8", "127.0.0.1", "inbound"},
                 {"8.8.8.8", "1.1.1.1", "external"}};
    for (size_t i = 0; i < 4; i++) {
        char ev[256];
        snprintf(ev, sizeof ev, "{\"source\":{\"ip\":\"%s\"},\"destination\":{\"ip\":\"%s\"}}",
                 cases[i].s, cases[i].d);
        json_t *out = run(y, ev);
        ck_str_at(out, "network.direction", cases[i].want);
        json_decref(out);
    }
    assert_fails("processors:\n  - add_network_direction: {source: a, destination: b, target: "
                 "c}\n",
                 "internal_networks");
}
END_TEST

START_TEST(process_metadata_self)
{
    char ev[128];
    snprintf(ev, sizeof ev, "{\"p\":%ld}", (long)getpid());
    json_t *out = run("processors:\n  - add_process_metadata:\n      match_pids: [p]\n", ev);
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "process.pid")), getpid());
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "process.parent.pid")), getppid());
    ck_assert_ptr_nonnull(str_at(out, "process.executable"));
    ck_assert_ptr_nonnull(str_at(out, "process.name"));
    ck_assert(json_is_array(pb_json_get(out, "process.args")));
    json_decref(out);
}
END_TEST

START_TEST(community_id_tcp)
{
    /* the spec's example: 128.232.110.120:34855 -> 66.35.250.204:80 TCP */
    json_t *out = run("processors:\n  - community_id: ~\n",
                      "{\"source\":{\"ip\":\"128.232.110.120\",\"port\":34855},"
                      "\"destination\":{\"ip\":\"66.35.250.204\",\"port\":80},"
                      "\"network\":{\"transport\":\"tcp\"}}");
    ck_str_at(out, "network.community_id", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    json_decref(out);
}
END_TEST

START_TEST(convert_types_and_errors)
{
    json_t *out = run("processors:\n"
                      "  - convert:\n"
                      "      fields:\n"
                      "        - {from: a, to: num, type: integer}\n"
                      "        - {from: b, type: boolean}\n"
                      "        - {from: c, to: s, type: string}\n"
                      "        - {from: d, type: float}\n"
                      "      mode: copy\n",
                      "{\"a\":\"42\",\"b\":\"true\",\"c\":7,\"d\":\"1.5\"}");
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "num")), 42);
    ck_assert_str_eq(str_at(out, "a"), "42");
    ck_assert(json_is_true(pb_json_get(out, "b")));
    ck_str_at(out, "s", "7");
    ck_assert(json_real_value(pb_json_get(out, "d")) == 1.5);
    json_decref(out);
    out = run("processors:\n  - convert:\n      fields: [{from: a, to: x, type: integer}, {from: "
              "b, to: y, type: ip}]\n      tag: conv_fail\n",
              "{\"a\":\"1\",\"b\":\"nope\"}");
    ck_assert_ptr_null(pb_json_get(out, "x")); /* reverted */
    ck_assert_ptr_nonnull(strstr(str_at(out, "error.message"), "nope"));
    ck_assert_str_eq(json_string_value(json_array_get(pb_json_get(out, "tags"), 0)), "conv_fail");
    json_decref(out);
}
END_TEST

START_TEST(decode_base64)
{
    json_t *out = run("processors:\n  - decode_base64_field: {field: {from: a, to: b}}\n",
                      "{\"a\":\"aGVsbG8gd29ybGQ=\"}");
    ck_str_at(out, "b", "hello world");
    json_decref(out);
    out = run("processors:\n  - decode_base64_field: {field: {from: a}}\n", "{\"a\":\"!!\"}");
    ck_str_at(out, "a", "!!");
    ck_assert_ptr_nonnull(strstr(str_at(out, "error.message"), "illegal base64 data"));
    json_decref(out);
}
END_TEST

START_TEST(decode_json)
{
    json_t *out = run("processors:\n  - decode_json_fields: {fields: [m], target: ''}\n",
                      "{\"m\":\"{\\\"a\\\":1,\\\"b\\\":{\\\"c\\\":\\\"d\\\"}}\",\"a\":0}");
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "a")), 0); /* no overwrite */
    ck_str_at(out, "b.c", "d");
    json_decref(out);
    out = run("processors:\n  - decode_json_fields: {fields: [m], max_depth: 2}\n",
              "{\"m\":\"{\\\"x\\\":\\\"{\\\\\\\"y\\\\\\\":2}\\\"}\"}");
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "m.x.y")), 2);
    json_decref(out);
    out = run("processors:\n  - decode_json_fields: {fields: [m], target: t, add_error_key: "
              "true}\n",
              "{\"m\":\"{bad\"}");
    ck_assert_ptr_nonnull(str_at(out, "error.message"));
    ck_assert_ptr_null(pb_json_get(out, "t"));
    json_decref(out);
}
END_TEST

START_TEST(dissect_tokenizer)
{
    json_t *out = run("processors:\n  - dissect:\n      tokenizer: '%{ip} - %{user} [%{+ts} "
                      "%{+ts}] %{code|integer} %{?skip} %{rest}'\n      field: msg\n",
                      "{\"msg\":\"1.2.3.4 - bob [10/Oct 13:55] 200 junk the rest\"}");
    ck_str_at(out, "dissect.ip", "1.2.3.4");
    ck_str_at(out, "dissect.user", "bob");
    ck_str_at(out, "dissect.ts", "10/Oct 13:55");
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "dissect.code")), 200);
    ck_str_at(out, "dissect.rest", "the rest");
    ck_assert_ptr_null(pb_json_get(out, "dissect.skip"));
    json_decref(out);
    out = run("processors:\n  - dissect: {tokenizer: '%{a->} %{b}', field: m, target_prefix: "
              "''}\n",
              "{\"m\":\"x     y\"}");
    ck_str_at(out, "a", "x");
    ck_str_at(out, "b", "y");
    json_decref(out);
    out = run("processors:\n  - dissect: {tokenizer: '%{a}|%{b}', field: m}\n", "{\"m\":\"nope\"}");
    ck_assert_str_eq(json_string_value(json_array_get(pb_json_get(out, "log.flags"), 0)),
                     "dissect_parsing_error");
    json_decref(out);
}
END_TEST

START_TEST(fingerprint_sha256_and_xxhash)
{
    /* sha256("|a|1|b|x|") */
    json_t *out = run("processors:\n  - fingerprint: {fields: [b, a]}\n", "{\"a\":1,\"b\":\"x\"}");
    ck_str_at(out, "fingerprint",
              "5a21083f56374ae618c500dbeebd075a79e3ff6024ff847b0899deaf151c8b91");
    json_decref(out);
    out = run("processors:\n  - fingerprint: {fields: [a], method: xxhash, target_field: h}\n",
              "{\"a\":1}");
    ck_assert_int_eq(strlen(str_at(out, "h")), 16);
    json_decref(out);
}
END_TEST

START_TEST(fingerprint_errors)
{
    json_t *out = run("processors:\n  - fingerprint: {fields: [a, zz]}\n", "{\"a\":1}");
    ck_assert_ptr_nonnull(strstr(str_at(out, "error.message"), "failed to find field [zz]"));
    json_decref(out);
    out = run("processors:\n  - fingerprint: {fields: [a, zz], ignore_missing: true, method: "
              "md5, encoding: base64}\n",
              "{\"a\":1}");
    ck_assert_int_eq(strlen(str_at(out, "fingerprint")), 24);
    json_decref(out);
    assert_fails("processors:\n  - fingerprint: {fields: [a], method: crc}\n", "method");
}
END_TEST

START_TEST(rate_limit_drops)
{
    struct pb_processors *ps = procs_of("processors:\n  - rate_limit: {limit: '3/m', fields: "
                                        "[k]}\n");
    ck_assert_ptr_nonnull(ps);
    int passed_a = 0, passed_b = 0;
    for (int i = 0; i < 10; i++) {
        json_t *ev = run_tree(ps, json_pack("{s:s}", "k", "a"));
        passed_a += ev != NULL;
        json_decref(ev);
        ev = run_tree(ps, json_pack("{s:s}", "k", "b"));
        passed_b += ev != NULL;
        json_decref(ev);
    }
    ck_assert_int_eq(passed_a, 3);
    ck_assert_int_eq(passed_b, 3);
    pb_processors_free(ps);
    assert_fails("processors:\n  - rate_limit: {limit: 'lots'}\n", "limit");
}
END_TEST

START_TEST(registered_domain_psl)
{
    json_t *out = run("processors:\n  - registered_domain:\n      field: d\n      target_field: "
                      "rd\n      target_etld_field: tld\n      target_subdomain_field: sub\n",
                      "{\"d\":\"www.foo.example.co.uk\"}");
    ck_str_at(out, "rd", "example.co.uk");
    ck_str_at(out, "tld", "co.uk");
    ck_str_at(out, "sub", "www.foo");
    json_decref(out);
}
END_TEST

START_TEST(replace_go_syntax)
{
    json_t *out = run("processors:\n  - replace:\n      fields:\n        - {field: p, pattern: "
                      "'(\\d+)-(?i:ab)', replacement: 'n$1'}\n",
                      "{\"p\":\"12-AB and 3-ab\"}");
    ck_str_at(out, "p", "n12 and n3");
    json_decref(out);
    out =
        run("processors:\n  - replace: {fields: [{field: q, pattern: a, replacement: b}]}\n", "{}");
    ck_assert_ptr_nonnull(str_at(out, "error.message"));
    json_decref(out);
}
END_TEST

START_TEST(truncate_and_urldecode)
{
    json_t *out = run("processors:\n  - truncate_fields: {fields: [m], max_characters: 3}\n"
                      "  - urldecode: {fields: [{from: u, to: v}]}\n",
                      "{\"m\":\"h\\u00e9llo\",\"u\":\"a%20b+c%2F\"}");
    ck_str_at(out, "m", "h\xc3\xa9l");
    ck_str_at(out, "v", "a b c/");
    ck_assert_str_eq(json_string_value(json_array_get(pb_json_get(out, "log.flags"), 0)),
                     "truncated");
    json_decref(out);
    out = run("processors:\n  - urldecode: {fields: [{from: u}]}\n", "{\"u\":\"%zz\"}");
    ck_assert_ptr_nonnull(strstr(str_at(out, "error.message"), "invalid URL escape"));
    json_decref(out);
}
END_TEST

START_TEST(lowercase_keys_and_values)
{
    json_t *out = run("processors:\n  - lowercase: {fields: [A.B], values: [v]}\n"
                      "  - uppercase: {values: [w]}\n",
                      "{\"A\":{\"B\":2},\"v\":\"MiXeD\",\"w\":\"up\"}");
    ck_str_at(out, "v", "mixed");
    ck_str_at(out, "w", "UP");
    ck_assert_ptr_null(json_object_get(out, "A"));
    ck_assert_int_eq(json_integer_value(pb_json_get(out, "a.b")), 2);
    json_decref(out);
    out = run("processors:\n  - uppercase: {fields: [x.y], alter_full_field: false}\n",
              "{\"x\":{\"y\":1}}");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(out, "x"), "Y")), 1);
    json_decref(out);
    out = run("processors:\n  - lowercase: {fields: [missing]}\n", "{}");
    ck_assert_ptr_nonnull(str_at(out, "error.message"));
    json_decref(out);
}
END_TEST

START_TEST(timestamp_layouts)
{
    json_t *out =
        run("processors:\n  - timestamp:\n      field: t\n      layouts:\n"
            "        - '2006-01-02T15:04:05.999Z07:00'\n"
            "        - 'Jan _2 2006 15:04:05 MST'\n      test: ['2021-03-04T05:06:07Z']\n",
            "{\"t\":\"2021-03-04T06:06:07.250+01:00\"}");
    ck_str_at(out, "@timestamp", "2021-03-04T05:06:07.250Z");
    json_decref(out);
    out = run("processors:\n  - timestamp: {field: t, layouts: ['Jan _2 2006 15:04:05'], "
              "timezone: '-02:00'}\n",
              "{\"t\":\"Mar  4 2021 05:06:07\"}");
    ck_str_at(out, "@timestamp", "2021-03-04T07:06:07.000Z");
    json_decref(out);
    out = run("processors:\n  - timestamp: {field: t, layouts: [UNIX_MS], target_field: ts}\n",
              "{\"t\":1614834367123}");
    ck_str_at(out, "ts", "2021-03-04T05:06:07.123Z");
    json_decref(out);
    out = run("processors:\n  - timestamp: {field: t, layouts: ['2006-01-02']}\n",
              "{\"t\":\"garbage\"}");
    ck_assert_ptr_nonnull(strstr(str_at(out, "error.message"), "failed parsing time field"));
    json_decref(out);
    assert_fails("processors:\n  - timestamp: {field: t, layouts: ['2006'], test: ['x']}\n",
                 "test timestamp");
}
END_TEST

START_TEST(add_fields_tags_labels_drop)
{
    json_t *out = run("processors:\n  - add_fields: {fields: {a: 1}}\n  - add_labels: {labels: "
                      "{x: {y: z}}}\n  - drop_fields: {fields: [fields]}\n",
                      "{}");
    ck_str_at(out, "labels.x.y", "z");
    ck_assert_ptr_null(pb_json_get(out, "fields"));
    json_decref(out);
    out = run("processors:\n  - drop_event: {when.has_fields: [a]}\n", "{\"a\":1}");
    ck_assert_ptr_null(out);
}
END_TEST

/* The processors with a form for events in their arena (the shipped
 * chain's) give the same event as the jansson forms. */
START_TEST(arena_and_tree_runs_agree)
{
    static const char *const chains[] = {
        "processors:\n"
        "  - if.contains.tags: forwarded\n"
        "    then:\n"
        "      - drop_fields: {fields: [host]}\n"
        "    else:\n"
        "      - add_host_metadata: ~\n"
        "  - add_cloud_metadata: ~\n"
        "  - add_docker_metadata: ~\n"
        "  - detect_mime_type: {field: http.request.body.content, target: "
        "http.request.mime_type}\n",
        "processors:\n"
        "  - drop_fields: {fields: [source.port, network, nope]}\n"
        "  - drop_event.when.equals.status: Error\n"
        "  - add_tags: {tags: [t1]}\n",
    };
    static const char *const events[] = {
        "{\"@timestamp\":\"x\",\"type\":\"http\",\"status\":\"OK\",\"host\":{\"name\":\"h\"},"
        "\"source\":{\"ip\":\"10.0.0.1\",\"port\":9},\"network\":{\"type\":\"ipv4\"},"
        "\"http\":{\"request\":{\"body\":{\"content\":\"<html><body>x</body></html>\"}}}}",
        "{\"type\":\"dns\",\"status\":\"Error\",\"tags\":[\"forwarded\"],\"host\":{\"name\":\"h\"}"
        "}",
        "{\"type\":\"dns\",\"status\":\"OK\",\"host\":{\"name\":\"h\",\"extra\":1}}",
    };
    for (size_t c = 0; c < sizeof chains / sizeof chains[0]; c++) {
        struct pb_processors *ps = procs_of(chains[c]);
        ck_assert_msg(ps != NULL, "processors: %s", errbuf);
        pb_processors_mark_last(ps);
        for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
            pb_event *tree = pb_ev_wrap(json_loads(events[e], 0, NULL));
            pb_event *arena = pb_ev_wrap(json_loads(events[e], 0, NULL));
            ck_assert_int_eq(pb_ev_to_arena(arena), 0);
            tree = pb_processors_run(ps, tree);
            arena = pb_processors_run(ps, arena);
            ck_assert_msg((tree == NULL) == (arena == NULL), "chain %zu event %zu: dropped", c, e);
            if (tree == NULL) {
                continue;
            }
            /* the usual case never becomes a tree (a host object with more
               than a name is merged in jansson) */
            ck_assert_msg(c != 0 || e == 2 || !pb_ev_is_tree(arena),
                          "chain %zu event %zu: made a tree", c, e);
            assert_same_encoding(arena, tree, c, e);
        }
        pb_processors_free(ps);
    }
}
END_TEST

/* A list that knows ahead what it does to the usual event (the fields
 * its conditions and processors read absent) gives every event what
 * running each processor gives: arena events (which take the plan when
 * they lack those fields) against their trees (which never do), on chains
 * with conditions that hold or fail without their fields, nested ones,
 * processors that act or do nothing then, and on events that have those
 * fields, under keys with dots too. Fails when the plan keeps or skips a
 * processor it should not. */
START_TEST(planned_runs_agree_with_each_step)
{
    static const struct {
        const char *yaml;
        bool planned;
    } chains[] = {
        {"processors:\n"
         "  - if.contains.tags: forwarded\n"
         "    then:\n"
         "      - drop_fields: {fields: [host]}\n"
         "    else:\n"
         "      - add_host_metadata: ~\n"
         "  - add_cloud_metadata: ~\n"
         "  - add_docker_metadata: ~\n"
         "  - detect_mime_type: {field: http.request.body.content, target: "
         "http.request.mime_type}\n"
         "  - detect_mime_type: {field: http.response.body.content, target: "
         "http.response.mime_type}\n",
         true},
        {"processors:\n  - drop_event.when.not.has_fields: [x]\n", true},
        {"processors:\n"
         "  - if: {or: [{has_fields: []}, {equals.a: 1}]}\n"
         "    then: [{add_host_metadata: ~}]\n"
         "    else: [{drop_fields: {fields: [host]}}]\n",
         true},
        {"processors:\n"
         "  - if.contains.tags: f\n"
         "    then: [{drop_event: ~}]\n"
         "  - drop_fields: {fields: [host, type, nope]}\n"
         "  - detect_mime_type: {field: body, target: mime}\n"
         "  - drop_fields.when.range.x.gte: 2\n"
         "    drop_fields.fields: [status]\n",
         true},
        {"processors:\n"
         "  - if.not.equals.status: x\n"
         "    then:\n"
         "      - if.has_fields: [tags]\n"
         "        then: [{drop_event: ~}]\n"
         "        else: [{add_host_metadata: ~}]\n"
         "  - add_cloud_metadata: ~\n",
         true},
        {"processors:\n  - add_tags: {tags: [t1]}\n  - add_host_metadata: ~\n", false},
        {"processors:\n"
         "  - add_host_metadata: ~\n"
         "  - if.has_fields: [host.name]\n"
         "    then: [{drop_event: ~}]\n",
         false},
    };
    static const char *const events[] = {
        "{\"type\":\"dns\",\"status\":\"OK\",\"host\":{\"name\":\"h\"}}",
        "{\"type\":\"dns\",\"status\":\"OK\"}",
        "{\"type\":\"dns\",\"status\":\"x\",\"host\":{\"name\":\"h\",\"extra\":1}}",
        "{\"type\":\"dns\",\"tags\":[\"forwarded\",\"f\"],\"host\":{\"name\":\"h\"}}",
        "{\"type\":\"dns\",\"tags\":[\"other\"],\"host\":{\"name\":\"h\"}}",
        "{\"type\":\"http\",\"host\":{\"name\":\"h\"},\"http\":{\"request\":{\"body\":{"
        "\"content\":\"<html><body>x</body></html>\"}}},\"body\":\"%PDF-1.4 x\"}",
        "{\"type\":\"http\",\"host\":{\"name\":\"h\"},\"http.response.body.content\":\"{}\","
        "\"tags.x\":1}",
        "{\"type\":\"a\",\"x\":3,\"a\":1,\"status\":\"x\"}",
        "{\"type\":\"a\",\"x\":1,\"a\":2,\"host\":{}}",
        "{\"host\":{\"name\":\"h\"}}",
    };
    for (size_t c = 0; c < sizeof chains / sizeof chains[0]; c++) {
        struct pb_processors *ps = procs_of(chains[c].yaml);
        ck_assert_msg(ps != NULL, "processors: %s", errbuf);
        pb_processors_mark_last(ps);
        ck_assert_msg(pb_processors_planned(ps) == chains[c].planned, "chain %zu: planned", c);
        for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
            pb_event *tree = pb_ev_wrap(json_loads(events[e], 0, NULL));
            pb_event *arena = pb_ev_wrap(json_loads(events[e], 0, NULL));
            ck_assert_ptr_nonnull(tree);
            ck_assert_int_eq(pb_ev_to_arena(arena), 0);
            tree = pb_processors_run(ps, tree);
            arena = pb_processors_run(ps, arena);
            ck_assert_msg((tree == NULL) == (arena == NULL), "chain %zu event %zu: dropped", c, e);
            if (tree == NULL) {
                continue;
            }
            assert_same_encoding(arena, tree, c, e);
        }
        pb_processors_free(ps);
    }
}
END_TEST

/* Conditions on events in their arena decide as on the jansson tree of
 * the same event: fields under keys with dots, in jansson subtrees, absent,
 * and paths of more levels than a split path holds. */
START_TEST(conditions_arena_and_tree_agree)
{
    static const char *const conds[] = {
        "c: {equals.http.request.method: GET}\n",
        "c: {has_fields: [http.response.status_code, a.b.c]}\n",
        "c: {has_fields: [http.request.body.content]}\n",
        "c: {contains.tags: forwarded}\n",
        "c: {range.http.response.status_code.gte: 200}\n",
        "c: {network.source.ip: private}\n",
        "c: {not: {equals.j.k.l: m}}\n",
        "c: {equals: {'q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.q.end': bottom}}\n",
        "c: {or: [{equals.x.y: 1}, {has_fields: ['a.b']}]}\n",
    };
    static const char *const events[] = {
        "{\"http\":{\"request.method\":\"GET\",\"response\":{\"status_code\":204}},"
        "\"a.b\":{\"c\":1},\"source\":{\"ip\":\"10.1.1.1\"},\"tags\":[\"x\",\"forwarded\"]}",
        "{\"http.request\":{\"method\":\"POST\"},\"x\":{\"y\":1},\"j\":{\"k\":{\"l\":\"m\"}}}",
        "{\"tags\":\"forwarded\",\"source.ip\":\"8.8.8.8\",\"http\":{\"request\":{\"body\":"
        "{\"content\":\"b\"}}}}",
        "{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{\"q\":{"
        "\"q\":{\"q\":{\"q\":{\"q\":"
        "{\"end\":\"bottom\"}}}}}}}}}}}}}}}}}",
    };
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        struct pb_cfg *cfg =
            pb_cfg_parse(conds[c], strlen(conds[c]), "t.yml", errbuf, sizeof errbuf);
        ck_assert_msg(cfg != NULL, "%s", errbuf);
        struct pb_cond *cond = pb_cond_new(pb_cfg_get(cfg, "c"), errbuf, sizeof errbuf);
        ck_assert_msg(cond != NULL, "%s: %s", conds[c], errbuf);
        int hits = 0;
        for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
            json_t *tree = json_loads(events[e], 0, NULL);
            ck_assert_ptr_nonnull(tree);
            pb_event *ev = pb_ev_wrap(json_deep_copy(tree));
            ck_assert_int_eq(pb_ev_to_arena(ev), 0);
            /* part of it as a jansson subtree, as a protocol may put it */
            json_t *j = pb_ev_get_json(ev, "j");
            if (j != NULL) {
                pb_ev_del(ev, "j");
                pb_ev_put(ev, "j", j);
            }
            bool want = pb_cond_eval(cond, tree);
            ck_assert_msg(pb_cond_eval_ev(cond, ev) == want, "%s on event %zu", conds[c], e);
            ck_assert(!pb_ev_is_tree(ev));
            hits += want;
            pb_ev_free(ev);
            json_decref(tree);
        }
        ck_assert_msg(hits > 0, "%s never holds", conds[c]);
        pb_cond_free(cond);
        pb_cfg_free(cfg);
    }
}
END_TEST

static Suite *processors_suite(void)
{
    Suite *s = suite_create("processors");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unknown_processor_named);
    tcase_add_test(tc, conditions_regexp_re2_and_network);
    tcase_add_test(tc, if_then_else);
    tcase_add_test(tc, arena_and_tree_runs_agree);
    tcase_add_test(tc, host_metadata_when_not_forwarded);
    tcase_add_test(tc, cloud_docker_pass_cleanly);
    tcase_add_test(tc, locale_and_observer);
    tcase_add_test(tc, add_id_unique);
    tcase_add_test(tc, network_direction);
    tcase_add_test(tc, process_metadata_self);
    tcase_add_test(tc, community_id_tcp);
    tcase_add_test(tc, convert_types_and_errors);
    tcase_add_test(tc, decode_base64);
    tcase_add_test(tc, decode_json);
    tcase_add_test(tc, dissect_tokenizer);
    tcase_add_test(tc, fingerprint_sha256_and_xxhash);
    tcase_add_test(tc, fingerprint_errors);
    tcase_add_test(tc, rate_limit_drops);
    tcase_add_test(tc, registered_domain_psl);
    tcase_add_test(tc, replace_go_syntax);
    tcase_add_test(tc, truncate_and_urldecode);
    tcase_add_test(tc, lowercase_keys_and_values);
    tcase_add_test(tc, timestamp_layouts);
    tcase_add_test(tc, add_fields_tags_labels_drop);
    tcase_add_test(tc, host_metadata_shared_only_when_final);
    tcase_add_test(tc, keep_analysis);
    tcase_add_test(tc, conditions_arena_and_tree_agree);
    tcase_add_test(tc, planned_runs_agree_with_each_step);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(processors_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
