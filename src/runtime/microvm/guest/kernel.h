/*
 * The few kernel interfaces the agent uses that a libc may not wrap or declare (musl has no kernel
 * headers): values and layouts from the kernel's UAPI, which never change.
 */
#ifndef NUBIS_GUEST_KERNEL_H
#define NUBIS_GUEST_KERNEL_H

#include <stdint.h>
#include <sys/syscall.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* openat2(2): linux/openat2.h */
struct open_how_ {
    uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_IN_ROOT_ 0x10

/* capget/capset(2): linux/capability.h */
#define LINUX_CAPABILITY_VERSION_3_ 0x20080522
struct cap_header_ {
    uint32_t version;
    int pid;
};
struct cap_data_ {
    uint32_t effective, permitted, inheritable;
};

/* random(4): linux/random.h; RNDADDENTROPY = _IOW('R', 0x03, int[2]) */
#define RNDADDENTROPY_ 0x40085203
/* RNDRESEEDCRNG = _IO('R', 0x07): reseed the kernel's CRNG now (added entropy otherwise waits up to a minute) */
#define RNDRESEEDCRNG_ 0x5207
struct rand_pool_info_ {
    int entropy_count; /* bits credited */
    int buf_size;      /* bytes in buf */
    uint8_t buf[];
};

#endif
