/* SPDX-License-Identifier: Apache-2.0
 * protos/nfs/nfs_event.c - NFS events with Packetbeat 8.x's fields:
 * type/event.dataset "nfs", network.protocol nfsv3/nfsv4/nfs, rpc.xid (8 hex
 * digits), rpc.auth_flavor, rpc.cred.* (AUTH_UNIX) with source.domain,
 * host.hostname, user.id and group.id, rpc.status, nfs.version,
 * nfs.minor_version, nfs.tag, nfs.opcode, nfs.status, event.action
 * "nfs.<OPCODE>", source/destination bytes (record sizes), status OK or
 * NO_REPLY, event.outcome failure when the RPC was not successful.
 *
 * host.hostname, user.id and group.id are set by Packetbeat as top-level keys
 * that contain a dot; they are kept that way here.
 */
#include "nfs_event.h"

#include <stdio.h>
#include <string.h>

#include "beat/event.h"

pb_event *nfs_call_event(const struct nfs_call *c, const struct pb_tuple *tuple, uint64_t ts_ns,
                         size_t size)
{
    struct pb_tx tx = {
        .type = "nfs",
        .tuple = tuple,
        .start_ns = ts_ns,
        .status = "OK",
        .src_bytes = (int64_t)size,
        .dst_bytes = -1,
    };
    pb_event *ev = pb_tx_event(&tx);
    if (ev == NULL) {
        return NULL;
    }
    const char *proto = c->vers == 3 ? "nfsv3" : c->vers == 4 ? "nfsv4" : "nfs";
    int rc = pb_ev_put_str(ev, "network.protocol", proto);

    char xid[16];
    snprintf(xid, sizeof xid, "%08x", c->xid);
    rc |= pb_ev_put_str(ev, "rpc.xid", xid);
    switch (c->auth_flavor) {
    case 0:
        rc |= pb_ev_put_str(ev, "rpc.auth_flavor", "none");
        break;
    case 1: {
        rc |= pb_ev_put_str(ev, "rpc.auth_flavor", "unix");
        pb_node *root = pb_ev_obj(ev, "");
        pb_node *cred = pb_ev_obj(ev, "rpc.cred");
        rc |= pb_node_set_uint(cred, "stamp", c->stamp);
        const char *machine = (const char *)c->machine.ptr;
        size_t mlen = c->machine.len;
        char ip[PB_IP_STRLEN];
        if (mlen > 0) {
            rc |= pb_ev_put_strn(ev, "source.domain", machine, mlen);
            rc |= pb_ev_put_strn(ev, "client.domain", machine, mlen);
        } else {
            machine = pb_ip_str(&tuple->src, ip);
            mlen = strlen(machine);
        }
        rc |= pb_node_set_strn(cred, "machinename", machine, mlen);
        rc |= pb_node_set_strn(root, "host.hostname", machine, mlen);
        rc |= pb_node_set_uint(cred, "uid", c->uid);
        rc |= pb_node_set_int(root, "user.id", c->uid);
        rc |= pb_node_set_uint(cred, "gid", c->gid);
        rc |= pb_node_set_int(root, "group.id", c->gid);
        pb_node *gids = pb_node_arr(cred, "gids");
        rc |= gids == NULL ? -1 : 0;
        for (uint32_t i = 0; i < c->ngids && gids != NULL; i++) {
            rc |= pb_node_set_int(gids, NULL, c->gids[i]);
        }
        break;
    }
    case 6:
        rc |= pb_ev_put_str(ev, "rpc.auth_flavor", "rpcsec_gss");
        break;
    default: {
        char buf[40];
        snprintf(buf, sizeof buf, "unknown (%u)", c->auth_flavor);
        rc |= pb_ev_put_str(ev, "rpc.auth_flavor", buf);
        break;
    }
    }

    rc |= pb_ev_put_uint(ev, "nfs.version", c->vers);
    if (c->has_v4) {
        rc |= pb_ev_put_strn(ev, "nfs.tag", c->tag.ptr, c->tag.len);
        rc |= pb_ev_put_uint(ev, "nfs.minor_version", c->minor_version);
    }
    if (c->opcode != NULL) {
        rc |= pb_ev_put_str(ev, "nfs.opcode", c->opcode);
        if (c->opcode[0] != '\0') {
            char action[64];
            snprintf(action, sizeof action, "nfs.%s", c->opcode);
            rc |= pb_ev_put_str(ev, "event.action", action);
        }
    }
    if (rc != 0) {
        pb_ev_free(ev);
        return NULL;
    }
    return ev;
}

bool nfs_reply_complete(pb_event *ev, const struct nfs_reply *r, uint32_t proc, uint64_t start_ns,
                        uint64_t ts_ns, size_t size)
{
    if (!r->has_accept) {
        return false;
    }
    const char *accept = rpc_accept_name(r->accept_stat);
    if (accept == NULL) {
        return false;
    }
    const char *nfs_status = NULL;
    if (r->accept_stat == 0) {
        if (proc == 0) {
            nfs_status = nfs_status_name(0);
        } else if (r->has_nfs_stat) {
            nfs_status = nfs_status_name(r->nfs_stat);
        } else {
            return false;
        }
    }
    int rc = 0;
    rc |= pb_ev_put_time(ev, "event.end", ts_ns);
    if (ts_ns >= start_ns) {
        rc |= pb_ev_put_int(ev, "event.duration", (int64_t)(ts_ns - start_ns));
    }
    rc |= pb_ev_put_int(ev, "destination.bytes", (int64_t)size);
    rc |= pb_ev_put_int(ev, "server.bytes", (int64_t)size);
    int64_t sb = 0;
    int64_t total = (int64_t)size + (pb_ev_get_int(ev, "source.bytes", &sb) ? sb : 0);
    rc |= pb_ev_put_int(ev, "network.bytes", total);
    rc |= pb_ev_put_str(ev, "rpc.status", accept);
    if (nfs_status != NULL) {
        rc |= pb_ev_put_str(ev, "nfs.status", nfs_status);
    } else {
        rc |= pb_ev_put_str(ev, "event.outcome", "failure");
    }
    return rc == 0;
}

void nfs_mark_no_reply(pb_event *ev)
{
    pb_ev_put_str(ev, "status", "NO_REPLY");
}
