/* SPDX-License-Identifier: Apache-2.0
 * beat/processors.c - the processor list and the processors themselves, with
 * libbeat's semantics. Each processor is a small kind table entry: init from
 * its config body, run on an event, free.
 */
#include "beat/processors.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/log.h"
#include "beat/net.h"
#include "beat/processors_int.h"

#define PROC_MAX PB_PROC_MAX
#define PROC_MAX_FIELDS PB_PROC_MAX_FIELDS

struct pb_processors {
    struct pb_proc *list[PROC_MAX];
    size_t n;
    /* the ones of list that may change an event, in order: the others
       pass events unchanged, their conditions do not matter (borrowed
       from list) */
    struct pb_proc *run[PROC_MAX];
    size_t nrun;
    /* What the list does to an arena event whose root has none of the
       keys of reads (pb_key_bit), decided once (plan_list): the processors
       that act on such an event, in order, the branches of conditions on
       fields it cannot have already taken, the processors that leave it
       as it is (a MIME type of a field it lacks) left out. planned false:
       the list has a processor whose effect is not known ahead. */
    bool planned;
    uint64_t reads;
    struct pb_proc *plan[PROC_MAX];
    size_t nplan;
};

/* ---- helpers ------------------------------------------------------------ */

void *pb_proc_priv_new(struct pb_proc *p, size_t size, char *err, size_t errlen)
{
    void *v = pb_calloc(1, size);
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->priv = v;
    return v;
}

int pb_proc_get_fields(struct pb_proc *p, const struct pb_cfg *body, bool required, char *err,
                       size_t errlen)
{
    if (!pb_cfg_has(body, "fields")) {
        if (required) {
            snprintf(err, errlen, "missing required field accessing '%s.fields'", p->kind->name);
            return -1;
        }
        return 0;
    }
    if (pb_cfg_strv(body, "fields", &p->fields, &p->nfields) < 0) {
        snprintf(err, errlen, "%s: %s", p->kind->name, pb_cfg_errmsg());
        return -1;
    }
    return 0;
}

int pb_proc_get_pairs(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const struct pb_cfg *list = pb_cfg_get(body, "fields");
    if (list == NULL || list->kind != PB_CFG_LIST) {
        snprintf(err, errlen, "%s: 'fields' must be a list of {from, to}", p->kind->name);
        return -1;
    }
    for (size_t i = 0; i < pb_cfg_len(list) && p->npairs < PROC_MAX_FIELDS; i++) {
        const struct pb_cfg *it = pb_cfg_at(list, i);
        const char *from = NULL, *to = NULL;
        /* dotted "from: a.b" values are scalars; keys are not expanded here */
        if (pb_cfg_str(it, "from", NULL, &from) < 0 || pb_cfg_str(it, "to", NULL, &to) < 0 ||
            from == NULL || to == NULL) {
            snprintf(err, errlen, "%s: each entry needs 'from' and 'to'", p->kind->name);
            return -1;
        }
        p->pairs[p->npairs].from = pb_strdup(from);
        p->pairs[p->npairs].to = pb_strdup(to);
        p->npairs++;
    }
    return 0;
}

int pb_proc_get_flags(struct pb_proc *p, const struct pb_cfg *body, bool def_fail, char *err,
                      size_t errlen)
{
    if (pb_cfg_bool(body, "ignore_missing", false, &p->ignore_missing) < 0 ||
        pb_cfg_bool(body, "fail_on_error", def_fail, &p->fail_on_error) < 0) {
        snprintf(err, errlen, "%s: %s", p->kind->name, pb_cfg_errmsg());
        return -1;
    }
    return 0;
}

void pb_proc_add_error(json_t *ev, const char *msg)
{
    json_t *cur = pb_json_get(ev, "error.message");
    if (cur == NULL) {
        pb_json_put_str(ev, "error.message", msg);
    } else if (json_is_array(cur)) {
        json_array_append_new(cur, json_string(msg));
    } else {
        pb_json_put(ev, "error.message", json_pack("[Os]", cur, msg));
    }
}

static bool protected_field(const char *f)
{
    return strcmp(f, "@timestamp") == 0 || strcmp(f, "type") == 0;
}

/* ---- drop_fields / include_fields / drop_event ------------------------------ */

static int init_drop_fields(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    return pb_proc_get_fields(p, body, true, err, errlen) < 0
               ? -1
               : pb_proc_get_flags(p, body, false, err, errlen);
}

