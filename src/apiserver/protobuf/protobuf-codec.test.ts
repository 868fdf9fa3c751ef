import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../status.js';
import { decodeProtobufBody, messageType } from './protobuf-codec.js';

const MAGIC = Buffer.from('k8s\0', 'latin1');

/** What kubectl 1.32 sent for `kubectl create namespace foo` (captured). */
const CREATE_NAMESPACE = '6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a020a001a002200';
/** What kubectl 1.32 sent for `kubectl create deployment dd --image=nginx --replicas=3 --port=80` (captured). */
const CREATE_DEPLOYMENT =
  '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b4010a1d0a02646412001a0022002a003200380042005a090a03617070120264641284010803120b0a090a03617070120264641a6b0a1b0a0012001a0022002a003200380042005a090a0361707012026464124c122e0a056e67696e7812056e67696e782a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200';

/** Wraps an object encoded with the codec's own schema in runtime.Unknown, as client-go does. */
function wrap(apiVersion: string, kind: string, obj: Record<string, unknown>, extraRaw: Buffer = Buffer.alloc(0)): Buffer {
  const type = messageType(apiVersion, kind)!;
  const raw = Buffer.concat([Buffer.from(type.encode(type.fromObject(obj)).finish()), extraRaw]);
  const unknown = messageType('meta.k8s.io/v1', 'DeleteOptions')!.root.lookupType('k8s.runtime.Unknown');
  return Buffer.concat([MAGIC, Buffer.from(unknown.encode(unknown.fromObject({ typeMeta: { apiVersion, kind }, raw })).finish())]);
}

function expectStatus(fn: () => unknown, reason: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ApiError && err.reason === reason && message.test(err.message));
}

test("kubectl's namespace body decodes to the JSON object, Go's empty strings and zero times left out", () => {
  assert.deepEqual(decodeProtobufBody(Buffer.from(CREATE_NAMESPACE, 'hex')), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'foo' } });
});

test("kubectl's deployment body decodes with replicas, selector, template and container port", () => {
  assert.deepEqual(decodeProtobufBody(Buffer.from(CREATE_DEPLOYMENT, 'hex')), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'dd', labels: { app: 'dd' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'dd' } },
      template: { metadata: { labels: { app: 'dd' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }] } },
    },
  });
});

test('pointer zeros stay, int-or-string, quantities, times, inline structs and bytes take their JSON forms', () => {
  const body = wrap('apps/v1', 'Deployment', {
    metadata: { name: 'd', creationTimestamp: { seconds: 1_700_000_000 }, generation: 0 },
    spec: {
      replicas: 0,
      paused: false,
      strategy: { rollingUpdate: { maxSurge: { type: 1, strVal: '25%' }, maxUnavailable: { type: 0, intVal: 0 } } },
      template: {
        spec: {
          terminationGracePeriodSeconds: 0,
          volumes: [{ name: 'v', volumeSource: { emptyDir: {} } }, { name: 'c', volumeSource: { configMap: { localObjectReference: { name: 'cm' }, defaultMode: 420 } } }],
          containers: [
            {
              name: 'c',
              resources: { limits: { memory: { string: '64Mi' } } },
              readinessProbe: { handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } }, periodSeconds: 5 },
            },
          ],
        },
      },
    },
  });
  assert.deepEqual(decodeProtobufBody(body), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', creationTimestamp: '2023-11-14T22:13:20Z' },
    spec: {
      replicas: 0,
      strategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        spec: {
          volumes: [{ name: 'v', emptyDir: {} }, { name: 'c', configMap: { name: 'cm', defaultMode: 420 } }],
          containers: [{ name: 'c', resources: { limits: { memory: '64Mi' } }, readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 5 } }],
          terminationGracePeriodSeconds: 0,
        },
      },
    },
  });
  const secret = wrap('v1', 'Secret', { metadata: { name: 's' }, data: { pw: Buffer.from('hunter2') }, type: 'Opaque' });
  assert.deepEqual(decodeProtobufBody(secret), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { pw: Buffer.from('hunter2').toString('base64') }, type: 'Opaque' });
  const lease = wrap('coordination.k8s.io/v1', 'Lease', { metadata: { name: 'l' }, spec: { renewTime: { seconds: 1_700_000_000, nanos: 123_456_789 } } });
  assert.deepEqual((decodeProtobufBody(lease).spec as Record<string, unknown>).renewTime, '2023-11-14T22:13:20.123456Z');
  const scheduling = { nodeSelector: { 'nubis.dev/microvm': 'true' }, tolerations: [{ key: 'microvm', operator: 'Exists', effect: 'NoSchedule' }] };
  const rc = wrap('node.k8s.io/v1', 'RuntimeClass', { metadata: { name: 'vm' }, handler: 'nubis-microvm', overhead: { podFixed: { memory: { string: '160Mi' } } }, scheduling });
  assert.deepEqual(decodeProtobufBody(rc), { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'vm' }, handler: 'nubis-microvm', overhead: { podFixed: { memory: '160Mi' } }, scheduling });
});

test('a field number outside the schema is refused with where it was, not dropped', () => {
  // Field 99 (varint 1) appended inside the Namespace message.
  const body = wrap('v1', 'Namespace', { metadata: { name: 'x' } }, Buffer.from([0x98, 0x06, 0x01]));
  expectStatus(() => decodeProtobufBody(body), 'BadRequest', /field number 99 in the object \(Namespace\)/);
  // Field 42 inside a container of a pod template.
  const container = messageType('v1', 'Pod')!.root.lookupType('k8s.core.Container');
  const bad = Buffer.concat([Buffer.from(container.encode({ name: 'c' }).finish()), Buffer.from([0xd0, 0x02, 0x01])]);
  const podSpec = Buffer.concat([Buffer.from([0x12, bad.length]), bad]);
  const pod = Buffer.concat([Buffer.from([0x12, podSpec.length]), podSpec]);
  expectStatus(() => decodeProtobufBody(wrap('v1', 'Pod', {}, pod)), 'BadRequest', /field number 42 in spec\.containers\[\] \(Container\)/);
});

test('bodies without the magic, of kinds without a schema, or truncated are clear errors', () => {
  expectStatus(() => decodeProtobufBody(Buffer.from('{"kind":"Pod"}')), 'BadRequest', /magic number/);
  expectStatus(() => decodeProtobufBody(fakeKind()), 'UnsupportedMediaType', /StatefulSet; send it as JSON/);
  expectStatus(() => decodeProtobufBody(Buffer.from(CREATE_DEPLOYMENT, 'hex').subarray(0, 60)), 'BadRequest', /malformed/);
});

function fakeKind(): Buffer {
  const unknown = messageType('v1', 'Pod')!.root.lookupType('k8s.runtime.Unknown');
  return Buffer.concat([MAGIC, Buffer.from(unknown.encode({ typeMeta: { apiVersion: 'apps/v1', kind: 'StatefulSet' }, raw: Buffer.alloc(0) }).finish())]);
}
