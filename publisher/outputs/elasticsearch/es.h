/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/elasticsearch/es.h - the pieces of output.elasticsearch
 * (libbeat outputs/elasticsearch + esleg/eslegclient) shared by its files:
 *
 *   es_conn.c     one HTTP connection to one host through libcurl: URL
 *                 building, auth, headers, parameters, proxy, TLS, gzip,
 *                 GET / (version), the `test output` driver
 *   es_bulk.c     pure: index/pipeline selectors (format strings, rules),
 *                 the _bulk NDJSON body, the _bulk response parser
 *   elasticsearch.c  the output ops: config, presets, connect, publish
 *   es_setup.c    `packetbeat setup`: template, ILM/DSL, data stream
 */
#ifndef PB_ES_H
#define PB_ES_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "beat/cfg.h"
#include "beat/event.h"
#include "publisher/codec.h"
#include "publisher/deflate.h"

/* Caps. */
#define ES_MAX_HOSTS 64
#define ES_MAX_HEADERS 64
#define ES_MAX_RULES 64
/* A response body larger than this is cut off (and a _bulk answer then
   fails to parse, so its events are retried). */
#define ES_MAX_RESPONSE_BYTES (64u * 1024u * 1024u)
/* Events waiting for a dead letter re-send, across all clients. */
#define ES_MAX_DEAD_LETTER 65536u

/* ---- connection settings (shared by the clients of one output) ---------- */

struct es_conn_cfg {
    char *username; /* owned, NULL none */
    char *password; /* owned */
    char *api_key;  /* owned: already base64("id:key"), NULL none */
    char **headers; /* owned "Name: value" lines */
    size_t nheaders;
    char *query;     /* owned: encoded `parameters` ("a=1&b=2"), NULL none */
    char *proxy_url; /* owned, NULL: the environment's */
    bool proxy_disable;
    /* ssl.* */
    bool ssl_enabled; /* ssl.enabled (default true when an ssl section exists) */
    int verify;       /* 2 full/strict, 1 certificate, 0 none */
    char **cas;       /* owned: ssl.certificate_authorities (files or PEM) */
    size_t ncas;
    char *cert;            /* owned: ssl.certificate */
    char *key;             /* owned: ssl.key */
    char *key_passphrase;  /* owned */
    long tls_min, tls_max; /* CURL_SSLVERSION_* */
    int64_t timeout_ns;    /* timeout (90s) */
    int64_t idle_ns;       /* idle_connection_timeout */
    int compression;       /* compression_level 0..9 */
    bool escape_html;
    char user_agent[192];
};

void es_conn_cfg_free(struct es_conn_cfg *c);

/* Builds the URL of one `hosts` entry as libbeat's MakeURL does: the
   default scheme is `protocol` (or http), the default port 9200, `path`
   is prepended to the URL's path. Credentials in the URL are taken out into
   *user / *pass (owned, NULL when absent). NULL with err set on a bad
   host. */
char *es_make_url(const char *host, const char *protocol, const char *path, char **user,
                  char **pass, char *err, size_t errlen);

/* ---- connection ------------------------------------------------------- */

struct es_conn {
    const struct es_conn_cfg *cfg; /* borrowed */
    char *url;                     /* owned: no trailing '/', no credentials */
    char *user, *pass;             /* owned: from the URL, override cfg's */
    CURL *curl;                    /* owned, kept between requests (keep-alive) */
    struct pb_codec_buf resp;      /* last response body */
    struct pb_codec_buf gz;        /* compressed request body */
    struct pb_deflater deflater;   /* what compresses it */
    char status_line[96];          /* "429 Too Many Requests" */
    char version[64];              /* from GET /, "" until connected */
    int major, minor, patch;
    bool serverless; /* version.build_flavor == "serverless" */
};

/* conn owns nothing yet; url is copied. 0 or -PB_ENOMEM. */
int es_conn_init(struct es_conn *c, const struct es_conn_cfg *cfg, const char *url,
                 const char *user, const char *pass);
void es_conn_fini(struct es_conn *c);

/* One request. path starts with '/' ("" or "/" for the root); query is
   added after the configured parameters when non-NULL. body may be NULL;
   it is gzipped when cfg->compression > 0. *status is the HTTP status (0 when
   no answer); the body is in c->resp (NUL-terminated). Returns 0 when an
   answer came (any status), -PB_EIO when not, with Go-like wording in err
   ("Post \"<url>\": <why>"). */
int es_request(struct es_conn *c, const char *method, const char *path, const char *query,
               const void *body, size_t len, long *status, char *err, size_t errlen);

/* GET / and parse version.number. 0, or negative with the reason in err. */
int es_ping(struct es_conn *c, char *err, size_t errlen);

/* libbeat's `test output` steps for this connection, printed to out. 0 ok. */
int es_conn_test(struct es_conn *c, FILE *out);

/* ---- selectors (outil.Selector) ---------------------------------------- */

struct es_fmt; /* a format string: literal text, %{[field]}, %{[field]:default}, %{+date} */
struct es_sel; /* `index` + `indices` (or `pipeline` + `pipelines`) */

struct es_fmt *es_fmt_new(const char *s, char *err, size_t errlen);
void es_fmt_free(struct es_fmt *f);
/* Expands f for ev into out (owned; pb_free it). 0, or -PB_EINVAL with the
   missing key in err. */
int es_fmt_expand(const struct es_fmt *f, const json_t *ev, char **out, char *err, size_t errlen);

/* key "index" / multikey "indices" below node; def is used when key is
   absent (NULL: none). Selector results are lower-cased. NULL with err set
   on a bad config; *empty is true when nothing was configured at all. */
struct es_sel *es_sel_new(const struct pb_cfg *node, const char *key, const char *multikey,
                          const char *def, char *err, size_t errlen);
