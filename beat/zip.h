/* SPDX-License-Identifier: Apache-2.0
 * beat/zip.h - unpacking a zip archive held in memory into a directory:
 * what libbeat's dashboard loader does with setup.dashboards.file/url.
 * Stored and deflated entries, CRC-32 checked; no zip64, no encryption.
 * Untrusted input: names that would land outside the directory (`..`
 * components, absolute names) are refused, and the caps of beat/limits.h
 * (entries, bytes per entry, bytes in all) hold whatever the headers claim.
 */
#ifndef PB_ZIP_H
#define PB_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct pb_zip_limits {
    size_t max_entries;
    uint64_t max_entry_bytes; /* uncompressed, one entry */
    uint64_t max_total_bytes; /* uncompressed, all entries */
};

/* Unpacks the archive zip[0..len) into the existing directory target:
 * directories 0755, files 0644 (the archive's modes and symlinks are not
 * kept; every entry becomes a plain file), in central directory order.
 * lim NULL: PB_ZIP_MAX_ENTRIES, PB_ZIP_MAX_ENTRY_BYTES,
 * PB_ZIP_MAX_TOTAL_BYTES. 0, or negative with the reason in err (Go's
 * archive/zip wording where it has one: "zip: not a valid zip file",
 * "zip: checksum error", "zip: unsupported compression algorithm";
 * libbeat's "Zip file contains files outside of the target directory: ..."
 * for a traversal). On failure what was written stays for the caller to
 * remove with the directory. */
int pb_zip_extract(const uint8_t *zip, size_t len, const char *target,
                   const struct pb_zip_limits *lim, char *err, size_t errlen);

/* Removes path and everything below it without following symlinks
 * (the temporary directory an archive was unpacked into). 0 or -PB_EIO. */
int pb_zip_remove_tree(const char *path);

#endif
