/* SPDX-License-Identifier: Apache-2.0
 * protos/common/csv.h - result tables as text, the way Packetbeat's SQL
 * plugins (mysql, pgsql) publish them in `response`: Go's encoding/csv
 * writer (comma, "\n" line ends), after each field had its line feeds (and,
 * in rows, carriage returns) spelled as the two characters "\n" ("\r").
 */
#ifndef PB_CSV_H
#define PB_CSV_H

#include <stdbool.h>
#include <stddef.h>

/* Growable NUL-terminated text; zeroed is empty. Allocation failure is
 * sticky (oom) and makes pb_csv_end return NULL. */
struct pb_csv {
    char *p; /* owned */
    size_t len, cap;
    bool oom;
};

/* Appends n bytes as they are. */
void pb_csv_put(struct pb_csv *b, const void *s, size_t n);
/* Appends one line: the n fields v[i] (lens[i] bytes each) separated by
 * commas, then "\n". cr: carriage returns are spelled "\r" too (rows; the
 * header line leaves them alone). */
void pb_csv_line(struct pb_csv *b, char *const *v, const size_t *lens, size_t n, bool cr);
/* The text (pb_malloc'd, the caller frees it) and its length in *outlen;
 * NULL when an allocation failed (everything freed). */
char *pb_csv_end(struct pb_csv *b, size_t *outlen);

#endif
