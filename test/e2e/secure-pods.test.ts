/**
 * Secure pods end to end: a pod with `runtimeClassName: nubis-microvm`, applied with kubectl, boots in a
 * micro-VM with its own kernel (TCG here) on an agent in a network namespace of its own (cluster
 * networking over a bridge the test makes). It has a cluster IP (a runc pod and a Service reach it),
 * probes, logs, exec and restarts work, a memory limit is enforced (OOMKilled), host processes, mounts and
 * interfaces are invisible from inside, a restarted agent keeps it running, a killed VM is noticed and
 * its pod starts over in a new one, and deleting the pods leaves no QEMU, mount or namespace behind.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Pod } from '../../src/api/core/v1/pod-types.js';
import { qemuMemoryCap } from '../../src/runtime/microvm/vm-sandboxes.js';
import { requireMicrovmHost } from '../integration/microvm/microvm-host.js';
import { E2eCluster, eventually, PODS } from './cluster.js';

const SECURE = `
apiVersion: v1
kind: Pod
metadata: {name: secure, labels: {app: secure}}
spec:
  runtimeClassName: nubis-microvm
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: busybox
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && echo started; echo oops >&2; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
    resources: {limits: {memory: 64Mi, cpu: "1"}}
    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2}
  - name: flaky
    image: busybox
    command: [sh, -c, 'sleep 3; exit 2']
    resources: {limits: {memory: 16Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: secure}
spec: {selector: {app: secure}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: plain}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{name: sh, image: busybox, command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 1; done']}]
`;

const OOM = `
apiVersion: v1
kind: Pod
metadata: {name: greedy}
spec:
  runtimeClassName: nubis-microvm
  restartPolicy: Never
  containers: [{name: eat, image: busybox, command: [tail, /dev/zero], resources: {limits: {memory: 32Mi}}}]
`;

const ATTACH = `
apiVersion: v1
kind: Pod
metadata: {name: talk}
spec:
  runtimeClassName: nubis-microvm
  restartPolicy: Never
  containers:
  - {name: main, image: busybox, stdin: true, stdinOnce: true, command: [sh, -c, 'while read l; do echo "got $l"; done; echo bye'], resources: {limits: {memory: 80Mi, cpu: 100m}}}
`;

/** Runs a command; its stdout (fails on a non-zero exit). */
const run = async (cmd: string, args: string[]) => (await promisify(execFile)(cmd, args, { timeout: 60_000, env: { ...process.env, KUBECONFIG: '' } })).stdout;

