/*
 * Process stdio: sources (stdout, stderr or a pty master, read by the agent) and sinks (stdin, written
 * from STDIN frames with a per-stream window acknowledged by WINDOW frames).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "util.h"

#define READ_SIZE (32 * 1024)
/* The host keeps at most STDIN_WINDOW bytes in flight per stream; a container's stdin has a stream per attach. */
#define SINK_CAP ((size_t)STDIN_WINDOW * (MAX_ATTACHES + 1))

static uint8_t readbuf[READ_SIZE];

static void deliver(struct source *s, const uint8_t *data, size_t n) {
    if (s->exec) exec_output(s->owner, s->frame, data, n);
    else container_output(s->owner, s->frame, data, n);
}

static void ended(struct source *s) {
    source_close(s);
    s->ended = true;
    if (s->exec) exec_source_ended(s->owner, s->frame);
}

/* One read; false when the source ended or has nothing now. */
static bool read_once(struct source *s) {
    ssize_t n = read(s->w.fd, readbuf, sizeof readbuf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return false;
    if (n <= 0) {
        /* 0: every writer closed; EIO: a pty whose other side is gone. */
        ended(s);
        return false;
    }
    deliver(s, readbuf, (size_t)n);
    return true;
}

static void on_source(struct watch *w, uint32_t events) {
    (void)events;
    struct source *s = w->ctx;
    if (s->exec && channel_congested()) {
        s->paused = true;
        loop_watch(&s->w, 0);
        return;
    }
    read_once(s);
}

void source_start(struct source *s, int fd, uint8_t frame, bool exec, void *owner) {
    memset(s, 0, sizeof *s);
    s->w.fd = fd;
    s->w.on_ready = on_source;
    s->w.ctx = s;
    s->frame = frame;
    s->exec = exec;
    s->owner = owner;
    set_nonblock(fd, true);
    loop_watch(&s->w, EPOLLIN);
}

/* At most this many reads when a process ends: a child it left behind that keeps writing to the same pipe
 * (`sh -c 'yes &'`) must not hold PID 1 in this loop; what it writes after that is not read. */
#define DRAIN_READS 64

void source_drain(struct source *s) {
    if (s->w.fd < 0 || s->ended) return;
    for (int i = 0; i < DRAIN_READS && s->w.fd >= 0 && read_once(s); i++) {
    }
    if (!s->ended) ended(s);
}

void source_close(struct source *s) {
    if (s->w.fd < 0) return;
    loop_unwatch(&s->w);
    close_fd(&s->w.fd);
}

/* Resumes exec output paused while the channel was congested. */
static void resume_sources(void) {
    for (struct exec *e = execs; e; e = e->next) {
        struct source *ss[] = {&e->out, &e->err};
        for (size_t i = 0; i < ARRAY_LEN(ss); i++) {
            if (!ss[i]->paused || ss[i]->w.fd < 0) continue;
            ss[i]->paused = false;
            loop_watch(&ss[i]->w, EPOLLIN);
        }
    }
}

void stdio_init(void) { channel_on_drain(resume_sources); }

static void ack(uint32_t stream, size_t n) {
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    if (stream) channel_send(FRAME_WINDOW, 0, stream, b, sizeof b);
}

static void drop_queue(struct sink *k, bool acknowledge) {
    while (k->head) {
        struct chunk *c = k->head;
        k->head = c->next;
        if (acknowledge) ack(c->stream, c->len - c->off);
        free(c);
    }
    k->tail = NULL;
    k->queued = 0;
}

static void flush_sink(struct sink *k) {
    while (k->head) {
        struct chunk *c = k->head;
        ssize_t n = write(k->w.fd, c->data + c->off, c->len - c->off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) {
            /* The process closed its stdin (EPIPE): what is queued will never be read. */
            drop_queue(k, true);
            sink_close(k);
            return;
        }
        c->off += (size_t)n;
        k->queued -= (size_t)n;
        ack(c->stream, (size_t)n);
        if (c->off < c->len) break;
        k->head = c->next;
        if (!k->head) k->tail = NULL;
        free(c);
    }
    if (!k->head && k->closing && !k->pty) {
        sink_close(k);
        return;
    }
    loop_watch(&k->w, k->head ? EPOLLOUT : 0);
}

static void on_sink(struct watch *w, uint32_t events) {
    struct sink *k = w->ctx;
    if (events & EPOLLERR) {
        drop_queue(k, true);
        sink_close(k);
        return;
    }
    flush_sink(k);
}

void sink_start(struct sink *k, int fd, bool pty) {
    memset(k, 0, sizeof *k);
    k->w.fd = fd;
    k->w.on_ready = on_sink;
    k->w.ctx = k;
    k->pty = pty;
    if (fd < 0) return;
    set_nonblock(fd, true);
    loop_watch(&k->w, 0);
}

bool sink_push(struct sink *k, uint32_t stream, const uint8_t *data, size_t len) {
    if (k->w.fd < 0 || k->closing) {
        ack(stream, len); /* nobody reads: keep the host's window open */
        return true;
    }
    if (k->queued + len > SINK_CAP) return false;
    if (len == 0) return true;
    struct chunk *c = malloc(sizeof *c + len);
    if (!c) return false;
    c->next = NULL;
    c->stream = stream;
    c->len = len;
    c->off = 0;
    memcpy(c->data, data, len);
    if (k->tail) k->tail->next = c;
    else k->head = c;
    k->tail = c;
    k->queued += len;
    flush_sink(k);
    return true;
}

void sink_end(struct sink *k) {
    if (k->w.fd < 0 || k->pty) return;
    k->closing = true;
    if (!k->head) sink_close(k);
}

void sink_close(struct sink *k) {
    drop_queue(k, false);
    if (k->w.fd < 0) return;
    loop_unwatch(&k->w);
    close_fd(&k->w.fd);
}
