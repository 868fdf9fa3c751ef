/* The single-threaded event loop: epoll over non-blocking fds, plus one-shot timers. */
#ifndef NUBIS_GUEST_LOOP_H
#define NUBIS_GUEST_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct watch {
    int fd;
    uint32_t events; /* current interest; 0 = registered but idle */
    bool added;
    void (*on_ready)(struct watch *w, uint32_t events);
    void *ctx;
};

void loop_init(void);
/* Starts watching w->fd for `events`, or changes the interest of a watched fd. */
void loop_watch(struct watch *w, uint32_t events);
/* Stops watching (call before closing the fd). */
void loop_unwatch(struct watch *w);

/* Calls fn(ctx) once, after `ms` milliseconds. A later timer with the same fn and ctx replaces it. */
void loop_timer(int64_t ms, void (*fn)(void *ctx), void *ctx);
void loop_cancel_timer(void (*fn)(void *ctx), void *ctx);

/* Runs until loop_stop(). */
void loop_run(void);
void loop_stop(void);

#endif
