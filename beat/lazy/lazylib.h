/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/lazylib.h - libcurl, librdkafka, libpcap and OpenSSL loaded
 * when first needed.
 *
 * Only some outputs and subcommands use them (output.elasticsearch,
 * output.kafka, setup, replay; libpcap: live capture, pcapng files, BPF
 * filters, devices, -dump; OpenSSL: TLS, keystores, certificates,
 * hashes), and loading a shared library with its dependencies at start
 * costs every run: libcurl brings some thirty libraries, and mapping and
 * relocating them took about 2 ms of each `packetbeat -I file` run, more
 * than a small file's packets. So the binary does not link them: curl.c,
 * rdkafka.c, pcap.c and openssl.c define the functions the program calls,
 * and each one loads its library (dlopen) the first time it is called and
 * calls the library's own function.
 *
 * Code that may use a library first calls pb_lazy_curl, pb_lazy_rdkafka or
 * pb_lazy_pcap, which loads it or tells why it cannot (a clear error at
 * setup instead of an abort at the first call). OpenSSL, a dependency of
 * the package like libpcap, is loaded by its first call wherever that is
 * (a missing libssl.so.3 ends the program with its name, as the dynamic
 * loader did at start when it was linked).
 */
#ifndef PB_LAZYLIB_H
#define PB_LAZYLIB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#ifndef PB_CURL_SONAME
#define PB_CURL_SONAME "libcurl.so.4"
#endif
#ifndef PB_RDKAFKA_SONAME
#define PB_RDKAFKA_SONAME "librdkafka.so.1"
#endif
/* libpcap with its chain (dbus, systemd, gcrypt, lz4, zstd, lzma, ...):
 * 0.75 ms of every run that reads a classic pcap file, which libpcap does
 * not read here */
#ifndef PB_PCAP_SONAME
#define PB_PCAP_SONAME "libpcap.so.0.8"
#endif
/* OpenSSL (libssl and libcrypto, ~0.9 ms to map and relocate): libssl's
 * handle finds libcrypto's functions too */
#ifndef PB_SSL_SONAME
#define PB_SSL_SONAME "libssl.so.3"
#endif

struct pb_lazylib {
    const char *soname;
    bool tried;
    void *handle; /* NULL: not loaded (err tells why once tried) */
    char err[256];
};

extern struct pb_lazylib pb_lazy_curl_lib, pb_lazy_rdkafka_lib, pb_lazy_pcap_lib, pb_lazy_ssl_lib;

/* Loads the library (once; thread-safe): 0, or -1 with the reason in err. */
int pb_lazylib_load(struct pb_lazylib *l, char *err, size_t errlen);
/* The library's function name (loading the library first). A library or
 * function that is missing ends the program with a message: callers load
 * the library with pb_lazylib_load before they call into it. */
void *pb_lazylib_fn(struct pb_lazylib *l, const char *name);

static inline int pb_lazy_curl(char *err, size_t errlen)
{
    return pb_lazylib_load(&pb_lazy_curl_lib, err, errlen);
}

static inline int pb_lazy_rdkafka(char *err, size_t errlen)
{
    return pb_lazylib_load(&pb_lazy_rdkafka_lib, err, errlen);
}

static inline int pb_lazy_pcap(char *err, size_t errlen)
{
    return pb_lazylib_load(&pb_lazy_pcap_lib, err, errlen);
}

/* The start of the body of a forwarding function: f, the library's own
 * function name (looked up once), of the same type as the function
 * defined. */
#define PB_LAZY_FN(lib, name)                                                                      \
    static _Atomic(void *) fn_;                                                                    \
    void *p_ = atomic_load_explicit(&fn_, memory_order_acquire);                                   \
    if (p_ == NULL) {                                                                              \
        p_ = pb_lazylib_fn(&(lib), #name);                                                         \
        atomic_store_explicit(&fn_, p_, memory_order_release);                                     \
    }                                                                                              \
    __typeof__(&name) f = (__typeof__(&name))p_

#endif
