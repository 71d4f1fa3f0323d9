/* SPDX-License-Identifier: Apache-2.0
 * protos/protos.c - the protocol registry and the configured set: reads
 * packetbeat.protocols, initialises each enabled protocol, maps ports.
 */
#include "protos/protos.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "beat/alloc.h"
#include "beat/err.h"
#include "beat/log.h"

#define X(n) extern const struct pb_proto_ops pb_proto_##n;
#ifdef PB_PROTO_ICMP
X(icmp)
#endif
#ifdef PB_PROTO_DHCPV4
X(dhcpv4)
#endif
#ifdef PB_PROTO_DNS
X(dns)
#endif
#ifdef PB_PROTO_HTTP
X(http)
#endif
#ifdef PB_PROTO_AMQP
X(amqp)
#endif
#ifdef PB_PROTO_CASSANDRA
X(cassandra)
#endif
#ifdef PB_PROTO_MYSQL
X(mysql)
#endif
#ifdef PB_PROTO_PGSQL
X(pgsql)
#endif
#ifdef PB_PROTO_REDIS
X(redis)
#endif
#ifdef PB_PROTO_THRIFT
X(thrift)
#endif
#ifdef PB_PROTO_MONGODB
X(mongodb)
#endif
#ifdef PB_PROTO_MEMCACHE
X(memcache)
#endif
#ifdef PB_PROTO_TLS
X(tls)
#endif
#ifdef PB_PROTO_NFS
X(nfs)
#endif
#ifdef PB_PROTO_SIP
X(sip)
#endif
#undef X

const struct pb_proto_ops *const pb_proto_registry[] = {
#ifdef PB_PROTO_ICMP
    &pb_proto_icmp,
#endif
#ifdef PB_PROTO_DHCPV4
    &pb_proto_dhcpv4,
#endif
#ifdef PB_PROTO_DNS
    &pb_proto_dns,
#endif
#ifdef PB_PROTO_HTTP
    &pb_proto_http,
#endif
#ifdef PB_PROTO_AMQP
    &pb_proto_amqp,
#endif
#ifdef PB_PROTO_CASSANDRA
    &pb_proto_cassandra,
#endif
#ifdef PB_PROTO_MYSQL
    &pb_proto_mysql,
#endif
#ifdef PB_PROTO_PGSQL
    &pb_proto_pgsql,
#endif
#ifdef PB_PROTO_REDIS
    &pb_proto_redis,
#endif
#ifdef PB_PROTO_THRIFT
    &pb_proto_thrift,
#endif
#ifdef PB_PROTO_MONGODB
    &pb_proto_mongodb,
#endif
#ifdef PB_PROTO_MEMCACHE
    &pb_proto_memcache,
#endif
#ifdef PB_PROTO_TLS
    &pb_proto_tls,
#endif
#ifdef PB_PROTO_NFS
    &pb_proto_nfs,
#endif
#ifdef PB_PROTO_SIP
    &pb_proto_sip,
#endif
    NULL,
};

#define PB_DEFAULT_TX_TIMEOUT_NS (10LL * 1000 * 1000 * 1000)

/* Every protocol Packetbeat 8 knows; a configured one that is not compiled
 * in (a build option turned it off) is skipped with a warning. */
