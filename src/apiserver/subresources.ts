/**
 * Subresources: status (get/update/patch), scale (autoscaling/v1 Scale), binding (sets spec.nodeName),
 * eviction (policy/v1 Eviction -> delete), namespaces/finalize, and pods' log and exec (proxied to the
 * node's agent by PodProxy).
 */
import type { KubeObject } from '../api/meta.js';
import { sendJson } from './http-io.js';
import { refOf, storeError, type DeleteOptions } from './object-ops.js';
import { handlePatch } from './patch-handler.js';
import { deleteOptions, writeOptions } from './query.js';
import { readObjectBody, sendObject, type ApiRequest, type HandlerDeps } from './api-request.js';
import { applyScale, scaleOf } from './scale.js';
import { handleTokenRequest } from './token-request.js';
import { ApiError, badRequest, success } from './status.js';

function notAllowed(r: ApiRequest): ApiError {
  return new ApiError('MethodNotAllowed', `${r.info.verb} is not supported on ${r.type.resource}/${r.info.subresource ?? ''}`);
}

export async function handleSubresource(r: ApiRequest, deps: HandlerDeps): Promise<void> {
  const { info, type: t } = r;
  const sub = info.subresource!;
  const name = info.name;
  if (!name || !(t.subresources.includes(sub) || (sub === 'finalize' && t.resource === 'namespaces' && t.group === ''))) {
    throw new ApiError('NotFound', `the server could not find the requested resource (${t.resource}/${sub})`);
  }
  const ns = t.namespaced ? info.namespace : undefined;
  const key = { namespace: ns, name };
  const get = () => deps.ops.store.get(refOf(t), key).catch((err) => Promise.reject(storeError(t, name, err)));
  switch (sub) {
    case 'approval':
    case 'status':
      if (info.verb === 'get') return sendObject(r, 200, await get());
      if (sub === 'approval' && info.verb === 'update') {
        const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
        return sendObject(r, 200, await deps.ops.update(t, ns, name, await readObjectBody(r), { ...opts, subresource: 'approval' }), opts.warnings);
      }
      if (sub === 'approval') throw notAllowed(r);
      if (info.verb === 'update') {
        const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
        return sendObject(r, 200, await deps.ops.update(t, ns, name, await readObjectBody(r), { ...opts, subresource: 'status' }), opts.warnings);
      }
      if (info.verb === 'patch') return handlePatch(r, deps, 'status');
      throw notAllowed(r);
    case 'finalize': {
      if (info.verb !== 'update') throw notAllowed(r);
      const body = await readObjectBody(r);
      const finalizers = (body.spec as { finalizers?: unknown } | undefined)?.finalizers;
      if (finalizers !== undefined && (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string'))) throw badRequest('spec.finalizers must be a list of strings');
      const current = await get();
      const rv = (body.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      const incoming = { ...current, spec: { finalizers: finalizers ?? [] }, metadata: { ...current.metadata, resourceVersion: rv || current.metadata.resourceVersion } } as KubeObject;
      const saved = await deps.ops.replace(t, current, incoming, { user: r.user, subresource: 'finalize' });
      return sendObject(r, 200, saved);
    }
    case 'scale':
      if (!t.scale) throw new ApiError('NotFound', `${t.resource} has no scale subresource`);
      if (info.verb === 'get') return sendJson(r.res, 200, scaleOf(r, await get()));
      if (info.verb === 'update') return sendJson(r.res, 200, await applyScale(r, deps, await readObjectBody(r)));
      if (info.verb === 'patch') return handlePatch(r, deps, 'scale');
      throw notAllowed(r);
    case 'binding':
      if (info.verb !== 'create') throw notAllowed(r);
      return bind(r, deps, await readObjectBody(r));
    case 'eviction': {
      if (info.verb !== 'create') throw notAllowed(r);
      const body = await readObjectBody(r);
      const raw = body.deleteOptions;
      const opts: DeleteOptions = deleteOptions(r.query, raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined, r.user);
      await deps.ops.delete(t, ns, name, opts);
      return sendJson(r.res, 201, success());
    }
    case 'password': {
      if (info.verb !== 'create' && info.verb !== 'update') throw notAllowed(r);
      const body = await readObjectBody(r);
      await get(); // the user must exist
      await deps.credentials.setPassword(name, body.password);
      return sendJson(r.res, 200, success({ name, group: t.group, kind: t.resource }));
    }
    case 'token':
      return handleTokenRequest(r, deps);
    case 'log':
      if (info.verb !== 'get') throw notAllowed(r);
      return deps.pods.log(r, await get());
    case 'exec':
    case 'attach':
    case 'portforward':
      if (info.verb !== 'get' && info.verb !== 'create') throw notAllowed(r);
      return deps.pods.exec(r, await get());
    default:
      throw new ApiError('NotFound', `the server could not find the requested resource (${t.resource}/${sub})`);
  }
}

/** Binding: assigns a pod to a node (what the scheduler does); a pod already bound is a Conflict. */
async function bind(r: ApiRequest, deps: HandlerDeps, body: Record<string, unknown>): Promise<void> {
  const t = r.type;
  const target = body.target as { kind?: unknown; name?: unknown } | undefined;
  if (!target || typeof target.name !== 'string' || target.name === '') {
    throw new ApiError('Invalid', `Binding "${r.info.name}" is invalid: target.name: Required value`, {
      name: r.info.name,
      kind: 'Binding',
      causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }],
    });
  }
  if (target.kind !== undefined && target.kind !== 'Node' && target.kind !== '') throw badRequest('a binding targets a Node');
  const key = { namespace: r.info.namespace, name: r.info.name! };
  for (let attempt = 0; ; attempt++) {
    const pod = await deps.ops.store.get(refOf(t), key).catch((err) => Promise.reject(storeError(t, key.name, err)));
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (pod.metadata.deletionTimestamp) throw new ApiError('Conflict', `pod ${key.name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw new ApiError('Conflict', `pod ${key.name} is already assigned to node "${spec.nodeName}"`, { name: key.name, kind: 'pods' });
    const next = { ...pod, spec: { ...spec, nodeName: target.name } } as KubeObject;
    try {
      await deps.ops.replace(t, pod, next, { user: r.user, subresource: 'binding' });
      return sendJson(r.res, 201, success());
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'Conflict' && attempt < 5) continue;
      throw err;
    }
  }
}
