/**
 * Passwords and logins of tenant users. A password is kept as a salted scrypt hash in an internal
 * object (`internal.nubis.dev/passwords`, never served), apart from the User, so no reader of Users ever
 * sees it. A login checks the password and makes a UserToken whose secret is returned once; expired
 * tokens are removed by a sweep.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { KubeObject } from '../../api/meta.js';
import { NUBIS_GROUP, type Login, type UserToken } from '../../api/nubis/v1/tenancy.js';
import { isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import type { ObjectStore, ResourceRef } from '../../store/object-store.js';
import { secretHash, userTokenString } from '../authn/user-token.js';
import type { InternalWriter } from '../internal-writer.js';
import { ApiError } from '../status.js';
import type { TenancyIndex } from './tenancy-index.js';

const log = logger('tenancy');
const PASSWORDS: ResourceRef = { group: 'internal.nubis.dev', resource: 'passwords' };
const SCRYPT: ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const DEFAULT_LOGIN_SECONDS = 12 * 3600;
export const MIN_PASSWORD_LENGTH = 8;

interface PasswordRecord extends KubeObject {
  spec: { salt: string; hash: string; params: string };
}

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, 32, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

const randomName = () => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(12)].map((b) => alphabet[b % 36]).join('');
};

/** Password hashes computed at once (each takes ~32 MiB and a worker thread), and how many may wait. */
const HASHING = 2;
const WAITING = 32;

export class Credentials {
  private readonly sweeper: NodeJS.Timeout;
  private hashing = 0;
  private readonly queue: Array<() => void> = [];

  /** Runs a password hash when a slot is free; 429 when too many are queued (a flood of logins). */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.hashing >= HASHING) {
      if (this.queue.length >= WAITING) throw new ApiError('TooManyRequests', 'too many logins at once, try again in a moment', { retryAfterSeconds: 1 });
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.hashing++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.hashing--;
    }
  }

  constructor(
    private readonly store: ObjectStore,
    private readonly index: TenancyIndex,
    private readonly writer: InternalWriter,
  ) {
    this.sweeper = setInterval(() => void this.sweepExpired(), 600_000).unref();
    index.onUser((name, obj) => {
      if (!obj) void this.forget(name);
    });
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  async setPassword(user: string, password: unknown): Promise<void> {
    if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH || password.length > 1024) {
      throw new ApiError('Invalid', `User "${user}" is invalid: password: Invalid value: must be a string of ${MIN_PASSWORD_LENGTH} to 1024 characters`, {
        name: user,
        group: NUBIS_GROUP,
        kind: 'User',
        causes: [{ reason: 'FieldValueInvalid', message: `must be ${MIN_PASSWORD_LENGTH} to 1024 characters`, field: 'password' }],
      });
    }
    const salt = randomBytes(16);
    const hash = await this.limited(() => derive(password, salt));
    const record: PasswordRecord = { apiVersion: 'internal.nubis.dev/v1', kind: 'Password', metadata: { name: user }, spec: { salt: salt.toString('base64'), hash: hash.toString('base64'), params: 'scrypt:15:8:1' } };
    try {
      const current = await this.store.get<PasswordRecord>(PASSWORDS, { name: user });
      await this.store.update(PASSWORDS, { ...record, metadata: { ...current.metadata } });
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      await this.store.create(PASSWORDS, record);
    }
  }

  /** Removes a deleted user's password. */
  private async forget(user: string): Promise<void> {
    await this.store.delete(PASSWORDS, { name: user }).catch(() => undefined);
  }

  private async passwordMatches(user: string, password: string): Promise<boolean> {
    let record: PasswordRecord | undefined;
    try {
      record = await this.store.get<PasswordRecord>(PASSWORDS, { name: user });
    } catch (err) {
      // No user has a name the store cannot hold: such a login fails like any unknown name.
      if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Invalid')) throw err;
    }
    // An unknown user costs the same hash, so timing does not tell which names exist.
    const salt = record ? Buffer.from(record.spec.salt, 'base64') : Buffer.alloc(16);
    const got = await derive(password, salt);
    const want = record ? Buffer.from(record.spec.hash, 'base64') : randomBytes(32);
    return !!record && want.length === got.length && timingSafeEqual(want, got);
  }

  /** A Login: the user's password checked, a new token made; 401 for any wrong name or password. */
  async login(spec: Login['spec'], description: string): Promise<NonNullable<Login['status']>> {
    const user = this.index.user(spec.username);
    const ok = (await this.limited(() => this.passwordMatches(spec.username, spec.password))) && !!user && !user.spec.disabled;
    if (!ok || !user) {
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 100));
      throw new ApiError('Unauthorized', 'invalid user name or password');
    }
    const secret = randomBytes(32).toString('base64url');
    const name = `ut-${randomName()}`;
    const expires = new Date(Date.now() + (spec.expirationSeconds ?? DEFAULT_LOGIN_SECONDS) * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    const token: UserToken = {
      apiVersion: `${NUBIS_GROUP}/v1`,
      kind: 'UserToken',
      // Owned by the user: the garbage collector removes a deleted user's tokens.
      metadata: { name, ownerReferences: [{ apiVersion: `${NUBIS_GROUP}/v1`, kind: 'User', name: user.metadata.name, uid: user.metadata.uid ?? '' }] },
      spec: { user: user.metadata.name, secretHash: secretHash(secret), expirationTimestamp: expires, description: spec.description ?? description },
    };
    await this.writer.create(this.writer.ops.registry.byResource(NUBIS_GROUP, 'usertokens')!, undefined, token as unknown as Record<string, unknown>);
    await this.index.waitForToken(name);
    return { token: userTokenString(name, secret), expirationTimestamp: expires, tenant: user.spec.tenant, user: user.metadata.name };
  }

  /** Deletes tokens that have expired. */
  async sweepExpired(now = Date.now()): Promise<void> {
    const t = this.writer.ops.registry.byResource(NUBIS_GROUP, 'usertokens')!;
    for (const token of this.index.allTokens()) {
      const exp = token.spec.expirationTimestamp;
      if (!exp || Date.parse(exp) > now) continue;
      await this.writer.delete(t, undefined, token.metadata.name, { preconditions: { uid: token.metadata.uid } }).catch((err: unknown) => {
        if (!(err instanceof ApiError && (err.reason === 'NotFound' || err.reason === 'Conflict'))) log.warn(`removing expired token ${token.metadata.name}: ${(err as Error).message}`);
      });
    }
  }
}
