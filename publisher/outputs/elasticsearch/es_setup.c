/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/elasticsearch/es_setup.c - index management as
 * libbeat's idxmgmt does it for Packetbeat 8.17.2, and `packetbeat setup`.
 *
 * Order of the requests:
 *   ILM     GET  /_ilm/policy/<policy>          (unless overwrite or
 *                                                check_exists: false)
 *           PUT  /_ilm/policy/<policy>          when missing / overwrite
 *   template HEAD /_index_template/<name>        (not for `setup`, which
 *                                                always overwrites)
 *           PUT  /_index_template/<name>        the composable template
 *   stream  GET  /_data_stream/<name>           exists: done
 *           PUT  /_data_stream/<name>
 *   DSL     PUT  /_data_stream/<name>/_lifecycle  (serverless or
 *                                                setup.dsl.enabled)
 * Dashboards (--dashboards) go to Kibana: beat/dashboards.c.
 */
#include <stdio.h>
#include <string.h>

#include "beat/alloc.h"
#include "beat/dashboards.h"
#include "beat/err.h"
#include "beat/log.h"
#include "beat/template.h"
#include "es.h"
#include "publisher/setup.h"

#define SEL "index-management"

int es_output_conns(const struct pb_cfg *node, struct es_conn_cfg *cc, struct es_conn **conns,
                    size_t *n, char *err, size_t errlen);

void es_setup_docs_fini(struct es_setup_docs *d)
{
    if (d == NULL) {
        return;
    }
    pb_free(d->template_name);
    json_decref(d->template);
    pb_free(d->policy_name);
    json_decref(d->policy);
    json_decref(d->dsl);
    memset(d, 0, sizeof *d);
}

int es_setup_docs_init(struct es_setup_docs *d, const struct pb_cfg *root, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->template_enabled = pb_template_enabled(root);
    d->template_overwrite = pb_template_overwrite(root);
    const char *tn = pb_template_name(root);
    d->template_name = pb_strdup(tn != NULL ? tn : "packetbeat-" PB_VERSION);
    if (d->template_enabled) {
        d->template = pb_template_build(root, d->template_err, sizeof d->template_err);
    }
    d->ilm_enabled = pb_ilm_enabled(root);
    if (pb_cfg_bool(pb_cfg_get(root, "setup.ilm"), "overwrite", false, &d->ilm_overwrite) != 0 ||
        pb_cfg_bool(pb_cfg_get(root, "setup.ilm"), "check_exists", true, &d->ilm_check_exists) !=
            0 ||
        pb_cfg_bool(pb_cfg_get(root, "setup.dsl"), "enabled", false, &d->dsl_enabled) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        es_setup_docs_fini(d);
        return -PB_EINVAL;
    }
    const char *pn = pb_ilm_policy_name(root);
    d->policy_name = pb_strdup(pn != NULL ? pn : "packetbeat");
    if (d->ilm_enabled) {
        d->policy = pb_ilm_policy(root);
        if (d->policy == NULL) {
            snprintf(err, errlen, "error loading ILM policy: %s", pb_template_errmsg());
            es_setup_docs_fini(d);
            return -PB_EINVAL;
        }
    }
    d->dsl = pb_dsl_lifecycle(root);
    if (d->template_name == NULL || d->policy_name == NULL) {
        snprintf(err, errlen, "out of memory");
        es_setup_docs_fini(d);
        return -PB_ENOMEM;
    }
    return 0;
}

static int put_json(struct es_conn *c, const char *path, const json_t *body, long *status,
                    char *err, size_t errlen)
{
    struct pb_codec_buf b = {0};
    int rc = body != NULL ? pb_json_encode(body, false, false, &b) : 0;
    if (rc != 0) {
        snprintf(err, errlen, "couldn't load json. Error: cannot encode the body");
        return rc;
    }
    rc = es_request(c, "PUT", path, NULL, b.p, b.len, status, err, errlen);
    pb_codec_buf_free(&b);
    if (rc != 0) {
        char why[1024];
        snprintf(why, sizeof why, "%s", err);
        snprintf(err, errlen, "couldn't load json. Error: %s", why);
        return rc;
    }
    if (*status > 300) {
        snprintf(err, errlen, "couldn't load json. Error: %s: %.*s. Response body: %.*s",
                 c->status_line, (int)(c->resp.len > 512 ? 512 : c->resp.len),
                 c->resp.p ? c->resp.p : "", (int)(c->resp.len > 512 ? 512 : c->resp.len),
                 c->resp.p ? c->resp.p : "");
        return -PB_EIO;
    }
    return 0;
}

