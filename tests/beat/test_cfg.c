/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_cfg.c - the config tree (beat/cfg.c): dotted keys equal
 * nested ones, merging, -E overrides, ${VAR} forms, typed getters with their
 * error texts, durations and sizes, YAML errors with lines, strict.perms
 * messages, JSON typing, YAML export, caps (depth, size, aliases) and
 * garbage / allocation failures that must not crash.
 */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/err.h"
#include "beat/limits.h"
#include "tests/support/ptrun.h"

/* ---- helpers ------------------------------------------------------------ */

static char errbuf[1024];

static struct pb_cfg *parse_named(const char *yaml, const char *name)
{
    errbuf[0] = '\0';
    return pb_cfg_parse(yaml, strlen(yaml), name, errbuf, sizeof errbuf);
}

static struct pb_cfg *parse_ok(const char *yaml)
{
    struct pb_cfg *c = parse_named(yaml, "test.yml");
    ck_assert_msg(c != NULL, "parse failed: %s\n--- input:\n%s", errbuf, yaml);
    return c;
}

/* Fails the test unless the tree's JSON equals the JSON text. */
static void assert_json(const struct pb_cfg *c, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
    ck_assert_msg(w != NULL, "bad expected json %s: %s", want, je.text);
    json_t *got = pb_cfg_to_json(c);
    ck_assert_ptr_nonnull(got);
    char *gs = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(got, w), "json mismatch:\n got  %s\n want %s", gs, want);
    free(gs);
    json_decref(got);
    json_decref(w);
}