static json_t *run_drop_fields(struct pb_proc *p, json_t *ev)
{
    for (size_t i = 0; i < p->nfields; i++) {
        if (!protected_field(p->fields[i])) {
            pb_json_del(ev, p->fields[i]);
        }
    }
    return ev;
}

static pb_event *run_drop_fields_ev(struct pb_proc *p, pb_event *ev)
{
    for (size_t i = 0; i < p->nfields; i++) {
        if (!protected_field(p->fields[i])) {
            pb_ev_del(ev, p->fields[i]);
        }
    }
    return ev;
}

static int init_include_fields(struct pb_proc *p, const struct pb_cfg *body, char *err,
                               size_t errlen)
{
    return pb_proc_get_fields(p, body, true, err, errlen);
}

static json_t *run_include_fields(struct pb_proc *p, json_t *ev)
{
    json_t *out = json_object();
    static const char *const always[] = {"@timestamp", "@metadata", "type"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(ev, always[i]);
        if (v != NULL) {
            json_object_set(out, always[i], v);
        }
    }
    for (size_t i = 0; i < p->nfields; i++) {
        json_t *v = pb_json_get(ev, p->fields[i]);
        if (v != NULL) {
            pb_json_put(out, p->fields[i], json_deep_copy(v));
        }
    }
    json_decref(ev);
    return out;
}

static int init_nothing(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    return 0;
}

static json_t *run_drop_event(struct pb_proc *p, json_t *ev)
{
    json_decref(ev);
    return NULL;
}

static pb_event *run_drop_event_ev(struct pb_proc *p, pb_event *ev)
{
    pb_ev_free(ev);
    return NULL;
}

/* ---- add_fields / add_tags / add_labels ----------------------------------- */

static int init_add_fields(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const struct pb_cfg *f = pb_cfg_get(body, "fields");
    if (f == NULL || f->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "add_fields: 'fields' must be a map");
        return -1;
    }
    const char *target = "fields";
    if (pb_cfg_str(body, "target", "fields", &target) < 0) {
        snprintf(err, errlen, "add_fields: %s", pb_cfg_errmsg());
        return -1;
    }
    p->target = pb_strdup(target);
    p->value = pb_cfg_to_json(f);
    return 0;
}

void pb_proc_deep_merge(json_t *dst, json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        json_t *cur = json_object_get(dst, k);
        if (json_is_object(cur) && json_is_object(v)) {
            pb_proc_deep_merge(cur, v);
        } else {
            json_object_set_new(dst, k, json_deep_copy(v));
        }
    }
}

static json_t *run_add_fields(struct pb_proc *p, json_t *ev)
{
    json_t *dst = ev;
    if (p->target[0] != '\0') {
        dst = pb_json_get(ev, p->target);
        if (!json_is_object(dst)) {
            dst = json_object();
            pb_json_put(ev, p->target, dst);
        }
    }
    pb_proc_deep_merge(dst, p->value);
    return ev;
}

static int init_add_tags(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    char **tags = NULL;
    size_t n = 0;
    const char *target = "tags";
    if (pb_cfg_strv(body, "tags", &tags, &n) < 0 || tags == NULL ||
        pb_cfg_str(body, "target", "tags", &target) < 0) {
        snprintf(err, errlen, "add_tags: 'tags' is required (a string or a list)");
        pb_cfg_strv_free(tags);
        return -1;
    }
    p->value = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(p->value, json_string(tags[i]));
    }
    pb_cfg_strv_free(tags);
    p->target = pb_strdup(target);
    return 0;
}

static json_t *run_add_tags(struct pb_proc *p, json_t *ev)
{
    json_t *cur = pb_json_get(ev, p->target);
    if (!json_is_array(cur)) {
        cur = json_array();
        pb_json_put(ev, p->target, cur);
    }
    size_t i;
    json_t *t;
    json_array_foreach(p->value, i, t)
    {
        bool dup = false;
        size_t j;
        json_t *have;
        json_array_foreach(cur, j, have)
        {
            dup = dup || json_equal(have, t);
        }
        if (!dup) {
            json_array_append(cur, t);
        }
    }
    return ev;
}

static void flatten_into(json_t *out, const char *prefix, json_t *v)
{
    if (!json_is_object(v)) {
        json_object_set(out, prefix, v);
        return;
    }
    const char *k;
    json_t *child;
    json_object_foreach(v, k, child)
    {
        char name[512];
        snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", k);
        flatten_into(out, name, child);
    }
}

