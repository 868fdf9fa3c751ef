/**
 * The RuntimeClass handler of a pod, as the kubelet resolves it: the default handler without a
 * `runtimeClassName`, else the handler of the named class, read through the API. A class's handler is
 * immutable, so answers are kept a minute (a class deleted and made again with another handler is seen
 * by pods that start after that).
 */
import { DEFAULT_RUNTIME_HANDLER, type RuntimeClass } from '../api/node/v1/runtime-class.js';
import type { Pod } from '../api/core/v1/pod-types.js';
import type { RestClient } from '../client/rest-client.js';
import { isNubisError, notFound } from '../lib/errors.js';
import { RUNTIME_CLASSES } from './resources.js';

export class RuntimeHandlers {
  readonly #known = new Map<string, { handler: string; at: number }>();

  constructor(
    private readonly client: RestClient,
    private readonly ttlMs = 60_000,
  ) {}

  /** The pod's handler; NotFound (in the kubelet's words) when its RuntimeClass does not exist. */
  async of(pod: Pod): Promise<string> {
    const name = pod.spec.runtimeClassName;
    if (!name) return DEFAULT_RUNTIME_HANDLER;
    const hit = this.#known.get(name);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.handler;
    let rc: RuntimeClass;
    try {
      rc = await this.client.get<RuntimeClass>(RUNTIME_CLASSES, name);
    } catch (err) {
      if (isNubisError(err, 'NotFound')) throw notFound(`RuntimeClass "${name}" not found`, err);
      throw err;
    }
    this.#known.set(name, { handler: rc.handler, at: Date.now() });
    return rc.handler;
  }
}
