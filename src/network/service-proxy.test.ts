import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { unavailable } from '../lib/errors.js';
import { IptablesServiceRules } from './iptables-service-rules.js';
import { createServiceProxy } from './service-proxy.js';
import { ServiceRules } from './service-rules.js';

describe('createServiceProxy', () => {
  it('uses nftables when nft works', async () => {
    const p = await createServiceProxy({ host: new FakeHost() });
    assert.equal(p.backend, 'nftables');
    assert.ok(p instanceof ServiceRules);
  });

  it('falls back to iptables when nft is missing or refuses', async () => {
    const missing = new FakeHost();
    missing.run = async () => {
      throw unavailable('nft not found');
    };
    assert.ok((await createServiceProxy({ host: missing })) instanceof IptablesServiceRules);
    const refusing = new FakeHost();
    refusing.responders.push((cmd) => (cmd === 'nft' ? { code: 1, signal: null, stdout: '', stderr: 'Operation not supported' } : undefined));
    assert.equal((await createServiceProxy({ host: refusing })).backend, 'iptables');
    assert.equal((await createServiceProxy({ host: new FakeHost() }, 'iptables')).backend, 'iptables');
  });
});
