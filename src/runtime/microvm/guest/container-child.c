/*
 * The container's first process, from clone to exec: it is init of a new PID namespace in a new mount
 * namespace. It joins its cgroup (and a cgroup namespace rooted there), builds its root, reports READY,
 * waits for start, becomes its user and execs the program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"

int open_console(int console_sock, int rows, int cols, int sync_fd) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) child_fail(sync_fd, "open /dev/ptmx");
    int unlock = 0, n;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0 || ioctl(master, TIOCGPTN, &n) != 0)
        child_fail(sync_fd, "set up the terminal");
    char name[64];
    snprintf(name, sizeof name, "/dev/pts/%d", n);
    int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) child_fail(sync_fd, "open %s", name);
    struct winsize ws = {.ws_row = (unsigned short)(rows > 0 ? rows : 24), .ws_col = (unsigned short)(cols > 0 ? cols : 80)};
    ioctl(slave, TIOCSWINSZ, &ws);
    if (send_fd(console_sock, master) != 0) child_fail(sync_fd, "send the terminal to the agent");
    close(master);
    return slave;
}

/* Makes `fd` the process's stdin, stdout and stderr (a terminal also becomes the controlling one). */
static void use_stdio(const int fds[3], bool tty, int sync_fd) {
    if (tty && ioctl(fds[0], TIOCSCTTY, 0) != 0) child_fail(sync_fd, "set the controlling terminal");
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0) child_fail(sync_fd, "dup2");
    for (int i = 0; i < 3; i++)
        if (fds[i] > 2 && (i == 0 || fds[i] != fds[i - 1])) close(fds[i]);
}

static void join_cgroup(const char *cgroup, int sync_fd) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", cgroup);
    if (write_file(path, "0") != 0) child_fail(sync_fd, "join cgroup %s", cgroup);
    /* The container sees its own group as the root of /sys/fs/cgroup. */
    if (unshare(CLONE_NEWCGROUP) != 0) child_fail(sync_fd, "new cgroup namespace");
}

void container_child(const struct create_spec *s, const char *cgroup, int sync_fd, int start_fd, int stdio[3],
                     int console) {
    int keep[] = {sync_fd, start_fd, stdio[0], stdio[1], stdio[2], console};
    int nkeep = 0;
    for (size_t i = 0; i < ARRAY_LEN(keep); i++)
        if (keep[i] >= 0) keep[nkeep++] = keep[i];
    close_all_but(keep, nkeep);
    reset_signals();
    umask(0);
    if (setsid() < 0) child_fail(sync_fd, "setsid");
    if (!s->tty) use_stdio(stdio, false, sync_fd);

    if (cgroup[0]) join_cgroup(cgroup, sync_fd);
    setup_rootfs(s, cgroup[0] != 0, sync_fd);
    if (s->tty) {
        int slave = open_console(console, s->rows, s->cols, sync_fd);
        if (fchown(slave, s->sec.uid, (gid_t)-1) != 0) child_fail(sync_fd, "chown the terminal");
        close(console);
        int fds[3] = {slave, slave, slave};
        use_stdio(fds, true, sync_fd);
    }
    char exe[PATH_MAX];
    const char *path = resolve_exe(s->argv[0], s->env, exe, sizeof exe, sync_fd);
    if (chdir(s->cwd) != 0) child_fail(sync_fd, "chdir %s", s->cwd);
    umask(022);
    sync_send(sync_fd, SYNC_READY, 0, NULL);

    char go;
    ssize_t n;
    do n = read(start_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(0); /* the agent removed the container before starting it */
    close(start_fd);

    apply_procsec(&s->sec, sync_fd);
    execve(path, s->argv, s->env);
    child_fail(sync_fd, "exec %s", s->argv[0]);
}
