/**
 * Images for pod containers per imagePullPolicy: Always pulls each time a container starts, IfNotPresent
 * pulls when the image is not stored, Never only uses a stored one. The built-in busybox is never pulled
 * (it is made from the host's busybox). Pulls of the same reference share one request.
 */
import type { Images } from '../image/images.js';
import { isBuiltinBusybox } from '../image/reference.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';

const log = logger('agent');

/** A pull that failed: the container waits with ErrImagePull / ImagePullBackOff, or ErrImageNeverPull. */
export class ImagePullError extends Error {
  constructor(
    message: string,
    readonly reason: 'ErrImagePull' | 'ErrImageNeverPull' | 'InvalidImageName',
  ) {
    super(message);
  }
}

export class ImagePuller {
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly images: Images,
    private readonly opts: { insecureRegistries?: string[] } = {},
  ) {}

  /** Makes sure `ref` is stored, pulling per `policy`; fails with ImagePullError. */
  async ensure(ref: string, policy: string | undefined, signal?: AbortSignal): Promise<void> {
    if (!ref) throw new ImagePullError('the container has no image', 'InvalidImageName');
    if (isBuiltinBusybox(ref)) return;
    if (policy !== 'Always') {
      const present = await this.images.resolve(ref).then(
        () => true,
        (err: unknown) => {
          if (isNubisError(err, 'NotFound')) return false;
          throw new ImagePullError(`invalid image "${ref}": ${(err as Error).message}`, 'InvalidImageName');
        },
      );
      if (present) return;
      if (policy === 'Never') throw new ImagePullError(`container image "${ref}" is not present with pull policy of Never`, 'ErrImageNeverPull');
    }
    let p = this.#inFlight.get(ref);
    if (!p) {
      log.info(`pulling image ${ref}`);
      p = this.images
        .pull(ref, { insecureRegistries: this.opts.insecureRegistries, signal })
        .then(() => undefined)
        .finally(() => this.#inFlight.delete(ref));
      this.#inFlight.set(ref, p);
    }
    try {
      await p;
    } catch (err) {
      throw new ImagePullError(`failed to pull image "${ref}": ${(err as Error).message}`, 'ErrImagePull');
    }
  }
}
