/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/openssl.c - the OpenSSL functions packetbeat calls, each one
 * calling the library's own, loaded on first use (lazylib.h): libssl.so.3,
 * whose handle finds libcrypto's functions too. Keystores, TLS outputs,
 * the tls protocol's certificates, the hashing processors and replay use
 * them; reading a capture file without TLS never loads them (0.9 ms of
 * every run otherwise).
 */
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "beat/lazy/lazylib.h"

#define FN(name) PB_LAZY_FN(pb_lazy_ssl_lib, name)

BIGNUM *ASN1_INTEGER_to_BN(const ASN1_INTEGER *ai, BIGNUM *bn)
{
    FN(ASN1_INTEGER_to_BN);
    return f(ai, bn);
}

const unsigned char *ASN1_STRING_get0_data(const ASN1_STRING *x)
{
    FN(ASN1_STRING_get0_data);
    return f(x);
}

int ASN1_STRING_length(const ASN1_STRING *x)
{
    FN(ASN1_STRING_length);
    return f(x);
}

int ASN1_STRING_type(const ASN1_STRING *x)
{
    FN(ASN1_STRING_type);
    return f(x);
}

int ASN1_TIME_to_tm(const ASN1_TIME *s, struct tm *tm)
{
    FN(ASN1_TIME_to_tm);
    return f(s, tm);
}

int BIO_free(BIO *a)
{
    FN(BIO_free);
    return f(a);
}

BIO *BIO_new_file(const char *filename, const char *mode)
{
    FN(BIO_new_file);
    return f(filename, mode);
}

BIO *BIO_new_mem_buf(const void *buf, int len)
{
    FN(BIO_new_mem_buf);
    return f(buf, len);
}

char *BN_bn2dec(const BIGNUM *a)
{
    FN(BN_bn2dec);
    return f(a);
}

void BN_free(BIGNUM *a)
{
    FN(BN_free);
    f(a);
}

void CRYPTO_free(void *ptr, const char *file, int line)
{
    FN(CRYPTO_free);
    f(ptr, file, line);
}

void ERR_clear_error(void)
{
    FN(ERR_clear_error);
    f();
}

void ERR_error_string_n(unsigned long e, char *buf, size_t len)
{
    FN(ERR_error_string_n);
    f(e, buf, len);
}

unsigned long ERR_get_error(void)
{
    FN(ERR_get_error);
    return f();
}

unsigned long ERR_peek_error(void)
{
    FN(ERR_peek_error);
    return f();
}

int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr)
{
    FN(EVP_CIPHER_CTX_ctrl);
    return f(ctx, type, arg, ptr);
}

void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *c)
{
    FN(EVP_CIPHER_CTX_free);
    f(c);
}

EVP_CIPHER_CTX *EVP_CIPHER_CTX_new(void)
{
    FN(EVP_CIPHER_CTX_new);
    return f();
}

int EVP_DecodeBlock(unsigned char *t, const unsigned char *from, int n)
{
    FN(EVP_DecodeBlock);
    return f(t, from, n);
}

int EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *outm, int *outl)
{
    FN(EVP_DecryptFinal_ex);
    return f(ctx, outm, outl);
}

int EVP_DecryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl,
                       const unsigned char *key, const unsigned char *iv)
{
    FN(EVP_DecryptInit_ex);
    return f(ctx, cipher, impl, key, iv);
}

int EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in,
                      int inl)
{
    FN(EVP_DecryptUpdate);
    return f(ctx, out, outl, in, inl);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl)
{
    FN(EVP_Digest);
    return f(data, count, md, size, type, impl);
}

int EVP_EncodeBlock(unsigned char *t, const unsigned char *from, int n)
{
    FN(EVP_EncodeBlock);
    return f(t, from, n);
}

int EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl)
{
    FN(EVP_EncryptFinal_ex);
    return f(ctx, out, outl);
}

int EVP_EncryptInit_ex(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, ENGINE *impl,
                       const unsigned char *key, const unsigned char *iv)
{
    FN(EVP_EncryptInit_ex);
    return f(ctx, cipher, impl, key, iv);
}

int EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, unsigned char *out, int *outl, const unsigned char *in,
                      int inl)
{
    FN(EVP_EncryptUpdate);
    return f(ctx, out, outl, in, inl);
}

void EVP_PKEY_free(EVP_PKEY *pkey)
{
    FN(EVP_PKEY_free);
    f(pkey);
}

int EVP_PKEY_get_base_id(const EVP_PKEY *pkey)
{
    FN(EVP_PKEY_get_base_id);
    return f(pkey);
}

int EVP_PKEY_get_bits(const EVP_PKEY *pkey)
{
    FN(EVP_PKEY_get_bits);
    return f(pkey);
}

const EVP_CIPHER *EVP_aes_256_gcm(void)
{
    FN(EVP_aes_256_gcm);
    return f();
}