static bool packetbeat_knows(const char *name)
{
    static const char *const all[] = {"icmp",  "dhcpv4", "dns",     "http",     "amqp",
                                      "cassandra", "mysql", "pgsql", "redis",   "thrift",
                                      "mongodb", "memcache", "tls",  "nfs",     "sip"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(all[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static bool unknown_type(const char *name, char *err, size_t errlen)
{
    if (pb_proto_find(name) != NULL) {
        return false;
    }
    if (packetbeat_knows(name)) {
        pb_warn("protos", "Protocol %s is not compiled into this build; ignored", name);
        return false;
    }
    snprintf(err, errlen, "unknown protocol plugin: %s", name);
    return true;
}

const struct pb_proto_ops *pb_proto_find(const char *name)
{
    for (size_t i = 0; pb_proto_registry[i] != NULL; i++) {
        if (strcmp(pb_proto_registry[i]->name, name) == 0) {
            return pb_proto_registry[i];
        }
    }
    return NULL;
}

uint64_t pb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

_Thread_local uint64_t pb_frame_clock;

uint64_t pb_now_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pb_emit(struct pb_proto *p, pb_event *ev)
{
    if (ev == NULL) {
        return;
    }
    p->stats.events++;
    if (p->emit != NULL) {
        p->emit(p->emit_ctx, p, ev);
    } else {
        pb_ev_free(ev);
    }
}

int pb_proto_common_config(struct pb_proto *p, const struct pb_cfg *cfg)
{
    const struct pb_proto_ops *ops = p->ops;
    p->cfg = cfg;
    p->nports = 0;
    if (pb_cfg_has(cfg, "ports")) {
        if (pb_cfg_ports(cfg, "ports", p->ports, PB_MAX_PORTS, &p->nports) < 0) {
            return -PB_EINVAL;
        }
    } else {
        for (size_t i = 0; i < ops->ndefault_ports && i < PB_MAX_PORTS; i++) {
            p->ports[p->nports++] = ops->default_ports[i];
        }
    }
    int64_t def_to = ops->default_tx_timeout_ns > 0 ? ops->default_tx_timeout_ns
                                                     : PB_DEFAULT_TX_TIMEOUT_NS;
    if (pb_cfg_bool(cfg, "send_request", false, &p->send_request) < 0 ||
        pb_cfg_bool(cfg, "send_response", false, &p->send_response) < 0 ||
        pb_cfg_bool(cfg, "keep_null", false, &p->keep_null) < 0 ||
        pb_cfg_duration(cfg, "transaction_timeout", def_to, &p->tx_timeout_ns) < 0) {
        return -PB_EINVAL;
    }
    return 0;
}

/* Protocol sections: the list form `- type: http` or the map form `http: {...}`. */
static const struct pb_cfg *section_for(const struct pb_cfg *protos, const char *name, int *count)
{
    const struct pb_cfg *found = NULL;
    *count = 0;
    if (protos == NULL) {
        return NULL;
    }
    if (protos->kind == PB_CFG_LIST) {
        for (size_t i = 0; i < pb_cfg_len(protos); i++) {
            const struct pb_cfg *s = pb_cfg_at(protos, i);
            const char *type = NULL;
            if (pb_cfg_str(s, "type", NULL, &type) == 0 && type != NULL &&
                strcmp(type, name) == 0) {
                if (found == NULL) {
                    found = s;
                }
                (*count)++;
            }
        }
        return found;
    }
    found = pb_cfg_get(protos, name);
    *count = found != NULL;
    return found;
}

static int check_types(const struct pb_cfg *protos, char *err, size_t errlen)
{
    if (protos == NULL || protos->kind != PB_CFG_LIST) {
        if (protos != NULL && protos->kind == PB_CFG_MAP) {
            for (size_t i = 0; i < pb_cfg_len(protos); i++) {
                const struct pb_cfg *s = pb_cfg_at(protos, i);
                if (unknown_type(s->key, err, errlen)) {
                    return -PB_EINVAL;
                }
            }
        }
        return 0;
    }
    for (size_t i = 0; i < pb_cfg_len(protos); i++) {
        const struct pb_cfg *s = pb_cfg_at(protos, i);
        const char *type = NULL;
        if (pb_cfg_str(s, "type", NULL, &type) < 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        if (type == NULL) {
            snprintf(err, errlen, "missing field accessing 'packetbeat.protocols.%zu.type' "
                     "(line %d)", i, s->line);
            return -PB_EINVAL;
        }
        if (unknown_type(type, err, errlen)) {
            return -PB_EINVAL;
        }
    }
    return 0;
}

void pb_protos_set_port(struct pb_protos *ps, unsigned transport, uint16_t port, uint8_t idx1)
{
    uint8_t *map = transport == PB_TCP ? ps->tcp_port : ps->udp_port;
    uint64_t *used = transport == PB_TCP ? ps->tcp_used : ps->udp_used;
    map[port] = idx1;
    if (idx1 != 0) {
        used[port / 64] |= 1ull << (port % 64);
    } else {
        used[port / 64] &= ~(1ull << (port % 64));
    }
}

static int map_ports(struct pb_protos *ps, struct pb_proto *p, size_t idx, char *err,
                     size_t errlen)
{
    for (size_t i = 0; i < p->nports; i++) {
        uint16_t port = p->ports[i];
        if (p->ops->transports & PB_TCP) {
            if (ps->tcp_port[port] != 0 && ps->tcp_port[port] != idx + 1) {
                snprintf(err, errlen, "Duplicate port (%u) exists in %s and %s protocols",
                         port, ps->list[ps->tcp_port[port] - 1].ops->name, p->ops->name);
                return -PB_EINVAL;
            }
            pb_protos_set_port(ps, PB_TCP, port, (uint8_t)(idx + 1));
        }
        if (p->ops->transports & PB_UDP) {
            if (ps->udp_port[port] != 0 && ps->udp_port[port] != idx + 1) {
                snprintf(err, errlen, "Duplicate port (%u) exists in %s and %s protocols",
                         port, ps->list[ps->udp_port[port] - 1].ops->name, p->ops->name);
                return -PB_EINVAL;
            }
            pb_protos_set_port(ps, PB_UDP, port, (uint8_t)(idx + 1));
        }
    }
    return 0;
}

int pb_protos_setup(struct pb_protos *ps, const struct pb_cfg *root, pb_emit_fn emit, void *ctx,
                    char *err, size_t errlen)
{
    memset(ps, 0, sizeof *ps);
    const struct pb_cfg *protos = pb_cfg_get(root, "packetbeat.protocols");
    int rc = check_types(protos, err, errlen);
    if (rc < 0) {
        return rc;
    }
    size_t nreg = 0;
    while (pb_proto_registry[nreg] != NULL) {
        nreg++;
    }
    ps->list = pb_calloc(nreg ? nreg : 1, sizeof *ps->list);
    if (ps->list == NULL) {
        snprintf(err, errlen, "out of memory");
        return -PB_ENOMEM;
    }
    for (size_t r = 0; r < nreg; r++) {
        const struct pb_proto_ops *ops = pb_proto_registry[r];
        int count = 0;
        const struct pb_cfg *sec = section_for(protos, ops->name, &count);
        if (sec == NULL) {
            continue;
        }
        bool enabled = true;
        if (pb_cfg_bool(sec, "enabled", true, &enabled) < 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        if (!enabled) {
            continue;
        }
        struct pb_proto *p = &ps->list[ps->n];
        memset(p, 0, sizeof *p);
        p->ops = ops;
        p->emit = emit;
        p->emit_ctx = ctx;
        if (pb_proto_common_config(p, sec) < 0) {
            snprintf(err, errlen, "%s", pb_cfg_errmsg());
            return -PB_EINVAL;
        }
        bool portless = (ops->transports & (PB_TCP | PB_UDP)) == 0;
        if (!portless && p->nports == 0) {
            pb_info("protos", "Protocol %s disabled: no ports configured", ops->name);
            continue;
        }
        if (ops->init != NULL) {
            rc = ops->init(p);
            if (rc < 0) {
                const char *m = pb_cfg_errmsg();
                snprintf(err, errlen, "%s: %s", ops->name,
                         (m != NULL && m[0] != '\0') ? m : pb_strerror(rc));
                return rc;
            }
        }
        rc = map_ports(ps, p, ps->n, err, errlen);
        ps->n++;
        if (rc < 0) {
            return rc;
        }
        if (ops->transports & PB_ICMP) {
            ps->icmp = p;
        }
    }
    return 0;
}

struct pb_proto *pb_protos_lookup(const struct pb_protos *ps, unsigned transport,
                                  uint16_t sport, uint16_t dport, bool *server_is_dst)
{
    const uint8_t *map = transport == PB_TCP ? ps->tcp_port : ps->udp_port;
    const uint64_t *used = transport == PB_TCP ? ps->tcp_used : ps->udp_used;
    if ((used[dport / 64] >> (dport % 64) & 1) != 0) {
        *server_is_dst = true;
        return &ps->list[map[dport] - 1];
    }
    if ((used[sport / 64] >> (sport % 64) & 1) != 0) {
        *server_is_dst = false;
        return &ps->list[map[sport] - 1];
    }
    return NULL;
}

void pb_protos_tick(struct pb_protos *ps, uint64_t now_ns)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->list[i].ops->on_tick != NULL) {
            ps->list[i].ops->on_tick(&ps->list[i], now_ns);
        }
    }
}

void pb_protos_shutdown(struct pb_protos *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->list[i].ops->on_shutdown != NULL) {
            ps->list[i].ops->on_shutdown(&ps->list[i]);
        }
    }
}

void pb_protos_free(struct pb_protos *ps)
{
    if (ps->list == NULL) {
        return;
    }
    for (size_t i = 0; i < ps->n; i++) {
        if (ps->list[i].ops->fini != NULL) {
            ps->list[i].ops->fini(&ps->list[i]);
        }
    }
    pb_free(ps->list);
    ps->list = NULL;
    ps->n = 0;
}
