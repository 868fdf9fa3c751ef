/* The guest agent's model: containers, exec processes, their stdio, and the modules' entry points. */
#ifndef NUBIS_GUEST_AGENT_H
#define NUBIS_GUEST_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "protocol.h"

struct jval;
struct jw;

/* ---- stdio (stdio.c) ---- */

/* An output fd of a process (pipe read end or pty master) that the agent reads. */
struct source {
    struct watch w;
    uint8_t frame; /* FRAME_STDOUT or FRAME_STDERR */
    bool exec;     /* exec output waits while the channel is congested; container output never waits */
    bool paused, ended;
    void *owner; /* struct container * or struct exec * */
};

/* Bytes from the host for a process's stdin, acknowledged to their stream once written. */
struct chunk {
    struct chunk *next;
    uint32_t stream;
    size_t len, off;
    uint8_t data[];
};

/* The stdin fd of a process (pipe write end, or a dup of the pty master). */
struct sink {
    struct watch w;
    struct chunk *head, *tail;
    size_t queued;
    bool pty, closing;
};

void source_start(struct source *s, int fd, uint8_t frame, bool exec, void *owner);
/* Reads what is buffered now (the process has exited), then closes. */
void source_drain(struct source *s);
void source_close(struct source *s);
void sink_start(struct sink *k, int fd, bool pty);
/* Queues stdin bytes from `stream`; false (nothing queued) when the stream overran its window. */
bool sink_push(struct sink *k, uint32_t stream, const uint8_t *data, size_t len);
/* Closes stdin once what is queued is written (a pipe only: a terminal stays open). */
void sink_end(struct sink *k);
void sink_close(struct sink *k);
void stdio_init(void);

/* ---- security of a process (identity.c) ---- */

enum cap_set { CAP_BOUNDING, CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE, CAP_AMBIENT, CAP_SETS };

struct procsec {
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    bool caps_given; /* false: keep every capability the agent has */
    uint64_t caps[CAP_SETS];
    bool no_new_privs;
};

/* Reads uid, gid, groups, capabilities and noNewPrivs of a request; fields left out keep `sec`'s. */
bool parse_procsec(const struct jval *req, struct procsec *sec, char *err, size_t errlen);
/* In a child: groups, gid, uid, capabilities, no_new_privs, in the order that keeps them possible. */
void apply_procsec(const struct procsec *sec, int sync_fd);
/* In a child: finds argv0 in PATH of env (the container's root is in place); child_fail when absent. */
const char *resolve_exe(const char *argv0, char *const *env, char *buf, size_t len, int sync_fd);

/* ---- containers (container.c, container-child.c, rootfs.c) ---- */

enum cstatus { C_CREATING, C_CREATED, C_STARTING, C_RUNNING, C_EXITED };

struct mount_spec {
    const char *source; /* bind: a path in the guest; tmpfs: unused */
    const char *destination;
    bool tmpfs, read_only;
};

/* A create request, parsed; strings point into the request's arena. */
struct create_spec {
    const char *id, *rootfs, *cwd, *log_path, *exit_path, *oom_path;
    char **argv, **env;
    struct procsec sec;
    bool tty, stdin_open, read_only, mask_kernel_paths;
    struct mount_spec mounts[MAX_MOUNTS];
    int nmounts;
    int64_t memory_bytes, cpu_millis, pids_limit; /* 0 = unlimited */
    int rows, cols;
};

struct container {
    struct container *next;
    char id[MAX_ID_LEN + 1];
    enum cstatus status;
    pid_t pid;
    int exit_code;
    bool oom_killed;
    int64_t created_ms, started_ms, finished_ms;
    bool tty, stdin_open;
    char *exit_path, *oom_path, *cwd;
    struct procsec sec;
    int log_fd;
    int pty;       /* master of a tty container, -1 otherwise */
    int start_fd;  /* the agent's end of the pipe the child waits on until start */
    struct watch sync;
    uint32_t pending_req; /* create or start waiting for the child */
    char sync_error[248];
    struct source out, err;
    struct sink in;
    char cgroup[512]; /* "" when cgroups are off */
    uint32_t attach[MAX_ATTACHES];
    bool attach_stdin[MAX_ATTACHES];
    int nattach;
};

