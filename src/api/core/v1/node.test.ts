import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeStatusCell, type Node } from './node.js';

function node(ready: string | undefined, unschedulable = false): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n' },
    spec: unschedulable ? { unschedulable: true } : {},
    status: { conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }] },
  } as Node;
}

test('node STATUS: NotReady for a Ready condition False or Unknown, as kubectl prints', () => {
  assert.equal(nodeStatusCell(node('True')), 'Ready');
  assert.equal(nodeStatusCell(node('False')), 'NotReady');
  assert.equal(nodeStatusCell(node('Unknown')), 'NotReady');
  assert.equal(nodeStatusCell(node(undefined)), 'Unknown');
});

test('node STATUS: cordoned nodes add SchedulingDisabled', () => {
  assert.equal(nodeStatusCell(node('True', true)), 'Ready,SchedulingDisabled');
  assert.equal(nodeStatusCell(node('Unknown', true)), 'NotReady,SchedulingDisabled');
  assert.equal(nodeStatusCell(node('False', true)), 'NotReady,SchedulingDisabled');
});
