/*
 * Who a container or exec process runs as: uid, gid, supplementary groups, the five capability sets and
 * no_new_privs, applied in the child just before exec; and the PATH lookup of the program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent.h"
#include "kernel.h"
#include "json.h"
#include "util.h"

/* Capability numbers are their index here (as in linux/capability.h). */
static const char *const cap_names[] = {
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
    "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
    "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
    "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
    "checkpoint_restore",
};

static const char *const set_names[CAP_SETS] = {"bounding", "effective", "permitted", "inheritable", "ambient"};

/* The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap), read once. */
static int last_cap(void) {
    static int last = -1;
    if (last < 0) {
        char buf[16];
        last = read_file("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) > 0 ? atoi(buf) : 40;
        if (last < 0 || last > 63) last = 40;
    }
    return last;
}

/* A capability by name ("CAP_NET_ADMIN", "net_admin", any case) or number; -1 when unknown. */
static int cap_number(const struct jval *v) {
    if (v->type == J_INT) return v->i >= 0 && v->i <= 63 ? (int)v->i : -1;
    if (v->type != J_STR) return -1;
    const char *n = v->s;
    if (strncasecmp(n, "cap_", 4) == 0) n += 4;
    for (size_t i = 0; i < ARRAY_LEN(cap_names); i++)
        if (strcasecmp(n, cap_names[i]) == 0) return (int)i;
    return -1;
}

static bool parse_caps(const struct jval *caps, struct procsec *sec, char *err, size_t errlen) {
    if (caps->type != J_OBJ) {
        snprintf(err, errlen, "\"capabilities\" must be an object of sets");
        return false;
    }
    memset(sec->caps, 0, sizeof sec->caps);
    sec->caps_given = true;
    for (const struct jval *m = caps->first; m; m = m->next) {
        int set = -1;
        for (int i = 0; i < CAP_SETS; i++)
            if (strcmp(m->key, set_names[i]) == 0) set = i;
        if (set < 0 || m->type != J_ARR || m->count > 64) {
            snprintf(err, errlen, "capabilities: \"%s\" is not a set (bounding, effective, permitted, inheritable, ambient) of names", m->key);
            return false;
        }
        for (const struct jval *c = m->first; c; c = c->next) {
            int n = cap_number(c);
            if (n < 0) {
                snprintf(err, errlen, "capabilities: unknown capability %s", c->type == J_STR ? c->s : "(not a name)");
                return false;
            }
            sec->caps[set] |= 1ULL << n;
        }
    }
    return true;
}

bool parse_procsec(const struct jval *req, struct procsec *sec, char *err, size_t errlen) {
    (void)last_cap(); /* read now, in the agent: a child may no longer see the guest's /proc */
    int64_t uid = sec->uid, gid = sec->gid;
    if (!jget_int(req, "uid", false, 0, 0xFFFFFFFE, &uid, err, errlen)) return false;
    if (!jget_int(req, "gid", false, 0, 0xFFFFFFFE, &gid, err, errlen)) return false;
    sec->uid = (uid_t)uid;
    sec->gid = (gid_t)gid;
    const struct jval *groups = json_get(req, "groups");
    if (groups && groups->type != J_NULL) {
        if (groups->type != J_ARR || groups->count > MAX_GROUPS) {
            snprintf(err, errlen, "\"groups\" must be an array of at most %d group ids", MAX_GROUPS);
            return false;
        }
        sec->ngroups = 0;
        for (const struct jval *g = groups->first; g; g = g->next) {
            if (g->type != J_INT || g->i < 0 || g->i > 0xFFFFFFFE) {
                snprintf(err, errlen, "\"groups\" must hold group ids");
                return false;
            }
            sec->groups[sec->ngroups++] = (gid_t)g->i;
        }
    }
    const struct jval *caps = json_get(req, "capabilities");
    if (caps && caps->type != J_NULL && !parse_caps(caps, sec, err, errlen)) return false;
    return jget_bool(req, "noNewPrivs", &sec->no_new_privs, err, errlen);
}

static void set_caps(const struct procsec *sec, int sync_fd) {
    struct cap_header_ h = {.version = LINUX_CAPABILITY_VERSION_3_};
    struct cap_data_ d[2];
    const uint64_t *c = sec->caps;
    for (int i = 0; i < 2; i++) {
        d[i].effective = (uint32_t)(c[CAP_EFFECTIVE] >> (32 * i));
        d[i].permitted = (uint32_t)(c[CAP_PERMITTED] >> (32 * i));
        d[i].inheritable = (uint32_t)(c[CAP_INHERITABLE] >> (32 * i));
    }
    if (syscall(SYS_capset, &h, d) != 0) child_fail(sync_fd, "set capabilities");
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        child_fail(sync_fd, "clear ambient capabilities");
    for (int n = 0; n <= last_cap(); n++)
        if ((c[CAP_AMBIENT] >> n & 1) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0) != 0)
            child_fail(sync_fd, "raise ambient capability %d", n);
}

void apply_procsec(const struct procsec *sec, int sync_fd) {
    /* Dropping from the bounding set needs CAP_SETPCAP: before the user changes. */
    if (sec->caps_given)
        for (int n = 0; n <= last_cap(); n++)
            if (!(sec->caps[CAP_BOUNDING] >> n & 1) && prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0)
                child_fail(sync_fd, "drop capability %d from the bounding set", n);
    /* Keep the permitted set across setuid so that the sets below can still be set. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) child_fail(sync_fd, "keep capabilities");
    if (setgroups((size_t)sec->ngroups, sec->groups) != 0) child_fail(sync_fd, "setgroups");
    if (setresgid(sec->gid, sec->gid, sec->gid) != 0) child_fail(sync_fd, "setgid %u", sec->gid);
    if (setresuid(sec->uid, sec->uid, sec->uid) != 0) child_fail(sync_fd, "setuid %u", sec->uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) child_fail(sync_fd, "reset keep capabilities");
    if (sec->caps_given) set_caps(sec, sync_fd);
    if (sec->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(sync_fd, "no_new_privs");
}

static bool executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

const char *resolve_exe(const char *argv0, char *const *env, char *buf, size_t len, int sync_fd) {
    if (strchr(argv0, '/')) {
        if (!executable(argv0)) child_fail(sync_fd, "exec %s", argv0);
        return argv0;
    }
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char *const *e = env; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    while (*path) {
        const char *end = strchrnul(path, ':');
        int n = (int)(end - path);
        if (snprintf(buf, len, "%.*s/%s", n, n ? path : ".", argv0) < (int)len && executable(buf)) return buf;
        path = *end ? end + 1 : end;
    }
    errno = ENOENT;
    child_fail(sync_fd, "executable file \"%s\" not found in $PATH", argv0);
}
