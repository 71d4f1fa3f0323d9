/* SPDX-License-Identifier: Apache-2.0
 * beat/processors_ext.c - libbeat processors that add or compute fields:
 * add_id, add_network_direction, add_observer_metadata,
 * add_process_metadata, community_id, fingerprint, rate_limit,
 * registered_domain and timestamp (Go time layouts).
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#ifdef PB_HAVE_PSL
#include <libpsl.h>
#endif

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/log.h"
#include "beat/net.h"
#include "beat/processors_int.h"

#define RATE_MAX_KEYS 10000u         /* rate_limit buckets kept at once */
#define FP_MAX_INPUT (1024u * 1024u) /* fingerprint: bytes hashed per event */
#define TS_MAX_LAYOUTS 32u

static int cfg_fail(char *err, size_t errlen, const char *who)
{
    snprintf(err, errlen, "%s: %s", who, pb_cfg_errmsg());
    return -1;
}

static char *dup_opt(const struct pb_cfg *body, const char *key, const char *def, bool *bad)
{
    const char *v = def;
    if (pb_cfg_str(body, key, def, &v) < 0) {
        *bad = true;
        return NULL;
    }
    return v != NULL ? pb_strdup(v) : NULL;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Go's %v of a float64 (strconv 'g', shortest, exponent when < -4 or >= 21
 * digits as fmt does for %v). */
