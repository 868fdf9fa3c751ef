import path from 'node:path';

export const DEFAULT_DATA_DIR = '/var/lib/nubis';

/** The one directory that holds all state of a Nubis instance: flag, then NUBIS_DATA_DIR, then the default. */
export function resolveDataDir(flag?: string): string {
  return path.resolve(flag ?? process.env.NUBIS_DATA_DIR ?? DEFAULT_DATA_DIR);
}
