/* SPDX-License-Identifier: Apache-2.0
 * tests/beat/test_template.c - beat/template.c through its C API: the
 * default template's shape, setup.template.* / setup.ilm.* / setup.dsl.*
 * overrides, the field processor's rules on small fields files, errors, and
 * the embedded fields.yml. (tests/beat/test_template.py checks the template
 * against the conformance corpus through `packetbeat export`.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/template.h"
#include "tests/support/ptrun.h"

static char err[1024];

static struct pb_cfg *cfg(const char *yaml)
{
    char e[512];
    struct pb_cfg *c = pb_cfg_parse(yaml, strlen(yaml), "test.yml", e, sizeof e);
    ck_assert_msg(c != NULL, "config: %s", e);
    return c;
}

static json_t *build(const char *yaml)
{
    struct pb_cfg *c = cfg(yaml);
    err[0] = '\0';
    json_t *t = pb_template_build(c, err, sizeof err);
    ck_assert_msg(t != NULL, "build failed: %s", err);
    pb_cfg_free(c);
    return t;
}

/* Value at a path of object keys separated by '/' (keys contain dots). */
static json_t *at(json_t *j, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *k = strtok_r(buf, "/", &save); k != NULL && j != NULL;
         k = strtok_r(NULL, "/", &save)) {
        j = json_object_get(j, k);
    }
    return j;
}

static void assert_json_eq(json_t *got, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &je);
    ck_assert_msg(w != NULL, "bad expected JSON: %s", je.text);
    char *g = got != NULL ? json_dumps(got, JSON_SORT_KEYS) : NULL;
    ck_assert_msg(got != NULL && json_equal(got, w), "got %s, want %s", g ? g : "(null)", want);
    free(g);
    json_decref(w);
}

static char tmpdir[64];

