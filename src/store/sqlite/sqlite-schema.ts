import type Database from 'better-sqlite3';

/**
 * Tables of the embedded store:
 * - `log`: one row per revision: the key, the change type (0 create, 1 update, 2 delete), the revision
 *   of the key's previous live version, and the object after the change (for a delete: the removed
 *   object at the delete's revision). Watches catch up from it; snapshot reads use it.
 * - `kv`: each live key and the revision of its current version in `log`.
 * - `meta`: the latest revision and the compacted revision.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  prev INTEGER,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
`;

interface ValueRow {
  key: string;
  value: string;
}

interface LogRow {
  rev: number;
  key: string;
  type: number;
  value: string;
  prev: string | null;
}

export interface SqliteStatements {
  getMeta: Database.Statement<[string], { value: number }>;
  setMeta: Database.Statement<[number, string]>;
  getCurrent: Database.Statement<[string], { rev: number; value: string }>;
  insertLog: Database.Statement<[number, string, number, number | null, string]>;
  upsertKv: Database.Statement<[string, number]>;
  deleteKv: Database.Statement<[string]>;
  /** Live objects with keys in (after, end), in key order. */
  listLatest: Database.Statement<[string, string, number], ValueRow>;
  /** Objects as they were at a revision, keys in (after, end), in key order. */
  listAt: Database.Statement<[{ after: string; end: string; rev: number; limit: number }], ValueRow>;
  /** Changes with revisions in (from, to] and keys in [prefix, end), with the previous value. */
  watchRange: Database.Statement<[number, number, string, string, number], LogRow>;
  /** Drops revisions in [lo, hi) that no read at revision >= c needs. */
  compactRange: Database.Statement<[{ lo: number; hi: number; c: number }]>;
}

export function prepareStatements(db: Database.Database): SqliteStatements {
  return {
    getMeta: db.prepare('SELECT value FROM meta WHERE name = ?'),
    setMeta: db.prepare('UPDATE meta SET value = ? WHERE name = ?'),
    getCurrent: db.prepare('SELECT kv.rev AS rev, log.value AS value FROM kv JOIN log ON log.rev = kv.rev WHERE kv.key = ?'),
    insertLog: db.prepare('INSERT INTO log (rev, key, type, prev, value) VALUES (?, ?, ?, ?, ?)'),
    upsertKv: db.prepare('INSERT INTO kv (key, rev) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET rev = excluded.rev'),
    deleteKv: db.prepare('DELETE FROM kv WHERE key = ?'),
    listLatest: db.prepare(
      'SELECT kv.key AS key, log.value AS value FROM kv JOIN log ON log.rev = kv.rev WHERE kv.key > ? AND kv.key < ? ORDER BY kv.key LIMIT ?',
    ),
    listAt: db.prepare(
      `SELECT l.key AS key, l.value AS value FROM log l
       WHERE l.key > $after AND l.key < $end AND l.rev <= $rev AND l.type != 2
         AND NOT EXISTS (SELECT 1 FROM log n WHERE n.key = l.key AND n.rev > l.rev AND n.rev <= $rev)
       ORDER BY l.key LIMIT $limit`,
    ),
    watchRange: db.prepare(
      `SELECT l.rev AS rev, l.key AS key, l.type AS type, l.value AS value, p.value AS prev
       FROM log l LEFT JOIN log p ON p.rev = l.prev
       WHERE l.rev > ? AND l.rev <= ? AND l.key >= ? AND l.key < ? ORDER BY l.rev LIMIT ?`,
    ),
    compactRange: db.prepare(
      `DELETE FROM log WHERE rev >= $lo AND rev < $hi
         AND (type = 2 OR EXISTS (SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev < $c))`,
    ),
  };
}
