/**
 * The answers to review kinds (api/authorization/v1/reviews.ts): access reviews ask the same authorizer
 * chain every request passes; a rules review lists what RBAC grants in a namespace; a self-subject
 * review tells the caller who the server thinks it is. Nothing is stored.
 */
import type { AccessReview, AccessReviewSpec } from '../api/authorization/v1/reviews.js';
import type { KubeObject } from '../api/meta.js';
import type { Login } from '../api/nubis/v1/tenancy.js';
import type { UserInfo } from './authn/authenticator.js';
import type { Attributes } from './authz/authorizer.js';
import { readObjectBody, sendObject, type ApiRequest, type HandlerDeps } from './api-request.js';
import { invalidStatus } from './object-ops.js';
import { writeOptions } from './query.js';
import { badRequest } from './status.js';

function attributes(user: UserInfo, spec: AccessReviewSpec): Attributes {
  const n = spec.nonResourceAttributes;
  if (n) return { user, verb: n.verb ?? '', path: n.path ?? '' };
  const r = spec.resourceAttributes ?? {};
  return { user, verb: r.verb ?? '', group: r.group ?? '', resource: r.resource ?? '', subresource: r.subresource || undefined, namespace: r.namespace || undefined, name: r.name || undefined };
}

async function accessStatus(deps: HandlerDeps, a: Attributes): Promise<Record<string, unknown>> {
  const d = await deps.authorizer.authorize(a);
  const status: Record<string, unknown> = { allowed: d.decision === 'allow' };
  if (d.decision === 'deny') status.denied = true;
  if (d.reason) status.reason = d.reason;
  return status;
}

function rulesStatus(deps: HandlerDeps, user: UserInfo, namespace: string | undefined): Record<string, unknown> {
  const resourceRules: unknown[] = [];
  const nonResourceRules: unknown[] = [];
  for (const g of deps.rbac.rulesFor(user, namespace)) {
    for (const r of g.rules) {
      if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs });
      else resourceRules.push({ verbs: r.verbs, apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], ...(r.resourceNames?.length ? { resourceNames: r.resourceNames } : {}) });
    }
  }
  // Rights that come from elsewhere than RBAC (a node's own objects) are not listed.
  const incomplete = user.groups.includes('system:nodes');
  return { resourceRules, nonResourceRules, incomplete };
}

export async function handleReview(r: ApiRequest, deps: HandlerDeps): Promise<void> {
  const t = r.type;
  const body = deps.ops.checkKind(t, await readObjectBody(r)) as AccessReview;
  const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
  deps.ops.checkFields(t, body, opts);
  if (typeof body.spec !== 'object' || body.spec === null) body.spec = {} as AccessReviewSpec;
  const name = body.metadata.name ?? '';
  const errors = t.validate({ ...body, metadata: { ...body.metadata, name: name || 'review', namespace: t.namespaced ? r.info.namespace : undefined } } as KubeObject);
  if (errors.length > 0) throw invalidStatus(t, name, errors);
  const spec = body.spec;
  let status: Record<string, unknown>;
  switch (t.kind) {
    case 'SelfSubjectAccessReview':
      status = await accessStatus(deps, attributes(r.user, spec));
      break;
    case 'SubjectAccessReview':
    case 'LocalSubjectAccessReview': {
      const user: UserInfo = { name: spec.user ?? '', groups: spec.groups ?? [], uid: spec.uid, extra: spec.extra };
      if (t.kind === 'LocalSubjectAccessReview') {
        const ns = spec.resourceAttributes?.namespace;
        if (spec.nonResourceAttributes) throw badRequest('a LocalSubjectAccessReview asks about resources only');
        // Inside its namespace only: a cluster-scoped question would tell who owns what elsewhere.
        const asked = deps.ops.registry.byResource(spec.resourceAttributes?.group ?? '', spec.resourceAttributes?.resource ?? '');
        if (asked && !asked.namespaced) throw badRequest(`a LocalSubjectAccessReview asks about namespaced resources only, not ${asked.resource}`);
        if (ns && ns !== r.info.namespace) throw badRequest(`spec.resourceAttributes.namespace must match the namespace of the request (${r.info.namespace ?? ''})`);
        spec.resourceAttributes = { ...spec.resourceAttributes, namespace: r.info.namespace };
      }
      status = await accessStatus(deps, attributes(user, spec));
      break;
    }
    case 'SelfSubjectRulesReview':
      status = rulesStatus(deps, r.user, (spec as { namespace?: string }).namespace || undefined);
      break;
    case 'Login':
      status = await deps.credentials.login(spec as unknown as Login['spec'], `login from ${String(r.req.headers['user-agent'] ?? 'unknown client').slice(0, 100)}`);
      // The password never comes back.
      (body.spec as unknown as { password?: string }).password = undefined;
      break;
    case 'SelfSubjectReview':
      status = { userInfo: { username: r.user.name, groups: r.user.groups, ...(r.user.uid ? { uid: r.user.uid } : {}), ...(r.user.extra ? { extra: r.user.extra } : {}) } };
      break;
    default:
      throw badRequest(`${t.kind} is not a review kind`);
  }
  const meta: KubeObject['metadata'] = { ...body.metadata, creationTimestamp: undefined };
  if (t.namespaced) meta.namespace = r.info.namespace;
  sendObject(r, 201, { ...body, metadata: meta, status } as KubeObject, opts.warnings);
}
