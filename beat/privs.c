/* SPDX-License-Identifier: Apache-2.0
 * beat/privs.c - giving up root after the capture is open.
 */
#include "beat/privs.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "beat/err.h"
#include "beat/log.h"

int pb_privs_drop(const struct pb_cfg *root, char *err, size_t errlen)
{
    const char *user = NULL, *group = NULL;
    if (pb_cfg_str(root, "packetbeat.run_as.user", "", &user) < 0 ||
        pb_cfg_str(root, "packetbeat.run_as.group", "", &group) < 0) {
        snprintf(err, errlen, "%s", pb_cfg_errmsg());
        return -PB_EINVAL;
    }
    if (user == NULL || user[0] == '\0') {
        return 0;
    }
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        snprintf(err, errlen, "packetbeat.run_as.user: unknown user '%s'", user);
        return -PB_EINVAL;
    }
    gid_t gid = pw->pw_gid;
    if (group != NULL && group[0] != '\0') {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            snprintf(err, errlen, "packetbeat.run_as.group: unknown group '%s'", group);
            return -PB_EINVAL;
        }
        gid = gr->gr_gid;
    }
    uid_t uid = pw->pw_uid;
    if (getuid() == uid && geteuid() == uid) {
        return 0; /* already that user */
    }
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        snprintf(err, errlen, "cannot switch to user '%s': %s", user, strerror(errno));
        return -PB_EIO;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "switched to user '%s' but root could be regained", user);
        return -PB_EIO;
    }
    pb_info("beat", "Running as user %s (uid %u, gid %u) from now on", user, (unsigned)uid,
            (unsigned)gid);
    return 0;
}
