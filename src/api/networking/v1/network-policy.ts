import { defineType } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import { kindSchema, labelSelectorSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32, intOrString, list, obj, str, stringList } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, isPortNumber, validateLabelSelector } from '../../validation.js';
import { parseCidr } from '../../../lib/cidr.js';

export interface NetworkPolicyPeer {
  podSelector?: LabelSelectorSpec;
  namespaceSelector?: LabelSelectorSpec;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicySpec {
  podSelector: LabelSelectorSpec;
  policyTypes?: Array<'Ingress' | 'Egress'>;
  ingress?: Array<{ from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
  egress?: Array<{ to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }>;
}

export interface NetworkPolicy extends KubeObject {
  spec?: NetworkPolicySpec;
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

/** Kubernetes' defaults: protocol TCP, policyTypes from the rules present (Ingress always). */
function defaultPolicy(o: KubeObject): void {
  const spec = (o as NetworkPolicy).spec;
  if (!spec) return;
  spec.podSelector ??= {}; // absent: every pod of the namespace, as in Kubernetes
  for (const r of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) for (const p of r.ports ?? []) p.protocol ??= 'TCP';
  if (!spec.policyTypes?.length) spec.policyTypes = spec.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
}

function validatePeer(p: NetworkPolicyPeer, field: string, errors: FieldError[]): void {
  const set = [p.podSelector, p.namespaceSelector, p.ipBlock].filter((x) => x !== undefined).length;
  if (set === 0) errors.push(fieldErr.required(field, 'must specify a peer'));
  if (p.ipBlock && (p.podSelector || p.namespaceSelector)) errors.push(fieldErr.forbidden(field, 'may not specify more than 1 peer type'));
  errors.push(...validateLabelSelector(p.podSelector, `${field}.podSelector`), ...validateLabelSelector(p.namespaceSelector, `${field}.namespaceSelector`));
  if (p.ipBlock) {
    let block;
    try {
      block = parseCidr(p.ipBlock.cidr ?? '');
    } catch {
      errors.push(fieldErr.invalid(`${field}.ipBlock.cidr`, p.ipBlock.cidr, 'must be a valid CIDR (an IPv4 address/prefix; IPv6 is not supported)'));
    }
    for (const [i, e] of (p.ipBlock.except ?? []).entries()) {
      try {
        const ex = parseCidr(e);
        if (block && (ex.prefix <= block.prefix || (ex.base & (2 ** 32 - 2 ** (32 - block.prefix))) >>> 0 !== block.base)) {
          errors.push(fieldErr.invalid(`${field}.ipBlock.except[${i}]`, e, 'must be a strict subset of `cidr`'));
        }
      } catch {
        errors.push(fieldErr.invalid(`${field}.ipBlock.except[${i}]`, e, 'must be a valid CIDR'));
      }
    }
  }
}

function validatePorts(ports: NetworkPolicyPort[] | undefined, field: string, errors: FieldError[]): void {
  for (const [i, p] of (ports ?? []).entries()) {
    const f = `${field}[${i}]`;
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) errors.push(fieldErr.notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
    if (typeof p.port === 'number' && !isPortNumber(p.port)) errors.push(fieldErr.invalid(`${f}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    if (p.endPort !== undefined) {
      if (typeof p.port !== 'number') errors.push(fieldErr.required(`${f}.port`, 'must be specified when endPort is specified'));
      else if (!isPortNumber(p.endPort) || p.endPort < p.port) errors.push(fieldErr.invalid(`${f}.endPort`, p.endPort, 'must be greater than or equal to `port`'));
    }
  }
}

function validatePolicy(o: KubeObject): FieldError[] {
  const spec = (o as NetworkPolicy).spec;
  if (!spec) return [fieldErr.required('spec')];
  const errors = validateLabelSelector(spec.podSelector ?? {}, 'spec.podSelector');
  for (const t of spec.policyTypes ?? []) if (t !== 'Ingress' && t !== 'Egress') errors.push(fieldErr.notSupported('spec.policyTypes', t, ['Egress', 'Ingress']));
  for (const [i, r] of (spec.ingress ?? []).entries()) {
    for (const [j, p] of (r.from ?? []).entries()) validatePeer(p, `spec.ingress[${i}].from[${j}]`, errors);
    validatePorts(r.ports, `spec.ingress[${i}].ports`, errors);
  }
  for (const [i, r] of (spec.egress ?? []).entries()) {
    for (const [j, p] of (r.to ?? []).entries()) validatePeer(p, `spec.egress[${i}].to[${j}]`, errors);
    validatePorts(r.ports, `spec.egress[${i}].ports`, errors);
  }
  return errors;
}

function selectorText(sel: LabelSelectorSpec | undefined): string {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) parts.push(`${e.key} ${e.operator.toLowerCase()}${e.values?.length ? ` (${e.values.join(',')})` : ''}`);
  return parts.length ? parts.join(',') : '<none>';
}

const peerSchema = obj({
  podSelector: labelSelectorSchema,
  namespaceSelector: labelSelectorSchema,
  ipBlock: obj({ cidr: str(), except: stringList() }, { required: ['cidr'] }),
});
const portSchema = obj({ protocol: str(undefined, PROTOCOLS), port: intOrString(), endPort: int32() });

export function networkPolicyType(): ResourceType {
  return defineType({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    resource: 'networkpolicies',
    singular: 'networkpolicy',
    namespaced: true,
    shortNames: ['netpol'],
    subresources: [],
    hasStatus: false,
    schema: kindSchema('NetworkPolicy describes what network traffic is allowed for a set of Pods.', {
      spec: obj({
        podSelector: labelSelectorSchema,
        policyTypes: stringList(),
        ingress: list(obj({ from: list(peerSchema, { listType: 'atomic' }), ports: list(portSchema, { listType: 'atomic' }) }), { listType: 'atomic' }),
        egress: list(obj({ to: list(peerSchema, { listType: 'atomic' }), ports: list(portSchema, { listType: 'atomic' }) }), { listType: 'atomic' }),
      }),
    }),
    defaults: defaultPolicy,
    validateSpec: validatePolicy,
    table: {
      columns: [nameColumn(), column('Pod-Selector', 'The pods the policy applies to.'), ageColumn()],
      cells: (o, now) => [o.metadata.name, selectorText((o as NetworkPolicy).spec?.podSelector), age(o, now)],
    },
  });
}