static int init_add_labels(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const struct pb_cfg *l = pb_cfg_get(body, "labels");
    if (l == NULL || l->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "add_labels: 'labels' must be a map");
        return -1;
    }
    json_t *nested = pb_cfg_to_json(l);
    p->value = json_object();
    flatten_into(p->value, "", nested);
    json_decref(nested);
    return 0;
}

static json_t *run_add_labels(struct pb_proc *p, json_t *ev)
{
    json_t *labels = json_object_get(ev, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new_nocheck(ev, "labels", labels);
    }
    json_object_update(labels, p->value);
    return ev;
}

/* ---- rename / copy_fields ------------------------------------------------- */

static int init_pairs(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    return pb_proc_get_pairs(p, body, err, errlen) < 0
               ? -1
               : pb_proc_get_flags(p, body, true, err, errlen);
}

static json_t *run_move(struct pb_proc *p, json_t *ev, bool keep_source)
{
    json_t *backup = p->fail_on_error ? json_deep_copy(ev) : NULL;
    for (size_t i = 0; i < p->npairs; i++) {
        json_t *v = pb_json_get(ev, p->pairs[i].from);
        char msg[600];
        if (v == NULL) {
            if (p->ignore_missing) {
                continue;
            }
            snprintf(msg, sizeof msg,
                     "Failed to %s fields in processor: could not fetch value for "
                     "key: %s, Error: key not found",
                     keep_source ? "copy" : "rename", p->pairs[i].from);
            goto fail;
        }
        if (pb_json_get(ev, p->pairs[i].to) != NULL) {
            snprintf(msg, sizeof msg,
                     "Failed to %s fields in processor: target field %s already "
                     "exists, drop or rename this field first",
                     keep_source ? "copy" : "rename", p->pairs[i].to);
            goto fail;
        }
        json_t *copy = json_deep_copy(v);
        if (!keep_source) {
            pb_json_del(ev, p->pairs[i].from);
        }
        pb_json_put(ev, p->pairs[i].to, copy);
        continue;
    fail:
        if (p->fail_on_error) {
            json_decref(ev);
            ev = backup;
            backup = NULL;
            pb_proc_add_error(ev, msg);
            return ev;
        }
    }
    json_decref(backup);
    return ev;
}

static json_t *run_rename(struct pb_proc *p, json_t *ev)
{
    return run_move(p, ev, false);
}

static json_t *run_copy(struct pb_proc *p, json_t *ev)
{
    return run_move(p, ev, true);
}

/* ---- detect_mime_type ----------------------------------------------------- */

