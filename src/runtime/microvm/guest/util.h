/* Small helpers shared by every part of the guest agent. */
#ifndef NUBIS_GUEST_UTIL_H
#define NUBIS_GUEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

extern bool verbose;

/* Writes one line to stderr (the guest's console): "nubis-guest-agent: ...". */
void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debugf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall clock in milliseconds since the epoch. */
int64_t now_ms(void);
/* Monotonic clock in milliseconds. */
int64_t mono_ms(void);
/* RFC 3339 UTC time with nanoseconds, as conmon's k8s-file log writes it; buf >= 32 bytes. */
void format_log_time(char *buf, size_t len);

/* write(2) until everything is written or a real error; for blocking fds. */
int write_all(int fd, const void *buf, size_t len);
/* Writes a whole file atomically (temp file + rename), as conmon writes its exit file. */
int write_file_atomic(const char *path, const char *text);
/* Writes a short string to a file that exists (cgroup and proc files). */
int write_file(const char *path, const char *text);
/* Reads up to len-1 bytes of a file into buf, NUL-terminated; -1 on error. */
ssize_t read_file(const char *path, char *buf, size_t len);

int set_nonblock(int fd, bool on);
/* pipe2 with O_CLOEXEC; returns -1 with errno on failure. */
int make_pipe(int fds[2]);
void close_fd(int *fd);
/* Closes every fd >= 3 except those listed (in a child before exec). */
void close_all_but(const int *keep, int n);
/* Puts back the default signal mask and dispositions (a child inherits the agent's). */
void reset_signals(void);

/* An absolute path without "." or ".." components, NUL-free, shorter than PATH_MAX. */
bool valid_abs_path(const char *p);
/* A container id: 1..64 of [A-Za-z0-9_.-], not starting with '.'. */
bool valid_id(const char *s);

/*
 * Messages from a child (container or exec setup) to the agent over a CLOEXEC pipe. One message is one
 * write of at most PIPE_BUF bytes, so it arrives whole. End of file after SYNC_READY/SYNC_PID means the
 * process exec'd its program.
 */
enum sync_kind { SYNC_READY = 1, SYNC_PID = 2, SYNC_ERROR = 3 };
struct sync_msg {
    int32_t kind;
    int32_t value; /* SYNC_PID: the pid; SYNC_ERROR: errno */
    char text[248];
};
void sync_send(int fd, enum sync_kind kind, int value, const char *text);
/* In a child: reports "what: strerror(errno)" and exits 127. */
void child_fail(int sync_fd, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* Passes one fd over a unix socket (SCM_RIGHTS); receive returns -1 when none came. */
int send_fd(int sock, int fd);
int recv_fd(int sock);

#endif
