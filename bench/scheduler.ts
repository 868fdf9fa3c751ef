/**
 * Scheduler throughput, in memory (no API server): the shape of Kubernetes' scheduler_perf
 * SchedulingBasic (5,000 nodes with 4 CPU / 32Gi / 110 pods, 10,000 pods asking 100m CPU and 500Mi,
 * no affinity) and, smaller, a pod anti-affinity scenario (each pod avoids nodes holding a pod of its
 * own group, topologyKey kubernetes.io/hostname). The in-memory Binder confirms each binding with a pod
 * update event on the next tick, as an informer would. Prints pods/s; nothing is asserted.
 * Usage: node --import tsx bench/scheduler.ts [nodes] [pods]
 */
import type { Node } from '../src/api/core/v1/node.js';
import type { Pod } from '../src/api/core/v1/pod-types.js';
import { type Binder, Scheduler } from '../src/scheduler/scheduler.js';

const TARGET = 2700;
const CI_FLOOR = 270;

function makeNode(i: number): Node {
  const name = `node-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    spec: {},
    status: { allocatable: { cpu: '4', memory: '32Gi', pods: '110' }, capacity: { cpu: '4', memory: '32Gi', pods: '110' } },
  };
}

function makePod(i: number, antiAffinityGroups = 0): Pod {
  const group = antiAffinityGroups ? `g${i % antiAffinityGroups}` : 'basic';
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: 'sched-0', uid: `uid-${i}`, labels: { group } },
    spec: {
      schedulerName: 'default-scheduler',
      containers: [{ name: 'pause', image: 'registry.k8s.io/pause:3.9', resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } } }],
    },
    status: { phase: 'Pending' },
  };
  if (antiAffinityGroups) {
    pod.spec.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { group } }, topologyKey: 'kubernetes.io/hostname' }],
      },
    };
  }
  return pod;
}

async function scenario(name: string, nodes: number, pods: number, antiAffinityGroups = 0): Promise<number> {
  let bound = 0;
  let allBound: () => void = () => {};
  const done = new Promise<void>((r) => (allBound = r));
  let scheduler: Scheduler;
  const binder: Binder = {
    bind(pod, nodeName) {
      // The informer's view of the bound pod arrives on a later tick.
      setImmediate(() => {
        scheduler.onPodUpdate(pod, { ...pod, spec: { ...pod.spec, nodeName } });
        if (++bound === pods) allBound();
      });
      return Promise.resolve();
    },
  };
  const failures: string[] = [];
  scheduler = new Scheduler({ binder, recorder: { podUnschedulable: (p, m) => failures.push(`${p.metadata.name}: ${m}`) } });
  for (let i = 0; i < nodes; i++) scheduler.onNodeAdd(makeNode(i));
  const podObjects = Array.from({ length: pods }, (_, i) => makePod(i, antiAffinityGroups));
  const ac = new AbortController();
  const t0 = performance.now();
  const running = scheduler.run(ac.signal);
  for (const p of podObjects) scheduler.onPodAdd(p);
  await Promise.race([done, new Promise((r) => setTimeout(r, 120_000))]);
  const seconds = (performance.now() - t0) / 1000;
  ac.abort();
  await running;
  const rate = bound / seconds;
  console.log(
    `${name}: ${nodes} nodes, ${pods} pods: ${bound} bound in ${seconds.toFixed(2)} s = ${Math.round(rate)} pods/s` +
      ` (attempts ${scheduler.stats.attempts}, unschedulable ${scheduler.stats.unschedulable}${failures.length ? `, first failure: ${failures[0]}` : ''})`,
  );
  return rate;
}

const nodes = Number(process.argv[2] ?? 5000);
const pods = Number(process.argv[3] ?? 10_000);
const rate = await scenario('SchedulingBasic', nodes, pods);
console.log(`  target ${TARGET} pods/s (${rate >= TARGET ? 'met' : 'NOT met'}); Kubernetes scheduler_perf CI floor ${CI_FLOOR} pods/s; ratio to target ${(rate / TARGET).toFixed(2)}`);
await scenario('PodAntiAffinity', 500, 1000, 100);
