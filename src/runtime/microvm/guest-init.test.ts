import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNubisError } from '../../lib/errors.js';
import { guestInitScript, powerOffInit, shareMountCommand } from './guest-init.js';

describe('guest init', () => {
  it('mounts the kernel file systems, loads the listed modules, mounts the share, then runs the body', () => {
    const s = guestInitScript({ share: { fs: '9p', tag: 'share', mountPoint: '/shared', options: 'cache=loose' }, body: 'exec /agent' });
    assert.match(s, /^#!\/bin\/sh\n/);
    assert.match(s, /mount -t devtmpfs devtmpfs \/dev\n/);
    assert.match(s, /for m in \$\(cat \/lib\/modules\/order\); do insmod/);
    assert.match(s, /mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288,cache=loose share \/shared/);
    assert.match(s, /\nexec \/agent\n$/);
    assert.equal(shareMountCommand({ fs: 'virtiofs', tag: 't', mountPoint: '/m' }), 'mount -t virtiofs t /m');
    assert.match(powerOffInit('MARK'), /echo MARK > \/dev\/console\n\/bin\/poweroff -f/);
  });

  it('refuses values that would change the script', () => {
    assert.throws(() => shareMountCommand({ fs: '9p', tag: 'x; reboot', mountPoint: '/m' }), (e: unknown) => isNubisError(e, 'Invalid'));
    assert.throws(() => powerOffInit('$(id)'), /marker/);
  });
});
