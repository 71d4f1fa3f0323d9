/* SPDX-License-Identifier: Apache-2.0
 * beat/monitoring.c - the HTTP stats endpoint and the metrics log line.
 *
 * One thread: it waits in poll() on the listening socket with a timeout
 * short enough to notice stop requests and the metrics period. Requests are
 * tiny (a GET line and headers); each is read with a deadline, answered and
 * closed, so a slow or hostile client costs at most that deadline.
 */
#include "beat/monitoring.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/log.h"

#define DEFAULT_PORT 5066
#define DEFAULT_PERIOD_NS (30ll * 1000000000ll)
#define REQUEST_MAX 4096
#define REQUEST_DEADLINE_MS 2000
#define POLL_MS 200

struct pb_monitoring {
    const struct pb_beat_info *info;
    pb_stats_fn fn;
    void *ctx;
    int listen_fd; /* -1: no endpoint */
    bool metrics;  /* logging.metrics.enabled */
    int64_t period_ns;
    uint64_t start_ns;
    json_t *last; /* stats at the last metrics line */
    pthread_t thread;
    bool joined;
    atomic_bool stop;
    int wake_fd; /* eventfd: halt wakes the thread at once (-1: none) */
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static json_t *obj_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, key, v);
    }
    return v;
}

/* ---- documents ------------------------------------------------------------ */

json_t *pb_monitoring_info(struct pb_monitoring *m)
{
    char uid[24], gid[24];
    snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
    snprintf(gid, sizeof gid, "%u", (unsigned)getgid());
    const char *user = getenv("USER");
    return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                     "beat", m->info->beat, "binary_arch", "amd64", "build_commit", "unknown",
                     "build_time", "unknown", "elastic_licensed", 1, "ephemeral_id",
                     m->info->ephemeral_id, "gid", gid, "hostname", m->info->hostname, "name",
                     m->info->name, "uid", uid, "username", user != NULL ? user : "",
                     "uuid", m->info->agent_id, "version", m->info->version);
}

static void add_process_stats(struct pb_monitoring *m, json_t *beat)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        json_int_t user_ms = (json_int_t)ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
        json_int_t sys_ms = (json_int_t)ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
        json_object_set_new_nocheck(
            beat, "cpu",
            json_pack("{s:{s:{s:I},s:I}, s:{s:{s:I},s:I}, s:{s:{s:I},s:I}}", "user", "time", "ms",
                      user_ms, "ticks", user_ms, "system", "time", "ms", sys_ms, "ticks", sys_ms,
                      "total", "time", "ms", user_ms + sys_ms, "ticks", user_ms + sys_ms));
    }
    long page = sysconf(_SC_PAGESIZE);
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2) {
            size = resident = 0;
        }
        fclose(f);
    }
    json_int_t rss = (json_int_t)resident * (json_int_t)(page > 0 ? page : 4096);
    json_object_set_new_nocheck(beat, "memstats",
                                json_pack("{s:I, s:I, s:I, s:I}", "rss", rss, "memory_alloc", rss,
                                          "memory_sys", (json_int_t)size * (page > 0 ? page : 4096),
                                          "gc_next", (json_int_t)0));
    json_int_t up_ms = (json_int_t)((mono_ns() - m->start_ns) / 1000000ull);
    json_object_set_new_nocheck(beat, "info",
                                json_pack("{s:s, s:s, s:{s:I}, s:s}", "ephemeral_id",
                                          m->info->ephemeral_id, "name", m->info->beat, "uptime",
                                          "ms", up_ms, "version", m->info->version));
    json_int_t open_fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            open_fds += e->d_name[0] != '.';
        }
        closedir(d);
        open_fds--; /* the directory stream itself */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        json_object_set_new_nocheck(beat, "handles",
                                    json_pack("{s:I, s:{s:I, s:I}}", "open", open_fds, "limit",
                                              "hard", (json_int_t)rl.rlim_max, "soft",
                                              (json_int_t)rl.rlim_cur));
    }
}

json_t *pb_monitoring_stats(struct pb_monitoring *m)
{
    json_t *st = json_object();
    add_process_stats(m, obj_at(st, "beat"));
    double load[3];
    if (getloadavg(load, 3) == 3) {
        json_object_set_new(
            obj_at(st, "system"), "load",
            json_pack("{s:f, s:f, s:f}", "1", load[0], "5", load[1], "15", load[2]));
    }
    json_object_set_new(obj_at(obj_at(st, "system"), "cpu"), "cores",
                        json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    if (m->fn != NULL) {
        m->fn(m->ctx, st);
    }
    return st;
}

/* ---- metrics log line ------------------------------------------------------- */

static bool is_gauge(const char *key)
{
    static const char *const gauges[] = {"memstats", "info", "cpu", "load", "active",
                                         "clients", "uptime", "goroutines", "handles",
                                         "cores", "max_events", "filled", "open"};
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        if (strcmp(key, gauges[i]) == 0) {
            return true;
        }
    }
    return false;
}

