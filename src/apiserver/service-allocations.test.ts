import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Service } from '../api/core/v1/service.js';
import { SqliteStore, sqliteStoreFile } from '../store/sqlite/sqlite-store.js';
import { AllocationRejected, ServiceAllocations } from './service-allocations.js';

let dir: string;
let store: SqliteStore;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-svc-alloc-'));
  store = SqliteStore.open({ file: sqliteStoreFile(dir) });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
const svc = (spec: Service['spec']): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `s${++n}`, namespace: 'default', uid: `uid-${n}` }, spec: structuredClone(spec) });
const rejected = (re: RegExp) => (err: unknown) => err instanceof AllocationRejected && re.test(err.message);

describe('ServiceAllocations', () => {
  it('gives ClusterIPs from the range, never twice, and takes requested ones once', async () => {
    const a = new ServiceAllocations(store, { serviceCidr: '10.96.0.0/28', nodePortRange: [30000, 30002] });
    const one = svc({ ports: [{ port: 80 }] });
    await a.admitCreate(one);
    assert.equal(one.spec!.clusterIP, '10.96.0.2', 'the first address is kept for default/kubernetes');
    assert.deepEqual(one.spec!.clusterIPs, ['10.96.0.2']);
    const wanted = svc({ clusterIP: '10.96.0.5', ports: [{ port: 80 }] });
    await a.admitCreate(wanted);
    assert.equal(wanted.spec!.clusterIP, '10.96.0.5');
    // A second API server on the same store sees the claims.
    const b = new ServiceAllocations(store, { serviceCidr: '10.96.0.0/28', nodePortRange: [30000, 30002] });
    await assert.rejects(b.admitCreate(svc({ clusterIP: '10.96.0.5', ports: [{ port: 80 }] })), rejected(/spec\.clusterIPs: Invalid value: \["10\.96\.0\.5"\]: failed to allocate IP 10\.96\.0\.5: provided IP is already allocated/));
    await assert.rejects(b.admitCreate(svc({ clusterIP: '10.1.2.3', ports: [{ port: 80 }] })), rejected(/not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/28/));
    const other = svc({ ports: [{ port: 80 }] });
    await b.admitCreate(other);
    assert.ok(!['10.96.0.1', '10.96.0.2', '10.96.0.5', '10.96.0.10'].includes(other.spec!.clusterIP!), `a fresh address (got ${other.spec!.clusterIP})`);
    const headless = svc({ clusterIP: 'None', ports: [{ port: 80 }] });
    await a.admitCreate(headless);
    assert.equal(headless.spec!.clusterIP, 'None');
  });

  it('gives NodePorts, keeps them across updates, refuses taken and out-of-range ones, and says when none is left', async () => {
    const a = new ServiceAllocations(store, { serviceCidr: '10.97.0.0/24', nodePortRange: [31000, 31001] });
    const np = svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] });
    await a.admitCreate(np);
    assert.equal(np.spec!.ports![0]!.nodePort, 31000);
    // An update that leaves the clusterIP and nodePort out keeps both.
    const next = structuredClone(np);
    delete next.spec!.clusterIP;
    delete next.spec!.clusterIPs;
    delete next.spec!.ports![0]!.nodePort;
    await a.admitUpdate(np, next);
    assert.equal(next.spec!.clusterIP, np.spec!.clusterIP);
    assert.equal(next.spec!.ports![0]!.nodePort, 31000);
    await assert.rejects(a.admitCreate(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 31000 }] })), rejected(/spec\.ports\[0\]\.nodePort: Invalid value: 31000: provided port is already allocated/));
    await assert.rejects(a.admitCreate(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 32000 }] })), rejected(/range of valid ports is 31000-31001/));
    await a.admitCreate(svc({ type: 'NodePort', ports: [{ port: 80 }] }));
    const full = svc({ type: 'NodePort', ports: [{ port: 80 }] });
    await assert.rejects(a.admitCreate(full), rejected(/no free NodePort in the range 31000-31001/));
    assert.equal(full.spec!.clusterIP, undefined, 'a refused Service keeps no address');
  });

  it('undo and repair release what no Service holds', async () => {
    const a = new ServiceAllocations(store, { serviceCidr: '10.98.0.0/30', nodePortRange: [32000, 32000] });
    const s = svc({ type: 'NodePort', ports: [{ port: 80 }] });
    const undo = await a.admitCreate(s);
    // The other address of the /30 is default/kubernetes's: nobody else gets it, asked for or not.
    await assert.rejects(a.admitCreate(svc({ ports: [{ port: 80 }] })), rejected(/no free ClusterIP/));
    await assert.rejects(a.admitCreate(svc({ clusterIP: '10.98.0.1', ports: [{ port: 80 }] })), rejected(/10\.98\.0\.1: the address is reserved for Service default\/kubernetes/));
    await undo();
    const again = svc({ type: 'NodePort', ports: [{ port: 80 }] });
    await a.admitCreate(again); // the address and port are free again
    assert.equal(again.spec!.clusterIP, s.spec!.clusterIP);
    // No Service was stored: repair (past its grace period) releases the claims.
    const released = await a.repair(Date.now() + 60_000);
    assert.ok(released >= 2, `released ${released}`);
    const last = svc({ type: 'NodePort', ports: [{ port: 80 }] });
    await a.admitCreate(last);
    // A deleted Service's port is free at once, without waiting for repair.
    await a.releaseFor(last);
    const reuse = svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 32000 }] });
    await a.admitCreate(reuse);
    assert.equal(reuse.spec!.ports![0]!.nodePort, 32000);
  });
});
