import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matches, renderPolicies, type NetworkPolicyRule, type PolicyModel } from './policy-rules.js';

const pods = [
  { namespace: 'shop', name: 'api', ip: '10.42.1.2', labels: { app: 'api' }, namedPorts: { http: { port: 8080, protocol: 'TCP' as const } } },
  { namespace: 'shop', name: 'web', ip: '10.42.1.3', labels: { app: 'web' } },
  { namespace: 'ops', name: 'mon', ip: '10.42.2.2', labels: { app: 'mon' } },
  { namespace: 'other', name: 'x', ip: '10.42.2.3', labels: { app: 'web' } },
];
const namespaces: PolicyModel['namespaces'] = [
  { name: 'shop', labels: { team: 'shop' } },
  { name: 'ops', labels: { team: 'ops' } },
  { name: 'other', labels: {} },
];
const model = (...policies: NetworkPolicyRule[]): PolicyModel => ({ pods, namespaces, policies });
const chain = (script: string, name: string) =>
  script.split('\n').filter((l) => l.startsWith(`add rule ip nubis-policy ${name} `)).map((l) => l.slice(`add rule ip nubis-policy ${name} `.length));

describe('label selectors', () => {
  it('match labels and expressions', () => {
    assert.ok(matches({}, {}));
    assert.ok(matches({ matchLabels: { a: '1' } }, { a: '1', b: '2' }));
    assert.ok(!matches({ matchLabels: { a: '1' } }, { a: '2' }));
    assert.ok(matches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' }));
    assert.ok(matches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {}));
    assert.ok(!matches({ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, {}));
    assert.ok(matches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { b: '' }));
  });
});

describe('renderPolicies', () => {
  it('keeps tenants apart by a vmap to per-tenant chains, with each address once', () => {
    const tenanted: PolicyModel = {
      pods: [...pods, { namespace: 'ops', name: 'old', ip: '10.42.1.2', labels: {} }],
      namespaces: namespaces.map((n) => (n.name === 'shop' ? { ...n, labels: { ...n.labels, 'nubis.dev/tenant': 'acme' } } : n)),
      policies: [],
    };
    const script = renderPolicies(tenanted);
    assert.deepEqual(chain(script, 'tenant-acme'), ['ip daddr != @pods-acme drop']);
    assert.deepEqual(chain(script, 'no-tenant'), ['ip daddr != @pods-no-tenant drop']);
    assert.match(script, /add element ip nubis-policy pods-acme \{ 10\.42\.1\.2, 10\.42\.1\.3 \}/);
    assert.equal(script.match(/10\.42\.1\.2 : jump/g)?.length, 1, 'a repeated address appears once');
    assert.deepEqual(chain(script, 'forward').slice(0, 2), ['ct state established,related accept', 'ip daddr @all-pods ip saddr vmap @pod-tenant']);
    assert.doesNotMatch(renderPolicies(model()), /pod-tenant/, 'no tenant, no isolation rules');
    const closed = renderPolicies({ ...tenanted, podNetworks: ['10.42.1.0/24', '10.42.2.0/24', '10.42.1.0/24'] });
    assert.match(closed, /add element ip nubis-policy pod-networks \{ 10\.42\.1\.0\/24, 10\.42\.2\.0\/24 \}/);
    assert.deepEqual(chain(closed, 'forward').slice(1, 4), [
      'ip daddr @all-pods ip saddr vmap @pod-tenant',
      'ip saddr @pod-networks ip daddr @pod-networks ip saddr != @all-pods drop',
      'ip saddr @pod-networks ip daddr @pod-networks ip daddr != @all-pods drop',
    ]);
  });

  it('leaves unselected pods open and keeps replies flowing', () => {
    const s = renderPolicies(model());
    assert.match(s, /add rule ip nubis-policy forward ct state established,related accept/);
    assert.doesNotMatch(s, /add chain ip nubis-policy (in|eg)-/);
  });

  it('allows ingress from selected pods on numbered and named ports, and drops the rest', () => {
    const s = renderPolicies(
      model({
        namespace: 'shop',
        name: 'api-from-web',
        spec: {
          podSelector: { matchLabels: { app: 'api' } },
          ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }] }],
        },
      }),
    );
    // Only the pod in the policy's namespace, not the app=web pod of namespace "other".
    assert.deepEqual(chain(s, 'in-10-42-1-2'), [
      'ip saddr { 10.42.1.3 } meta l4proto tcp th dport { 8080 } accept',
      'ip saddr { 10.42.1.3 } meta l4proto udp th dport { 53 } accept',
      'drop',
    ]);
    assert.match(s, /add element ip nubis-policy ingress-pods \{ 10\.42\.1\.2 : jump in-10-42-1-2 \}/);
    assert.doesNotMatch(s, /in-10-42-1-3|eg-/);
  });

  it('selects namespaces, namespace+pod pairs and ipBlocks with exceptions; egress with port ranges', () => {
    const s = renderPolicies(
      model(
        {
          namespace: 'shop',
          name: 'ingress',
          spec: {
            podSelector: {},
            policyTypes: ['Ingress'],
            ingress: [
              { from: [{ namespaceSelector: { matchLabels: { team: 'ops' } } }] },
              { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }] },
            ],
          },
        },
        {
          namespace: 'shop',
          name: 'egress',
          spec: {
            podSelector: { matchLabels: { app: 'web' } },
            policyTypes: ['Egress'],
            egress: [{ to: [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.2.0/24'] } }], ports: [{ port: 8000, endPort: 8080 }] }],
          },
        },
      ),
    );
    assert.deepEqual(chain(s, 'in-10-42-1-3'), ['ip saddr { 10.42.2.2 } accept', 'ip saddr { 10.42.1.3, 10.42.2.3 } accept', 'drop']);
    assert.deepEqual(chain(s, 'eg-10-42-1-3'), ['ip daddr 10.42.0.0/16 ip daddr != { 10.42.2.0/24 } meta l4proto tcp th dport { 8000-8080 } accept', 'drop']);
  });

  it('denies everything for an empty policy, and refuses bad input', () => {
    const s = renderPolicies(model({ namespace: 'ops', name: 'deny', spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }));
    assert.deepEqual(chain(s, 'in-10-42-2-2'), ['drop']);
    assert.deepEqual(chain(s, 'eg-10-42-2-2'), ['drop']);
    assert.throws(
      () => renderPolicies(model({ namespace: 'ops', name: 'bad', spec: { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.1/8' } }] }] } })),
      /host bits set/,
    );
  });
});