static int init_mime(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const char *field = NULL, *target = NULL;
    if (pb_cfg_str(body, "field", NULL, &field) < 0 || field == NULL ||
        pb_cfg_str(body, "target", NULL, &target) < 0 || target == NULL) {
        snprintf(err, errlen, "detect_mime_type: 'field' and 'target' are required");
        return -1;
    }
    p->field = pb_strdup(field);
    p->target = pb_strdup(target);
    if (p->field == NULL || p->target == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pb_path_init(&p->field_p, p->field);
    pb_path_init(&p->target_p, p->target);
    return 0;
}

static json_t *run_mime(struct pb_proc *p, json_t *ev)
{
    json_t *v = pb_json_get(ev, p->field);
    if (!json_is_string(v) || pb_json_get(ev, p->target) != NULL) {
        return ev;
    }
    const char *m =
        pb_mime_detect((const unsigned char *)json_string_value(v), json_string_length(v));
    if (m != NULL) {
        pb_json_put_str(ev, p->target, m);
    }
    return ev;
}

static pb_event *run_mime_ev(struct pb_proc *p, pb_event *ev)
{
    size_t len = 0;
    const char *v = pb_ev_get_str_p(ev, &p->field_p, &len);
    if (v == NULL || pb_ev_has_p(ev, &p->target_p)) {
        return ev;
    }
    const char *m = pb_mime_detect((const unsigned char *)v, len);
    if (m != NULL) {
        pb_ev_put_str(ev, p->target, m);
    }
    return ev;
}

/* ---- truncate_fields ------------------------------- */

static int init_truncate(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    int64_t bytes = 0, chars = 0;
    if (pb_proc_get_fields(p, body, true, err, errlen) < 0 ||
        pb_proc_get_flags(p, body, true, err, errlen) < 0) {
        return -1;
    }
    if (pb_cfg_int(body, "max_bytes", 0, &bytes) < 0 ||
        pb_cfg_int(body, "max_characters", 0, &chars) < 0 || (bytes > 0) == (chars > 0)) {
        snprintf(err, errlen, "truncate_fields: exactly one of max_bytes or max_characters");
        return -1;
    }
    p->max = bytes > 0 ? (long)bytes : -(long)chars;
    return 0;
}

static json_t *run_truncate(struct pb_proc *p, json_t *ev)
{
    for (size_t i = 0; i < p->nfields; i++) {
        json_t *v = pb_json_get(ev, p->fields[i]);
        if (!json_is_string(v)) {
            continue;
        }
        const unsigned char *s = (const unsigned char *)json_string_value(v);
        size_t len = json_string_length(v), cut = len;
        if (p->max > 0) {
            if (len > (size_t)p->max) {
                cut = (size_t)p->max;
                while (cut > 0 && (s[cut] & 0xc0) == 0x80) {
                    cut--; /* do not split a UTF-8 sequence */
                }
            }
        } else {
            size_t chars = 0, j = 0;
            for (; j < len && chars < (size_t)(-p->max); j++) {
                if ((s[j] & 0xc0) != 0x80) {
                    chars++;
                }
            }
            while (j < len && (s[j] & 0xc0) == 0x80) {
                j++;
            }
            cut = j;
        }
        if (cut < len) {
            json_string_setn(v, (const char *)s, cut);
            json_t *flags = pb_json_get(ev, "log.flags");
            if (!json_is_array(flags)) {
                flags = json_array();
                pb_json_put(ev, "log.flags", flags);
            }
            json_array_append_new(flags, json_string_nocheck("truncated"));
        }
    }
    return ev;
}

/* ---- host metadata and environment probes ---------------------------------- */

/* ip and mac of the non-loopback interfaces that are up, as libbeat's
 * GetNetInfo lists them (MACs upper case with dashes, as ECS wants). */
static void add_netinfo(json_t *h)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0) {
        return;
    }
    json_t *ips = json_array(), *macs = json_array();
    for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) {
            continue;
        }
        char buf[64] = "";
        if (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6) {
            struct pb_ip ip = {0};
            if (i->ifa_addr->sa_family == AF_INET) {
                memcpy(ip.b, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
            } else {
                ip.v6 = 1;
                memcpy(ip.b, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
            }
            pb_ip_str(&ip, buf);
            json_array_append_new(ips, json_string(buf));
        } else if (i->ifa_addr->sa_family == AF_PACKET) {
            const struct sockaddr_ll *ll = (const struct sockaddr_ll *)(void *)i->ifa_addr;
            if (ll->sll_halen != 6) {
                continue;
            }
            snprintf(buf, sizeof buf, "%02X-%02X-%02X-%02X-%02X-%02X", ll->sll_addr[0],
                     ll->sll_addr[1], ll->sll_addr[2], ll->sll_addr[3], ll->sll_addr[4],
                     ll->sll_addr[5]);
            bool dup = false;
            size_t k;
            json_t *m;
            json_array_foreach(macs, k, m)
            {
                dup = dup || strcmp(json_string_value(m), buf) == 0;
            }
            if (!dup) {
                json_array_append_new(macs, json_string(buf));
            }
        }
    }
    freeifaddrs(ifs);
    if (json_array_size(ips) > 0) {
        json_object_set_new_nocheck(h, "ip", ips);
    } else {
        json_decref(ips);
    }
    if (json_array_size(macs) > 0) {
        json_object_set_new_nocheck(h, "mac", macs);
    } else {
        json_decref(macs);
    }
}

