import { realpathSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/nubis';

/**
 * The one directory that holds all state of a Nubis instance: flag, then NUBIS_DATA_DIR, then the default.
 * Symlinks are resolved (in the part that exists), so paths under it match what the mount table says.
 */
export function resolveDataDir(flag?: string): string {
  return realPath(path.resolve(flag ?? process.env.NUBIS_DATA_DIR ?? DEFAULT_DATA_DIR));
}

/** `p` with symlinks resolved in its longest existing ancestor. */
function realPath(p: string): string {
  const rest: string[] = [];
  for (let dir = p; ; dir = path.dirname(dir)) {
    try {
      return path.join(realpathSync(dir), ...rest.reverse());
    } catch {
      if (dir === path.dirname(dir)) return p;
      rest.push(path.basename(dir));
    }
  }
}
