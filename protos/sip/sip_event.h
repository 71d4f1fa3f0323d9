/* SPDX-License-Identifier: Apache-2.0
 * protos/sip/sip_event.h - one event per SIP message, as Packetbeat 8.x
 * publishes them.
 */
#ifndef PB_SIP_EVENT_H
#define PB_SIP_EVENT_H

#include <jansson.h>

#include "beat/event.h"
#include <stdbool.h>
#include <stdint.h>

#include "beat/net.h"
#include "sip_parse.h"

struct sip_config {
    bool parse_authorization; /* default true */
    bool parse_body;          /* default true */
    bool keep_original;       /* default true */
    char transport[16];       /* transport_protocol as configured, default "udp" */
};

/* The event for message m seen at ts_ns, sent by tuple->src. `raw` is what
 * event.original holds. NULL when Packetbeat would publish nothing for it
 * (values it cannot split) or on allocation failure. */
pb_event *sip_event(const struct sip_config *cfg, const struct sip_msg *m, struct pb_slice raw,
                    const struct pb_tuple *tuple, uint64_t ts_ns);

#endif
