/* SPDX-License-Identifier: Apache-2.0
 * protos/dhcpv4/dhcpv4_event.h - the Packetbeat "dhcpv4" event (one per
 * packet; the protocol has no request/response pairing).
 */
#ifndef PB_DHCPV4_EVENT_H
#define PB_DHCPV4_EVENT_H

#include <jansson.h>

#include "beat/event.h"
#include <stddef.h>
#include <stdint.h>

#include "beat/net.h"
#include "dhcpv4_parse.h"

/* tuple: the packet as on the wire; len: UDP payload bytes. NULL on
 * allocation failure. */
pb_event *dhcp_event_build(const struct dhcp_msg *m, const struct pb_tuple *tuple, uint64_t ts_ns,
                           size_t len);

#endif
