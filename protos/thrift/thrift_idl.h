/* SPDX-License-Identifier: Apache-2.0
 * protos/thrift/thrift_idl.h - a small parser for Thrift IDL files
 * (.thrift): it keeps what Packetbeat uses to name things on the wire, the
 * services' functions with their argument and exception field ids/names.
 *
 * As Packetbeat (go-thrift's parser) does: includes are followed, their
 * paths taken relative to the directory of the file named in the
 * configuration; every file is read once; functions are looked up by name
 * across all files and services (a later definition wins); functions
 * inherited through `extends` keep the service that defines them.
 * Accepted syntax: the Thrift IDL grammar (include, cpp_include, namespace,
 * const, typedef, enum, senum, struct, union, exception, service with
 * extends/oneway/throws, field ids, requiredness, default values, container
 * types, cpp_type, annotations, the three comment styles).
 */
#ifndef PB_THRIFT_IDL_H
#define PB_THRIFT_IDL_H

#include <stddef.h>
#include <stdint.h>

/* Caps: files reached through includes, bytes per file, functions. */
#define THRIFT_IDL_MAX_FILES 256u
#define THRIFT_IDL_MAX_FILE_BYTES (16u * 1024u * 1024u)
#define THRIFT_IDL_MAX_METHODS 65536u

struct thrift_idl_field {
    int64_t id;
    char *name; /* owned */
};

struct thrift_idl_method {
    char *name;    /* owned */
    char *service; /* owned */
    struct thrift_idl_field *params;
    size_t nparams;
    struct thrift_idl_field *exceptions;
    size_t nexceptions;
    size_t seq; /* declaration order (internal) */
};

struct thrift_idl {
    struct thrift_idl_method *methods; /* owned, sorted by name */
    size_t nmethods;
    size_t cap;
};

/* Reads the files (and what they include). 0, or -PB_EINVAL with
 * Packetbeat's "Error parsing Thrift IDL file <f>: <why>" in err, or
 * -PB_ENOMEM. *out is owned by the caller (thrift_idl_free). */
int thrift_idl_load(char *const *files, size_t nfiles, struct thrift_idl **out, char *err,
                    size_t errlen);
/* Parses IDL text held in memory (one file, includes are not followed). */
int thrift_idl_parse_text(struct thrift_idl *idl, const char *text, size_t len, char *err,
                          size_t errlen);
/* The function named name[0..n), NULL when unknown. Borrowed. */
const struct thrift_idl_method *thrift_idl_find(const struct thrift_idl *idl, const char *name,
                                                size_t n);
/* The name of field `id` in a list (the last one declared with that id),
 * NULL when there is none. Borrowed. */
const char *thrift_idl_field_name(const struct thrift_idl_field *f, size_t n, uint16_t id);
void thrift_idl_free(struct thrift_idl *idl);

#endif