static void go_float(double d, char *buf, size_t len)
{
    if (isnan(d)) {
        snprintf(buf, len, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(buf, len, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    int n = 1;
    char tmp[64];
    for (; n < 17; n++) {
        snprintf(tmp, sizeof tmp, "%.*e", n - 1, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    snprintf(tmp, sizeof tmp, "%.*e", n - 1, d);
    const char *e = strchr(tmp, 'e');
    int exp = e != NULL ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 21) {
        snprintf(buf, len, "%s", tmp);
        return;
    }
    int dec = n - 1 - exp;
    snprintf(buf, len, "%.*f", dec > 0 ? dec : 0, d);
}

/* A scalar as Go's fmt %v prints it; false for objects and arrays. */
static bool go_value_str(const json_t *v, char *buf, size_t len, const char **out, size_t *outlen)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *out = json_string_value(v);
        *outlen = json_string_length(v);
        return true;
    case JSON_INTEGER:
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        go_float(json_real_value(v), buf, len);
        break;
    case JSON_TRUE:
        snprintf(buf, len, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, len, "false");
        break;
    case JSON_NULL:
        snprintf(buf, len, "<nil>");
        break;
    default:
        return false;
    }
    *out = buf;
    *outlen = strlen(buf);
    return true;
}

/* ---- add_id --------------------------------------------------------------- */

struct id_state {
    atomic_uint_fast32_t seq;
    uint8_t node[6];
};

static int init_add_id(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    bool bad = false;
    p->target = dup_opt(body, "target_field", "@metadata._id", &bad);
    char *type = dup_opt(body, "type", "elasticsearch", &bad);
    if (bad) {
        pb_free(type);
        return cfg_fail(err, errlen, "add_id");
    }
    bool ok = type != NULL && strcmp(type, "elasticsearch") == 0;
    if (!ok) {
        snprintf(err, errlen, "add_id: invalid type [%s]", type != NULL ? type : "");
        pb_free(type);
        return -1;
    }
    pb_free(type);
    struct id_state *st = pb_calloc(1, sizeof *st);
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint32_t seed = 0;
    if (RAND_bytes(st->node, sizeof st->node) != 1 ||
        RAND_bytes((unsigned char *)&seed, sizeof seed) != 1) {
        seed = (uint32_t)wall_ns();
    }
    atomic_init(&st->seq, seed & 0xffffffu);
    p->priv = st;
    return 0;
}

static void fini_priv(struct pb_proc *p)
{
    pb_free(p->priv);
}

/* Elasticsearch's time-based id: 3 bytes of sequence, 6 of milliseconds,
 * 6 of node address, in base64url without padding (20 characters). */
static json_t *run_add_id(struct pb_proc *p, json_t *ev)
{
    struct id_state *st = p->priv;
    uint32_t seq = (uint32_t)atomic_fetch_add(&st->seq, 1) & 0xffffffu;
    uint64_t ms = wall_ns() / 1000000ull;
    uint8_t b[15];
    b[0] = (uint8_t)seq;
    b[1] = (uint8_t)(seq >> 16);
    b[2] = (uint8_t)(ms >> 16);
    b[3] = (uint8_t)(ms >> 24);
    b[4] = (uint8_t)(ms >> 32);
    b[5] = (uint8_t)(ms >> 40);
    memcpy(b + 6, st->node, 6);
    b[12] = (uint8_t)(ms >> 8);
    b[13] = (uint8_t)(seq >> 8);
    b[14] = (uint8_t)ms;
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[21];
    for (size_t i = 0, o = 0; i < 15; i += 3) {
        uint32_t v = ((uint32_t)b[i] << 16) | ((uint32_t)b[i + 1] << 8) | b[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    out[20] = '\0';
    pb_json_put_str(ev, p->target, out);
    return ev;
}

/* ---- add_network_direction ------------------------------------------------ */

static int init_net_direction(struct pb_proc *p, const struct pb_cfg *body, char *err,
                              size_t errlen)
{
    bool bad = false;
    p->field = dup_opt(body, "source", NULL, &bad);
    char *dst = dup_opt(body, "destination", NULL, &bad);
    p->target = dup_opt(body, "target", NULL, &bad);
    p->priv = dst;
    if (bad) {
        return cfg_fail(err, errlen, "add_network_direction");
    }
    const char *missing = p->field == NULL                         ? "source"
                          : dst == NULL                            ? "destination"
                          : p->target == NULL                      ? "target"
                          : !pb_cfg_has(body, "internal_networks") ? "internal_networks"
                                                                   : NULL;
    if (missing != NULL) {
        snprintf(err, errlen,
                 "fail to unpack the add_network_direction configuration: missing "
                 "required field accessing '%s'",
                 missing);
        return -1;
    }
    if (pb_cfg_strv(body, "internal_networks", &p->fields, &p->nfields) < 0) {
        return cfg_fail(err, errlen, "add_network_direction");
    }
    for (size_t i = 0; i < p->nfields; i++) {
        if (!pb_net_spec_valid(p->fields[i])) {
            snprintf(err, errlen, "add_network_direction: invalid network '%s'", p->fields[i]);
            return -1;
        }
    }
    return 0;
}

static bool internal_ip(const struct pb_proc *p, const char *ip)
{
    for (size_t i = 0; i < p->nfields; i++) {
        if (pb_net_match(p->fields[i], ip)) {
            return true;
        }
    }
    return false;
}

static json_t *run_net_direction(struct pb_proc *p, json_t *ev)
{
    json_t *s = pb_json_get(ev, p->field), *d = pb_json_get(ev, (const char *)p->priv);
    struct pb_ip a, b;
    if (!json_is_string(s) || !json_is_string(d) || !pb_ip_parse(json_string_value(s), &a) ||
        !pb_ip_parse(json_string_value(d), &b)) {
        return ev;
    }
    bool si = internal_ip(p, json_string_value(s)), di = internal_ip(p, json_string_value(d));
    const char *dir = si && di ? "internal" : si ? "outbound" : di ? "inbound" : "external";
    pb_json_put_str(ev, p->target, dir);
    return ev;
}

/* ---- add_observer_metadata ------------------------------------------------ */

static int init_observer(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    bool netinfo = true, overwrite = false;
    if (pb_cfg_bool(body, "netinfo.enabled", true, &netinfo) < 0 ||
        pb_cfg_bool(body, "overwrite", false, &overwrite) < 0) {
        return cfg_fail(err, errlen, "add_observer_metadata");
    }
    json_t *h = pb_proc_host_info(netinfo);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* the observer is named by its hostname; host.name and containerized
     * have no observer counterpart */
    json_object_del(h, "name");
    json_object_del(h, "containerized");
    if (pb_cfg_has(body, "geo")) {
        json_t *geo = pb_cfg_to_json(pb_cfg_get(body, "geo"));
        if (json_is_object(geo)) {
            json_object_set_new_nocheck(h, "geo", geo);
        } else {
            json_decref(geo);
        }
    }
    p->value = h;
    p->fail_on_error = overwrite; /* reused: overwrite an existing observer */
    return 0;
}

static json_t *run_observer(struct pb_proc *p, json_t *ev)
{
    json_t *obs = json_object_get(ev, "observer");
    if (json_is_object(obs) && !p->fail_on_error) {
        return ev;
    }
    if (!json_is_object(obs)) {
        obs = json_object();
        json_object_set_new_nocheck(ev, "observer", obs);
    }
    pb_proc_deep_merge(obs, p->value);
    return ev;
}

/* ---- add_process_metadata ------------------------------------------------- */

struct procmeta {
    char *pid_fields[16];
    size_t npid;
    bool overwrite, restricted;
    char *include[32]; /* NULL-free when ninclude == 0: defaults */
    size_t ninclude;
    char proc_root[64];
};

static void fini_procmeta(struct pb_proc *p)
{
    struct procmeta *m = p->priv;
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->npid; i++) {
        pb_free(m->pid_fields[i]);
    }
    for (size_t i = 0; i < m->ninclude; i++) {
        pb_free(m->include[i]);
    }
    pb_free(m);
}

static int init_procmeta(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct procmeta *m = pb_proc_priv_new(p, sizeof *m, err, errlen);
    if (m == NULL) {
        return -1;
    }
    snprintf(m->proc_root, sizeof m->proc_root, "/proc");
    char **v = NULL;
    size_t n = 0;
    if (!pb_cfg_has(body, "match_pids")) {
        snprintf(err, errlen,
                 "fail to unpack the add_process_metadata configuration: missing "
                 "required field accessing 'match_pids'");
        return -1;
    }
    if (pb_cfg_strv(body, "match_pids", &v, &n) < 0) {
        return cfg_fail(err, errlen, "add_process_metadata");
    }
    for (size_t i = 0; i < n && m->npid < 16; i++) {
        m->pid_fields[m->npid++] = pb_strdup(v[i]);
    }
    pb_cfg_strv_free(v);
    v = NULL;
    if (pb_cfg_strv(body, "include_fields", &v, &n) < 0) {
        return cfg_fail(err, errlen, "add_process_metadata");
    }
    for (size_t i = 0; v != NULL && i < n && m->ninclude < 32; i++) {
        m->include[m->ninclude++] = pb_strdup(v[i]);
    }
    pb_cfg_strv_free(v);
    bool bad = false;
    p->target = dup_opt(body, "target", "", &bad);
    const char *root = NULL;
    if (bad || pb_cfg_bool(body, "overwrite_keys", false, &m->overwrite) < 0 ||
        pb_cfg_bool(body, "restricted_fields", false, &m->restricted) < 0 ||
        pb_cfg_bool(body, "ignore_missing", true, &p->ignore_missing) < 0 ||
        pb_cfg_str(body, "host_path", NULL, &root) < 0) {
        return cfg_fail(err, errlen, "add_process_metadata");
    }
    if (root != NULL) {
        snprintf(m->proc_root, sizeof m->proc_root, "%s/proc", root);
    }
    return 0;
}

static size_t read_small(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        buf[0] = '\0';
        return 0;
    }
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

/* The process metadata of pid from /proc, as add_process_metadata's
 * default fields: process.{name,title,executable,args,pid,parent.pid,
 * start_time,owner.{id,name}}, container.id. NULL when the pid is gone. */
static json_t *proc_fields(const struct procmeta *m, long pid)
{
    char path[128], buf[8192];
    snprintf(path, sizeof path, "%s/%ld/stat", m->proc_root, pid);
    if (read_small(path, buf, sizeof buf) == 0) {
        return NULL;
    }
    json_t *out = json_object();
    char *rp = strrchr(buf, ')');
    char *lp = strchr(buf, '(');
    if (lp != NULL && rp != NULL && rp > lp) {
        pb_json_put(out, "process.name", pb_json_strn(lp + 1, (size_t)(rp - lp - 1)));
        long ppid = 0;
        unsigned long long start = 0;
        /* after ")": state ppid ... field 22 is starttime (clock ticks) */
        char *f = rp + 2;
        int field = 3;
        for (char *tok = f; tok != NULL && *tok; field++) {
            if (field == 4) {
                ppid = strtol(tok, NULL, 10);
            } else if (field == 22) {
                start = strtoull(tok, NULL, 10);
                break;
            }
            tok = strchr(tok, ' ');
            tok = tok != NULL ? tok + 1 : NULL;
        }
        pb_json_put_int(out, "process.parent.pid", ppid);
        char up[4096];
        double uptime = 0;
        snprintf(path, sizeof path, "%s/uptime", m->proc_root);
        if (read_small(path, up, sizeof up) > 0) {
            uptime = strtod(up, NULL);
        }
        long hz = sysconf(_SC_CLK_TCK);
        if (hz > 0 && uptime > 0) {
            double boot = (double)wall_ns() / 1e9 - uptime;
            double st = boot + (double)start / (double)hz;
            pb_json_put_time(out, "process.start_time", (uint64_t)(st * 1e9));
        }
    }
    pb_json_put_int(out, "process.pid", pid);
    snprintf(path, sizeof path, "%s/%ld/cmdline", m->proc_root, pid);
    size_t n = read_small(path, buf, sizeof buf);
    if (n > 0) {
        json_t *args = json_array();
        char title[8192];
        size_t tl = 0;
        for (size_t i = 0; i < n;) {
            size_t l = strnlen(buf + i, n - i);
            json_array_append_new(args, pb_json_strn(buf + i, l));
            if (tl + l + 1 < sizeof title) {
                if (tl > 0) {
                    title[tl++] = ' ';
                }
                memcpy(title + tl, buf + i, l);
                tl += l;
            }
            i += l + 1;
        }
        pb_json_put(out, "process.args", args);
        pb_json_put(out, "process.title", pb_json_strn(title, tl));
    }
    snprintf(path, sizeof path, "%s/%ld/exe", m->proc_root, pid);
    ssize_t el = readlink(path, buf, sizeof buf - 1);
    if (el > 0) {
        pb_json_put(out, "process.executable", pb_json_strn(buf, (size_t)el));
    }
    snprintf(path, sizeof path, "%s/%ld/status", m->proc_root, pid);
    if (read_small(path, buf, sizeof buf) > 0) {
        char *uid = strstr(buf, "\nUid:");
        if (uid != NULL) {
            long id = strtol(uid + 5, NULL, 10);
            char ids[32];
            snprintf(ids, sizeof ids, "%ld", id);
            pb_json_put_str(out, "process.owner.id", ids);
            struct passwd pw, *res = NULL;
            char pwbuf[1024];
            if (getpwuid_r((uid_t)id, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res != NULL) {
                pb_json_put_str(out, "process.owner.name", res->pw_name);
            }
        }
    }
    snprintf(path, sizeof path, "%s/%ld/cgroup", m->proc_root, pid);
    if (read_small(path, buf, sizeof buf) > 0) {
        /* a 64-hex-digit path element is a container id */
        for (char *c = buf; *c; c++) {
            size_t h = 0;
            while (isxdigit((unsigned char)c[h])) {
                h++;
            }
            if (h == 64 && (c == buf || !isxdigit((unsigned char)c[-1]))) {
                pb_json_put(out, "container.id", pb_json_strn(c, 64));
                break;
            }
            c += h > 0 ? h - 1 : 0;
        }
    }
    return out;
}

static void put_leaves(json_t *ev, const char *prefix, json_t *v, bool overwrite)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach(v, k, c)
        {
            char name[512];
            snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", k);
            put_leaves(ev, name, c, overwrite);
        }
        return;
    }
    if (!overwrite && pb_json_get(ev, prefix) != NULL) {
        return;
    }
    pb_json_put(ev, prefix, json_deep_copy(v));
}

static json_t *run_procmeta(struct pb_proc *p, json_t *ev)
{
    struct procmeta *m = p->priv;
    for (size_t i = 0; i < m->npid; i++) {
        json_t *v = pb_json_get(ev, m->pid_fields[i]);
        long pid = -1;
        if (json_is_integer(v)) {
            pid = (long)json_integer_value(v);
        } else if (json_is_string(v)) {
            char *end = NULL;
            pid = strtol(json_string_value(v), &end, 10);
            if (end == json_string_value(v) || *end != '\0') {
                pid = -1;
            }
        }
        if (pid <= 0) {
            continue;
        }
        json_t *info = proc_fields(m, pid);
        if (info == NULL) {
            continue;
        }
        json_t *sel = info;
        if (m->ninclude > 0) {
            sel = json_object();
            for (size_t k = 0; k < m->ninclude; k++) {
                json_t *f = pb_json_get(info, m->include[k]);
                if (f != NULL) {
                    pb_json_put(sel, m->include[k], json_deep_copy(f));
                }
            }
        }
        if (p->target[0] != '\0') {
            json_t *wrap = json_object();
            pb_json_put(wrap, p->target, json_incref(sel));
            put_leaves(ev, "", wrap, m->overwrite);
            json_decref(wrap);
        } else {
            put_leaves(ev, "", sel, m->overwrite);
        }
        if (sel != info) {
            json_decref(sel);
        }
        json_decref(info);
        return ev;
    }
    if (!p->ignore_missing) {
        pb_debug("processors", "add_process_metadata: none of the fields in match_pids found "
                               "in the event");
    }
    return ev;
}

/* ---- community_id --------------------------------------------------------- */

enum {
    CID_SIP,
    CID_SPORT,
    CID_DIP,
    CID_DPORT,
    CID_IANA,
    CID_TRANSPORT,
    CID_ICMP_TYPE,
    CID_ICMP_CODE,
    CID_N
};

static int init_community_id(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    static const char *const keys[CID_N] = {"source_ip",        "source_port", "destination_ip",
                                            "destination_port", "iana_number", "transport",
                                            "icmp_type",        "icmp_code"};
    static const char *const defs[CID_N] = {
        "source.ip",           "source.port",       "destination.ip", "destination.port",
        "network.iana_number", "network.transport", "icmp.type",      "icmp.code"};
    char **f = pb_calloc(CID_N + 1, sizeof *f);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->fields = f;
    p->nfields = CID_N;
    bool bad = false;
    for (size_t i = 0; i < CID_N; i++) {
        char path[64];
        snprintf(path, sizeof path, "fields.%s", keys[i]);
        f[i] = dup_opt(body, path, defs[i], &bad);
    }
    int64_t seed = 0;
    p->target = dup_opt(body, "target", "network.community_id", &bad);
    if (bad || pb_cfg_int(body, "seed", 0, &seed) < 0) {
        return cfg_fail(err, errlen, "community_id");
    }
    if (seed != 0) {
        snprintf(err, errlen, "community_id: only seed 0 is supported");
        return -1;
    }
    return 0;
}

static bool get_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        (uint64_t)json_integer_value(v) <= max) {
        *out = (uint64_t)json_integer_value(v);
        return true;
    }
    if (json_is_string(v)) {
        char *end = NULL;
        unsigned long long x = strtoull(json_string_value(v), &end, 10);
        if (end != json_string_value(v) && *end == '\0' && x <= max) {
            *out = x;
            return true;
        }
    }
    return false;
}

