import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatReference,
  isBuiltinBusybox,
  isLoopbackRegistry,
  normalizeName,
  parseReference,
  splitName,
} from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('names without a registry live on docker.io, one-component names under library/', () => {
  assert.deepEqual(parseReference('alpine'), { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' });
  assert.deepEqual(parseReference('me/app:1.2'), { registry: 'docker.io', repository: 'me/app', tag: '1.2' });
  assert.equal(normalizeName('index.docker.io/library/alpine:3'), 'docker.io/library/alpine:3');
});

test('registries with ports, localhost, digests', () => {
  assert.deepEqual(parseReference('127.0.0.1:5000/a/b:v1'), { registry: '127.0.0.1:5000', repository: 'a/b', tag: 'v1' });
  assert.deepEqual(parseReference('localhost/x'), { registry: 'localhost', repository: 'x', tag: 'latest' });
  assert.deepEqual(parseReference(`reg.example:443/x@${D}`), { registry: 'reg.example:443', repository: 'x', digest: D });
  assert.equal(formatReference(parseReference(`x:1@${D}`)), `docker.io/library/x:1@${D}`);
});

test('bad references are Invalid', () => {
  for (const bad of ['', 'UPPER', 'a:b:c', 'a@sha256:123', 'x/:tag', 'a//b', 'foo:-bad']) {
    assert.throws(() => parseReference(bad), (e: Error & { code?: string }) => e.code === 'Invalid', bad);
  }
});

test('bare busybox is the built-in image', () => {
  assert.ok(isBuiltinBusybox('busybox'));
  assert.ok(isBuiltinBusybox('busybox:latest'));
  assert.ok(!isBuiltinBusybox('docker.io/library/busybox'));
  assert.equal(normalizeName('busybox'), 'busybox:latest');
  assert.equal(normalizeName('busybox:1.36'), 'docker.io/library/busybox:1.36');
});

test('splitName and loopback registries', () => {
  assert.deepEqual(splitName('docker.io/library/a:1'), { repository: 'docker.io/library/a', tag: '1' });
  assert.deepEqual(splitName('127.0.0.1:5000/a'), { repository: '127.0.0.1:5000/a', tag: 'latest' });
  assert.deepEqual(splitName(`r/a@${D}`), { repository: 'r/a', tag: '<none>' });
  assert.ok(isLoopbackRegistry('127.0.0.1:5000'));
  assert.ok(isLoopbackRegistry('localhost'));
  assert.ok(isLoopbackRegistry('[::1]:5000'));
  assert.ok(!isLoopbackRegistry('10.0.0.1:5000'));
  assert.ok(!isLoopbackRegistry('docker.io'));
});
