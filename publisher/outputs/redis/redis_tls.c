/* SPDX-License-Identifier: Apache-2.0
 * publisher/outputs/redis/redis_tls.c - libbeat's `ssl.*` client settings on
 * OpenSSL for the Redis output (see redis_tls.h). Defaults as tlscommon:
 * verification_mode full, protocols TLSv1.1 to TLSv1.3, system CAs when no
 * certificate_authorities are given.
 */
#include "publisher/outputs/redis/redis_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "beat/err.h"
#include "beat/log.h"

#define SEL "redis"

void pb_redis_tls_errstr(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    if (e == 0) {
        snprintf(buf, n, "unknown TLS error");
        return;
    }
    ERR_error_string_n(e, buf, n);
    ERR_clear_error();
}

static int proto_version(const char *s)
{
    if (strcasecmp(s, "TLSv1.0") == 0 || strcasecmp(s, "TLSv1") == 0) {
        return TLS1_VERSION;
    }
    if (strcasecmp(s, "TLSv1.1") == 0) {
        return TLS1_1_VERSION;
    }
    if (strcasecmp(s, "TLSv1.2") == 0) {
        return TLS1_2_VERSION;
    }
    if (strcasecmp(s, "TLSv1.3") == 0) {
        return TLS1_3_VERSION;
    }
    return 0;
}

/* A CA given inline as PEM text. */
static int add_pem_ca(SSL_CTX *ctx, const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) {
        return -PB_ENOMEM;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1) {
            added++;
        }
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(bio);
    return added > 0 ? 0 : -PB_EINVAL;
}

static int build_ctx(struct pb_redis_tls *t, const struct pb_cfg *ssl, char *err, size_t errlen)
{
    const char *vm = "full";
    const char *cert = NULL;
    const char *key = NULL;
    const char *pass = NULL;
    char **cas = NULL;
    size_t ncas = 0;
    char **protos = NULL;
    size_t nprotos = 0;
    int rc = 0;

    if (ssl != NULL && (pb_cfg_str(ssl, "verification_mode", "full", &vm) != 0 ||
                        pb_cfg_str(ssl, "certificate", NULL, &cert) != 0 ||
                        pb_cfg_str(ssl, "key", NULL, &key) != 0 ||
                        pb_cfg_str(ssl, "key_passphrase", NULL, &pass) != 0 ||
                        pb_cfg_strv(ssl, "certificate_authorities", &cas, &ncas) != 0 ||
                        pb_cfg_strv(ssl, "supported_protocols", &protos, &nprotos) != 0)) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        rc = -PB_EINVAL;
        goto out;
    }
    if (vm == NULL || vm[0] == '\0' || strcasecmp(vm, "full") == 0) {
        t->verify = PB_RTLS_VERIFY_FULL;
    } else if (strcasecmp(vm, "strict") == 0) {
        t->verify = PB_RTLS_VERIFY_STRICT;
    } else if (strcasecmp(vm, "certificate") == 0) {
        t->verify = PB_RTLS_VERIFY_CERTIFICATE;
    } else if (strcasecmp(vm, "none") == 0) {
        t->verify = PB_RTLS_VERIFY_NONE;
    } else {
        snprintf(err, errlen, "unknown verification mode '%s'", vm);
        rc = -PB_EINVAL;
        goto out;
    }
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        snprintf(err, errlen, "cannot create TLS context");
        rc = -PB_ENOMEM;
        goto out;
    }
    int minv = TLS1_1_VERSION;
    int maxv = TLS1_3_VERSION;
    if (nprotos > 0) {
        minv = 0;
        maxv = 0;
        for (size_t i = 0; i < nprotos; i++) {
            int v = proto_version(protos[i]);
            if (v == 0) {
                snprintf(err, errlen, "invalid tls version '%s'", protos[i]);
                rc = -PB_EINVAL;
                goto out;
            }
            if (minv == 0 || v < minv) {
                minv = v;
            }
            if (v > maxv) {
                maxv = v;
            }
        }
    }
    SSL_CTX_set_min_proto_version(t->ctx, minv);
    SSL_CTX_set_max_proto_version(t->ctx, maxv);
    if (ncas == 0) {
        SSL_CTX_set_default_verify_paths(t->ctx);
    }
    for (size_t i = 0; i < ncas; i++) {
        bool inline_pem = strstr(cas[i], "-----BEGIN") != NULL;
        int ok = inline_pem ? add_pem_ca(t->ctx, cas[i]) == 0
                            : SSL_CTX_load_verify_locations(t->ctx, cas[i], NULL) == 1;
        if (!ok) {
            char why[256];
            pb_redis_tls_errstr(why, sizeof why);
            snprintf(err, errlen, "failed reading CA certificate %s: %s",
                     inline_pem ? "(inline)" : cas[i], why);
            rc = -PB_EINVAL;
            goto out;
        }
    }
    if ((cert != NULL) != (key != NULL)) {
        snprintf(err, errlen, "%s",
                 cert != NULL ? "key is required when certificate is set"
                              : "certificate is required when key is set");
        rc = -PB_EINVAL;
        goto out;
    }
    if (cert != NULL) {
        if (pass != NULL) {
            SSL_CTX_set_default_passwd_cb_userdata(t->ctx, (void *)pass);
        }
        if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t->ctx) != 1) {
            char why[256];
            pb_redis_tls_errstr(why, sizeof why);
            snprintf(err, errlen, "failed loading client certificate %s: %s", cert, why);
            rc = -PB_EINVAL;
            goto out;
        }
        SSL_CTX_set_default_passwd_cb_userdata(t->ctx, NULL);
    }
    if (ssl != NULL && pb_cfg_has(ssl, "cipher_suites")) {
        pb_warn(SEL, "ssl.cipher_suites is not supported by this build; OpenSSL defaults used");
    }
    SSL_CTX_set_verify(t->ctx, t->verify == PB_RTLS_VERIFY_NONE ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
out:
    pb_cfg_strv_free(cas);
    pb_cfg_strv_free(protos);
    if (rc != 0) {
        pb_redis_tls_fini(t);
    }
    return rc;
}

