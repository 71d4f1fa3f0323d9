/* SPDX-License-Identifier: Apache-2.0
 * beat/procs.c - process enrichment from /proc (see procs.h).
 */
#include "beat/procs.h"

#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/log.h"

#define CACHE_TTL_NS (30ull * 1000000000ull)
#define MAX_LOCAL_ADDRS 256u
#define MAX_MONITORED 64u
#define MAX_CMDLINE 65536u
#define MAX_ARGS 1024u
#define PATH_BUF 512

struct sock_ent {
    uint64_t inode;
    struct pb_ip ip; /* IPv4-mapped IPv6 stored as IPv4 */
    uint16_t port;
    int pid;
    uint32_t gen; /* refresh generation that saw it */
};

struct sock_table {
    struct sock_ent *v; /* owned; sorted by (port, ip) after a refresh */
    size_t n;
    uint64_t last_refresh_ns;
    uint32_t gen;
};

struct cache_ent {
    bool used;
    uint64_t expires_ns;
    struct pb_proc_info info;
};

struct monitored {
    char *process; /* owned */
    char *grep;    /* owned */
};

struct pb_procs {
    char root[256];
    struct pb_ip local[MAX_LOCAL_ADDRS];
    size_t nlocal;
    struct monitored mon[MAX_MONITORED];
    size_t nmon;
    struct sock_table tcp, udp;
    struct cache_ent *cache; /* owned: PB_MAX_PROC_CACHE */
    uint64_t btime_s;
    long clk_tck;
};

/* ---- setup ---- */

static void read_local_addrs(struct pb_procs *p)
{
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) != 0) {
        pb_error("procs", "Error getting local IP addresses: %s", strerror(errno));
        return;
    }
    for (struct ifaddrs *a = ifa; a != NULL && p->nlocal < MAX_LOCAL_ADDRS; a = a->ifa_next) {
        if (a->ifa_addr == NULL) {
            continue;
        }
        struct pb_ip ip;
        memset(&ip, 0, sizeof ip);
        if (a->ifa_addr->sa_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)a->ifa_addr;
            memcpy(ip.b, &s->sin_addr, 4);
        } else if (a->ifa_addr->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)a->ifa_addr;
            ip.v6 = 1;
            memcpy(ip.b, &s->sin6_addr, 16);
        } else {
            continue;
        }
        p->local[p->nlocal++] = ip;
    }
    freeifaddrs(ifa);
}

static uint64_t read_btime(const char *root)
{
    char path[PATH_BUF];
    snprintf(path, sizeof path, "%s/stat", root);
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        return 0;
    }
    char line[256];
    unsigned long long bt = 0;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (sscanf(line, "btime %llu", &bt) == 1) {
            break;
        }
    }
    fclose(fp);
    return bt;
}

struct pb_procs *pb_procs_new(const struct pb_cfg *root, const char *proc_root, char *err,
                              size_t errlen)
{
    const struct pb_cfg *sec = pb_cfg_get(root, "packetbeat.procs");
    bool enabled = false;
    if (pb_cfg_bool(sec, "enabled", false, &enabled) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return NULL;
    }
    if (!enabled) {
        pb_info("procs", "Process watcher disabled");
        return NULL;
    }
    struct pb_procs *p = pb_calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    snprintf(p->root, sizeof p->root, "%s", proc_root != NULL ? proc_root : "/proc");
    p->cache = pb_calloc(PB_MAX_PROC_CACHE, sizeof *p->cache);
    if (p->cache == NULL) {
        pb_procs_free(p);
        return NULL;
    }
    const struct pb_cfg *mon = pb_cfg_get(sec, "monitored");
    for (size_t i = 0; i < pb_cfg_len(mon) && p->nmon < MAX_MONITORED; i++) {
        const struct pb_cfg *m = pb_cfg_at(mon, i);
        const char *name = "", *grep = "";
        if (pb_cfg_str(m, "process", "", &name) < 0 ||
            pb_cfg_str(m, "cmdline_grep", "", &grep) < 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            pb_procs_free(p);
            return NULL;
        }
        p->mon[p->nmon].process = pb_strdup(name != NULL ? name : "");
        p->mon[p->nmon].grep = pb_strdup(grep != NULL ? grep : "");
        if (p->mon[p->nmon].process == NULL || p->mon[p->nmon].grep == NULL) {
            pb_free(p->mon[p->nmon].process);
            pb_free(p->mon[p->nmon].grep);
            pb_procs_free(p);
            return NULL;
        }
        p->nmon++;
    }
    read_local_addrs(p);
    p->btime_s = read_btime(p->root);
    p->clk_tck = sysconf(_SC_CLK_TCK);
    if (p->clk_tck <= 0) {
        p->clk_tck = 100;
    }
    pb_info("procs", "Process watcher enabled");
    return p;
}

