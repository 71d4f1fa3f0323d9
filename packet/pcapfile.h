/* SPDX-License-Identifier: Apache-2.0
 * packet/pcapfile.h - reading capture files for -I.
 *
 * Classic pcap files (either byte order, microsecond or nanosecond magic,
 * and the "modified" 0xa1b2cd34 variant) are read here so that frames come
 * whole, up to PB_MAX_FRAME_BYTES, whatever snap length the file header
 * claims (libpcap cuts frames at the header's snap length; loopback
 * captures hold frames above 65,535 bytes). Anything else (pcapng) goes
 * through libpcap with nanosecond timestamps.
 */
#ifndef PB_PACKET_PCAPFILE_H
#define PB_PACKET_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

struct pb_pcapfile;

/* Opens path ("-" is stdin). NULL with a message naming the file in err
 * when it is missing, unreadable, truncated or not a capture file. */
struct pb_pcapfile *pb_pcapfile_open(const char *path, char *err, size_t errlen);
/* The file's link type (LINKTYPE_* for classic pcap, DLT_* via libpcap). */
int pb_pcapfile_linktype(const struct pb_pcapfile *f);
/* Next frame: 1 with *data (valid until the next call), lengths and the
 * timestamp in ns since the epoch; 0 at the end of the file; -1 on a
 * truncated or corrupt record, with a message naming the file in err. */
int pb_pcapfile_next(struct pb_pcapfile *f, const uint8_t **data, uint32_t *caplen,
                     uint32_t *wirelen, uint64_t *ts_ns, char *err, size_t errlen);
void pb_pcapfile_close(struct pb_pcapfile *f);

#endif
