/**
 * The agent honours the pod and container securityContext with real containers: capabilities, privileged,
 * ids and groups (fsGroup on emptyDir), seccomp profiles, no_new_privs, sysctls, runAsNonRoot refusals,
 * forbidden sysctls and a pod in its own user namespace. Few pods, several checks each.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Container, Pod } from '../../../src/api/core/v1/pod-types.js';
import { USERNS_RANGE_BASE } from '../../../src/runtime/oci/userns-ranges.js';
import { AgentEnv, containerStatus, eventually } from './agent-harness.js';

let env: AgentEnv;
before(async () => {
  env = await AgentEnv.start();
  const profiles = path.join(env.dataDir, 'agent', 'seccomp', 'profiles');
  mkdirSync(profiles, { recursive: true });
  const denyMkdir = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
  writeFileSync(path.join(profiles, 'deny-mkdir.json'), JSON.stringify(denyMkdir));
});
after(async () => {
  await env?.close();
});

/** A container that prints what `script` prints, then waits. */
function probe(name: string, script: string, extra: Partial<Container> = {}): Container {
  return { name, image: 'busybox', command: ['sh', '-c', `${script}; echo END; exec sleep 600`], ...extra };
}

async function output(pod: string, container: string): Promise<string> {
  return eventually(`${pod}/${container} to print its checks`, async () => {
    const r = await env.kubectl(['logs', pod, '-c', container]);
    return r.stdout.includes('END\n') ? r.stdout : false;
  });
}

test('capabilities, privileged, ids and groups, fsGroup, seccomp, no_new_privs and sysctls in one pod', async () => {
  await env.createPod('confined', {
    securityContext: {
      runAsNonRoot: false,
      supplementalGroups: [4000],
      fsGroup: 2000,
      sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }, { name: 'kernel/shm_rmid_forced', value: '1' }],
    },
    volumes: [{ name: 'data', emptyDir: {} }],
    containers: [
      probe('dropall', 'touch /tmp/f; chown 1234 /tmp/f && echo chown-ok || echo chown-denied; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; ip link add br0 type bridge && echo link-ok || echo link-denied', {
        securityContext: { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false },
      }),
      probe('netadmin', 'ip link add br1 type bridge && echo link-ok || echo link-denied; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; [ -c /dev/kmsg ] && echo kmsg || echo no-kmsg', {
        securityContext: { capabilities: { add: ['NET_ADMIN'] }, seccompProfile: { type: 'Unconfined' } },
      }),
      probe('ids', 'id; stat -c "%g %A" /data; touch /data/made-by-ids; stat -c "%u %g" /data/made-by-ids; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced', {
        securityContext: { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }),
      probe('seccomp', 'mkdir /tmp/d && echo mkdir-ok || echo mkdir-denied; touch /tmp/t && echo touch-ok', {
        securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/deny-mkdir.json' } },
      }),
      probe('privileged', '[ -c /dev/kmsg ] && echo kmsg || echo no-kmsg; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status', { securityContext: { privileged: true } }),
    ],
  });
  await env.waitRunning('confined');
  const dropall = await output('confined', 'dropall');
  assert.match(dropall, /chown-denied/);
  assert.match(dropall, /NoNewPrivs:\s+1/);
  assert.match(dropall, /Seccomp:\s+2/, 'unset seccompProfile means the default filter');
  assert.match(dropall, /link-denied/);
  const netadmin = await output('confined', 'netadmin');
  assert.match(netadmin, /link-ok/);
  assert.match(netadmin, /NoNewPrivs:\s+0/, 'allowPrivilegeEscalation unset allows escalation, as in Kubernetes');
  assert.match(netadmin, /Seccomp:\s+0/, 'Unconfined: no filter');
  assert.match(netadmin, /no-kmsg/);
  const ids = await output('confined', 'ids');
  assert.match(ids, /^uid=1000 gid=3000 groups=.*$/m);
  const groups = /groups=([\d,()a-z]+)/.exec(ids)?.[1]?.split(',').map((g) => g.replace(/\(.*\)/, '')).sort();
  assert.deepEqual(groups, ['2000', '3000', '4000']);
  assert.match(ids, /^2000 drwxrwsrwx$/m, 'the emptyDir is group-owned by fsGroup, setgid');
  assert.match(ids, /^1000 2000$/m, 'a file made there gets the fsGroup');
  assert.match(ids, /^80\n1\n/m, 'the pod sysctls are set in its namespaces');
  const seccomp = await output('confined', 'seccomp');
  assert.match(seccomp, /mkdir-denied/);
  assert.match(seccomp, /touch-ok/);
  const privileged = await output('confined', 'privileged');
  assert.match(privileged, /kmsg/);
  assert.doesNotMatch(privileged, /no-kmsg/);
  assert.match(privileged, /Seccomp:\s+0/);
  assert.match(privileged, /NoNewPrivs:\s+0/);
  await env.deletePod('confined');
});

