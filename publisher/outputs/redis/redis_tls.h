/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/redis/redis_tls.h - the `ssl.*` settings of libbeat's
 * tlscommon for the Redis output, on OpenSSL: enabled, verification_mode
 * (full, strict, certificate, none), certificate_authorities (files or
 * inline PEM), certificate, key, key_passphrase, supported_protocols.
 */
#ifndef PB_REDIS_TLS_H
#define PB_REDIS_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "beat/cfg.h"

enum pb_redis_tls_verify {
    PB_RTLS_VERIFY_FULL,
    PB_RTLS_VERIFY_STRICT,
    PB_RTLS_VERIFY_CERTIFICATE,
    PB_RTLS_VERIFY_NONE,
};

struct pb_redis_tls {
    bool enabled; /* an `ssl` section is present and not disabled */
    enum pb_redis_tls_verify verify;
    SSL_CTX *ctx; /* owned */
};

/* Reads `ssl` below node and builds the context. 0 (also when TLS is off)
 * or -PB_EINVAL with a message in err. */
int pb_redis_tls_init(struct pb_redis_tls *t, const struct pb_cfg *node, char *err, size_t errlen);
/* Like pb_tls_init but TLS on with the defaults when no section is set
 * (the rediss:// scheme). */
int pb_redis_tls_init_default(struct pb_redis_tls *t, char *err, size_t errlen);
void pb_redis_tls_fini(struct pb_redis_tls *t);
/* A client SSL for fd, set up to check `host` as verify requires. NULL on
 * failure with a message in err. */
SSL *pb_redis_tls_client(const struct pb_redis_tls *t, int fd, const char *host, char *err,
                         size_t errlen);
/* The last OpenSSL error as text (thread-local queue), for messages. */
void pb_redis_tls_errstr(char *buf, size_t n);

#endif