json_t *pb_proc_host_info(bool netinfo)
{
    struct utsname u;
    char host[256] = "localhost";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    json_t *h = json_object();
    if (h == NULL) {
        return NULL;
    }
    json_object_set_new_nocheck(h, "hostname", json_string(host));
    for (char *c = host; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c + 32);
        }
    }
    json_object_set_new_nocheck(h, "name", json_string(host));
    if (uname(&u) == 0) {
        json_object_set_new_nocheck(h, "architecture", json_string(u.machine));
        pb_json_put_str(h, "os.kernel", u.release);
        pb_json_put_str(h, "os.type", "linux");
    }
    FILE *f = fopen("/etc/os-release", "r");
    if (f != NULL) {
        char line[512];
        while (fgets(line, sizeof line, f) != NULL) {
            char *eq = strchr(line, '=');
            if (eq == NULL) {
                continue;
            }
            *eq = '\0';
            char *v = eq + 1;
            size_t n = strcspn(v, "\n");
            v[n] = '\0';
            if (v[0] == '"' && n >= 2 && v[n - 1] == '"') {
                v[n - 1] = '\0';
                v++;
            }
            if (strcmp(line, "NAME") == 0) {
                pb_json_put_str(h, "os.name", v);
            } else if (strcmp(line, "ID") == 0) {
                pb_json_put_str(h, "os.platform", v);
            } else if (strcmp(line, "VERSION") == 0) {
                pb_json_put_str(h, "os.version", v);
            } else if (strcmp(line, "VERSION_CODENAME") == 0) {
                pb_json_put_str(h, "os.codename", v);
            } else if (strcmp(line, "ID_LIKE") == 0) {
                pb_json_put_str(h, "os.family", v);
            }
        }
        fclose(f);
        if (pb_json_get(h, "os.family") == NULL) {
            json_t *plat = pb_json_get(h, "os.platform");
            if (json_is_string(plat)) {
                pb_json_put_str(h, "os.family", json_string_value(plat));
            }
        }
    }
    f = fopen("/etc/machine-id", "r");
    if (f != NULL) {
        char id[64] = "";
        if (fgets(id, sizeof id, f) != NULL) {
            id[strcspn(id, "\n")] = '\0';
            json_object_set_new_nocheck(h, "id", json_string(id));
        }
        fclose(f);
    }
    json_object_set_new_nocheck(h, "containerized", json_boolean(access("/.dockerenv", F_OK) == 0));
    if (netinfo) {
        add_netinfo(h);
    }
    return h;
}

static int init_host_metadata(struct pb_proc *p, const struct pb_cfg *body, char *err,
                              size_t errlen)
{
    bool netinfo = true;
    if (pb_cfg_bool(body, "netinfo.enabled", true, &netinfo) < 0) {
        snprintf(err, errlen, "add_host_metadata: %s", pb_cfg_errmsg());
        return -1;
    }
    p->value = pb_proc_host_info(netinfo);
    if (p->value == NULL) {
        return -1;
    }
    p->value_has_name = json_object_get(p->value, "name") != NULL;
    return 0;
}

static json_t *run_host_metadata(struct pb_proc *p, json_t *ev)
{
    json_t *host = json_object_get(ev, "host");
    if (p->share_value) {
        /* the merge would give exactly p->value when host is absent,
           empty, or only the host.name the pipeline adds (p->value has its
           own name): share it, read-only from here on */
        bool replaced = !json_is_object(host) || json_object_size(host) == 0 ||
                        (json_object_size(host) == 1 && json_object_get(host, "name") != NULL &&
                         json_object_get(p->value, "name") != NULL);
        if (replaced) {
            json_object_set(ev, "host", p->value);
            return ev;
        }
    }
    if (!json_is_object(host)) {
        host = json_object();
        json_object_set_new_nocheck(ev, "host", host);
    }
    pb_proc_deep_merge(host, p->value);
    return ev;
}

