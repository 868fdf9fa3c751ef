/*
 * What makes one guest differ from another resumed from the same template (a VM snapshot taken once its
 * agent waits for a host, see vm-templates.ts on the host): the boot id, the kernel's random pool (every
 * clone resumes with the template's pool, so the host's hello brings fresh entropy), and the shared
 * directory, which the host names and the agent mounts (QEMU cannot snapshot a guest with 9p mounted).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "kernel.h"
#include "util.h"

/* 9p's largest useful message size on virtio (the transport caps it near 512 KiB). */
#define NINEP_OPTIONS "trans=virtio,version=9p2000.L,msize=524288"
#define MAX_ENTROPY 64

static char boot_id[33];

void random_hex(char *out, size_t bytes) {
    unsigned char b[32];
    if (bytes > sizeof b) bytes = sizeof b;
    if (getrandom(b, bytes, GRND_NONBLOCK) != (ssize_t)bytes)
        for (size_t i = 0; i < bytes; i++) b[i] = (unsigned char)(rand() ^ (int)mono_ms());
    for (size_t i = 0; i < bytes; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Made at the first hello, after its entropy: a template is snapshotted before any hello, so each clone makes its own. */
const char *current_boot_id(void) {
    if (!boot_id[0]) random_hex(boot_id, 16);
    return boot_id;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool add_entropy(const char *hex, char *err, size_t errlen) {
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > MAX_ENTROPY) {
        snprintf(err, errlen, "\"entropy\" must be an even number of hex digits, at most %d bytes", MAX_ENTROPY);
        return false;
    }
    struct {
        struct rand_pool_info_ info;
        uint8_t bytes[MAX_ENTROPY];
    } pool = {.info = {.entropy_count = (int)(n / 2) * 8, .buf_size = (int)(n / 2)}};
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "\"entropy\" must be hex digits");
            return false;
        }
        pool.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!is_init) return true; /* run on a host for tests: its pool is not ours to feed */
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    /* Credited, then the CRNG reseeded at once: a clone must not go on with its template's random stream. */
    if (fd < 0 || ioctl(fd, RNDADDENTROPY_, &pool) != 0 || ioctl(fd, RNDRESEEDCRNG_) != 0) logf_("adding entropy: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return true;
}

static bool safe_tag(const char *s) {
    if (!*s || strlen(s) > 31) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("_.-", *s))) return false;
    return true;
}

/* Mounts the 9p share `tag` at `path` (made if its parent exists); done already is fine: a reconnecting host asks again. */
void mount_request(uint32_t req, const struct jval *b) {
    char err[256];
    const char *tag = NULL, *dir = NULL;
    if (!jget_str(b, "tag", true, &tag, err, sizeof err) || !jget_str(b, "path", true, &dir, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    if (!safe_tag(tag) || !valid_abs_path(dir) || strlen(dir) > 200) {
        reply_error(req, "Invalid", "a share needs a tag of letters, digits, \"_.-\" and an absolute path");
        return;
    }
    if (!is_init) {
        reply_error(req, "Invalid", "shares are mounted only by the guest's init");
        return;
    }
    char parent[256];
    snprintf(parent, sizeof parent, "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash == parent) slash[1] = 0;
    else *slash = 0;
    struct stat st, pst;
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || stat(dir, &st) != 0 || stat(parent, &pst) != 0) {
        reply_error(req, "Internal", "%s: %s", dir, strerror(errno));
        return;
    }
    if (st.st_dev != pst.st_dev) {
        reply_empty(req); /* mounted by an earlier request */
        return;
    }
    if (mount(tag, dir, "9p", MS_NOSUID | MS_NODEV, NINEP_OPTIONS) != 0) {
        reply_error(req, "Internal", "mount the %s share at %s: %s", tag, dir, strerror(errno));
        return;
    }
    reply_empty(req);
}
