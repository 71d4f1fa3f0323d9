/* SPDX-License-Identifier: Apache-2.0
 * beat/client.c - per-event fields libbeat's pipeline client adds.
 */
#include "beat/client.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/event.h"
#include "beat/event_dom.h"
#include "beat/net.h"
#include "beat/processors.h"
#include "beat/procs.h"

#define MAX_SECTIONS 32
#define MAX_NETS 64

/* What a config section (global, a protocol, flows) contributes. */
struct section {
    const struct pb_cfg *node; /* borrowed; NULL for the global section */
    json_t *fields;            /* owned or NULL */
    bool under_root;
    json_t *tags;  /* owned array or NULL */
    char *index;   /* owned or NULL */
    struct pb_processors *procs; /* owned or NULL */
    /* procs cannot change agent / @metadata in place: events may share
       the client's templates (read-only) instead of copies */
    bool keeps_builtin;
};

struct cidr {
    struct pb_ip net;
    unsigned bits;
    int named; /* 0: cidr; else a named range */
};

struct pb_client {
    const struct pb_beat_info *info;
    struct section global;
    struct section sections[MAX_SECTIONS];
    /* where section_of last found a node, by a hash of its address: an
       index checked before use (any value read is safe), so the packet
       workers may update it concurrently */
    _Atomic uint8_t sec_hint[16];
    size_t nsections;
    struct cidr nets[MAX_NETS];
    size_t nnets;
    const struct pb_cfg *flows; /* borrowed: packetbeat.flows, NULL when absent */
    struct pb_procs *procs;     /* borrowed: packetbeat.procs, NULL when off */
    json_t *metadata; /* template for @metadata */
    json_t *agent;    /* template for agent */
    json_t *ecs;      /* {"version": "8.0.0"}: the usual event's ecs, shared */
    char *hostname;   /* owned: host.name, held by events like the templates */
    bool hostname_plain; /* hostname needs no escaping in JSON */
    size_t hostname_len;
    bool builtins_at_once; /* templates made and hostname plain: pb_ev_add_builtins */
    /* what the global processors make of the usual event's host (their
       only change to it, pb_processors_host_plan), given to it with the
       other builtins when its root lacks the keys of host_reads; NULL:
       the processors run */
    const json_t *host_plan;
    uint64_t host_reads;
};

/* The key bits of the four root members put_builtin adds. */
static uint64_t builtin_bits(void)
{
    return pb_key_bit(pb_key_tag(PB_KEY("@metadata"))) | pb_key_bit(pb_key_tag(PB_KEY("agent"))) |
           pb_key_bit(pb_key_tag(PB_KEY("ecs"))) | pb_key_bit(pb_key_tag(PB_KEY("host")));
}

/* The paths finalize reads on every event, split once. */
static struct pb_path p_network, p_direction, p_sip, p_dip, p_agent, p_ecs_version, p_host_name;

static void init_paths(void)
{
    pb_path_init(&p_network, "network");
    pb_path_init(&p_direction, "network.direction");
    pb_path_init(&p_sip, "source.ip");
    pb_path_init(&p_dip, "destination.ip");
    pb_path_init(&p_agent, "agent");
    pb_path_init(&p_ecs_version, "ecs.version");
    pb_path_init(&p_host_name, "host.name");
}

enum { NET_PRIVATE = 1, NET_LOOPBACK, NET_UNICAST, NET_MULTICAST, NET_LINK_LOCAL,
       NET_PUBLIC, NET_UNSPECIFIED };