extern struct container *containers;
struct container *container_find(const char *id);
struct container *container_by_pid(pid_t pid);
void container_create(uint32_t req, const struct create_spec *spec);
void container_start(uint32_t req, struct container *c);
void container_exited(struct container *c, int status);
void container_remove(struct container *c);
void container_json(struct jw *w, const struct container *c);
/* Writes a container's output to its log and to its attached streams. */
void container_output(struct container *c, uint8_t frame, const uint8_t *data, size_t len);
const char *status_name(enum cstatus s);

/* Runs in the cloned child: never returns. */
void container_child(const struct create_spec *spec, const char *cgroup, int sync_fd, int start_fd, int stdio[3],
                     int console) __attribute__((noreturn));
/* In the child: mounts, /dev, /proc, /sys, pivot_root into spec->rootfs. */
void setup_rootfs(const struct create_spec *spec, bool cgroup_ns, int sync_fd);
/* In a child whose root is a container's: a terminal from the container's devpts; sends the master. */
int open_console(int console_sock, int rows, int cols, int sync_fd);

/* ---- exec (exec.c) ---- */

struct exec {
    struct exec *next;
    uint32_t stream;
    char container[MAX_ID_LEN + 1];
    pid_t helper, pid;
    bool tty, stdin_open;
    bool ready;  /* replied to: the process runs and its stdio is relayed */
    bool exited; /* reaped, with `status` */
    bool orphan; /* its session ended: nothing more goes to the host */
    int status;
    int pty, console; /* console: our end of the socket the helper sends the terminal on */
    int stdio[3];     /* our ends of the pipes until the process runs */
    char error[248];
    struct watch sync;
    struct source out, err;
    struct sink in;
};

extern struct exec *execs;
void exec_request(uint32_t req, const struct jval *body);
struct exec *exec_by_stream(uint32_t stream);
/* A reaped pid; returns false when it is no exec's. */
bool exec_reaped(pid_t pid, int status);
void exec_output(struct exec *e, uint8_t frame, const uint8_t *data, size_t len);
void exec_source_ended(struct exec *e, uint8_t frame);
bool exec_resize(uint32_t stream, int rows, int cols);
void execs_session_end(void);

/* ---- cgroups (cgroup.c) ---- */

extern char cgroup_root[512];
void cgroup_init(void);
/* Makes the container's group with its limits; path "" when cgroups are off. */
int cgroup_create(const struct create_spec *spec, char *path, size_t len, char *err, size_t errlen);
void cgroup_remove(const char *path);
bool cgroup_oom_killed(const char *path);
void cgroup_stats(struct jw *w, const char *path);

/* ---- requests (requests.c, requests-*.c) ---- */

void reply(uint32_t req, const struct jw *w);
void reply_empty(uint32_t req);
void reply_error(uint32_t req, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void send_event(const struct jw *w);
/* Whether the agent runs as the guest's init (it then sets the clock, mounts and powers off). */
extern bool is_init;
/* Set the clock from the hello even when not init (--set-clock). */
extern bool set_clock;

/* boot.c: what differs between guests booted from one template */
void random_hex(char *out, size_t bytes);
const char *current_boot_id(void);
bool add_entropy(const char *hex, char *err, size_t errlen);
void mount_request(uint32_t req, const struct jval *body);
int64_t signal_number(const struct jval *req, char *err, size_t errlen);
bool parse_create(const struct jval *req, struct create_spec *spec, char *err, size_t errlen);
void free_create(struct create_spec *spec);
void network_request(uint32_t req, const struct jval *body);
void shutdown_request(uint32_t req, const struct jval *body);
/* Reaps every exited child and routes its status. */
void reap_children(void);

#endif
