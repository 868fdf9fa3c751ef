/**
 * PodSecurity admission through the real kubectl: a namespace's enforce label refuses pods that break
 * its standard with Kubernetes' wording, its warn label warns (also for Deployments' templates), a
 * tenant's podSecurity is the least level of its namespaces, and bad label values are refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { requireKubectl, TestServer } from './harness.js';

let s: TestServer;

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  await s.kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: v1
kind: Namespace
metadata: {name: strict, labels: {pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/warn: restricted}}
---
apiVersion: nubis.dev/v1
kind: Tenant
metadata: {name: acme}
spec: {podSecurity: restricted, allow: {hostNetwork: true}}
---
apiVersion: v1
kind: Namespace
metadata: {name: acme-web, labels: {nubis.dev/tenant: acme, pod-security.kubernetes.io/enforce: privileged}}
`,
  });
});

after(async () => {
  await s?.close();
});

const pod = (name: string, ns: string, spec: object) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'app', image: 'busybox' }], ...spec } });

test('enforce refuses what breaks the standard; warn warns; both with Kubernetes\' wording', async () => {
  const hostile = await s.kubectl(['apply', '-f', '-'], { input: pod('hostile', 'strict', { hostNetwork: true }), allowFail: true });
  assert.match(hostile.stderr, /pods "hostile" is forbidden: violates PodSecurity "baseline:latest": host namespaces \(hostNetwork=true\)/);
  const plain = await s.kubectl(['apply', '-f', '-'], { input: pod('plain', 'strict', {}) });
  assert.match(plain.stderr, /Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  assert.match(plain.stdout, /pod\/plain created/);
  const deploy = await s.kubectl(['create', 'deployment', 'web', '-n', 'strict', '--image', 'busybox']);
  assert.match(deploy.stderr, /Warning: would violate PodSecurity "restricted:latest"/);
  const elsewhere = await s.kubectl(['apply', '-f', '-'], { input: pod('free', 'default', { hostNetwork: true }) });
  assert.doesNotMatch(elsewhere.stderr, /PodSecurity/, 'unlabelled namespaces are privileged');
});

test('a tenant\'s level is the least of its namespaces: a label cannot lower it', async () => {
  const r = await s.kubectl(['apply', '-f', '-'], { input: pod('web', 'acme-web', {}), allowFail: true });
  assert.match(r.stderr, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  const ok = pod('web', 'acme-web', {
    containers: [{ name: 'app', image: 'busybox', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, runAsUser: 1000, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } }],
  });
  assert.match((await s.kubectl(['apply', '-f', '-'], { input: ok })).stdout, /pod\/web created/);
});

test('namespace labels name a known level and version', async () => {
  const bad = await s.kubectl(['label', 'ns', 'strict', 'pod-security.kubernetes.io/enforce=strictest', '--overwrite'], { allowFail: true });
  assert.match(bad.stderr, /must be one of privileged, baseline, restricted, not "strictest"/);
  const version = await s.kubectl(['label', 'ns', 'strict', 'pod-security.kubernetes.io/enforce-version=2.0', '--overwrite'], { allowFail: true });
  assert.match(version.stderr, /must be "latest" or v1\.<minor>/);
  await s.kubectl(['label', 'ns', 'strict', 'pod-security.kubernetes.io/enforce-version=v1.32', 'pod-security.kubernetes.io/enforce=restricted', '--overwrite']);
  const now = await s.kubectl(['apply', '-f', '-'], { input: pod('plain2', 'strict', {}), allowFail: true });
  assert.match(now.stderr, /violates PodSecurity "restricted:latest"/);
});
