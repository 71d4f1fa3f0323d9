/* SPDX-License-Identifier: Apache-2.0
 * beat/template.h - index management documents as Packetbeat 8.17.2 builds
 * them: the composable index template generated from templates/fields.yml
 * (embedded in the binary), the default ILM policy and the data stream
 * lifecycle (DSL) default, all honouring setup.template.*, setup.ilm.* and
 * setup.dsl.* from the config tree.
 *
 * Used by `packetbeat export template|ilm-policy` and by the Elasticsearch
 * output's `setup --index-management` / on-connect loading.
 */
#ifndef PB_TEMPLATE_H
#define PB_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "beat/cfg.h"

/* The Elasticsearch version the template is built for by default. */
#define PB_TEMPLATE_ES_VERSION PB_VERSION

/* pb_template_build_ex flags */
#define PB_TEMPLATE_NO_LIFECYCLE                                                                   \
    0x1u /* no index.lifecycle.name / DSL lifecycle                                                \
            (export template --noilm) */
#define PB_TEMPLATE_SERVERLESS                                                                     \
    0x2u /* serverless ES: no number_of_shards,                                                    \
            no max_docvalue_fields_search */

/* The composable index template body (what PUT _index_template/<name> takes):
 * index_patterns, data_stream, priority, template.settings, template.mappings
 * (+ template.lifecycle under setup.dsl.enabled). `root` is the whole config
 * (may be NULL: defaults). With ILM on (the default) settings.index carries
 * lifecycle.name = the policy name, as Packetbeat's setup and export do.
 * When setup.template.json.enabled is set the JSON file is returned instead
 * (plus data_stream: {} with json.data_stream). Does not look at
 * setup.template.enabled: callers check pb_template_enabled() first.
 * Returns a new reference, or NULL with a message in err (bad fields file,
 * duplicate append_fields, unreadable json.path). */
json_t *pb_template_build(const struct pb_cfg *root, char *err, size_t errlen);

/* Same, for a given Elasticsearch version ("8.17.2", "7.17.0"); NULL or ""
 * means PB_TEMPLATE_ES_VERSION. */
json_t *pb_template_build_for(const struct pb_cfg *root, const char *es_version, char *err,
                              size_t errlen);
json_t *pb_template_build_ex(const struct pb_cfg *root, const char *es_version, unsigned flags,
                             char *err, size_t errlen);

/* The template name: setup.template.name (or setup.template.json.name when
 * json.enabled), default "packetbeat-8.17.2"; %{[agent.version]} and the like
 * expanded. Points to a static or thread-local buffer valid until the next
 * call from the same thread. */
const char *pb_template_name(const struct pb_cfg *root);
/* The index pattern: setup.template.pattern, default "packetbeat-8.17.2";
 * set but empty: "<name>*". Same buffer rules. */
const char *pb_template_pattern(const struct pb_cfg *root);

/* setup.template.enabled (default true) and setup.template.overwrite
 * (default false). */
bool pb_template_enabled(const struct pb_cfg *root);
bool pb_template_overwrite(const struct pb_cfg *root);

/* The ILM policy body (what PUT _ilm/policy/<name> takes):
 * {"policy": {"phases": {"hot": {"actions": {"rollover":
 *   {"max_age": "30d", "max_primary_shard_size": "50gb"}}}}}},
 * or the content of setup.ilm.policy_file (relative to path.config). New
 * reference; NULL when policy_file cannot be read or parsed (message from
 * pb_template_errmsg()). */
json_t *pb_ilm_policy(const struct pb_cfg *root);

/* setup.ilm.policy_name, default "packetbeat". Same buffer rules as
 * pb_template_name. */
const char *pb_ilm_policy_name(const struct pb_cfg *root);

/* ILM in use: setup.ilm.enabled (default true) and not setup.dsl.enabled. */
bool pb_ilm_enabled(const struct pb_cfg *root);
/* setup.dsl.enabled (default false). */
bool pb_dsl_enabled(const struct pb_cfg *root);

/* The data stream lifecycle body (PUT _data_stream/<name>/_lifecycle), used
 * instead of ILM (serverless, setup.dsl.enabled): the content of
 * setup.dsl.policy_file or the default {"data_retention": "7d"}. New reference,
 * NULL on a bad policy_file. */
json_t *pb_dsl_lifecycle(const struct pb_cfg *root);
/* setup.dsl.data_stream_pattern, default "packetbeat-8.17.2". */
const char *pb_dsl_data_stream(const struct pb_cfg *root);

/* The document as `export` prints it: 2-space indent, keys sorted, trailing
 * newline. Owned, pb_free it; NULL on allocation failure. */
char *pb_template_dumps(const json_t *doc);

/* The embedded templates/fields.yml text (NUL-terminated) and its length. */
extern const char pb_fields_yml[];
extern const size_t pb_fields_yml_len;

/* Message of the last failure of pb_ilm_policy / pb_dsl_lifecycle
 * (thread-local). */
const char *pb_template_errmsg(void);

#endif