static void cache_clear(struct cache_ent *e)
{
    json_decref(e->info.args);
    memset(e, 0, sizeof *e);
}

void pb_procs_free(struct pb_procs *p)
{
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->nmon; i++) {
        pb_free(p->mon[i].process);
        pb_free(p->mon[i].grep);
    }
    if (p->cache != NULL) {
        for (size_t i = 0; i < PB_MAX_PROC_CACHE; i++) {
            cache_clear(&p->cache[i]);
        }
    }
    pb_free(p->cache);
    pb_free(p->tcp.v);
    pb_free(p->udp.v);
    pb_free(p);
}

/* ---- socket tables ---- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* "0100007F:0035" (v4: one host-order word) or 32 hex digits (v6: four
 * host-order words) then ":port". */
static bool parse_addr(const char *s, bool v6, struct pb_ip *ip, uint16_t *port)
{
    size_t nhex = v6 ? 32 : 8;
    memset(ip, 0, sizeof *ip);
    for (size_t w = 0; w < nhex / 8; w++) {
        uint32_t word = 0;
        for (size_t i = 0; i < 8; i++) {
            int h = hexval(s[w * 8 + i]);
            if (h < 0) {
                return false;
            }
            word = (word << 4) | (uint32_t)h;
        }
        /* the kernel prints the word in host order: little endian here */
        ip->b[w * 4] = (uint8_t)word;
        ip->b[w * 4 + 1] = (uint8_t)(word >> 8);
        ip->b[w * 4 + 2] = (uint8_t)(word >> 16);
        ip->b[w * 4 + 3] = (uint8_t)(word >> 24);
    }
    if (s[nhex] != ':') {
        return false;
    }
    unsigned pv = 0;
    size_t i = nhex + 1;
    for (; hexval(s[i]) >= 0 && i < nhex + 6; i++) {
        pv = (pv << 4) | (unsigned)hexval(s[i]);
    }
    if (i == nhex + 1 || pv > 0xffffu) {
        return false;
    }
    *port = (uint16_t)pv;
    ip->v6 = v6;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (v6 && memcmp(ip->b, mapped, 12) == 0) {
        struct pb_ip v4;
        memset(&v4, 0, sizeof v4);
        memcpy(v4.b, ip->b + 12, 4);
        *ip = v4;
    }
    return true;
}

static void read_net_file(const char *path, bool v6, struct sock_ent *v, size_t *n, size_t cap,
                          uint32_t gen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        return;
    }
    char line[512];
    while (fgets(line, sizeof line, fp) != NULL && *n < cap) {
        char local[64];
        unsigned long long inode = 0;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %*s %*s %*s %*s %*s %*s %*s %llu", local, &inode) != 2) {
            continue; /* the header, or a short line */
        }
        struct sock_ent e;
        memset(&e, 0, sizeof e);
        if (!parse_addr(local, v6, &e.ip, &e.port) || inode == 0) {
            continue;
        }
        e.inode = inode;
        e.gen = gen;
        v[(*n)++] = e;
    }
    fclose(fp);
}

