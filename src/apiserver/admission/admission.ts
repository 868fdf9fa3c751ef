/**
 * Admission: what runs between authorization and the store on every write. Mutating plugins may change
 * the object (before validation); validating plugins may only refuse it (after validation). A plugin
 * refuses by throwing an ApiError (Forbidden, Invalid, NotFound…), which becomes the request's answer.
 * Internal writers (garbage collector, bootstrap) pass through the same chain under their own identity.
 */
import type { KubeObject } from '../../api/meta.js';
import type { ResourceType } from '../../api/registry.js';
import type { UserInfo } from '../authn/authenticator.js';
import { qualifiedResource } from '../../store/object-store.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  user: UserInfo;
  operation: Operation;
  type: ResourceType;
  namespace?: string;
  name: string;
  subresource?: string;
  /** The object to be stored (CREATE, UPDATE); mutating plugins change it in place. */
  object?: KubeObject;
  /** The stored object (UPDATE, DELETE, CONNECT). */
  oldObject?: KubeObject;
  dryRun: boolean;
  /** Where a plugin's warnings go (the answer's Warning headers); absent for internal writes. */
  warnings?: string[];
}

export interface AdmissionPlugin {
  readonly name: string;
  mutate?(r: AdmissionRequest): void | Promise<void>;
  validate?(r: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  constructor(private readonly plugins: AdmissionPlugin[]) {}

  async mutate(r: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.mutate) await p.mutate(r);
  }

  async validate(r: AdmissionRequest): Promise<void> {
    for (const p of this.plugins) if (p.validate) await p.validate(r);
  }
}

/** `pods "web" is forbidden: <reason>` (`deployments.apps "web"` in a named group) as Kubernetes words admission denials. */
export function forbiddenBy(r: Pick<AdmissionRequest, 'type' | 'name'>, reason: string): string {
  return `${qualifiedResource(r.type)} "${r.name}" is forbidden: ${reason}`;
}
