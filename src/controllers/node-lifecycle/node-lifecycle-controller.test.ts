import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Taint } from '../../api/core/v1/node.js';
import type { Pod, Toleration } from '../../api/core/v1/pod-types.js';
import type { RestClient } from '../../client/rest-client.js';
import { InformerSet } from '../informer-set.js';
import { NodeLifecycleController, NOT_READY, UNREACHABLE } from './node-lifecycle-controller.js';

const controller = new NodeLifecycleController(
  { client: {} as RestClient, informers: new InformerSet({} as RestClient), recorder: { event: () => undefined } },
  { podEvictionTimeoutSeconds: 7 },
);
const pod = (tolerations: Toleration[]): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], tolerations } });
const unreachable: Taint = { key: UNREACHABLE, effect: 'NoExecute' };
const admissionDefaults: Toleration[] = [
  { key: NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  { key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
];

describe('eviction time of a pod on a NoExecute-tainted node', () => {
  it('reads the admission defaults (300 s) as the configured eviction timeout', () => {
    assert.equal(controller.tolerationSeconds(pod(admissionDefaults), [unreachable]), 7);
  });
  it('honours tolerations written by the user, forever without seconds, and evicts at once when one taint is not tolerated', () => {
    assert.equal(controller.tolerationSeconds(pod([{ key: UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 }]), [unreachable]), 3600);
    assert.equal(controller.tolerationSeconds(pod([{ operator: 'Exists' }]), [unreachable]), Infinity);
    assert.equal(controller.tolerationSeconds(pod(admissionDefaults), [unreachable, { key: 'gpu', value: 'broken', effect: 'NoExecute' }]), 0);
    assert.equal(controller.tolerationSeconds(pod([]), [unreachable]), 0);
  });
});