static int by_inode(const void *a, const void *b)
{
    const struct sock_ent *x = a, *y = b;
    return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int ip_cmp(const struct pb_ip *a, const struct pb_ip *b)
{
    if (a->v6 != b->v6) {
        return a->v6 < b->v6 ? -1 : 1;
    }
    return memcmp(a->b, b->b, 16);
}

/* port, ip, then the newest generation first */
static int by_endpoint(const void *a, const void *b)
{
    const struct sock_ent *x = a, *y = b;
    if (x->port != y->port) {
        return x->port < y->port ? -1 : 1;
    }
    int c = ip_cmp(&x->ip, &y->ip);
    if (c != 0) {
        return c;
    }
    return x->gen > y->gen ? -1 : x->gen < y->gen;
}

static bool all_digits(const char *s)
{
    if (*s == '\0') {
        return false;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

/* Which process holds each socket inode of v (sorted by inode). */
static void assign_pids(const char *root, struct sock_ent *v, size_t n)
{
    DIR *pd = opendir(root);
    if (pd == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(pd)) != NULL) {
        if (!all_digits(de->d_name)) {
            continue;
        }
        long lpid = strtol(de->d_name, NULL, 10);
        if (lpid <= 0 || lpid > 0x3fffffffL) {
            continue;
        }
        int pid = (int)lpid;
        char fdpath[PATH_BUF];
        int plen = snprintf(fdpath, sizeof fdpath, "%s/%d/fd", root, pid);
        if (plen < 0 || (size_t)plen >= sizeof fdpath) {
            continue;
        }
        DIR *fd = opendir(fdpath);
        if (fd == NULL) {
            continue;
        }
        struct dirent *fe;
        while ((fe = readdir(fd)) != NULL) {
            if (fe->d_name[0] == '.') {
                continue;
            }
            char lpath[PATH_BUF + 300], link[64];
            int pl = snprintf(lpath, sizeof lpath, "%s/%s", fdpath, fe->d_name);
            if (pl < 0 || (size_t)pl >= sizeof lpath) {
                continue;
            }
            ssize_t len = readlink(lpath, link, sizeof link - 1);
            if (len <= 9 || strncmp(link, "socket:[", 8) != 0) {
                continue;
            }
            link[len] = '\0';
            char *end = NULL;
            unsigned long long inode = strtoull(link + 8, &end, 10);
            if (end == NULL || *end != ']') {
                continue;
            }
            struct sock_ent key = {.inode = inode};
            struct sock_ent *hit = bsearch(&key, v, n, sizeof *v, by_inode);
            if (hit != NULL) {
                hit->pid = pid;
            }
        }
        closedir(fd);
    }
    closedir(pd);
}

/* Rereads the table of one transport and merges it into what is known: an
 * endpoint keeps its last owner even after the socket is gone, as
 * Packetbeat's map does (capped at PB_MAX_PROC_SOCKETS). */
static void refresh(struct pb_procs *p, struct sock_table *t, bool tcp)
{
    size_t cap = PB_MAX_PROC_SOCKETS;
    struct sock_ent *fresh = pb_calloc(cap, sizeof *fresh);
    if (fresh == NULL) {
        return;
    }
    uint32_t gen = ++t->gen;
    size_t n = 0;
    char path[PATH_BUF];
    snprintf(path, sizeof path, "%s/net/%s", p->root, tcp ? "tcp" : "udp");
    read_net_file(path, false, fresh, &n, cap, gen);
    snprintf(path, sizeof path, "%s/net/%s", p->root, tcp ? "tcp6" : "udp6");
    read_net_file(path, true, fresh, &n, cap, gen);
    qsort(fresh, n, sizeof *fresh, by_inode);
    assign_pids(p->root, fresh, n);

    /* merge: new entries with an owner, then the old ones, newest wins */
    size_t total = t->n;
    for (size_t i = 0; i < n; i++) {
        total += fresh[i].pid > 0;
    }
    struct sock_ent *all = pb_calloc(total > 0 ? total : 1, sizeof *all);
    if (all == NULL) {
        pb_free(fresh);
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (fresh[i].pid > 0) {
            all[m++] = fresh[i];
        }
    }
    if (t->n > 0) {
        memcpy(all + m, t->v, t->n * sizeof *all);
        m += t->n;
    }
    pb_free(fresh);
    qsort(all, m, sizeof *all, by_endpoint);
    size_t out = 0;
    for (size_t i = 0; i < m && out < cap; i++) {
        if (out > 0 && all[out - 1].port == all[i].port &&
            ip_cmp(&all[out - 1].ip, &all[i].ip) == 0) {
            continue; /* an older owner of the same endpoint */
        }
        all[out++] = all[i];
    }
    pb_free(t->v);
    t->v = all;
    t->n = out;
}

static const struct sock_ent *table_find(const struct sock_table *t, const struct pb_ip *ip,
                                         uint16_t port)
{
    struct sock_ent key;
    memset(&key, 0, sizeof key);
    key.port = port;
    key.ip = *ip;
    key.gen = UINT32_MAX;
    /* lower bound on (port, ip) */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (by_endpoint(&t->v[mid], &key) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < t->n && t->v[lo].port == port && ip_cmp(&t->v[lo].ip, ip) == 0) {
        return &t->v[lo];
    }
    return NULL;
}

/* Exact address first, then the any-address of its family. */
static int lookup_pid(const struct sock_table *t, const struct pb_ip *ip, uint16_t port)
{
    const struct sock_ent *e = table_find(t, ip, port);
    if (e == NULL) {
        struct pb_ip any;
        memset(&any, 0, sizeof any);
        any.v6 = ip->v6;
        e = table_find(t, &any, port);
    }
    return e != NULL ? e->pid : 0;
}

/* ---- processes ---- */

static bool read_small(const char *path, char *buf, size_t cap, size_t *len)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        return false;
    }
    *len = fread(buf, 1, cap - 1, fp);
    buf[*len] = '\0';
    fclose(fp);
    return true;
}

