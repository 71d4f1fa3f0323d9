/* SPDX-License-Identifier: Apache-2.0
 * beat/log.c - libbeat-style logger: ECS JSON lines on stderr (-e), syslog
 * or in path.logs/<name>-<date>[-N].ndjson with libbeat's rotation (size,
 * interval, start-up; keepfiles), debug output only for enabled selectors.
 * Lines with event data go to a second rotating file (logging.event_data).
 */
#include "beat/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/cfg.h"
#include "beat/event.h"
#include "beat/limits.h"

#define MAX_SELECTORS 32

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum pb_log_level min_level = PB_LOG_INFO;
static char *selectors[MAX_SELECTORS];
static size_t nselectors;
static bool all_selectors;
static bool json_lines = true;

/* A rotating file sink. The main log has one (stderr when it is off), the
 * event data log another; all access under log_mu. */
#define LOG_MAX_FILES 4096 /* files of ours looked at in the log directory */
struct rfile {
    bool on;
    bool lazy; /* not opened yet: the first line opens it (event data log) */
    bool rotate_on_startup;
    FILE *fp;
    char dir[PATH_MAX];
    char name[256];
    char active[PATH_MAX];
    uint64_t size, max;
    unsigned keep, perm;
    int64_t interval_ns, period;
};
static struct rfile rf; /* the main log */
static struct rfile ef; /* the event data log (logging.event_data.files) */
static bool ev_stderr;  /* logging.event_data.to_stderr */
static bool use_syslog;

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

/* ---- the rotating file --------------------------------------------------- */