static int load_section(struct section *s, const struct pb_cfg *node, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->node = node;
    const struct pb_cfg *pl = pb_cfg_get(node, "processors");
    if (pl != NULL) {
        s->procs = pb_processors_new(pl, err, errlen);
        if (s->procs == NULL) {
            return -PB_EINVAL;
        }
    }
    s->keeps_builtin =
        pb_processors_keep(s->procs, "agent") && pb_processors_keep(s->procs, "@metadata");
    const struct pb_cfg *f = pb_cfg_get(node, "fields");
    if (f != NULL && f->kind == PB_CFG_MAP) {
        s->fields = pb_cfg_to_json(f);
    }
    if (pb_cfg_bool(node, "fields_under_root", false, &s->under_root) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    const struct pb_cfg *t = pb_cfg_get(node, "tags");
    if (t != NULL) {
        json_t *tags = pb_cfg_to_json(t);
        if (json_is_string(tags)) {
            json_t *arr = json_array();
            json_array_append_new(arr, tags);
            tags = arr;
        }
        if (json_is_array(tags) && json_array_size(tags) > 0) {
            s->tags = tags;
        } else {
            json_decref(tags);
        }
    }
    const char *index = NULL;
    if (pb_cfg_str(node, "index", NULL, &index) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    s->index = pb_strdup(index);
    return 0;
}

static void free_section(struct section *s)
{
    json_decref(s->fields);
    json_decref(s->tags);
    pb_free(s->index);
    pb_processors_free(s->procs);
}

static bool parse_cidr(const char *s, struct cidr *c)
{
    static const struct {
        const char *name;
        int id;
    } named[] = {{"private", NET_PRIVATE},         {"loopback", NET_LOOPBACK},
                 {"unicast", NET_UNICAST},         {"multicast", NET_MULTICAST},
                 {"link_local_unicast", NET_LINK_LOCAL}, {"public", NET_PUBLIC},
                 {"unspecified", NET_UNSPECIFIED}};
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(s, named[i].name) == 0) {
            c->named = named[i].id;
            return true;
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    if (slash == NULL) {
        return false;
    }
    *slash = '\0';
    if (!pb_ip_parse(buf, &c->net)) {
        return false;
    }
    char *end = NULL;
    long bits = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || bits < 0 || bits > (c->net.v6 ? 128 : 32)) {
        return false;
    }
    c->bits = (unsigned)bits;
    return true;
}

static bool prefix_match(const struct pb_ip *ip, const uint8_t *net, unsigned bits)
{
    for (unsigned i = 0; i < bits; i++) {
        unsigned byte = i / 8, bit = 7 - i % 8;
        if (((ip->b[byte] >> bit) & 1) != ((net[byte] >> bit) & 1)) {
            return false;
        }
    }
    return true;
}

static bool is_private(const struct pb_ip *ip)
{
    if (!ip->v6) {
        return ip->b[0] == 10 || (ip->b[0] == 172 && (ip->b[1] & 0xf0) == 16) ||
               (ip->b[0] == 192 && ip->b[1] == 168);
    }
    return (ip->b[0] & 0xfe) == 0xfc;
}

static bool is_loopback(const struct pb_ip *ip)
{
    static const uint8_t lo6[16] = {[15] = 1};
    return ip->v6 ? memcmp(ip->b, lo6, 16) == 0 : ip->b[0] == 127;
}

static bool is_multicast(const struct pb_ip *ip)
{
    return ip->v6 ? ip->b[0] == 0xff : (ip->b[0] & 0xf0) == 0xe0;
}

static bool is_link_local(const struct pb_ip *ip)
{
    return ip->v6 ? (ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80)
                  : (ip->b[0] == 169 && ip->b[1] == 254);
}

static bool is_unspecified(const struct pb_ip *ip)
{
    static const uint8_t zero[16];
    return memcmp(ip->b, zero, ip->v6 ? 16 : 4) == 0;
}

static bool net_contains(const struct cidr *c, const struct pb_ip *ip)
{
    switch (c->named) {
    case 0:
        return c->net.v6 == ip->v6 && prefix_match(ip, c->net.b, c->bits);
    case NET_PRIVATE:
        return is_private(ip);
    case NET_LOOPBACK:
        return is_loopback(ip);
    case NET_MULTICAST:
        return is_multicast(ip);
    case NET_LINK_LOCAL:
        return is_link_local(ip);
    case NET_UNSPECIFIED:
        return is_unspecified(ip);
    case NET_UNICAST:
        return !is_multicast(ip) && !is_unspecified(ip);
    case NET_PUBLIC:
        return !is_private(ip) && !is_loopback(ip) && !is_multicast(ip) &&
               !is_link_local(ip) && !is_unspecified(ip);
    default:
        return false;
    }
}

struct pb_client *pb_client_new(const struct pb_cfg *root, const struct pb_beat_info *info,
                                char *err, size_t errlen)
{
    struct pb_client *c = pb_calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->info = info;
    static pthread_once_t paths_once = PTHREAD_ONCE_INIT;
    pthread_once(&paths_once, init_paths);
    if (load_section(&c->global, root, err, errlen) < 0) {
        pb_client_free(c);
        return NULL;
    }
    /* the global processors run last (pb_client_finalize); after them
       events are only encoded and sent */
    pb_processors_mark_last(c->global.procs);
    c->host_plan = pb_processors_host_plan(c->global.procs, &c->host_reads);
    if ((c->host_reads & builtin_bits()) != 0) {
        c->host_plan = NULL; /* they read what the builtins add: asked after them */
    }
    /* protocol and flows sections: their processors are checked at start */
    const struct pb_cfg *protos = pb_cfg_get(root, "packetbeat.protocols");
    for (size_t i = 0; i < pb_cfg_len(protos) && c->nsections < MAX_SECTIONS - 1; i++) {
        if (load_section(&c->sections[c->nsections], pb_cfg_at(protos, i), err, errlen) < 0) {
            free_section(&c->sections[c->nsections]);
            pb_client_free(c);
            return NULL;
        }
        c->nsections++;
    }
    const struct pb_cfg *flows = pb_cfg_get(root, "packetbeat.flows");
    c->flows = flows;
    if (flows != NULL) {
        if (load_section(&c->sections[c->nsections], flows, err, errlen) < 0) {
            free_section(&c->sections[c->nsections]);
            pb_client_free(c);
            return NULL;
        }
        c->nsections++;
    }
    const char *precision = NULL;
    if (pb_cfg_str(root, "timestamp.precision", "millisecond", &precision) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        pb_client_free(c);
        return NULL;
    }
    if (strcmp(precision, "nanosecond") == 0) {
        pb_time_set_precision(9);
    } else if (strcmp(precision, "microsecond") == 0) {
        pb_time_set_precision(6);
    } else {
        pb_time_set_precision(3);
    }
    char **nets = NULL;
    size_t nnets = 0;
    if (pb_cfg_strv(root, "packetbeat.interfaces.internal_networks", &nets, &nnets) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        pb_client_free(c);
        return NULL;
    }
    for (size_t i = 0; nets != NULL && i < nnets && c->nnets < MAX_NETS; i++) {
        if (!parse_cidr(nets[i], &c->nets[c->nnets])) {
            snprintf(err, errlen, "invalid network '%s' in packetbeat.interfaces.internal_networks",
                     nets[i]);
            pb_cfg_strv_free(nets);
            pb_client_free(c);
            return NULL;
        }
        c->nnets++;
    }
    pb_cfg_strv_free(nets);
    c->metadata = json_pack("{s:s,s:s,s:s}", "beat", info->beat, "type", "_doc", "version",
                            info->version);
    c->agent = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", info->name, "type", info->beat,
                         "version", info->version, "ephemeral_id", info->ephemeral_id, "id",
                         info->agent_id);
    c->ecs = json_pack("{s:s}", "version", "8.0.0");
    c->hostname = info->hostname != NULL ? pb_strdup(info->hostname) : NULL;
    if (info->hostname != NULL && c->hostname == NULL) {
        snprintf(err, errlen, "out of memory");
        pb_client_free(c);
        return NULL;
    }
    c->hostname_plain = true;
    for (const char *h = c->hostname; h != NULL && *h != '\0' && c->hostname_plain; h++) {
        c->hostname_plain = pb_json_plain1((uint8_t)*h);
    }
    c->hostname_len = c->hostname != NULL ? strlen(c->hostname) : 0;
    c->builtins_at_once = c->metadata != NULL && c->agent != NULL && c->ecs != NULL &&
                          c->hostname_plain && c->hostname_len <= UINT32_MAX;
    /* never changed from here on: events hold them by reference */
    pb_ev_freeze(c->metadata);
    pb_ev_freeze(c->agent);
    pb_ev_freeze(c->ecs);
    return c;
}

