import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PolicyRule } from '../../api/rbac/v1/rbac.js';
import type { Attributes } from './authorizer.js';
import { ruleAllows, uncovered } from './policy-rules.js';

const user = { name: 'u', groups: [] };
const res = (verb: string, resource: string, extra: Partial<Attributes> = {}): Attributes => ({ user, verb, group: '', resource, namespace: 'ns', ...extra });

describe('ruleAllows', () => {
  it('matches verbs, groups, resources and subresources, with wildcards', () => {
    const r: PolicyRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/log'] };
    assert.ok(ruleAllows(r, res('get', 'pods')));
    assert.ok(ruleAllows(r, res('get', 'pods', { subresource: 'log' })));
    assert.ok(!ruleAllows(r, res('get', 'pods', { subresource: 'exec' })), 'a resource does not grant its subresources');
    assert.ok(!ruleAllows(r, res('delete', 'pods')));
    assert.ok(!ruleAllows(r, res('get', 'pods', { group: 'apps' })));
    assert.ok(ruleAllows({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, res('delete', 'deployments', { group: 'apps', subresource: 'scale' })));
    assert.ok(ruleAllows({ verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] }, res('update', 'deployments', { group: 'apps', subresource: 'scale' })));
  });

  it('limits by resource names: a named rule never allows list or create', () => {
    const r: PolicyRule = { verbs: ['get', 'list', 'create'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cluster-info'] };
    assert.ok(ruleAllows(r, res('get', 'configmaps', { name: 'cluster-info' })));
    assert.ok(!ruleAllows(r, res('get', 'configmaps', { name: 'other' })));
    assert.ok(!ruleAllows(r, res('list', 'configmaps')));
    assert.ok(!ruleAllows(r, res('create', 'configmaps')));
  });

  it('matches non-resource paths exactly or by a trailing *', () => {
    const r: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/healthz', '/apis/*'] };
    assert.ok(ruleAllows(r, { user, verb: 'get', path: '/healthz' }));
    assert.ok(ruleAllows(r, { user, verb: 'get', path: '/apis/apps/v1' }));
    assert.ok(!ruleAllows(r, { user, verb: 'get', path: '/healthz/etcd' }));
    assert.ok(!ruleAllows(r, res('get', 'healthz')), 'a path rule grants no resource');
  });
});

describe('uncovered (escalation checks)', () => {
  it('a holder of edit covers view; view does not cover edit', () => {
    const view: PolicyRule[] = [{ verbs: ['get', 'list', 'watch'], apiGroups: ['', 'apps'], resources: ['pods', 'deployments'] }];
    const edit: PolicyRule[] = [{ verbs: ['get', 'list', 'watch', 'create', 'delete'], apiGroups: ['', 'apps'], resources: ['pods', 'deployments'] }];
    assert.deepEqual(uncovered(edit, view), []);
    assert.deepEqual(
      uncovered(view, edit).map((r) => `${r.verbs[0]} ${r.apiGroups?.[0]}/${r.resources?.[0]}`),
      ['create /pods', 'create /deployments', 'create apps/pods', 'create apps/deployments', 'delete /pods', 'delete /deployments', 'delete apps/pods', 'delete apps/deployments'],
    );
  });

  it('wildcards are covered only by wildcards; names by the same names or none', () => {
    const podsOnly: PolicyRule[] = [{ verbs: ['*'], apiGroups: [''], resources: ['pods'] }];
    assert.equal(uncovered(podsOnly, [{ verbs: ['get'], apiGroups: [''], resources: ['*'] }]).length, 1);
    assert.equal(uncovered(podsOnly, [{ verbs: ['get'], apiGroups: ['*'], resources: ['pods'] }]).length, 1);
    assert.deepEqual(uncovered(podsOnly, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['a'] }]), []);
    const named: PolicyRule[] = [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }];
    assert.deepEqual(uncovered(named, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }]), []);
    assert.equal(uncovered(named, [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]).length, 1, 'a named grant does not cover all names');
    assert.deepEqual(uncovered([{ verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] }], [{ verbs: ['update'], apiGroups: ['apps'], resources: ['deployments/scale'] }]), []);
    assert.deepEqual(uncovered([{ verbs: ['get'], nonResourceURLs: ['/metrics*'] }], [{ verbs: ['get'], nonResourceURLs: ['/metrics/cadvisor'] }]), []);
    assert.equal(uncovered([{ verbs: ['get'], nonResourceURLs: ['/metrics'] }], [{ verbs: ['get'], nonResourceURLs: ['*'] }]).length, 1);
  });
});
