/*
 * exec: another process in a running container. A helper forked by the agent joins the container's
 * cgroup, cgroup and mount namespaces and root, then its PID namespace (which only its children enter),
 * and clones the process with CLONE_PARENT so the agent is its parent and reaps its exit code. The
 * stream id of an exec is the id of its request: output comes as STDOUT/STDERR frames with that id,
 * then an "exec-exit" event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "json.h"
#include "util.h"

struct exec *execs;

/* Exits reaped before the helper told us whose they are; kept a few seconds. */
static struct {
    pid_t pid;
    int status;
    int64_t at;
} unclaimed[64];
static unsigned unclaimed_next;

struct exec_spec {
    char **argv, **env;
    const char *cwd;
    struct procsec sec;
    bool tty, stdin_open;
    int64_t rows, cols;
};

struct exec *exec_by_stream(uint32_t stream) {
    for (struct exec *e = execs; e; e = e->next)
        if (e->stream == stream) return e;
    return NULL;
}

static void destroy(struct exec *e) {
    for (struct exec **p = &execs; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    source_close(&e->out);
    source_close(&e->err);
    sink_close(&e->in);
    loop_unwatch(&e->sync);
    close_fd(&e->sync.fd);
    close_fd(&e->console);
    close_fd(&e->pty);
    for (int i = 0; i < 3; i++) close_fd(&e->stdio[i]);
    loop_timer(0, free, e);
}

static void maybe_finish(struct exec *e) {
    if (!e->ready || !e->exited) return;
    source_drain(&e->out);
    source_drain(&e->err);
    if (!e->orphan) {
        int code = WIFEXITED(e->status) ? WEXITSTATUS(e->status) : 128 + WTERMSIG(e->status);
        struct jw w;
        jw_init(&w);
        jw_obj(&w);
        jw_kstr(&w, "event", "exec-exit");
        jw_kint(&w, "stream", e->stream);
        jw_kstr(&w, "id", e->container);
        jw_kint(&w, "exitCode", code);
        jw_end_obj(&w);
        send_event(&w);
        jw_free(&w);
    }
    destroy(e);
}

void exec_output(struct exec *e, uint8_t frame, const uint8_t *data, size_t len) {
    if (!e->orphan) channel_send_stream(frame, 0, e->stream, data, len, false);
}

void exec_source_ended(struct exec *e, uint8_t frame) {
    if (!e->orphan) channel_send_stream(frame, FLAG_END, e->stream, NULL, 0, false);
}

bool exec_reaped(pid_t pid, int status) {
    for (struct exec *e = execs; e; e = e->next) {
        if (e->pid == pid && !e->exited) {
            e->exited = true;
            e->status = status;
            maybe_finish(e);
            return true;
        }
        if (e->helper == pid) return true;
    }
    unclaimed[unclaimed_next++ % ARRAY_LEN(unclaimed)] = (typeof(unclaimed[0])){pid, status, mono_ms()};
    return false;
}

static void claim(struct exec *e) {
    for (size_t i = 0; i < ARRAY_LEN(unclaimed); i++)
        if (unclaimed[i].pid == e->pid && mono_ms() - unclaimed[i].at < 10000) {
            unclaimed[i].pid = 0;
            e->exited = true;
            e->status = unclaimed[i].status;
        }
}

/* The process runs: reply with its pid and start relaying its stdio. */
static void ready(struct exec *e) {
    if (e->tty) {
        e->pty = recv_fd(e->console);
        if (e->pty < 0) {
            snprintf(e->error, sizeof e->error, "no terminal from the container");
            return;
        }
        source_start(&e->out, fcntl(e->pty, F_DUPFD_CLOEXEC, 3), FRAME_STDOUT, true, e);
        sink_start(&e->in, e->stdin_open ? fcntl(e->pty, F_DUPFD_CLOEXEC, 3) : -1, true);
    } else {
        source_start(&e->out, e->stdio[1], FRAME_STDOUT, true, e);
        source_start(&e->err, e->stdio[2], FRAME_STDERR, true, e);
        sink_start(&e->in, e->stdio[0], false);
        e->stdio[0] = e->stdio[1] = e->stdio[2] = -1;
    }
    close_fd(&e->console);
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "pid", e->pid);
    jw_end_obj(&w);
    if (!e->orphan) reply(e->stream, &w);
    jw_free(&w);
    e->ready = true;
    if (e->orphan) {
        /* The host left while the process started: it gets what a hang-up gives. */
        sink_close(&e->in);
        source_close(&e->out);
        source_close(&e->err);
        close_fd(&e->pty);
    }
}

