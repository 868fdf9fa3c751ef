import { podTemplateSpecSchema } from '../../core/v1/pod-schema.js';
import { conditionsList, labelSelectorSchema } from '../../meta-schema.js';
import { bool, int, int32, intOrString, obj, type Schema, str } from '../../schema.js';

/** Field descriptions shared by the apps/v1 workloads. */

export const rollingUpdateSchema = obj({ maxUnavailable: intOrString(), maxSurge: intOrString() });

export function workloadSpec(fields: Record<string, Schema>): Schema {
  return obj({
    selector: labelSelectorSchema,
    template: podTemplateSpecSchema,
    minReadySeconds: int32(),
    revisionHistoryLimit: int32(),
    ...fields,
  }, { required: ['selector', 'template'] });
}

export function workloadStatus(fields: Record<string, Schema>): Schema {
  return obj({ observedGeneration: int(), conditions: conditionsList(), collisionCount: int32(), ...fields });
}

export const deploymentSpecSchema = workloadSpec({
  replicas: int32('Number of desired pods. Defaults to 1.'),
  strategy: obj({ type: str(undefined, ['Recreate', 'RollingUpdate']), rollingUpdate: rollingUpdateSchema }, { retainKeys: true }),
  paused: bool(),
  progressDeadlineSeconds: int32(),
});

export const replicaSetSpecSchema = workloadSpec({ replicas: int32() });

export const daemonSetSpecSchema = workloadSpec({
  updateStrategy: obj({ type: str(undefined, ['OnDelete', 'RollingUpdate']), rollingUpdate: rollingUpdateSchema }),
});
