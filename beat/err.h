/* SPDX-License-Identifier: Apache-2.0
 * beat/err.h - the project's error codes: int functions return 0 or one of
 * these, negated.
 */
#ifndef PB_ERR_H
#define PB_ERR_H

enum pb_err {
    PB_OK = 0,
    PB_ENOMEM = 1, /* an allocation failed */
    PB_EINVAL = 2, /* bad argument or configuration value */
    PB_EPROTO = 3, /* bytes that break the protocol */
    PB_ELIMIT = 4, /* a named cap was reached */
    PB_EIO = 5,    /* the OS or a peer said no */
};

/* A short English name for an error code (positive or negative). */
const char *pb_strerror(int err);

#endif