int pb_redis_tls_init(struct pb_redis_tls *t, const struct pb_cfg *node, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    const struct pb_cfg *ssl = pb_cfg_get(node, "ssl");
    if (ssl == NULL) {
        return 0;
    }
    bool enabled = true;
    if (ssl->kind == PB_CFG_MAP && pb_cfg_bool(ssl, "enabled", true, &enabled) != 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (!enabled) {
        return 0;
    }
    t->enabled = true;
    return build_ctx(t, ssl->kind == PB_CFG_MAP ? ssl : NULL, err, errlen);
}

int pb_redis_tls_init_default(struct pb_redis_tls *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->enabled = true;
    return build_ctx(t, NULL, err, errlen);
}

void pb_redis_tls_fini(struct pb_redis_tls *t)
{
    if (t->ctx != NULL) {
        SSL_CTX_free(t->ctx);
        t->ctx = NULL;
    }
}

SSL *pb_redis_tls_client(const struct pb_redis_tls *t, int fd, const char *host, char *err,
                         size_t errlen)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        snprintf(err, errlen, "cannot create TLS session");
        return NULL;
    }
    SSL_set_fd(ssl, fd);
    bool is_ip = strchr(host, ':') != NULL || strspn(host, "0123456789.") == strlen(host);
    if (!is_ip) {
        SSL_set_tlsext_host_name(ssl, host);
    }
    if (t->verify == PB_RTLS_VERIFY_FULL || t->verify == PB_RTLS_VERIFY_STRICT) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        if (is_ip) {
            X509_VERIFY_PARAM_set1_ip_asc(vp, host);
        } else {
            X509_VERIFY_PARAM_set1_host(vp, host, 0);
        }
    }
    return ssl;
}
