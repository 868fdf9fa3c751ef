/*
 * Frames from the host: requests by op name, stdin for streams. Every malformed input gets an ERROR
 * frame with the request's id (0 when it has none) and the agent goes on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "json.h"
#include "util.h"

bool is_init;
bool set_clock;
static int64_t heartbeat_ms;

void reply(uint32_t req, const struct jw *w) { channel_send_json(FRAME_REPLY, req, w); }

void reply_empty(uint32_t req) { channel_send(FRAME_REPLY, 0, req, "{}", 2); }

void reply_error(uint32_t req, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "code", code);
    jw_kstr(&w, "message", msg);
    jw_end_obj(&w);
    channel_send_json(FRAME_ERROR, req, &w);
    jw_free(&w);
}

void send_event(const struct jw *w) {
    if (channel_in_session()) channel_send_json(FRAME_EVENT, 0, w);
}

static void heartbeat(void *unused) {
    (void)unused;
    if (!channel_in_session() || heartbeat_ms <= 0) return;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kstr(&w, "event", "heartbeat");
    jw_kint(&w, "timeMs", now_ms());
    jw_end_obj(&w);
    send_event(&w);
    jw_free(&w);
    loop_timer(heartbeat_ms, heartbeat, NULL);
}

/* Attached streams of every container stop with the session that opened them. */
static void attaches_session_end(void) {
    for (struct container *c = containers; c; c = c->next) c->nattach = 0;
}

void dispatch_session_end(void) {
    execs_session_end();
    attaches_session_end();
    loop_cancel_timer(heartbeat, NULL);
}

static void op_hello(uint32_t req, const struct jval *b) {
    char err[256];
    int64_t version = 0, time_ms = 0, hb = 0;
    const char *entropy = NULL;
    if (!jget_int(b, "version", true, 0, 1 << 30, &version, err, sizeof err) ||
        !jget_str(b, "entropy", false, &entropy, err, sizeof err) || (entropy && !add_entropy(entropy, err, sizeof err)) ||
        !jget_int(b, "timeMs", false, 0, INT64_MAX / 1000000, &time_ms, err, sizeof err) ||
        !jget_int(b, "heartbeatMs", false, 0, 3600000, &hb, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    if (version != PROTOCOL_VERSION) {
        reply_error(req, "Invalid", "protocol version %lld is not spoken here (version %d is)", (long long)version, PROTOCOL_VERSION);
        return;
    }
    /* A hello on a connection with a session: the host came back without the agent noticing. */
    if (channel_in_session()) dispatch_session_end();
    channel_begin_session();
    if (time_ms && (is_init || set_clock)) {
        /* The guest has no RTC: the host's clock is the only one there is. */
        struct timespec ts = {.tv_sec = time_ms / 1000, .tv_nsec = (time_ms % 1000) * 1000000};
        if (clock_settime(CLOCK_REALTIME, &ts) != 0) logf_("clock_settime: %s", strerror(errno));
    }
    heartbeat_ms = hb;
    if (hb > 0) loop_timer(hb, heartbeat, NULL);
    char session[33];
    random_hex(session, 16);
    int n = 0;
    for (struct container *c = containers; c; c = c->next) n += c->status != C_CREATING;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "version", PROTOCOL_VERSION);
    jw_kstr(&w, "bootId", current_boot_id());
    jw_kstr(&w, "session", session);
    jw_kint(&w, "pid", getpid());
    jw_kint(&w, "timeMs", now_ms());
    jw_kint(&w, "containers", n);
    jw_end_obj(&w);
    reply(req, &w);
    jw_free(&w);
}

static void op_ping(uint32_t req, const struct jval *b) {
    (void)b;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_kint(&w, "timeMs", now_ms());
    jw_end_obj(&w);
    reply(req, &w);
    jw_free(&w);
}

static void op_list(uint32_t req, const struct jval *b) {
    (void)b;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "containers");
    jw_arr(&w);
    for (struct container *c = containers; c; c = c->next)
        if (c->status != C_CREATING) container_json(&w, c);
    jw_end_arr(&w);
    jw_end_obj(&w);
    reply(req, &w);
    jw_free(&w);
}

