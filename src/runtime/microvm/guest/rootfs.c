/*
 * The container's root, built in the child's new mount namespace: every destination inside the root
 * is resolved with openat2(RESOLVE_IN_ROOT), so a symlink in an image cannot send a mount outside it,
 * and mounted through /proc/self/fd/N (as runc does). Then pivot_root into it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent.h"
#include "kernel.h"
#include "util.h"

static int sync_fd_;

/* Opens `path` (absolute or relative, taken inside the root) with every lookup kept inside root. */
static int open_in_root(int root, const char *path, int flags) {
    while (*path == '/') path++;
    if (*path == 0) path = ".";
    struct open_how_ how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT_ | RESOLVE_NO_MAGICLINKS_};
    return (int)syscall(SYS_openat2, root, path, &how, sizeof how);
}

/* mkdir -p inside the root; returns an O_PATH fd of the directory. */
static int mkdir_in_root(int root, const char *path) {
    char prefix[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof prefix) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open_in_root(root, path, O_PATH | O_DIRECTORY);
    if (fd >= 0 || errno != ENOENT) return fd;
    /* Walk down from the root creating what is missing. */
    for (size_t i = 1; i <= len; i++) {
        if (i < len && path[i] != '/') continue;
        memcpy(prefix, path, i);
        prefix[i] = 0;
        fd = open_in_root(root, prefix, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            close(fd);
            continue;
        }
        if (errno != ENOENT) return -1;
        char *slash = strrchr(prefix, '/');
        *slash = 0;
        int parent = open_in_root(root, prefix, O_PATH | O_DIRECTORY);
        if (parent < 0) return -1;
        int rc = mkdirat(parent, slash + 1, 0755);
        close(parent);
        if (rc != 0 && errno != EEXIST) return -1;
    }
    return open_in_root(root, path, O_PATH | O_DIRECTORY);
}

/* The destination of a mount, made when missing: a directory, or an empty file to bind a file on. */
static int make_dest(int root, const char *path, bool dir) {
    if (dir) return mkdir_in_root(root, path);
    int fd = open_in_root(root, path, O_PATH);
    if (fd >= 0 || errno != ENOENT) return fd;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash) return -1;
    *slash = 0;
    int pfd = mkdir_in_root(root, parent[0] ? parent : "/");
    if (pfd < 0) return -1;
    int f = openat(pfd, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    close(pfd);
    if (f < 0 && errno != EEXIST) return -1;
    if (f >= 0) close(f);
    return open_in_root(root, path, O_PATH);
}

static void fd_path(char *buf, size_t len, int fd) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

/* Mounts onto `dest` inside the root, making it when missing. */
static void mount_at(int root, const char *dest, bool dir, const char *source, const char *fstype,
                     unsigned long flags, const char *data) {
    int fd = make_dest(root, dest, dir);
    if (fd < 0) child_fail(sync_fd_, "mount destination %s", dest);
    char target[64];
    fd_path(target, sizeof target, fd);
    if (mount(source, target, fstype, flags, data) != 0) child_fail(sync_fd_, "mount %s on %s", fstype ? fstype : source, dest);
    close(fd);
}

/* Makes an existing mount at `dest` (inside the root) read-only. */
static void remount_ro(int root, const char *dest) {
    int fd = open_in_root(root, dest, O_PATH); /* after the mount: the new mount's root */
    if (fd < 0) child_fail(sync_fd_, "reopen %s", dest);
    char target[64];
    fd_path(target, sizeof target, fd);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        child_fail(sync_fd_, "remount %s read-only", dest);
    close(fd);
}

static void make_dev(int root) {
    mount_at(root, "/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    int dev = open_in_root(root, "/dev", O_PATH | O_DIRECTORY);
    if (dev < 0) child_fail(sync_fd_, "open /dev");
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    for (size_t i = 0; i < ARRAY_LEN(nodes); i++)
        if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0)
            child_fail(sync_fd_, "mknod /dev/%s", nodes[i].name);
    static const char *links[][2] = {
        {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
    };
    for (size_t i = 0; i < ARRAY_LEN(links); i++)
        if (symlinkat(links[i][0], dev, links[i][1]) != 0) child_fail(sync_fd_, "symlink /dev/%s", links[i][1]);
    close(dev);
    mount_at(root, "/dev/pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_at(root, "/dev/shm", true, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    mount_at(root, "/dev/mqueue", true, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void user_mounts(int root, const struct create_spec *s) {
    for (int i = 0; i < s->nmounts; i++) {
        const struct mount_spec *m = &s->mounts[i];
        if (m->tmpfs) {
            unsigned long fl = MS_NOSUID | MS_NODEV | (m->read_only ? MS_RDONLY : 0);
            mount_at(root, m->destination, true, "tmpfs", "tmpfs", fl, "mode=1777");
            continue;
        }
        struct stat st;
        if (stat(m->source, &st) != 0) child_fail(sync_fd_, "bind source %s", m->source);
        mount_at(root, m->destination, S_ISDIR(st.st_mode), m->source, NULL, MS_BIND | MS_REC, NULL);
        if (m->read_only) remount_ro(root, m->destination);
    }
}

/* Kernel files a container has no business with (the list runc and containerd use). */
static void mask_kernel_paths(void) {
    static const char *masked[] = {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                   "/sys/firmware"};
    static const char *read_only[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
    for (size_t i = 0; i < ARRAY_LEN(masked); i++) {
        struct stat st;
        if (stat(masked[i], &st) != 0) continue;
        int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0")
                                     : mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
        if (rc != 0) child_fail(sync_fd_, "mask %s", masked[i]);
    }
    for (size_t i = 0; i < ARRAY_LEN(read_only); i++) {
        if (access(read_only[i], F_OK) != 0) continue;
        if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) != 0 ||
            mount(NULL, read_only[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
            child_fail(sync_fd_, "make %s read-only", read_only[i]);
    }
}

static void enter_root(int root) {
    if (fchdir(root) != 0) child_fail(sync_fd_, "chdir to the root");
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        /* The old root is now stacked on the new one: detach it. */
        if (umount2(".", MNT_DETACH) != 0) child_fail(sync_fd_, "detach the old root");
    } else if (errno == EINVAL) {
        /* The agent's root is the initramfs (rootfs cannot be pivoted away): move the root over "/". */
        if (mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0) child_fail(sync_fd_, "move to the root");
    } else {
        child_fail(sync_fd_, "pivot_root");
    }
    if (chdir("/") != 0) child_fail(sync_fd_, "chdir /");
}

void setup_rootfs(const struct create_spec *s, bool cgroup_ns, int sync_fd) {
    sync_fd_ = sync_fd;
    /* Nothing mounted here propagates back to the guest. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) child_fail(sync_fd, "make mounts private");
    if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0) child_fail(sync_fd, "bind %s", s->rootfs);
    int root = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) child_fail(sync_fd, "open %s", s->rootfs);
    mount_at(root, "/proc", true, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(root);
    mount_at(root, "/sys", true, "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    if (cgroup_ns)
        mount_at(root, "/sys/fs/cgroup", true, "cgroup2", "cgroup2", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    user_mounts(root, s);
    int cwd = mkdir_in_root(root, s->cwd);
    if (cwd < 0) child_fail(sync_fd, "working directory %s", s->cwd);
    close(cwd);
    enter_root(root);
    close(root);
    if (s->read_only && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        child_fail(sync_fd, "make the root read-only");
    if (s->mask_kernel_paths) mask_kernel_paths();
}
