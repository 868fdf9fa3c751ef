import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobType, type Job } from './job.js';

const type = jobType();
const job = (): Job =>
  ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: '1f0c-aa', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34', command: ['perl', '-e', 'print 1'] }] } } },
  }) as Job;
const fields = (o: Job, old?: Job) => type.validate(o, old).map((e) => `${e.field} ${e.type}`);

describe('Job', () => {
  it('defaults completions, parallelism, backoffLimit and the generated selector', () => {
    const j = job();
    type.defaults(j);
    assert.equal(j.spec.completions, 1);
    assert.equal(j.spec.parallelism, 1);
    assert.equal(j.spec.backoffLimit, 6);
    assert.equal(j.spec.completionMode, 'NonIndexed');
    assert.deepEqual(j.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': '1f0c-aa' } });
    assert.equal(j.spec.template.metadata?.labels?.['job-name'], 'pi');
    assert.deepEqual(fields(j), []);
  });

  it('rejects restartPolicy Always and template changes on update', () => {
    const j = job();
    delete j.spec.template.spec.restartPolicy;
    type.defaults(j);
    assert.deepEqual(fields(j), ['spec.template.spec.restartPolicy FieldValueNotSupported']);
    const old = job();
    type.defaults(old);
    const next = structuredClone(old);
    next.spec.template.spec.containers[0]!.image = 'perl:5.36';
    assert.deepEqual(fields(next, old), ['spec.template FieldValueInvalid']);
    const parallel = structuredClone(old);
    parallel.spec.parallelism = 3;
    assert.deepEqual(fields(parallel, old), []);
  });

  it('prints STATUS COMPLETIONS DURATION AGE', () => {
    const j = job();
    type.defaults(j);
    const now = Date.parse('2024-05-01T12:00:00Z');
    j.status = { startTime: '2024-05-01T11:00:00Z', active: 1 };
    assert.deepEqual(type.table.cells(j, now).slice(0, 5), ['pi', 'Running', '0/1', '60m', '60m']);
    j.status = { startTime: '2024-05-01T11:00:00Z', completionTime: '2024-05-01T11:00:42Z', succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] };
    assert.deepEqual(type.table.cells(j, now).slice(0, 4), ['pi', 'Complete', '1/1', '42s']);
    assert.equal(type.fieldValue(j, 'status.successful'), '1');
  });
});
