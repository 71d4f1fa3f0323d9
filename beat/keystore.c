/* SPDX-License-Identifier: Apache-2.0
 * beat/keystore.c - libbeat's file keystore (format in keystore.h) with
 * OpenSSL: PBKDF2-HMAC-SHA512 key, AES-256-GCM, base64; the `keystore`
 * subcommands and the ${KEY} resolver for the config loader.
 */
#include "beat/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "beat/alloc.h"
#include "beat/cfg.h"

#define KS_SALT 64
#define KS_IV 12
#define KS_TAG 16
#define KS_ITER 10000
#define KS_KEYLEN 32
#define KS_MAX_VALUE (1024u * 1024u)

struct pb_keystore {
    char *path;
    json_t *secrets; /* {"KEY": {"value": "<base64>"}} */
    bool persisted;
};

static void derive(const unsigned char *salt, unsigned char key[KS_KEYLEN])
{
    PKCS5_PBKDF2_HMAC("", 0, salt, KS_SALT, KS_ITER, EVP_sha512(), KS_KEYLEN, key);
}

/* base64 of n bytes into a new string. */
static char *b64_enc(const unsigned char *p, size_t n)
{
    char *out = pb_malloc(4 * ((n + 2) / 3) + 1);
    if (out != NULL) {
        EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    }
    return out;
}

/* Strict base64 decode (padding required); returns length or -1. */
static long b64_dec(const char *s, size_t n, unsigned char *out)
{
    if (n % 4 != 0) {
        return -1;
    }
    int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (r < 0) {
        return -1;
    }
    size_t pad = 0;
    if (n >= 1 && s[n - 1] == '=') {
        pad++;
    }
    if (n >= 2 && s[n - 2] == '=') {
        pad++;
    }
    return r - (long)pad;
}

static int check_perms(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        return 0;
    }
    uid_t euid = geteuid();
    if (st.st_uid != 0 && st.st_uid != euid) {
        snprintf(err, errlen,
                 "config file (\"%s\") must be owned by the user identifier "
                 "(uid=%u) or root",
                 path, (unsigned)euid);
        return -1;
    }
    if ((st.st_mode & 0777) != 0600) {
        char abs[PATH_MAX];
        if (realpath(path, abs) == NULL) {
            snprintf(abs, sizeof abs, "%s", path);
        }
        snprintf(err, errlen,
                 "file (\"%s\") can only be writable and readable by the owner but "
                 "the permissions are \"-%c%c%c%c%c%c%c%c%c\" (to fix the permissions use: "
                 "'chmod go-wrx %s')",
                 path, st.st_mode & 0400 ? 'r' : '-', st.st_mode & 0200 ? 'w' : '-',
                 st.st_mode & 0100 ? 'x' : '-', st.st_mode & 0040 ? 'r' : '-',
                 st.st_mode & 0020 ? 'w' : '-', st.st_mode & 0010 ? 'x' : '-',
                 st.st_mode & 0004 ? 'r' : '-', st.st_mode & 0002 ? 'w' : '-',
                 st.st_mode & 0001 ? 'x' : '-', abs);
        return -1;
    }
    return 0;
}

