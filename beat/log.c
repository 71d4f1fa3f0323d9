/* SPDX-License-Identifier: Apache-2.0
 * beat/log.c - libbeat-style logger: ECS JSON lines on stderr (-e) or in
 * path.logs/<name>-<date>.ndjson, debug output only for enabled selectors.
 */
#include "beat/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/event.h"

#define MAX_SELECTORS 32

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum pb_log_level min_level = PB_LOG_INFO;
static char *selectors[MAX_SELECTORS];
static size_t nselectors;
static bool all_selectors;
static bool json_lines = true;
static FILE *out;

static const char *level_name(enum pb_log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "critical"};
    return (unsigned)l < 5 ? names[l] : "info";
}

static void clear_selectors(void)
{
    for (size_t i = 0; i < nselectors; i++) {
        pb_free(selectors[i]);
    }
    nselectors = 0;
    all_selectors = false;
}

int pb_log_setup(const struct pb_log_opts *o)
{
    pthread_mutex_lock(&log_mu);
    min_level = o->level;
    json_lines = o->json;
    clear_selectors();
    if (o->selectors != NULL) {
        const char *s = o->selectors;
        while (*s != '\0') {
            const char *end = strchr(s, ',');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            while (len > 0 && *s == ' ') {
                s++;
                len--;
            }
            if (len == 1 && *s == '*') {
                all_selectors = true;
            } else if (len > 0 && nselectors < MAX_SELECTORS) {
                selectors[nselectors++] = pb_strndup(s, len);
            }
            s += len;
            if (*s == ',') {
                s++;
            }
        }
    }
    if (out != NULL && out != stderr) {
        fclose(out);
    }
    out = NULL;
    if (!o->to_stderr && o->logs_path != NULL) {
        char path[4096];
        mkdir(o->logs_path, 0750);
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char date[16];
        strftime(date, sizeof date, "%Y%m%d", &tm);
        snprintf(path, sizeof path, "%s/%s-%s.ndjson", o->logs_path,
                 o->name != NULL ? o->name : "packetbeat", date);
        out = fopen(path, "a");
    }
    if (out == NULL && o->to_stderr) {
        out = stderr;
    }
    pthread_mutex_unlock(&log_mu);
    return 0;
}

void pb_log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (out != NULL && out != stderr) {
        fclose(out);
    }
    out = NULL;
    clear_selectors();
    pthread_mutex_unlock(&log_mu);
}

bool pb_log_enabled(enum pb_log_level lvl, const char *selector)
{
    if (lvl < min_level) {
        return false;
    }
    if (lvl != PB_LOG_DEBUG) {
        return true;
    }
    if (all_selectors || nselectors == 0) {
        return all_selectors || nselectors == 0;
    }
    for (size_t i = 0; i < nselectors; i++) {
        if (selector != NULL && strcmp(selectors[i], selector) == 0) {
            return true;
        }
    }
    return false;
}

static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields,
                 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields,
                 const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char tbuf[40];
    pb_time_fmt((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, false, tbuf);

    pthread_mutex_lock(&log_mu);
    FILE *f = out != NULL ? out : stderr;
    if (json_lines) {
        json_t *line = json_object();
        json_object_set_new(line, "log.level", json_string(level_name(lvl)));
        json_object_set_new(line, "@timestamp", json_string(tbuf));
        if (selector != NULL) {
            json_object_set_new(line, "log.logger", json_string(selector));
        }
        json_object_set_new(line, "message", pb_json_strn(msg, strlen(msg)));
        json_object_set_new(line, "service.name", json_string("packetbeat"));
        if (fields != NULL) {
            json_object_update(line, (json_t *)fields);
        }
        if (json_object_get(line, "ecs.version") == NULL) {
            json_object_set_new(line, "ecs.version", json_string("1.6.0"));
        }
        char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s != NULL) {
            fprintf(f, "%s\n", s);
            free(s);
        }
        json_decref(line);
    } else {
        char *extra = fields != NULL ? json_dumps(fields, JSON_COMPACT) : NULL;
        fprintf(f, "%s\t%s\t%s\t%s%s%s\n", tbuf, level_name(lvl), selector ? selector : "", msg,
                extra != NULL ? "\t" : "", extra != NULL ? extra : "");
        free(extra);
    }
    fflush(f);
    pthread_mutex_unlock(&log_mu);
}

void pb_log(enum pb_log_level lvl, const char *selector, const char *fmt, ...)
{
    if (!pb_log_enabled(lvl, selector)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, selector, NULL, fmt, ap);
    va_end(ap);
}

void pb_log_fields(enum pb_log_level lvl, const char *selector, const json_t *fields,
                   const char *fmt, ...)
{
    if (!pb_log_enabled(lvl, selector)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, selector, fields, fmt, ap);
    va_end(ap);
}
