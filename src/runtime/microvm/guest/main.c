/*
 * nubis-guest-agent: runs a pod's containers inside its micro-VM, as PID 1 of the guest (after the
 * init script loaded modules and mounted the shared directory), serving the host over one channel.
 *
 *   nubis-guest-agent --channel PATH [--cgroup-root DIR|""] [--set-clock] [--verbose]
 *
 * As PID 1 it also sets the clock from the host's hello and powers the VM off at shutdown; run
 * elsewhere (tests on the host) it exits instead, and SIGTERM or SIGINT kill its containers first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "json.h"
#include "protocol.h"
#include "util.h"

static struct watch signals = {.fd = -1};
static struct {
    bool active;
    uint32_t req;
} shutdown_state;

static void finish_shutdown(void) {
    if (shutdown_state.req) reply_empty(shutdown_state.req);
    channel_flush(1000);
    sync();
    if (is_init) {
        kill(-1, SIGKILL);
        reboot(RB_POWER_OFF);
        logf_("reboot(RB_POWER_OFF): %s", strerror(errno));
    }
    exit(0);
}

static bool any_alive(void) {
    for (struct container *c = containers; c; c = c->next)
        if (c->status == C_CREATED || c->status == C_RUNNING) return true;
    return false;
}

static void kill_remaining(void *unused) {
    (void)unused;
    for (struct container *c = containers; c; c = c->next)
        if (c->status == C_CREATED || c->status == C_RUNNING) kill(c->pid, SIGKILL);
}

static void start_shutdown(uint32_t req, int64_t timeout_ms) {
    shutdown_state.active = true;
    shutdown_state.req = req;
    for (struct container *c = containers; c; c = c->next) {
        if (c->status == C_RUNNING) kill(c->pid, timeout_ms > 0 ? SIGTERM : SIGKILL);
        if (c->status == C_CREATED) kill(c->pid, SIGKILL);
    }
    if (!any_alive()) finish_shutdown();
    loop_timer(timeout_ms, kill_remaining, NULL);
}

void shutdown_request(uint32_t req, const struct jval *b) {
    char err[256];
    int64_t timeout_ms = 10000;
    if (!jget_int(b, "timeoutMs", false, 0, 3600000, &timeout_ms, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    if (shutdown_state.active) {
        reply_error(req, "Conflict", "shutting down already");
        return;
    }
    start_shutdown(req, timeout_ms);
}

void reap_children(void) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        struct container *c = container_by_pid(pid);
        if (c) container_exited(c, status);
        else exec_reaped(pid, status);
    }
    if (shutdown_state.active && !any_alive()) finish_shutdown();
}

static void on_signal(struct watch *w, uint32_t events) {
    (void)events;
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD) continue;
        if (!is_init && !shutdown_state.active) {
            logf_("signal %u: killing the containers and exiting", si.ssi_signo);
            start_shutdown(0, 0);
        }
    }
    reap_children();
}

static void setup_signals(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signals.fd < 0) {
        logf_("signalfd: %s", strerror(errno));
        exit(1);
    }
    signals.on_ready = on_signal;
    loop_watch(&signals, EPOLLIN);
}

/* What an init must have before anything else works; each is skipped when already there. */
static void init_mounts(void) {
    static const struct { const char *src, *dir, *type, *check; unsigned long flags; const char *data; } m[] = {
        {"proc", "/proc", "proc", "/proc/self", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"sysfs", "/sys", "sysfs", "/sys/kernel", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
        {"devtmpfs", "/dev", "devtmpfs", "/dev/null", MS_NOSUID, "mode=0755"},
    };
    for (size_t i = 0; i < ARRAY_LEN(m); i++) {
        if (access(m[i].check, F_OK) == 0) continue;
        mkdir(m[i].dir, 0755);
        if (mount(m[i].src, m[i].dir, m[i].type, m[i].flags, m[i].data) != 0)
            logf_("mount %s: %s", m[i].dir, strerror(errno));
    }
}

/* Fds 0-2 must be open: otherwise a pipe could land there and be clobbered by a child's dup2. */
static void ensure_std_fds(void) {
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0) {
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
}

static void usage(void) {
    fprintf(stderr, "usage: nubis-guest-agent --channel PATH [--cgroup-root DIR] [--set-clock] [--verbose]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *channel = NULL;
    is_init = getpid() == 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc) channel = argv[++i];
        else if (strcmp(argv[i], "--cgroup-root") == 0 && i + 1 < argc)
            snprintf(cgroup_root, sizeof cgroup_root, "%s", argv[++i]);
        else if (strcmp(argv[i], "--set-clock") == 0) set_clock = true;
        else if (strcmp(argv[i], "--verbose") == 0) verbose = true;
        else usage();
    }
    if (!channel) usage();
    if (is_init) init_mounts();
    ensure_std_fds();
    umask(022);
    /* Orphans of exec helpers and containers come back to us to be reaped (PID 1 gets them anyway). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    loop_init();
    setup_signals();
    stdio_init();
    cgroup_init();
    channel_open(channel);
    /* The host making a template waits for this line on the console (vm-templates.ts). */
    logf_("%s on %s", AGENT_READY, channel);
    loop_run();
    return 0;
}
