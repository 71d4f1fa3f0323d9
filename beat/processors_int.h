/* SPDX-License-Identifier: Apache-2.0
 * beat/processors_int.h - what the processor files (beat/processors*.c)
 * share: the processor record, the kind table entry and the config helpers.
 * Not for use outside beat/processors*.c and beat/condition.c.
 */
#ifndef PB_PROCESSORS_INT_H
#define PB_PROCESSORS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "beat/cfg.h"
#include "beat/processors.h"

#define PB_PROC_MAX 256
#define PB_PROC_MAX_FIELDS 256

struct pb_proc;
struct pb_proc_kind {
    const char *name;
    int (*init)(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen);
    json_t *(*run)(struct pb_proc *p, json_t *ev); /* NULL return: dropped */
    void (*fini)(struct pb_proc *p);               /* frees p->priv; may be NULL */
    /* the same on an event still in its arena, so that it need not become
       a jansson tree; NULL: run is called on pb_ev_json's tree */
    pb_event *(*run_ev)(struct pb_proc *p, pb_event *ev);
};

struct pb_proc_pair {
    char *from, *to;
};

struct pb_proc {
    const struct pb_proc_kind *kind;
    struct pb_cond *when;          /* owned, NULL: always */
    struct pb_processors *then_ps; /* if/then/else */
    struct pb_processors *else_ps;
    char **fields; /* owned strv: field lists */
    size_t nfields;
    struct pb_proc_pair pairs[PB_PROC_MAX_FIELDS];
    size_t npairs;
    json_t *value;                    /* owned: fields to add, tags, labels */
    char *target;                     /* owned */
    char *field;                      /* owned */
    struct pb_path target_p, field_p; /* of target and field, when set */
    bool ignore_missing, fail_on_error;
    long max;   /* truncate_fields */
    void *priv; /* owned by the kind (fini frees it) */
    /* add_host_metadata: nothing after this processor changes an event
       (pb_processors_mark_last), so events may share p->value as their
       host object instead of a copy each */
    bool share_value;
    bool value_has_name; /* add_host_metadata: value has a name member */
};

/* Zeroed private state of `size` bytes, owned by p (p->priv); NULL with
 * "out of memory" in err. */
void *pb_proc_priv_new(struct pb_proc *p, size_t size, char *err, size_t errlen);
/* `fields:` as a string list; missing → error when required. */
int pb_proc_get_fields(struct pb_proc *p, const struct pb_cfg *body, bool required, char *err,
                       size_t errlen);
/* `fields:` as a list of {from, to}. */
int pb_proc_get_pairs(struct pb_proc *p, const struct pb_cfg *body, char *err, size_t errlen);
/* ignore_missing (default false) and fail_on_error (default def_fail). */
int pb_proc_get_flags(struct pb_proc *p, const struct pb_cfg *body, bool def_fail, char *err,
                      size_t errlen);
/* Appends msg to error.message (a string, or a list once there are two). */
void pb_proc_add_error(json_t *ev, const char *msg);
/* Merges src into dst (objects recursively, copies). */
void pb_proc_deep_merge(json_t *dst, json_t *src);
/* Host facts as add_host_metadata reports them (hostname, os.*, id, ...),
 * with ip/mac lists when netinfo; new reference. */
json_t *pb_proc_host_info(bool netinfo);

/* The root key bits (pb_key_bit of pb_key_tag) of the first name of every
 * field c reads: an arena event whose root has none of them (and no dotted
 * key) has none of those fields. */
uint64_t pb_cond_root_bits(const struct pb_cond *c);
/* What c decides on an event that has none of the fields it reads. */
bool pb_cond_eval_absent(const struct pb_cond *c);

/* The processors of beat/processors_ext.c and beat/processors_text.c. */
extern const struct pb_proc_kind pb_proc_kinds_ext[];
extern const size_t pb_proc_kinds_ext_n;
extern const struct pb_proc_kind pb_proc_kinds_text[];
extern const size_t pb_proc_kinds_text_n;

/* network condition semantics: ip (text) is in spec, a CIDR, an address or a
 * named range (loopback, private, public, ...). */
bool pb_net_match(const char *spec, const char *ip);
/* true when spec is a CIDR, an address or a known named range. */
bool pb_net_spec_valid(const char *spec);

#endif
