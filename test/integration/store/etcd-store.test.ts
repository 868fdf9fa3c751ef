import { after, before } from 'node:test';
import { runConformance } from '../../../src/store/conformance.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster } from './etcd-cluster.js';

let cluster: EtcdCluster | undefined;
let n = 0;

before(async () => {
  cluster = await EtcdCluster.start(1);
});

after(async () => {
  await cluster?.stop();
});

// Each test gets its own key prefix on the one etcd, so tests never see each other's objects.
runConformance('etcd', async () => {
  const store = new EtcdStore({ endpoints: cluster!.endpoints, prefix: `/nubis-test-${++n}/` });
  return { store, cleanup: () => store.close() };
});
