/* SPDX-License-Identifier: Apache-2.0
 * beat/log.c - libbeat-style logger: ECS JSON lines on stderr (-e), syslog
 * or in path.logs/<name>-<date>[-N].ndjson with libbeat's rotation (size,
 * interval, start-up; keepfiles), debug output only for enabled selectors.
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

#define MAX_SELECTORS 32

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum pb_log_level min_level = PB_LOG_INFO;
static char *selectors[MAX_SELECTORS];
static size_t nselectors;
static bool all_selectors;
static bool json_lines = true;
static FILE *out;

/* the rotating file sink */
#define LOG_MAX_FILES 4096 /* files of ours looked at in the log directory */
static struct {
    bool on;
    char dir[PATH_MAX];
    char name[256];
    char active[PATH_MAX];
    uint64_t size, max;
    unsigned keep, perm;
    int64_t interval_ns, period;
} rf;
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

static int64_t period_now(void)
{
    if (rf.interval_ns <= 0) {
        return 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    return now / rf.interval_ns;
}

/* "<name>-YYYYMMDD[-N].ndjson" → date and index; false for other names. */
static bool parse_log_name(const char *fn, long *date, long *idx)
{
    size_t nl = strlen(rf.name);
    if (strncmp(fn, rf.name, nl) != 0 || fn[nl] != '-') {
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
static size_t list_logs(struct logfile *lf, size_t max)
{
    DIR *d = opendir(rf.dir);
    size_t n = 0;
    if (d == NULL) {
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        if (strlen(e->d_name) < sizeof lf[n].name &&
            parse_log_name(e->d_name, &lf[n].date, &lf[n].idx)) {
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

/* Deletes all but the newest rf.keep files other than the active one. */
static void purge_logs(struct logfile *lf, size_t n)
{
    size_t rotated = 0;
    const char *base = strrchr(rf.active, '/');
    base = base != NULL ? base + 1 : rf.active;
    for (size_t i = 0; i < n; i++) {
        rotated += strcmp(lf[i].name, base) != 0;
    }
    for (size_t i = 0; i < n && rotated > rf.keep; i++) {
        if (strcmp(lf[i].name, base) == 0) {
            continue;
        }
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%.3800s/%s", rf.dir, lf[i].name);
        unlink(path);
        rotated--;
    }
}

static bool open_active(bool truncate)
{
    int fd = open(rf.active, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0),
                  (mode_t)rf.perm);
    if (fd < 0) {
        return false;
    }
    out = fdopen(fd, "a");
    if (out == NULL) {
        close(fd);
        return false;
    }
    struct stat st;
    rf.size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return true;
}

/* Picks the next file name as the date rotator does: <name>-<today> when
 * no file of today exists, else <name>-<today>-<last index + 1>. */
static void rotate_locked(void)
{
    if (out != NULL && out != stderr) {
        fclose(out);
    }
    out = NULL;
    static struct logfile lf[LOG_MAX_FILES];
    size_t n = list_logs(lf, LOG_MAX_FILES);
    long t = today(), last = -1;
    for (size_t i = 0; i < n; i++) {
        if (lf[i].date == t) {
            last = lf[i].idx;
        }
    }
    if (last < 0) {
        snprintf(rf.active, sizeof rf.active, "%.3600s/%.200s-%08ld.ndjson", rf.dir, rf.name, t);
    } else {
        snprintf(rf.active, sizeof rf.active, "%.3600s/%.200s-%08ld-%ld.ndjson", rf.dir, rf.name, t,
                 last + 1);
    }
    purge_logs(lf, n);
    if (!open_active(true)) {
        rf.on = false;
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

static void file_open_first(bool rotate_on_startup)
{
    mode_t dmode = 0700;
    if (rf.perm & 0070) {
        dmode |= 0050;
    }
    if (rf.perm & 0007) {
        dmode |= 0005;
    }
    mkdir_p(rf.dir, dmode);
    static struct logfile lf[LOG_MAX_FILES];
    size_t n = list_logs(lf, LOG_MAX_FILES);
    if (n == 0) {
        snprintf(rf.active, sizeof rf.active, "%.3600s/%.200s-%08ld.ndjson", rf.dir, rf.name, today());
        if (!open_active(true)) {
            rf.on = false;
        }
        return;
    }
    /* continue from the newest file unless it must be rotated */
    snprintf(rf.active, sizeof rf.active, "%.3800s/%s", rf.dir, lf[n - 1].name);
    struct stat st;
    if (rotate_on_startup || (stat(rf.active, &st) == 0 && (uint64_t)st.st_size >= rf.max)) {
        rotate_locked();
        return;
    }
    if (!open_active(false)) {
        rf.on = false;
    }
}

/* Before writing len bytes: rotate on size or interval. */
static void maybe_rotate(size_t len)
{
    if (!rf.on) {
        return;
    }
    int64_t p = period_now();
    if (out == NULL || rf.size + len > rf.max || p != rf.period) {
        rf.period = p;
        rotate_locked();
    }
}

void pb_log_active_file(char *buf, size_t len)
{
    pthread_mutex_lock(&log_mu);
    snprintf(buf, len, "%s", rf.on ? rf.active : "");
    pthread_mutex_unlock(&log_mu);
}

int pb_log_read_cfg(const struct pb_cfg *root, struct pb_log_opts *o, char *err, size_t errlen)
{
    bool rotate = true;
    int64_t keep = 7, perm = 0600, interval = 0;
    uint64_t bytes = 10u * 1024u * 1024u;
    const char *path = NULL, *name = o->name;
    if (pb_cfg_bool(root, "logging.json", true, &o->json) < 0 ||
        pb_cfg_bool(root, "logging.to_syslog", false, &o->to_syslog) < 0 ||
        pb_cfg_str(root, "logging.files.path", NULL, &path) < 0 ||
        pb_cfg_str(root, "logging.files.name", o->name, &name) < 0 ||
        pb_cfg_size(root, "logging.files.rotateeverybytes", bytes, &bytes) < 0 ||
        pb_cfg_int(root, "logging.files.keepfiles", 7, &keep) < 0 ||
        pb_cfg_int(root, "logging.files.permissions", 0600, &perm) < 0 ||
        pb_cfg_duration(root, "logging.files.interval", 0, &interval) < 0 ||
        pb_cfg_bool(root, "logging.files.rotateonstartup", true, &rotate) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -1;
    }
    if (keep < 2 || keep > 1024) {
        snprintf(err, errlen,
                 "the number of files to keep should be between 2 and 1024 "
                 "accessing 'logging.files.keepfiles'");
        return -1;
    }
    if (bytes == 0) {
        snprintf(err, errlen,
                 "rotateeverybytes must be greater than 0 accessing "
                 "'logging.files.rotateeverybytes'");
        return -1;
    }
    if (perm <= 0 || perm > 0777) {
        snprintf(err, errlen, "invalid permissions accessing 'logging.files.permissions'");
        return -1;
    }
    if (interval != 0 && interval < 1000000000LL) {
        snprintf(err, errlen,
                 "the minimum time interval for log rotation is 1s accessing "
                 "'logging.files.interval'");
        return -1;
    }
    o->files_path = path;
    o->name = name;
    o->rotate_bytes = bytes;
    o->keepfiles = (unsigned)keep;
    o->permissions = (unsigned)perm;
    o->interval_ns = interval;
    o->no_rotate_on_startup = !rotate;
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
    if (out != NULL && out != stderr) {
        fclose(out);
    }
    out = NULL;
    rf.on = false;
    rf.active[0] = '\0';
    if (use_syslog) {
        closelog();
        use_syslog = false;
    }
    if (!o->to_stderr && o->to_syslog) {
        openlog(o->name != NULL ? o->name : "packetbeat", LOG_PID, LOG_LOCAL0);
        use_syslog = true;
    } else if (!o->to_stderr && (o->files_path != NULL || o->logs_path != NULL)) {
        snprintf(rf.dir, sizeof rf.dir, "%s", o->files_path != NULL ? o->files_path : o->logs_path);
        snprintf(rf.name, sizeof rf.name, "%s", o->name != NULL ? o->name : "packetbeat");
        rf.max = o->rotate_bytes != 0 ? o->rotate_bytes : 10u * 1024u * 1024u;
        rf.keep = o->keepfiles != 0 ? o->keepfiles : 7;
        rf.perm = o->permissions != 0 ? o->permissions : 0600;
        rf.interval_ns = o->interval_ns;
        rf.period = period_now();
        rf.on = true;
        file_open_first(!o->no_rotate_on_startup);
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
    rf.on = false;
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

static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

static void vlog(enum pb_log_level lvl, const char *selector, const json_t *fields, const char *fmt,
                 va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);

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
    if (text == NULL) {
        return;
    }
    size_t len = strlen(text);
    pthread_mutex_lock(&log_mu);
    if (use_syslog) {
        static const int prio[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT};
        syslog((unsigned)lvl < 5 ? prio[lvl] : LOG_INFO, "%s", text);
    } else {
        maybe_rotate(len + 1);
        FILE *f = out != NULL ? out : stderr;
        fwrite(text, 1, len, f);
        fputc('\n', f);
        fflush(f);
        if (f == out && rf.on) {
            rf.size += len + 1;
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