static void setup_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pbtpl-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_tmp(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(default_shape)
{
    json_t *t = build("{}");
    assert_json_eq(at(t, "index_patterns"), "[\"packetbeat-8.17.2\"]");
    assert_json_eq(at(t, "data_stream"), "{}");
    assert_json_eq(at(t, "priority"), "150");
    assert_json_eq(at(t, "template/mappings/_meta"),
                   "{\"beat\":\"packetbeat\",\"version\":\"8.17.2\"}");
    assert_json_eq(at(t, "template/mappings/date_detection"), "false");
    assert_json_eq(at(t, "template/settings/index/refresh_interval"), "\"5s\"");
    assert_json_eq(at(t, "template/settings/index/mapping"),
                   "{\"total_fields\":{\"limit\":10000}}");
    assert_json_eq(at(t, "template/settings/index/max_docvalue_fields_search"), "200");
    assert_json_eq(at(t, "template/settings/index/lifecycle"), "{\"name\":\"packetbeat\"}");
    json_t *dyn = at(t, "template/mappings/dynamic_templates");
    ck_assert(json_is_array(dyn) && json_array_size(dyn) > 1);
    assert_json_eq(json_array_get(dyn, json_array_size(dyn) - 1),
                   "{\"strings_as_keyword\":{\"mapping\":{\"ignore_above\":1024,"
                   "\"type\":\"keyword\"},\"match_mapping_type\":\"string\"}}");
    json_t *df = at(t, "template/settings/index/query/default_field");
    ck_assert(json_is_array(df) && json_array_size(df) > 100);
    ck_assert_str_eq(json_string_value(json_array_get(df, json_array_size(df) - 1)), "fields.*");
    json_t *p = at(t, "template/mappings/properties");
    assert_json_eq(at(p, "source/properties/ip"), "{\"type\":\"ip\"}");
    assert_json_eq(at(p, "source/properties/port"), "{\"type\":\"long\"}");
    assert_json_eq(at(p, "event/properties/duration"), "{\"type\":\"long\"}");
    assert_json_eq(at(p, "dhcpv4/properties/option/properties/router"), "{\"type\":\"ip\"}");
    assert_json_eq(at(p, "cassandra/properties/request/properties/headers/properties/op"),
                   "{\"type\":\"keyword\",\"ignore_above\":1024}");
    assert_json_eq(at(p, "dns/properties/question/properties/etld_plus_one"),
                   "{\"type\":\"keyword\",\"ignore_above\":1024}");
    assert_json_eq(at(p, "status"), "{\"type\":\"keyword\",\"ignore_above\":1024}");
    ck_assert_ptr_null(at(p, "flow_id")); /* migration alias */
    json_decref(t);
}
END_TEST

START_TEST(names_and_overrides)
{
    struct pb_cfg *c = cfg("setup.template:\n  name: web-%{[agent.version]}\n"
                           "  pattern: web-*\n  priority: 300\n  enabled: false\n"
                           "  overwrite: true\n"
                           "  settings:\n    index.number_of_shards: 2\n"
                           "    index.refresh_interval: 30s\n"
                           "    _source.enabled: false\n"
                           "setup.ilm.policy_name: pol-%{[beat.name]}\n");
    ck_assert_str_eq(pb_template_name(c), "web-8.17.2");
    ck_assert_str_eq(pb_template_pattern(c), "web-*");
    ck_assert(!pb_template_enabled(c));
    ck_assert(pb_template_overwrite(c));
    ck_assert_str_eq(pb_ilm_policy_name(c), "pol-packetbeat");
    json_t *t = pb_template_build(c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    assert_json_eq(at(t, "index_patterns"), "[\"web-*\"]");
    assert_json_eq(at(t, "priority"), "300");
    assert_json_eq(at(t, "template/settings/index/number_of_shards"), "2");
    assert_json_eq(at(t, "template/settings/index/refresh_interval"), "\"30s\"");
    assert_json_eq(at(t, "template/settings/index/lifecycle"), "{\"name\":\"pol-packetbeat\"}");
    assert_json_eq(at(t, "template/mappings/_source"), "{\"enabled\":false}");
    json_decref(t);
    pb_cfg_free(c);

    c = cfg("setup.template.settings.index.lifecycle.name: mine\n");
    t = pb_template_build(c, err, sizeof err);
    assert_json_eq(at(t, "template/settings/index/lifecycle"), "{\"name\":\"mine\"}");
    json_decref(t);
    pb_cfg_free(c);

    c = cfg("{}");
    ck_assert_str_eq(pb_template_name(c), "packetbeat-8.17.2");
    ck_assert_str_eq(pb_template_pattern(c), "packetbeat-8.17.2");
    ck_assert(pb_template_enabled(c));
    ck_assert(!pb_template_overwrite(c));
    ck_assert(pb_ilm_enabled(c));
    ck_assert(!pb_dsl_enabled(c));
    ck_assert_str_eq(pb_ilm_policy_name(c), "packetbeat");
    ck_assert_str_eq(pb_dsl_data_stream(c), "packetbeat-8.17.2");
    pb_cfg_free(c);
    ck_assert_str_eq(pb_template_name(NULL), "packetbeat-8.17.2");
}
END_TEST

START_TEST(lifecycles)
{
    struct pb_cfg *c = cfg("{}");
    json_t *p = pb_ilm_policy(c);
    assert_json_eq(p, "{\"policy\":{\"phases\":{\"hot\":{\"actions\":{\"rollover\":"
                      "{\"max_age\":\"30d\",\"max_primary_shard_size\":\"50gb\"}}}}}}");
    json_decref(p);
    p = pb_dsl_lifecycle(c);
    assert_json_eq(p, "{\"data_retention\":\"7d\"}");
    json_decref(p);
    json_t *t = pb_template_build_ex(c, NULL, PB_TEMPLATE_NO_LIFECYCLE | PB_TEMPLATE_SERVERLESS,
                                     err, sizeof err);
    ck_assert_ptr_null(at(t, "template/settings/index/lifecycle"));
    ck_assert_ptr_null(at(t, "template/settings/index/max_docvalue_fields_search"));
    json_decref(t);
    pb_cfg_free(c);

    c = cfg("setup.dsl.enabled: true\nsetup.template.settings.index.number_of_shards: 1\n");
    ck_assert(!pb_ilm_enabled(c));
    t = pb_template_build_ex(c, NULL, PB_TEMPLATE_SERVERLESS, err, sizeof err);
    assert_json_eq(at(t, "template/lifecycle"), "{\"data_retention\":\"7d\"}");
    ck_assert_ptr_null(at(t, "template/settings/index/lifecycle"));
    ck_assert_ptr_null(at(t, "template/settings/index/number_of_shards"));
    json_decref(t);
    pb_cfg_free(c);

    setup_tmp();
    write_tmp("pol.json", "{\"policy\":{\"phases\":{\"warm\":{\"min_age\":\"2d\"}}}}");
    write_tmp("bad.json", "{\"policy\": ");
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "path.config: %s\nsetup.ilm.policy_file: pol.json\n"
             "setup.dsl.policy_file: %s/bad.json\n",
             tmpdir, tmpdir);
    c = cfg(yaml);
    p = pb_ilm_policy(c);
    assert_json_eq(p, "{\"policy\":{\"phases\":{\"warm\":{\"min_age\":\"2d\"}}}}");
    json_decref(p);
    ck_assert_ptr_null(pb_dsl_lifecycle(c));
    ck_assert_msg(strstr(pb_template_errmsg(), "bad.json") != NULL, "%s", pb_template_errmsg());
    pb_cfg_free(c);
    teardown_tmp();
}
END_TEST

/* The processor's rules on a small fields file. */
START_TEST(field_rules)
{
    setup_tmp();
    write_tmp("f.yml", "- key: a\n  fields:\n"
                       "  - name: g\n    type: group\n    default_field: false\n    fields:\n"
                       "    - {name: k}\n"
                       "    - {name: t, type: text, default_field: true}\n"
                       "    - {name: num, type: integer}\n"
                       "    - {name: s, type: scaled_float}\n"
                       "    - {name: w, type: wildcard, multi_fields: [{name: text, type: "
                       "match_only_text}]}\n"
                       "    - {name: o, type: object, object_type: keyword}\n"
                       "    - {name: arr, type: array}\n"
                       "    - {name: i, type: keyword, ignore_above: -1, index: false}\n"
                       "  - {name: top.x, type: keyword, ignore_above: 256}\n"
                       "  - {name: al, type: alias, path: top.x}\n"
                       "  - {name: old, type: alias, path: top.x, migration: true}\n"
                       "  - {name: d, type: date}\n"
                       "  - {name: m, type: object, object_type_params: [{object_type: long}, "
                       "{object_type: keyword}]}\n"
                       "- key: b\n  fields:\n"
                       "  - name: g\n    type: group\n    fields:\n"
                       "    - {name: extra, type: ip}\n"
                       "  - {name: dyn, type: keyword, dynamic_template: true}\n");
    char yaml[256];
    snprintf(yaml, sizeof yaml, "path.config: %s\nsetup.template.fields: f.yml\n", tmpdir);
    json_t *t = build(yaml);
    json_t *p = at(t, "template/mappings/properties");
    assert_json_eq(at(p, "g/properties/k"), "{\"type\":\"keyword\",\"ignore_above\":1024}");
    assert_json_eq(at(p, "g/properties/t"), "{\"type\":\"text\",\"norms\":false}");
    assert_json_eq(at(p, "g/properties/num"), "{\"type\":\"long\"}");
    assert_json_eq(at(p, "g/properties/s"), "{\"type\":\"scaled_float\",\"scaling_factor\":1000}");
    assert_json_eq(at(p, "g/properties/w"),
                   "{\"type\":\"wildcard\",\"fields\":{\"text\":{\"type\":\"match_only_text\"}}}");
    assert_json_eq(at(p, "g/properties/o"), "{\"type\":\"object\"}");
    ck_assert_ptr_null(at(p, "g/properties/arr"));
    assert_json_eq(at(p, "g/properties/i"), "{\"type\":\"keyword\",\"index\":false}");
    assert_json_eq(at(p, "g/properties/extra"), "{\"type\":\"ip\"}"); /* groups merge */
    assert_json_eq(at(p, "top"),
                   "{\"properties\":{\"x\":{\"type\":\"keyword\",\"ignore_above\":256}}}");
    assert_json_eq(at(p, "al"), "{\"type\":\"alias\",\"path\":\"top.x\"}");
    ck_assert_ptr_null(at(p, "old"));
    assert_json_eq(at(p, "d"), "{\"type\":\"date\"}");
    ck_assert_ptr_null(at(p, "dyn"));
    assert_json_eq(at(t, "template/mappings/dynamic_templates"),
                   "[{\"g.o\":{\"mapping\":{\"type\":\"keyword\"},"
                   "\"match_mapping_type\":\"string\",\"path_match\":\"g.o.*\"}},"
                   "{\"m_long\":{\"mapping\":{\"type\":\"long\"},\"match_mapping_type\":\"long\","
                   "\"path_match\":\"m.*\"}},"
                   "{\"m_string\":{\"mapping\":{\"type\":\"keyword\"},"
                   "\"match_mapping_type\":\"string\",\"path_match\":\"m.*\"}},"
                   "{\"dyn\":{\"mapping\":{\"type\":\"keyword\",\"ignore_above\":1024}}},"
                   "{\"strings_as_keyword\":{\"mapping\":{\"ignore_above\":1024,"
                   "\"type\":\"keyword\"},\"match_mapping_type\":\"string\"}}]");
    /* group default_field false, overridden for g.t; top-level fields on */
    assert_json_eq(at(t, "template/settings/index/query/default_field"),
                   "[\"g.t\",\"top.x\",\"dyn\",\"fields.*\"]");
    json_decref(t);

    /* older Elasticsearch: match_only_text -> text, wildcard -> keyword */
    struct pb_cfg *c = cfg(yaml);
    t = pb_template_build_for(c, "7.8.0", err, sizeof err);
    p = at(t, "template/mappings/properties");
    assert_json_eq(at(p, "g/properties/w"),
                   "{\"type\":\"keyword\",\"ignore_above\":1024,\"fields\":{\"text\":"
                   "{\"type\":\"text\",\"norms\":false}}}");
    json_decref(t);
    pb_cfg_free(c);

    /* append_fields add; a known name is an error */
    snprintf(yaml, sizeof yaml,
             "path.config: %s\nsetup.template.fields: f.yml\n"
             "setup.template.append_fields: [{name: g.new, type: long}]\n",
             tmpdir);
    t = build(yaml);
    assert_json_eq(at(t, "template/mappings/properties/g/properties/new"), "{\"type\":\"long\"}");
    json_decref(t);
    snprintf(yaml, sizeof yaml,
             "path.config: %s\nsetup.template.fields: f.yml\n"
             "setup.template.append_fields: [{name: top.x, type: long}]\n",
             tmpdir);
    c = cfg(yaml);
    ck_assert_ptr_null(pb_template_build(c, err, sizeof err));
    ck_assert_msg(strstr(err, "top.x") != NULL, "%s", err);
    pb_cfg_free(c);

    /* missing and malformed fields files are errors, not crashes */
    c = cfg("setup.template.fields: /nonexistent/fields.yml\n");
    ck_assert_ptr_null(pb_template_build(c, err, sizeof err));
    ck_assert_msg(strstr(err, "/nonexistent/fields.yml") != NULL, "%s", err);
    pb_cfg_free(c);
    write_tmp("bad.yml", "- key: a\n  fields: [\n");
    snprintf(yaml, sizeof yaml, "path.config: %s\nsetup.template.fields: bad.yml\n", tmpdir);
    c = cfg(yaml);
    ck_assert_ptr_null(pb_template_build(c, err, sizeof err));
    pb_cfg_free(c);
    teardown_tmp();
}
END_TEST

START_TEST(json_template)
{
    setup_tmp();
    write_tmp("t.json", "{\"index_patterns\":[\"x\"],\"template\":{}}");
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             "path.config: %s\nsetup.template.name: ignored\n"
             "setup.template.json: {enabled: true, path: t.json, name: jname, "
             "data_stream: true}\n",
             tmpdir);
    struct pb_cfg *c = cfg(yaml);
    ck_assert_str_eq(pb_template_name(c), "jname");
    json_t *t = pb_template_build(c, err, sizeof err);
    assert_json_eq(t, "{\"index_patterns\":[\"x\"],\"template\":{},\"data_stream\":{}}");
    json_decref(t);
    pb_cfg_free(c);
    snprintf(yaml, sizeof yaml,
             "path.config: %s\nsetup.template.json: {enabled: true, path: no.json}\n", tmpdir);
    c = cfg(yaml);
    ck_assert_ptr_null(pb_template_build(c, err, sizeof err));
    ck_assert_msg(strstr(err, "no.json") != NULL, "%s", err);
    pb_cfg_free(c);
    teardown_tmp();
}
END_TEST

START_TEST(embedded_fields_and_dump)
{
    ck_assert_uint_gt(pb_fields_yml_len, 10000);
    ck_assert_uint_eq(strlen(pb_fields_yml), pb_fields_yml_len);
    ck_assert_ptr_nonnull(strstr(pb_fields_yml, "- key: ecs"));
    json_t *j = json_pack("{s:[i],s:{}}", "b", 1, "a");
    char *s = pb_template_dumps(j);
    ck_assert_str_eq(s, "{\n  \"a\": {},\n  \"b\": [\n    1\n  ]\n}\n");
    pb_free(s);
    json_decref(j);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("template");
    tcase_add_test(tc, default_shape);
    tcase_add_test(tc, names_and_overrides);
    tcase_add_test(tc, lifecycles);
    tcase_add_test(tc, field_rules);
    tcase_add_test(tc, json_template);
    tcase_add_test(tc, embedded_fields_and_dump);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int failed = pt_run_suite(suite());
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
