/* SPDX-License-Identifier: Apache-2.0
 * beat/cfg.h - the configuration tree: packetbeat.yml read with libyaml into
 * maps, lists and scalars, with go-ucfg's rules: dotted keys and nested keys
 * are the same thing ("a.b: 1" == "a: {b: 1}"), ${VAR} and ${VAR:default}
 * are expanded from the environment, -E key=value overrides.
 *
 * Getters take a dotted path relative to a node ("protocols.0.ports": list
 * items by index). A missing key yields the default. A present key of the
 * wrong type is an error whose message names the full key, the file and the
 * line; it is kept in pb_cfg_errmsg() and the getter returns -PB_EINVAL.
 */
#ifndef PB_CFG_H
#define PB_CFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_cfg_kind {
    PB_CFG_NULL,
    PB_CFG_SCALAR,
    PB_CFG_MAP,
    PB_CFG_LIST,
};

struct pb_cfg {
    enum pb_cfg_kind kind;
    char *key;   /* owned; key within the parent map, NULL for list items */
    char *value; /* owned; scalar text after ${} expansion, NULL otherwise */
    bool quoted; /* scalar was quoted: "true" stays a string */
    int line;    /* 1-based line in `file`, 0 when set by -E or code */
    const char *file; /* borrowed from the root */
    struct pb_cfg *parent; /* borrowed */
    struct pb_cfg *child;  /* owned: first child (map entries / list items) */
    struct pb_cfg *next;   /* owned: next sibling */
    size_t nchild;
    char *src_name; /* owned, only on the root: the file name */
};

/* Loads a YAML file. NULL on failure with a message in err naming the file
 * and line. */
struct pb_cfg *pb_cfg_load_file(const char *path, char *err, size_t errlen);
/* Parses YAML text; `name` is used in messages ("-E", "test"). */
struct pb_cfg *pb_cfg_parse(const char *yaml, size_t len, const char *name, char *err,
                            size_t errlen);
/* An empty map root. */
struct pb_cfg *pb_cfg_new_root(const char *name);
void pb_cfg_free(struct pb_cfg *root);

/* -E override: "key=value", the value read as YAML (lists and maps too). */
int pb_cfg_set_override(struct pb_cfg *root, const char *kv, char *err, size_t errlen);
/* Sets a scalar at a dotted path, creating maps on the way. */
int pb_cfg_set(struct pb_cfg *root, const char *path, const char *value);
/* Merges `src` over `dst` (maps recursively, everything else replaced);
 * src is consumed. */
int pb_cfg_merge(struct pb_cfg *dst, struct pb_cfg *src);

/* Node at a dotted path below c, NULL when absent (c may be NULL). */
const struct pb_cfg *pb_cfg_get(const struct pb_cfg *c, const char *path);
bool pb_cfg_has(const struct pb_cfg *c, const char *path);
/* List or map children: count and the i-th child. */
size_t pb_cfg_len(const struct pb_cfg *c);
const struct pb_cfg *pb_cfg_at(const struct pb_cfg *c, size_t i);
/* The full dotted key of a node from the root ("packetbeat.protocols.0.ports"). */
void pb_cfg_path(const struct pb_cfg *c, char *buf, size_t n);

/* Typed getters. Missing → default, 0. Wrong type → -PB_EINVAL + errmsg. */
int pb_cfg_str(const struct pb_cfg *c, const char *path, const char *def, const char **out);
int pb_cfg_bool(const struct pb_cfg *c, const char *path, bool def, bool *out);
int pb_cfg_int(const struct pb_cfg *c, const char *path, int64_t def, int64_t *out);
int pb_cfg_float(const struct pb_cfg *c, const char *path, double def, double *out);
/* Go durations: "400ms", "1m30s", "-1s", "10" (seconds). In nanoseconds. */
int pb_cfg_duration(const struct pb_cfg *c, const char *path, int64_t def_ns, int64_t *out_ns);
/* Byte sizes: "10MiB", "1GB", "4096". */
int pb_cfg_size(const struct pb_cfg *c, const char *path, uint64_t def, uint64_t *out);
/* A list of strings (a scalar counts as a one-item list); *out is an owned
 * NULL-terminated array, free with pb_cfg_strv_free. */
int pb_cfg_strv(const struct pb_cfg *c, const char *path, char ***out, size_t *n);
void pb_cfg_strv_free(char **v);
/* A list of ports (integers 1..65535). */
int pb_cfg_ports(const struct pb_cfg *c, const char *path, uint16_t *ports, size_t max,
                 size_t *n);

/* Parsers used by the getters, exposed for -E values and tests. */
int pb_parse_duration(const char *s, int64_t *out_ns);
int pb_parse_size(const char *s, uint64_t *out);

/* The subtree as JSON (scalars typed as YAML would: int, float, bool, null,
 * string). New reference. */
json_t *pb_cfg_to_json(const struct pb_cfg *c);
/* The subtree as YAML text (for `export config`); owned, pb_free it. */
char *pb_cfg_to_yaml(const struct pb_cfg *c);

/* An extra source for ${NAME} (the keystore): asked after the config's own
 * keys and before environment variables, with the root being expanded.
 * Returns an owned string (pb_free) or NULL. One process-wide resolver. */
typedef char *(*pb_cfg_resolver_fn)(void *ctx, const struct pb_cfg *root, const char *name);
void pb_cfg_set_resolver(pb_cfg_resolver_fn fn, void *ctx);

/* Message of the last failed getter or loader call (thread-local). */
const char *pb_cfg_errmsg(void);

/* strict.perms: the file must be owned by root or the current user and not
 * writable by group or others. 0 or -PB_EINVAL with Packetbeat's message in err. */
int pb_cfg_check_perms(const char *path, char *err, size_t errlen);

#endif