void pb_client_free(struct pb_client *c)
{
    if (c == NULL) {
        return;
    }
    free_section(&c->global);
    for (size_t i = 0; i < c->nsections; i++) {
        free_section(&c->sections[i]);
    }
    pb_ev_thaw(c->metadata);
    pb_ev_thaw(c->agent);
    pb_ev_thaw(c->ecs);
    json_decref(c->metadata);
    json_decref(c->agent);
    json_decref(c->ecs);
    pb_free(c->hostname);
    pb_free(c);
}

static struct section *section_of(struct pb_client *c, const struct pb_cfg *node)
{
    if (node == NULL) {
        return NULL;
    }
    /* every event asks: the hint first, the walk when it is not node's */
    size_t h = (size_t)(((uint64_t)(uintptr_t)node >> 4) * 0x9e3779b97f4a7c15ull >> 60);
    size_t at = atomic_load_explicit(&c->sec_hint[h], memory_order_relaxed);
    if (at < c->nsections && c->sections[at].node == node) {
        return &c->sections[at];
    }
    for (size_t i = 0; i < c->nsections; i++) {
        if (c->sections[i].node == node) {
            atomic_store_explicit(&c->sec_hint[h], (uint8_t)i, memory_order_relaxed);
            return &c->sections[i];
        }
    }
    if (c->nsections == MAX_SECTIONS) {
        return NULL;
    }
    struct section *s = &c->sections[c->nsections];
    char err[256];
    if (load_section(s, node, err, sizeof err) < 0) {
        free_section(s);
        return NULL;
    }
    c->nsections++;
    return s;
}

