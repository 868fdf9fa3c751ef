import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import { fieldValue, matchesFields, parseFieldSelector } from './field-selector.js';
import { formatLabelSelector, labelSelectorFromSpec, matchesLabels, parseLabelSelector } from './label-selector.js';

describe('parseLabelSelector', () => {
  it('reads every operator of the Kubernetes syntax', () => {
    const sel = parseLabelSelector('app=web, tier==front,env!=prod,zone in (a, b),role notin (x),has,!gone,n>3,m<10,empty=');
    assert.deepEqual(sel.requirements, [
      { key: 'app', op: 'eq', value: 'web' },
      { key: 'tier', op: 'eq', value: 'front' },
      { key: 'env', op: 'neq', value: 'prod' },
      { key: 'zone', op: 'in', values: ['a', 'b'] },
      { key: 'role', op: 'notin', values: ['x'] },
      { key: 'has', op: 'exists' },
      { key: 'gone', op: 'notexists' },
      { key: 'n', op: 'gt', value: 3 },
      { key: 'm', op: 'lt', value: 10 },
      { key: 'empty', op: 'eq', value: '' },
    ]);
    assert.equal(formatLabelSelector(sel), 'app=web,tier=front,env!=prod,zone in (a,b),role notin (x),has,!gone,n>3,m<10,empty=');
    assert.deepEqual(parseLabelSelector(formatLabelSelector(sel)), sel);
    assert.deepEqual(parseLabelSelector('example.com/app=web').requirements, [{ key: 'example.com/app', op: 'eq', value: 'web' }]);
    assert.deepEqual(parseLabelSelector('  ').requirements, []);
  });

  it('refuses malformed selectors with Invalid', () => {
    for (const bad of ['a=b=c', 'a in b', 'a in (b', 'a,,b', '=b', 'a b', '-a=b', 'a=-b', 'Bad_Prefix/x=y', 'n>x', `${'k'.repeat(64)}=v`]) {
      assert.throws(() => parseLabelSelector(bad), (err: unknown) => isNubisError(err, 'Invalid'), bad);
    }
  });

  it('matches labels as Kubernetes does', () => {
    const m = (sel: string, labels: Record<string, string>) => matchesLabels(parseLabelSelector(sel), labels);
    assert.equal(m('', {}), true);
    assert.equal(m('app=web', { app: 'web' }), true);
    assert.equal(m('app!=web', {}), true, '!= matches a missing label');
    assert.equal(m('app notin (web)', {}), true, 'notin matches a missing label');
    assert.equal(m('app in (web)', {}), false);
    assert.equal(m('app', { app: '' }), true);
    assert.equal(m('!app', { app: '' }), false);
    assert.equal(m('n>3', { n: '4' }), true);
    assert.equal(m('n>3', { n: 'four' }), false);
    assert.equal(m('a=1,b=2', { a: '1', b: '3' }), false);
  });

  it('builds selectors from metav1.LabelSelector', () => {
    const sel = labelSelectorFromSpec({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] });
    assert.equal(formatLabelSelector(sel), 'app=web,tier notin (db)');
    assert.throws(() => labelSelectorFromSpec({ matchExpressions: [{ key: 'a', operator: 'In' }] }), /needs values/);
  });
});

describe('parseFieldSelector', () => {
  it('reads and matches dotted fields, with escapes', () => {
    const sel = parseFieldSelector('metadata.name=web,spec.nodeName!=n1,metadata.namespace==a\\,b');
    assert.deepEqual(sel.requirements, [
      { field: 'metadata.name', op: 'eq', value: 'web' },
      { field: 'spec.nodeName', op: 'neq', value: 'n1' },
      { field: 'metadata.namespace', op: 'eq', value: 'a,b' },
    ]);
    const obj = { metadata: { name: 'web', namespace: 'a,b' }, spec: { nodeName: 'n2', replicas: 3 } };
    assert.equal(matchesFields(sel, obj), true);
    assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), { spec: {} }), true, 'a missing field is empty');
    assert.equal(fieldValue(obj, 'spec.replicas'), '3');
    assert.throws(() => parseFieldSelector('metadata.name'), (err: unknown) => isNubisError(err, 'Invalid'));
    assert.throws(() => parseFieldSelector('a=b=c'), (err: unknown) => isNubisError(err, 'Invalid'));
  });
});
