/**
 * The kubelet-like stats summary (GET /stats/summary) behind `top`: CPU and memory of the node, of each
 * pod and of each running container, from the cgroups (through the driver's stats). CPU rates
 * (usageNanoCores) come from the difference to the previous sample; the first request samples twice.
 */
import { promises as fs } from 'node:fs';
import type { PodManager } from './pod-manager.js';
import { parseMeminfo } from './node-status.js';

/** Cumulative CPU time (ns) at a wall-clock time (ms). */
export interface Sample {
  ns: number;
  at: number;
}

export interface CpuStats {
  time: string;
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes: number;
  usageBytes: number;
  availableBytes?: number;
}

export interface ContainerStats {
  name: string;
  startTime?: string;
  cpu: CpuStats;
  memory: MemoryStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  cpu: CpuStats;
  memory: MemoryStats;
  containers: ContainerStats[];
}

export interface Summary {
  node: { nodeName: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodStats[];
}

/**
 * CPU usage in nanocores (1e9 = one full core) between two samples of cumulative CPU time in ns taken at
 * wall-clock times in ms; 0 without a usable earlier sample (first sample, clock step, counter reset).
 */
export function nanoCores(prev: Sample | undefined, cur: Sample): number {
  if (!prev || cur.at <= prev.at || cur.ns < prev.ns) return 0;
  return Math.round(((cur.ns - prev.ns) / (cur.at - prev.at)) * 1e3); // ns per ms -> ns per s
}

/** Jiffies of /proc/stat's cpu line as nanoseconds of busy time. */
export function busyNs(procStat: string): number {
  const f = (procStat.split('\n').find((l) => l.startsWith('cpu ')) ?? '').trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy * 1e7; // USER_HZ is 100 on Linux
}

export class StatsCollector {
  readonly #samples = new Map<string, Sample>();

  constructor(
    private readonly nodeName: string,
    private readonly pods: PodManager,
  ) {}

  #rate(key: string, ns: number, at: number): number {
    const prev = this.#samples.get(key);
    this.#samples.set(key, { ns, at });
    return nanoCores(prev, { ns, at });
  }

  async #collect(): Promise<Summary> {
    const at = Date.now();
    const time = new Date(at).toISOString();
    const [statText, memText] = await Promise.all([fs.readFile('/proc/stat', 'utf8'), fs.readFile('/proc/meminfo', 'utf8')]);
    const mem = parseMeminfo(memText);
    const nodeNs = busyNs(statText);
    const total = mem.get('MemTotal') ?? 0;
    const available = mem.get('MemAvailable') ?? 0;
    const node = {
      nodeName: this.nodeName,
      cpu: { time, usageNanoCores: this.#rate('node', nodeNs, at), usageCoreNanoSeconds: nodeNs },
      memory: { time, workingSetBytes: total - available, usageBytes: total - (mem.get('MemFree') ?? 0), availableBytes: available },
    };
    const pods: PodStats[] = [];
    const seen = new Set<string>(['node']);
    for (const w of this.pods.workers()) {
      const containers: ContainerStats[] = [];
      for (const { name, id } of w.runningContainers()) {
        const s = await w.driver?.stats(id).catch(() => undefined);
        if (!s) continue;
        seen.add(id);
        containers.push({
          name,
          cpu: { time, usageNanoCores: this.#rate(id, s.cpuUsageNs, at), usageCoreNanoSeconds: s.cpuUsageNs },
          memory: { time, workingSetBytes: s.memoryBytes, usageBytes: s.memoryBytes, ...(s.memoryLimitBytes ? { availableBytes: Math.max(0, s.memoryLimitBytes - s.memoryBytes) } : {}) },
        });
      }
      const sum = (f: (c: ContainerStats) => number) => containers.reduce((a, c) => a + f(c), 0);
      pods.push({
        podRef: { name: w.id.name, namespace: w.id.namespace, uid: w.id.uid },
        cpu: { time, usageNanoCores: sum((c) => c.cpu.usageNanoCores), usageCoreNanoSeconds: sum((c) => c.cpu.usageCoreNanoSeconds) },
        memory: { time, workingSetBytes: sum((c) => c.memory.workingSetBytes), usageBytes: sum((c) => c.memory.usageBytes) },
        containers,
      });
    }
    for (const k of this.#samples.keys()) if (!seen.has(k)) this.#samples.delete(k);
    return { node, pods };
  }

  /** The summary now; without earlier samples, two samples 200 ms apart so rates are meaningful. */
  async summary(): Promise<Summary> {
    if (!this.#samples.has('node')) {
      await this.#collect();
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.#collect();
  }
}
