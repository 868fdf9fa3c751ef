/**
 * serviceaccounts/token: an authentication.k8s.io/v1 TokenRequest answered with a signed token for the
 * account (`kubectl create token`, and the agent's projected token volumes). Nothing is stored. A token
 * bound to a pod, secret or node dies with it; one for a pod must be asked for the pod's own account,
 * and a node asks only for pods bound to it (NodeRestriction's rule, checked here since no object is
 * written through admission).
 */
import type { Pod } from '../api/core/v1/pod-types.js';
import { DEFAULT_TOKEN_SECONDS, MAX_TOKEN_SECONDS, serviceAccountUser, validateTokenRequest, type TokenRequest, type TokenRequestSpec } from '../api/core/v1/service-account.js';
import type { KubeObject } from '../api/meta.js';
import { sendJson } from './http-io.js';
import { refOf, storeError } from './object-ops.js';
import { describeFieldErrors } from '../api/validation.js';
import { readObjectBody, type ApiRequest, type HandlerDeps } from './api-request.js';
import { nodeNameOf } from './authz/node-authorizer.js';
import { isInternalUser } from './internal-writer.js';
import { CREDENTIAL_EXPIRES } from './authn/user-token.js';
import { SERVICE_ACCOUNT_ISSUER, type BoundObject } from './service-account-tokens.js';
import { ApiError, badRequest } from './status.js';

const TOKEN_REQUEST = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest' };
const BOUND_RESOURCE: Record<BoundObject['kind'], string> = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' };

export async function handleTokenRequest(r: ApiRequest, deps: HandlerDeps): Promise<void> {
  if (r.info.verb !== 'create') throw new ApiError('MethodNotAllowed', `${r.info.verb} is not supported on serviceaccounts/token`);
  const body = await readObjectBody(r);
  if ((body.kind !== undefined && body.kind !== TOKEN_REQUEST.kind) || (body.apiVersion !== undefined && body.apiVersion !== TOKEN_REQUEST.apiVersion)) {
    throw badRequest(`serviceaccounts/token takes a ${TOKEN_REQUEST.apiVersion} ${TOKEN_REQUEST.kind}, not ${String(body.apiVersion)} ${String(body.kind)}`);
  }
  const name = r.info.name!;
  const namespace = r.info.namespace!;
  const errors = validateTokenRequest(body.spec);
  if (errors.length > 0) {
    throw new ApiError('Invalid', `TokenRequest.authentication.k8s.io "${name}" is invalid: ${describeFieldErrors(errors)}`, {
      name,
      group: 'authentication.k8s.io',
      kind: 'TokenRequest',
      causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
    });
  }
  if (isInternalUser(serviceAccountUser(namespace, name))) throw forbidden(r, 'the account names one of the API server\'s own identities, which have no tokens');
  const spec: TokenRequestSpec = (body.spec as TokenRequestSpec | undefined) ?? {};
  const sa = await deps.ops.store.get(refOf(r.type), { namespace, name }).catch((err) => Promise.reject(storeError(r.type, name, err)));
  const { bound, node } = await boundObject(r, deps, spec, namespace, name);
  // A token outlives neither the limit nor the credential that asks for it (an application credential's).
  const limit = r.user.extra?.[CREDENTIAL_EXPIRES]?.[0];
  const left = limit ? Math.floor((Date.parse(limit) - Date.now()) / 1000) : Infinity;
  if (left <= 0) throw forbidden(r, 'the credential that asks has expired');
  const seconds = Math.min(spec.expirationSeconds ?? DEFAULT_TOKEN_SECONDS, MAX_TOKEN_SECONDS, left);
  const audiences = spec.audiences?.length ? spec.audiences : [SERVICE_ACCOUNT_ISSUER];
  const { token, expiresAt } = await deps.serviceAccountTokens.issue({ namespace, serviceAccount: { name, uid: sa.metadata.uid! }, bound, node, audiences, seconds });
  const answer: TokenRequest = {
    ...TOKEN_REQUEST,
    metadata: { name, namespace, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
    spec: { audiences, expirationSeconds: seconds, ...(spec.boundObjectRef ? { boundObjectRef: { ...spec.boundObjectRef, uid: bound?.uid } } : {}) },
    status: { token, expirationTimestamp: expiresAt.toISOString().replace(/\.\d+Z$/, 'Z') },
  };
  sendJson(r.res, 201, answer);
}

/** The object a token is bound to, checked: it exists (with the uid given), and suits the requester. */
async function boundObject(r: ApiRequest, deps: HandlerDeps, spec: TokenRequestSpec, namespace: string, account: string): Promise<{ bound?: BoundObject; node?: { name: string; uid: string } }> {
  const requester = nodeNameOf(r.user);
  const ref = spec.boundObjectRef;
  if (!ref) {
    if (requester) throw forbidden(r, `node "${requester}" may only request tokens bound to its pods`);
    return {};
  }
  const kind = ref.kind as BoundObject['kind'];
  const type = deps.ops.registry.byResource('', BOUND_RESOURCE[kind])!;
  const key = { namespace: type.namespaced ? namespace : undefined, name: ref.name! };
  let o: KubeObject;
  try {
    o = await deps.ops.store.get(refOf(type), key);
  } catch (err) {
    throw storeError(type, ref.name!, err);
  }
  if (ref.uid && ref.uid !== o.metadata.uid) throw new ApiError('Conflict', `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
  if (requester && (kind !== 'Pod' || (o as Pod).spec?.nodeName !== requester)) throw forbidden(r, `node "${requester}" may only request tokens bound to its pods`);
  const bound: BoundObject = { kind, name: o.metadata.name, uid: o.metadata.uid! };
  if (kind !== 'Pod') return { bound };
  const pod = o as Pod;
  if ((pod.spec?.serviceAccountName || 'default') !== account) throw badRequest(`cannot bind a token for service account "${account}" to pod "${pod.metadata.name}", which runs as "${pod.spec?.serviceAccountName || 'default'}"`);
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) return { bound };
  const nodeType = deps.ops.registry.byResource('', 'nodes')!;
  const nodeObj = await deps.ops.store.get(refOf(nodeType), { name: nodeName }).catch(() => undefined);
  return { bound, node: nodeObj?.metadata.uid ? { name: nodeName, uid: nodeObj.metadata.uid } : undefined };
}

function forbidden(r: ApiRequest, why: string): ApiError {
  return new ApiError('Forbidden', `serviceaccounts "${r.info.name}" is forbidden: ${why}`, { name: r.info.name, kind: 'serviceaccounts' });
}
