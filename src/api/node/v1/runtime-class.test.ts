import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { builtinResources } from '../../registry.js';
import { runtimeClassType, type RuntimeClass } from './runtime-class.js';

const type = runtimeClassType();
const rc = (extra: Record<string, unknown> = {}): RuntimeClass => ({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'microvm' }, handler: 'nubis-microvm', ...extra });
const errors = (o: KubeObject, old?: KubeObject) => type.validate(o, old).map((e) => `${e.field}: ${e.message}`);

describe('RuntimeClass', () => {
  it('is served as node.k8s.io/v1 runtimeclasses, cluster-scoped, with NAME, HANDLER and AGE columns', () => {
    const registry = builtinResources();
    const t = registry.find('runtimeclass')!;
    assert.equal(t, registry.byKind('node.k8s.io', 'v1', 'RuntimeClass'));
    assert.equal(t.resource, 'runtimeclasses');
    assert.equal(t.namespaced, false);
    assert.deepEqual(t.table.columns.map((c) => c.name), ['Name', 'Handler', 'Age']);
    assert.deepEqual(t.table.cells({ ...rc(), metadata: { name: 'microvm', creationTimestamp: '2024-05-01T10:00:00Z' } }, Date.parse('2024-05-01T10:00:30Z')), ['microvm', 'nubis-microvm', '30s']);
  });

  it('accepts a full class', () => {
    const full = rc({
      overhead: { podFixed: { cpu: '250m', memory: '160Mi' } },
      scheduling: { nodeSelector: { 'nubis.dev/microvm': 'true' }, tolerations: [{ key: 'microvm', operator: 'Exists', effect: 'NoSchedule' }, { key: 'microvm', operator: 'Exists', effect: 'NoExecute' }] },
    });
    assert.deepEqual(errors(full), []);
  });

  it('requires a handler that is a DNS label', () => {
    const { handler: _, ...without } = rc();
    assert.deepEqual(errors(without as KubeObject), ['handler: Required value']);
    const bad = errors(rc({ handler: 'Nubis_VM' }));
    assert.equal(bad.length, 1);
    assert.match(bad[0]!, /^handler: Invalid value: "Nubis_VM": a lowercase RFC 1123 label must consist of/);
    assert.match(errors(rc({ handler: 'x'.repeat(64) }))[0]!, /must be no more than 63 characters/);
  });

  it('keeps its handler for life', () => {
    const old = rc();
    assert.deepEqual(errors(rc({ handler: 'runc' }), old), ['handler: Invalid value: "runc": field is immutable']);
    assert.deepEqual(errors(rc({ overhead: { podFixed: { cpu: '1' } } }), old), []);
  });

  it('checks overhead resource names and quantities', () => {
    assert.deepEqual(errors(rc({ overhead: { podFixed: { cpu: '-1', pods: '1' } } })), [
      'overhead.podFixed[cpu]: Invalid value: "-1": must be greater than or equal to 0',
      'overhead.podFixed[pods]: Invalid value: "pods": must be a standard resource for containers',
    ]);
  });

  it('checks the scheduling node selector and tolerations, which must be unique by key, operator and effect', () => {
    assert.deepEqual(errors(rc({ scheduling: { nodeSelector: { 'bad key!': 'v' } } })).length, 1);
    assert.deepEqual(errors(rc({ scheduling: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } })), [
      'scheduling.tolerations[0].operator: Invalid value: "Exists": value must be empty when `operator` is \'Exists\'',
    ]);
    const twice = errors(rc({ scheduling: { tolerations: [{ key: 'k', operator: 'Equal', value: 'a' }, { key: 'k', operator: 'Equal', value: 'b' }] } }));
    assert.deepEqual(twice, ['scheduling.tolerations[1]: Duplicate value: {"key":"k","operator":"Equal","value":"b"}']);
  });

  it('stores overhead quantities in canonical form', () => {
    const o = rc({ overhead: { podFixed: { cpu: '0.25', memory: '163840Ki' } } });
    type.defaults(o);
    assert.deepEqual(o.overhead, { podFixed: { cpu: '250m', memory: '160Mi' } });
  });
});
