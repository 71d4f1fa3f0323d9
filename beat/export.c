/* SPDX-License-Identifier: Apache-2.0
 * beat/export.c - `packetbeat export template|ilm-policy|index-pattern|
 * dashboard` (see export.h).
 */
#include "beat/export.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "beat/alloc.h"
#include "beat/dashboards.h"
#include "beat/template.h"

/* Writes text to <dir>/<component>/<name>.json (directories 0755, file 0644). */
static int write_file(const char *dir, const char *component, const char *name, const char *text,
                      FILE *errf)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, component);
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(errf, "Error: path too long\n");
        return 1;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(errf, "Error: failed to create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        fprintf(errf, "Error: failed to create directory %s: %s\n", path, strerror(errno));
        return 1;
    }
    n = snprintf(path, sizeof path, "%s/%s/%s.json", dir, component, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(errf, "Error: path too long\n");
        return 1;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(errf, "Error: failed to write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fputs(text, f);
    if (fclose(f) != 0) {
        fprintf(errf, "Error: failed to write %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(errf, "Writing to %s (%s)\n", path, component);
    return 0;
}

static int emit(json_t *doc, const struct pb_export_opts *o, const char *component,
                const char *name, FILE *out, FILE *errf)
{
    char *text = pb_template_dumps(doc);
    json_decref(doc);
    if (text == NULL) {
        fprintf(errf, "Error: out of memory\n");
        return 1;
    }
    int rc = 0;
    if (o->dir != NULL && o->dir[0] != '\0') {
        rc = write_file(o->dir, component, name, text, errf);
    } else {
        fputs(text, out);
    }
    pb_free(text);
    return rc;
}

int pb_export_run(const struct pb_cfg *root, const char *what, const struct pb_export_opts *o,
                  FILE *out, FILE *errf)
{
    if (strcmp(what, "template") == 0) {
        char err[1024];
        unsigned flags = o->noilm ? PB_TEMPLATE_NO_LIFECYCLE : 0;
        json_t *t = pb_template_build_ex(root, o->es_version, flags, err, sizeof err);
        if (t == NULL) {
            fprintf(errf, "Error exporting template: %s\n", err);
            return 1;
        }
        return emit(t, o, "template", pb_template_name(root), out, errf);
    }
    if (strcmp(what, "ilm-policy") == 0) {
        if (pb_dsl_enabled(root)) {
            /* under setup.dsl.enabled the lifecycle policy is the DSL one */
            json_t *l = pb_dsl_lifecycle(root);
            if (l == NULL) {
                fprintf(errf, "Error exporting ilm-policy: %s\n", pb_template_errmsg());
                return 1;
            }
            return emit(l, o, "policy", pb_dsl_data_stream(root), out, errf);
        }
        json_t *p = pb_ilm_policy(root);
        if (p == NULL) {
            fprintf(errf, "Error exporting ilm-policy: %s\n", pb_template_errmsg());
            return 1;
        }
        return emit(p, o, "policy", pb_ilm_policy_name(root), out, errf);
    }
    if (strcmp(what, "index-pattern") == 0) {
        /* the data view for packetbeat-*, printed as libbeat prints it */
        char err[1024];
        json_t *ip = pb_dashboards_index_pattern(root, false, err, sizeof err);
        if (ip == NULL) {
            fprintf(errf, "Error generating Index Pattern: %s.\n", err);
            return 1;
        }
        char *text = pb_template_dumps(ip);
        json_decref(ip);
        if (text == NULL) {
            fprintf(errf, "Error writing Index Pattern: out of memory.\n");
            return 1;
        }
        fputs(text, out);
        pb_free(text);
        return 0;
    }
    if (strcmp(what, "dashboard") == 0) {
        return pb_dashboards_export(root, o->id, o->folder, out, errf);
    }
    fprintf(errf, "Error: unknown export target \"%s\"\n", what);
    return 1;
}
