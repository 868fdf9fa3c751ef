/**
 * The REST verbs on resources: get, list, create, update, delete and deletecollection on collections and
 * items (namespaced, cluster-scoped and across all namespaces), dispatching watch, patch and the
 * subresources to their own handlers.
 */
import type { KubeObject } from '../api/meta.js';
import type { ListResult } from '../store/object-store.js';
import { isNubisError } from '../lib/errors.js';
import { negotiate, readBody, sendJson } from './http-io.js';
import { decodeObject, readObjectBody, sendObject, type ApiRequest, type HandlerDeps } from './api-request.js';
import { apiVersion, refOf, storeError } from './object-ops.js';
import { handlePatch } from './patch-handler.js';
import { deleteOptions, fieldSelectorParam, intParam, labelSelectorParam, objectFilter, writeOptions } from './query.js';
import { ApiError, badRequest } from './status.js';
import { handleReview } from './reviews.js';
import { handleSubresource } from './subresources.js';
import { includeObjectParam, toTable } from './table-output.js';
import { serveWatch } from './watch-handler.js';

function notAllowed(r: ApiRequest): ApiError {
  return new ApiError('MethodNotAllowed', `${r.info.verb} is not supported on ${r.type.resource}${r.info.subresource ? `/${r.info.subresource}` : ''}`);
}

/** Serves one resource request; throws ApiError/NubisError for the caller to turn into a Status. */
export async function handleResource(r: ApiRequest, deps: HandlerDeps): Promise<void> {
  const { info, type: t } = r;
  if (!t.namespaced && info.namespace !== undefined) throw new ApiError('NotFound', `${t.resource} is not namespaced`);
  if (info.subresource) return handleSubresource(r, deps);
  if (!t.verbs.includes(info.verb)) throw notAllowed(r);
  const ns = t.namespaced ? info.namespace : undefined;
  const name = info.name;
  switch (info.verb) {
    case 'get': {
      if (t.namespaced && !ns) throw new ApiError('NotFound', `${t.resource} is namespaced: read "${name!}" inside its namespace`);
      const obj = await deps.ops.store.get(refOf(t), { namespace: ns, name: name! }).catch((err) => Promise.reject(storeError(t, name!, err)));
      sendObject(r, 200, obj);
      return;
    }
    case 'list':
      return list(r, deps, ns);
    case 'watch':
      return serveWatch(r, deps, ns);
    case 'create': {
      if (name !== undefined) throw notAllowed(r);
      if (t.ephemeral) return handleReview(r, deps);
      const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
      const obj = await deps.ops.create(t, ns, await readObjectBody(r), opts);
      sendObject(r, 201, obj, opts.warnings);
      return;
    }
    case 'update': {
      const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
      const obj = await deps.ops.update(t, ns, name!, await readObjectBody(r), opts);
      sendObject(r, 200, obj, opts.warnings);
      return;
    }
    case 'patch':
      return handlePatch(r, deps, undefined);
    case 'delete': {
      const body = await optionalBody(r);
      const obj = await deps.ops.delete(t, ns, name!, deleteOptions(r.query, body, r.user));
      sendObject(r, 200, obj);
      return;
    }
    case 'deletecollection':
      // As in Kubernetes, a namespaced kind is deleted collection-wise only inside one namespace:
      // DELETE /api/v1/configmaps would otherwise empty every namespace at once.
      if (t.namespaced && !ns) throw notAllowed(r);
      return deleteCollection(r, deps, ns);
    default:
      throw notAllowed(r);
  }
}

async function optionalBody(r: ApiRequest): Promise<Record<string, unknown> | undefined> {
  const raw = await readBody(r.req);
  if (raw.toString('utf8').trim() === '') return undefined;
  return decodeObject(raw, r.req.headers['content-type'], 'DeleteOptions');
}

/** Waits until a response takes more output, or is gone. */
function drained(res: ApiRequest['res']): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Pages a whole list (no limit) is read and written in: the server never holds more of it at once. */
const LIST_PAGE = 500;

