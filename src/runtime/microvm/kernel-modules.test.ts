import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadOrder, moduleName, parseModulesDep } from './kernel-modules.js';

describe('kernel modules', () => {
  const dep = parseModulesDep(
    [
      'kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/fscache/fscache.ko kernel/fs/netfs/netfs.ko',
      'kernel/net/9p/9pnet.ko:',
      'kernel/fs/fscache/fscache.ko: kernel/fs/netfs/netfs.ko',
      'kernel/fs/netfs/netfs.ko:',
      'kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko',
      'kernel/drivers/virtio/virtio_ring.ko:',
      'kernel/drivers/net/net-failover.ko:',
    ].join('\n'),
  );

  it('orders dependencies before their users, each once, and skips built-in ones', () => {
    assert.deepEqual(loadOrder(dep, new Set(), ['9pnet_virtio', '9p']).map((m) => m.name), ['9pnet', 'virtio_ring', 'virtio', '9pnet_virtio', 'netfs', 'fscache', '9p']);
    assert.deepEqual(loadOrder(dep, new Set(['virtio_ring', 'virtio']), ['9pnet_virtio']).map((m) => m.name), ['9pnet', '9pnet_virtio']);
    assert.equal(loadOrder(dep, new Set(), ['net_failover'])[0]!.file, 'kernel/drivers/net/net-failover.ko');
    assert.equal(moduleName('kernel/x/a-b.ko.zst'), 'a_b');
  });

  it('names a module the kernel lacks, and who needed it', () => {
    assert.throws(() => loadOrder(dep, new Set(), ['virtiofs']), /no module "virtiofs"/);
    const broken = parseModulesDep('a.ko: b.ko\n');
    assert.throws(() => loadOrder(broken, new Set(), ['a']), /no module "b" \(needed by a\)/);
  });
});
