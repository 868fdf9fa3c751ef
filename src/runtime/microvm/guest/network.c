/*
 * The guest's network (shared by every container of the pod): loopback up, an IPv4 address, MTU and a
 * default route on one interface, and the hostname. Plain ioctls: no tool needs to be in the initramfs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "json.h"
#include "util.h"

static int sock = -1;

static void set_name(struct ifreq *r, const char *ifname) {
    memset(r, 0, sizeof *r);
    snprintf(r->ifr_name, sizeof r->ifr_name, "%s", ifname);
}

static int link_up(const char *ifname) {
    struct ifreq r;
    set_name(&r, ifname);
    if (ioctl(sock, SIOCGIFFLAGS, &r) != 0) return -1;
    r.ifr_flags |= IFF_UP;
    return ioctl(sock, SIOCSIFFLAGS, &r);
}

static void put_addr(struct sockaddr *sa, struct in_addr a) {
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr = a};
    memcpy(sa, &in, sizeof in);
}

static int set_address(const char *ifname, struct in_addr addr, int prefix) {
    struct ifreq r;
    set_name(&r, ifname);
    put_addr(&r.ifr_addr, addr);
    if (ioctl(sock, SIOCSIFADDR, &r) != 0) return -1;
    struct in_addr mask = {.s_addr = htonl(prefix == 0 ? 0 : 0xFFFFFFFFu << (32 - prefix))};
    set_name(&r, ifname);
    put_addr(&r.ifr_netmask, mask);
    return ioctl(sock, SIOCSIFNETMASK, &r);
}

static int set_mac(const char *ifname, const unsigned char mac[6]) {
    struct ifreq r;
    set_name(&r, ifname);
    r.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
    memcpy(r.ifr_hwaddr.sa_data, mac, 6);
    return ioctl(sock, SIOCSIFHWADDR, &r);
}

static bool parse_mac(const char *s, unsigned char mac[6]) {
    unsigned int b[6];
    char end;
    if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6) return false;
    for (int i = 0; i < 6; i++) mac[i] = (unsigned char)b[i];
    return !(mac[0] & 1); /* unicast */
}

static int set_mtu(const char *ifname, int mtu) {
    struct ifreq r;
    set_name(&r, ifname);
    r.ifr_mtu = mtu;
    return ioctl(sock, SIOCSIFMTU, &r);
}

static int default_route(const char *ifname, struct in_addr gw) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct in_addr any = {.s_addr = INADDR_ANY};
    put_addr(&rt.rt_dst, any);
    put_addr(&rt.rt_genmask, any);
    put_addr(&rt.rt_gateway, gw);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    char dev[IFNAMSIZ];
    snprintf(dev, sizeof dev, "%s", ifname);
    rt.rt_dev = dev;
    if (ioctl(sock, SIOCADDRT, &rt) == 0 || errno == EEXIST) return 0;
    return -1;
}

void network_request(uint32_t req, const struct jval *b) {
    char err[256];
    const char *ifname = "eth0", *address = NULL, *gateway = NULL, *hostname = NULL, *macs = NULL;
    int64_t prefix = 24, mtu = 0;
    if (!jget_str(b, "interface", false, &ifname, err, sizeof err) ||
        !jget_str(b, "mac", false, &macs, err, sizeof err) ||
        !jget_str(b, "address", false, &address, err, sizeof err) ||
        !jget_int(b, "prefixLength", false, 0, 32, &prefix, err, sizeof err) ||
        !jget_str(b, "gateway", false, &gateway, err, sizeof err) ||
        !jget_int(b, "mtu", false, 68, 65535, &mtu, err, sizeof err) ||
        !jget_str(b, "hostname", false, &hostname, err, sizeof err)) {
        reply_error(req, "Invalid", "%s", err);
        return;
    }
    struct in_addr addr, gw;
    unsigned char mac[6];
    const char *bad = NULL;
    if (strlen(ifname) == 0 || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) bad = "bad interface name";
    else if (macs && !parse_mac(macs, mac)) bad = "\"mac\" must be a unicast MAC (aa:bb:cc:dd:ee:ff)";
    else if (address && inet_pton(AF_INET, address, &addr) != 1) bad = "\"address\" must be an IPv4 address";
    else if (gateway && inet_pton(AF_INET, gateway, &gw) != 1) bad = "\"gateway\" must be an IPv4 address";
    else if (hostname && (strlen(hostname) == 0 || strlen(hostname) > 64)) bad = "\"hostname\" must have 1..64 characters";
    if (bad) {
        reply_error(req, "Invalid", "%s", bad);
        return;
    }
    if (sock < 0) sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        reply_error(req, "Internal", "socket: %s", strerror(errno));
        return;
    }
    const char *step = NULL;
    if (link_up("lo") != 0) step = "bring lo up";
    else if (macs && set_mac(ifname, mac) != 0) step = "set the MAC";
    else if (address && set_address(ifname, addr, (int)prefix) != 0) step = "set the address";
    else if (mtu && set_mtu(ifname, (int)mtu) != 0) step = "set the MTU";
    else if ((address || mtu || gateway) && link_up(ifname) != 0) step = "bring the interface up";
    else if (gateway && default_route(ifname, gw) != 0) step = "add the default route";
    else if (hostname && sethostname(hostname, strlen(hostname)) != 0) step = "set the hostname";
    if (step) {
        reply_error(req, "Internal", "network: cannot %s (%s): %s", step, ifname, strerror(errno));
        return;
    }
    reply_empty(req);
}