static void read_link(const char *path, char *out, size_t cap)
{
    ssize_t n = readlink(path, out, cap - 1);
    out[n > 0 ? (size_t)n : 0] = '\0';
}

static bool load_process(struct pb_procs *p, int pid, struct pb_proc_info *info)
{
    char path[PATH_BUF];
    char *buf = pb_malloc(MAX_CMDLINE);
    if (buf == NULL) {
        return false;
    }
    size_t len = 0;
    memset(info, 0, sizeof *info);
    info->pid = pid;
    /* stat: pid (comm) state ppid ... starttime (field 22) */
    snprintf(path, sizeof path, "%s/%d/stat", p->root, pid);
    if (!read_small(path, buf, 4096, &len)) {
        pb_error("procs", "Unable to get command-line for PID %d: %s", pid, strerror(errno));
        pb_free(buf);
        return false;
    }
    char *open = strchr(buf, '(');
    char *close = strrchr(buf, ')');
    if (open == NULL || close == NULL || close < open) {
        pb_free(buf);
        return false;
    }
    size_t clen = (size_t)(close - open - 1);
    if (clen >= sizeof info->name) {
        clen = sizeof info->name - 1;
    }
    memcpy(info->name, open + 1, clen);
    info->name[clen] = '\0';
    int ppid = 0;
    unsigned long long start_ticks = 0;
    if (sscanf(close + 1,
               " %*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
               "%*s %*s %llu",
               &ppid, &start_ticks) >= 1) {
        info->ppid = ppid;
    }
    if (p->btime_s > 0) {
        info->start_ns = p->btime_s * 1000000000ull +
                         start_ticks * 1000000000ull / (unsigned long long)p->clk_tck;
    }
    snprintf(path, sizeof path, "%s/%d/exe", p->root, pid);
    read_link(path, info->exe, sizeof info->exe);
    snprintf(path, sizeof path, "%s/%d/cwd", p->root, pid);
    read_link(path, info->cwd, sizeof info->cwd);
    /* comm is cut at 15 characters: the executable's name tells the rest */
    const char *base = strrchr(info->exe, '/');
    base = base != NULL ? base + 1 : info->exe;
    size_t blen = strlen(base);
    if (strlen(info->name) == 15 && strncmp(base, info->name, 15) == 0 &&
        blen < sizeof info->name) {
        memcpy(info->name, base, blen + 1);
    }
    info->args = json_array();
    snprintf(path, sizeof path, "%s/%d/cmdline", p->root, pid);
    if (info->args != NULL && read_small(path, buf, MAX_CMDLINE, &len)) {
        size_t i = 0;
        while (i < len && json_array_size(info->args) < MAX_ARGS) {
            size_t l = strnlen(buf + i, len - i);
            json_array_append_new(info->args, pb_json_strn(buf + i, l));
            i += l + 1;
        }
    }
    /* monitored[].cmdline_grep renames the process */
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            buf[i] = ' ';
        }
    }
    while (len > 0 && buf[len - 1] == ' ') {
        len--; /* the joined args have no trailing separator */
    }
    buf[len] = '\0';
    for (size_t m = 0; m < p->nmon; m++) {
        if (strstr(buf, p->mon[m].grep) != NULL) {
            snprintf(info->name, sizeof info->name, "%s", p->mon[m].process);
            break;
        }
    }
    pb_free(buf);
    return true;
}