static int decrypt_file(struct pb_keystore *ks, const char *raw, size_t n, char *err, size_t errlen)
{
    if (n < 2 || memcmp(raw, "v1", 2) != 0) {
        snprintf(err, errlen, "keystore format doesn't match expected version: 'v1' got '%.*s'",
                 (int)(n < 2 ? n : 2), raw);
        return -1;
    }
    if (n == 2) {
        snprintf(err, errlen, "corrupt or empty keystore");
        return -1;
    }
    /* base64 may be followed by a newline from editors; ignore whitespace */
    size_t bl = n - 2;
    while (bl > 0 && (raw[2 + bl - 1] == '\n' || raw[2 + bl - 1] == '\r')) {
        bl--;
    }
    unsigned char *bin = pb_malloc(bl / 4 * 3 + 4);
    unsigned char *plain = NULL;
    EVP_CIPHER_CTX *c = NULL;
    int rc = -1;
    long len = bin != NULL ? b64_dec(raw + 2, bl, bin) : -1;
    if (len < KS_SALT + KS_IV + KS_TAG) {
        snprintf(err, errlen,
                 "could not decrypt the keystore: missing information in the file "
                 "for decrypting the keystore");
        goto out;
    }
    unsigned char key[KS_KEYLEN];
    derive(bin, key);
    const unsigned char *iv = bin + KS_SALT, *ct = bin + KS_SALT + KS_IV;
    size_t ctlen = (size_t)len - KS_SALT - KS_IV - KS_TAG;
    plain = pb_malloc(ctlen + 1);
    c = EVP_CIPHER_CTX_new();
    int ol = 0, fl = 0;
    if (plain == NULL || c == NULL ||
        EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, KS_IV, NULL) != 1 ||
        EVP_DecryptInit_ex(c, NULL, NULL, key, iv) != 1 ||
        EVP_DecryptUpdate(c, plain, &ol, ct, (int)ctlen) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, KS_TAG, (void *)(ct + ctlen)) != 1 ||
        EVP_DecryptFinal_ex(c, plain + ol, &fl) != 1) {
        snprintf(err, errlen,
                 "could not decrypt the keystore: could not decrypt keystore data: "
                 "cipher: message authentication failed");
        goto out;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)plain, (size_t)(ol + fl), JSON_DECODE_ANY, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        snprintf(err, errlen, "could not decrypt the keystore: invalid content");
        goto out;
    }
    json_decref(ks->secrets);
    ks->secrets = j;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    if (plain != NULL) {
        OPENSSL_cleanse(plain, ol > 0 ? (size_t)ol : 0);
    }
    pb_free(plain);
    pb_free(bin);
    return rc;
}

struct pb_keystore *pb_keystore_open(const char *path, bool strict, char *err, size_t errlen)
{
    struct pb_keystore *ks = pb_calloc(1, sizeof *ks);
    if (ks == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ks->path = pb_strdup(path);
    ks->secrets = json_object();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return ks;
        }
        snprintf(err, errlen, "could not open the keystore '%s': %s", path, strerror(errno));
        pb_keystore_free(ks);
        return NULL;
    }
    struct stat st;
    char *raw = NULL;
    if (fstat(fd, &st) < 0 || st.st_size > (off_t)PB_KEYSTORE_MAX_BYTES) {
        snprintf(err, errlen, "keystore '%s' is too large", path);
        goto fail;
    }
    if (strict && check_perms(path, err, errlen) < 0) {
        goto fail;
    }
    raw = pb_malloc((size_t)st.st_size + 1);
    if (raw == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, raw + got, (size_t)st.st_size - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    if (decrypt_file(ks, raw, got, err, errlen) < 0) {
        goto fail;
    }
    pb_free(raw);
    close(fd);
    ks->persisted = true;
    return ks;
fail:
    pb_free(raw);
    close(fd);
    pb_keystore_free(ks);
    return NULL;
}

void pb_keystore_free(struct pb_keystore *ks)
{
    if (ks == NULL) {
        return;
    }
    json_decref(ks->secrets);
    pb_free(ks->path);
    pb_free(ks);
}

bool pb_keystore_persisted(const struct pb_keystore *ks)
{
    return ks != NULL && ks->persisted;
}

char *pb_keystore_get(const struct pb_keystore *ks, const char *key)
{
    json_t *v = json_object_get(json_object_get(ks->secrets, key), "value");
    if (!json_is_string(v)) {
        return NULL;
    }
    size_t n = json_string_length(v);
    unsigned char *out = pb_malloc(n / 4 * 3 + 4);
    if (out == NULL) {
        return NULL;
    }
    long len = b64_dec(json_string_value(v), n, out);
    if (len < 0) {
        pb_free(out);
        return NULL;
    }
    out[len] = '\0';
    return (char *)out;
}

int pb_keystore_set(struct pb_keystore *ks, const char *key, const void *val, size_t len)
{
    char *b = b64_enc(val, len);
    if (b == NULL) {
        return -1;
    }
    json_t *o = json_pack("{s:s}", "value", b);
    pb_free(b);
    return o != NULL && json_object_set_new(ks->secrets, key, o) == 0 ? 0 : -1;
}