static int64_t period_now(const struct rfile *r)
{
    if (r->interval_ns <= 0) {
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return now / r->interval_ns;
}

/* "<name>-YYYYMMDD[-N].ndjson" → date and index; false for other names
 * (the event data log's "<name>-events-data-..." is not the main log's). */
static bool parse_log_name(const struct rfile *r, const char *fn, long *date, long *idx)
{
    size_t nl = strlen(r->name);
    if (strncmp(fn, r->name, nl) != 0 || fn[nl] != '-') {
        return false;
    }
    const char *p = fn + nl + 1;
    char *end = NULL;
    for (int i = 0; i < 8; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
    }
    *date = strtol(p, &end, 10);
    if (end != p + 8) {
        return false;
    }
    *idx = 0;
    if (*end == '-') {
        const char *q = end + 1;
        *idx = strtol(q, &end, 10);
        if (end == q || *idx < 0) {
            return false;
        }
    }
    return strcmp(end, ".ndjson") == 0;
}

struct logfile {
    long date, idx;
    char name[256];
};

static int cmp_logfile(const void *a, const void *b)
{
    const struct logfile *x = a, *y = b;
    if (x->date != y->date) {
        return x->date < y->date ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Our files in the directory, oldest first; returns the count. */
static size_t list_logs(const struct rfile *r, struct logfile *lf, size_t max)
{
    DIR *d = opendir(r->dir);
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (strlen(e->d_name) < sizeof lf[n].name &&
            parse_log_name(r, e->d_name, &lf[n].date, &lf[n].idx)) {
            snprintf(lf[n].name, sizeof lf[n].name, "%s", e->d_name);
            n++;
        }
    }
    closedir(d);
    qsort(lf, n, sizeof lf[0], cmp_logfile);
    return n;
}

static long today(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return (long)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Deletes all but the newest r->keep files other than the active one. */
static void purge_logs(const struct rfile *r, struct logfile *lf, size_t n)
{
    size_t rotated = 0;
    const char *base = strrchr(r->active, '/');
    base = base != NULL ? base + 1 : r->active;
    for (size_t i = 0; i < n; i++) {
        rotated += strcmp(lf[i].name, base) != 0;
    }
    for (size_t i = 0; i < n && rotated > r->keep; i++) {
        if (strcmp(lf[i].name, base) == 0) {
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%.3800s/%s", r->dir, lf[i].name);
        unlink(path);
        rotated--;
    }
}

static bool open_active(struct rfile *r, bool truncate)
{
    int fd = open(r->active, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                  (mode_t)r->perm);
    if (fd < 0) {
        return false;
    }
    r->fp = fdopen(fd, "a");
    if (r->fp == NULL) {
        close(fd);
        return false;
    }
    struct stat st;
    r->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return true;
}

static void rfile_close(struct rfile *r)
{
    if (r->fp != NULL) {
        fclose(r->fp);
    }
    r->fp = NULL;
    r->on = false;
    r->active[0] = '\0';
}

/* Picks the next file name as the date rotator does: <name>-<today> when
 * no file of today exists, else <name>-<today>-<last index + 1>. */
static void rotate_locked(struct rfile *r)
{
    if (r->fp != NULL) {
        fclose(r->fp);
    }
    r->fp = NULL;
    static struct logfile lf[LOG_MAX_FILES];
    size_t n = list_logs(r, lf, LOG_MAX_FILES);
    long t = today(), last = -1;
    for (size_t i = 0; i < n; i++) {
        if (lf[i].date == t) {
            last = lf[i].idx;
        }
    }
    if (last < 0) {
        snprintf(r->active, sizeof r->active, "%.3600s/%.200s-%08ld.ndjson", r->dir, r->name, t);
    } else {
        snprintf(r->active, sizeof r->active, "%.3600s/%.200s-%08ld-%ld.ndjson", r->dir, r->name, t,
                 last + 1);
    }
    purge_logs(r, lf, n);
    if (!open_active(r, true)) {
        r->on = false;
    }
}

static void mkdir_p(const char *dir, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, mode);
            *p = '/';
        }
    }
    mkdir(tmp, mode);
}

static void file_open_first(struct rfile *r)
{
    mode_t dmode = 0700;
    if (r->perm & 0070) {
        dmode |= 0050;
    }
    if (r->perm & 0007) {
        dmode |= 0005;
    }
    mkdir_p(r->dir, dmode);
    static struct logfile lf[LOG_MAX_FILES];
    size_t n = list_logs(r, lf, LOG_MAX_FILES);
    if (n == 0) {
        snprintf(r->active, sizeof r->active, "%.3600s/%.200s-%08ld.ndjson", r->dir, r->name,
                 today());
        if (!open_active(r, true)) {
            r->on = false;
        }
        return;
    }
    /* continue from the newest file unless it must be rotated */
    snprintf(r->active, sizeof r->active, "%.3800s/%s", r->dir, lf[n - 1].name);
    struct stat st;
    if (r->rotate_on_startup || (stat(r->active, &st) == 0 && (uint64_t)st.st_size >= r->max)) {
        rotate_locked(r);
        return;
    }
    if (!open_active(r, false)) {
        r->on = false;
    }
}

/* Configures r from f (zero values: the given defaults) in dir and opens
 * its file now, or at its first line when lazy. */
static void rfile_start(struct rfile *r, const char *dir, const struct pb_log_files *f,
                        const char *name, uint64_t def_bytes, unsigned def_keep, bool lazy)
{
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->max = f->rotate_bytes != 0 ? f->rotate_bytes : def_bytes;
    r->keep = f->keepfiles != 0 ? f->keepfiles : def_keep;
    r->perm = f->permissions != 0 ? f->permissions : 0600;
    r->interval_ns = f->interval_ns;
    r->rotate_on_startup = !f->no_rotate_on_startup;
    r->period = period_now(r);
    r->on = true;
    r->lazy = lazy;
    if (!lazy) {
        file_open_first(r);
    }
}

/* Before writing len bytes: open a lazy file, rotate on size or interval. */
static void maybe_rotate(struct rfile *r, size_t len)
{
    if (!r->on) {
        return;
    }
    if (r->lazy) {
        r->lazy = false;
        file_open_first(r);
    }
    int64_t p = period_now(r);
    if (r->on && (r->fp == NULL || r->size + len > r->max || p != r->period)) {
        r->period = p;
        rotate_locked(r);
    }
}

void pb_log_active_file(char *buf, size_t len)
{
    pthread_mutex_lock(&log_mu);
    snprintf(buf, len, "%s", rf.on ? rf.active : "");
    pthread_mutex_unlock(&log_mu);
}

/* Reads <prefix>.files.* into f, over the defaults given in it; the error
 * names the key as libbeat does. */
static int read_files_cfg(const struct pb_cfg *root, const char *prefix, struct pb_log_files *f,
                          char *err, size_t errlen)
{
    char k[7][96];
    static const char *const leaf[] = {"path",        "name",     "rotateeverybytes", "keepfiles",
                                       "permissions", "interval", "rotateonstartup"};
    for (size_t i = 0; i < 7; i++) {
        snprintf(k[i], sizeof k[i], "%s.files.%s", prefix, leaf[i]);
    }
    bool rotate = !f->no_rotate_on_startup;
    int64_t keep = f->keepfiles, perm = f->permissions, interval = f->interval_ns;
    uint64_t bytes = f->rotate_bytes;
    if (pb_cfg_str(root, k[0], f->path, &f->path) < 0 ||
        pb_cfg_str(root, k[1], f->name, &f->name) < 0 ||
        pb_cfg_size(root, k[2], bytes, &bytes) < 0 || pb_cfg_int(root, k[3], keep, &keep) < 0 ||
        pb_cfg_int(root, k[4], perm, &perm) < 0 ||
        pb_cfg_duration(root, k[5], interval, &interval) < 0 ||
        pb_cfg_bool(root, k[6], rotate, &rotate) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -1;
    }
    if (keep < 2 || keep > 1024) {
        snprintf(err, errlen,
                 "the number of files to keep should be between 2 and 1024 accessing '%s'", k[3]);
        return -1;
    }
    if (bytes == 0) {
        snprintf(err, errlen, "rotateeverybytes must be greater than 0 accessing '%s'", k[2]);
        return -1;
    }
    if (perm <= 0 || perm > 0777) {
        snprintf(err, errlen, "invalid permissions accessing '%s'", k[4]);
        return -1;
    }
    if (interval != 0 && interval < 1000000000LL) {
        snprintf(err, errlen, "the minimum time interval for log rotation is 1s accessing '%s'",
                 k[5]);
        return -1;
    }
    f->rotate_bytes = bytes;
    f->keepfiles = (unsigned)keep;
    f->permissions = (unsigned)perm;
    f->interval_ns = interval;
    f->no_rotate_on_startup = !rotate;
    return 0;
}

int pb_log_read_cfg(const struct pb_cfg *root, struct pb_log_opts *o, char *err, size_t errlen)
{
    if (pb_cfg_bool(root, "logging.json", true, &o->json) < 0 ||
        pb_cfg_bool(root, "logging.to_syslog", false, &o->to_syslog) < 0 ||
        pb_cfg_bool(root, "logging.event_data.to_stderr", false, &o->event_to_stderr) < 0 ||
        pb_cfg_bool(root, "logging.event_data.to_files", true, &o->event_to_files) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -1;
    }
    /* libbeat's defaults: logp.DefaultConfig and logp.DefaultEventConfig */
    struct pb_log_files f = {
        .rotate_bytes = 10u * 1024u * 1024u, .keepfiles = 7, .permissions = 0600};
    struct pb_log_files ev = {.rotate_bytes = 5u * 1024u * 1024u,
                              .keepfiles = 2,
                              .permissions = 0600,
                              .no_rotate_on_startup = true};
    if (pb_cfg_str(root, "path.logs", NULL, &ev.path) < 0) {
        ev.path = NULL;
    }
    if (read_files_cfg(root, "logging", &f, err, errlen) < 0 ||
        read_files_cfg(root, "logging.event_data", &ev, err, errlen) < 0) {
        return -1;
    }
    o->files = f;
    o->event_files = ev;
    return 0;
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
    rfile_close(&rf);
    rfile_close(&ef);
    if (use_syslog) {
        closelog();
        use_syslog = false;
    }
    const char *beat = o->name != NULL ? o->name : "packetbeat";
    const char *dir = o->files.path != NULL ? o->files.path : o->logs_path;
    if (!o->to_stderr && o->to_syslog) {
        openlog(beat, LOG_PID, LOG_LOCAL0);
        use_syslog = true;
    } else if (!o->to_stderr && dir != NULL) {
        rfile_start(&rf, dir, &o->files, o->files.name != NULL ? o->files.name : beat,
                    10u * 1024u * 1024u, 7, false);
    }
    /* the event data log ignores the main log's outputs (-e included) */
    ev_stderr = o->event_to_stderr;
    const char *edir = o->event_files.path != NULL ? o->event_files.path : o->logs_path;
    if (!ev_stderr && o->event_to_files && edir != NULL) {
        char ename[256];
        snprintf(ename, sizeof ename, "%.200s-events-data", beat);
        rfile_start(&ef, edir, &o->event_files,
                    o->event_files.name != NULL ? o->event_files.name : ename, 5u * 1024u * 1024u,
                    2, true);
    }
    pthread_mutex_unlock(&log_mu);
    return 0;
}

void pb_log_close(void)
{
    pthread_mutex_lock(&log_mu);
    rfile_close(&rf);
    rfile_close(&ef);
    ev_stderr = false;
    if (use_syslog) {
        closelog();
        use_syslog = false;
    }
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

/* Writes one line to the main log or, for event data, to the event data
 * log only. */
static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields, bool event,
                 const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields, bool event,
                 const char *fmt, va_list ap)
{
    if (event) {
        pthread_mutex_lock(&log_mu);
        bool sink = ev_stderr || ef.on;
        pthread_mutex_unlock(&log_mu);
        if (!sink) {
            return;
        }
    }
    /* event data lines carry a whole event: room for it, up to a cap */
    char sbuf[2048];
    char *msg = sbuf;
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(sbuf, sizeof sbuf, fmt, ap);
    if (event && need >= (int)sizeof sbuf) {
        size_t size =
            (size_t)need + 1 < PB_LOG_EVENT_DATA_MAX ? (size_t)need + 1 : PB_LOG_EVENT_DATA_MAX;
        char *big = pb_malloc(size);
        if (big != NULL) {
            vsnprintf(big, size, fmt, ap2);
            msg = big;
        }
    }
    va_end(ap2);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char tbuf[40];
    pb_time_fmt((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, false, tbuf);

    char *text = NULL;
    if (json_lines) {
        json_t *line = json_object();
        json_object_set_new_nocheck(line, "log.level", json_string(level_name(lvl)));
        json_object_set_new_nocheck(line, "@timestamp", json_string(tbuf));
        if (selector != NULL) {
            json_object_set_new_nocheck(line, "log.logger", json_string(selector));
        }
        json_object_set_new_nocheck(line, "message", pb_json_strn(msg, strlen(msg)));
        json_object_set_new_nocheck(line, "service.name", json_string_nocheck("packetbeat"));
        if (event) {
            json_object_set_new_nocheck(line, "log.type", json_string_nocheck("event"));
        }
        if (fields != NULL) {
            json_object_update(line, (json_t *)fields);
        }
        if (json_object_get(line, "ecs.version") == NULL) {
            json_object_set_new_nocheck(line, "ecs.version", json_string_nocheck("1.6.0"));
        }
        text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(line);
    } else {
        char *extra = fields != NULL ? json_dumps(fields, JSON_COMPACT) : NULL;
        size_t n = strlen(msg) + (extra != NULL ? strlen(extra) : 0) + 128 +
                   (selector != NULL ? strlen(selector) : 0);
        text = malloc(n);
        if (text != NULL) {
            snprintf(text, n, "%s\t%s\t%s\t%s%s%s", tbuf, level_name(lvl), selector ? selector : "",
                     msg, extra != NULL ? "\t" : "", extra != NULL ? extra : "");
        }
        free(extra);
    }
    if (msg != sbuf) {
        pb_free(msg);
    }
    if (text == NULL) {
        return;
    }
    size_t len = strlen(text);
    pthread_mutex_lock(&log_mu);
    struct rfile *r = event ? &ef : &rf;
    FILE *f = NULL;
    if (event && ev_stderr) {
        f = stderr;
    } else if (event) {
        maybe_rotate(r, len + 1);
        f = r->fp; /* no file: the line is lost, never sent to the main log */
    } else if (use_syslog) {
        static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT};
        syslog((unsigned)lvl < 5 ? prio[lvl] : LOG_INFO, "%s", text);
    } else {
        maybe_rotate(r, len + 1);
        f = r->fp != NULL ? r->fp : stderr;
    }
    if (f != NULL) {
        fwrite(text, 1, len, f);
        fputc('\n', f);
        fflush(f);
        if (f == r->fp && r->on) {
            r->size += len + 1;
        }
    }
    pthread_mutex_unlock(&log_mu);
    free(text);
}

void pb_log(enum pb_log_level lvl, const char *selector, const char *fmt, ...)
{
    if (!pb_log_enabled(lvl, selector)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, selector, NULL, false, fmt, ap);
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
    vlog(lvl, selector, fields, false, fmt, ap);
    va_end(ap);
}

void pb_log_event_data(enum pb_log_level lvl, const char *selector, const char *fmt, ...)
{
    if (!pb_log_enabled(lvl, selector)) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, selector, NULL, true, fmt, ap);
    va_end(ap);
}
