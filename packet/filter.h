/* SPDX-License-Identifier: Apache-2.0
 * packet/filter.h - reading packetbeat.interfaces and packetbeat.flows as
 * the sniffer needs them, and the BPF filter Packetbeat would install
 * (pb_capture_filter / pb_capture_check_filter in packet.h).
 */
#ifndef PB_PACKET_FILTER_H
#define PB_PACKET_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "beat/cfg.h"
#include "protos/protos.h"

/* The packetbeat.interfaces node: the map, or the first item of the list
 * form. NULL when absent. */
const struct pb_cfg *pb_interfaces_cfg(const struct pb_cfg *root);

/* Flows are on when a packetbeat.flows section exists and its `enabled` is
 * not false. */
bool pb_flows_enabled(const struct pb_cfg *root);

/* The filter built from the protocols' ports (no bpf_filter, no flows
 * check): protocols in Packetbeat's registration (name) order, each port as
 * "tcp port N", "udp port N" or "port N" (both transports), then "icmp or
 * icmp6" when icmp is enabled, joined by " or "; with_vlans wraps it as
 * "F or (vlan and (F))". Owned by the caller; NULL on allocation failure. */
char *pb_filter_from_ports(const struct pb_protos *ps, bool with_vlans);

#endif
