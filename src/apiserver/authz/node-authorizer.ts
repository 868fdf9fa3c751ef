/**
 * The Node authorizer: what an agent (user `system:node:<name>`, group `system:nodes`) may do. It reads
 * the Secrets, ConfigMaps, PersistentVolumeClaims and ServiceAccount tokens that pods bound to it use,
 * and nothing else of that kind; writes its own Node and Lease, its pods' status (NodeRestriction checks
 * which pods in admission, where the stored pod is at hand) and Events; and reads what networking needs
 * everywhere (pods, Services, EndpointSlices, namespaces, NetworkPolicies, Nodes).
 */
import type { KubeObject } from '../../api/meta.js';
import { podReferences, type PodReferences } from '../../api/core/v1/pod-references.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { ObjectStore } from '../../store/object-store.js';
import { StoreMirror } from '../store-mirror.js';
import type { Attributes, Authorizer, AuthzResult } from './authorizer.js';
import { NO_OPINION } from './authorizer.js';

export const NODES_GROUP = 'system:nodes';
const NODE_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

/** The node a user is, if it is one. */
export function nodeNameOf(user: { name: string; groups: string[] }): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_PREFIX)) return undefined;
  const name = user.name.slice(NODE_PREFIX.length);
  return name || undefined;
}

const READ = new Set(['get', 'list', 'watch']);
/** Read everywhere: what pods, networking and node status need. */
const READABLE: Record<string, Set<string>> = {
  '': new Set(['pods', 'services', 'endpoints', 'namespaces', 'nodes']),
  'discovery.k8s.io': new Set(['endpointslices']),
  'networking.k8s.io': new Set(['networkpolicies']),
  'node.k8s.io': new Set(['runtimeclasses']),
};
type RefKind = keyof PodReferences;
const REFERENCED: Record<string, RefKind> = { secrets: 'secrets', configmaps: 'configmaps', persistentvolumeclaims: 'persistentvolumeclaims' };

interface PodEdge {
  node: string;
  namespace: string;
  refs: PodReferences;
}

const allow = (reason: string): AuthzResult => ({ decision: 'allow', reason });
const deny = (reason: string): AuthzResult => ({ decision: 'deny', reason });

export class NodeAuthorizer implements Authorizer {
  readonly name = 'node';
  private readonly pods: StoreMirror;
  /** node → "namespace/kind/name" → how many of its pods use it. */
  private readonly uses = new Map<string, Map<string, number>>();
  private readonly edges = new Map<string, PodEdge>();

  constructor(private readonly store: ObjectStore) {
    this.pods = new StoreMirror(store, { resource: 'pods' });
    this.pods.onChange((key, obj) => this.index(key, obj));
  }

  start(signal: AbortSignal): Promise<void> {
    return this.pods.start(signal);
  }

  private index(key: string, obj: KubeObject | undefined): void {
    const old = this.edges.get(key);
    if (old) this.count(old, -1);
    this.edges.delete(key);
    const node = (obj as Pod | undefined)?.spec?.nodeName;
    if (!obj || !node) return;
    const edge: PodEdge = { node, namespace: obj.metadata.namespace ?? '', refs: podReferences(obj as Pod) };
    this.edges.set(key, edge);
    this.count(edge, 1);
  }

  private count(e: PodEdge, delta: number): void {
    let m = this.uses.get(e.node);
    if (!m) this.uses.set(e.node, (m = new Map()));
    for (const [kind, names] of Object.entries(e.refs) as Array<[RefKind, string[]]>) {
      for (const n of names) {
        const k = `${e.namespace}/${kind}/${n}`;
        const v = (m.get(k) ?? 0) + delta;
        if (v > 0) m.set(k, v);
        else m.delete(k);
      }
    }
    if (m.size === 0) this.uses.delete(e.node);
  }

  /** Whether a pod bound to `node` uses the object; asks the store when the mirror does not know (yet). */
  private async uses_(node: string, namespace: string, kind: RefKind, name: string): Promise<boolean> {
    if (this.uses.get(node)?.has(`${namespace}/${kind}/${name}`)) return true;
    // The mirror may lag a binding made a moment ago: read the namespace's pods themselves.
    const { items } = await this.store.list<Pod>({ resource: 'pods' }, { namespace });
    return items.some((p) => p.spec?.nodeName === node && podReferences(p)[kind].includes(name));
  }

  async authorize(a: Attributes): Promise<AuthzResult> {
    const node = nodeNameOf(a.user);
    if (!node || a.path !== undefined) return NO_OPINION;
    const group = a.group ?? '';
    const res = a.resource ?? '';
    const sub = a.subresource;
    if (!sub && READ.has(a.verb) && READABLE[group]?.has(res)) return allow('nodes read pods, networking and nodes');
    if (group === '' && REFERENCED[res] && !sub) {
      if (a.verb !== 'get' || !a.name || !a.namespace) return deny(`node "${node}" may only get individual ${res} its pods use`);
      return (await this.uses_(node, a.namespace, REFERENCED[res]!, a.name)) ? allow(`a pod on node "${node}" uses it`) : deny(`no relationship found between node "${node}" and this object`);
    }
    if (group === '' && res === 'serviceaccounts' && sub === 'token' && a.verb === 'create') {
      if (!a.name || !a.namespace) return deny('a token is requested for one service account');
      return (await this.uses_(node, a.namespace, 'serviceaccounts', a.name)) ? allow(`a pod on node "${node}" runs as it`) : deny(`no relationship found between node "${node}" and this object`);
    }
    if (group === '' && res === 'nodes') {
      // NodeRestriction admission checks that the Node written is this node's own.
      if (!sub && ['create', 'update', 'patch'].includes(a.verb)) return allow('nodes register and update themselves');
      if (sub === 'status' && ['get', 'update', 'patch'].includes(a.verb)) return allow('nodes report their status');
      return NO_OPINION;
    }
    if (group === '' && res === 'pods') {
      // NodeRestriction admission checks that the pod is bound to this node.
      if (sub === 'status' && ['get', 'update', 'patch'].includes(a.verb)) return allow('nodes report their pods\' status');
      if (!sub && a.verb === 'delete') return allow('nodes remove their stopped pods');
      return NO_OPINION;
    }
    if (group === 'coordination.k8s.io' && res === 'leases' && !sub) {
      if (a.namespace === NODE_LEASE_NAMESPACE && (a.name === node || (a.verb === 'create' && !a.name)) && ['get', 'create', 'update', 'patch', 'delete'].includes(a.verb)) return allow('a node keeps its own lease');
      return deny(`node "${node}" may only use its own lease in ${NODE_LEASE_NAMESPACE}`);
    }
    if ((group === '' || group === 'events.k8s.io') && res === 'events' && ['create', 'update', 'patch'].includes(a.verb)) return allow('nodes report events');
    if (group === 'certificates.k8s.io' && res === 'certificatesigningrequests' && !sub && ['create', 'get', 'list', 'watch'].includes(a.verb)) return allow('nodes renew their certificates');
    return NO_OPINION;
  }
}