static void merge_into(pb_node *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (json_is_object(v)) {
            merge_into(pb_node_obj(dst, k), v);
        } else {
            pb_node_set_copy(dst, k, v);
        }
    }
}

static void apply_section(pb_event *ev, const struct section *s)
{
    if (s->fields != NULL) {
        merge_into(pb_ev_obj(ev, s->under_root ? "" : "fields"), s->fields);
    }
    if (s->tags != NULL) {
        pb_node *tags = pb_ev_arr(ev, "tags");
        size_t i;
        json_t *t;
        json_array_foreach(s->tags, i, t)
        {
            pb_node_set_copy(tags, NULL, t);
        }
    }
}

/* Loopback, link-local, or link-local multicast (ff02::/16 scope 2,
 * 224.0.0.0/24): traffic of this host alone. */
static bool host_local(const struct pb_ip *ip)
{
    return is_loopback(ip) || is_link_local(ip) ||
           (ip->v6 && ip->b[0] == 0xff && (ip->b[1] & 0x0f) == 2) ||
           (!ip->v6 && ip->b[0] == 224 && ip->b[1] == 0 && ip->b[2] == 0);
}

static void put_direction(struct pb_client *c, pb_event *ev)
{
    pb_node *net = NULL;
    const struct pb_tuple *tu = pb_tx_direction_tuple(ev);
    int st = tu != NULL ? 0 : pb_ev_path2(ev, &p_direction, &net);
    if (tu == NULL && (st > 0 || (st == 0 && net == NULL))) {
        return; /* set already, or no network object */
    }
    if (st < 0 && (pb_ev_obj_size_p(ev, &p_network) < 0 || pb_ev_has_p(ev, &p_direction))) {
        return;
    }
    struct pb_ip s, d;
    bool hs, hd;
    if (tu != NULL) {
        s = tu->src; /* pb_tx_event's fields, not built yet */
        d = tu->dst;
        hs = hd = true;
    } else if (pb_ev_noted_ip(ev, 0, &s) && pb_ev_noted_ip(ev, 1, &d)) {
        hs = hd = true; /* as pb_tx_event made them, untouched since */
    } else {
        hs = pb_ev_parse_ip(ev, pb_ev_get_str_p(ev, &p_sip, NULL), &s);
        hd = pb_ev_parse_ip(ev, pb_ev_get_str_p(ev, &p_dip, NULL), &d);
    }
    if (!hs && !hd) {
        return;
    }
    const char *dir = "unknown";
    if (hd && host_local(&d)) {
        dir = "ingress";
    } else if (hs && host_local(&s)) {
        dir = "egress";
    } else if (c->nnets > 0 && hs && hd) {
        bool si = false, di = false;
        for (size_t i = 0; i < c->nnets; i++) {
            si = si || net_contains(&c->nets[i], &s);
            di = di || net_contains(&c->nets[i], &d);
        }
        dir = si && di ? "internal" : si ? "outbound" : di ? "inbound" : "external";
    }
    if (tu != NULL) {
        pb_tx_set_direction(ev, dir);
        return;
    }
    if (st == 0) {
        pb_node_add_static(net, PB_KEY("direction"), dir); /* net lacks it */
        return;
    }
    if (net == NULL) {
        net = pb_node_obj_k(pb_ev_obj(ev, ""), PB_KEY("network"));
    }
    pb_node_set_static_k(net, PB_KEY("direction"), dir);
}