bool pb_keystore_del(struct pb_keystore *ks, const char *key)
{
    return json_object_del(ks->secrets, key) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void pb_keystore_list(const struct pb_keystore *ks, FILE *f)
{
    size_t n = json_object_size(ks->secrets), i = 0;
    const char **keys = pb_calloc(n + 1, sizeof *keys);
    if (keys == NULL) {
        return;
    }
    const char *k;
    json_t *v;
    json_object_foreach(ks->secrets, k, v)
    {
        keys[i++] = k;
    }
    qsort(keys, i, sizeof *keys, cmp_str);
    for (size_t j = 0; j < i; j++) {
        fprintf(f, "%s\n", keys[j]);
    }
    pb_free(keys);
}

int pb_keystore_save(struct pb_keystore *ks, char *err, size_t errlen)
{
    char *json = json_dumps(ks->secrets, JSON_COMPACT);
    unsigned char *bin = NULL;
    char *b64 = NULL;
    EVP_CIPHER_CTX *c = NULL;
    int rc = -1, fd = -1;
    char tmp[PATH_MAX];
    if (json == NULL) {
        snprintf(err, errlen, "cannot serialize the keystore before saving it to disk");
        return -1;
    }
    size_t jl = strlen(json);
    /* Go's json.Encoder ends the document with a newline */
    size_t plen = jl + 1;
    bin = pb_malloc(KS_SALT + KS_IV + plen + KS_TAG);
    if (bin == NULL) {
        goto out;
    }
    if (RAND_bytes(bin, KS_SALT + KS_IV) != 1) {
        snprintf(err, errlen, "cannot encrypt the keystore: no randomness");
        goto out;
    }
    unsigned char key[KS_KEYLEN];
    derive(bin, key);
    unsigned char *ct = bin + KS_SALT + KS_IV;
    int ol = 0, fl = 0, ol2 = 0;
    c = EVP_CIPHER_CTX_new();
    if (c == NULL || EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, KS_IV, NULL) != 1 ||
        EVP_EncryptInit_ex(c, NULL, NULL, key, bin + KS_SALT) != 1 ||
        EVP_EncryptUpdate(c, ct, &ol, (const unsigned char *)json, (int)jl) != 1 ||
        EVP_EncryptUpdate(c, ct + ol, &ol2, (const unsigned char *)"\n", 1) != 1 ||
        EVP_EncryptFinal_ex(c, ct + ol + ol2, &fl) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, KS_TAG, ct + plen) != 1) {
        snprintf(err, errlen, "cannot encrypt the keystore");
        goto out;
    }
    OPENSSL_cleanse(key, sizeof key);
    b64 = b64_enc(bin, KS_SALT + KS_IV + plen + KS_TAG);
    if (b64 == NULL) {
        goto out;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", ks->path);
    /* the directory (path.data) may not exist yet */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", ks->path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0750);
    }
    fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open file to save the keystore to '%s', error: %s", ks->path,
                 strerror(errno));
        goto out;
    }
    size_t bl = strlen(b64);
    if (write(fd, "v1", 2) != 2 || write(fd, b64, bl) != (ssize_t)bl || fsync(fd) < 0) {
        snprintf(err, errlen, "cannot write the keystore '%s': %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, ks->path) < 0) {
        snprintf(err, errlen,
                 "cannot replace the existing keystore, with the new keystore file "
                 "at '%s', error: %s",
                 ks->path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    ks->persisted = true;
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(json, jl);
    free(json);
    pb_free(bin);
    pb_free(b64);
    return rc;
}

int pb_keystore_create(struct pb_keystore *ks, char *err, size_t errlen)
{
    json_object_clear(ks->secrets);
    return pb_keystore_save(ks, err, errlen);
}

/* ---- ${KEY} resolution ----------------------------------------------------- */

static struct {
    char data[PATH_MAX], home[PATH_MAX];
    bool has_data, has_home;
    pthread_mutex_t mu;
    char path[PATH_MAX]; /* of the cached store */
    struct pb_keystore *ks;
    bool tried;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static char *resolve_from_keystore(void *ctx, const struct pb_cfg *root, const char *name)
{
    (void)ctx;
    char path[PATH_MAX];
    const struct pb_cfg *kp = pb_cfg_get(root, "keystore.path");
    const struct pb_cfg *pd = pb_cfg_get(root, "path.data");
    const struct pb_cfg *ph = pb_cfg_get(root, "path.home");
    if (kp != NULL && kp->kind == PB_CFG_SCALAR && kp->value != NULL && kp->value[0] != '\0' &&
        strstr(kp->value, "${") == NULL) {
        snprintf(path, sizeof path, "%s", kp->value);
    } else if (R.has_data) {
        snprintf(path, sizeof path, "%.4000s/packetbeat.keystore", R.data);
    } else if (pd != NULL && pd->kind == PB_CFG_SCALAR && pd->value != NULL &&
               strstr(pd->value, "${") == NULL) {
        snprintf(path, sizeof path, "%.4000s/packetbeat.keystore", pd->value);
    } else if (R.has_home) {
        snprintf(path, sizeof path, "%.4000s/data/packetbeat.keystore", R.home);
    } else if (ph != NULL && ph->kind == PB_CFG_SCALAR && ph->value != NULL &&
               strstr(ph->value, "${") == NULL) {
        snprintf(path, sizeof path, "%.4000s/data/packetbeat.keystore", ph->value);
    } else {
        snprintf(path, sizeof path, "data/packetbeat.keystore");
    }
    char *v = NULL;
    pthread_mutex_lock(&R.mu);
    if (!R.tried || strcmp(path, R.path) != 0) {
        pb_keystore_free(R.ks);
        char err[512];
        R.ks = pb_keystore_open(path, false, err, sizeof err);
        snprintf(R.path, sizeof R.path, "%s", path);
        R.tried = true;
    }
    if (R.ks != NULL) {
        v = pb_keystore_get(R.ks, name);
    }
    pthread_mutex_unlock(&R.mu);
    return v;
}

void pb_keystore_install_resolver(const char *flag_data, const char *flag_home)
{
    R.has_data = flag_data != NULL;
    R.has_home = flag_home != NULL;
    if (flag_data != NULL) {
        snprintf(R.data, sizeof R.data, "%s", flag_data);
    }
    if (flag_home != NULL) {
        snprintf(R.home, sizeof R.home, "%s", flag_home);
    }
    pb_cfg_set_resolver(resolve_from_keystore, NULL);
}

/* ---- the subcommands -------------------------------------------------------- */

/* Reads a y/n answer from stdin; def when no answer can be read. */
static bool prompt_yes_no(const char *q, bool def)
{
    printf("%s %s: ", q, def ? "[Y/n]" : "[y/N]");
    fflush(stdout);
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) {
        printf("\n");
        return def;
    }
    if (line[0] == 'y' || line[0] == 'Y') {
        return true;
    }
    if (line[0] == 'n' || line[0] == 'N') {
        return false;
    }
    return def;
}

static char *trim_key(const char *k)
{
    while (*k == ' ' || *k == '\t' || *k == '\n') {
        k++;
    }
    char *s = pb_strdup(k);
    size_t n = s != NULL ? strlen(s) : 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n')) {
        s[--n] = '\0';
    }
    return s;
}

static int read_all_stdin(char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = pb_malloc(cap);
    if (buf == NULL) {
        return -1;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= KS_MAX_VALUE) {
                pb_free(buf);
                return -1;
            }
            char *b = pb_realloc(buf, cap * 2);
            if (b == NULL) {
                pb_free(buf);
                return -1;
            }
            buf = b;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, stdin);
        if (r == 0) {
            break;
        }
        n += r;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int read_secret_tty(char **out, size_t *len)
{
    struct termios old, quiet;
    bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char line[4096];
    char *got = fgets(line, sizeof line, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    }
    printf("\n");
    if (got == NULL) {
        return -1;
    }
    size_t n = strcspn(line, "\r\n");
    *out = pb_strndup(line, n);
    *len = n;
    return *out != NULL ? 0 : -1;
}

static int fail(const char *msg)
{
    fprintf(stderr, "Exiting: %s\n", msg);
    return 1;
}

int pb_keystore_cmd(const char *path, const char *const *args, size_t nargs, bool force,
                    bool use_stdin, bool strict)
{
    char err[1024], msg[1200];
    if (nargs == 0) {
        fprintf(stdout, "Manage secrets keystore\n\nUsage:\n  packetbeat keystore [command]\n\n"
                        "Available Commands:\n  add         Add secret\n  create      Create "
                        "keystore\n  list        List keystore\n  remove      Remove secret\n");
        return 0;
    }
    const char *sub = args[0];
    if (strcmp(sub, "create") != 0 && strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
        strcmp(sub, "remove") != 0) {
        fprintf(stderr, "Error: unknown command \"%s\" for \"packetbeat keystore\"\n", sub);
        return 1;
    }
    struct pb_keystore *ks = pb_keystore_open(path, strict, err, sizeof err);
    if (ks == NULL) {
        snprintf(msg, sizeof msg, "error initializing beat: %s", err);
        return fail(msg);
    }
    int rc = 0;
    if (strcmp(sub, "create") == 0) {
        if (pb_keystore_persisted(ks) && !force &&
            !prompt_yes_no("A keystore already exists, Overwrite?", true)) {
            printf("Exiting without creating keystore.\n");
        } else if (pb_keystore_create(ks, err, sizeof err) < 0) {
            snprintf(msg, sizeof msg, "error creating the keystore: %s", err);
            rc = fail(msg);
        } else {
            printf("Created packetbeat keystore\n");
        }
    } else if (strcmp(sub, "list") == 0) {
        pb_keystore_list(ks, stdout);
    } else if (strcmp(sub, "remove") == 0) {
        if (nargs < 2) {
            rc = fail("you must supply at least one key to remove");
        } else if (!pb_keystore_persisted(ks)) {
            rc = fail("the keystore doesn't exist. Use the 'create' command to create one");
        }
        for (size_t i = 1; rc == 0 && i < nargs; i++) {
            char *key = trim_key(args[i]);
            if (key == NULL || !pb_keystore_del(ks, key)) {
                snprintf(msg, sizeof msg, "could not find key '%s' in the keystore",
                         key != NULL ? key : args[i]);
                rc = fail(msg);
            } else if (pb_keystore_save(ks, err, sizeof err) < 0) {
                snprintf(msg, sizeof msg,
                         "could not update the keystore with the changes, key: "
                         "%s, error: %s",
                         key, err);
                rc = fail(msg);
            } else {
                printf("successfully removed key: %s\n", key);
            }
            pb_free(key);
        }
    } else { /* add */
        char *key = NULL, *val = NULL;
        size_t vlen = 0;
        if (nargs < 2) {
            rc = fail("failed to create the secret: no key provided");
            goto add_done;
        }
        if (nargs > 2) {
            snprintf(msg, sizeof msg,
                     "could not create secret for: [%s %s], you can only "
                     "provide one key per invocation",
                     args[1], args[2]);
            rc = fail(msg);
            goto add_done;
        }
        if (!pb_keystore_persisted(ks)) {
            if (!force &&
                !prompt_yes_no("The keystore does not exist. Do you want to create it?", false)) {
                rc = fail("exiting without creating keystore");
                goto add_done;
            }
            if (pb_keystore_create(ks, err, sizeof err) < 0) {
                snprintf(msg, sizeof msg, "could not create keystore, error: %s", err);
                rc = fail(msg);
                goto add_done;
            }
            printf("Created keystore\n");
        }
        key = trim_key(args[1]);
        if (key == NULL) {
            rc = fail("out of memory");
            goto add_done;
        }
        if (json_object_get(ks->secrets, key) != NULL && !force) {
            if (use_stdin) {
                snprintf(msg, sizeof msg,
                         "the settings %s already exist in the keystore use "
                         "`--force` to replace it",
                         key);
                rc = fail(msg);
                goto add_done;
            }
            snprintf(msg, sizeof msg, "Setting %s already exists, Overwrite?", key);
            if (!prompt_yes_no(msg, false)) {
                printf("Exiting without modifying keystore.\n");
                goto add_done;
            }
        }
        if (use_stdin) {
            if (read_all_stdin(&val, &vlen) < 0) {
                rc = fail("could not read input from stdin");
                goto add_done;
            }
        } else {
            printf("Enter value for %s: ", key);
            fflush(stdout);
            if (read_secret_tty(&val, &vlen) < 0) {
                rc = fail("could not read value from the input, error: EOF");
                goto add_done;
            }
        }
        if (pb_keystore_set(ks, key, val, vlen) < 0) {
            rc = fail("could not add the key in the keystore, error: out of memory");
        } else if (pb_keystore_save(ks, err, sizeof err) < 0) {
            snprintf(msg, sizeof msg, "fail to save the keystore: %s", err);
            rc = fail(msg);
        } else {
            printf("Successfully updated the keystore\n");
        }
    add_done:
        if (val != NULL) {
            OPENSSL_cleanse(val, vlen);
        }
        pb_free(val);
        pb_free(key);
    }
    pb_keystore_free(ks);
    return rc;
}