static json_t *run_community_id(struct pb_proc *p, json_t *ev)
{
    if (pb_json_get(ev, p->target) != NULL) {
        return ev;
    }
    struct pb_tuple t;
    memset(&t, 0, sizeof t);
    json_t *sip = pb_json_get(ev, p->fields[CID_SIP]), *dip = pb_json_get(ev, p->fields[CID_DIP]);
    if (!json_is_string(sip) || !json_is_string(dip) ||
        !pb_ip_parse(json_string_value(sip), &t.src) ||
        !pb_ip_parse(json_string_value(dip), &t.dst) || t.src.v6 != t.dst.v6) {
        return ev;
    }
    uint64_t proto = 0;
    json_t *tr = pb_json_get(ev, p->fields[CID_TRANSPORT]);
    if (!get_uint(pb_json_get(ev, p->fields[CID_IANA]), 255, &proto)) {
        if (!json_is_string(tr)) {
            return ev;
        }
        static const struct {
            const char *name;
            uint8_t num;
        } names[] = {{"icmp", 1},  {"igmp", 2},    {"tcp", 6},        {"udp", 17},
                     {"gre", 47},  {"icmpv6", 58}, {"ipv6-icmp", 58}, {"eigrp", 88},
                     {"ospf", 89}, {"pim", 103},   {"sctp", 132}};
        const char *s = json_string_value(tr);
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcasecmp(s, names[i].name) == 0) {
                proto = names[i].num;
                found = true;
            }
        }
        if (!found) {
            return ev;
        }
    }
    t.proto = (uint8_t)proto;
    uint64_t a = 0, b = 0;
    if (proto == PB_IPPROTO_ICMP || proto == PB_IPPROTO_ICMPV6) {
        if (!get_uint(pb_json_get(ev, p->fields[CID_ICMP_TYPE]), 255, &a) ||
            !get_uint(pb_json_get(ev, p->fields[CID_ICMP_CODE]), 255, &b)) {
            return ev;
        }
    } else if (proto == PB_IPPROTO_TCP || proto == PB_IPPROTO_UDP || proto == 132) {
        if (!get_uint(pb_json_get(ev, p->fields[CID_SPORT]), 65535, &a) ||
            !get_uint(pb_json_get(ev, p->fields[CID_DPORT]), 65535, &b)) {
            return ev;
        }
    }
    t.sport = (uint16_t)a;
    t.dport = (uint16_t)b;
    char out[64];
    pb_community_id(&t, out);
    pb_json_put_str(ev, p->target, out);
    return ev;
}

