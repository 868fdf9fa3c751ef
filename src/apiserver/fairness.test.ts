import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlightLimits } from './fairness.js';

test('a user and a tenant get a bounded share; admins, nodes and other users are not held up', () => {
  const limits = new InFlightLimits({ perUser: 2, perTenant: 3 });
  const alice = { name: 'alice', groups: ['nubis:tenant:acme', 'system:authenticated'] };
  const bob = { name: 'bob', groups: ['nubis:tenant:acme', 'system:authenticated'] };
  const carol = { name: 'carol', groups: ['nubis:tenant:globex'] };
  const a1 = limits.tryAcquire(alice, '10.0.0.1');
  const a2 = limits.tryAcquire(alice, '10.0.0.1');
  assert.ok(a1 && a2);
  assert.equal(limits.tryAcquire(alice, '10.0.0.1'), undefined, 'alice at her limit');
  const b1 = limits.tryAcquire(bob, '10.0.0.2');
  assert.ok(b1);
  assert.equal(limits.tryAcquire(bob, '10.0.0.2'), undefined, 'acme at its limit');
  assert.ok(limits.tryAcquire(carol, '10.0.0.3'), 'another tenant goes on');
  for (let i = 0; i < 10; i++) assert.ok(limits.tryAcquire({ name: 'admin', groups: ['system:masters'] }, undefined));
  a1();
  a1(); // twice is once
  assert.ok(limits.tryAcquire(bob, '10.0.0.2'), 'a freed slot serves the tenant again');
  const anon = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
  assert.ok(limits.tryAcquire(anon, '1.1.1.1') && limits.tryAcquire(anon, '1.1.1.1'));
  assert.equal(limits.tryAcquire(anon, '1.1.1.1'), undefined);
  assert.ok(limits.tryAcquire(anon, '2.2.2.2'), 'anonymous clients are told apart by address');
});

test('the scheduler and the controllers are not held to a limit; a look-alike user is', () => {
  const limits = new InFlightLimits({ perUser: 1, perTenant: 1 });
  for (const name of ['system:kube-scheduler', 'system:kube-controller-manager', 'system:serviceaccount:kube-system:replicaset-controller']) {
    for (let i = 0; i < 50; i++) assert.ok(limits.tryAcquire({ name, groups: [] }, undefined), `${name}, request ${i}`);
  }
  const other = { name: 'system:serviceaccount:kube-system:my-controller', groups: ['system:serviceaccounts:kube-system'] };
  assert.ok(limits.tryAcquire(other, undefined));
  assert.equal(limits.tryAcquire(other, undefined), undefined, 'another kube-system account is a user like any other');
});