static const struct pb_proc_info *process_info(struct pb_procs *p, int pid, uint64_t now_ns)
{
    struct cache_ent *slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < PB_MAX_PROC_CACHE; i++) {
        struct cache_ent *e = &p->cache[i];
        if (e->used && now_ns > e->expires_ns) {
            cache_clear(e);
        }
        if (e->used && e->info.pid == pid) {
            return &e->info;
        }
        if (!e->used && slot == NULL) {
            slot = e;
        }
        if (e->used && (oldest == NULL || e->expires_ns < oldest->expires_ns)) {
            oldest = e;
        }
    }
    if (slot == NULL) {
        slot = oldest;
        cache_clear(slot);
    }
    if (!load_process(p, pid, &slot->info)) {
        json_decref(slot->info.args);
        memset(slot, 0, sizeof *slot);
        return NULL;
    }
    slot->used = true;
    slot->expires_ns = now_ns + CACHE_TTL_NS;
    return &slot->info;
}

static bool is_local(const struct pb_procs *p, const struct pb_ip *ip)
{
    static const uint8_t lo6[16] = {[15] = 1};
    if (ip->v6 ? memcmp(ip->b, lo6, 16) == 0 : ip->b[0] == 127) {
        return true;
    }
    for (size_t i = 0; i < p->nlocal; i++) {
        if (pb_ip_eq(&p->local[i], ip)) {
            return true;
        }
    }
    return false;
}

const struct pb_proc_info *pb_procs_find(struct pb_procs *p, uint8_t transport,
                                         const struct pb_ip *ip, uint16_t port, uint64_t now_ns)
{
    if (p == NULL || (transport != PB_IPPROTO_TCP && transport != PB_IPPROTO_UDP) ||
        !is_local(p, ip)) {
        return NULL;
    }
    struct sock_table *t = transport == PB_IPPROTO_TCP ? &p->tcp : &p->udp;
    int pid = lookup_pid(t, ip, port);
    if (pid <= 0 && (t->last_refresh_ns == 0 || now_ns < t->last_refresh_ns ||
                     now_ns - t->last_refresh_ns >= PB_PROCS_REFRESH_NS)) {
        t->last_refresh_ns = now_ns;
        refresh(p, t, transport == PB_IPPROTO_TCP);
        pid = lookup_pid(t, ip, port);
    }
    if (pid <= 0) {
        return NULL;
    }
    return process_info(p, pid, now_ns);
}

/* ---- events ---- */