/* ---- fingerprint ---------------------------------------------------------- */

enum fp_method { FP_MD5, FP_SHA1, FP_SHA256, FP_SHA384, FP_SHA512, FP_XXHASH };
enum fp_enc { FP_HEX, FP_BASE32, FP_BASE64 };

struct fp_cfg {
    enum fp_method method;
    enum fp_enc enc;
};

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int init_fingerprint(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    if (pb_proc_get_fields(p, body, true, err, errlen) < 0) {
        return -1;
    }
    qsort(p->fields, p->nfields, sizeof p->fields[0], cmp_strp);
    const char *method = "sha256", *enc = "hex";
    bool xx = false, bad = false;
    p->target = dup_opt(body, "target_field", "fingerprint", &bad);
    if (bad || pb_cfg_str(body, "method", "sha256", &method) < 0 ||
        pb_cfg_str(body, "encoding", "hex", &enc) < 0 ||
        pb_cfg_bool(body, "ignore_missing", false, &p->ignore_missing) < 0 ||
        pb_cfg_bool(body, "use_xxhash", false, &xx) < 0) {
        return cfg_fail(err, errlen, "fingerprint");
    }
    struct fp_cfg *c = pb_proc_priv_new(p, sizeof *c, err, errlen);
    if (c == NULL) {
        return -1;
    }
    static const char *const methods[] = {"md5", "sha1", "sha256", "sha384", "sha512", "xxhash"};
    static const char *const encs[] = {"hex", "base32", "base64"};
    size_t i;
    for (i = 0; i < 6 && strcasecmp(method, methods[i]) != 0; i++) {
    }
    if (i == 6) {
        snprintf(err, errlen,
                 "failed to unpack fingerprint processor configuration: invalid "
                 "fingerprinting method [%s]",
                 method);
        return -1;
    }
    c->method = xx && !pb_cfg_has(body, "method") ? FP_XXHASH : (enum fp_method)i;
    for (i = 0; i < 3 && strcasecmp(enc, encs[i]) != 0; i++) {
    }
    if (i == 3) {
        snprintf(err, errlen,
                 "failed to unpack fingerprint processor configuration: invalid "
                 "encoding [%s]",
                 enc);
        return -1;
    }
    c->enc = (enum fp_enc)i;
    return 0;
}

#define XXP1 0x9E3779B185EBCA87ull
#define XXP2 0xC2B2AE3D27D4EB4Full
#define XXP3 0x165667B19E3779F9ull
#define XXP4 0x85EBCA77C2B2AE63ull
#define XXP5 0x27D4EB2F165667C5ull

static uint64_t rotl64(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

static uint64_t xx_round(uint64_t acc, uint64_t in)
{
    return rotl64(acc + in * XXP2, 31) * XXP1;
}

static uint64_t xx_merge(uint64_t acc, uint64_t v)
{
    return (acc ^ xx_round(0, v)) * XXP1 + XXP4;
}

/* XXH64 with seed 0. */
static uint64_t xxh64(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = XXP1 + XXP2, v2 = XXP2, v3 = 0, v4 = 0 - XXP1;
        while ((size_t)(end - p) >= 32) {
            v1 = xx_round(v1, le64(p));
            v2 = xx_round(v2, le64(p + 8));
            v3 = xx_round(v3, le64(p + 16));
            v4 = xx_round(v4, le64(p + 24));
            p += 32;
        }
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(h, v1);
        h = xx_merge(h, v2);
        h = xx_merge(h, v3);
        h = xx_merge(h, v4);
    } else {
        h = XXP5;
    }
    h += (uint64_t)len;
    while ((size_t)(end - p) >= 8) {
        h ^= xx_round(0, le64(p));
        h = rotl64(h, 27) * XXP1 + XXP4;
        p += 8;
    }
    if ((size_t)(end - p) >= 4) {
        uint64_t w = (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
                     ((uint64_t)p[3] << 24);
        h ^= w * XXP1;
        h = rotl64(h, 23) * XXP2 + XXP3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p++) * XXP5;
        h = rotl64(h, 11) * XXP1;
    }
    h ^= h >> 33;
    h *= XXP2;
    h ^= h >> 29;
    h *= XXP3;
    h ^= h >> 32;
    return h;
}

static void encode_digest(enum fp_enc enc, const uint8_t *d, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    if (enc == FP_HEX) {
        for (size_t i = 0; i < n && o + 3 <= outlen; i++) {
            o += (size_t)snprintf(out + o, outlen - o, "%02x", d[i]);
        }
        return;
    }
    if (enc == FP_BASE64) {
        EVP_EncodeBlock((unsigned char *)out, d, (int)n);
        return;
    }
    static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint32_t buf = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | d[i];
        bits += 8;
        while (bits >= 5 && o + 1 < outlen) {
            out[o++] = b32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0 && o + 1 < outlen) {
        out[o++] = b32[(buf << (5 - bits)) & 31];
    }
    while (o % 8 != 0 && o + 1 < outlen) {
        out[o++] = '=';
    }
    out[o] = '\0';
}