const EVP_MD *EVP_md5(void)
{
    FN(EVP_md5);
    return f();
}

const EVP_MD *EVP_sha1(void)
{
    FN(EVP_sha1);
    return f();
}

const EVP_MD *EVP_sha256(void)
{
    FN(EVP_sha256);
    return f();
}

const EVP_MD *EVP_sha384(void)
{
    FN(EVP_sha384);
    return f();
}

const EVP_MD *EVP_sha512(void)
{
    FN(EVP_sha512);
    return f();
}

void GENERAL_NAMES_free(GENERAL_NAMES *a)
{
    FN(GENERAL_NAMES_free);
    f(a);
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data,
                    size_t data_len, unsigned char *md, unsigned int *md_len)
{
    FN(HMAC);
    return f(evp_md, key, key_len, data, data_len, md, md_len);
}

int OBJ_obj2nid(const ASN1_OBJECT *o)
{
    FN(OBJ_obj2nid);
    return f(o);
}

int OBJ_obj2txt(char *buf, int buf_len, const ASN1_OBJECT *a, int no_name)
{
    FN(OBJ_obj2txt);
    return f(buf, buf_len, a, no_name);
}

void OPENSSL_cleanse(void *ptr, size_t len)
{
    FN(OPENSSL_cleanse);
    f(ptr, len);
}

int OPENSSL_sk_num(const OPENSSL_STACK *a0)
{
    FN(OPENSSL_sk_num);
    return f(a0);
}

void *OPENSSL_sk_value(const OPENSSL_STACK *a0, int a1)
{
    FN(OPENSSL_sk_value);
    return f(a0, a1);
}

EVP_PKEY *PEM_read_bio_PrivateKey(BIO *out, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
    FN(PEM_read_bio_PrivateKey);
    return f(out, x, cb, u);
}

X509 *PEM_read_bio_X509(BIO *out, X509 **x, pem_password_cb *cb, void *u)
{
    FN(PEM_read_bio_X509);
    return f(out, x, cb, u);
}

int PKCS5_PBKDF2_HMAC(const char *pass, int passlen, const unsigned char *salt, int saltlen,
                      int iter, const EVP_MD *digest, int keylen, unsigned char *out)
{
    FN(PKCS5_PBKDF2_HMAC);
    return f(pass, passlen, salt, saltlen, iter, digest, keylen, out);
}

int RAND_bytes(unsigned char *buf, int num)
{
    FN(RAND_bytes);
    return f(buf, num);
}

int SSL_CTX_check_private_key(const SSL_CTX *ctx)
{
    FN(SSL_CTX_check_private_key);
    return f(ctx);
}

long SSL_CTX_ctrl(SSL_CTX *ctx, int cmd, long larg, void *parg)
{
    FN(SSL_CTX_ctrl);
    return f(ctx, cmd, larg, parg);
}

void SSL_CTX_free(SSL_CTX *a0)
{
    FN(SSL_CTX_free);
    f(a0);
}

X509_STORE *SSL_CTX_get_cert_store(const SSL_CTX *a0)
{
    FN(SSL_CTX_get_cert_store);
    return f(a0);
}

int SSL_CTX_load_verify_locations(SSL_CTX *ctx, const char *CAfile, const char *CApath)
{
    FN(SSL_CTX_load_verify_locations);
    return f(ctx, CAfile, CApath);
}

SSL_CTX *SSL_CTX_new(const SSL_METHOD *meth)
{
    FN(SSL_CTX_new);
    return f(meth);
}

void SSL_CTX_set_default_passwd_cb_userdata(SSL_CTX *ctx, void *u)
{
    FN(SSL_CTX_set_default_passwd_cb_userdata);
    f(ctx, u);
}

int SSL_CTX_set_default_verify_paths(SSL_CTX *ctx)
{
    FN(SSL_CTX_set_default_verify_paths);
    return f(ctx);
}

void SSL_CTX_set_security_level(SSL_CTX *ctx, int level)
{
    FN(SSL_CTX_set_security_level);
    f(ctx, level);
}

void SSL_CTX_set_verify(SSL_CTX *ctx, int mode, SSL_verify_cb callback)
{
    FN(SSL_CTX_set_verify);
    f(ctx, mode, callback);
}

int SSL_CTX_use_PrivateKey(SSL_CTX *ctx, EVP_PKEY *pkey)
{
    FN(SSL_CTX_use_PrivateKey);
    return f(ctx, pkey);
}

int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type)
{
    FN(SSL_CTX_use_PrivateKey_file);
    return f(ctx, file, type);
}

int SSL_CTX_use_certificate(SSL_CTX *ctx, X509 *x)
{
    FN(SSL_CTX_use_certificate);
    return f(ctx, x);
}

int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file)
{
    FN(SSL_CTX_use_certificate_chain_file);
    return f(ctx, file);
}

