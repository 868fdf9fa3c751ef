/*
 * The wire protocol between the host (src/runtime/microvm/guest-client.ts) and this guest agent.
 * src/runtime/microvm/guest-protocol.ts is the documentation and the single source of truth; the
 * constants here must equal the ones there (a test compares them).
 *
 * A frame is a 16-byte header followed by `length` payload bytes. All integers are big-endian.
 *
 *   offset 0  magic   4 bytes "NGA1"
 *          4  type    u8  (FRAME_*)
 *          5  flags   u8  (FLAG_*; bits not defined for a type must be 0)
 *          6  zero    u16 (reserved, 0)
 *          8  id      u32 request id (REQUEST/REPLY/ERROR) or stream id (STDIN/STDOUT/STDERR/WINDOW)
 *         12  length  u32 payload bytes, at most MAX_PAYLOAD
 *
 * REQUEST, REPLY, ERROR and EVENT payloads are JSON objects in a strict subset (UTF-8, integers only,
 * no duplicate keys, depth <= JSON_MAX_DEPTH). Stream payloads are raw bytes.
 */
#ifndef NUBIS_GUEST_PROTOCOL_H
#define NUBIS_GUEST_PROTOCOL_H

#define PROTOCOL_VERSION 2
/* What the agent writes to the console once it serves (then waits for a host). */
#define AGENT_READY "ready, waiting for the host"

#define FRAME_MAGIC "NGA1"
#define FRAME_HEADER_SIZE 16
/* Largest payload of any frame; a longer one is answered with an error and skipped. */
#define MAX_PAYLOAD (1024 * 1024)
/* Largest stream chunk the guest sends in one frame. */
#define MAX_STREAM_CHUNK (32 * 1024)
/* Bytes of stdin the host may send on one stream before the guest acknowledges them with WINDOW. */
#define STDIN_WINDOW (256 * 1024)

enum frame_type {
    FRAME_REQUEST = 1, /* host -> guest, JSON {"op": ..., ...}; id != 0 */
    FRAME_REPLY = 2,   /* guest -> host, JSON result; id of the request */
    FRAME_ERROR = 3,   /* guest -> host, JSON {"code","message"}; id of the request, 0 if unknown */
    FRAME_EVENT = 4,   /* guest -> host, JSON {"event": ...}; id 0 */
    FRAME_STDIN = 5,   /* host -> guest, bytes for stream id; FLAG_END closes that stdin */
    FRAME_STDOUT = 6,  /* guest -> host, bytes of stream id; FLAG_END: no more output */
    FRAME_STDERR = 7,  /* as STDOUT */
    FRAME_WINDOW = 8,  /* guest -> host, u32 count of stdin bytes of stream id written to the process */
};

enum frame_flag {
    FLAG_END = 1,
};

#define JSON_MAX_DEPTH 8

/* Bounds of what a request may carry. */
#define MAX_ID_LEN 64
#define MAX_ARGS 1024
#define MAX_ENV 4096
#define MAX_MOUNTS 128
#define MAX_GROUPS 64
#define MAX_ATTACHES 8

#endif
