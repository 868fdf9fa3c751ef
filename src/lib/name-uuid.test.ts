import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameUuid } from './name-uuid.js';

describe('nameUuid', () => {
  it('gives the version 5 UUID of a name (the DNS namespace example of Python\'s uuid5)', () => {
    assert.equal(nameUuid('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org'), '886313e1-3b8a-5372-9b90-0c9aee199e5d');
  });

  it('is stable for a name and differs between names', () => {
    const ns = '6a1a24a1-4061-4607-8bf4-a3963d0c5895';
    assert.equal(nameUuid(ns, 'vm-cirros'), nameUuid(ns, 'vm-cirros'));
    assert.notEqual(nameUuid(ns, 'vm-cirros'), nameUuid(ns, 'vm-fedora'));
    assert.match(nameUuid(ns, 'x'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('refuses a namespace that is not a UUID', () => {
    assert.throws(() => nameUuid('not-a-uuid', 'x'), /not a UUID/);
  });
});