int SSL_connect(SSL *ssl)
{
    FN(SSL_connect);
    return f(ssl);
}

long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)
{
    FN(SSL_ctrl);
    return f(ssl, cmd, larg, parg);
}

void SSL_free(SSL *ssl)
{
    FN(SSL_free);
    f(ssl);
}

X509_VERIFY_PARAM *SSL_get0_param(SSL *ssl)
{
    FN(SSL_get0_param);
    return f(ssl);
}

int SSL_get_error(const SSL *s, int ret_code)
{
    FN(SSL_get_error);
    return f(s, ret_code);
}

long SSL_get_verify_result(const SSL *ssl)
{
    FN(SSL_get_verify_result);
    return f(ssl);
}

const char *SSL_get_version(const SSL *s)
{
    FN(SSL_get_version);
    return f(s);
}

SSL *SSL_new(SSL_CTX *ctx)
{
    FN(SSL_new);
    return f(ctx);
}

int SSL_pending(const SSL *s)
{
    FN(SSL_pending);
    return f(s);
}

int SSL_read(SSL *ssl, void *buf, int num)
{
    FN(SSL_read);
    return f(ssl, buf, num);
}

int SSL_set_fd(SSL *s, int fd)
{
    FN(SSL_set_fd);
    return f(s, fd);
}

int SSL_version(const SSL *ssl)
{
    FN(SSL_version);
    return f(ssl);
}

int SSL_write(SSL *ssl, const void *buf, int num)
{
    FN(SSL_write);
    return f(ssl, buf, num);
}

const SSL_METHOD *TLS_client_method(void)
{
    FN(TLS_client_method);
    return f();
}

ASN1_STRING *X509_NAME_ENTRY_get_data(const X509_NAME_ENTRY *ne)
{
    FN(X509_NAME_ENTRY_get_data);
    return f(ne);
}

ASN1_OBJECT *X509_NAME_ENTRY_get_object(const X509_NAME_ENTRY *ne)
{
    FN(X509_NAME_ENTRY_get_object);
    return f(ne);
}

int X509_NAME_entry_count(const X509_NAME *name)
{
    FN(X509_NAME_entry_count);
    return f(name);
}

X509_NAME_ENTRY *X509_NAME_get_entry(const X509_NAME *name, int loc)
{
    FN(X509_NAME_get_entry);
    return f(name, loc);
}

int X509_STORE_add_cert(X509_STORE *ctx, X509 *x)
{
    FN(X509_STORE_add_cert);
    return f(ctx, x);
}

int X509_VERIFY_PARAM_set1_host(X509_VERIFY_PARAM *param, const char *name, size_t namelen)
{
    FN(X509_VERIFY_PARAM_set1_host);
    return f(param, name, namelen);
}

int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM *param, const char *ipasc)
{
    FN(X509_VERIFY_PARAM_set1_ip_asc);
    return f(param, ipasc);
}

void X509_VERIFY_PARAM_set_hostflags(X509_VERIFY_PARAM *param, unsigned int flags)
{
    FN(X509_VERIFY_PARAM_set_hostflags);
    f(param, flags);
}

void X509_free(X509 *a)
{
    FN(X509_free);
    f(a);
}

const ASN1_TIME *X509_get0_notAfter(const X509 *x)
{
    FN(X509_get0_notAfter);
    return f(x);
}

const ASN1_TIME *X509_get0_notBefore(const X509 *x)
{
    FN(X509_get0_notBefore);
    return f(x);
}

EVP_PKEY *X509_get0_pubkey(const X509 *x)
{
    FN(X509_get0_pubkey);
    return f(x);
}

const ASN1_INTEGER *X509_get0_serialNumber(const X509 *x)
{
    FN(X509_get0_serialNumber);
    return f(x);
}

void *X509_get_ext_d2i(const X509 *x, int nid, int *crit, int *idx)
{
    FN(X509_get_ext_d2i);
    return f(x, nid, crit, idx);
}

X509_NAME *X509_get_issuer_name(const X509 *a)
{
    FN(X509_get_issuer_name);
    return f(a);
}

int X509_get_signature_info(X509 *x, int *mdnid, int *pknid, int *secbits, uint32_t *flags)
{
    FN(X509_get_signature_info);
    return f(x, mdnid, pknid, secbits, flags);
}

int X509_get_signature_nid(const X509 *x)
{
    FN(X509_get_signature_nid);
    return f(x);
}

X509_NAME *X509_get_subject_name(const X509 *a)
{
    FN(X509_get_subject_name);
    return f(a);
}

long X509_get_version(const X509 *x)
{
    FN(X509_get_version);
    return f(x);
}

const char *X509_verify_cert_error_string(long n)
{
    FN(X509_verify_cert_error_string);
    return f(n);
}

X509 *d2i_X509(X509 **a, const unsigned char **in, long len)
{
    FN(d2i_X509);
    return f(a, in, len);
}