static int exists(struct es_conn *c, const char *method, const char *path, bool *yes, char *err,
                  size_t errlen)
{
    long status = 0;
    int rc = es_request(c, method, path, NULL, NULL, 0, &status, err, errlen);
    if (rc != 0) {
        return rc;
    }
    *yes = status == 200;
    if (status != 200 && status != 404) {
        snprintf(err, errlen, "%s %s: unexpected status %s", method, path, c->status_line);
        return -PB_EIO;
    }
    return 0;
}

int es_setup_index(struct es_conn *c, const struct es_setup_docs *d, bool force, char *err,
                   size_t errlen)
{
    char path[512];
    long status = 0;
    bool yes = false;
    bool use_dsl = d->dsl_enabled || c->serverless;

    /* lifecycle policy (ILM) */
    if (!use_dsl && d->ilm_enabled && d->policy != NULL) {
        yes = false;
        if (d->ilm_check_exists && !d->ilm_overwrite) {
            snprintf(path, sizeof path, "/_ilm/policy/%s", d->policy_name);
            if (exists(c, "GET", path, &yes, err, errlen) != 0) {
                return -PB_EIO;
            }
        }
        if (yes) {
            pb_info(SEL, "ILM policy %s exists already.", d->policy_name);
        } else {
            snprintf(path, sizeof path, "/_ilm/policy/%s", d->policy_name);
            if (put_json(c, path, d->policy, &status, err, errlen) != 0) {
                return -PB_EIO;
            }
            pb_info(SEL, "ILM policy %s successfully created.", d->policy_name);
        }
    }

    /* template and data stream */
    if (!d->template_enabled) {
        return 0;
    }
    if (d->template == NULL) {
        snprintf(err, errlen, "error loading template: %s", d->template_err);
        return -PB_EINVAL;
    }
    snprintf(path, sizeof path, "/_index_template/%s", d->template_name);
    yes = false;
    if (!force && !d->template_overwrite) {
        if (exists(c, "HEAD", path, &yes, err, errlen) != 0) {
            return -PB_EIO;
        }
    }
    if (yes) {
        pb_info(SEL, "Template \"%s\" already exists and will not be overwritten.",
                d->template_name);
    } else {
        if (put_json(c, path, d->template, &status, err, errlen) != 0) {
            char why[1024];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "error loading template: failed to load template: %s", why);
            return -PB_EIO;
        }
        pb_info(SEL, "Template with name \"%s\" loaded.", d->template_name);
    }
    snprintf(path, sizeof path, "/_data_stream/%s", d->template_name);
    if (exists(c, "GET", path, &yes, err, errlen) != 0) {
        return -PB_EIO;
    }
    if (yes) {
        pb_info(SEL, "Data stream %s already exists", d->template_name);
    } else {
        if (put_json(c, path, NULL, &status, err, errlen) != 0) {
            char why[1024];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "error loading template: failed to put data stream: %s", why);
            return -PB_EIO;
        }
        pb_info(SEL, "Data stream with name \"%s\" loaded.", d->template_name);
    }
    if (use_dsl && d->dsl != NULL) {
        snprintf(path, sizeof path, "/_data_stream/%s/_lifecycle", d->template_name);
        if (put_json(c, path, d->dsl, &status, err, errlen) != 0) {
            return -PB_EIO;
        }
        pb_info(SEL, "DSL policy for %s successfully created.", d->template_name);
    }
    pb_info(SEL, "Loaded index template.");
    return 0;
}