static json_t *run_fingerprint(struct pb_proc *p, json_t *ev)
{
    struct fp_cfg *c = p->priv;
    char *src = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&src, &len);
    if (mem == NULL) {
        return ev;
    }
    const char *fail = NULL;
    char failbuf[600];
    for (size_t i = 0; i < p->nfields; i++) {
        json_t *v = pb_json_get(ev, p->fields[i]);
        if (v == NULL) {
            if (p->ignore_missing) {
                continue;
            }
            snprintf(failbuf, sizeof failbuf,
                     "failed to compute fingerprint: failed to find "
                     "field [%s] in event: key not found",
                     p->fields[i]);
            fail = failbuf;
            break;
        }
        char nb[64];
        const char *s = NULL;
        size_t sl = 0;
        if (!go_value_str(v, nb, sizeof nb, &s, &sl)) {
            snprintf(failbuf, sizeof failbuf,
                     "failed to compute fingerprint: cannot compute "
                     "fingerprint using non-scalar field [%s]",
                     p->fields[i]);
            fail = failbuf;
            break;
        }
        fprintf(mem, "|%s|", p->fields[i]);
        fwrite(s, 1, sl, mem);
    }
    fputc('|', mem);
    fclose(mem);
    if (fail != NULL || len > FP_MAX_INPUT) {
        free(src);
        pb_proc_add_error(ev, fail != NULL ? fail : "failed to compute fingerprint: too large");
        return ev;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (c->method == FP_XXHASH) {
        uint64_t h = xxh64((const uint8_t *)src, len);
        for (int i = 0; i < 8; i++) {
            md[i] = (uint8_t)(h >> (56 - 8 * i));
        }
        mdlen = 8;
    } else {
        const EVP_MD *t = c->method == FP_MD5      ? EVP_md5()
                          : c->method == FP_SHA1   ? EVP_sha1()
                          : c->method == FP_SHA384 ? EVP_sha384()
                          : c->method == FP_SHA512 ? EVP_sha512()
                                                   : EVP_sha256();
        if (EVP_Digest(src, len, md, &mdlen, t, NULL) != 1) {
            mdlen = 0;
        }
    }
    free(src);
    char out[EVP_MAX_MD_SIZE * 2 + 8];
    encode_digest(c->enc, md, mdlen, out, sizeof out);
    pb_json_put_str(ev, p->target, out);
    return ev;
}

/* ---- rate_limit ----------------------------------------------------------- */

struct bucket {
    char *key; /* owned; NULL: free slot */
    double tokens;
    uint64_t last_ns;
};

struct ratelim {
    pthread_mutex_t mu;
    double limit;     /* events per period = bucket capacity */
    double per_ns;    /* tokens added per nanosecond */
    struct bucket *b; /* open addressing, RATE_MAX_KEYS * 2 slots */
    size_t nb, used;
    uint64_t dropped;
};

static void fini_ratelim(struct pb_proc *p)
{
    struct ratelim *r = p->priv;
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nb; i++) {
        pb_free(r->b[i].key);
    }
    pb_free(r->b);
    pthread_mutex_destroy(&r->mu);
    pb_free(r);
}