/* The container named by "id", or NULL after an error reply. */
static struct container *target(uint32_t req, const struct jval *b) {
    char err[256];
    const char *id;
    if (!jget_str(b, "id", true, &id, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return NULL;
    }
    struct container *c = container_find(id);
    if (!c || c->status == C_CREATING) reply_error(req, "NotFound", "no container %s", id);
    return c && c->status != C_CREATING ? c : NULL;
}

static void op_state(uint32_t req, const struct jval *b) {
    struct container *c = target(req, b);
    if (!c) return;
    struct jw w;
    jw_init(&w);
    container_json(&w, c);
    reply(req, &w);
    jw_free(&w);
}

static void op_create(uint32_t req, const struct jval *b) {
    struct create_spec spec;
    char err[256];
    if (!parse_create(b, &spec, err, sizeof err)) reply_error(req, "Invalid", "%s", err);
    else container_create(req, &spec);
    free_create(&spec);
}

static void op_start(uint32_t req, const struct jval *b) {
    struct container *c = target(req, b);
    if (c) container_start(req, c);
}

int64_t signal_number(const struct jval *b, char *err, size_t errlen) {
    int64_t sig = SIGTERM;
    if (!jget_int(b, "signal", false, 1, 64, &sig, err, errlen)) return -1;
    return sig;
}

static void op_kill(uint32_t req, const struct jval *b) {
    char err[256];
    int64_t stream = 0, sig = signal_number(b, err, sizeof err);
    if (sig < 0 || !jget_int(b, "stream", false, 1, UINT32_MAX, &stream, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    if (stream) {
        struct exec *e = exec_by_stream((uint32_t)stream);
        if (!e || e->pid <= 0 || e->exited) reply_error(req, "NotFound", "no exec process on stream %lld", (long long)stream);
        else if (kill(e->pid, (int)sig) != 0) reply_error(req, "Internal", "kill: %s", strerror(errno));
        else reply_empty(req);
        return;
    }
    struct container *c = target(req, b);
    if (!c) return;
    if (c->status == C_EXITED) {
        reply_error(req, "Conflict", "container %s has exited", c->id);
        return;
    }
    /* A created container waits in the agent's code with default dispositions: as init of its PID
     * namespace it would ignore every signal but SIGKILL. Killing it is what is meant. */
    if (c->status == C_CREATED) sig = SIGKILL;
    if (kill(c->pid, (int)sig) != 0) reply_error(req, "Internal", "kill: %s", strerror(errno));
    else reply_empty(req);
}

static void op_remove(uint32_t req, const struct jval *b) {
    struct container *c = target(req, b);
    if (!c) return;
    if (c->status == C_RUNNING) {
        reply_error(req, "Conflict", "container %s is running: kill it first", c->id);
        return;
    }
    container_remove(c);
    reply_empty(req);
}

static void op_attach(uint32_t req, const struct jval *b) {
    char err[256];
    bool want_stdin = false;
    if (!jget_bool(b, "stdin", &want_stdin, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    struct container *c = target(req, b);
    if (!c) return;
    if (c->status == C_EXITED) reply_error(req, "Conflict", "container %s has exited", c->id);
    else if (c->nattach >= MAX_ATTACHES) reply_error(req, "Conflict", "container %s has %d attached streams", c->id, MAX_ATTACHES);
    else if (want_stdin && !c->stdin_open) reply_error(req, "Conflict", "container %s was not created with stdin open", c->id);
    else {
        c->attach[c->nattach] = req;
        c->attach_stdin[c->nattach++] = want_stdin;
        struct jw w;
        jw_init(&w);
        jw_obj(&w);
        jw_kbool(&w, "tty", c->tty);
        jw_end_obj(&w);
        reply(req, &w);
        jw_free(&w);
    }
}

/* The container with an attached stream `stream`, and the slot. */
static struct container *attached(uint32_t stream, int *slot) {
    for (struct container *c = containers; c; c = c->next)
        for (int i = 0; i < c->nattach; i++)
            if (c->attach[i] == stream) {
                *slot = i;
                return c;
            }
    return NULL;
}

static void op_detach(uint32_t req, const struct jval *b) {
    char err[256];
    int64_t stream = 0;
    int i;
    if (!jget_int(b, "stream", true, 1, UINT32_MAX, &stream, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    struct container *c = attached((uint32_t)stream, &i);
    if (!c) {
        reply_error(req, "NotFound", "no attached stream %lld", (long long)stream);
        return;
    }
    c->nattach--;
    memmove(&c->attach[i], &c->attach[i + 1], sizeof c->attach[0] * (size_t)(c->nattach - i));
    memmove(&c->attach_stdin[i], &c->attach_stdin[i + 1], sizeof c->attach_stdin[0] * (size_t)(c->nattach - i));
    reply_empty(req);
}

static void op_resize(uint32_t req, const struct jval *b) {
    char err[256];
    int64_t rows = 0, cols = 0, stream = 0;
    if (!jget_int(b, "rows", true, 1, 65535, &rows, err, sizeof err) ||
        !jget_int(b, "cols", true, 1, 65535, &cols, err, sizeof err) ||
        !jget_int(b, "stream", false, 1, UINT32_MAX, &stream, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    if (stream) {
        if (exec_resize((uint32_t)stream, (int)rows, (int)cols)) reply_empty(req);
        else reply_error(req, "NotFound", "no exec terminal on stream %lld", (long long)stream);
        return;
    }
    struct container *c = target(req, b);
    if (!c) return;
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (c->pty < 0) reply_error(req, "Conflict", "container %s has no terminal", c->id);
    else if (ioctl(c->pty, TIOCSWINSZ, &ws) != 0) reply_error(req, "Internal", "resize: %s", strerror(errno));
    else reply_empty(req);
}

static int64_t meminfo(const char *key) {
    char buf[4096];
    if (read_file("/proc/meminfo", buf, sizeof buf) <= 0) return -1;
    char *p = strstr(buf, key);
    return p ? strtoll(p + strlen(key), NULL, 10) * 1024 : -1;
}

static void op_stats(uint32_t req, const struct jval *b) {
    const struct container *only = json_get(b, "id") ? target(req, b) : NULL;
    if (json_get(b, "id") && !only) return;
    struct jw w;
    jw_init(&w);
    jw_obj(&w);
    jw_key(&w, "containers");
    jw_arr(&w);
    for (const struct container *c = containers; c; c = c->next) {
        if ((only && c != only) || c->status == C_CREATING) continue;
        jw_obj(&w);
        jw_kstr(&w, "id", c->id);
        if (c->cgroup[0]) cgroup_stats(&w, c->cgroup);
        jw_end_obj(&w);
    }
    jw_end_arr(&w);
    jw_key(&w, "guest");
    jw_obj(&w);
    jw_kint(&w, "memoryTotalBytes", meminfo("MemTotal:"));
    jw_kint(&w, "memoryAvailableBytes", meminfo("MemAvailable:"));
    jw_end_obj(&w);
    jw_end_obj(&w);
    reply(req, &w);
    jw_free(&w);
}

static const struct {
    const char *name;
    void (*fn)(uint32_t req, const struct jval *body);
} ops[] = {
    {"hello", op_hello}, {"ping", op_ping}, {"list", op_list}, {"state", op_state},
    {"create", op_create}, {"start", op_start}, {"kill", op_kill}, {"remove", op_remove},
    {"exec", exec_request}, {"attach", op_attach}, {"detach", op_detach}, {"resize", op_resize},
    {"stats", op_stats}, {"network", network_request}, {"shutdown", shutdown_request},
    {"mount", mount_request},
};

static void on_request(uint32_t id, const uint8_t *payload, size_t len) {
    char err[256];
    struct jarena *arena;
    if (id == 0) {
        reply_error(0, "Invalid", "a request needs a nonzero id");
        return;
    }
    struct jval *body = json_parse((const char *)payload, len, &arena, err, sizeof err);
    if (!body) {
        reply_error(id, "Invalid", "malformed request: %s", err);
        return;
    }
    const char *op = NULL;
    if (body->type != J_OBJ || !jget_str(body, "op", true, &op, err, sizeof err)) {
        reply_error(id, "Invalid", "a request is an object with a string \"op\"");
    } else if (strcmp(op, "hello") != 0 && !channel_in_session()) {
        reply_error(id, "Unavailable", "say hello first");
    } else {
        size_t i = 0;
        while (i < ARRAY_LEN(ops) && strcmp(ops[i].name, op) != 0) i++;
        if (i == ARRAY_LEN(ops)) reply_error(id, "Invalid", "unknown op \"%s\"", op);
        else ops[i].fn(id, body);
    }
    json_free(arena);
}

static void on_stdin(uint32_t stream, uint8_t flags, const uint8_t *data, size_t len) {
    struct sink *k = NULL;
    struct exec *e = exec_by_stream(stream);
    int slot;
    struct container *c = e ? NULL : attached(stream, &slot);
    if (e && e->ready) k = &e->in;
    else if (c && c->attach_stdin[slot]) k = &c->in;
    if (!k) return; /* a stream that ended: its last bytes may still be on their way */
    if (!sink_push(k, stream, data, len)) reply_error(stream, "Invalid", "stdin of stream %u overran its window", stream);
    if (flags & FLAG_END) sink_end(k);
}

void dispatch_frame(uint8_t type, uint8_t flags, uint32_t id, const uint8_t *payload, size_t len) {
    if (type == FRAME_REQUEST && flags == 0) on_request(id, payload, len);
    else if (type == FRAME_STDIN && (flags & ~FLAG_END) == 0 && channel_in_session()) on_stdin(id, flags, payload, len);
    else if (type == FRAME_STDIN && (flags & ~FLAG_END) == 0) reply_error(id, "Unavailable", "say hello first");
    else reply_error(id, "Invalid", "unexpected frame type %u with flags %u", type, flags);
}