void es_sel_free(struct es_sel *s);
/* The selected name (owned) or NULL: *err set when it failed, empty err when
   nothing matched and there is no default. */
char *es_sel_select(const struct es_sel *s, const json_t *ev, char *err, size_t errlen);
/* True when s may read event fields other than @timestamp, @metadata.* and
 * agent.* (a field in its format, or conditional rules): false for the
 * default index, a constant or a date pattern. */
bool es_sel_reads_fields(const struct es_sel *s);
/* True when s reads nothing but @metadata.* and agent.* (no @timestamp,
 * date pattern or rule): it chooses the same for any two events whose
 * @metadata and agent are equal. NULL (no selector): true. */
bool es_sel_reads_meta_only(const struct es_sel *s);

/* ---- bulk body ------------------------------------------------------------ */

enum es_op { ES_OP_CREATE, ES_OP_INDEX, ES_OP_DELETE };

/* What goes into the action line for one event. */
struct es_item_meta {
    enum es_op op;
    char *index;    /* owned */
    char *pipeline; /* owned, NULL none */
    char *id;       /* owned, NULL none */
    bool borrowed;  /* the strings are a memo's (elasticsearch.c): not freed */
};
void es_item_meta_clear(struct es_item_meta *m);

/* The action line and document for ev as Packetbeat writes them:
   {"create":{"_index":"<index>","pipeline":"<p>","_id":"<id>"}}\n<doc>\n
   where doc is the event without @metadata. doc_type non-NULL adds "_type"
   (Elasticsearch < 7). A delete has no document line. On failure b->len is
   unchanged. 0, -PB_ENOMEM, -PB_ELIMIT. */
int es_bulk_append(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                   const json_t *ev, bool escape_html);
/* The same from an event still in its arena (pb_ev_encode_doc). */
int es_bulk_append_ev(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                      const pb_event *ev, bool escape_html);
/* The same from the event's compact encoding js (len bytes, no escape_html)
   less its @metadata member, the cut_len bytes at cut_at
   (pb_enc_spans.meta_*: with the comma before it, or, first in the object,
   the comma after it goes too). */
int es_bulk_append_cut(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                       const char *js, size_t len, size_t cut_at, size_t cut_len);
/* Same, with an already encoded document (dead letter). */
int es_bulk_append_raw(struct pb_codec_buf *b, const struct es_item_meta *m, const char *doc_type,
                       const char *doc, size_t doclen, bool escape_html);

/* The meta of ev: @metadata.index / raw_index (lower-cased) or the index
   selector; @metadata.pipeline (lower-cased) or the pipeline selector;
   @metadata._id; @metadata.op_type. version_major/minor decide between
   create (7.5 and later, or with an _id) and index. 0 or -PB_EINVAL with
   Packetbeat's reason in err. */
int es_item_meta_of(const json_t *ev, const struct es_sel *index, const struct es_sel *pipeline,
                    int version_major, int version_minor, struct es_item_meta *m, char *err,
                    size_t errlen);

/* The dead letter document libbeat sends in place of an event ES refused:
   {"@timestamp":..,"error.message":..,"error.type":<status>,"message":"<event json>"}.
   Owned string or NULL. */
char *es_dead_letter_doc(const json_t *ev, int status, const char *errmsg, bool escape_html);

/* ---- bulk response ---------------------------------------------------------- */

enum es_item_result {
    ES_ITEM_ACK,   /* < 300 */
    ES_ITEM_DUP,   /* 409: already there (create with an _id / TSDS) */
    ES_ITEM_RETRY, /* 429, >= 500, or not answered */
    ES_ITEM_FATAL, /* other 4xx: not indexable (drop or dead letter) */
};

enum es_item_result es_item_classify(int status);

/* Parses the answer of a _bulk request that carried n items. status[i] gets
   each item's status, 0 for items the answer does not cover (too few items,
   a broken item and everything after it). msg (optional, n entries) gets
   each item's "error" as JSON text (owned, NULL without). Returns the number
   of items read, or -PB_EPROTO when the body is not a bulk answer at all
   (every status stays 0) with the reason in err. */
int es_bulk_parse(const char *body, size_t len, size_t n, int *status, char **msg, char *err,
                  size_t errlen);
/* es_bulk_parse without its reading of the usual answer (every item a
   plain status): the whole body parsed as a tree. The same results; for
   the tests that compare the two. */
int es_bulk_parse_tree(const char *body, size_t len, size_t n, int *status, char **msg, char *err,
                       size_t errlen);

/* ---- index management (es_setup.c) ------------------------------------------- */

/* What index management loads, read from setup.template.*, setup.ilm.*,
   setup.dsl.* once (the config tree is gone after init). */
struct es_setup_docs {
    bool template_enabled;
    bool template_overwrite;
    char *template_name; /* owned */
    json_t *template;    /* owned, NULL: template_err says why */
    char template_err[512];
    bool ilm_enabled;
    bool ilm_overwrite;
    bool ilm_check_exists;
    char *policy_name; /* owned */
    json_t *policy;    /* owned, NULL on a bad policy_file */
    bool dsl_enabled;
    json_t *dsl; /* owned */
};

int es_setup_docs_init(struct es_setup_docs *d, const struct pb_cfg *root, char *err,
                       size_t errlen);
void es_setup_docs_fini(struct es_setup_docs *d);
/* Loads the lifecycle policy, the index template and the data stream as
   libbeat's index manager does. force (the `setup` command) overwrites the
   template; otherwise an existing one is kept. 0 or negative with err. */
int es_setup_index(struct es_conn *c, const struct es_setup_docs *d, bool force, char *err,
                   size_t errlen);

#endif