/** The cgroup a process is in (cpu hierarchy, or the unified one) and that cgroup's CPU quota and memory limit. */
function qemuLimits(pid: number): { cgroup: string; cpuQuotaUs?: number; memoryBytes?: number } {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const v1 = (ctrl: string) => lines.find((l) => l[1]!.split(',').includes(ctrl))?.[2];
  const num = (file: string) => {
    const v = readFileSync(file, 'utf8').trim().split(' ')[0]!;
    return /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const cpu = v1('cpu');
  if (cpu) {
    const cpuDir = readdirSync('/sys/fs/cgroup').find((d) => d.split(',').includes('cpu'))!;
    const memDir = readdirSync('/sys/fs/cgroup').find((d) => d.split(',').includes('memory'))!;
    return {
      cgroup: cpu,
      cpuQuotaUs: num(`/sys/fs/cgroup/${cpuDir}${cpu}/cpu.cfs_quota_us`),
      memoryBytes: num(`/sys/fs/cgroup/${memDir}${v1('memory')}/memory.limit_in_bytes`),
    };
  }
  const unified = lines.find((l) => l[0] === '0')![2]!;
  return { cgroup: unified, cpuQuotaUs: num(`/sys/fs/cgroup${unified}/cpu.max`), memoryBytes: num(`/sys/fs/cgroup${unified}/memory.max`) };
}

/** QEMU processes of an agent's data dir. */
function qemuOf(dataDir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').startsWith('qemu-system') && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dataDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('secure pods: a kernel per pod behind RuntimeClass', { timeout: 600_000 }, () => {
  let c: E2eCluster;
  let secure: Pod;
  let accel = '';
  const exec = async (pod: string, cmd: string, container?: string) =>
    (await c.kubectl(['exec', pod, ...(container ? ['-c', container] : []), '--', 'sh', '-c', cmd])).stdout.trim();

  before(async () => {
    requireMicrovmHost();
    c = await E2eCluster.start({ agents: 1, netns: true });
  });
  after(async () => {
    await c?.close();
  });

  it('the node offers nubis-microvm; a pod naming it runs Ready in its own VM with its overhead, IP and probes', async () => {
    const classes = (await c.kubectl(['get', 'runtimeclass', '-o', 'name'])).stdout;
    assert.match(classes, /runtimeclass.node.k8s.io\/nubis-microvm/);
    const handlers = (await c.kubectl(['get', 'node', '-o', 'jsonpath={.items[0].status.runtimeHandlers[*].name}'])).stdout;
    assert.deepEqual(handlers.split(' ').sort(), ['nubis-microvm', 'runc']);
    accel = await eventually('the node to say how it runs micro-VMs', async () => {
      const r = await c.kubectl(['get', 'node', '-o', 'jsonpath={.items[0].metadata.annotations.nubis\\.dev/microvm-accelerator}']);
      return r.stdout.trim() || undefined;
    }, 60_000);
    assert.match(accel, /^(kvm|tcg)$/);
    await c.kubectl(['apply', '-f', '-'], { input: SECURE });
    secure = await eventually('the secure pod Ready', async () => (await c.readyPods('app=secure'))[0], 120_000).catch((e: Error) => assert.fail(`${e.message}\n${c.logs()}`));
    assert.equal(secure.spec.runtimeClassName, 'nubis-microvm');
    assert.deepEqual(secure.spec.overhead, { cpu: '50m', memory: '160Mi' });
    assert.match(secure.status!.podIP!, /^10\.42\.\d+\.\d+$/);
    assert.equal(qemuOf(c.agents[0]!.dataDir).length, 1, 'one QEMU for the pod');
    // QEMU is held to the pod's limits with its overhead (64Mi + 16Mi + 160Mi), or to what its 144 MiB
    // guest needs when that is more; CPU unbounded (flaky sets no CPU limit).
    const limits = qemuLimits(qemuOf(c.agents[0]!.dataDir)[0]!);
    assert.match(limits.cgroup, new RegExp(`^/nubis/microvm/${secure.metadata.uid}$`));
    assert.equal(limits.cpuQuotaUs, undefined);
    assert.equal(limits.memoryBytes, qemuMemoryCap((64 + 16 + 160) * 2 ** 20, { memoryMiB: 144, accel }));
    assert.ok(limits.memoryBytes! >= (64 + 16 + 160) * 2 ** 20);
    const events = (await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=secure,reason=SandboxCreated', '-o', 'jsonpath={.items[*].message}'])).stdout;
    assert.match(events, new RegExp(`micro-VM with \\d+ MiB and 1 vCPU on ${accel === 'kvm' ? 'KVM' : 'TCG'}`), 'the pod says what runs it');
    assert.match(events, /resumed from a template/, 'the VM resumed from a snapshot of a booted guest instead of booting');
    // Volumes reach the guest: the service account token the API server mounted into every pod.
    assert.equal(await exec('secure', 'cat /var/run/secrets/kubernetes.io/serviceaccount/namespace', 'web'), 'default');
  });

  it('runs on its own kernel: no host process, mount or interface is visible, host modules are not there', async () => {
    const bootId = await exec('secure', 'cat /proc/sys/kernel/random/boot_id', 'web');
    assert.notEqual(bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), 'a kernel of its own');
    const ps = await exec('secure', 'ps -o comm', 'web');
    assert.doesNotMatch(ps, /nubis|node|qemu|conmon|systemd/, ps);
    assert.deepEqual((await exec('secure', 'ls /sys/class/net', 'web')).split(/\s+/).sort(), ['eth0', 'lo']);
    assert.doesNotMatch(await exec('secure', 'cat /proc/mounts', 'web'), new RegExp(c.agents[0]!.dataDir));
    // The guest runs the distribution's kernel from /boot, with the modules its own init loaded.
    const release = await exec('secure', 'uname -r', 'web');
    assert.ok(readdirSync('/boot').includes(`vmlinuz-${release}`), `the guest kernel ${release} is one from /boot`);
    assert.match(await exec('secure', 'cat /proc/modules', 'web'), /^virtio_console /m, "modules are loaded into the guest's kernel");
    const mem = Number(/MemTotal:\s+(\d+)/.exec(await exec('secure', 'cat /proc/meminfo', 'web'))![1]);
    // 64Mi + 16Mi of limits and 64 MiB for the guest's own needs: 144 MiB, less what the kernel keeps.
    assert.ok(mem > 64 * 1024 && mem < 144 * 1024, `the guest is sized from the pod's limits: MemTotal ${mem} kB`);
  });

  it('keeps its cluster IP: a runc pod reaches it by IP and through a Service; exec exit codes and logs come through', async () => {
    await eventually('the plain pod Running', async () => (await c.client.get<Pod>(PODS, 'plain', { namespace: 'default' })).status?.phase === 'Running', 60_000);
    assert.equal(await exec('plain', `timeout 10 wget -qO- http://${secure.status!.podIP}:8080/`), 'secure');
    assert.equal(await exec('plain', 'timeout 10 wget -qO- http://secure/'), 'secure');
    const r = await c.kubectl(['exec', 'secure', '-c', 'web', '--', 'sh', '-c', 'exit 3'], { allowFail: true });
    assert.equal(r.code, 3);
    // A terminal takes the size kubectl sends (script gives kubectl a terminal of 40x100).
    const kubectl = `kubectl --kubeconfig ${c.kubeconfig} exec -it secure -c web -- stty size`;
    const tty = await run('script', ['-qec', `stty rows 40 cols 100; ${kubectl}`, '/dev/null']);
    assert.match(tty, /40 100/);
    const logs = (await c.kubectl(['logs', 'secure', '-c', 'web'])).stdout;
    assert.equal(logs, 'started\noops\n');
  });

  it('restarts a container as its restartPolicy says, inside the same VM', async () => {
    const p = await eventually('flaky restarted twice', async () => {
      const pod = await c.client.get<Pod>(PODS, 'secure', { namespace: 'default' });
      const st = pod.status?.containerStatuses?.find((s) => s.name === 'flaky');
      return (st?.restartCount ?? 0) >= 2 ? pod : undefined;
    }, 120_000);
    const flaky = p.status!.containerStatuses!.find((s) => s.name === 'flaky')!;
    assert.equal(flaky.lastState?.terminated?.exitCode, 2);
    assert.equal(qemuOf(c.agents[0]!.dataDir).length, 1, 'still one VM');
  });

  it('a memory limit is enforced in the guest: the container is OOMKilled', async () => {
    await c.kubectl(['apply', '-f', '-'], { input: OOM });
    const st = await eventually('greedy to end', async () => {
      const pod = await c.client.get<Pod>(PODS, 'greedy', { namespace: 'default' });
      return pod.status?.containerStatuses?.[0]?.state?.terminated;
    }, 120_000);
    assert.equal(st.reason, 'OOMKilled');
    assert.equal(st.exitCode, 137);
    await c.kubectl(['delete', 'pod', 'greedy', '--wait=true']);
  });

  it('kubectl attach reaches a secure pod\'s process: its stdin and its output', async () => {
    await c.kubectl(['apply', '-f', '-'], { input: ATTACH });
    await eventually('the attach pod running', async () => {
      const pod = await c.client.get<Pod>(PODS, 'talk', { namespace: 'default' });
      return pod.status?.containerStatuses?.[0]?.state?.running;
    }, 120_000);
    // Its QEMU gets the CPU limit with the overhead: 100m + 50m of each 100 ms.
    const talk = await c.client.get<Pod>(PODS, 'talk', { namespace: 'default' });
    const vm = qemuOf(c.agents[0]!.dataDir).map(qemuLimits).find((l) => l.cgroup.endsWith(talk.metadata.uid!));
    assert.equal(vm?.cpuQuotaUs, 15_000);
    assert.equal(vm?.memoryBytes, qemuMemoryCap((80 + 160) * 2 ** 20, { memoryMiB: 144, accel }));
    const r = await c.kubectl(['attach', '-i', 'talk'], { input: 'one\ntwo\n' });
    assert.match(r.stdout, /got one\ngot two\nbye\n/);
    const st = await eventually('talk to end once its stdin closed', async () => {
      const pod = await c.client.get<Pod>(PODS, 'talk', { namespace: 'default' });
      return pod.status?.containerStatuses?.[0]?.state?.terminated;
    }, 60_000);
    assert.equal(st.exitCode, 0);
    await c.kubectl(['delete', 'pod', 'talk', '--wait=true']);
  });

  it('a restarted agent keeps the secure pod running; a killed VM is noticed and the pod starts over in a new one', async () => {
    const before = (await c.client.get<Pod>(PODS, 'secure', { namespace: 'default' })).status!.containerStatuses!.find((s) => s.name === 'web')!;
    const [qemu] = qemuOf(c.agents[0]!.dataDir);
    const kernelBootId = await exec('secure', 'cat /proc/sys/kernel/random/boot_id', 'web');
    await c.agents[0]!.proc.stop();
    await c.startAgent(0);
    assert.deepEqual(qemuOf(c.agents[0]!.dataDir), [qemu], 'the VM outlived the agent');
    assert.equal(await exec('secure', 'cat /www/index.html', 'web'), 'secure');
    const same = (await c.client.get<Pod>(PODS, 'secure', { namespace: 'default' })).status!.containerStatuses!.find((s) => s.name === 'web')!;
    assert.equal(same.containerID, before.containerID, 'the container was not restarted');

    process.kill(qemu!, 'SIGKILL');
    const again = await eventually('the pod Ready again in a new VM', async () => {
      const pod = (await c.readyPods('app=secure'))[0];
      const web = pod?.status?.containerStatuses?.find((s) => s.name === 'web');
      return web && web.containerID !== before.containerID && web.restartCount > before.restartCount ? pod : undefined;
    }, 120_000).catch((e: Error) => assert.fail(`${e.message}\n${c.logs().split('\n').filter((l) => /microvm|sandbox|secure/.test(l)).slice(-40).join('\n')}`));
    assert.notDeepEqual(qemuOf(c.agents[0]!.dataDir), [qemu]);
    // Both VMs resumed from one template: the new guest's kernel still made its own identity and randomness.
    assert.notEqual(await exec('secure', 'cat /proc/sys/kernel/random/boot_id', 'web'), kernelBootId, 'each clone has its own kernel boot id');
    assert.equal(await exec('plain', `timeout 10 wget -qO- http://${again.status!.podIP}:8080/`), 'secure', 'the new VM has the pod network');
  });

  it('deleting the pods stops their VMs and leaves nothing behind', async () => {
    await c.kubectl(['delete', '-f', '-', '--wait=true'], { input: SECURE });
    await eventually('no QEMU left', async () => qemuOf(c.agents[0]!.dataDir).length === 0, 30_000);
    assert.deepEqual(readdirSync(path.join(c.agents[0]!.dataDir, 'microvm', 'sandboxes')), []);
  });
});
