/* SPDX-License-Identifier: Apache-2.0
 * beat/keystore.h - the secrets keystore in libbeat's on-disk format
 * (${path.data}/packetbeat.keystore, or keystore.path):
 *
 *   "v1" base64( salt[64] | iv[12] | AES-256-GCM(json) + tag[16] )
 *
 * The key is PBKDF2-HMAC-SHA512(password "", salt, 10000 rounds, 32 bytes),
 * no additional data; json is {"KEY":{"value":"<base64 of the secret>"}}.
 * Files are written 0600 through a .tmp file and a rename.
 *
 * `${KEY}` in the config resolves from the keystore after the config's own
 * keys and before environment variables, as libbeat does.
 */
#ifndef PB_KEYSTORE_H
#define PB_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PB_KEYSTORE_MAX_BYTES (4u * 1024u * 1024u) /* a keystore file larger is refused */

struct pb_keystore;

/* Opens (reads and decrypts) the keystore at path; a missing file gives an
 * empty store that is not persisted. strict: the file must be 0600 and
 * owned by root or the current user. NULL with err on failure. */
struct pb_keystore *pb_keystore_open(const char *path, bool strict, char *err, size_t errlen);
void pb_keystore_free(struct pb_keystore *ks);
bool pb_keystore_persisted(const struct pb_keystore *ks);
/* The secret of key as an owned NUL-terminated string (pb_free), NULL when
 * absent. */
char *pb_keystore_get(const struct pb_keystore *ks, const char *key);
int pb_keystore_set(struct pb_keystore *ks, const char *key, const void *val, size_t len);
bool pb_keystore_del(struct pb_keystore *ks, const char *key);
/* Keys, sorted, one per line into f. */
void pb_keystore_list(const struct pb_keystore *ks, FILE *f);
/* Writes the store (create: empty it first). 0 or -1 with err. */
int pb_keystore_save(struct pb_keystore *ks, char *err, size_t errlen);
int pb_keystore_create(struct pb_keystore *ks, char *err, size_t errlen);

/* Resolves ${NAME} in configs from the keystore: its path is keystore.path
 * or ${path.data}/packetbeat.keystore, path.data/path.home from the flags
 * (flag_data, flag_home, may be NULL) over the config's own. */
void pb_keystore_install_resolver(const char *flag_data, const char *flag_home);

/* `packetbeat keystore <create|add|list|remove> ...`: args are the words
 * after "keystore". Returns the exit code; messages as libbeat's. */
int pb_keystore_cmd(const char *path, const char *const *args, size_t nargs, bool force,
                    bool use_stdin, bool strict);

#endif