static json_t *delta(const json_t *prev, const json_t *cur, bool gauge)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;
    bool any_number = false;
    json_object_foreach((json_t *)cur, key, v)
    {
        const json_t *p = prev != NULL ? json_object_get(prev, key) : NULL;
        bool g = gauge || is_gauge(key);
        if (json_is_object(v)) {
            json_t *sub = delta(json_is_object(p) ? p : NULL, v, g);
            if (json_object_size(sub) > 0) {
                json_object_set_new(out, key, sub);
                any_number = true;
            } else {
                json_decref(sub);
            }
        } else if (json_is_integer(v)) {
            json_int_t d = json_integer_value(v);
            if (!g && json_is_integer(p)) {
                d -= json_integer_value(p);
            }
            if (d != 0) {
                json_object_set_new(out, key, json_integer(d));
                any_number = true;
            }
        } else if (json_is_real(v)) {
            if (json_real_value(v) != 0) {
                json_object_set(out, key, v);
                any_number = true;
            }
        }
    }
    if (any_number) {
        /* strings (output type, version) describe the numbers next to them */
        json_object_foreach((json_t *)cur, key, v)
        {
            if (json_is_string(v)) {
                json_object_set(out, key, v);
            }
        }
    }
    return out;
}

json_t *pb_monitoring_delta(const json_t *prev, const json_t *cur)
{
    return delta(prev, cur, false);
}

static void log_metrics(struct pb_monitoring *m, const char *what, bool since_start)
{
    json_t *cur = pb_monitoring_stats(m);
    json_t *d = pb_monitoring_delta(since_start ? NULL : m->last, cur);
    json_t *fields = json_pack("{s:{s:o, s:s}}", "monitoring", "metrics", d, "ecs.version",
                               "1.6.0");
    char period[32];
    snprintf(period, sizeof period, "%llds", (long long)(m->period_ns / 1000000000ll));
    if (since_start) {
        pb_log_fields(PB_LOG_INFO, "monitoring", fields, "%s", what);
    } else {
        pb_log_fields(PB_LOG_INFO, "monitoring", fields, "%s %s", what, period);
    }
    json_decref(fields);
    json_decref(m->last);
    m->last = cur;
}

/* ---- HTTP ------------------------------------------------------------------ */

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int code, const char *ctype, const char *body)
{
    const char *reason = code == 200 ? "OK" : code == 404 ? "Not Found" : "Method Not Allowed";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     code, reason, ctype, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

/* Reads the request head (up to the blank line) within the deadline. */
static bool read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    uint64_t deadline = mono_ns() + REQUEST_DEADLINE_MS * 1000000ull;
    while (len + 1 < cap) {
        uint64_t now = mono_ns();
        if (now >= deadline) {
            return false;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)((deadline - now) / 1000000ull) + 1);
        if (r <= 0) {
            if (r < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        ssize_t got = recv(fd, buf + len, cap - 1 - len, 0);
        if (got <= 0) {
            return false;
        }
        len += (size_t)got;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL) {
            return true;
        }
    }
    return false;
}

static void serve(struct pb_monitoring *m, int fd)
{
    char req[REQUEST_MAX];
    if (!read_request(fd, req, sizeof req)) {
        return;
    }
    char method[16] = "", target[1024] = "";
    if (sscanf(req, "%15s %1023s", method, target) != 2) {
        return;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        respond(fd, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
        return;
    }
    bool pretty = strstr(target, "?pretty") != NULL || strstr(target, "&pretty") != NULL;
    char *q = strchr(target, '?');
    if (q != NULL) {
        *q = '\0';
    }
    json_t *doc = NULL;
    if (strcmp(target, "/") == 0) {
        doc = pb_monitoring_info(m);
    } else if (strcmp(target, "/stats") == 0 || strcmp(target, "/stats/") == 0) {
        doc = pb_monitoring_stats(m);
    } else {
        respond(fd, 404, "text/plain; charset=utf-8", "404 page not found\n");
        return;
    }
    char *body = json_dumps(doc, pretty ? JSON_INDENT(2) | JSON_SORT_KEYS : JSON_SORT_KEYS);
    json_decref(doc);
    respond(fd, 200, "application/json; charset=utf-8", body != NULL ? body : "{}");
    free(body);
}

static void *run(void *arg)
{
    struct pb_monitoring *m = arg;
    uint64_t next_metrics = mono_ns() + (uint64_t)m->period_ns;
    while (!atomic_load(&m->stop)) {
        /* the endpoint and the wake-up fd; a halt does not wait a poll
           period (with -I that was up to POLL_MS on every run) */
        struct pollfd p[2] = {{.fd = m->listen_fd, .events = POLLIN},
                              {.fd = m->wake_fd, .events = POLLIN}};
        if (p[0].fd < 0 && p[1].fd < 0) {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = POLL_MS * 1000000l};
            nanosleep(&ts, NULL);
        } else if (poll(p, 2, POLL_MS) > 0 && p[0].fd >= 0 && (p[0].revents & POLLIN)) {
            int fd = accept(m->listen_fd, NULL, NULL);
            if (fd >= 0) {
                serve(m, fd);
                close(fd);
            }
        }
        if (m->metrics && mono_ns() >= next_metrics) {
            log_metrics(m, "Non-zero metrics in the last", false);
            next_metrics += (uint64_t)m->period_ns;
        }
    }
    return NULL;
}

