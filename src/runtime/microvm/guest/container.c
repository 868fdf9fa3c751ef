/*
 * Containers as the agent sees them: create (clone a child into new mount and PID namespaces that sets
 * up the root and waits), start (release it), exit (drain output, exit file, event), remove.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "json.h"
#include "util.h"

struct container *containers;

struct container *container_find(const char *id) {
    for (struct container *c = containers; c; c = c->next)
        if (strcmp(c->id, id) == 0) return c;
    return NULL;
}

struct container *container_by_pid(pid_t pid) {
    for (struct container *c = containers; c; c = c->next)
        if (c->pid == pid && c->status != C_EXITED) return c;
    return NULL;
}

const char *status_name(enum cstatus s) {
    switch (s) {
    case C_CREATING: return "creating";
    case C_CREATED: return "created";
    case C_RUNNING: return "running";
    default: return "exited";
    }
}

static void free_container(void *p) {
    struct container *c = p;
    free(c->exit_path);
    free(c->oom_path);
    free(c->cwd);
    free(c);
}

/* Unlinks c and releases everything it holds; its memory goes after the current loop batch. */
static void destroy(struct container *c) {
    for (struct container **p = &containers; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    source_close(&c->out);
    source_close(&c->err);
    sink_close(&c->in);
    loop_unwatch(&c->sync);
    close_fd(&c->sync.fd);
    close_fd(&c->start_fd);
    close_fd(&c->pty);
    close_fd(&c->log_fd);
    if (c->cgroup[0]) cgroup_remove(c->cgroup);
    c->status = C_EXITED;
    loop_timer(0, free_container, c);
}

void container_json(struct jw *w, const struct container *c) {
    jw_obj(w);
    jw_kstr(w, "id", c->id);
    jw_kstr(w, "status", status_name(c->status));
    if (c->status != C_EXITED) jw_kint(w, "pid", c->pid);
    if (c->status == C_EXITED) jw_kint(w, "exitCode", c->exit_code);
    jw_kint(w, "createdAtMs", c->created_ms);
    if (c->started_ms) jw_kint(w, "startedAtMs", c->started_ms);
    if (c->finished_ms) jw_kint(w, "finishedAtMs", c->finished_ms);
    jw_kbool(w, "oomKilled", c->oom_killed);
    jw_kbool(w, "tty", c->tty);
    jw_end_obj(w);
}

/* The create reply, once the child is waiting for start. */
static void created(struct container *c) {
    if (c->tty) {
        c->pty = recv_fd(c->out.w.fd);
        close_fd(&c->out.w.fd); /* the console socket's end */
        if (c->pty < 0) {
            reply_error(c->pending_req, "Internal", "container %s: no terminal from the container", c->id);
            kill(c->pid, SIGKILL);
            destroy(c);
            return;
        }
        source_start(&c->out, fcntl(c->pty, F_DUPFD_CLOEXEC, 3), FRAME_STDOUT, false, c);
        sink_start(&c->in, c->stdin_open ? fcntl(c->pty, F_DUPFD_CLOEXEC, 3) : -1, true);
    }
    c->status = C_CREATED;
    loop_watch(&c->sync, 0); /* quiet until start */
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "pid", c->pid);
    jw_end_obj(&w);
    reply(c->pending_req, &w);
    jw_free(&w);
    c->pending_req = 0;
}

/*
 * Reads what the child said: READY (set up, waiting for start), ERROR (with a message), or end of file
 * (it exec'd the program, or died). Returns false when the container was destroyed.
 */
static bool read_sync(struct container *c) {
    for (;;) {
        struct sync_msg m;
        ssize_t n = read(c->sync.fd, &m, sizeof m);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        if (n == (ssize_t)sizeof m && m.kind == SYNC_READY && c->status == C_CREATING) {
            created(c);
            return c->status == C_CREATED;
        }
        if (n == (ssize_t)sizeof m && m.kind == SYNC_ERROR) {
            m.text[sizeof m.text - 1] = 0;
            snprintf(c->sync_error, sizeof c->sync_error, "%s", m.text);
            continue;
        }
        /* End of file (or a torn message: the child is gone either way). */
        loop_unwatch(&c->sync);
        close_fd(&c->sync.fd);
        if (c->status == C_CREATING) {
            reply_error(c->pending_req, "Invalid", "cannot create container %s: %s", c->id,
                        c->sync_error[0] ? c->sync_error : "its setup process died");
            kill(c->pid, SIGKILL);
            destroy(c);
            return false;
        }
        if (c->pending_req) {
            if (c->sync_error[0]) reply_error(c->pending_req, "Invalid", "cannot start container %s: %s", c->id, c->sync_error);
            else reply_empty(c->pending_req);
            c->pending_req = 0;
        }
        return true;
    }
}

static void on_sync(struct watch *w, uint32_t events) {
    (void)events;
    read_sync(w->ctx);
}

static int clone_child(const struct create_spec *s, const char *cgroup, int sync_w, int start_r, int stdio[3],
                       int console) {
    /* Like fork (no new stack: the child continues here), but into new mount and PID namespaces. */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid == 0) container_child(s, cgroup, sync_w, start_r, stdio, console);
    return pid;
}

