import type { LabelSelectorSpec } from '../../meta.js';
import type { FieldError } from '../../resource-type.js';
import { defaultPodSpec } from '../../core/v1/pod-defaults.js';
import type { PodTemplateSpec } from '../../core/v1/pod-types.js';
import { validatePodSpec } from '../../core/v1/pod-validation.js';
import { deepEqual, fieldErr, selectorMatches, validateAnnotations, validateLabelSelector, validateLabels } from '../../validation.js';

/** Rules shared by the workloads that own a pod template and a selector (Deployment, ReplicaSet, DaemonSet, Job). */

/** Defaults of a pod template: its PodSpec defaults (what `kubectl get deploy -o yaml` shows). */
export function defaultTemplate(template: PodTemplateSpec | undefined): void {
  if (template?.spec && typeof template.spec === 'object') defaultPodSpec(template.spec);
}

/**
 * A template and the selector that must choose its pods: selector required and non-empty, template
 * labels matched by it, template restartPolicy among `restartPolicies`.
 */
export function validateTemplateAndSelector(
  selector: LabelSelectorSpec | undefined,
  template: PodTemplateSpec | undefined,
  options: { restartPolicies: string[]; selectorRequired?: boolean; path?: string },
): FieldError[] {
  const base = options.path ?? 'spec';
  const errors: FieldError[] = [];
  if (!selector) {
    if (options.selectorRequired !== false) errors.push(fieldErr.required(`${base}.selector`));
  } else {
    errors.push(...validateLabelSelector(selector, `${base}.selector`));
    if (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length) {
      errors.push(fieldErr.invalid(`${base}.selector`, selector, 'empty selector is invalid for deployment'));
    }
  }
  if (!template) {
    errors.push(fieldErr.required(`${base}.template`));
    return errors;
  }
  const labels = template.metadata?.labels ?? {};
  errors.push(...validateLabels(template.metadata?.labels, `${base}.template.metadata.labels`));
  errors.push(...validateAnnotations(template.metadata?.annotations, `${base}.template.metadata.annotations`));
  if (selector && !selectorMatches(selector, labels)) {
    errors.push(fieldErr.invalid(`${base}.template.metadata.labels`, labels, '`selector` does not match template `labels`'));
  }
  errors.push(...validatePodSpec(template.spec, `${base}.template.spec`));
  const rp = template.spec?.restartPolicy;
  if (rp !== undefined && !options.restartPolicies.includes(rp)) errors.push(fieldErr.notSupported(`${base}.template.spec.restartPolicy`, rp, options.restartPolicies));
  if (template.spec?.activeDeadlineSeconds !== undefined && options.restartPolicies.includes('Always')) {
    errors.push(fieldErr.forbidden(`${base}.template.spec.activeDeadlineSeconds`, 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return errors;
}

/** The selector never changes after creation in apps/v1. */
export function validateSelectorUpdate(selector: LabelSelectorSpec | undefined, old: LabelSelectorSpec | undefined, errors: FieldError[], path = 'spec.selector'): void {
  if (!deepEqual(selector ?? {}, old ?? {})) errors.push(fieldErr.invalid(path, selector ?? {}, 'field is immutable'));
}

export function validateNonNegative(errors: FieldError[], field: string, value: unknown): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0)) errors.push(fieldErr.invalid(field, value, 'must be greater than or equal to 0'));
  else if (typeof value === 'number' && value > INT32_MAX) errors.push(fieldErr.invalid(field, value, `must be less than or equal to ${INT32_MAX}`));
}

/** Counts and sizes Kubernetes keeps in int32 fields. */
export const INT32_MAX = 2_147_483_647;

/** An int-or-percent value (maxSurge/maxUnavailable): a non-negative integer or `N%`. */
export function validateIntOrPercent(errors: FieldError[], field: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    validateNonNegative(errors, field, value);
    return value;
  }
  const m = typeof value === 'string' ? /^(\d+)%$/.exec(value) : null;
  if (!m) {
    errors.push(fieldErr.invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"));
    return undefined;
  }
  const pct = Number(m[1]);
  if (pct > 100) errors.push(fieldErr.invalid(field, value, 'must not be greater than 100%'));
  return pct === 0 ? 0 : 1;
}