static void on_sync(struct watch *w, uint32_t events) {
    (void)events;
    struct exec *e = w->ctx;
    for (;;) {
        struct sync_msg m;
        ssize_t n = read(e->sync.fd, &m, sizeof m);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n == (ssize_t)sizeof m && m.kind == SYNC_PID && e->pid == 0) {
            e->pid = m.value;
            claim(e);
            continue;
        }
        if (n == (ssize_t)sizeof m && m.kind == SYNC_ERROR) {
            m.text[sizeof m.text - 1] = 0;
            snprintf(e->error, sizeof e->error, "%s", m.text);
            continue;
        }
        break; /* end of file: the process exec'd its program, or failed */
    }
    loop_unwatch(&e->sync);
    close_fd(&e->sync.fd);
    if (!e->error[0] && e->pid > 0) ready(e);
    if (e->error[0] || e->pid <= 0) {
        if (!e->orphan)
            reply_error(e->stream, "Invalid", "cannot exec in container %s: %s", e->container,
                        e->error[0] ? e->error : "the exec helper died");
        if (e->pid > 0 && !e->exited) kill(e->pid, SIGKILL);
        destroy(e);
        return;
    }
    maybe_finish(e);
}

/* The helper: enters the container, then clones the process as the agent's child. Never returns. */
static void helper(const struct exec_spec *x, const char *cgroup, const int ns[3], int root, int sync_fd,
                   int console, const int stdio[3]) {
    int keep[] = {ns[0], ns[1], ns[2], root, sync_fd, console, stdio[0], stdio[1], stdio[2]};
    int nkeep = 0;
    for (size_t i = 0; i < ARRAY_LEN(keep); i++)
        if (keep[i] >= 0) keep[nkeep++] = keep[i];
    close_all_but(keep, nkeep);
    reset_signals();
    char procs[PATH_MAX];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroup);
    if (cgroup[0] && write_file(procs, "0") != 0) child_fail(sync_fd, "join cgroup %s", cgroup);
    if (setns(ns[0], CLONE_NEWCGROUP) != 0) child_fail(sync_fd, "enter the cgroup namespace");
    if (setns(ns[1], CLONE_NEWNS) != 0) child_fail(sync_fd, "enter the mount namespace");
    if (fchdir(root) != 0 || chroot(".") != 0) child_fail(sync_fd, "enter the root");
    if (setns(ns[2], CLONE_NEWPID) != 0) child_fail(sync_fd, "enter the PID namespace");
    int fds[3] = {stdio[0], stdio[1], stdio[2]};
    if (x->tty) {
        int slave = open_console(console, (int)x->rows, (int)x->cols, sync_fd);
        if (fchown(slave, x->sec.uid, (gid_t)-1) != 0) child_fail(sync_fd, "chown the terminal");
        fds[0] = fds[1] = fds[2] = slave;
    }
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) child_fail(sync_fd, "clone");
    if (pid > 0) {
        sync_send(sync_fd, SYNC_PID, pid, NULL);
        _exit(0);
    }
    if (setsid() < 0) child_fail(sync_fd, "setsid");
    if (x->tty && ioctl(fds[0], TIOCSCTTY, 0) != 0) child_fail(sync_fd, "set the controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0) child_fail(sync_fd, "dup2");
    if (chdir(x->cwd) != 0) child_fail(sync_fd, "chdir %s", x->cwd);
    char exe[PATH_MAX];
    const char *path = resolve_exe(x->argv[0], x->env, exe, sizeof exe, sync_fd);
    umask(022);
    apply_procsec(&x->sec, sync_fd);
    execve(path, x->argv, x->env);
    child_fail(sync_fd, "exec %s", x->argv[0]);
}

static bool parse_exec(const struct jval *b, const struct container *c, struct exec_spec *x, char *err, size_t len) {
    memset(x, 0, sizeof *x);
    x->cwd = c->cwd;
    x->sec = c->sec;
    x->rows = 24;
    x->cols = 80;
    if (!jget_strv(b, "argv", true, MAX_ARGS, &x->argv, NULL, err, len) ||
        !jget_strv(b, "env", false, MAX_ENV, &x->env, NULL, err, len) ||
        !jget_str(b, "cwd", false, &x->cwd, err, len) || !parse_procsec(b, &x->sec, err, len) ||
        !jget_bool(b, "tty", &x->tty, err, len) || !jget_bool(b, "stdin", &x->stdin_open, err, len) ||
        !jget_int(b, "rows", false, 1, 65535, &x->rows, err, len) ||
        !jget_int(b, "cols", false, 1, 65535, &x->cols, err, len))
        return false;
    if (!x->argv[0]) return snprintf(err, len, "\"argv\" must not be empty"), false;
    if (!valid_abs_path(x->cwd)) return snprintf(err, len, "\"cwd\" must be an absolute path"), false;
    if (!x->env && !(x->env = calloc(1, sizeof(char *)))) abort();
    return true;
}

