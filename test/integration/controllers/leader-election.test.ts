/**
 * Leader election through a Lease on a real API server: one of two candidates leads; when its signal
 * aborts it releases the Lease and the other leads within a retry period; a leader that dies without
 * releasing is replaced once the lease duration passes; never two leaders at once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Lease } from '../../../src/api/coordination/v1/lease.js';
import type { RestClient } from '../../../src/client/rest-client.js';
import { LeaderElector } from '../../../src/controllers/leader-election.js';
import { LEASES } from '../../../src/controllers/resources.js';
import { TestServer } from '../apiserver/harness.js';
import { clientFor, eventually } from './harness.js';

let s: TestServer;
let client: RestClient;
before(async () => {
  s = await TestServer.start();
  client = await clientFor(s);
});
after(async () => {
  client?.close();
  await s?.close();
});

interface Candidate {
  elector: LeaderElector;
  abort: AbortController;
  leading: boolean;
  stopped: number;
  done: Promise<void>;
}

const timing = { leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 1 };

test('one leader at a time; release hands over, a dead leader is replaced after the lease duration', async () => {
  let leaders = 0;
  let overlap = false;
  const start = (identity: string, releaseOnCancel = true): Candidate => {
    const c: Candidate = { elector: new LeaderElector(client, { name: 'nubis-controllers', identity, releaseOnCancel, ...timing }), abort: new AbortController(), leading: false, stopped: 0, done: Promise.resolve() };
    c.done = c.elector.run(
      c.abort.signal,
      (leading) => {
        leaders++;
        if (leaders > 1) overlap = true;
        c.leading = true;
        leading.addEventListener('abort', () => {
          leaders--;
          c.leading = false;
        }, { once: true });
      },
      () => c.stopped++,
    );
    return c;
  };
  const a = start('server-a');
  await eventually('server-a leads', async () => a.leading);
  const b = start('server-b', false);
  // b keeps trying while a renews: a stays the leader over several lease durations' worth of retries.
  await eventually('server-b saw the lease held by server-a', async () => b.elector.observedHolder === 'server-a');
  assert.equal(b.leading, false);
  let lease = await client.get<Lease>(LEASES, 'nubis-controllers', { namespace: 'kube-system' });
  assert.equal(lease.spec?.holderIdentity, 'server-a');
  assert.equal(lease.spec?.leaseDurationSeconds, 3);
  assert.match(lease.spec?.renewTime ?? '', /\.\d{6}Z$/);

  // a's signal aborts: it releases, b takes over.
  a.abort.abort();
  await a.done;
  assert.equal(a.leading, false);
  assert.equal(a.stopped, 1);
  await eventually('server-b leads after the release', async () => b.leading, 10_000);
  lease = await client.get<Lease>(LEASES, 'nubis-controllers', { namespace: 'kube-system' });
  assert.equal(lease.spec?.holderIdentity, 'server-b');
  assert.equal(lease.spec?.leaseTransitions, 0, 'taking a released lease is not a transition');

  // b dies without releasing (as a killed process would); c waits out the lease, then leads.
  const c = start('server-c');
  await eventually('server-c saw server-b', async () => c.elector.observedHolder === 'server-b');
  b.abort.abort();
  await b.done;
  await eventually('server-c leads after the lease expired', async () => c.leading, 15_000);
  lease = await client.get<Lease>(LEASES, 'nubis-controllers', { namespace: 'kube-system' });
  assert.equal(lease.spec?.holderIdentity, 'server-c');
  assert.equal(lease.spec?.leaseTransitions, 1);
  c.abort.abort();
  await c.done;
  assert.equal(overlap, false, 'never two leaders at once');
});
