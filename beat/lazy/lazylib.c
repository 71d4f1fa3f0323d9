/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/lazylib.c - loading a library on first use (see lazylib.h).
 */
#include "beat/lazy/lazylib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pb_lazylib pb_lazy_curl_lib = {.soname = PB_CURL_SONAME};
struct pb_lazylib pb_lazy_rdkafka_lib = {.soname = PB_RDKAFKA_SONAME};
struct pb_lazylib pb_lazy_pcap_lib = {.soname = PB_PCAP_SONAME};
struct pb_lazylib pb_lazy_ssl_lib = {.soname = PB_SSL_SONAME};

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

int pb_lazylib_load(struct pb_lazylib *l, char *err, size_t errlen)
{
    pthread_mutex_lock(&load_mu);
    if (!l->tried) {
        l->tried = true;
        /* RTLD_GLOBAL: the library's own plugins (librdkafka's, curl's
           backends) resolve against it as when it is linked */
        l->handle = dlopen(l->soname, RTLD_NOW | RTLD_GLOBAL);
        if (l->handle == NULL) {
            const char *why = dlerror();
            snprintf(l->err, sizeof l->err, "cannot load %s: %s", l->soname,
                     why != NULL ? why : "unknown error");
        }
    }
    int rc = l->handle != NULL ? 0 : -1;
    if (rc != 0 && err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", l->err);
    }
    pthread_mutex_unlock(&load_mu);
    return rc;
}

void *pb_lazylib_fn(struct pb_lazylib *l, const char *name)
{
    char err[256];
    if (pb_lazylib_load(l, err, sizeof err) != 0) {
        fprintf(stderr, "packetbeat: %s (needed for %s)\n", err, name);
        abort();
    }
    void *f = dlsym(l->handle, name);
    if (f == NULL) {
        fprintf(stderr, "packetbeat: %s has no %s\n", l->soname, name);
        abort();
    }
    return f;
}
