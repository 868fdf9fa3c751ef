/**
 * Registry credentials from an auth file in the format docker and podman write
 * (`{"auths": {"host:port": {"auth": base64("user:password")}}}`), and from a `user:password` flag.
 */
import { invalid } from '../lib/errors.js';
import { readJson } from '../lib/files.js';
import type { Credentials } from './registry-client.js';

/** Parses `user:password` (the password may hold colons). */
export function parseCreds(s: string): Credentials {
  const i = s.indexOf(':');
  if (i <= 0) throw invalid('credentials must be given as user:password');
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

/** The credentials stored for `registry` in the auth file, if any. */
export async function credentialsFromFile(file: string, registry: string): Promise<Credentials | undefined> {
  const doc = await readJson<{ auths?: Record<string, { auth?: string; username?: string; password?: string }> }>(file).catch(
    (err: unknown) => {
      throw invalid(`cannot read auth file ${file}`, err);
    },
  );
  const keys = registry === 'docker.io' ? ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/'] : [registry];
  for (const k of keys) {
    const e = doc?.auths?.[k] ?? doc?.auths?.[`https://${k}`] ?? doc?.auths?.[`http://${k}`];
    if (!e) continue;
    if (e.auth) return parseCreds(Buffer.from(e.auth, 'base64').toString('utf8'));
    if (e.username !== undefined && e.password !== undefined) return { username: e.username, password: e.password };
  }
  return undefined;
}