async function list(r: ApiRequest, deps: HandlerDeps, ns: string | undefined): Promise<void> {
  const t = r.type;
  const labels = labelSelectorParam(r.query);
  const fields = fieldSelectorParam(t, r.query);
  const limit = intParam(r.query, 'limit', 0, 1_000_000) || undefined;
  const cont = r.query.get('continue') || undefined;
  const rvParam = r.query.get('resourceVersion');
  const exact = r.query.get('resourceVersionMatch') === 'Exact';
  const filter = objectFilter(t, ns, labels, fields, r.visible);
  const table = negotiate(r.req.headers.accept) === 'table';
  const page = (opts: { limit?: number; continue?: string }) =>
    deps.ops.store
      .list(refOf(t), { namespace: ns, labelSelector: labels, ...opts, resourceVersion: exact && rvParam && !opts.continue ? rvParam : undefined })
      .catch((err) => Promise.reject(isNubisError(err, 'Invalid') ? badRequest(err.message, err) : err));
  const select = (items: KubeObject[]) => (fields.requirements.length > 0 || r.visible ? items.filter(filter) : items);
  if (r.visible && !table) return streamList(r, page, select);
  if (limit === undefined && cont === undefined && !table) return streamList(r, page, select);
  // A scoped list (a tenant user's) is never paged for the client: a continue token names the last key
  // the store read, which may be another tenant's.
  const result = r.visible ? await wholeList(page) : await page({ limit, continue: cont });
  const items = select(result.items);
  const meta = { resourceVersion: result.resourceVersion, continue: result.continue };
  if (table) {
    sendJson(r.res, 200, toTable(t, items, includeObjectParam(r.query.get('includeObject')), meta));
    return;
  }
  const metadata: Record<string, string> = { resourceVersion: result.resourceVersion };
  if (result.continue) metadata.continue = result.continue;
  sendJson(r.res, 200, { kind: `${t.kind}List`, apiVersion: apiVersion(t), metadata, items });
}

/** Every page of a list, as one result without a continue token. */
async function wholeList(page: (opts: { limit?: number; continue?: string }) => Promise<ListResult<KubeObject>>): Promise<ListResult<KubeObject>> {
  let result = await page({ limit: LIST_PAGE });
  const items = [...result.items];
  const resourceVersion = result.resourceVersion;
  while (result.continue) {
    result = await page({ limit: LIST_PAGE, continue: result.continue });
    items.push(...result.items);
  }
  return { items, resourceVersion };
}

/**
 * A whole list as JSON, read from the store in pages of one consistent snapshot (the continue token
 * keeps the first page's revision) and written page by page: memory stays one page however long the
 * list. A failure after the first page cuts the response short, which clients see as an error.
 */
async function streamList(
  r: ApiRequest,
  page: (opts: { limit?: number; continue?: string }) => Promise<ListResult<KubeObject>>,
  select: (items: KubeObject[]) => KubeObject[],
): Promise<void> {
  const t = r.type;
  let result = await page({ limit: LIST_PAGE });
  const head = JSON.stringify({ kind: `${t.kind}List`, apiVersion: apiVersion(t), metadata: { resourceVersion: result.resourceVersion } });
  r.res.writeHead(200, { 'Content-Type': 'application/json' });
  r.res.write(`${head.slice(0, -1)},"items":[`);
  let first = true;
  try {
    for (;;) {
      const items = select(result.items);
      if (items.length > 0) {
        const chunk = items.map((o) => JSON.stringify(o)).join(',');
        if (!r.res.write(first ? chunk : `,${chunk}`)) await drained(r.res);
        first = false;
        if (r.res.destroyed) return;
      }
      if (!result.continue) break;
      result = await page({ limit: LIST_PAGE, continue: result.continue });
    }
  } catch (err) {
    r.res.destroy(err as Error);
    return;
  }
  r.res.end(']}');
}

async function deleteCollection(r: ApiRequest, deps: HandlerDeps, ns: string | undefined): Promise<void> {
  const t = r.type;
  const labels = labelSelectorParam(r.query);
  const fields = fieldSelectorParam(t, r.query);
  const opts = deleteOptions(r.query, await optionalBody(r), r.user);
  const filter = objectFilter(t, ns, labels, fields, r.visible);
  const result = await deps.ops.store.list(refOf(t), { namespace: ns, labelSelector: labels });
  const deleted: KubeObject[] = [];
  for (const o of result.items.filter(filter)) {
    try {
      deleted.push(await deps.ops.delete(t, o.metadata.namespace, o.metadata.name, opts));
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    }
  }
  sendJson(r.res, 200, { kind: `${t.kind}List`, apiVersion: apiVersion(t), metadata: { resourceVersion: result.resourceVersion }, items: deleted });
}
