/**
 * Bearer tokens kept hashed in the API server's token file (apiserver/tokens.ts describes it): the
 * admin token and join tokens. The file is re-read when it changes on disk.
 */
import { readFile } from 'node:fs/promises';
import { errno } from '../../lib/errors.js';
import { hashToken, type TokenEntry, type TokenFile } from '../tokens.js';
import type { Authenticator, AuthnResult, Credentials } from './authenticator.js';

export class TokenFileAuthenticator implements Authenticator {
  readonly name = 'token-file';
  private byHash = new Map<string, TokenEntry>();
  private loadedFrom = '';

  constructor(private readonly file: string) {}

  async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') text = '{"tokens":[]}';
      else throw err;
    }
    if (text === this.loadedFrom) return;
    const parsed = JSON.parse(text) as TokenFile;
    this.byHash = new Map((parsed.tokens ?? []).map((t) => [t.sha256, t]));
    this.loadedFrom = text;
  }

  authenticate(creds: Credentials): AuthnResult {
    if (!creds.token) return undefined;
    const entry = this.byHash.get(hashToken(creds.token));
    if (!entry) return undefined;
    if (entry.expiresAt && Date.parse(entry.expiresAt) <= Date.now()) return { invalid: 'the token has expired' };
    return { user: { name: entry.user, groups: entry.groups ?? [] } };
  }
}
