/* SPDX-License-Identifier: Apache-2.0
 * tests/fuzz/fuzz_proto.c - every protocol parser, driven through the
 * callbacks the TCP tracker and UDP dispatch use (tests/support/pt.h): data
 * per direction split anywhere, gaps, FIN, time passing, expiry.
 *
 * Input: byte 0 picks the protocol (by name from the list below, so that
 * seeds keep their meaning whichever protocols are compiled in), byte 1 one of the
 * option sets below; then operations, each an opcode byte:
 *   op & 7 == 0, 1   data to the server / client: u16 length, bytes
 *            2       gap, direction bit 3: u16 length lost
 *            3       FIN, direction bit 3
 *            4       datagram, direction bit 3: u16 length, bytes
 *            5       time passes by (op >> 3) seconds; tick
 *            6       expire the connection (the last operation)
 *            7       nothing
 */
#include <string.h>

#include "fuzz.h"
#include "protos/protos.h"
#include "tests/support/pt.h"

/* Options a protocol does not know are ignored, so every set fits all. */
static const char *const option_sets[] = {
    NULL,
    "send_request: true\nsend_response: true\ninclude_authorities: true\n"
    "include_additionals: true\nparse_headers: true\nparse_arguments: true\n"
    "send_all_headers: true\ninclude_body_for: [\"text/html\", \"application/json\"]\n"
    "decode_body: true\nsplit_cookie: true\nparse_authorization: true\nparse_body: true\n",
    "max_rows: 1\nmax_row_length: 4\nmax_docs: 1\nmax_doc_length: 4\n"
    "string_max_size: 2\ncollection_max_size: 1\ndrop_after_n_struct_fields: 1\n"
    "max_body_length: 3\nmax_message_size: 64\nqueue_max_bytes: 64\nqueue_max_messages: 2\n"
    "obfuscate_strings: true\ncapture_reply: false\ntransaction_timeout: 1s\n",
    "send_request: false\nsend_response: false\nhide_connection_information: false\n"
    "include_detailed_fields: true\ninclude_raw_certificates: true\n"
    "fingerprints: [md5, sha1, sha256]\nkeep_original: true\nredact_authorization: true\n",
};

/* scripts/fuzz-seeds.py writes byte 0 from this same list. */
static const char *const names[] = {"icmp",  "dhcpv4",  "dns",      "http", "amqp",
                                    "cassandra", "mysql", "pgsql", "redis", "thrift",
                                    "mongodb", "memcache", "tls", "nfs", "sip"};

static size_t nprotos;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet();
    while (pb_proto_registry[nprotos] != NULL) {
        nprotos++;
    }
    return 0;
}

static size_t take16(const uint8_t *data, size_t size, size_t *off)
{
    if (*off + 2 > size) {
        *off = size;
        return 0;
    }
    size_t v = (size_t)data[*off] << 8 | data[*off + 1];
    *off += 2;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || nprotos == 0) {
        return 0;
    }
    const struct pb_proto_ops *ops = NULL;
    if (data[0] < sizeof names / sizeof names[0]) {
        ops = pb_proto_find(names[data[0]]);
    }
    if (ops == NULL) {
        ops = pb_proto_registry[data[0] % nprotos];
    }
    const char *opts = option_sets[data[1] % (sizeof option_sets / sizeof option_sets[0])];
    struct pt_conn *t = pt_open(ops, opts);
    size_t off = 2;
    while (off < size) {
        uint8_t op = data[off++];
        enum pb_dir d = (op >> 3) & 1 ? PB_DIR_TO_CLIENT : PB_DIR_TO_SERVER;
        size_t len;
        switch (op & 7) {
        case 0:
        case 1:
            len = take16(data, size, &off);
            len = len < size - off ? len : size - off;
            if (ops->on_data != NULL) {
                pt_feed(t, (op & 7) == 0 ? PB_DIR_TO_SERVER : PB_DIR_TO_CLIENT, data + off,
                        len);
            }
            off += len;
            break;
        case 2:
            len = take16(data, size, &off);
            if (ops->on_data != NULL) {
                pt_gap(t, d, len + 1);
            }
            break;
        case 3:
            if (ops->on_data != NULL) {
                pt_fin(t, d);
            }
            break;
        case 4:
            len = take16(data, size, &off);
            len = len < size - off ? len : size - off;
            pt_datagram(t, d, data + off, len);
            off += len;
            break;
        case 5:
            pt_advance(t, (uint64_t)(op >> 3) * 1000000000ull);
            pt_tick(t, 1577836800ull * 1000000000ull + 86400ull * 1000000000ull);
            break;
        case 6:
            pt_expire(t);
            off = size;
            break;
        default:
            break;
        }
    }
    pt_shutdown(t);
    pt_close(t);
    return 0;
}
