/* SPDX-License-Identifier: Apache-2.0
 * publisher/diskqueue.h - queue.disk storage: events as frames in segment
 * files that survive a restart (libbeat's disk queue semantics, our own
 * file format). Not thread-safe: the pipeline calls it under its mutex.
 *
 * Frames get ids 0, 1, 2, ... in write order (ids go on across restarts).
 * The reader hands frames out in id order; the pipeline acks them in any
 * order; the position kept in state.dat is the lowest id not acked, so
 * after a restart reading starts there again (frames acked after a gap are
 * sent again: at-least-once). A segment whose frames are all acked is
 * deleted.
 *
 *   <path>/<n>.seg   header  "PBDQSEG1" u64 first_id u64 0      (24 bytes)
 *                    frames  u32 len, u32 crc32(data), data    (LE)
 *   <path>/state.dat "PBDQST01" u64 ack_id u32 crc32(previous 16 bytes)
 *
 * A torn frame at the end of a segment (a crash mid-write) is cut off when
 * the queue is opened; a frame whose checksum is wrong when read is
 * skipped with the rest of its segment and counted.
 */
#ifndef PB_DISKQUEUE_H
#define PB_DISKQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_diskq;

struct pb_diskq_opts {
    const char *path;      /* directory, created (0750) when missing */
    uint64_t max_size;     /* bytes on disk at most; 0: no limit */
    uint64_t segment_size; /* bytes per segment file before a new one */
};

#define PB_DISKQ_SEG_HEADER 24u
#define PB_DISKQ_FRAME_OVERHEAD 8u

/* Opens (or creates) the queue. NULL with a message in err. */
struct pb_diskq *pb_diskq_open(const struct pb_diskq_opts *o, char *err, size_t errlen);
void pb_diskq_close(struct pb_diskq *q);

/* Appends one frame. 0; -PB_ELIMIT when it does not fit now (the queue is
   full: wait for acks); -PB_EINVAL when it never fits (bigger than a
   segment); -PB_EIO when writing failed (nothing was added). */
int pb_diskq_append(struct pb_diskq *q, const void *data, size_t len);

/* The next unread frame: 1 with *data (owned by the caller, pb_free) and
   its id, 0 when everything was read, negative on an I/O error (the frames
   that could not be read are skipped and acked; try again). */
int pb_diskq_read(struct pb_diskq *q, char **data, size_t *len, uint64_t *id);

/* Frame id is done (delivered or given up). Ids not read yet, or acked
   already, are ignored. */
void pb_diskq_ack(struct pb_diskq *q, uint64_t id);

uint64_t pb_diskq_unread(const struct pb_diskq *q);  /* written, not read yet */
uint64_t pb_diskq_unacked(const struct pb_diskq *q); /* on disk, not acked */
uint64_t pb_diskq_bytes(const struct pb_diskq *q);   /* size of the segment files */
uint64_t pb_diskq_skipped(const struct pb_diskq *q); /* frames lost to corruption */

#endif
