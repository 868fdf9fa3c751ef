import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { conditionsList, kindSchema, resourceListSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { anything, bool, int, int32, keyedList, list, obj, str, stringList, time } from '../../schema.js';
import { age, ageColumn, column, nameColumn, wide } from '../../table.js';
import { check, fieldErr, labelValue, qualifiedName } from '../../validation.js';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export interface NodeSpec {
  podCIDR?: string;
  podCIDRs?: string[];
  providerID?: string;
  unschedulable?: boolean;
  taints?: Taint[];
}

export interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  conditions?: Array<{ type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string; lastHeartbeatTime?: string; lastTransitionTime?: string }>;
  addresses?: Array<{ type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS'; address: string }>;
  daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
  nodeInfo?: {
    machineID?: string; systemUUID?: string; bootID?: string; kernelVersion?: string; osImage?: string;
    containerRuntimeVersion?: string; kubeletVersion?: string; kubeProxyVersion?: string; operatingSystem?: string; architecture?: string;
  };
  images?: Array<{ names?: string[]; sizeBytes?: number }>;
  /** The RuntimeClass handlers the node can run (Kubernetes 1.30+); absent from older nodes. */
  runtimeHandlers?: NodeRuntimeHandler[];
}

/** One runtime handler a node offers, and what it supports. */
export interface NodeRuntimeHandler {
  name: string;
  features?: { recursiveReadOnlyMounts?: boolean; userNamespaces?: boolean };
}

export interface Node extends KubeObject {
  spec?: NodeSpec;
  status?: NodeStatus;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateNode(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const keys = new Set<string>();
  for (const [i, t] of ((o as Node).spec?.taints ?? []).entries()) {
    const p = `spec.taints[${i}]`;
    if (!t.key) errors.push(fieldErr.required(`${p}.key`));
    else check(errors, `${p}.key`, t.key, qualifiedName(t.key));
    if (t.value) check(errors, `${p}.value`, t.value, labelValue(t.value));
    if (!t.effect) errors.push(fieldErr.required(`${p}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect)) errors.push(fieldErr.notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const k = `${t.key}:${t.effect}`;
    if (keys.has(k)) errors.push(fieldErr.duplicate(p, k));
    keys.add(k);
  }
  return errors;
}

/**
 * The STATUS column as kubectl prints it: Ready when the Ready condition is True, NotReady when it is
 * False or Unknown, Unknown without a Ready condition; ",SchedulingDisabled" when cordoned.
 */
export function nodeStatusCell(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

/** The ROLES column: from node-role.kubernetes.io/<role> and kubernetes.io/role labels. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

const address = (node: Node, type: string) => node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';

export function nodeType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Node',
    resource: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status', 'proxy'],
    hasStatus: true,
    schema: kindSchema('Node is a worker node.', {
      spec: obj({
        podCIDR: str(),
        podCIDRs: list(str(), { strategy: 'merge', listType: 'set' }),
        providerID: str(),
        unschedulable: bool('Unschedulable controls node schedulability of new pods.'),
        taints: list(obj({ key: str(), value: str(), effect: str(undefined, TAINT_EFFECTS), timeAdded: time() }, { required: ['key', 'effect'] }), { listType: 'atomic' }),
        configSource: anything(),
        externalID: str(),
      }),
      status: obj({
        capacity: resourceListSchema,
        allocatable: resourceListSchema,
        phase: str(),
        conditions: conditionsList(),
        addresses: keyedList(obj({ type: str(), address: str() }), 'type', { listType: 'atomic' }),
        daemonEndpoints: obj({ kubeletEndpoint: obj({ Port: int32() }) }),
        nodeInfo: obj({
          machineID: str(), systemUUID: str(), bootID: str(), kernelVersion: str(), osImage: str(), containerRuntimeVersion: str(),
          kubeletVersion: str(), kubeProxyVersion: str(), operatingSystem: str(), architecture: str(), swap: anything(),
        }),
        images: list(obj({ names: stringList(), sizeBytes: int() }), { listType: 'atomic' }),
        volumesInUse: stringList(),
        volumesAttached: anything(),
        config: anything(),
        runtimeHandlers: list(obj({ name: str(), features: obj({ recursiveReadOnlyMounts: bool(), userNamespaces: bool() }) }), { listType: 'atomic' }),
        features: anything(),
      }),
    }),
    validateSpec: validateNode,
    table: {
      columns: [
        nameColumn(),
        column('Status', 'The status of the node'),
        column('Roles', 'The roles of the node'),
        ageColumn(),
        column('Version', 'Kubelet Version reported by the node.'),
        wide('Internal-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
        wide('External-IP', 'List of addresses reachable to the node. Queried from cloud provider, if available.'),
        wide('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).'),
        wide('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
        wide('Container-Runtime', 'Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).'),
      ],
      cells(o, now) {
        const n = o as Node;
        const info = n.status?.nodeInfo ?? {};
        return [
          n.metadata.name, nodeStatusCell(n), nodeRoles(n), age(n, now), info.kubeletVersion ?? '',
          address(n, 'InternalIP'), address(n, 'ExternalIP'), info.osImage || '<unknown>', info.kernelVersion || '<unknown>', info.containerRuntimeVersion || '<unknown>',
        ];
      },
    },
    fields: { 'spec.unschedulable': field('spec.unschedulable', 'false') },
  });
}
