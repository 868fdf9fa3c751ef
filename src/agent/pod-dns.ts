import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pod } from '../api/core/v1/pod-types.js';

/**
 * A pod's /etc/resolv.conf by its dnsPolicy, as the kubelet writes it: ClusterFirst (the default) uses
 * the cluster DNS (`cluster`, absent when the node has none) with dnsConfig's servers, searches and
 * options added; None uses dnsConfig alone; Default and host-network pods keep the image's own file
 * (undefined). Searches are capped at Kubernetes' 32.
 */
export function podResolvConf(pod: Pod, cluster: string | undefined): string | undefined {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const cfg = pod.spec.dnsConfig ?? {};
  if (policy === 'Default') return undefined;
  if (pod.spec.hostNetwork && policy !== 'ClusterFirstWithHostNet' && policy !== 'None') return undefined;
  let servers: string[] = [];
  let searches: string[] = [];
  let options: string[] = [];
  if (policy !== 'None') {
    if (!cluster) return undefined;
    for (const line of cluster.split('\n')) {
      const [word, ...rest] = line.trim().split(/\s+/);
      if (word === 'nameserver') servers.push(...rest);
      else if (word === 'search') searches.push(...rest);
      else if (word === 'options') options.push(...rest);
    }
  }
  servers = [...new Set([...servers, ...(cfg.nameservers ?? [])])].slice(0, 3);
  searches = [...new Set([...searches, ...(cfg.searches ?? [])])].slice(0, 32);
  for (const o of cfg.options ?? []) {
    options = options.filter((x) => x.split(':')[0] !== o.name);
    options.push(o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  }
  const lines: string[] = [];
  if (searches.length) lines.push(`search ${searches.join(' ')}`);
  for (const s of servers) lines.push(`nameserver ${s}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.length ? lines.join('\n') + '\n' : undefined;
}

/**
 * Writes a pod's resolv.conf (podResolvConf) to `file`, which all its containers mount at
 * /etc/resolv.conf: the cluster DNS for dnsPolicy ClusterFirst, the given servers for None. Undefined
 * (nothing written) when the pod keeps the image's own file.
 */
export async function writePodResolvConf(file: string, pod: Pod, cluster: string | undefined): Promise<string | undefined> {
  const text = podResolvConf(pod, cluster);
  if (text === undefined) return undefined;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o644 });
  return file;
}