static void assert_same_tree(const struct pb_cfg *a, const struct pb_cfg *b)
{
    json_t *ja = pb_cfg_to_json(a);
    json_t *jb = pb_cfg_to_json(b);
    char *sa = json_dumps(ja, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    char *sb = json_dumps(jb, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_msg(json_equal(ja, jb), "trees differ:\n %s\n %s", sa, sb);
    free(sa);
    free(sb);
    json_decref(ja);
    json_decref(jb);
}

static void override_ok(struct pb_cfg *c, const char *kv)
{
    errbuf[0] = '\0';
    int rc = pb_cfg_set_override(c, kv, errbuf, sizeof errbuf);
    ck_assert_msg(rc == 0, "-E %s failed: %s", kv, errbuf);
}

/* ---- structure ---------------------------------------------------------- */

START_TEST(nested_equals_dotted)
{
    struct pb_cfg *a = parse_ok("output.elasticsearch.hosts: [\"localhost:9200\"]\n"
                                "output.elasticsearch.enabled: true\n"
                                "queue.mem.events: 4096\n");
    struct pb_cfg *b = parse_ok("output:\n"
                                "  elasticsearch:\n"
                                "    hosts: [\"localhost:9200\"]\n"
                                "    enabled: true\n"
                                "queue:\n"
                                "  mem:\n"
                                "    events: 4096\n");
    struct pb_cfg *m = parse_ok("output.elasticsearch:\n"
                                "  hosts:\n"
                                "    - localhost:9200\n"
                                "output:\n"
                                "  elasticsearch.enabled: yes\n"
                                "queue.mem: {events: 4096}\n");
    assert_same_tree(a, b);
    assert_same_tree(a, m);
    assert_json(a, "{\"output\":{\"elasticsearch\":{\"hosts\":[\"localhost:9200\"],"
                   "\"enabled\":true}},\"queue\":{\"mem\":{\"events\":4096}}}");
    const struct pb_cfg *h = pb_cfg_get(a, "output.elasticsearch.hosts.0");
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(h->value, "localhost:9200");
    ck_assert(pb_cfg_has(m, "queue.mem.events"));
    ck_assert(!pb_cfg_has(m, "queue.mem.flush"));
    ck_assert_ptr_null(pb_cfg_get(NULL, "a"));
    pb_cfg_free(a);
    pb_cfg_free(b);
    pb_cfg_free(m);
}
END_TEST

START_TEST(merge_same_keys)
{
    struct pb_cfg *c = parse_ok("a:\n"
                                "  b: 1\n"
                                "  x: old\n"
                                "a:\n"
                                "  c: 2\n"
                                "  x: new\n"
                                "a.d: 3\n"
                                "a.e.f: 4\n"
                                "a.e:\n"
                                "  g: 5\n"
                                "s: 1\n"
                                "s: two\n"
                                "processors:\n"
                                "  - drop_event.when.equals: {http.response.status_code: 200}\n");
    assert_json(c, "{\"a\":{\"b\":1,\"x\":\"new\",\"c\":2,\"d\":3,\"e\":{\"f\":4,\"g\":5}},"
                   "\"s\":\"two\",\"processors\":[{\"drop_event\":{\"when\":{\"equals\":"
                   "{\"http\":{\"response\":{\"status_code\":200}}}}}}]}");
    pb_cfg_free(c);

    /* pb_cfg_merge: maps merge, lists and scalars replace, src consumed */
    struct pb_cfg *dst = parse_ok("a: {b: 1, l: [1, 2, 3]}\nk: v\n");
    struct pb_cfg *src = parse_ok("a: {c: 2, l: [9]}\nk: {x: 1}\n");
    ck_assert_int_eq(pb_cfg_merge(dst, src), 0);
    assert_json(dst, "{\"a\":{\"b\":1,\"c\":2,\"l\":[9]},\"k\":{\"x\":1}}");
    ck_assert_ptr_eq(pb_cfg_get(dst, "a.c")->parent, pb_cfg_get(dst, "a"));
    pb_cfg_free(dst);
}
END_TEST

START_TEST(lines_keys_paths)
{
    struct pb_cfg *c = parse_named("# comment\n"
                                   "packetbeat.protocols:\n"
                                   "- type: http\n"
                                   "  ports: [80, 8080]\n"
                                   "- type: dns\n"
                                   "  ports:\n"
                                   "    - 53\n",
                                   "packetbeat.yml");
    ck_assert_ptr_nonnull(c);
    const struct pb_cfg *p = pb_cfg_get(c, "packetbeat.protocols.1.ports.0");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->line, 7);
    ck_assert_str_eq(p->file, "packetbeat.yml");
    char path[256];
    pb_cfg_path(p, path, sizeof path);
    ck_assert_str_eq(path, "packetbeat.protocols.1.ports.0");
    const struct pb_cfg *t = pb_cfg_get(c, "packetbeat.protocols.0.type");
    ck_assert_int_eq(t->line, 3);
    ck_assert_int_eq(pb_cfg_get(c, "packetbeat.protocols.0.ports")->line, 4);
    const struct pb_cfg *list = pb_cfg_get(c, "packetbeat.protocols");
    ck_assert_int_eq(list->kind, PB_CFG_LIST);
    ck_assert_uint_eq(pb_cfg_len(list), 2);
    ck_assert_ptr_eq(pb_cfg_at(list, 1), pb_cfg_get(c, "packetbeat.protocols.1"));
    ck_assert_ptr_null(pb_cfg_at(list, 2));
    ck_assert_str_eq(c->src_name, "packetbeat.yml");
    pb_cfg_free(c);
}
END_TEST

START_TEST(set_and_new_root)
{
    struct pb_cfg *r = pb_cfg_new_root("defaults");
    ck_assert_int_eq(r->kind, PB_CFG_MAP);
    ck_assert_int_eq(pb_cfg_set(r, "path.home", "/usr/share/packetbeat"), 0);
    ck_assert_int_eq(pb_cfg_set(r, "queue.mem.events", "4096"), 0);
    ck_assert_int_eq(pb_cfg_set(r, "queue.mem.events", "8192"), 0);
    int64_t v = 0;
    ck_assert_int_eq(pb_cfg_int(r, "queue.mem.events", 0, &v), 0);
    ck_assert_int_eq(v, 8192);
    const char *s = NULL;
    ck_assert_int_eq(pb_cfg_str(r, "path.home", NULL, &s), 0);
    ck_assert_str_eq(s, "/usr/share/packetbeat");
    ck_assert_uint_eq(pb_cfg_len(r), 2);
    pb_cfg_free(r);
}
END_TEST

/* ---- -E ----------------------------------------------------------------- */

START_TEST(overrides)
{
    struct pb_cfg *c = parse_ok("output.file.enabled: true\n"
                                "tags: [x, y, z]\n"
                                "fields: {a: 1, b: 2}\n"
                                "packetbeat.protocols:\n"
                                "- type: http\n"
                                "  ports: [80]\n"
                                "- type: dns\n"
                                "  ports: [53]\n");
    override_ok(c, "output.file.enabled=false");
    override_ok(c, "tags=[\"a\",\"b\"]");
    override_ok(c, "fields={b: 3, c.d: x}");
    override_ok(c, "packetbeat.protocols.0.ports=[8080, 8081]");
    override_ok(c, "queue.mem.events=4096");
    override_ok(c, "name='quoted name'");
    override_ok(c, "logging.to_stderr");
    override_ok(c, "output.elasticsearch.hosts=a:9200,b:9200");
    override_ok(c, "ratio=0.5");
    override_ok(c, "word=yes");
    override_ok(c, "flag=on");
    override_ok(c, "nothing=");
    assert_json(c, "{\"output\":{\"file\":{\"enabled\":false},"
                   "\"elasticsearch\":{\"hosts\":[\"a:9200\",\"b:9200\"]}},"
                   "\"tags\":[\"a\",\"b\"],"
                   "\"fields\":{\"a\":1,\"b\":3,\"c\":{\"d\":\"x\"}},"
                   "\"packetbeat\":{\"protocols\":[{\"type\":\"http\",\"ports\":[8080,8081]},"
                   "{\"type\":\"dns\",\"ports\":[53]}]},"
                   "\"queue\":{\"mem\":{\"events\":4096}},\"name\":\"quoted name\","
                   "\"logging\":{\"to_stderr\":true},\"ratio\":0.5,\"word\":\"yes\","
                   "\"flag\":true,\"nothing\":null}");
    bool b = true;
    ck_assert_int_eq(pb_cfg_bool(c, "output.file.enabled", true, &b), 0);
    ck_assert(!b);
    /* "yes" from -E is a string for go-ucfg: not a bool */
    ck_assert_int_eq(pb_cfg_bool(c, "word", false, &b), -PB_EINVAL);
    ck_assert_ptr_nonnull(strstr(pb_cfg_errmsg(), "source:'command line flag'"));
    uint16_t ports[4];
    size_t n = 0;
    ck_assert_int_eq(pb_cfg_ports(c, "packetbeat.protocols.0.ports", ports, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ports[1], 8081);

    ck_assert_int_lt(pb_cfg_set_override(c, "a=[1", errbuf, sizeof errbuf), 0);
    ck_assert_str_eq(errbuf, "invalid argument \"a=[1\" for \"-E, --E\" flag: array closing "
                             "']' missing when parsing '[1'");
    ck_assert_int_lt(pb_cfg_set_override(c, "=1", errbuf, sizeof errbuf), 0);
    ck_assert_ptr_nonnull(strstr(errbuf, "empty"));
    ck_assert_int_lt(pb_cfg_set_override(c, "s=\"unterminated", errbuf, sizeof errbuf), 0);
    ck_assert_int_lt(pb_cfg_set_override(c, "x={a 1}", errbuf, sizeof errbuf), 0);
    ck_assert_ptr_nonnull(strstr(errbuf, "expected ':'"));
    pb_cfg_free(c);
}
END_TEST

START_TEST(override_value_syntax)
{
    static const struct {
        const char *kv;
        const char *json;
    } cases[] = {
        {"v=1", "1"},
        {"v=-3", "-3"},
        {"v=0x10", "16"},
        {"v=1e3", "1000.0"},
        {"v=true", "true"},
        {"v=T", "true"},
        {"v=off", "false"},
        {"v=null", "null"},
        {"v=\"a\\tb\"", "\"a\\tb\""},
        {"v=\"\\u00e9\"", "\"\\u00e9\""},
        {"v='it''s'", NULL},
        {"v=[]", "null"},
        {"v={}", "null"},
        {"v=[1, [2, 3], {a: b}]", "[1,[2,3],{\"a\":\"b\"}]"},
        {"v= spaced out ", "\"spaced out\""},
        {"v=a,", "[\"a\",null]"},
        {"v=http://x:9200/path", "\"http://x:9200/path\""},
        {"v=\"1\"", "\"1\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pb_cfg *c = pb_cfg_new_root("t");
        int rc = pb_cfg_set_override(c, cases[i].kv, errbuf, sizeof errbuf);
        if (cases[i].json == NULL) {
            ck_assert_msg(rc < 0, "%s should fail", cases[i].kv);
        } else {
            ck_assert_msg(rc == 0, "%s: %s", cases[i].kv, errbuf);
            json_t *j = pb_cfg_to_json(pb_cfg_get(c, "v"));
            json_t *w = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
            char *s = json_dumps(j, JSON_ENCODE_ANY);
            ck_assert_msg(json_equal(j, w), "%s gave %s, want %s", cases[i].kv, s, cases[i].json);
            free(s);
            json_decref(j);
            json_decref(w);
        }
        pb_cfg_free(c);
    }
}
END_TEST

/* ---- ${VAR} ------------------------------------------------------------- */

START_TEST(env_expansion)
{
    setenv("PBT_HOST", "es.example", 1);
    setenv("PBT_PORT", "9201", 1);
    setenv("PBT_LIST", "a:1,b:2", 1);
    setenv("PBT_EMPTY", "", 1);
    unsetenv("PBT_UNSET");
    struct pb_cfg *c = parse_ok("a: ${PBT_HOST}\n"
                                "b: ${PBT_UNSET:fallback}\n"
                                "c: ${PBT_UNSET:}\n"
                                "d: \"http://${PBT_UNSET:localhost}:9200\"\n"
                                "e: ${PBT_PORT}\n"
                                "f: \"${PBT_PORT}\"\n"
                                "g: ${PBT_LIST}\n"
                                "h: ${PBT_UNSET:${PBT_HOST}}\n"
                                "i: $${PBT_HOST}\n"
                                "j: ${PBT_UNSET:5s}\n"
                                "k: ${x.y}-${PBT_PORT}\n"
                                "l: ${x}\n"
                                "m: ${PBT_EMPTY}\n"
                                "n: ${PBT_UNSET:[1, 2]}\n"
                                "x:\n"
                                "  y: ref\n"
                                "  z: ${PBT_HOST}\n");
    assert_json(c, "{\"a\":\"es.example\",\"b\":\"fallback\",\"c\":\"\","
                   "\"d\":\"http://localhost:9200\",\"e\":9201,\"f\":9201,"
                   "\"g\":[\"a:1\",\"b:2\"],\"h\":\"es.example\",\"i\":\"${PBT_HOST}\","
                   "\"j\":\"5s\",\"k\":\"ref-9201\","
                   "\"l\":{\"y\":\"ref\",\"z\":\"es.example\"},\"m\":\"\",\"n\":[1,2],"
                   "\"x\":{\"y\":\"ref\",\"z\":\"es.example\"}}");
    int64_t v = 0;
    ck_assert_int_eq(pb_cfg_int(c, "e", 0, &v), 0);
    ck_assert_int_eq(v, 9201);
    ck_assert_int_eq(pb_cfg_duration(c, "j", 0, &v), 0);
    ck_assert_int_eq(v, 5000000000LL);
    pb_cfg_free(c);

    ck_assert_ptr_null(parse_named("output:\n"
                                   "  elasticsearch:\n"
                                   "    hosts:\n"
                                   "      - ${PBT_UNSET}\n",
                                   "packetbeat.yml"));
    ck_assert_str_eq(errbuf, "missing field accessing 'output.elasticsearch.hosts.0' "
                             "(source:'packetbeat.yml' line 4): variable 'PBT_UNSET' is not set");
    ck_assert_str_eq(pb_cfg_errmsg(), errbuf);
    ck_assert_ptr_null(parse_named("a: ${PBT_UNSET:?set PBT_UNSET please}\n", "p.yml"));
    ck_assert_str_eq(errbuf, "set PBT_UNSET please accessing 'a' (source:'p.yml' line 1)");
    ck_assert_ptr_null(parse_named("a: x${PBT_HOST\n", "p.yml"));
    ck_assert_str_eq(errbuf, "unterminated brace accessing 'a' (source:'p.yml' line 1)");
    ck_assert_ptr_null(parse_named("a: ${b}\nb: ${a}\n", "p.yml"));
    ck_assert_ptr_nonnull(strstr(errbuf, "cyclic reference detected"));
    ck_assert_ptr_null(parse_named("a: ${}\n", "p.yml"));

    /* -E values expand too, against the tree and the environment */
    c = parse_ok("base: /opt\n");
    override_ok(c, "path.home=${base}/pb");
    override_ok(c, "port=${PBT_PORT}");
    assert_json(c, "{\"base\":\"/opt\",\"path\":{\"home\":\"/opt/pb\"},\"port\":9201}");
    ck_assert_int_lt(pb_cfg_set_override(c, "x=${PBT_UNSET}", errbuf, sizeof errbuf), 0);
    ck_assert_str_eq(errbuf, "missing field accessing 'x' (source:'command line flag'): "
                             "variable 'PBT_UNSET' is not set");
    pb_cfg_free(c);
}
END_TEST

/* ---- getters ------------------------------------------------------------ */

static const char *getter_yaml = "queue:\n"
                                 "  mem:\n"
                                 "    events: abc\n"
                                 "b1: true\n"
                                 "b2: yes\n"
                                 "b3: off\n"
                                 "b4: \"true\"\n"
                                 "b5: 5\n"
                                 "i1: -42\n"
                                 "i2: 0x1F\n"
                                 "i3: 3.9\n"
                                 "i4: 18446744073709551615\n"
                                 "f1: 2.5\n"
                                 "f2: 7\n"
                                 "s1: hello\n"
                                 "s2: 12\n"
                                 "map: {a: 1}\n"
                                 "list: [1, 2]\n"
                                 "nul: ~\n";

START_TEST(getters)
{
    struct pb_cfg *c = parse_named(getter_yaml, "packetbeat.yml");
    ck_assert_ptr_nonnull(c);
    bool b = false;
    int64_t i = 0;
    double f = 0;
    const char *s = NULL;

    ck_assert_int_eq(pb_cfg_bool(c, "b1", false, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pb_cfg_bool(c, "b2", false, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pb_cfg_bool(c, "b3", true, &b), 0);
    ck_assert(!b);
    ck_assert_int_eq(pb_cfg_bool(c, "missing", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pb_cfg_bool(c, "nul", true, &b), 0);
    ck_assert(b);
    ck_assert_int_eq(pb_cfg_bool(c, "b4", false, &b), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'string' into 'bool' accessing 'b4' "
                                      "(source:'packetbeat.yml' line 7)");
    ck_assert_int_eq(pb_cfg_bool(c, "b5", false, &b), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'uint' into 'bool' accessing 'b5' "
                                      "(source:'packetbeat.yml' line 8)");

    ck_assert_int_eq(pb_cfg_int(c, "queue.mem.events", 7, &i), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'string' into 'int' accessing "
                                      "'queue.mem.events' (source:'packetbeat.yml' line 3)");
    ck_assert_int_eq(pb_cfg_int(pb_cfg_get(c, "queue"), "mem.events", 7, &i), -PB_EINVAL);
    ck_assert_ptr_nonnull(strstr(pb_cfg_errmsg(), "'queue.mem.events'"));
    ck_assert_int_eq(pb_cfg_int(c, "i1", 0, &i), 0);
    ck_assert_int_eq(i, -42);
    ck_assert_int_eq(pb_cfg_int(c, "i2", 0, &i), 0);
    ck_assert_int_eq(i, 31);
    ck_assert_int_eq(pb_cfg_int(c, "i3", 0, &i), 0);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(pb_cfg_int(c, "i4", 0, &i), -PB_EINVAL);
    ck_assert_int_eq(pb_cfg_int(c, "b1", 0, &i), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'bool' into 'int' accessing 'b1' "
                                      "(source:'packetbeat.yml' line 4)");
    ck_assert_int_eq(pb_cfg_int(c, "map", 0, &i), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'object' into 'int' accessing 'map' "
                                      "(source:'packetbeat.yml' line 17)");
    ck_assert_int_eq(pb_cfg_int(c, "missing", 99, &i), 0);
    ck_assert_int_eq(i, 99);

    ck_assert_int_eq(pb_cfg_float(c, "f1", 0, &f), 0);
    ck_assert(f == 2.5);
    ck_assert_int_eq(pb_cfg_float(c, "f2", 0, &f), 0);
    ck_assert(f == 7.0);
    ck_assert_int_eq(pb_cfg_float(c, "s1", 0, &f), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'string' into 'float' accessing 's1' "
                                      "(source:'packetbeat.yml' line 15)");

    ck_assert_int_eq(pb_cfg_str(c, "s1", NULL, &s), 0);
    ck_assert_str_eq(s, "hello");
    ck_assert_int_eq(pb_cfg_str(c, "s2", NULL, &s), 0);
    ck_assert_str_eq(s, "12");
    ck_assert_int_eq(pb_cfg_str(c, "b2", NULL, &s), 0);
    ck_assert_str_eq(s, "true");
    ck_assert_int_eq(pb_cfg_str(c, "nope", "dflt", &s), 0);
    ck_assert_str_eq(s, "dflt");
    ck_assert_int_eq(pb_cfg_str(c, "list", NULL, &s), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'object' into 'string' accessing 'list' "
                                      "(source:'packetbeat.yml' line 18)");
    ck_assert_int_eq(pb_cfg_str(c, "map", NULL, &s), -PB_EINVAL);
    ck_assert_int_eq(pb_cfg_str(c, "list.1", NULL, &s), 0);
    ck_assert_str_eq(s, "2");
    pb_cfg_free(c);
}
END_TEST

START_TEST(strv_and_ports)
{
    struct pb_cfg *c = parse_named("nets: [10.0.0.0/8, \"192.168.0.0/16\", 7]\n"
                                   "one: 127.0.0.1\n"
                                   "bad: [a, [b]]\n"
                                   "p1: [80, 8080]\n"
                                   "p2: 53\n"
                                   "p3: [80, 70000]\n"
                                   "p4: [80, \"x\"]\n"
                                   "p5: []\n"
                                   "p6: [0]\n"
                                   "p7: [1, 2, 3, 4, 5]\n",
                                   "pb.yml");
    ck_assert_ptr_nonnull(c);
    char **v = NULL;
    size_t n = 0;
    ck_assert_int_eq(pb_cfg_strv(c, "nets", &v, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(v[0], "10.0.0.0/8");
    ck_assert_str_eq(v[1], "192.168.0.0/16");
    ck_assert_str_eq(v[2], "7");
    ck_assert_ptr_null(v[3]);
    pb_cfg_strv_free(v);
    ck_assert_int_eq(pb_cfg_strv(c, "one", &v, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(v[0], "127.0.0.1");
    pb_cfg_strv_free(v);
    ck_assert_int_eq(pb_cfg_strv(c, "missing", &v, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(v[0]);
    pb_cfg_strv_free(v);
    ck_assert_int_eq(pb_cfg_strv(c, "bad", &v, &n), -PB_EINVAL);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'object' into 'string' accessing 'bad.1' "
                                      "(source:'pb.yml' line 3)");

    uint16_t ports[4];
    ck_assert_int_eq(pb_cfg_ports(c, "p1", ports, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ports[0], 80);
    ck_assert_uint_eq(ports[1], 8080);
    ck_assert_int_eq(pb_cfg_ports(c, "p2", ports, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(ports[0], 53);
    ck_assert_int_eq(pb_cfg_ports(c, "p3", ports, 4, &n), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "port 70000 out of range 1..65535 accessing 'p3.1' "
                                      "(source:'pb.yml' line 6)");
    ck_assert_int_eq(pb_cfg_ports(c, "p4", ports, 4, &n), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'string' into 'int' accessing 'p4.1' "
                                      "(source:'pb.yml' line 7)");
    ck_assert_int_eq(pb_cfg_ports(c, "p5", ports, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(pb_cfg_ports(c, "p6", ports, 4, &n), -PB_EINVAL);
    ck_assert_int_eq(pb_cfg_ports(c, "p7", ports, 4, &n), -PB_ELIMIT);
    ck_assert_int_eq(pb_cfg_ports(c, "missing", ports, 4, &n), 0);
    ck_assert_uint_eq(n, 0);
    pb_cfg_free(c);
}
END_TEST

/* ---- durations and sizes ------------------------------------------------ */

START_TEST(durations)
{
    static const struct {
        const char *in;
        int64_t ns;
    } good[] = {
        {"400ms", 400000000LL},
        {"1.5s", 1500000000LL},
        {"1m30s", 90000000000LL},
        {"-1s", -1000000000LL},
        {"1h", 3600000000000LL},
        {"10", 10000000000LL},
        {"0", 0},
        {"0s", 0},
        {"+5us", 5000},
        {"2\xc2\xb5s", 2000},
        {"1h2m3s4ms5us6ns", 3723004005006LL},
        {".5m", 30000000000LL},
        {"1.5", 1500000000LL},
        {"-1", -1000000000LL},
        {"2562047h47m16.854775807s", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t ns = 12345;
        ck_assert_msg(pb_parse_duration(good[i].in, &ns) == 0, "%s: %s", good[i].in,
                      pb_cfg_errmsg());
        ck_assert_msg(ns == good[i].ns, "%s gave %lld", good[i].in, (long long)ns);
    }
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"abc", "time: invalid duration \"abc\""},
        {"", "time: invalid duration \"\""},
        {"1x", "time: unknown unit \"x\" in duration \"1x\""},
        {"1s5", "time: missing unit in duration \"1s5\""},
        {".s", "time: invalid duration \".s\""},
        {"9999999999999999999h", "time: invalid duration \"9999999999999999999h\""},
        {"-", "time: invalid duration \"-\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        ck_assert_msg(pb_parse_duration(bad[i].in, &ns) < 0, "%s accepted", bad[i].in);
        ck_assert_str_eq(pb_cfg_errmsg(), bad[i].msg);
    }
    struct pb_cfg *c = parse_named("period: 10s\nn: 30\nf: 0.25\nbad: 5 parsecs\nb: true\n"
                                   "m: {a: 1}\n",
                                   "pb.yml");
    int64_t v = 0;
    ck_assert_int_eq(pb_cfg_duration(c, "period", 0, &v), 0);
    ck_assert_int_eq(v, 10000000000LL);
    ck_assert_int_eq(pb_cfg_duration(c, "n", 0, &v), 0);
    ck_assert_int_eq(v, 30000000000LL);
    ck_assert_int_eq(pb_cfg_duration(c, "f", 0, &v), 0);
    ck_assert_int_eq(v, 250000000LL);
    ck_assert_int_eq(pb_cfg_duration(c, "missing", 42, &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(pb_cfg_duration(c, "bad", 0, &v), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "time: unknown unit \" parsecs\" in duration \"5 parsecs\" "
                                      "accessing 'bad' (source:'pb.yml' line 4)");
    ck_assert_int_eq(pb_cfg_duration(c, "b", 0, &v), -PB_EINVAL);
    ck_assert_int_eq(pb_cfg_duration(c, "m", 0, &v), -PB_EINVAL);
    pb_cfg_free(c);
}
END_TEST

START_TEST(sizes)
{
    static const struct {
        const char *in;
        uint64_t v;
    } good[] = {
        {"10MiB", 10485760ULL},     {"10MB", 10000000ULL}, {"1KiB", 1024ULL},
        {"1024", 1024ULL},          {"1kb", 1000ULL},      {"1 GB", 1000000000ULL},
        {"1gib", 1073741824ULL},    {"1.5KiB", 1536ULL},   {"1,024 B", 1024ULL},
        {"2Ki", 2048ULL},           {"3m", 3000000ULL},    {"0", 0},
        {"4TiB", 4398046511104ULL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 1;
        ck_assert_msg(pb_parse_size(good[i].in, &v) == 0, "%s: %s", good[i].in, pb_cfg_errmsg());
        ck_assert_msg(v == good[i].v, "%s gave %llu", good[i].in, (unsigned long long)v);
    }
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
        {"abc", "strconv.ParseFloat: parsing \"\": invalid syntax"},
        {"10 parsecs", "unhandled size name: parsecs"},
        {"1.2.3MB", "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax"},
        {"-5", "strconv.ParseFloat: parsing \"\": invalid syntax"},
        {"99999999EiB", "too large: 99999999EiB"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        ck_assert_msg(pb_parse_size(bad[i].in, &v) < 0, "%s accepted", bad[i].in);
        ck_assert_str_eq(pb_cfg_errmsg(), bad[i].msg);
    }
    struct pb_cfg *c = parse_named("a: 10MiB\nb: 4096\nc: 12 apples\n", "pb.yml");
    uint64_t v = 0;
    ck_assert_int_eq(pb_cfg_size(c, "a", 0, &v), 0);
    ck_assert_uint_eq(v, 10485760ULL);
    ck_assert_int_eq(pb_cfg_size(c, "b", 0, &v), 0);
    ck_assert_uint_eq(v, 4096);
    ck_assert_int_eq(pb_cfg_size(c, "zz", 7, &v), 0);
    ck_assert_uint_eq(v, 7);
    ck_assert_int_eq(pb_cfg_size(c, "c", 0, &v), -PB_EINVAL);
    ck_assert_str_eq(pb_cfg_errmsg(), "unhandled size name: apples accessing 'c' "
                                      "(source:'pb.yml' line 3)");
    pb_cfg_free(c);
}
END_TEST

/* ---- YAML errors, anchors ------------------------------------------------ */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_test_cfg.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(yaml_errors)
{
    ck_assert_ptr_null(parse_named("a: 1\n"
                                   "b: 2\n"
                                   "c: 3\n"
                                   "d: 4\n"
                                   "e: 5\n"
                                   "f: 6\n"
                                   "g: h: i\n",
                                   "packetbeat.yml"));
    ck_assert_str_eq(errbuf, "yaml: line 7: mapping values are not allowed in this context");
    ck_assert_str_eq(pb_cfg_errmsg(), errbuf);
    /* yaml.v2 prints no line for the first line */
    ck_assert_ptr_null(parse_named("a: b: c\n", "x"));
    ck_assert_str_eq(errbuf, "yaml: mapping values are not allowed in this context");
    ck_assert_ptr_null(parse_named("a:\n\tb: 1\n", "x"));
    ck_assert_str_eq(errbuf, "yaml: line 2: found character that cannot start any token");
    ck_assert_ptr_null(parse_named("a: [1, 2\nb: 3\n", "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "yaml: line "));
    ck_assert_ptr_null(parse_named("a: *nope\n", "x"));
    ck_assert_str_eq(errbuf, "yaml: unknown anchor 'nope' referenced");
    ck_assert_ptr_null(parse_named("just a string\n", "x"));
    ck_assert_str_eq(errbuf, "type 'string' is not supported on top level of config, only "
                             "dictionary or list");
    ck_assert_ptr_null(parse_named("? [a, b]\n: c\n", "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "invalid map key"));

    /* through a file: the caller adds libbeat's "error loading config file: " */
    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/packetbeat.yml", tmpdir);
    write_file(path, "packetbeat.interfaces.device: any\n\nout: put: x\n", 0600);
    errbuf[0] = '\0';
    ck_assert_ptr_null(pb_cfg_load_file(path, errbuf, sizeof errbuf));
    ck_assert_str_eq(errbuf, "yaml: line 3: mapping values are not allowed in this context");
    write_file(path, "packetbeat.interfaces.device: any\nqueue.mem.events: x\n", 0600);
    struct pb_cfg *c = pb_cfg_load_file(path, errbuf, sizeof errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    ck_assert_str_eq(c->src_name, path);
    int64_t v;
    ck_assert_int_eq(pb_cfg_int(c, "queue.mem.events", 0, &v), -PB_EINVAL);
    char want[1024];
    snprintf(want, sizeof want,
             "can not convert 'string' into 'int' accessing 'queue.mem.events' "
             "(source:'%s' line 2)",
             path);
    ck_assert_str_eq(pb_cfg_errmsg(), want);
    pb_cfg_free(c);
    unlink(path);
    ck_assert_ptr_null(pb_cfg_load_file(path, errbuf, sizeof errbuf));
    snprintf(want, sizeof want, "open %s: no such file or directory", path);
    ck_assert_str_eq(errbuf, want);
    rmdir(tmpdir);
}
END_TEST

START_TEST(anchors_and_merge_keys)
{
    struct pb_cfg *c = parse_ok("base: &b\n"
                                "  ports: [80]\n"
                                "  send_request: true\n"
                                "http: *b\n"
                                "other:\n"
                                "  <<: *b\n"
                                "  ports: [8080]\n"
                                "s: &s word\n"
                                "t: *s\n"
                                "*s : keyed\n");
    assert_json(c, "{\"base\":{\"ports\":[80],\"send_request\":true},"
                   "\"http\":{\"ports\":[80],\"send_request\":true},"
                   "\"other\":{\"ports\":[8080],\"send_request\":true},"
                   "\"s\":\"word\",\"t\":\"word\",\"word\":\"keyed\"}");
    pb_cfg_free(c);
    /* a later key replacing the anchored map must not break the alias */
    c = parse_ok("a: &x {b: 1}\na: 2\nc: *x\n");
    assert_json(c, "{\"a\":2,\"c\":{\"b\":1}}");
    pb_cfg_free(c);
    ck_assert_ptr_null(parse_named("a: &x 1\nb:\n  <<: *x\n", "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "map merge requires map"));
}
END_TEST

START_TEST(alias_bomb)
{
    /* billion laughs: stopped by the value cap, no hang */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    ck_assert_ptr_null(parse_named(bomb, "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "values"));
}
END_TEST

/* ---- strict.perms -------------------------------------------------------- */

START_TEST(perms)
{
    make_tmpdir();
    char path[512], want[2048], cwd[1024];
    snprintf(path, sizeof path, "%s/packetbeat.yml", tmpdir);
    write_file(path, "a: 1\n", 0664);
    ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), -PB_EINVAL);
    snprintf(want, sizeof want,
             "config file (\"%s\") can only be writable by the owner but the permissions are "
             "\"-rw-rw-r--\" (to fix the permissions use: 'chmod go-w %s')",
             path, path);
    ck_assert_str_eq(errbuf, want);
    ck_assert_str_eq(pb_cfg_errmsg(), want);

    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), 0);
    ck_assert_int_eq(chmod(path, 0757), 0);
    ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), -PB_EINVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "\"-rwxr-xrwx\""));

    /* a relative name is quoted as given, the chmod hint is absolute */
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    ck_assert_int_eq(chmod(path, 0666), 0);
    snprintf(want, sizeof want,
             "config file (\"./sub/../packetbeat.yml\") can only be writable by the owner but "
             "the permissions are \"-rw-rw-rw-\" (to fix the permissions use: 'chmod go-w %s')",
             path);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    ck_assert_int_eq(pb_cfg_check_perms("./sub/../packetbeat.yml", errbuf, sizeof errbuf),
                     -PB_EINVAL);
    ck_assert_str_eq(errbuf, want);
    ck_assert_int_eq(chdir(cwd), 0);
    rmdir(sub);

    if (geteuid() == 0) {
        ck_assert_int_eq(chmod(path, 0600), 0);
        ck_assert_int_eq(chown(path, 1234, 1234), 0);
        ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), -PB_EINVAL);
        snprintf(want, sizeof want,
                 "config file (\"%s\") must be owned by the user identifier (uid=0) or root", path);
        ck_assert_str_eq(errbuf, want);
    }
    unlink(path);
    ck_assert_int_eq(pb_cfg_check_perms(path, errbuf, sizeof errbuf), -PB_EINVAL);
    snprintf(want, sizeof want, "stat %s: no such file or directory", path);
    ck_assert_str_eq(errbuf, want);
    rmdir(tmpdir);
}
END_TEST

/* ---- JSON typing and YAML export --------------------------------------- */

START_TEST(json_typing)
{
    struct pb_cfg *c = parse_ok("n1: null\nn2: ~\nn3:\nn4: \"null\"\n"
                                "b1: true\nb2: False\nb3: 'true'\nb4: on\nb5: n\n"
                                "i1: 42\ni2: -7\ni3: 0x1f\ni4: \"42\"\ni5: 1_000\ni6: 0o17\n"
                                "i7: 0b101\ni8: 010\ni9: +3\n"
                                "f1: 1.5\nf2: -2.5e3\nf3: .5\nf4: '1.5'\nf5: .inf\nf6: 1e2\n"
                                "s1: hello world\ns2: 1.2.3\ns3: 10.0.0.0/8\ns4: |\n  block\n"
                                "s5: 0x\ns6: \"\"\n"
                                "l: [1, a, \"2\", ~]\n");
    assert_json(c, "{\"n1\":null,\"n2\":null,\"n3\":null,\"n4\":\"null\","
                   "\"b1\":true,\"b2\":false,\"b3\":\"true\",\"b4\":true,\"b5\":false,"
                   "\"i1\":42,\"i2\":-7,\"i3\":31,\"i4\":\"42\",\"i5\":1000,\"i6\":15,"
                   "\"i7\":5,\"i8\":8,\"i9\":3,"
                   "\"f1\":1.5,\"f2\":-2500.0,\"f3\":0.5,\"f4\":\"1.5\",\"f5\":\".inf\","
                   "\"f6\":100.0,"
                   "\"s1\":\"hello world\",\"s2\":\"1.2.3\",\"s3\":\"10.0.0.0/8\","
                   "\"s4\":\"block\\n\",\"s5\":\"0x\",\"s6\":\"\","
                   "\"l\":[1,\"a\",\"2\",null]}");
    json_t *j = pb_cfg_to_json(pb_cfg_get(c, "i1"));
    ck_assert(json_is_integer(j));
    json_decref(j);
    j = pb_cfg_to_json(pb_cfg_get(c, "f6"));
    ck_assert(json_is_real(j));
    json_decref(j);
    ck_assert_ptr_null(pb_cfg_to_json(NULL));
    pb_cfg_free(c);
}
END_TEST

START_TEST(yaml_export_roundtrip)
{
    setenv("PBT_ODD", "a${b}", 1);
    struct pb_cfg *c = parse_ok("packetbeat.interfaces.device: any\n"
                                "packetbeat.protocols:\n"
                                "- type: http\n"
                                "  ports: [80, 8080]\n"
                                "  send_headers: [\"User-Agent\"]\n"
                                "- type: dns\n"
                                "  ports: [53]\n"
                                "output.console: {pretty: true}\n"
                                "tags: [\"true\", \"123\", \"\", \"a: b\", \"# no\", \"-x\", "
                                "\"multi\\nline\", \"  pad\", \"tab\\there\", \"q\\\"uote\"]\n"
                                "odd: ${PBT_ODD}\n"
                                "lit: $${not_a_var}\n"
                                "empty_map: {}\n"
                                "empty_list: []\n"
                                "nested: [[1, 2], [], [{a: 1, b: [x]}]]\n"
                                "nul: ~\n"
                                "yes_word: yes\n");
    char *y = pb_cfg_to_yaml(c);
    ck_assert_ptr_nonnull(y);
    struct pb_cfg *back = parse_named(y, "export");
    ck_assert_msg(back != NULL, "export does not load back: %s\n%s", errbuf, y);
    assert_same_tree(c, back);
    ck_assert_ptr_nonnull(strstr(y, "packetbeat:\n  interfaces:\n    device: any\n"));
    ck_assert_ptr_nonnull(strstr(y, "  protocols:\n  - ports:\n    - 80\n"));
    ck_assert_ptr_nonnull(strstr(y, "yes_word: true\n"));
    pb_free(y);
    pb_cfg_free(back);
    pb_cfg_free(c);
}
END_TEST

/* ---- caps and hostile input --------------------------------------------- */

static char *nested_maps(unsigned depth)
{
    size_t cap = (size_t)depth * (depth + 8) + 64;
    char *s = malloc(cap);
    size_t o = 0;
    for (unsigned i = 0; i < depth; i++) {
        for (unsigned k = 0; k < i; k++) {
            s[o++] = ' ';
        }
        o += (size_t)snprintf(s + o, cap - o, "k:\n");
    }
    for (unsigned k = 0; k < depth; k++) {
        s[o++] = ' ';
    }
    o += (size_t)snprintf(s + o, cap - o, "v: 1\n");
    s[o] = '\0';
    return s;
}

START_TEST(depth_cap)
{
    char *ok = nested_maps(PB_MAX_CFG_DEPTH - 2);
    struct pb_cfg *c = parse_named(ok, "x");
    ck_assert_msg(c != NULL, "%s", errbuf);
    pb_cfg_free(c);
    free(ok);
    char *deep = nested_maps(PB_MAX_CFG_DEPTH + 5);
    ck_assert_ptr_null(parse_named(deep, "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "nested deeper than"));
    free(deep);

    /* flow nesting far past the cap */
    size_t n = 100000;
    char *flow = malloc(2 * n + 8);
    memcpy(flow, "a: ", 3);
    memset(flow + 3, '[', n);
    memset(flow + 3 + n, ']', n);
    flow[3 + 2 * n] = '\0';
    ck_assert_ptr_null(parse_named(flow, "x"));
    ck_assert_ptr_nonnull(strstr(errbuf, "nested deeper than"));
    free(flow);

    /* a dotted key with too many parts */
    char key[1024];
    size_t o = 0;
    for (int i = 0; i < 100; i++) {
        o += (size_t)snprintf(key + o, sizeof key - o, "a.");
    }
    snprintf(key + o, sizeof key - o, "z: 1\n");
    ck_assert_ptr_null(parse_named(key, "x"));

    /* a dotted key on deep maps: total depth counts */
    char *mix = nested_maps(PB_MAX_CFG_DEPTH - 4);
    char *p = strstr(mix, "v: 1");
    ck_assert_ptr_nonnull(p);
    size_t pre = (size_t)(p - mix);
    char *mix2 = malloc(pre + 64);
    memcpy(mix2, mix, pre);
    snprintf(mix2 + pre, 64, "a.b.c.d.e.f.g.h.i.j: 1\n");
    ck_assert_ptr_null(parse_named(mix2, "x"));
    free(mix);
    free(mix2);

    /* -E with a deep value */
    struct pb_cfg *r = pb_cfg_new_root("t");
    char kv[400];
    memcpy(kv, "v=", 2);
    memset(kv + 2, '[', 200);
    memset(kv + 202, ']', 180);
    kv[382] = '\0';
    ck_assert_int_lt(pb_cfg_set_override(r, kv, errbuf, sizeof errbuf), 0);
    ck_assert_int_lt(pb_cfg_set_override(r, "a.999999999=1", errbuf, sizeof errbuf), 0);
    pb_cfg_free(r);
}
END_TEST

START_TEST(size_cap)
{
    size_t n = (size_t)PB_MAX_CFG_BYTES + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    ck_assert_ptr_null(pb_cfg_parse(big, n, "big", errbuf, sizeof errbuf));
    ck_assert_ptr_nonnull(strstr(errbuf, "larger than"));
    free(big);

    make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/big.yml", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)PB_MAX_CFG_BYTES + 10), 0);
    close(fd);
    ck_assert_ptr_null(pb_cfg_load_file(path, errbuf, sizeof errbuf));
    ck_assert_ptr_nonnull(strstr(errbuf, "larger than"));
    unlink(path);
    rmdir(tmpdir);
}
END_TEST

static const char *sample = "packetbeat.interfaces.device: any\n"
                            "packetbeat.flows:\n"
                            "  timeout: 30s\n"
                            "  period: 10s\n"
                            "packetbeat.protocols:\n"
                            "- type: http\n"
                            "  ports: [80, 8080, 8000]\n"
                            "  send_headers: [\"User-Agent\", 'Host']\n"
                            "- type: dns\n"
                            "  ports: [53]\n"
                            "  include_authorities: true\n"
                            "base: &b {x: 1}\n"
                            "copy: *b\n"
                            "output.elasticsearch:\n"
                            "  hosts: [\"${PBT_HOST:localhost}:9200\"]\n"
                            "processors:\n"
                            "  - drop_event.when.equals: {http.response.status_code: 200}\n"
                            "text: |\n"
                            "  line one\n"
                            "  line two\n";

static void poke(const char *text, size_t len)
{
    struct pb_cfg *c = pb_cfg_parse(text, len, "fuzz", errbuf, sizeof errbuf);
    if (c != NULL) {
        json_t *j = pb_cfg_to_json(c);
        json_decref(j);
        char *y = pb_cfg_to_yaml(c);
        pb_free(y);
        int64_t i;
        bool b;
        const char *s;
        (void)pb_cfg_int(c, "packetbeat.flows.timeout", 0, &i);
        (void)pb_cfg_duration(c, "packetbeat.flows.timeout", 0, &i);
        (void)pb_cfg_bool(c, "packetbeat.protocols.1.include_authorities", false, &b);
        (void)pb_cfg_str(c, "text", NULL, &s);
        pb_cfg_free(c);
    } else {
        ck_assert_msg(errbuf[0] != '\0', "failure without a message");
    }
}

START_TEST(garbage_never_crashes)
{
    size_t len = strlen(sample);
    struct pb_cfg *c = parse_ok(sample);
    pb_cfg_free(c);
    /* every truncation */
    for (size_t cut = 0; cut <= len; cut++) {
        poke(sample, cut);
    }
    /* byte mutations */
    char *m = malloc(len + 1);
    static const char bytes[] = {'\0', '\t', ':', '-', '[', '{', '&', '*',  '!',        '"',
                                 '\'', '|',  '>', '%', '@', '$', '}', '\n', (char)0xff, (char)0xc3};
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t k = 0; k < sizeof bytes; k++) {
            memcpy(m, sample, len + 1);
            m[pos] = bytes[k];
            poke(m, len);
        }
    }
    free(m);
    /* random bytes */
    unsigned seed = 12345;
    char buf[512];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof buf);
        for (size_t i = 0; i < n; i++) {
            int r = rand_r(&seed);
            buf[i] = (r & 1) != 0 ? sample[(size_t)r % len] : (char)(r >> 8);
        }
        poke(buf, n);
    }
    /* garbage -E values */
    static const char *kvs[] = {"a=[",      "a={",   "a={b:",      "a=\"\\",      "a='",
                                "a=[1,,2]", "a={,}", "a=\"\\x4\"", "a=\"\\u12\"", "a=\"\\400\"",
                                "a=[[[[",   "a.=1",  ".=1",        "a..b=2",      "a.0.b.1=x",
                                "a=\"\\",   "a=${",  "a=$${x}"};
    struct pb_cfg *r = pb_cfg_new_root("t");
    for (size_t i = 0; i < sizeof kvs / sizeof kvs[0]; i++) {
        (void)pb_cfg_set_override(r, kvs[i], errbuf, sizeof errbuf);
    }
    json_t *j = pb_cfg_to_json(r);
    json_decref(j);
    pb_cfg_free(r);
}
END_TEST

START_TEST(alloc_failures)
{
    /* every allocation site fails at some point; nothing may crash or leak */
    for (unsigned every = 1; every < 60; every++) {
        pb_alloc_fail_every(every);
        struct pb_cfg *c = pb_cfg_parse(sample, strlen(sample), "oom", errbuf, sizeof errbuf);
        if (c != NULL) {
            (void)pb_cfg_set_override(c, "tags=[a, b, {c: d}]", errbuf, sizeof errbuf);
            (void)pb_cfg_set_override(c, "packetbeat.protocols.0.ports=[1,2]", errbuf,
                                      sizeof errbuf);
            (void)pb_cfg_set(c, "x.y.z", "1");
            char **v = NULL;
            size_t n;
            if (pb_cfg_strv(c, "packetbeat.protocols.0.send_headers", &v, &n) == 0) {
                pb_cfg_strv_free(v);
            }
            char *y = pb_cfg_to_yaml(c);
            pb_free(y);
            struct pb_cfg *d = pb_cfg_new_root("d");
            if (d != NULL) {
                (void)pb_cfg_merge(d, c);
                pb_cfg_free(d);
            } else {
                pb_cfg_free(c);
            }
        }
    }
    pb_alloc_fail_every(0);
}
END_TEST

static void *other_thread(void *arg)
{
    (void)arg;
    int64_t v;
    struct pb_cfg *c = parse_named("x: nope\n", "thread.yml");
    (void)pb_cfg_int(c, "x", 0, &v);
    pb_cfg_free(c);
    return (void *)(strstr(pb_cfg_errmsg(), "thread.yml") != NULL ? (void *)1 : NULL);
}

START_TEST(errmsg_thread_local)
{
    struct pb_cfg *c = parse_named("y: nope\n", "main.yml");
    bool b;
    ck_assert_int_lt(pb_cfg_bool(c, "y", false, &b), 0);
    pthread_t t;
    void *res = NULL;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &res), 0);
    ck_assert_ptr_nonnull(res);
    ck_assert_str_eq(pb_cfg_errmsg(), "can not convert 'string' into 'bool' accessing 'y' "
                                      "(source:'main.yml' line 1)");
    pb_cfg_free(c);
}
END_TEST

static Suite *cfg_suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, nested_equals_dotted);
    tcase_add_test(tc, merge_same_keys);
    tcase_add_test(tc, lines_keys_paths);
    tcase_add_test(tc, set_and_new_root);
    tcase_add_test(tc, overrides);
    tcase_add_test(tc, override_value_syntax);
    tcase_add_test(tc, env_expansion);
    tcase_add_test(tc, getters);
    tcase_add_test(tc, strv_and_ports);
    tcase_add_test(tc, durations);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, yaml_errors);
    tcase_add_test(tc, anchors_and_merge_keys);
    tcase_add_test(tc, alias_bomb);
    tcase_add_test(tc, perms);
    tcase_add_test(tc, json_typing);
    tcase_add_test(tc, yaml_export_roundtrip);
    tcase_add_test(tc, depth_cap);
    tcase_add_test(tc, size_cap);
    tcase_add_test(tc, garbage_never_crashes);
    tcase_add_test(tc, alloc_failures);
    tcase_add_test(tc, errmsg_thread_local);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(cfg_suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
