/* SPDX-License-Identifier: Apache-2.0
 * beat/summary/fingerprint.h - normalise SQL statements and URLs so that
 * requests that differ only in their literal values group together:
 *   SELECT * FROM t WHERE id = 1 AND name = 'bob'  ->  SELECT * FROM t WHERE id = ? AND name = ?
 *   WHERE id IN (1, 2, 3)                          ->  WHERE id IN (?+)
 *   /users/42/orders?page=2&sort=asc               ->  /users/?/orders?page=?&sort=?
 * Pure functions over bounded input; output always NUL-terminated and
 * truncated to the caller's buffer.
 */
#ifndef PB_SUMMARY_FINGERPRINT_H
#define PB_SUMMARY_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>

/* SQL: comments dropped, whitespace runs collapsed to one space, string and
 * numeric literals replaced by `?`, runs of two or more `?` separated by
 * commas collapsed to `?+`. dq_strings: "..." is a string literal (MySQL)
 * rather than an identifier (PostgreSQL, standard SQL). Returns the length
 * written (excluding the NUL). out_len must be >= 1. */
size_t pb_fp_sql(const char *sql, size_t len, bool dq_strings, char *out, size_t out_len);

/* URL path and query: path segments that are numbers, UUIDs or long hex
 * strings become `?`; each query value becomes `?` (keys kept in order).
 * query may be NULL. Returns the length written. */
size_t pb_fp_url(const char *path, size_t path_len, const char *query, size_t query_len, char *out,
                 size_t out_len);

#endif
