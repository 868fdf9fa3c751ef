/**
 * Registry auth against a real docker-registry on loopback: htpasswd (Basic) and token (Bearer, JWTs from
 * a token service this test runs, signed with a key whose certificate the registry trusts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { Images } from '../../../src/image/images.js';
import { makeImage, makeLayer, pushImage, type BuiltImage } from './image-builder.js';
import { startRegistry, startTokenService, tempDir } from './registry-fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];
let storage: string;
let img: BuiltImage;
const isUnauthorized = (e: Error & { code?: string }) => e.code === 'Unauthorized';

async function images(): Promise<Images> {
  const d = await tempDir('nubis-auth-');
  dirs.push(d);
  return new Images(d, new RealHost());
}

before(async () => {
  storage = await tempDir('nubis-auth-storage-');
  dirs.push(storage);
  img = makeImage([await makeLayer({ secret: 'behind auth' })], { gzip: true });
  const open = await startRegistry({ storage });
  try {
    await pushImage(open.base, 'auth/img', 'v1', img);
  } finally {
    await open.stop();
  }
});
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

test('basic auth (htpasswd): no or wrong credentials are refused, right ones pull', async () => {
  const reg = await startRegistry({ storage, auth: { kind: 'htpasswd', user: 'alice', password: 's3cret' } });
  try {
    const ref = `${reg.host}/auth/img:v1`;
    const im = await images();
    await assert.rejects(im.pull(ref), (e: Error & { code?: string }) => isUnauthorized(e) && /--creds/.test(e.message));
    await assert.rejects(im.pull(ref, { credentials: { username: 'alice', password: 'wrong' } }), isUnauthorized);
    const res = await im.pull(ref, { credentials: { username: 'alice', password: 's3cret' } });
    assert.equal(res.image.digest, img.manifestDigest);

    // the CLI, with credentials from a docker-format auth file
    const data = await tempDir('nubis-auth-cli-');
    dirs.push(data);
    const authfile = path.join(data, 'auth.json');
    await fs.writeFile(authfile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const out = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cmd/nubis.ts', '--data-dir', data, 'ctr', 'image', 'pull', '--authfile', authfile, ref],
      { cwd: ROOT },
    );
    assert.match(out.stdout, new RegExp(`Digest: ${img.manifestDigest}`));
  } finally {
    await reg.stop();
  }
});

test('bearer token auth, anonymous: the token is asked for the pull scope', async () => {
  const tokens = await startTokenService();
  const reg = await startRegistry({ storage, auth: { kind: 'token', ...tokens } });
  try {
    const im = await images();
    const res = await im.pull(`${reg.host}/auth/img:v1`);
    assert.equal(res.image.digest, img.manifestDigest);
    assert.ok(tokens.requests.length >= 1);
    assert.ok(tokens.requests.every((r) => r.scope === 'repository:auth/img:pull'), JSON.stringify(tokens.requests));
  } finally {
    await reg.stop();
    await tokens.stop();
  }
});

test('bearer token auth with basic credentials to the token service', async () => {
  const tokens = await startTokenService({ user: 'bob', password: 'hunter2' });
  const reg = await startRegistry({ storage, auth: { kind: 'token', ...tokens } });
  try {
    const ref = `${reg.host}/auth/img:v1`;
    const im = await images();
    await assert.rejects(im.pull(ref), isUnauthorized);
    await assert.rejects(im.pull(ref, { credentials: { username: 'bob', password: 'nope' } }), isUnauthorized);
    const res = await im.pull(ref, { credentials: { username: 'bob', password: 'hunter2' } });
    assert.equal(res.image.digest, img.manifestDigest);
    assert.ok(tokens.requests.some((r) => r.authorized));
  } finally {
    await reg.stop();
    await tokens.stop();
  }
});