static int listen_on(const char *host, int64_t port, char *err, size_t errlen)
{
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%lld", (long long)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "failed to start monitoring endpoint: %s:%s: %s", host, portstr,
                 gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 16) != 0) {
            snprintf(err, errlen, "failed to start monitoring endpoint: listen tcp %s:%s: %s",
                     host, portstr, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

struct pb_monitoring *pb_monitoring_start(const struct pb_cfg *root,
                                          const struct pb_beat_info *info, pb_stats_fn fn,
                                          void *ctx, char *err, size_t errlen)
{
    err[0] = '\0';
    bool http = false, metrics = true;
    const char *host = NULL;
    int64_t port = DEFAULT_PORT, period = DEFAULT_PERIOD_NS;
    if (pb_cfg_bool(root, "http.enabled", false, &http) < 0 ||
        pb_cfg_str(root, "http.host", "localhost", &host) < 0 ||
        pb_cfg_int(root, "http.port", DEFAULT_PORT, &port) < 0 ||
        pb_cfg_bool(root, "logging.metrics.enabled", true, &metrics) < 0 ||
        pb_cfg_duration(root, "logging.metrics.period", DEFAULT_PERIOD_NS, &period) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return NULL;
    }
    if (!http && !metrics) {
        return NULL;
    }
    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "http.port: %lld is not a valid port", (long long)port);
        return NULL;
    }
    if (period <= 0) {
        period = DEFAULT_PERIOD_NS;
    }
    struct pb_monitoring *m = pb_calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->info = info;
    m->fn = fn;
    m->ctx = ctx;
    m->metrics = metrics;
    m->period_ns = period;
    m->start_ns = mono_ns();
    m->listen_fd = -1;
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); /* -1: halts wait a poll period */
    if (http) {
        if (host == NULL || host[0] == '\0') {
            host = "localhost";
        }
        m->listen_fd = listen_on(host, port, err, errlen);
        if (m->listen_fd < 0) {
            if (m->wake_fd >= 0) {
                close(m->wake_fd);
            }
            pb_free(m);
            return NULL;
        }
        pb_info("api", "Starting stats endpoint");
        pb_info("api", "Metrics endpoint listening on: %s:%lld (configured: %s)", host,
                (long long)port, host);
    }
    if (metrics) {
        pb_info("monitoring", "Starting metrics logging every %llds",
                (long long)(period / 1000000000ll));
    }
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        snprintf(err, errlen, "cannot start the monitoring thread");
        if (m->listen_fd >= 0) {
            close(m->listen_fd);
        }
        if (m->wake_fd >= 0) {
            close(m->wake_fd);
        }
        pb_free(m);
        return NULL;
    }
    return m;
}

void pb_monitoring_halt(struct pb_monitoring *m)
{
    if (m == NULL || m->joined) {
        return;
    }
    atomic_store(&m->stop, true);
    if (m->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t n = write(m->wake_fd, &one, sizeof one);
        (void)n;
    }
    pthread_join(m->thread, NULL);
    m->joined = true;
    if (m->wake_fd >= 0) {
        close(m->wake_fd);
        m->wake_fd = -1;
    }
    if (m->listen_fd >= 0) {
        close(m->listen_fd);
        m->listen_fd = -1;
        pb_info("api", "Stats endpoint (%s) finished", "monitoring");
    }
}

void pb_monitoring_stop(struct pb_monitoring *m)
{
    if (m == NULL) {
        return;
    }
    pb_monitoring_halt(m);
    if (m->metrics) {
        log_metrics(m, "Total metrics", true);
        pb_info("monitoring", "Uptime: %llu ms",
                (unsigned long long)((mono_ns() - m->start_ns) / 1000000ull));
        pb_info("monitoring", "Stopping metrics logging.");
    }
    json_decref(m->last);
    pb_free(m);
}
