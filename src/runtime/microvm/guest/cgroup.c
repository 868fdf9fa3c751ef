/*
 * cgroup v2 groups: <root>/nubis/<container id> with memory.max, cpu.max and pids.max. The agent stays in
 * the root group (exempt from the no-internal-processes rule); nubis/ holds only the containers' groups.
 * An empty cgroup_root turns cgroups off (a host without a usable v2 hierarchy).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "loop.h"
#include "util.h"

char cgroup_root[512] = "/sys/fs/cgroup";
static char parent[600];

static bool is_cgroup2(const char *dir) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.controllers", dir);
    return access(path, F_OK) == 0;
}

/* Enables each controller that exists (one write each: a missing one must not stop the others). */
static void enable_controllers(const char *dir) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    static const char *ctl[] = {"+memory", "+cpu", "+pids"};
    for (size_t i = 0; i < ARRAY_LEN(ctl); i++)
        if (write_file(path, ctl[i]) != 0) debugf("cgroup: %s in %s: %s", ctl[i], dir, strerror(errno));
}

void cgroup_init(void) {
    if (!cgroup_root[0]) return;
    if (!is_cgroup2(cgroup_root) && is_init) {
        mkdir(cgroup_root, 0755);
        if (mount("cgroup2", cgroup_root, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate") != 0)
            logf_("cannot mount cgroup2 on %s: %s", cgroup_root, strerror(errno));
    }
    if (!is_cgroup2(cgroup_root)) {
        logf_("no cgroup v2 hierarchy at %s: containers run without limits", cgroup_root);
        cgroup_root[0] = 0;
        return;
    }
    enable_controllers(cgroup_root);
    snprintf(parent, sizeof parent, "%s/nubis", cgroup_root);
    if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
        logf_("cannot make %s: %s: containers run without limits", parent, strerror(errno));
        cgroup_root[0] = 0;
        return;
    }
    enable_controllers(parent);
}

static int set(const char *group, const char *file, const char *value, char *err, size_t errlen) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", group, file);
    if (write_file(path, value) == 0) return 0;
    snprintf(err, errlen, "cannot set %s to %s: %s", file, value, strerror(errno));
    return -1;
}

int cgroup_create(const struct create_spec *s, char *path, size_t len, char *err, size_t errlen) {
    path[0] = 0;
    if (!cgroup_root[0]) {
        if (s->memory_bytes || s->cpu_millis || s->pids_limit) debugf("container %s: limits ignored (no cgroups)", s->id);
        return 0;
    }
    snprintf(path, len, "%s/%s", parent, s->id);
    if (mkdir(path, 0755) != 0) {
        snprintf(err, errlen, "cannot make cgroup %s: %s", path, strerror(errno));
        path[0] = 0;
        return -1;
    }
    char v[64];
    int rc = 0;
    if (s->memory_bytes) {
        snprintf(v, sizeof v, "%" PRId64, s->memory_bytes);
        rc |= set(path, "memory.max", v, err, errlen);
        /* No swap beyond the limit (the file is absent without swap accounting). */
        char swap[PATH_MAX];
        snprintf(swap, sizeof swap, "%s/memory.swap.max", path);
        if (access(swap, F_OK) == 0) rc |= set(path, "memory.swap.max", "0", err, errlen);
        /* An OOM kill takes the whole container, as Kubernetes has it on cgroup v2. */
        rc |= set(path, "memory.oom.group", "1", err, errlen);
    }
    if (s->cpu_millis) {
        /* cpu.max is "<quota> <period>" in microseconds: cpus * period. */
        snprintf(v, sizeof v, "%" PRId64 " 100000", s->cpu_millis * 100);
        rc |= set(path, "cpu.max", v, err, errlen);
    }
    if (s->pids_limit) {
        snprintf(v, sizeof v, "%" PRId64, s->pids_limit);
        rc |= set(path, "pids.max", v, err, errlen);
    }
    if (rc != 0) {
        rmdir(path);
        path[0] = 0;
        return -1;
    }
    return 0;
}

struct pending_rmdir {
    char path[PATH_MAX];
    int tries;
};

/* Removes a group, killing what is left in it; retried while its processes die. */
static void try_rmdir(void *ctx) {
    struct pending_rmdir *p = ctx;
    if (rmdir(p->path) == 0 || errno == ENOENT || ++p->tries > 50) {
        if (p->tries > 50) logf_("cannot remove cgroup %s: %s", p->path, strerror(errno));
        free(p);
        return;
    }
    char kill[PATH_MAX + 16];
    snprintf(kill, sizeof kill, "%s/cgroup.kill", p->path);
    write_file(kill, "1");
    loop_timer(100, try_rmdir, p);
}

void cgroup_remove(const char *path) {
    struct pending_rmdir *p = calloc(1, sizeof *p);
    if (!p) abort();
    snprintf(p->path, sizeof p->path, "%s", path);
    try_rmdir(p);
}

/* The value after `key ` in a flat-keyed file (memory.events, cpu.stat); -1 when absent. */
static int64_t keyed(const char *group, const char *file, const char *key) {
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "%s/%s", group, file);
    if (read_file(path, buf, sizeof buf) < 0) return -1;
    size_t klen = strlen(key);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ') return strtoll(line + klen + 1, NULL, 10);
    return -1;
}

/* A single-number file; -1 when absent or "max". */
static int64_t number(const char *group, const char *file) {
    char path[PATH_MAX], buf[64];
    snprintf(path, sizeof path, "%s/%s", group, file);
    if (read_file(path, buf, sizeof buf) <= 0 || strncmp(buf, "max", 3) == 0) return -1;
    return strtoll(buf, NULL, 10);
}

bool cgroup_oom_killed(const char *path) { return keyed(path, "memory.events", "oom_kill") > 0; }

void cgroup_stats(struct jw *w, const char *path) {
    int64_t usec = keyed(path, "cpu.stat", "usage_usec");
    if (usec >= 0) jw_kint(w, "cpuUsageNs", usec * 1000);
    int64_t mem = number(path, "memory.current"), memmax = number(path, "memory.max");
    if (mem >= 0) jw_kint(w, "memoryBytes", mem);
    if (memmax >= 0) jw_kint(w, "memoryLimitBytes", memmax);
    int64_t pids = number(path, "pids.current"), pidsmax = number(path, "pids.max");
    if (pids >= 0) jw_kint(w, "pids", pids);
    if (pidsmax >= 0) jw_kint(w, "pidsLimit", pidsmax);
}