void container_create(uint32_t req, const struct create_spec *s) {
    if (container_find(s->id)) {
        reply_error(req, "AlreadyExists", "container %s exists", s->id);
        return;
    }
    struct container *c = calloc(1, sizeof *c);
    if (!c) abort();
    snprintf(c->id, sizeof c->id, "%s", s->id);
    c->tty = s->tty;
    c->stdin_open = s->stdin_open;
    c->sec = s->sec;
    c->exit_path = strdup(s->exit_path);
    c->oom_path = s->oom_path ? strdup(s->oom_path) : NULL;
    c->cwd = strdup(s->cwd);
    c->pty = c->start_fd = c->sync.fd = c->out.w.fd = c->err.w.fd = c->in.w.fd = -1;
    c->created_ms = now_ms();
    c->log_fd = open(s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    char err[256];
    if (c->log_fd < 0) {
        reply_error(req, "Invalid", "cannot open log %s: %s", s->log_path, strerror(errno));
        free_container(c);
        return;
    }
    if (cgroup_create(s, c->cgroup, sizeof c->cgroup, err, sizeof err) != 0) {
        reply_error(req, "Internal", "container %s: %s", s->id, err);
        close(c->log_fd);
        free_container(c);
        return;
    }
    int syncp[2] = {-1, -1}, startp[2] = {-1, -1}, in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    int console[2] = {-1, -1};
    bool ok = make_pipe(syncp) == 0 && make_pipe(startp) == 0;
    if (ok && s->tty) ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) == 0;
    if (ok && !s->tty) ok = make_pipe(in) == 0 && make_pipe(out) == 0 && make_pipe(errp) == 0;
    int stdio[3] = {in[0], out[1], errp[1]};
    pid_t pid = ok ? clone_child(s, c->cgroup, syncp[1], startp[0], stdio, console[1]) : -1;
    int saved = errno;
    int child_ends[] = {syncp[1], startp[0], in[0], out[1], errp[1], console[1]};
    for (size_t i = 0; i < ARRAY_LEN(child_ends); i++) close_fd(&child_ends[i]);
    if (pid < 0) {
        int mine[] = {syncp[0], startp[1], in[1], out[0], errp[0], console[0]};
        for (size_t i = 0; i < ARRAY_LEN(mine); i++) close_fd(&mine[i]);
        reply_error(req, "Internal", "cannot create container %s: %s", s->id, strerror(saved));
        close(c->log_fd);
        if (c->cgroup[0]) cgroup_remove(c->cgroup);
        free_container(c);
        return;
    }
    c->pid = pid;
    c->status = C_CREATING;
    c->pending_req = req;
    c->start_fd = startp[1];
    c->sync.fd = syncp[0];
    c->sync.ctx = c;
    c->sync.on_ready = on_sync;
    set_nonblock(c->sync.fd, true);
    loop_watch(&c->sync, EPOLLIN);
    if (s->tty) {
        /* Until the child sends the terminal, out.w.fd holds our end of the console socket. */
        c->out.w.fd = console[0];
    } else {
        source_start(&c->out, out[0], FRAME_STDOUT, false, c);
        source_start(&c->err, errp[0], FRAME_STDERR, false, c);
        if (s->stdin_open) sink_start(&c->in, in[1], false);
        else close(in[1]); /* the process reads end of file */
    }
    c->next = containers;
    containers = c;
}

void container_start(uint32_t req, struct container *c) {
    if (c->status != C_CREATED) {
        reply_error(req, "Conflict", "container %s is %s", c->id, status_name(c->status));
        return;
    }
    if (write(c->start_fd, "s", 1) != 1) {
        reply_error(req, "Internal", "cannot start container %s: %s", c->id, strerror(errno));
        return;
    }
    close_fd(&c->start_fd);
    c->status = C_RUNNING;
    c->started_ms = now_ms();
    c->pending_req = req;
    loop_watch(&c->sync, EPOLLIN);
}

static void write_exit_files(struct container *c) {
    if (c->oom_killed && c->oom_path && write_file_atomic(c->oom_path, "") != 0)
        logf_("container %s: cannot write %s: %s", c->id, c->oom_path, strerror(errno));
    char code[16];
    snprintf(code, sizeof code, "%d", c->exit_code);
    if (write_file_atomic(c->exit_path, code) != 0)
        logf_("container %s: cannot write %s: %s", c->id, c->exit_path, strerror(errno));
}

void container_exited(struct container *c, int status) {
    /* The child's last words are in the pipe by now: settle a pending create or start first. */
    if (c->sync.fd >= 0 && !read_sync(c)) return;
    if (c->status == C_CREATING) {
        /* Died before saying anything readable: read_sync saw the end of file and destroyed it. */
        return;
    }
    c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    c->finished_ms = now_ms();
    /* Init of its PID namespace is reaped only after every other process in it: the output is complete. */
    source_drain(&c->out);
    source_drain(&c->err);
    sink_close(&c->in);
    close_fd(&c->pty);
    close_fd(&c->start_fd);
    close_fd(&c->log_fd);
    if (c->cgroup[0]) c->oom_killed = cgroup_oom_killed(c->cgroup);
    c->status = C_EXITED;
    write_exit_files(c);
    for (int i = 0; i < c->nattach; i++) {
        channel_send_stream(FRAME_STDOUT, FLAG_END, c->attach[i], NULL, 0, false);
        if (!c->tty) channel_send_stream(FRAME_STDERR, FLAG_END, c->attach[i], NULL, 0, false);
    }
    c->nattach = 0;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "event", "exit");
    jw_kstr(&w, "id", c->id);
    jw_kint(&w, "exitCode", c->exit_code);
    jw_kbool(&w, "oomKilled", c->oom_killed);
    jw_kint(&w, "finishedAtMs", c->finished_ms);
    jw_end_obj(&w);
    send_event(&w);
    jw_free(&w);
    debugf("container %s exited with %d", c->id, c->exit_code);
}

void container_remove(struct container *c) {
    if (c->status == C_CREATED || c->status == C_CREATING) kill(c->pid, SIGKILL);
    destroy(c);
}