/* The enabled output section, NULL when none. */
static const struct pb_cfg *enabled_output(const struct pb_cfg *root)
{
    const struct pb_cfg *out = pb_cfg_get(root, "output");
    size_t n = pb_cfg_len(out);
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg *s = pb_cfg_at(out, i);
        bool en = true;
        if (s->kind != PB_CFG_MAP && s->kind != PB_CFG_NULL) {
            continue;
        }
        if (pb_cfg_bool(s, "enabled", true, &en) == 0 && en) {
            return s;
        }
    }
    return NULL;
}

static int setup_index(const struct pb_cfg *root, char *err, size_t errlen)
{
    const struct pb_cfg *out = enabled_output(root);
    if (out == NULL || strcmp(out->key, "elasticsearch") != 0) {
        snprintf(err, errlen,
                 "index management requested but the Elasticsearch output is not "
                 "configured/enabled");
        return -PB_EINVAL;
    }
    struct es_conn_cfg cc;
    struct es_conn *conns = NULL;
    size_t n = 0;
    memset(&cc, 0, sizeof cc);
    int rc = es_output_conns(out, &cc, &conns, &n, err, errlen);
    if (rc != 0) {
        es_conn_cfg_free(&cc);
        return rc;
    }
    struct es_setup_docs d;
    rc = es_setup_docs_init(&d, root, err, errlen);
    if (rc == 0) {
        /* the first host that answers */
        struct pb_codec_buf errs = {0};
        struct es_conn *c = NULL;
        for (size_t i = 0; i < n; i++) {
            char why[1024];
            if (es_ping(&conns[i], why, sizeof why) == 0) {
                c = &conns[i];
                break;
            }
            pb_error("esclientleg", "error connecting to Elasticsearch at %s: %s", conns[i].url,
                     why);
            char line[1400];
            int l = snprintf(line, sizeof line, "%serror connecting to Elasticsearch at %s: %s",
                             errs.len > 0 ? " " : "", conns[i].url, why);
            (void)pb_codec_buf_append(&errs, line, l > 0 ? (size_t)l : 0);
        }
        if (c == NULL) {
            snprintf(err, errlen,
                     "couldn't connect to any of the configured Elasticsearch hosts. Errors: "
                     "[%.*s]",
                     (int)errs.len, errs.p != NULL ? errs.p : "");
            rc = -PB_EIO;
        } else {
            rc = es_setup_index(c, &d, true, err, errlen);
            if (rc == 0) {
                printf("Index setup finished.\n");
            }
        }
        pb_codec_buf_free(&errs);
        es_setup_docs_fini(&d);
    }
    for (size_t i = 0; i < n; i++) {
        es_conn_fini(&conns[i]);
    }
    pb_free(conns);
    es_conn_cfg_free(&cc);
    return rc;
}

/* Dashboards: the saved objects into Kibana through its saved objects API
 * (beat/dashboards.c), with libbeat's progress lines. */
static int setup_dashboards(const struct pb_cfg *root, char *err, size_t errlen)
{
    printf("Loading dashboards (Kibana must be running and reachable)\n");
    fflush(stdout);
    int rc = pb_dashboards_load(root, true, err, errlen);
    if (rc == PB_DASHBOARDS_NOT_FOUND) {
        /* nothing to load where it was told to look: not a failure */
        printf("Skipping loading dashboards, %s\n", err);
        fflush(stdout);
        err[0] = '\0';
        return 0;
    }
    if (rc == 0) {
        printf("Loaded dashboards\n");
        fflush(stdout);
    }
    return rc;
}

int pb_setup_run(const struct pb_cfg *root, unsigned what, char *err, size_t errlen)
{
    int rc = 0;
    err[0] = '\0';
    if (what == 0) {
        what = PB_SETUP_INDEX | PB_SETUP_PIPELINES | PB_SETUP_DASHBOARDS;
    }
    if (what & PB_SETUP_INDEX) {
        rc = setup_index(root, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    if (what & PB_SETUP_DASHBOARDS) {
        /* `setup` loads dashboards even with setup.dashboards.enabled false,
           as libbeat does when asked for them */
        rc = setup_dashboards(root, err, errlen);
        if (rc != 0) {
            return rc;
        }
    }
    /* --pipelines: Packetbeat has no module pipelines; nothing to load */
    return 0;
}