/* ecs.version, host.name: set to val (plain: needs no escaping) when the
 * path is absent. */
static void put_default(pb_event *ev, pb_node *root, const struct pb_path *p, const char *obj,
                        size_t olen, const char *key, size_t klen, const char *val, bool plain)
{
    pb_node *o = NULL;
    int st = pb_ev_path2(ev, p, &o);
    if (st > 0 || (st < 0 && pb_ev_has_p(ev, p))) {
        return;
    }
    if (o == NULL) {
        /* absent: a new object (st 0), or whatever "obj" holds replaced */
        o = st == 0 ? pb_node_add_obj(root, obj, olen) : pb_node_obj_k(root, obj, olen);
    }
    if (st == 0 && plain) {
        pb_node_add_static(o, key, klen, val); /* o lacks key */
    } else {
        pb_node_set_static_k(o, key, klen, val);
    }
}

/* @metadata, agent, ecs.version and host.name, where the event lacks them
 * (the protocol's own win). True when the global processors' work is done
 * with them (host_plan). */
static bool put_builtin(struct pb_client *c, pb_event *ev, const struct section *s)
{
    /* the templates themselves when no processor can change them (the
       event holds a read-only reference), else copies */
    bool share = c->global.keeps_builtin && (s == NULL || s->keeps_builtin);
    const char *index = (s != NULL && s->index != NULL) ? s->index : c->global.index;
    pb_node *root = pb_ev_obj(ev, "");
    /* none of the four keys' bits set in the root (pending fields' too):
       none of them there, without a lookup each */
    if (index == NULL && share && !root->dotted &&
        ((root->keys & builtin_bits()) == 0 ||
         (!pb_node_has_k(root, PB_KEY("@metadata")) && !pb_node_has_k(root, PB_KEY("agent")) &&
          !pb_node_has_k(root, PB_KEY("ecs")) && !pb_node_has_k(root, PB_KEY("host"))))) {
        /* the usual event, none of these there: what the general steps
           below add, without looking for each again */
        /* and the host the global processors would give it, when they run
           right after (no section processors) and do nothing else to it */
        const json_t *host_val = c->host_plan != NULL &&
                                         (s == NULL || pb_processors_empty(s->procs)) &&
                                         pb_ev_lacks(ev, c->host_reads)
                                     ? c->host_plan
                                     : NULL;
        if (c->builtins_at_once &&
            pb_ev_add_builtins(ev, c->metadata, c->agent, c->ecs, c->hostname, c->hostname_len,
                               host_val) == 0) {
            return host_val != NULL;
        }
        pb_node_add_frozen(root, PB_KEY("@metadata"), c->metadata);
        pb_node_add_frozen(root, PB_KEY("agent"), c->agent);
        pb_node_add_frozen(root, PB_KEY("ecs"), c->ecs);
        pb_node *host = pb_node_add_obj(root, PB_KEY("host"));
        if (c->hostname_plain) {
            pb_node_add_static(host, PB_KEY("name"), c->hostname);
        } else {
            pb_node_set_static_k(host, PB_KEY("name"), c->hostname);
        }
        return false;
    }
    if (index != NULL || !share) {
        pb_node_set_copy(root, "@metadata", c->metadata);
        if (index != NULL) {
            pb_node_set_str(pb_node_obj(root, "@metadata"), "index", index);
        }
    } else {
        pb_node_set_frozen_k(root, PB_KEY("@metadata"), c->metadata);
    }
    if (pb_ev_obj_size_p(ev, &p_agent) >= 0) {
        /* the protocol's agent fields win */
        pb_node *agent = pb_node_obj(root, "agent");
        const char *k;
        json_t *v;
        json_object_foreach(c->agent, k, v)
        {
            char path[64];
            snprintf(path, sizeof path, "agent.%s", k);
            if (!pb_ev_has(ev, path)) {
                pb_node_set_copy(agent, k, v);
            }
        }
    } else if (share) {
        pb_node_set_frozen_k(root, PB_KEY("agent"), c->agent);
    } else {
        pb_node_set_copy(root, "agent", c->agent);
    }
    put_default(ev, root, &p_ecs_version, PB_KEY("ecs"), PB_KEY("version"), "8.0.0", true);
    put_default(ev, root, &p_host_name, PB_KEY("host"), PB_KEY("name"), c->hostname,
                c->hostname_plain);
    return false;
}