static pb_event *run_host_metadata_ev(struct pb_proc *p, pb_event *ev)
{
    /* a bare host becomes the shared value; anything else merges on the
       tree, as the tree form does */
    if (p->share_value &&
        pb_ev_frozen_if_bare(ev, PB_KEY("host"), p->value_has_name, p->value) > 0) {
        return ev;
    }
    json_t *tree = pb_ev_json(ev);
    if (tree == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    return pb_ev_rewrap(ev, run_host_metadata(p, tree));
}

static int init_probe_none(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    /* add_cloud_metadata / add_docker_metadata: no cloud metadata service or
     * Docker socket is probed here; events pass unchanged. */
    pb_debug("processors", "%s: no provider detected, events pass unchanged", p->kind->name);
    return 0;
}

static json_t *run_pass(struct pb_proc *p, json_t *ev)
{
    return ev;
}

static pb_event *run_pass_ev(struct pb_proc *p, pb_event *ev)
{
    return ev;
}

static int init_locale(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen)
{
    const char *format = "offset";
    pb_cfg_str(body, "format", "offset", &format);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char buf[64];
    if (strcmp(format, "abbreviation") == 0) {
        strftime(buf, sizeof buf, "%Z", &tm);
    } else {
        long off = tm.tm_gmtoff;
        snprintf(buf, sizeof buf, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                 (labs(off) % 3600) / 60);
    }
    p->value = json_string(buf);
    return 0;
}

static json_t *run_locale(struct pb_proc *p, json_t *ev)
{
    pb_json_put(ev, "event.timezone", json_incref(p->value));
    return ev;
}

static const struct pb_proc_kind kinds[] = {
    {"drop_fields", init_drop_fields, run_drop_fields, NULL, run_drop_fields_ev},
    {"include_fields", init_include_fields, run_include_fields, NULL, NULL},
    {"drop_event", init_nothing, run_drop_event, NULL, run_drop_event_ev},
    {"add_fields", init_add_fields, run_add_fields, NULL, NULL},
    {"add_tags", init_add_tags, run_add_tags, NULL, NULL},
    {"add_labels", init_add_labels, run_add_labels, NULL, NULL},
    {"rename", init_pairs, run_rename, NULL, NULL},
    {"copy_fields", init_pairs, run_copy, NULL, NULL},
    {"detect_mime_type", init_mime, run_mime, NULL, run_mime_ev},
    {"truncate_fields", init_truncate, run_truncate, NULL, NULL},
    {"add_host_metadata", init_host_metadata, run_host_metadata, NULL, run_host_metadata_ev},
    {"add_cloud_metadata", init_probe_none, run_pass, NULL, run_pass_ev},
    {"add_docker_metadata", init_probe_none, run_pass, NULL, run_pass_ev},
    {"add_kubernetes_metadata", init_probe_none, run_pass, NULL, run_pass_ev},
    {"add_locale", init_locale, run_locale, NULL, NULL},
};

static const struct pb_proc_kind *find_kind(const char *name)
{
    for (size_t i = 0; i < pb_proc_kinds_ext_n; i++) {
        if (strcmp(pb_proc_kinds_ext[i].name, name) == 0) {
            return &pb_proc_kinds_ext[i];
        }
    }
    for (size_t i = 0; i < pb_proc_kinds_text_n; i++) {
        if (strcmp(pb_proc_kinds_text[i].name, name) == 0) {
            return &pb_proc_kinds_text[i];
        }
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c": every processor name, sorted, into buf. */
static void valid_actions(char *buf, size_t len)
{
    const char *names[128];
    size_t n = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && n < 128; i++) {
        names[n++] = kinds[i].name;
    }
    for (size_t i = 0; i < pb_proc_kinds_ext_n && n < 128; i++) {
        names[n++] = pb_proc_kinds_ext[i].name;
    }
    for (size_t i = 0; i < pb_proc_kinds_text_n && n < 128; i++) {
        names[n++] = pb_proc_kinds_text[i].name;
    }
    qsort(names, n, sizeof names[0], cmp_str);
    size_t used = 0;
    for (size_t i = 0; i < n && len > 0 && used < len - 1; i++) {
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) {
            break;
        }
        used += (size_t)w;
    }
}

/* ---- the list ------------------------------------------------------------- */

static void proc_free(struct pb_proc *p)
{
    if (p == NULL) {
        return;
    }
    pb_cond_free(p->when);
    pb_processors_free(p->then_ps);
    pb_processors_free(p->else_ps);
    pb_cfg_strv_free(p->fields);
    for (size_t i = 0; i < p->npairs; i++) {
        pb_free(p->pairs[i].from);
        pb_free(p->pairs[i].to);
    }
    if (p->kind != NULL && p->kind->fini != NULL) {
        p->kind->fini(p);
    }
    if (p->share_value) {
        pb_ev_thaw(p->value);
    }
    json_decref(p->value);
    pb_free(p->target);
    pb_free(p->field);
    pb_free(p);
}

static struct pb_proc *proc_new(const struct pb_cfg *item, char *err, size_t errlen)
{
    struct pb_proc *p = pb_calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (item == NULL || item->kind != PB_CFG_MAP) {
        snprintf(err, errlen, "each processor must be a map with one key (line %d)",
                 item ? item->line : 0);
        goto fail;
    }
    if (pb_cfg_has(item, "if")) {
        static const struct pb_proc_kind if_kind = {"if", NULL, NULL, NULL, NULL};
        p->kind = &if_kind;
        p->when = pb_cond_new(pb_cfg_get(item, "if"), err, errlen);
        if (p->when == NULL) {
            goto fail;
        }
        p->then_ps = pb_processors_new(pb_cfg_get(item, "then"), err, errlen);
        if (p->then_ps == NULL) {
            goto fail;
        }
        if (pb_cfg_has(item, "else")) {
            p->else_ps = pb_processors_new(pb_cfg_get(item, "else"), err, errlen);
            if (p->else_ps == NULL) {
                goto fail;
            }
        }
        return p;
    }
    if (pb_cfg_len(item) != 1) {
        snprintf(err, errlen, "each processor must have exactly one action (line %d)", item->line);
        goto fail;
    }
    const struct pb_cfg *body = pb_cfg_at(item, 0);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].name, body->key) == 0) {
            p->kind = &kinds[i];
        }
    }
    if (p->kind == NULL) {
        p->kind = find_kind(body->key);
    }
    if (p->kind == NULL) {
        int n = snprintf(err, errlen,
                         "the processor action %s does not exist. Valid actions: ", body->key);
        valid_actions(err + (n > 0 && (size_t)n < errlen ? (size_t)n : 0),
                      n > 0 && (size_t)n < errlen ? errlen - (size_t)n : 0);
        goto fail;
    }
    if (pb_cfg_has(body, "when")) {
        p->when = pb_cond_new(pb_cfg_get(body, "when"), err, errlen);
        if (p->when == NULL) {
            goto fail;
        }
    }
    if (p->kind->init(p, body, err, errlen) < 0) {
        goto fail;
    }
    return p;
