/* SPDX-License-Identifier: Apache-2.0
 * beat/lazy/rdkafka.c - the librdkafka functions the Kafka output calls,
 * each one calling librdkafka's own, loaded on first use (lazylib.h).
 */
#include <librdkafka/rdkafka.h>

#include "beat/lazy/lazylib.h"

#define FN(name) PB_LAZY_FN(pb_lazy_rdkafka_lib, name)

/* a function of one argument returning r, and one returning nothing */
#define FWD1(r, name, t1)                                                                          \
    r name(t1 a)                                                                                   \
    {                                                                                              \
        FN(name);                                                                                  \
        return f(a);                                                                               \
    }
#define FWD1_VOID(name, t1)                                                                        \
    void name(t1 a)                                                                                \
    {                                                                                              \
        FN(name);                                                                                  \
        f(a);                                                                                      \
    }
#define FWD2(r, name, t1, t2)                                                                      \
    r name(t1 a, t2 b)                                                                             \
    {                                                                                              \
        FN(name);                                                                                  \
        return f(a, b);                                                                            \
    }
#define FWD2_VOID(name, t1, t2)                                                                    \
    void name(t1 a, t2 b)                                                                          \
    {                                                                                              \
        FN(name);                                                                                  \
        f(a, b);                                                                                   \
    }

typedef void (*dr_msg_cb_t)(rd_kafka_t *, const rd_kafka_message_t *, void *);
typedef void (*error_cb_t)(rd_kafka_t *, int, const char *, void *);
typedef void (*log_cb_t)(const rd_kafka_t *, int, const char *, const char *);
typedef int32_t (*partitioner_t)(const rd_kafka_topic_t *, const void *, size_t, int32_t, void *,
                                 void *);

rd_kafka_conf_t *rd_kafka_conf_new(void)
{
    FN(rd_kafka_conf_new);
    return f();
}

FWD1_VOID(rd_kafka_conf_destroy, rd_kafka_conf_t *)
FWD2_VOID(rd_kafka_conf_set_dr_msg_cb, rd_kafka_conf_t *, dr_msg_cb_t)
FWD2_VOID(rd_kafka_conf_set_error_cb, rd_kafka_conf_t *, error_cb_t)
FWD2_VOID(rd_kafka_conf_set_log_cb, rd_kafka_conf_t *, log_cb_t)
FWD2_VOID(rd_kafka_conf_set_opaque, rd_kafka_conf_t *, void *)
FWD1(rd_kafka_topic_conf_t *, rd_kafka_default_topic_conf_dup, rd_kafka_t *)
FWD1_VOID(rd_kafka_destroy, rd_kafka_t *)
FWD1(const char *, rd_kafka_err2name, rd_kafka_resp_err_t)
FWD1(const char *, rd_kafka_err2str, rd_kafka_resp_err_t)
FWD2(rd_kafka_resp_err_t, rd_kafka_flush, rd_kafka_t *, int)
FWD1_VOID(rd_kafka_headers_destroy, rd_kafka_headers_t *)
FWD1(rd_kafka_headers_t *, rd_kafka_headers_new, size_t)
FWD1_VOID(rd_kafka_metadata_destroy, const struct rd_kafka_metadata *)
FWD1(int, rd_kafka_outq_len, rd_kafka_t *)
FWD2(int, rd_kafka_poll, rd_kafka_t *, int)
FWD2(rd_kafka_resp_err_t, rd_kafka_purge, rd_kafka_t *, int)
FWD1_VOID(rd_kafka_topic_conf_destroy, rd_kafka_topic_conf_t *)
FWD2_VOID(rd_kafka_topic_conf_set_opaque, rd_kafka_topic_conf_t *, void *)
FWD2_VOID(rd_kafka_topic_conf_set_partitioner_cb, rd_kafka_topic_conf_t *, partitioner_t)
FWD1_VOID(rd_kafka_topic_destroy, rd_kafka_topic_t *)
FWD1(const char *, rd_kafka_topic_name, const rd_kafka_topic_t *)
FWD2(int, rd_kafka_topic_partition_available, const rd_kafka_topic_t *, int32_t)
FWD1(rd_kafka_resp_err_t, rd_kafka_error_code, const rd_kafka_error_t *)
FWD1_VOID(rd_kafka_error_destroy, rd_kafka_error_t *)

rd_kafka_conf_res_t rd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                                      char *errstr, size_t errstr_size)
{
    FN(rd_kafka_conf_set);
    return f(conf, name, value, errstr, errstr_size);
}

rd_kafka_resp_err_t rd_kafka_header_add(rd_kafka_headers_t *hdrs, const char *name,
                                        ssize_t name_size, const void *value, ssize_t value_size)
{
    FN(rd_kafka_header_add);
    return f(hdrs, name, name_size, value, value_size);
}

rd_kafka_resp_err_t rd_kafka_metadata(rd_kafka_t *rk, int all_topics, rd_kafka_topic_t *only_rkt,
                                      const struct rd_kafka_metadata **metadatap, int timeout_ms)
{
    FN(rd_kafka_metadata);
    return f(rk, all_topics, only_rkt, metadatap, timeout_ms);
}

rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                         size_t errstr_size)
{
    FN(rd_kafka_new);
    return f(type, conf, errstr, errstr_size);
}

rd_kafka_topic_t *rd_kafka_topic_new(rd_kafka_t *rk, const char *topic, rd_kafka_topic_conf_t *conf)
{
    FN(rd_kafka_topic_new);
    return f(rk, topic, conf);
}

rd_kafka_error_t *rd_kafka_produceva(rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt)
{
    FN(rd_kafka_produceva);
    return f(rk, vus, cnt);
}