static json_t *process_object(const struct pb_proc_info *pi, const struct pb_proc_info *cwd_from,
                              bool flow)
{
    json_t *o = json_object();
    char tbuf[40];
    if (flow) {
        json_object_set_new_nocheck(o, "pid", json_integer(pi->pid));
        json_object_set_new_nocheck(o, "name", json_string(pi->name));
        if (pi->args != NULL && json_array_size(pi->args) > 0) {
            json_object_set_new_nocheck(o, "args", json_deep_copy(pi->args));
        }
        json_object_set_new_nocheck(o, "ppid", json_integer(pi->ppid));
        json_object_set_new_nocheck(o, "executable", json_string(pi->exe));
        if (pi->start_ns != 0) {
            json_object_set_new_nocheck(o, "start",
                                        json_string(pb_time_fmt(pi->start_ns, false, tbuf)));
        }
        /* Packetbeat fills the destination's working directory from the
         * source process unless the destination has its own */
        const char *cwd = pi->cwd[0] != '\0' ? pi->cwd : (cwd_from != NULL ? cwd_from->cwd : "");
        json_object_set_new_nocheck(o, "working_directory", json_string(cwd));
        return o;
    }
    if (pi->name[0] != '\0') {
        json_object_set_new_nocheck(o, "name", json_string(pi->name));
    }
    if (pi->args != NULL && json_array_size(pi->args) > 0) {
        json_object_set_new_nocheck(o, "args", json_deep_copy(pi->args));
    }
    if (pi->exe[0] != '\0') {
        json_object_set_new_nocheck(o, "executable", json_string(pi->exe));
    }
    json_object_set_new_nocheck(o, "pid", json_integer(pi->pid));
    if (pi->ppid != 0) {
        json_object_set_new_nocheck(o, "parent", json_pack("{s:I}", "pid", (json_int_t)pi->ppid));
    }
    if (pi->start_ns != 0) {
        json_object_set_new_nocheck(o, "start",
                                    json_string(pb_time_fmt(pi->start_ns, false, tbuf)));
    }
    if (pi->cwd[0] != '\0') {
        json_object_set_new_nocheck(o, "working_directory", json_string(pi->cwd));
    }
    return o;
}

static bool endpoint_of(pb_event *ev, const char *side, struct pb_ip *ip, uint16_t *port)
{
    char path[32];
    snprintf(path, sizeof path, "%s.ip", side);
    const char *sip = pb_ev_get_str(ev, path, NULL);
    snprintf(path, sizeof path, "%s.port", side);
    int64_t pv = 0;
    if (sip == NULL || !pb_ev_get_int(ev, path, &pv) || !pb_ip_parse(sip, ip)) {
        return false;
    }
    if (pv < 0 || pv > 65535) {
        return false;
    }
    *port = (uint16_t)pv;
    return true;
}

void pb_procs_enrich(struct pb_procs *p, pb_event *ev, bool flow, uint64_t now_ns)
{
    if (p == NULL || ev == NULL) {
        return;
    }
    const char *tr = pb_ev_get_str(ev, "network.transport", NULL);
    uint8_t transport = 0;
    if (tr != NULL && strcmp(tr, "tcp") == 0) {
        transport = PB_IPPROTO_TCP;
    } else if (tr != NULL && strcmp(tr, "udp") == 0) {
        transport = PB_IPPROTO_UDP;
    } else {
        return;
    }
    struct pb_ip sip, dip;
    uint16_t sport = 0, dport = 0;
    bool hs = endpoint_of(ev, "source", &sip, &sport);
    bool hd = endpoint_of(ev, "destination", &dip, &dport);
    if (flow && (!hs || sport == 0)) {
        return;
    }
    const struct pb_proc_info *src = hs ? pb_procs_find(p, transport, &sip, sport, now_ns) : NULL;
    /* the cache may move entries only when a new process is loaded: keep a
     * copy of what the event needs from the source first */
    json_t *src_obj = NULL;
    struct pb_proc_info src_copy;
    memset(&src_copy, 0, sizeof src_copy);
    if (src != NULL && src->pid > 0) {
        src_copy = *src;
        src_copy.args = NULL;
        src_obj = process_object(src, NULL, flow);
    }
    const struct pb_proc_info *dst = hd ? pb_procs_find(p, transport, &dip, dport, now_ns) : NULL;
    json_t *dst_obj = NULL;
    if (dst != NULL && dst->pid > 0) {
        dst_obj = process_object(dst, &src_copy, flow);
    }
    if (src_obj != NULL) {
        pb_ev_put(ev, "source.process", json_deep_copy(src_obj));
    }
    if (dst_obj != NULL) {
        pb_ev_put(ev, "destination.process", json_deep_copy(dst_obj));
    }
    if (dst_obj != NULL) {
        pb_ev_put(ev, "process", dst_obj);
        json_decref(src_obj);
    } else if (src_obj != NULL) {
        pb_ev_put(ev, "process", src_obj);
    }
}
