#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct timer {
    int64_t due; /* monotonic ms */
    void (*fn)(void *ctx);
    void *ctx;
    struct timer *next;
};

static int epfd = -1;
static struct timer *timers;
static bool running;

void loop_init(void) {
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        logf_("epoll_create1: %s", strerror(errno));
        exit(1);
    }
}

void loop_watch(struct watch *w, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = w};
    if (w->added && w->events == events) return;
    if (epoll_ctl(epfd, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) != 0) {
        logf_("epoll_ctl(fd %d): %s", w->fd, strerror(errno));
        return;
    }
    w->added = true;
    w->events = events;
}

void loop_unwatch(struct watch *w) {
    if (!w->added) return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->added = false;
    w->events = 0;
}

void loop_cancel_timer(void (*fn)(void *ctx), void *ctx) {
    for (struct timer **t = &timers; *t;) {
        if ((*t)->fn == fn && (*t)->ctx == ctx) {
            struct timer *dead = *t;
            *t = dead->next;
            free(dead);
        } else {
            t = &(*t)->next;
        }
    }
}

void loop_timer(int64_t ms, void (*fn)(void *ctx), void *ctx) {
    loop_cancel_timer(fn, ctx);
    struct timer *t = malloc(sizeof *t);
    if (!t) abort();
    t->due = mono_ms() + ms;
    t->fn = fn;
    t->ctx = ctx;
    t->next = timers;
    timers = t;
}

/* Runs due timers; returns the ms until the next one, or -1. */
static int run_timers(void) {
    for (;;) {
        int64_t now = mono_ms();
        struct timer **due = NULL;
        for (struct timer **t = &timers; *t; t = &(*t)->next)
            if ((*t)->due <= now && (!due || (*t)->due < (*due)->due)) due = t;
        if (!due) break;
        struct timer *t = *due;
        *due = t->next;
        void (*fn)(void *) = t->fn;
        void *ctx = t->ctx;
        free(t);
        fn(ctx);
    }
    int64_t next = -1, now = mono_ms();
    for (struct timer *t = timers; t; t = t->next)
        if (next < 0 || t->due - now < next) next = t->due - now;
    if (next > 60000) next = 60000;
    return next < 0 ? -1 : (int)next;
}

void loop_stop(void) { running = false; }

void loop_run(void) {
    running = true;
    struct epoll_event evs[32];
    while (running) {
        int timeout = run_timers();
        if (!running) break;
        int n = epoll_wait(epfd, evs, (int)ARRAY_LEN(evs), timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            logf_("epoll_wait: %s", strerror(errno));
            exit(1);
        }
        for (int i = 0; i < n && running; i++) {
            struct watch *w = evs[i].data.ptr;
            /*
             * A handler may unwatch another watch that is also in this batch: owners free watched
             * objects only from a 0 ms timer (after the batch), so w is still valid memory here.
             */
            if (w->added) w->on_ready(w, evs[i].events);
        }
    }
}
