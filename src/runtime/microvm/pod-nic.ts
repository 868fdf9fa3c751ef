/**
 * How a micro-VM keeps its pod's address: the agent wires the pod network into the sandbox's network
 * namespace as for any pod (a veth, `eth0`, with the pod IP and a default route); the driver adds a tap
 * device there for the guest's virtio-net and redirects every frame between the two both ways with tc
 * (mirred), as Kata Containers' tcfilter mode does. The guest's NIC takes eth0's MAC and address, so the
 * bridge, the source guard, Services, NetworkPolicy and DNS see the same pod as before.
 */
import type { Host } from '../../host/host.js';
import { internal } from '../../lib/errors.js';

/** The tap's name in the pod's network namespace (QEMU opens it by name, from inside the namespace). */
export const POD_TAP = 'tap0';

/** What the guest's NIC is configured with: the pod interface's MAC, first IPv4 address, gateway and MTU. */
export interface PodNic {
  mac: string;
  address?: string;
  prefixLength?: number;
  gateway?: string;
  mtu: number;
}

async function ipJson<T>(host: Host, netns: string, args: string[]): Promise<T> {
  const r = await host.run('nsenter', [`--net=${netns}`, 'ip', '-j', ...args], { allowFailure: true });
  if (r.code !== 0) throw internal(`ip ${args.join(' ')} in the pod's network namespace failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout || '[]') as T;
}

async function inNetns(host: Host, netns: string, cmd: string, args: string[]): Promise<void> {
  const r = await host.run('nsenter', [`--net=${netns}`, cmd, ...args], { allowFailure: true });
  if (r.code !== 0) throw internal(`${cmd} ${args.join(' ')} in the pod's network namespace failed: ${r.stderr.trim()}`);
}

/** Makes the tap the guest's NIC uses, up, in the pod's network namespace. */
export async function createPodTap(host: Host, netns: string): Promise<void> {
  await inNetns(host, netns, 'ip', ['tuntap', 'add', 'dev', POD_TAP, 'mode', 'tap']);
  await inNetns(host, netns, 'ip', ['link', 'set', POD_TAP, 'up']);
}

/** The pod interface as the agent set it up; undefined when there is none (a pod with loopback only). */
export async function readPodNic(host: Host, netns: string, ifname = 'eth0'): Promise<PodNic | undefined> {
  type Link = { ifname: string; address?: string; mtu: number; addr_info?: Array<{ family: string; local: string; prefixlen: number }> };
  const links = await ipJson<Link[]>(host, netns, ['addr', 'show']);
  const link = links.find((l) => l.ifname === ifname);
  if (!link?.address) return undefined;
  const v4 = link.addr_info?.find((a) => a.family === 'inet');
  const routes = await ipJson<Array<{ dst: string; gateway?: string }>>(host, netns, ['-4', 'route', 'show', 'default']);
  return {
    mac: link.address,
    mtu: link.mtu,
    ...(v4 ? { address: v4.local, prefixLength: v4.prefixlen } : {}),
    ...(routes[0]?.gateway ? { gateway: routes[0].gateway } : {}),
  };
}

/** Redirects every frame arriving on the pod interface to the tap and back (idempotent: done once per sandbox). */
export async function redirectPodNic(host: Host, netns: string, ifname = 'eth0'): Promise<void> {
  for (const [from, to] of [
    [ifname, POD_TAP],
    [POD_TAP, ifname],
  ] as const) {
    // A fresh ingress qdisc each time, so that a second call leaves one filter, not two.
    await host.run('nsenter', [`--net=${netns}`, 'tc', 'qdisc', 'del', 'dev', from, 'ingress'], { allowFailure: true });
    await inNetns(host, netns, 'tc', ['qdisc', 'add', 'dev', from, 'ingress']);
    await inNetns(host, netns, 'tc', ['filter', 'add', 'dev', from, 'parent', 'ffff:', 'prio', '1', 'protocol', 'all', 'u32', 'match', 'u8', '0', '0', 'action', 'mirred', 'egress', 'redirect', 'dev', to]);
  }
}
