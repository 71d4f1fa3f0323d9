/* SPDX-License-Identifier: Apache-2.0
 * publisher/fmtstr.h - libbeat's event format strings (common/fmtstr) and
 * output selectors (outputs/outil), shared by outputs that pick a topic,
 * key or index per event.
 *
 * Format strings: literal text with
 *   %{[field.path]}           the field's value ([a][b] is the same as [a.b])
 *   %{[field.path]:default}   ... or `default` when the field is missing
 *   %{+yyyy.MM.dd}            the event's @timestamp (UTC, Joda-style pattern)
 * Strings are used as they are; integers, floats (Go's shortest 'g') and
 * booleans are converted; other values (objects, arrays, null) fail.
 *
 * Selectors (outil.BuildSelectorFromConfig with EnableSingleOnly and case
 * kept): the rules of the list key (`topics`, `keys`) are tried first, in
 * order, each with its own format string (`topic`/`key`), optional
 * `mappings` table, `default` and `when` condition; then the single key
 * (`topic`, `key`). A rule whose fields are missing yields its default (or
 * nothing) and the next rule is tried. Nothing selected: an empty result.
 */
#ifndef PB_FMTSTR_H
#define PB_FMTSTR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "beat/cfg.h"
#include "publisher/codec.h"

/* Cap on one format string's expansion (a topic, key or index). */
#define PB_FMTSTR_MAX_OUT (64u * 1024u)

struct pb_fmtstr;
struct pb_outsel;

/* Compiles s. NULL with a message in err on a syntax error (missing '}',
 * an empty or malformed field reference). */
struct pb_fmtstr *pb_fmtstr_compile(const char *s, char *err, size_t errlen);
/* True when the string has no field or time references. */
bool pb_fmtstr_is_const(const struct pb_fmtstr *f);
/* Appends the expansion for ev (NULL ev: constant strings only) to out.
 * 0, or -PB_EINVAL when a referenced field is missing (and has no default)
 * or cannot be turned into a string, -PB_ELIMIT past PB_FMTSTR_MAX_OUT,
 * -PB_ENOMEM; on failure out->len is unchanged. */
int pb_fmtstr_run(const struct pb_fmtstr *f, const json_t *ev, struct pb_codec_buf *out);
void pb_fmtstr_free(struct pb_fmtstr *f);

/* Appends tm (+ nanos) formatted with a Joda-style pattern of patlen bytes,
 * the subset Beats use in index names, topics and file names: y/Y/x, M
 * (MMM, MMMM names), d, D, H, k, h, K, m, s, S, E, a, 'quoted' ('' is a
 * quote). Shared by format strings and the outputs. 0 or -PB_ENOMEM. */
int pb_fmt_joda_time(struct pb_codec_buf *b, const char *pat, size_t patlen, const struct tm *tm,
                     long nanos);

/* A field of ev by dotted path (a key containing dots is tried whole
 * first). Borrowed; NULL when absent. */
const json_t *pb_event_get(const json_t *ev, const char *path, size_t len);

/* Builds a selector from an output's node: `key` is the single format
 * string key ("topic"), `multikey` the rule list ("topics"). With
 * fail_empty, neither being present is an error in libbeat's words.
 * NULL with a message in err. */
struct pb_outsel *pb_outsel_new(const struct pb_cfg *node, const char *key, const char *multikey,
                                bool fail_empty, char *err, size_t errlen);
/* Selects for ev: out gets the result, NUL-terminated (out->len excludes
 * the NUL); an empty result means no rule matched. 0 or a negative pb_err
 * (only on memory or size limits: missing fields are not errors here). */
int pb_outsel_select(const struct pb_outsel *s, const json_t *ev, struct pb_codec_buf *out);
/* True when the selector always gives the same result (a constant). */
bool pb_outsel_is_const(const struct pb_outsel *s);
void pb_outsel_free(struct pb_outsel *s);

#endif
