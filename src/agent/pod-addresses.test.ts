import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { dnsViewOf, podsByIp } from './pod-addresses.js';

const pod = (ns: string, name: string, ip: string, extra: Partial<Pod['metadata']> = {}): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: ns, name, creationTimestamp: '2026-01-01T00:00:00Z', ...extra }, spec: { containers: [] }, status: { podIP: ip, phase: 'Running' } });

test('a pod resolves its tenant\'s names; an unknown pod address none; other addresses all', () => {
  const byIp = podsByIp([pod('acme-a', 'web', '10.42.1.2'), pod('globex', 'db', '10.42.1.3'), pod('acme-a', 'old', '10.42.1.2', { deletionTimestamp: '2026-01-01T00:00:01Z' })]);
  assert.equal(byIp.get('10.42.1.2')?.metadata.name, 'web', 'the pod not being deleted holds a reused address');
  const tenant = (ns: string) => (ns.startsWith('acme') ? 'acme' : ns === 'globex' ? 'globex' : '');
  const inPods = (ip: string) => ip.startsWith('10.42.');
  const web = dnsViewOf(byIp, '10.42.1.2', tenant, inPods)!;
  assert.equal(web('acme-b'), true);
  assert.equal(web('globex'), false);
  assert.equal(web('default'), false);
  const stranger = dnsViewOf(byIp, '10.42.1.9', tenant, inPods)!;
  assert.equal(stranger('acme-a') || stranger('globex') || stranger('default'), false, 'an address no pod holds sees nothing');
  assert.equal(dnsViewOf(byIp, '192.168.1.5', tenant, inPods), undefined, 'the node and the outside see everything');
  assert.equal(dnsViewOf(byIp, '10.42.1.9', tenant), undefined, 'without tenancy, unknown addresses see everything');
});
