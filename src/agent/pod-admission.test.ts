import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { normalizeSysctlName, podRejection, podSysctls } from './pod-admission.js';

const pod = (sysctls: Array<{ name: string; value: string }>, extra: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], securityContext: { sysctls }, ...extra },
});

test('sysctl names written with slashes are normalized as Kubernetes does', () => {
  assert.equal(normalizeSysctlName('net/ipv4/tcp_syncookies'), 'net.ipv4.tcp_syncookies');
  assert.equal(normalizeSysctlName('net/ipv4/conf/eth0.100/forwarding'), 'net.ipv4.conf.eth0/100.forwarding');
  assert.equal(normalizeSysctlName('kernel.shm_rmid_forced'), 'kernel.shm_rmid_forced');
  assert.deepEqual(podSysctls(pod([{ name: 'kernel/shm_rmid_forced', value: '1' }])), { 'kernel.shm_rmid_forced': '1' });
});

test('the safe set is admitted; anything else fails the pod with SysctlForbidden in the kubelet words', () => {
  assert.equal(podRejection(pod([])), undefined);
  assert.equal(podRejection(pod([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }, { name: 'kernel.shm_rmid_forced', value: '1' }])), undefined);
  assert.deepEqual(podRejection(pod([{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel.msgmax', value: '1' }])), {
    reason: 'SysctlForbidden',
    message: 'forbidden sysctl: "kernel.msgmax" not allowlisted',
  });
  assert.equal(podRejection(pod([{ name: 'net.ipv4.tcp_syncookies', value: '1' }], { hostNetwork: true }))?.message, 'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled');
  assert.equal(podRejection(pod([{ name: 'kernel.shm_rmid_forced', value: '1' }], { hostIPC: true }))?.message, 'forbidden sysctl: "kernel.shm_rmid_forced" not allowed with host ipc enabled');
});
