/* The create request, read and checked before anything is made. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "json.h"
#include "util.h"

static bool bad(char *err, size_t len, const char *msg) {
    snprintf(err, len, "%s", msg);
    return false;
}

static bool parse_mounts(const struct jval *b, struct create_spec *s, char *err, size_t len) {
    const struct jval *ms = json_get(b, "mounts");
    if (!ms || ms->type == J_NULL) return true;
    if (ms->type != J_ARR || ms->count > MAX_MOUNTS) return bad(err, len, "\"mounts\" must be an array of at most 128 mounts");
    for (const struct jval *m = ms->first; m; m = m->next) {
        struct mount_spec *o = &s->mounts[s->nmounts++];
        const char *type = "bind";
        o->source = NULL;
        if (m->type != J_OBJ) return bad(err, len, "a mount must be an object");
        if (!jget_str(m, "type", false, &type, err, len) || !jget_str(m, "destination", true, &o->destination, err, len) ||
            !jget_str(m, "source", false, &o->source, err, len) || !jget_bool(m, "readOnly", &o->read_only, err, len))
            return false;
        if (strcmp(type, "tmpfs") == 0) o->tmpfs = true;
        else if (strcmp(type, "bind") != 0) return bad(err, len, "a mount's type is \"bind\" or \"tmpfs\"");
        if (!valid_abs_path(o->destination) || strcmp(o->destination, "/") == 0)
            return bad(err, len, "a mount's destination must be an absolute path below /");
        if (!o->tmpfs && (!o->source || !valid_abs_path(o->source)))
            return bad(err, len, "a bind mount's source must be an absolute path");
    }
    return true;
}

static bool parse_limits(const struct jval *b, struct create_spec *s, char *err, size_t len) {
    const struct jval *l = json_get(b, "limits");
    if (!l || l->type == J_NULL) return true;
    if (l->type != J_OBJ) return bad(err, len, "\"limits\" must be an object");
    return jget_int(l, "memoryBytes", false, 0, INT64_MAX / 2, &s->memory_bytes, err, len) &&
           jget_int(l, "cpuMillis", false, 0, 1 << 24, &s->cpu_millis, err, len) &&
           jget_int(l, "pids", false, 0, 1 << 30, &s->pids_limit, err, len);
}

bool parse_create(const struct jval *b, struct create_spec *s, char *err, size_t len) {
    memset(s, 0, sizeof *s);
    s->cwd = "/";
    s->mask_kernel_paths = true;
    int64_t rows = 24, cols = 80;
    if (!jget_str(b, "id", true, &s->id, err, len) || !jget_str(b, "rootfs", true, &s->rootfs, err, len) ||
        !jget_strv(b, "argv", true, MAX_ARGS, &s->argv, NULL, err, len) ||
        !jget_strv(b, "env", false, MAX_ENV, &s->env, NULL, err, len) || !jget_str(b, "cwd", false, &s->cwd, err, len) ||
        !parse_procsec(b, &s->sec, err, len) || !jget_bool(b, "tty", &s->tty, err, len) ||
        !jget_bool(b, "stdin", &s->stdin_open, err, len) || !jget_bool(b, "readOnly", &s->read_only, err, len) ||
        !jget_bool(b, "maskKernelPaths", &s->mask_kernel_paths, err, len) ||
        !jget_str(b, "logPath", true, &s->log_path, err, len) || !jget_str(b, "exitPath", true, &s->exit_path, err, len) ||
        !jget_str(b, "oomPath", false, &s->oom_path, err, len) ||
        !jget_int(b, "rows", false, 1, 65535, &rows, err, len) || !jget_int(b, "cols", false, 1, 65535, &cols, err, len) ||
        !parse_mounts(b, s, err, len) || !parse_limits(b, s, err, len))
        return false;
    s->rows = (int)rows;
    s->cols = (int)cols;
    if (!valid_id(s->id)) return bad(err, len, "\"id\" must be 1..64 of [A-Za-z0-9_.-]");
    if (!s->argv[0]) return bad(err, len, "\"argv\" must not be empty");
    const char *paths[][2] = {{"rootfs", s->rootfs}, {"cwd", s->cwd}, {"logPath", s->log_path},
                              {"exitPath", s->exit_path}, {"oomPath", s->oom_path}};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++)
        if (paths[i][1] && !valid_abs_path(paths[i][1])) {
            snprintf(err, len, "\"%s\" must be an absolute path without . or ..", paths[i][0]);
            return false;
        }
    if (!s->env && !(s->env = calloc(1, sizeof(char *)))) abort();
    return true;
}

void free_create(struct create_spec *s) {
    free(s->argv);
    free(s->env);
    s->argv = s->env = NULL;
}
