/*
 * The one channel to the host: a virtio-serial port file in the guest, or a unix socket path the agent
 * connects to (tests on the host). Frames in, frames out; the host may go away and come back at any time.
 */
#ifndef NUBIS_GUEST_CHANNEL_H
#define NUBIS_GUEST_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jw;

/* Starts connecting to `path` (a unix socket if it is one, else a character device or file). */
void channel_open(const char *path);

/* Whether a host is connected and has said hello on this connection. */
bool channel_in_session(void);
/* Marks the current connection as having said hello (the dispatcher calls it). */
void channel_begin_session(void);

/* Queues a control frame (reply, error, event). Dropped when no host is connected. */
void channel_send(uint8_t type, uint8_t flags, uint32_t id, const void *payload, size_t len);
void channel_send_json(uint8_t type, uint32_t id, const struct jw *w);
/*
 * Queues stream data, cut into MAX_STREAM_CHUNK frames. Returns false (and drops the data) when no
 * session is open, or, for `live` data, when the queue is congested: live output (attach) is not kept
 * for absent or slow listeners. Other data (exec output) is queued: its readers wait while congested.
 */
bool channel_send_stream(uint8_t type, uint8_t flags, uint32_t id, const void *data, size_t len, bool live);
/* True while the output queue is above its high-water mark: readers that must not drop should wait. */
bool channel_congested(void);
/* Called once the queue fell below its low-water mark after having been congested. */
void channel_on_drain(void (*fn)(void));
/* Writes out what is queued, waiting at most timeout_ms (before poweroff). */
void channel_flush(int timeout_ms);

/* Provided by the dispatcher. */
void dispatch_frame(uint8_t type, uint8_t flags, uint32_t id, const uint8_t *payload, size_t len);
void dispatch_session_end(void);

#endif
