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

#endif