fail:
    proc_free(p);
    return NULL;
}

/* The key bit of the first name of a dotted field. */
static uint64_t root_bit(const char *field)
{
    return pb_key_bit(pb_key_tag(field, strcspn(field, ".")));
}

/* Adds to top's plan what the processors of ps (top or a branch of it) do
 * to an event that lacks the root keys of top->reads, adding the keys
 * they read to top->reads and those they may add to *writes (the plan
 * holds only while none is both: a processor of the plan takes fields
 * away or sets host). False when a processor's effect is not known. */
static bool plan_list(struct pb_processors *top, const struct pb_processors *ps, uint64_t *writes)
{
    for (size_t i = 0; i < ps->nrun; i++) {
        struct pb_proc *p = ps->run[i];
        top->reads |= pb_cond_root_bits(p->when);
        bool holds = pb_cond_eval_absent(p->when); /* NULL: always */
        if (p->then_ps != NULL) {
            const struct pb_processors *branch = holds ? p->then_ps : p->else_ps;
            if (branch != NULL && !plan_list(top, branch, writes)) {
                return false;
            }
            continue;
        }
        if (!holds) {
            continue;
        }
        if (p->kind->run == run_mime) {
            top->reads |= root_bit(p->field); /* without it, nothing to do */
            continue;
        }
        if (p->kind->run == run_host_metadata) {
            *writes |= pb_key_bit(pb_key_tag(PB_KEY("host")));
        } else if (p->kind->run != run_drop_fields && p->kind->run != run_drop_event) {
            return false;
        }
        if (top->nplan == PROC_MAX) {
            return false;
        }
        top->plan[top->nplan++] = p;
    }
    return true;
}

