import { podTemplateSpecSchema } from '../../core/v1/pod-schema.js';
import { conditionsList, labelSelectorSchema } from '../../meta-schema.js';
import { bool, int, intOrString, obj, str, type Schema } from '../../schema.js';

/** Field descriptions shared by the apps/v1 workloads. */

export const rollingUpdateSchema = obj({ maxUnavailable: intOrString(), maxSurge: intOrString() });

export function workloadSpec(fields: Record<string, Schema>): Schema {
  return obj({
    selector: labelSelectorSchema,
    template: podTemplateSpecSchema,
    minReadySeconds: int(),
    revisionHistoryLimit: int(),
    ...fields,
  }, { required: ['selector', 'template'] });
}

export function workloadStatus(fields: Record<string, Schema>): Schema {
  return obj({ observedGeneration: int(), conditions: conditionsList(), collisionCount: int(), ...fields });
}

export const deploymentSpecSchema = workloadSpec({
  replicas: int('Number of desired pods. Defaults to 1.'),
  strategy: obj({ type: str(undefined, ['Recreate', 'RollingUpdate']), rollingUpdate: rollingUpdateSchema }, { retainKeys: true }),
  paused: bool(),
  progressDeadlineSeconds: int(),
});

export const replicaSetSpecSchema = workloadSpec({ replicas: int() });

export const daemonSetSpecSchema = workloadSpec({
  updateStrategy: obj({ type: str(undefined, ['OnDelete', 'RollingUpdate']), rollingUpdate: rollingUpdateSchema }),
});