/* Opens what the helper needs of the container: its namespaces and root, from /proc/<pid>. */
static bool open_container(const struct container *c, int ns[3], int *root) {
    static const char *names[] = {"cgroup", "mnt", "pid"};
    char path[64];
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/proc/%d/ns/%s", c->pid, names[i]);
        if ((ns[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) return false;
    }
    snprintf(path, sizeof path, "/proc/%d/root", c->pid);
    return (*root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) >= 0;
}

void exec_request(uint32_t req, const struct jval *body) {
    char err[256];
    const char *id = NULL;
    struct exec_spec x = {0};
    struct container *c = NULL;
    if (!jget_str(body, "id", true, &id, err, sizeof err)) goto invalid;
    if (!(c = container_find(id))) {
        reply_error(req, "NotFound", "no container %s", id);
        return;
    }
    if (c->status != C_RUNNING) {
        reply_error(req, "Conflict", "container %s is %s: exec needs it running", id, status_name(c->status));
        return;
    }
    if (exec_by_stream(req)) {
        reply_error(req, "AlreadyExists", "stream %u is in use", req);
        return;
    }
    if (!parse_exec(body, c, &x, err, sizeof err)) goto invalid;

    struct exec *e = calloc(1, sizeof *e);
    if (!e) abort();
    e->stream = req;
    snprintf(e->container, sizeof e->container, "%s", c->id);
    e->tty = x.tty;
    e->stdin_open = x.stdin_open;
    e->pty = e->console = e->sync.fd = e->out.w.fd = e->err.w.fd = e->in.w.fd = -1;
    int ns[3] = {-1, -1, -1}, root = -1, syncp[2] = {-1, -1}, console[2] = {-1, -1};
    int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    bool ok = open_container(c, ns, &root) && make_pipe(syncp) == 0;
    if (ok && x.tty) ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) == 0;
    if (ok && !x.tty) ok = make_pipe(in) == 0 && make_pipe(out) == 0 && make_pipe(errp) == 0;
    int child_stdio[3] = {in[0], out[1], errp[1]};
    pid_t pid = ok ? fork() : -1;
    if (pid == 0) helper(&x, c->cgroup, ns, root, syncp[1], console[1], child_stdio);
    int saved = errno;
    int theirs[] = {ns[0], ns[1], ns[2], root, syncp[1], console[1], in[0], out[1], errp[1]};
    for (size_t i = 0; i < ARRAY_LEN(theirs); i++) close_fd(&theirs[i]);
    e->sync.fd = syncp[0];
    e->console = console[0];
    e->stdio[0] = x.stdin_open ? in[1] : -1;
    e->stdio[1] = out[0];
    e->stdio[2] = errp[0];
    if (!x.stdin_open) close_fd(&in[1]); /* the process reads end of file */
    e->next = execs;
    execs = e;
    if (pid < 0) {
        reply_error(req, "Internal", "cannot exec in container %s: %s", id, strerror(saved));
        destroy(e);
    } else {
        e->helper = pid;
        e->sync.ctx = e;
        e->sync.on_ready = on_sync;
        set_nonblock(e->sync.fd, true);
        loop_watch(&e->sync, EPOLLIN);
    }
    free(x.argv);
    free(x.env);
    return;
invalid:
    reply_error(req, "Invalid", "%s", err);
    free(x.argv);
    free(x.env);
}

void execs_session_end(void) {
    for (struct exec *e = execs; e; e = e->next) {
        /* Nobody listens any more: end of file on stdin, closed output, a hang-up on a terminal. */
        e->orphan = true;
        sink_close(&e->in);
        source_close(&e->out);
        source_close(&e->err);
        close_fd(&e->pty);
    }
}

bool exec_resize(uint32_t stream, int rows, int cols) {
    struct exec *e = exec_by_stream(stream);
    if (!e || e->pty < 0) return false;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    return ioctl(e->pty, TIOCSWINSZ, &ws) == 0;
}
