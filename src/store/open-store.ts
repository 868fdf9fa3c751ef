import { invalid } from '../lib/errors.js';
import { EtcdStore } from './etcd/etcd-store.js';
import type { ObjectStore } from './object-store.js';
import { SqliteStore, sqliteStoreFile } from './sqlite/sqlite-store.js';

/** Which backend holds the objects: the embedded SQLite file under the data dir, or an etcd cluster. */
export type StoreConfig =
  | { backend: 'sqlite'; dataDir: string }
  | { backend: 'etcd'; endpoints: string[]; prefix?: string };

/** Opens the configured ObjectStore (explicit wiring: the only place that names both backends). */
export function openObjectStore(config: StoreConfig): ObjectStore {
  switch (config.backend) {
    case 'sqlite':
      return SqliteStore.open({ file: sqliteStoreFile(config.dataDir) });
    case 'etcd':
      return new EtcdStore({ endpoints: config.endpoints, prefix: config.prefix });
    default:
      throw invalid(`unknown store backend "${(config as { backend: string }).backend}" (sqlite or etcd)`);
  }
}
