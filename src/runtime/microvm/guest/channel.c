#define _GNU_SOURCE
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "json.h"
#include "loop.h"
#include "protocol.h"
#include "util.h"

/* How often a disconnected agent looks for its host: a guest resumed from a template waits this long at most. */
#define RETRY_MS 20
/* Stream data is refused above HIGH_WATER; paused readers resume below LOW_WATER. */
#define HIGH_WATER (512 * 1024)
#define LOW_WATER (128 * 1024)
/* A host that reads nothing while this much is queued is treated as gone. */
#define HARD_CAP (16 * 1024 * 1024)

static struct {
    char path[4096];
    bool is_socket;
    struct watch w;
    bool connected, session;
    uint8_t *in;
    size_t in_len;
    size_t skip; /* payload bytes of an oversized frame still to discard */
    bool resyncing;
    uint8_t *out;
    size_t out_head, out_len, out_cap;
    bool was_congested;
    void (*on_drain)(void);
} ch = {.w = {.fd = -1}};

static void try_connect(void *unused);

static size_t pending(void) { return ch.out_len - ch.out_head; }

static void disconnect(const char *why) {
    debugf("channel: host gone (%s)", why);
    loop_unwatch(&ch.w);
    close_fd(&ch.w.fd);
    bool had_session = ch.session;
    ch.connected = ch.session = false;
    ch.in_len = ch.skip = 0;
    ch.resyncing = false;
    ch.out_head = ch.out_len = 0;
    if (had_session) dispatch_session_end();
    if (ch.was_congested && ch.on_drain) {
        ch.was_congested = false;
        ch.on_drain();
    }
    loop_timer(RETRY_MS, try_connect, NULL);
}

static void update_interest(void) {
    if (!ch.connected) return;
    loop_watch(&ch.w, EPOLLIN | (pending() > 0 ? EPOLLOUT : 0));
}

static void flush_some(void) {
    while (pending() > 0) {
        ssize_t n = write(ch.w.fd, ch.out + ch.out_head, pending());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            disconnect(strerror(errno));
            return;
        }
        ch.out_head += (size_t)n;
    }
    if (pending() == 0) ch.out_head = ch.out_len = 0;
    if (ch.was_congested && pending() < LOW_WATER) {
        ch.was_congested = false;
        if (ch.on_drain) ch.on_drain();
    }
    update_interest();
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool enqueue(uint8_t type, uint8_t flags, uint32_t id, const void *payload, size_t len) {
    size_t need = FRAME_HEADER_SIZE + len;
    if (pending() + need > HARD_CAP) {
        disconnect("output queue full");
        return false;
    }
    if (ch.out_head > 0 && ch.out_len + need > ch.out_cap) {
        memmove(ch.out, ch.out + ch.out_head, pending());
        ch.out_len -= ch.out_head;
        ch.out_head = 0;
    }
    if (ch.out_len + need > ch.out_cap) {
        size_t cap = ch.out_cap ? ch.out_cap : 64 * 1024;
        while (cap < ch.out_len + need) cap *= 2;
        uint8_t *b = realloc(ch.out, cap);
        if (!b) abort();
        ch.out = b;
        ch.out_cap = cap;
    }
    uint8_t *h = ch.out + ch.out_len;
    memcpy(h, FRAME_MAGIC, 4);
    h[4] = type;
    h[5] = flags;
    h[6] = h[7] = 0;
    put_be32(h + 8, id);
    put_be32(h + 12, (uint32_t)len);
    if (len) memcpy(h + FRAME_HEADER_SIZE, payload, len);
    ch.out_len += need;
    return true;
}

void channel_send(uint8_t type, uint8_t flags, uint32_t id, const void *payload, size_t len) {
    if (!ch.connected) return;
    if (enqueue(type, flags, id, payload, len)) flush_some();
}

void channel_send_json(uint8_t type, uint32_t id, const struct jw *w) {
    channel_send(type, 0, id, w->buf, w->len);
}

bool channel_congested(void) {
    if (pending() <= HIGH_WATER) return false;
    ch.was_congested = true;
    return true;
}

bool channel_send_stream(uint8_t type, uint8_t flags, uint32_t id, const void *data, size_t len, bool live) {
    if (!ch.session || (live && channel_congested())) return false;
    const uint8_t *p = data;
    do {
        size_t n = len > MAX_STREAM_CHUNK ? MAX_STREAM_CHUNK : len;
        uint8_t f = n == len ? flags : 0;
        if (!enqueue(type, f, id, p, n)) return false;
        p += n;
        len -= n;
    } while (len > 0);
    flush_some();
    return true;
}

void channel_on_drain(void (*fn)(void)) { ch.on_drain = fn; }

bool channel_in_session(void) { return ch.session; }

void channel_begin_session(void) { ch.session = true; }

