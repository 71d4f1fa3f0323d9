/* SPDX-License-Identifier: Apache-2.0
 * beat/kibana.h - the Kibana HTTP client of `setup --dashboards` and
 * `export dashboard`, configured by setup.kibana.* as libbeat's Kibana client
 * is: host (default localhost:5601), protocol, path, space.id,
 * username/password or api_key (taken from output.elasticsearch when
 * setup.kibana does not set them), headers, ssl.*, timeout (90s).
 *
 * Every request carries `Accept: application/json`, `kbn-xsrf: 1`, the
 * User-Agent and the configured headers; JSON bodies go as
 * `Content-Type: application/json`, saved-object imports as multipart form
 * data with one `file` part (`application/ndjson`).
 */
#ifndef PB_KIBANA_H
#define PB_KIBANA_H

#include <stdbool.h>
#include <stddef.h>

#include "beat/cfg.h"

/* Largest Kibana answer kept (an export of many objects); past it the
 * request fails. */
#define PB_KIBANA_MAX_RESPONSE (64u * 1024u * 1024u)

struct pb_kibana;

/* Reads setup.kibana.* from root (the whole config). NULL with err set on a
 * bad setting ("invalid Kibana host: ...", api_key together with URL
 * credentials). Nothing is sent yet. */
struct pb_kibana *pb_kibana_new(const struct pb_cfg *root, char *err, size_t errlen);
void pb_kibana_free(struct pb_kibana *k);

/* The base URL (no credentials, no trailing '/', with /s/<space>). */
const char *pb_kibana_url(const struct pb_kibana *k);

/* GET /api/status and read version.number (+ build_snapshot), as libbeat's
 * client does when it is created. 0 ok. Negative with libbeat's wording in
 * err ("fail to get the Kibana version: HTTP GET request to <url>/api/status
 * fails: ..."); *no_answer (optional) is set when Kibana did not answer at
 * all (refused, unreachable, timed out) rather than answering badly. */
int pb_kibana_connect(struct pb_kibana *k, bool *no_answer, char *err, size_t errlen);

/* After a successful connect: "8.17.2" (with "-SNAPSHOT" for snapshots),
 * the parsed numbers, and whether the build flavor is serverless. */
const char *pb_kibana_version(const struct pb_kibana *k);
bool pb_kibana_version_before(const struct pb_kibana *k, int major, int minor, int patch);
bool pb_kibana_serverless(const struct pb_kibana *k);

/* One request: path below the base URL ("/api/status"), query without '?'
 * (may be NULL), body (may be NULL) sent with content_type (NULL:
 * application/json). 0 when an answer came (any status) with *status and
 * the body in *resp (owned, NUL-terminated, pb_free it); negative when not,
 * with "fail to execute the HTTP <M> request: <why>" in err. */
int pb_kibana_request(struct pb_kibana *k, const char *method, const char *path, const char *query,
                      const char *content_type, const void *body, size_t len, long *status,
                      char **resp, size_t *resplen, char *err, size_t errlen);

/* POST /api/saved_objects/_import?overwrite=true with ndjson as the file
 * part named filename, as libbeat's ImportMultiPartFormFile does. 0 when
 * Kibana answered < 300 and `success` is not false; otherwise negative with
 * "returned <status> to import file: <why>. Response: <body>" in err. */
int pb_kibana_import(struct pb_kibana *k, const char *filename, const char *ndjson, size_t len,
                     char *err, size_t errlen);

/* POST /api/saved_objects/_export for one dashboard with its references
 * (deep), without the export summary line. *out is the ndjson answer
 * (owned). 0 or negative with err. */
int pb_kibana_export_dashboard(struct pb_kibana *k, const char *id, char **out, size_t *outlen,
                               char *err, size_t errlen);

#endif
