/* SPDX-License-Identifier: Apache-2.0
 * beat/dashboards.h - Kibana dashboards: the saved objects of dashboards/
 * (embedded in the binary by dashboards/embed.cmake), loading them into
 * Kibana as libbeat's dashboard loader does (`setup --dashboards`,
 * setup.dashboards.*), `export dashboard` and `export index-pattern`.
 *
 * setup.dashboards: enabled, directory (libbeat layout <dir>/7/dashboard/
 * *.json with referenced objects beside it, or *.ndjson files), file and
 * url (a zip archive: <top>/<beat>/7/dashboard/..., beat defaulting to
 * packetbeat), index (the data view id/title every object points at),
 * string_replacements (a map of strings replaced in each saved object's
 * JSON text, after the index), only_index, only_dashboards,
 * retry.enabled/interval/maximum, kibana_index (accepted, unused as in 8.x).
 */
#ifndef PB_DASHBOARDS_H
#define PB_DASHBOARDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "beat/cfg.h"

/* One embedded file of dashboards/: ndjson text, one saved object a line. */
struct pb_dash_file {
    const char *name; /* "http.ndjson" */
    const char *text; /* NUL-terminated */
    size_t len;
};
/* index-pattern.ndjson first; the table ends with a {NULL, NULL, 0} entry. */
extern const struct pb_dash_file pb_dash_files[];
extern const size_t pb_dash_nfiles;

/* pb_dashboards_load found no dashboards where it was told to look (a
 * missing setup.dashboards.directory, an archive without <beat>/7/dashboard):
 * libbeat's ErrNotFound, which `setup` reports as "Skipping loading
 * dashboards, <err>" and `run` as an error. */
#define PB_DASHBOARDS_NOT_FOUND 1

/* Loads the data view and the dashboards into Kibana (setup.kibana.*):
 * from the archive of setup.dashboards.file or url when set, else from
 * setup.dashboards.directory, else the embedded set. force: the `setup`
 * command (loads even with setup.dashboards.enabled false); otherwise
 * nothing happens unless enabled. 0, PB_DASHBOARDS_NOT_FOUND, or negative;
 * not 0: libbeat's message in err ("error connecting to Kibana: ...",
 * "Error importing Kibana dashboards: ..."). */
int pb_dashboards_load(const struct pb_cfg *root, bool force, char *err, size_t errlen);

/* The data view saved object for `packetbeat-*` (or setup.dashboards.index
 * when use_setup_index), Kibana 8 format, its `fields` attribute listing the
 * fields of the index template. New reference or NULL with err. */
json_t *pb_dashboards_index_pattern(const struct pb_cfg *root, bool use_setup_index, char *err,
                                    size_t errlen);

/* `export dashboard --id ID [--folder DIR]`: from Kibana's export API when
 * Kibana answers, from the embedded set when it does not. Prints the objects
 * (index patterns removed) as ndjson to out, or writes
 * DIR/_meta/kibana/<major>/<type>/<id>.json files. Returns the exit status;
 * messages go to errf. */
int pb_dashboards_export(const struct pb_cfg *root, const char *id, const char *folder, FILE *out,
                         FILE *errf);

/* Replaces the data view id in every index-pattern reference of obj (also
 * inside panelsJSON) and, for an index-pattern object, its id and title. */
int pb_dashboards_set_index(json_t *obj, const char *index);

#endif