void channel_flush(int timeout_ms) {
    int64_t deadline = mono_ms() + timeout_ms;
    while (ch.connected && pending() > 0) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) return;
        struct pollfd p = {.fd = ch.w.fd, .events = POLLOUT};
        if (poll(&p, 1, (int)left) <= 0) return;
        flush_some();
    }
}

static void send_error(uint32_t id, const char *message) {
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "code", "Invalid");
    jw_kstr(&w, "message", message);
    jw_end_obj(&w);
    channel_send_json(FRAME_ERROR, id, &w);
    jw_free(&w);
}

/* A magic followed by a known type, defined flags and zero reserved bytes (h has 8 bytes). */
static bool sane_header(const uint8_t *h) {
    return h[4] >= FRAME_REQUEST && h[4] <= FRAME_WINDOW && (h[5] & ~FLAG_END) == 0 && h[6] == 0 && h[7] == 0;
}

/* Handles every complete frame in the input buffer; keeps the rest. */
static void parse_input(void) {
    size_t pos = 0;
    while (ch.connected) {
        size_t avail = ch.in_len - pos;
        if (ch.skip > 0) {
            size_t n = avail < ch.skip ? avail : ch.skip;
            pos += n;
            ch.skip -= n;
            if (ch.skip > 0) break;
            continue;
        }
        bool magic = avail >= 4 && memcmp(ch.in + pos, FRAME_MAGIC, 4) == 0;
        if ((avail >= 4 && !magic) || (avail >= 8 && !sane_header(ch.in + pos))) {
            /* Garbage (or the tail of a frame from a previous host): skip to the next magic, one error per run. */
            if (!ch.resyncing) send_error(0, "bad frame header: skipping to the next frame");
            ch.resyncing = true;
            size_t from = magic ? 1 : 0;
            uint8_t *m = memmem(ch.in + pos + from, avail - from, FRAME_MAGIC, 4);
            if (!m) {
                pos += avail > 3 ? avail - 3 : 0;
                break;
            }
            pos = (size_t)(m - ch.in);
            continue;
        }
        if (avail < FRAME_HEADER_SIZE) break;
        ch.resyncing = false;
        const uint8_t *h = ch.in + pos;
        uint32_t id = get_be32(h + 8), len = get_be32(h + 12);
        if (len > MAX_PAYLOAD) {
            send_error(id, "frame too large");
            pos += FRAME_HEADER_SIZE;
            ch.skip = len;
            continue;
        }
        if (avail < FRAME_HEADER_SIZE + len) break;
        pos += FRAME_HEADER_SIZE + len;
        dispatch_frame(h[4], h[5], id, h + FRAME_HEADER_SIZE, len);
    }
    if (!ch.connected) return;
    memmove(ch.in, ch.in + pos, ch.in_len - pos);
    ch.in_len -= pos;
}

static void on_channel(struct watch *w, uint32_t events) {
    (void)w;
    if (events & EPOLLIN) {
        for (;;) {
            size_t room = FRAME_HEADER_SIZE + MAX_PAYLOAD - ch.in_len;
            if (room == 0) break; /* cannot happen: a whole frame always fits and is consumed */
            ssize_t n = read(ch.w.fd, ch.in + ch.in_len, room);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            if (n <= 0) {
                /* A virtio port reads 0 while no host is connected; a socket at its end. */
                disconnect(n == 0 ? "end of file" : strerror(errno));
                return;
            }
            ch.in_len += (size_t)n;
            parse_input();
            if (!ch.connected) return;
        }
    }
    if (events & (EPOLLHUP | EPOLLERR)) {
        disconnect("hang-up");
        return;
    }
    if (events & EPOLLOUT) flush_some();
}

static int connect_socket(void) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(ch.path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, ch.path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void try_connect(void *unused) {
    (void)unused;
    if (ch.connected) return;
    struct stat st;
    ch.is_socket = stat(ch.path, &st) == 0 && S_ISSOCK(st.st_mode);
    int fd = ch.is_socket ? connect_socket() : open(ch.path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || set_nonblock(fd, true) != 0) {
        if (fd >= 0) close(fd);
        loop_timer(RETRY_MS, try_connect, NULL);
        return;
    }
    if (!ch.is_socket) {
        /* A virtio port polls as HUP while no host listens: wait for a host before watching it. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) {
            close(fd);
            loop_timer(RETRY_MS, try_connect, NULL);
            return;
        }
    }
    ch.w.fd = fd;
    ch.connected = true;
    debugf("channel: connected to %s", ch.path);
    update_interest();
}

void channel_open(const char *path) {
    snprintf(ch.path, sizeof ch.path, "%s", path);
    ch.in = malloc(FRAME_HEADER_SIZE + MAX_PAYLOAD);
    if (!ch.in) abort();
    ch.w.on_ready = on_channel;
    try_connect(NULL);
}