static int init_ratelim(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const char *limit = NULL;
    if (pb_cfg_str(body, "limit", NULL, &limit) < 0 ||
        pb_proc_get_fields(p, body, false, err, errlen) < 0) {
        return cfg_fail(err, errlen, "rate_limit");
    }
    if (limit == NULL) {
        snprintf(err, errlen,
                 "could not unpack processor configuration: missing required field "
                 "accessing 'limit'");
        return -1;
    }
    char *end = NULL;
    double n = strtod(limit, &end);
    double unit = 0;
    if (end != limit && end[0] == '/' && end[2] == '\0') {
        unit = end[1] == 's' ? 1 : end[1] == 'm' ? 60 : end[1] == 'h' ? 3600 : 0;
    }
    if (unit == 0 || !(n > 0)) {
        snprintf(err, errlen, "rate_limit: invalid limit '%s' (e.g. \"10000/m\")", limit);
        return -1;
    }
    if (pb_cfg_has(body, "algorithm")) {
        const struct pb_cfg *a = pb_cfg_get(body, "algorithm");
        if (a->kind != PB_CFG_MAP || pb_cfg_len(a) != 1 ||
            strcmp(pb_cfg_at(a, 0)->key, "token_bucket") != 0) {
            snprintf(err, errlen, "rate_limit: unknown algorithm (only token_bucket)");
            return -1;
        }
    }
    if (p->fields != NULL) {
        qsort(p->fields, p->nfields, sizeof p->fields[0], cmp_strp);
    }
    struct ratelim *r = pb_proc_priv_new(p, sizeof *r, err, errlen);
    if (r == NULL) {
        return -1;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->limit = n;
    r->per_ns = n / (unit * 1e9);
    r->nb = RATE_MAX_KEYS * 2;
    r->b = pb_calloc(r->nb, sizeof *r->b);
    if (r->b == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    }
    return h;
}

/* Drops buckets that have refilled completely (they behave as new ones). */
static void ratelim_gc(struct ratelim *r, uint64_t now)
{
    struct bucket *old = r->b;
    struct bucket *nb = pb_calloc(r->nb, sizeof *nb);
    if (nb == NULL) {
        return;
    }
    r->used = 0;
    for (size_t i = 0; i < r->nb; i++) {
        if (old[i].key == NULL) {
            continue;
        }
        double t = old[i].tokens + (double)(now - old[i].last_ns) * r->per_ns;
        if (t >= r->limit) {
            pb_free(old[i].key);
            continue;
        }
        size_t j = (size_t)(fnv1a(old[i].key) % r->nb);
        while (nb[j].key != NULL) {
            j = (j + 1) % r->nb;
        }
        nb[j] = old[i];
        r->used++;
    }
    pb_free(old);
    r->b = nb;
}

static json_t *run_ratelim(struct pb_proc *p, json_t *ev)
{
    struct ratelim *r = p->priv;
    char key[1024];
    size_t kl = 0;
    key[0] = '\0';
    for (size_t i = 0; i < p->nfields && kl < sizeof key; i++) {
        char nb[64];
        const char *s = "";
        size_t sl = 0;
        json_t *v = pb_json_get(ev, p->fields[i]);
        if (v != NULL && !go_value_str(v, nb, sizeof nb, &s, &sl)) {
            s = "";
            sl = 0;
        }
        int w = snprintf(key + kl, sizeof key - kl, "%s=%.*s|", p->fields[i], (int)sl, s);
        kl += w > 0 ? (size_t)w : 0;
    }
    uint64_t now = wall_ns();
    bool allow = true;
    pthread_mutex_lock(&r->mu);
    if (r->used >= RATE_MAX_KEYS) {
        ratelim_gc(r, now);
    }
    size_t j = (size_t)(fnv1a(key) % r->nb);
    while (r->b[j].key != NULL && strcmp(r->b[j].key, key) != 0) {
        j = (j + 1) % r->nb;
    }
    struct bucket *b = &r->b[j];
    if (b->key == NULL && r->used < RATE_MAX_KEYS) {
        b->key = pb_strdup(key);
        if (b->key != NULL) {
            b->tokens = r->limit;
            b->last_ns = now;
            r->used++;
        }
    }
    if (b->key != NULL) {
        b->tokens += (double)(now - b->last_ns) * r->per_ns;
        if (b->tokens > r->limit) {
            b->tokens = r->limit;
        }
        b->last_ns = now;
        if (b->tokens >= 1) {
            b->tokens -= 1;
        } else {
            allow = false;
            r->dropped++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (!allow) {
        pb_debug("processors", "event dropped by rate_limit processor");
        json_decref(ev);
        return NULL;
    }
    return ev;
}

/* ---- registered_domain ---------------------------------------------------- */

struct regdom {
    char *etld, *sub; /* owned target fields, NULL: not set */
    bool ignore_failure;
};

static void fini_regdom(struct pb_proc *p)
{
    struct regdom *d = p->priv;
    if (d != NULL) {
        pb_free(d->etld);
        pb_free(d->sub);
        pb_free(d);
    }
}

static int init_regdom(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
#ifndef PB_HAVE_PSL
    snprintf(err, errlen, "registered_domain needs libpsl (not found at build time)");
    return -1;
#else
    struct regdom *d = pb_proc_priv_new(p, sizeof *d, err, errlen);
    if (d == NULL) {
        return -1;
    }
    bool bad = false;
    p->field = dup_opt(body, "field", NULL, &bad);
    p->target = dup_opt(body, "target_field", NULL, &bad);
    d->etld = dup_opt(body, "target_etld_field", NULL, &bad);
    d->sub = dup_opt(body, "target_subdomain_field", NULL, &bad);
    if (bad || pb_cfg_bool(body, "ignore_missing", false, &p->ignore_missing) < 0 ||
        pb_cfg_bool(body, "ignore_failure", false, &d->ignore_failure) < 0) {
        return cfg_fail(err, errlen, "registered_domain");
    }
    if (p->field == NULL || p->target == NULL) {
        snprintf(err, errlen,
                 "failed to unpack the registered_domain configuration: missing "
                 "required field accessing '%s'",
                 p->field == NULL ? "field" : "target_field");
        return -1;
    }
    return 0;
#endif
}

#ifdef PB_HAVE_PSL
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_loaded;

static void psl_load(void)
{
    /* the system list (publicsuffix package) is newer than the builtin */
    psl_ctx_t *latest = psl_latest(NULL);
    psl_loaded = latest != NULL ? latest : psl_builtin();
}

static const psl_ctx_t *psl_ctx(void)
{
    pthread_once(&psl_once, psl_load);
    return psl_loaded;
}
#endif

static json_t *run_regdom(struct pb_proc *p, json_t *ev)
{
#ifdef PB_HAVE_PSL
    struct regdom *d = p->priv;
    json_t *v = pb_json_get(ev, p->field);
    if (v == NULL) {
        if (!p->ignore_missing && !d->ignore_failure) {
            char msg[600];
            snprintf(msg, sizeof msg, "registered_domain: failed to get field [%s]: key not found",
                     p->field);
            pb_proc_add_error(ev, msg);
        }
        return ev;
    }
    if (!json_is_string(v)) {
        return ev;
    }
    char dom[256];
    size_t n = json_string_length(v);
    if (n == 0 || n >= sizeof dom) {
        return ev;
    }
    memcpy(dom, json_string_value(v), n + 1);
    while (n > 0 && dom[n - 1] == '.') {
        dom[--n] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        dom[i] = (char)tolower((unsigned char)dom[i]);
    }
    const psl_ctx_t *ctx = psl_ctx();
    const char *rd = ctx != NULL ? psl_registrable_domain(ctx, dom) : NULL;
    if (rd == NULL) {
        if (!d->ignore_failure) {
            char msg[600];
            snprintf(msg, sizeof msg,
                     "registered_domain: failed to determine registered domain "
                     "of [%s]",
                     dom);
            pb_debug("processors", "%s", msg);
        }
        return ev;
    }
    pb_json_put_str(ev, p->target, rd);
    if (d->etld != NULL) {
        const char *suffix = psl_unregistrable_domain(ctx, dom);
        if (suffix != NULL) {
            pb_json_put_str(ev, d->etld, suffix);
        }
    }
    if (d->sub != NULL && rd != dom && rd - dom >= 2) {
        pb_json_put(ev, d->sub, json_stringn(dom, (size_t)(rd - dom - 1)));
    }
#endif
    return ev;
}

/* ---- timestamp ------------------------------------------------------------ */

enum tz_kind { TZ_UTC, TZ_LOCAL, TZ_FIXED, TZ_NAMED };

struct tsproc {
    char *layouts[TS_MAX_LAYOUTS];
    size_t nlayouts;
    enum tz_kind tz;
    long tz_off;   /* TZ_FIXED: seconds east of UTC */
    char *tz_name; /* TZ_NAMED */
    bool ignore_failure;
};

static void fini_ts(struct pb_proc *p)
{
    struct tsproc *t = p->priv;
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nlayouts; i++) {
        pb_free(t->layouts[i]);
    }
    pb_free(t->tz_name);
    pb_free(t);
}

struct tparts {
    int year, mon, day, hour, min, sec, yday;
    int pm; /* -1 none, 0 am, 1 pm */
    long nsec;
    bool has_zone;
    long zone_off;
};

static int take_num(const char **v, int min_digits, int max_digits, int *out)
{
    const char *s = *v;
    int n = 0, x = 0;
    while (n < max_digits && isdigit((unsigned char)s[n])) {
        x = x * 10 + (s[n] - '0');
        n++;
    }
    if (n < min_digits) {
        return -1;
    }
    *v = s + n;
    *out = x;
    return 0;
}

static int take_name(const char **v, const char *const *names, size_t nn, bool full, int *out)
{
    for (size_t i = 0; i < nn; i++) {
        size_t l = full ? strlen(names[i]) : 3;
        if (strncasecmp(*v, names[i], l) == 0) {
            *v += l;
            *out = (int)i;
            return 0;
        }
    }
    return -1;
}

static int take_zone(const char **v, bool z_ok, bool colon, int nparts, long *off)
{
    const char *s = *v;
    if (z_ok && *s == 'Z') {
        *v = s + 1;
        *off = 0;
        return 0;
    }
    if (*s != '+' && *s != '-') {
        return -1;
    }
    int sign = *s == '-' ? -1 : 1;
    s++;
    int h = 0, m = 0, sec = 0;
    if (take_num(&s, 2, 2, &h) < 0) {
        return -1;
    }
    if (nparts >= 2) {
        if (colon && *s++ != ':') {
            return -1;
        }
        if (take_num(&s, 2, 2, &m) < 0) {
            return -1;
        }
    }
    if (nparts >= 3) {
        if (colon && *s++ != ':') {
            return -1;
        }
        if (take_num(&s, 2, 2, &sec) < 0) {
            return -1;
        }
    }
    *off = sign * (h * 3600L + m * 60L + sec);
    *v = s;
    return 0;
}

static int take_frac(const char **v, long *nsec)
{
    const char *s = *v;
    if (*s != '.' && *s != ',') {
        return -1;
    }
    s++;
    long ns = 0;
    int n = 0;
    while (isdigit((unsigned char)*s)) {
        if (n < 9) {
            ns = ns * 10 + (*s - '0');
        }
        n++;
        s++;
    }
    if (n == 0) {
        return -1;
    }
    for (int i = n; i < 9; i++) {
        ns *= 10;
    }
    *nsec = ns;
    *v = s;
    return 0;
}

/* Parses value against a Go reference-time layout ("2006-01-02T15:04:05Z07:00"). */
static int go_parse(const char *layout, const char *v, struct tparts *t)
{
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    static const char *const days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    memset(t, 0, sizeof *t);
    t->year = 0;
    t->mon = 1;
    t->day = 1;
    t->pm = -1;
    const char *l = layout;
    int dummy;
    while (*l != '\0') {
#define LAY(s) (strncmp(l, (s), sizeof(s) - 1) == 0 ? (l += sizeof(s) - 1, 1) : 0)
        int rc = 0;
        if (LAY("January")) {
            rc = take_name(&v, months, 12, true, &t->mon);
            t->mon++;
        } else if (LAY("Jan")) {
            rc = take_name(&v, months, 12, false, &t->mon);
            t->mon++;
        } else if (LAY("Monday")) {
            rc = take_name(&v, days, 7, true, &dummy);
        } else if (LAY("Mon")) {
            rc = take_name(&v, days, 7, false, &dummy);
        } else if (LAY("MST")) {
            const char *s = v;
            while (isupper((unsigned char)*s)) {
                s++;
            }
            if (s - v < 3 || s - v > 5) {
                rc = -1;
            } else {
                if (strncmp(v, "UTC", 3) == 0 || strncmp(v, "GMT", 3) == 0) {
                    t->has_zone = true;
                    t->zone_off = 0;
                }
                v = s;
            }
        } else if (LAY("2006")) {
            rc = take_num(&v, 4, 4, &t->year);
        } else if (LAY("01")) {
            rc = take_num(&v, 2, 2, &t->mon);
        } else if (LAY("02")) {
            rc = take_num(&v, 2, 2, &t->day);
        } else if (LAY("_2")) {
            if (*v == ' ') {
                v++;
            }
            rc = take_num(&v, 1, 2, &t->day);
        } else if (LAY("002") || LAY("__2")) {
            while (*v == ' ') {
                v++;
            }
            rc = take_num(&v, 1, 3, &t->yday);
        } else if (LAY("06")) {
            rc = take_num(&v, 2, 2, &t->year);
            t->year += t->year >= 69 ? 1900 : 2000;
        } else if (LAY("15")) {
            rc = take_num(&v, 1, 2, &t->hour);
        } else if (LAY("03")) {
            rc = take_num(&v, 2, 2, &t->hour);
        } else if (LAY("04")) {
            rc = take_num(&v, 2, 2, &t->min);
        } else if (LAY("05")) {
            rc = take_num(&v, 2, 2, &t->sec);
            if (*l != '.' && *l != ',' &&
                (*v == '.' || (*v == ',' && isdigit((unsigned char)v[1])))) {
                take_frac(&v, &t->nsec); /* Go accepts a fraction after seconds */
            }
        } else if (LAY("PM") || LAY("pm")) {
            if (strncasecmp(v, "PM", 2) == 0) {
                t->pm = 1;
            } else if (strncasecmp(v, "AM", 2) == 0) {
                t->pm = 0;
            } else {
                rc = -1;
            }
            v += rc == 0 ? 2 : 0;
        } else if (LAY("Z07:00:00")) {
            rc = take_zone(&v, true, true, 3, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("Z070000")) {
            rc = take_zone(&v, true, false, 3, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("Z07:00")) {
            rc = take_zone(&v, true, true, 2, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("Z0700")) {
            rc = take_zone(&v, true, false, 2, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("Z07")) {
            rc = take_zone(&v, true, false, 1, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("-07:00:00")) {
            rc = take_zone(&v, false, true, 3, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("-070000")) {
            rc = take_zone(&v, false, false, 3, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("-07:00")) {
            rc = take_zone(&v, false, true, 2, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("-0700")) {
            rc = take_zone(&v, false, false, 2, &t->zone_off);
            t->has_zone = true;
        } else if (LAY("-07")) {
            rc = take_zone(&v, false, false, 1, &t->zone_off);
            t->has_zone = true;
        } else if ((l[0] == '.' || l[0] == ',') && (l[1] == '0' || l[1] == '9')) {
            char d = l[1];
            size_t n = 1;
            while (l[n] == d) {
                n++;
            }
            if (!isdigit((unsigned char)l[n])) {
                l += n;
                if (d == '9') {
                    if (*v == '.' || *v == ',') {
                        rc = take_frac(&v, &t->nsec);
                    }
                } else {
                    rc = take_frac(&v, &t->nsec);
                }
            } else {
                rc = *v == *l ? 0 : -1;
                v++;
                l++;
            }
        } else if (LAY("1")) {
            rc = take_num(&v, 1, 2, &t->mon);
        } else if (LAY("2")) {
            rc = take_num(&v, 1, 2, &t->day);
        } else if (LAY("3")) {
            rc = take_num(&v, 1, 2, &t->hour);
        } else if (LAY("4")) {
            rc = take_num(&v, 1, 2, &t->min);
        } else if (LAY("5")) {
            rc = take_num(&v, 1, 2, &t->sec);
        } else {
            rc = *v == *l ? 0 : -1;
            v++;
            l++;
        }
#undef LAY
        if (rc < 0) {
            return -1;
        }
    }
    if (*v != '\0') {
        return -1; /* extra text */
    }
    if (t->pm == 1 && t->hour < 12) {
        t->hour += 12;
    } else if (t->pm == 0 && t->hour == 12) {
        t->hour = 0;
    }
    if (t->mon < 1 || t->mon > 12 || t->day < 1 || t->day > 31 || t->hour > 23 || t->min > 59 ||
        t->sec > 59) {
        return -1;
    }
    return 0;
}

static pthread_mutex_t tz_mu = PTHREAD_MUTEX_INITIALIZER;

/* UTC offset in seconds of a local wall time in the named zone. */
static long named_offset(const char *name, struct tm *tm)
{
    pthread_mutex_lock(&tz_mu);
    char *old = getenv("TZ") != NULL ? pb_strdup(getenv("TZ")) : NULL;
    setenv("TZ", name, 1);
    tzset();
    struct tm c = *tm;
    c.tm_isdst = -1;
    time_t local = mktime(&c);
    time_t utc = timegm(tm);
    if (old != NULL) {
        setenv("TZ", old, 1);
        pb_free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    pthread_mutex_unlock(&tz_mu);
    return (long)(utc - local);
}

static int ts_parse(const struct tsproc *tp, const char *layout, const json_t *val,
                    uint64_t *out_ns)
{
    double num = 0;
    bool isnum = false;
    if (json_is_number(val)) {
        num = json_number_value(val);
        isnum = true;
    } else if (json_is_string(val)) {
        char *end = NULL;
        num = strtod(json_string_value(val), &end);
        isnum = end != json_string_value(val) && *end == '\0';
    }
    if (strcmp(layout, "UNIX") == 0 || strcmp(layout, "UNIX_MS") == 0) {
        if (!isnum || num < 0) {
            return -1;
        }
        bool ms = strcmp(layout, "UNIX_MS") == 0;
        if (json_is_integer(val)) {
            *out_ns = (uint64_t)json_integer_value(val) * (ms ? 1000000ull : 1000000000ull);
        } else {
            *out_ns = (uint64_t)llround(ms ? num * 1e6 : num * 1e9);
        }
        return 0;
    }
    if (!json_is_string(val)) {
        return -1;
    }
    struct tparts t;
    if (go_parse(layout, json_string_value(val), &t) < 0) {
        return -1;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = t.year - 1900;
    tm.tm_mon = t.mon - 1;
    tm.tm_mday = t.day;
    if (t.yday > 0) {
        tm.tm_mon = 0;
        tm.tm_mday = t.yday;
    }
    tm.tm_hour = t.hour;
    tm.tm_min = t.min;
    tm.tm_sec = t.sec;
    time_t secs = timegm(&tm);
    long off = 0;
    if (t.has_zone) {
        off = t.zone_off;
    } else if (tp->tz == TZ_FIXED) {
        off = tp->tz_off;
    } else if (tp->tz == TZ_LOCAL) {
        struct tm c = tm;
        c.tm_isdst = -1;
        off = (long)(secs - mktime(&c));
    } else if (tp->tz == TZ_NAMED) {
        off = named_offset(tp->tz_name, &tm);
    }
    int64_t s = (int64_t)secs - off;
    if (s < 0) {
        return -1;
    }
    *out_ns = (uint64_t)s * 1000000000ull + (uint64_t)t.nsec;
    return 0;
}

static int init_ts(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    struct tsproc *t = pb_proc_priv_new(p, sizeof *t, err, errlen);
    if (t == NULL) {
        return -1;
    }
    bool bad = false;
    p->field = dup_opt(body, "field", NULL, &bad);
    p->target = dup_opt(body, "target_field", "@timestamp", &bad);
    const char *tz = "UTC";
    char **lay = NULL;
    size_t nl = 0;
    if (bad || pb_cfg_str(body, "timezone", "UTC", &tz) < 0 ||
        pb_cfg_bool(body, "ignore_missing", false, &p->ignore_missing) < 0 ||
        pb_cfg_bool(body, "ignore_failure", false, &t->ignore_failure) < 0 ||
        pb_cfg_strv(body, "layouts", &lay, &nl) < 0) {
        return cfg_fail(err, errlen, "timestamp");
    }
    if (p->field == NULL || lay == NULL || nl == 0) {
        pb_cfg_strv_free(lay);
        snprintf(err, errlen,
                 "failed to unpack the timestamp configuration: missing required "
                 "field accessing '%s'",
                 p->field == NULL ? "field" : "layouts");
        return -1;
    }
    for (size_t i = 0; i < nl && t->nlayouts < TS_MAX_LAYOUTS; i++) {
        t->layouts[t->nlayouts++] = pb_strdup(lay[i]);
    }
    pb_cfg_strv_free(lay);
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "") == 0) {
        t->tz = TZ_UTC;
    } else if (strcmp(tz, "Local") == 0) {
        t->tz = TZ_LOCAL;
    } else if (tz[0] == '+' || tz[0] == '-') {
        const char *s = tz;
        long off = 0;
        bool colon = strchr(tz, ':') != NULL;
        if (take_zone(&s, false, colon, strlen(tz) <= 3 ? 1 : 2, &off) < 0 || *s != '\0') {
            snprintf(err, errlen, "timestamp: failed to parse timezone '%s'", tz);
            return -1;
        }
        t->tz = TZ_FIXED;
        t->tz_off = off;
    } else {
        char zp[512];
        snprintf(zp, sizeof zp, "/usr/share/zoneinfo/%s", tz);
        if (strstr(tz, "..") != NULL || access(zp, R_OK) != 0) {
            snprintf(err, errlen,
                     "failed to unpack the timestamp configuration: unknown time "
                     "zone %s",
                     tz);
            return -1;
        }
        t->tz = TZ_NAMED;
        t->tz_name = pb_strdup(tz);
    }
    /* `test`: timestamps that must parse, checked now */
    char **tests = NULL;
    size_t nt = 0;
    if (pb_cfg_strv(body, "test", &tests, &nt) < 0) {
        return cfg_fail(err, errlen, "timestamp");
    }
    for (size_t i = 0; tests != NULL && i < nt; i++) {
        json_t *v = json_string(tests[i]);
        uint64_t ns = 0;
        bool ok = false;
        for (size_t k = 0; k < t->nlayouts && !ok; k++) {
            ok = ts_parse(t, t->layouts[k], v, &ns) == 0;
        }
        json_decref(v);
        if (!ok) {
            snprintf(err, errlen, "failed to parse test timestamp '%s'", tests[i]);
            pb_cfg_strv_free(tests);
            return -1;
        }
    }
    pb_cfg_strv_free(tests);
    return 0;
}

static json_t *run_ts(struct pb_proc *p, json_t *ev)
{
    struct tsproc *t = p->priv;
    json_t *v = pb_json_get(ev, p->field);
    char msg[700];
    if (v == NULL) {
        if (!p->ignore_missing && !t->ignore_failure) {
            snprintf(msg, sizeof msg, "failed to get time field %s: key not found", p->field);
            pb_proc_add_error(ev, msg);
        }
        return ev;
    }
    for (size_t i = 0; i < t->nlayouts; i++) {
        uint64_t ns = 0;
        if (ts_parse(t, t->layouts[i], v, &ns) == 0) {
            pb_json_put_time(ev, p->target, ns);
            return ev;
        }
    }
    if (!t->ignore_failure) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(msg, sizeof msg, "failed parsing time field %s='%s'", p->field,
                 s != NULL ? s : "");
        free(s);
        pb_proc_add_error(ev, msg);
    }
    return ev;
}

const struct pb_proc_kind pb_proc_kinds_ext[] = {
    {"add_id", init_add_id, run_add_id, fini_priv, NULL},
    {"add_network_direction", init_net_direction, run_net_direction, fini_priv, NULL},
    {"add_observer_metadata", init_observer, run_observer, NULL, NULL},
    {"add_process_metadata", init_procmeta, run_procmeta, fini_procmeta, NULL},
    {"community_id", init_community_id, run_community_id, NULL, NULL},
    {"fingerprint", init_fingerprint, run_fingerprint, fini_priv, NULL},
    {"rate_limit", init_ratelim, run_ratelim, fini_ratelim, NULL},
    {"registered_domain", init_regdom, run_regdom, fini_regdom, NULL},
    {"timestamp", init_ts, run_ts, fini_ts, NULL},
};
const size_t pb_proc_kinds_ext_n = sizeof pb_proc_kinds_ext / sizeof pb_proc_kinds_ext[0];