struct pb_processors *pb_processors_new(const struct pb_cfg *list, char *err, size_t errlen)
{
    struct pb_processors *ps = pb_calloc(1, sizeof *ps);
    if (ps == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (list == NULL || list->kind == PB_CFG_NULL) {
        return ps;
    }
    if (list->kind != PB_CFG_LIST) {
        snprintf(err, errlen, "processors must be a list (line %d)", list->line);
        pb_free(ps);
        return NULL;
    }
    for (size_t i = 0; i < pb_cfg_len(list); i++) {
        if (ps->n == PROC_MAX) {
            snprintf(err, errlen, "too many processors (max %d)", PROC_MAX);
            pb_processors_free(ps);
            return NULL;
        }
        struct pb_proc *p = proc_new(pb_cfg_at(list, i), err, errlen);
        if (p == NULL) {
            pb_processors_free(ps);
            return NULL;
        }
        ps->list[ps->n++] = p;
        if (p->kind->run != run_pass) {
            ps->run[ps->nrun++] = p;
        }
    }
    uint64_t writes = 0;
    ps->planned = plan_list(ps, ps, &writes) && (writes & ps->reads) == 0;
    return ps;
}

static pb_event *run_one(struct pb_proc *p, pb_event *ev)
{
    if (p->kind->run_ev != NULL && !pb_ev_is_tree(ev)) {
        return p->kind->run_ev(p, ev);
    }
    json_t *tree = pb_ev_json(ev);
    if (tree == NULL) {
        pb_ev_free(ev);
        return NULL;
    }
    return pb_ev_rewrap(ev, p->kind->run(p, tree));
}

pb_event *pb_processors_run(struct pb_processors *ps, pb_event *ev)
{
    if (ps != NULL && ps->planned && ev != NULL && pb_ev_lacks(ev, ps->reads)) {
        /* the usual event: what the list does to it, known ahead */
        for (size_t i = 0; i < ps->nplan && ev != NULL; i++) {
            ev = run_one(ps->plan[i], ev);
        }
        return ev;
    }
    for (size_t i = 0; ps != NULL && i < ps->nrun && ev != NULL; i++) {
        struct pb_proc *p = ps->run[i];
        if (p->then_ps != NULL) {
            ev = pb_processors_run(pb_cond_eval_ev(p->when, ev) ? p->then_ps : p->else_ps, ev);
            continue;
        }
        if (p->when != NULL && !pb_cond_eval_ev(p->when, ev)) {
            continue;
        }
        ev = run_one(p, ev);
    }
    return ev;
}

const json_t *pb_processors_host_plan(const struct pb_processors *ps, uint64_t *reads)
{
    const struct pb_proc *p = ps != NULL && ps->planned && ps->nplan == 1 ? ps->plan[0] : NULL;
    /* add_host_metadata's rule on a host of only a name (value_has_name)
       or none: its value, shared (share_value) */
    if (p == NULL || p->kind->run != run_host_metadata || !p->share_value || !p->value_has_name) {
        return NULL;
    }
    *reads = ps->reads;
    return p->value;
}

bool pb_processors_planned(const struct pb_processors *ps)
{
    return ps != NULL && ps->planned;
}

/* path is key itself or below it ("host", "host.os.name" for "host"). */
static bool path_at_or_under(const char *path, const char *key)
{
    size_t n = strlen(key);
    return strncmp(path, key, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

static bool chain_keeps(const struct pb_processors *ps, const char *key);

/* True when p cannot change, in place, the object an event holds at the
   top-level key: processors that pass events unchanged, detect_mime_type
   with its target elsewhere, add_host_metadata for keys other than host,
   drop_fields of nothing below key (dropping key itself only takes it out
   of the event), and if/then/else of such. Anything else may. */
static bool keeps(const struct pb_proc *p, const char *key)
{
    if (p->then_ps != NULL) {
        return chain_keeps(p->then_ps, key) && chain_keeps(p->else_ps, key);
    }
    if (p->kind->run == run_pass) {
        return true;
    }
    if (p->kind->run == run_mime) {
        return !path_at_or_under(p->target, key);
    }
    if (p->kind->run == run_host_metadata) {
        return strcmp(key, "host") != 0;
    }
    if (p->kind->run == run_drop_fields) {
        for (size_t i = 0; i < p->nfields; i++) {
            if (p->fields[i][0] == '/' ||
                (path_at_or_under(p->fields[i], key) && strcmp(p->fields[i], key) != 0)) {
                return false;
            }
        }
        return true;
    }
    return false;
}

static bool chain_keeps(const struct pb_processors *ps, const char *key)
{
    for (size_t i = 0; ps != NULL && i < ps->n; i++) {
        if (!keeps(ps->list[i], key)) {
            return false;
        }
    }
    return true;
}

bool pb_processors_keep(const struct pb_processors *ps, const char *key)
{
    return chain_keeps(ps, key);
}

/* Marks the add_host_metadata processors of ps after which nothing changes
   the host object; tail_keeps: what runs after ps keeps it. */
static void mark_last(struct pb_processors *ps, bool tail_keeps)
{
    for (size_t i = ps != NULL ? ps->n : 0; i-- > 0;) {
        struct pb_proc *p = ps->list[i];
        if (p->then_ps != NULL) {
            mark_last(p->then_ps, tail_keeps);
            mark_last(p->else_ps, tail_keeps);
        } else {
            bool share = p->kind->run == run_host_metadata && tail_keeps && p->value != NULL;
            if (share && !p->share_value) {
                pb_ev_freeze(p->value);
            }
            p->share_value = share;
        }
        tail_keeps = tail_keeps && keeps(p, "host");
    }
}

void pb_processors_mark_last(struct pb_processors *ps)
{
    mark_last(ps, true);
}

bool pb_processors_empty(const struct pb_processors *ps)
{
    return ps == NULL || ps->n == 0;
}

void pb_processors_free(struct pb_processors *ps)
{
    if (ps == NULL) {
        return;
    }
    for (size_t i = 0; i < ps->n; i++) {
        proc_free(ps->list[i]);
    }
    pb_free(ps);
}
