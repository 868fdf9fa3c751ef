/**
 * Controller expectations (as Kubernetes' ControllerExpectations): after a controller asks for pods to
 * be created or deleted, it waits until its informer has seen those changes before it counts pods
 * again, so a stale cache never makes it create or delete twice. Expectations expire after `ttlMs`
 * in case an event was missed.
 */
interface Expectation {
  adds: number;
  deletes: Set<string>;
  at: number;
}

export class Expectations {
  readonly #byKey = new Map<string, Expectation>();

  constructor(private readonly ttlMs = 5 * 60_000) {}

  /** Whether the controller of `key` may trust its cache: nothing pending, or the wait expired. */
  satisfied(key: string): boolean {
    const e = this.#byKey.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.deletes.size === 0) || Date.now() - e.at > this.ttlMs) {
      this.#byKey.delete(key);
      return true;
    }
    return false;
  }

  expectCreations(key: string, count: number): void {
    const e = this.#get(key);
    e.adds += count;
    e.at = Date.now();
  }

  /** `objectKeys`: namespace/name of the objects whose deletion was asked for. */
  expectDeletions(key: string, objectKeys: string[]): void {
    const e = this.#get(key);
    for (const k of objectKeys) e.deletes.add(k);
    e.at = Date.now();
  }

  /** An object the controller created appeared (or its creation failed). */
  creationObserved(key: string): void {
    const e = this.#byKey.get(key);
    if (e) e.adds--;
  }

  /** An object the controller deleted disappeared or got its deletionTimestamp (or its deletion failed). */
  deletionObserved(key: string, objectKey: string): void {
    this.#byKey.get(key)?.deletes.delete(objectKey);
  }

  delete(key: string): void {
    this.#byKey.delete(key);
  }

  #get(key: string): Expectation {
    let e = this.#byKey.get(key);
    if (!e) this.#byKey.set(key, (e = { adds: 0, deletes: new Set(), at: Date.now() }));
    return e;
  }
}