void pb_client_set_procs(struct pb_client *c, struct pb_procs *procs)
{
    c->procs = procs;
}

pb_event *pb_client_finalize(struct pb_client *c, pb_event *ev, const struct pb_cfg *section)
{
    if (ev == NULL) {
        return NULL;
    }
    if (pb_ev_to_arena(ev) < 0) {
        pb_ev_free(ev);
        return NULL;
    }
    if (c->procs != NULL) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        pb_procs_enrich(c->procs, ev, section != NULL && section == c->flows,
                        (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
    }
    /* flow events go to the pipeline directly in Packetbeat, without the
     * transaction publisher that adds network.direction */
    if (section == NULL || section != c->flows) {
        put_direction(c, ev);
    }
    struct section *s = section_of(c, section);
    /* most sections add neither fields nor tags */
    if (s != NULL && (s->fields != NULL || s->tags != NULL)) {
        apply_section(ev, s);
    }
    if (c->global.fields != NULL || c->global.tags != NULL) {
        apply_section(ev, &c->global);
    }

    bool global_done = put_builtin(c, ev, s);
    if (s != NULL && s->procs != NULL) {
        ev = pb_processors_run(s->procs, ev);
    }
    if (ev != NULL && c->global.procs != NULL && !global_done) {
        ev = pb_processors_run(c->global.procs, ev);
    }
    return ev;
}

static void uuid4(char out[40])
{
    uint8_t b[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, b, sizeof b);
        (void)n;
        close(fd);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 40,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int pb_beat_info_init(struct pb_beat_info *info, const char *data_path, const char *name)
{
    static char host[256];
    if (gethostname(host, sizeof host) != 0) {
        snprintf(host, sizeof host, "localhost");
    }
    host[sizeof host - 1] = '\0';
    info->beat = "packetbeat";
    info->version = PB_VERSION;
    info->hostname = host;
    info->name = (name != NULL && name[0] != '\0') ? name : host;
    uuid4(info->ephemeral_id);
    uuid4(info->agent_id);
    if (data_path == NULL) {
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", data_path);
    json_t *meta = json_load_file(path, 0, NULL);
    const char *id = json_string_value(json_object_get(meta, "uuid"));
    if (id != NULL && strlen(id) == 36) {
        snprintf(info->agent_id, sizeof info->agent_id, "%s", id);
    } else {
        mkdir(data_path, 0750);
        char tbuf[40];
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        json_t *m = json_pack("{s:s,s:s}", "uuid", info->agent_id, "first_start",
                              pb_time_fmt((uint64_t)ts.tv_sec * 1000000000ull, true, tbuf));
        json_dump_file(m, path, JSON_COMPACT);
        chmod(path, 0600);
        json_decref(m);
    }
    json_decref(meta);
    return 0;
}
