/* SPDX-License-Identifier: Apache-2.0
 * beat/export.h - `packetbeat export template|ilm-policy|index-pattern|
 * dashboard`: prints the documents of beat/template.h as Packetbeat does, or
 * writes them under --dir (<dir>/template/<name>.json,
 * <dir>/policy/<name>.json); the Kibana data view and dashboards come from
 * beat/dashboards.h.
 */
#ifndef PB_EXPORT_H
#define PB_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "beat/cfg.h"

struct pb_export_opts {
    const char *es_version; /* --es.version, NULL: the beat's version */
    const char *dir;        /* --dir, NULL: print to out */
    bool noilm;             /* --noilm: no lifecycle settings in the template */
    const char *id;         /* export dashboard --id */
    const char *folder;     /* export dashboard --folder */
};

/* Runs `export <what>` for what = "template", "ilm-policy", "index-pattern"
 * or "dashboard". Returns the
 * process exit status (0 ok, 1 error with a message on errf). */
int pb_export_run(const struct pb_cfg *root, const char *what, const struct pb_export_opts *o,
                  FILE *out, FILE *errf);

#endif
