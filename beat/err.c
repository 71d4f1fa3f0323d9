/* SPDX-License-Identifier: Apache-2.0
 * beat/err.c - names of the error codes in beat/err.h.
 */
#include "beat/err.h"

const char *pb_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case PB_OK:
        return "ok";
    case PB_ENOMEM:
        return "out of memory";
    case PB_EINVAL:
        return "invalid argument";
    case PB_EPROTO:
        return "protocol error";
    case PB_ELIMIT:
        return "limit reached";
    case PB_EIO:
        return "input/output error";
    default:
        return "unknown error";
    }
}
