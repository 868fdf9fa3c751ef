import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { networkPolicyType } from './network-policy.js';

const type = networkPolicyType();
const errs = (o: unknown) => type.validate(o as KubeObject).map((e) => `${e.field} ${e.type}`);
const np = (spec: unknown): any => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' }, spec });

describe('NetworkPolicy', () => {
  it('defaults policyTypes from the rules present and port protocols to TCP', () => {
    const ingressOnly = np({ podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] });
    type.defaults(ingressOnly);
    assert.deepEqual(ingressOnly.spec.policyTypes, ['Ingress']);
    assert.equal(ingressOnly.spec.ingress[0].ports[0].protocol, 'TCP');
    const noSelector = np({});
    type.defaults(noSelector);
    assert.deepEqual(noSelector.spec.podSelector, {}, 'no podSelector selects every pod');
    const both = np({ podSelector: {}, egress: [{}] });
    type.defaults(both);
    assert.deepEqual(both.spec.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(errs(both), []);
  });

  it('refuses bad peers, CIDRs, ports and policy types with field errors', () => {
    assert.deepEqual(
      errs(np({
        podSelector: { matchLabels: { 'bad key!': 'x' } },
        policyTypes: ['Sideways'],
        ingress: [{ from: [{}, { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }, { ipBlock: { cidr: 'nope' } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }], ports: [{ port: 70000 }, { protocol: 'ICMP' }, { port: 90, endPort: 80 }] }],
      })),
      [
        'spec.podSelector.matchLabels FieldValueInvalid',
        'spec.policyTypes FieldValueNotSupported',
        'spec.ingress[0].from[0] FieldValueRequired',
        'spec.ingress[0].from[1] FieldValueForbidden',
        'spec.ingress[0].from[2].ipBlock.cidr FieldValueInvalid',
        'spec.ingress[0].from[3].ipBlock.except[0] FieldValueInvalid',
        'spec.ingress[0].ports[0].port FieldValueInvalid',
        'spec.ingress[0].ports[1].protocol FieldValueNotSupported',
        'spec.ingress[0].ports[2].endPort FieldValueInvalid',
      ],
    );
  });

  it('shows its pod selector in tables', () => {
    const row = type.table.cells(np({ podSelector: { matchLabels: { app: 'web' } } }), Date.parse('2024-05-01T12:00:00Z'));
    assert.deepEqual(row, ['p', 'app=web', '60m']);
  });
});
