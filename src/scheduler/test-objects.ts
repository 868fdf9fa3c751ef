import type { Node, Taint } from '../api/core/v1/node.js';
import type { Container, Pod, PodSpec } from '../api/core/v1/pod-types.js';
import type { OwnerReference } from '../api/meta.js';
import type { Affinity } from './affinity-types.js';
import { PodInfo } from './pod-info.js';
import { ClusterSnapshot } from './snapshot.js';

/** Builders of realistic Node and Pod objects for the scheduler's tests (and nothing else). */

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  extra?: Record<string, string>;
}

export function testNode(name: string, o: NodeOptions = {}): Node {
  const allocatable = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110', 'ephemeral-storage': '50Gi', ...o.extra };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', ...o.labels },
    },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: name }],
    },
  };
}

export interface PodOptions {
  namespace?: string;
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  owner?: string;
  nodeName?: string;
  spec?: Partial<Omit<PodSpec, 'affinity'>> & { affinity?: Affinity };
  containers?: Container[];
}

export function testPod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  const ownerReferences: OwnerReference[] | undefined = o.owner
    ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: `uid-${o.owner}`, controller: true, blockOwnerDeletion: true }]
    : undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: name },
      ...(ownerReferences ? { ownerReferences } : {}),
    },
    spec: {
      containers: o.containers ?? [
        { name: 'app', image: 'nginx:1.25', resources: Object.keys(requests).length ? { requests } : {}, ports: [{ containerPort: 80, protocol: 'TCP' }] },
      ],
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.spec as Partial<PodSpec> | undefined),
    },
    status: { phase: 'Pending' },
  };
}

/** A snapshot holding the nodes and the bound pods (their spec.nodeName says where). */
export function testSnapshot(nodes: Node[], pods: Pod[] = []): ClusterSnapshot {
  const snap = new ClusterSnapshot();
  for (const n of nodes) snap.setNode(n);
  for (const p of pods) snap.addPod(new PodInfo(p), p.spec.nodeName!);
  return snap;
}