test('runAsNonRoot with a root image and a missing seccomp profile wait with CreateContainerConfigError', async () => {
  const pod = await env.createPod('refused', {
    containers: [
      { name: 'root', image: 'busybox', command: ['sleep', '600'], securityContext: { runAsNonRoot: true } },
      { name: 'noprofile', image: 'busybox', command: ['sleep', '600'], securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/missing.json' } } },
    ],
  });
  const ref = `(pod: "refused_default(${pod.metadata.uid})", container: root)`;
  const seen = await env.waitPod('refused', 'both containers refused', (p) =>
    ['root', 'noprofile'].every((c) => containerStatus(p, c).state?.waiting?.reason === 'CreateContainerConfigError'),
  );
  assert.equal(containerStatus(seen, 'root').state?.waiting?.message, `container has runAsNonRoot and image will run as root ${ref}`);
  assert.match(containerStatus(seen, 'noprofile').state?.waiting?.message ?? '', /cannot load seccomp profile ".*profiles\/missing\.json": no such file/);
  assert.equal(seen.status?.phase, 'Pending');
  await env.deletePod('refused');
});

test('a forbidden sysctl fails the pod with SysctlForbidden; admission refuses what no node can honour', async () => {
  await env.createPod('unsafe-sysctl', {
    securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] },
    containers: [{ name: 'main', image: 'busybox', command: ['sleep', '600'] }],
  });
  const failed = await env.waitPod('unsafe-sysctl', 'Failed', (p) => p.status?.phase === 'Failed');
  assert.equal(failed.status?.reason, 'SysctlForbidden');
  assert.equal(failed.status?.message, 'Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted');
  await eventually('the SysctlForbidden event', async () => /Warning\s+SysctlForbidden\s+.*forbidden sysctl: "kernel.msgmax" not allowlisted/.test((await env.kubectl(['describe', 'pod', 'unsafe-sysctl'])).stdout), 10_000);
  assert.equal(containerStatus(failed, 'main').state?.running, undefined, 'nothing ran');
  await env.deletePod('unsafe-sysctl');

  const refusals: [Partial<Pod['spec']>, RegExp][] = [
    [{ securityContext: { seLinuxOptions: { type: 'spc_t' } } }, /spec\.securityContext\.seLinuxOptions: Forbidden/],
    [{ containers: [{ name: 'c', image: 'busybox', securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '../escape.json' } } }] }, /localhostProfile: Invalid value: "\.\.\/escape\.json": must not contain '\.\.'/],
    [{ containers: [{ name: 'c', image: 'busybox', securityContext: { procMount: 'Unmasked' } }] }, /procMount: Forbidden: `hostUsers` must be false to use `Unmasked`/],
    [{ containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true, allowPrivilegeEscalation: false } }] }, /cannot set `allowPrivilegeEscalation` to false and `privileged` to true/],
  ];
  for (const [spec, message] of refusals) {
    const r = await env.kubectl(['create', '-f', '-'], { allowFail: true, input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'never' }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } }) });
    assert.match(r.stderr, message);
  }
});

test('hostUsers: false runs the pod in a user namespace of its own, shared by its containers', async () => {
  const pod = await env.createPod('userns', {
    hostUsers: false,
    securityContext: { fsGroup: 2000, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
    volumes: [{ name: 'data', emptyDir: {} }],
    containers: [
      probe('a', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /made-at-root && echo root-writable; touch /data/x && echo volume-writable; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; hostname', {
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }),
      {
        name: 'b',
        image: 'busybox',
        command: ['sh', '-c', 'cat /proc/self/uid_map; ip link del br0 2>/dev/null; ip link add br0 type bridge && echo link-ok || echo link-denied; echo END; until [ -e /tmp/stop ]; do sleep 0.1; done'],
        securityContext: { capabilities: { add: ['NET_ADMIN'] } },
      },
    ],
  });
  await env.waitRunning('userns');
  const a = await output('userns', 'a');
  const map = /^\s*0\s+(\d+)\s+65536$/m.exec(a);
  assert.ok(map, `a non-identity uid map: ${a}`);
  const hostId = Number(map[1]);
  assert.ok(hostId >= USERNS_RANGE_BASE, `the pod's range is its own: ${hostId}`);
  assert.match(a, /^0$/m, 'root inside');
  assert.match(a, /root-writable/);
  assert.match(a, /volume-writable/);
  assert.match(a, /^0\nuserns$/m, 'sysctl and hostname set in namespaces the pod owns');
  const b = await output('userns', 'b');
  assert.equal(/^\s*0\s+(\d+)\s+65536$/m.exec(b)?.[1], String(hostId), 'both containers share the mapping');
  assert.match(b, /link-ok/, "NET_ADMIN works in the pod's own network namespace");
  const st = statSync(path.join(env.dataDir, 'agent', 'pods', pod.metadata.uid!, 'volumes', 'empty-dir', 'data', 'x'));
  assert.deepEqual([st.uid, st.gid], [hostId, hostId + 2000], 'on the host the file belongs to the mapped ids');
  // A restarted agent finds the pod's user namespace again: a container that starts afterwards joins it.
  await env.stopAgent();
  await env.startAgent();
  await env.kubectl(['exec', 'userns', '-c', 'b', '--', 'touch', '/tmp/stop']);
  await env.waitPod('userns', 'b restarted', (p) => containerStatus(p, 'b').restartCount === 1 && containerStatus(p, 'b').state?.running !== undefined);
  const again = await output('userns', 'b');
  assert.equal(/^\s*0\s+(\d+)\s+65536$/m.exec(again)?.[1], String(hostId), 'the same mapping after the agent restarted');
  assert.match(again, /link-ok/);
  const claims = readdirSync(path.join(env.dataDir, 'agent', 'userns'));
  assert.equal(claims.length, 1);
  assert.equal(readFileSync(path.join(env.dataDir, 'agent', 'userns', claims[0]!), 'utf8'), pod.metadata.uid);
  await env.deletePod('userns');
  assert.deepEqual(readdirSync(path.join(env.dataDir, 'agent', 'userns')), [], 'the range is given back');
});
