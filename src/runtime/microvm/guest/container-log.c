/*
 * A container's output: the k8s-file log that conmon writes and src/runtime/oci/logs.ts reads, one
 * entry per line, "<RFC 3339 time with ns> <stdout|stderr> <F|P> <text>\n". As conmon does, what one
 * read returned is written at once: a line without its newline yet is written as a partial (P) entry
 * and continues in the next one. Live output also goes to every attached stream.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "agent.h"
#include "channel.h"
#include "util.h"

#define MAX_IOV 48 /* three per entry */

static void write_log(struct container *c, const char *stream, const uint8_t *data, size_t len) {
    char ts[40];
    format_log_time(ts, sizeof ts);
    char full[64], partial[64];
    snprintf(full, sizeof full, "%s %s F ", ts, stream);
    snprintf(partial, sizeof partial, "%s %s P ", ts, stream);
    struct iovec iov[MAX_IOV];
    int n = 0;
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        const char *prefix = nl ? full : partial;
        /*
         * A terminal ends lines with CR LF: the CR is dropped (unlike conmon), because logs.ts reads an
         * entry as one line of text and a CR in it makes the entry unreadable.
         */
        size_t text_end = nl && end > pos && data[end - 1] == '\r' ? end - 1 : end;
        iov[n++] = (struct iovec){.iov_base = (void *)prefix, .iov_len = strlen(prefix)};
        iov[n++] = (struct iovec){.iov_base = (void *)(data + pos), .iov_len = text_end - pos};
        iov[n++] = (struct iovec){.iov_base = "\n", .iov_len = 1};
        pos = nl ? end + 1 : end;
        if (n == MAX_IOV || pos >= len) {
            /* Regular files take a writev whole unless the disk is full: then the entry is lost. */
            if (writev(c->log_fd, iov, n) < 0 && errno != EINTR)
                debugf("container %s: log write: %s", c->id, strerror(errno));
            n = 0;
        }
    }
}

void container_output(struct container *c, uint8_t frame, const uint8_t *data, size_t len) {
    if (c->log_fd >= 0) write_log(c, frame == FRAME_STDERR ? "stderr" : "stdout", data, len);
    for (int i = 0; i < c->nattach; i++) channel_send_stream(frame, 0, c->attach[i], data, len, true);
}
