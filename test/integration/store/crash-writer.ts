/**
 * Child process of crash.test.ts: opens the SQLite store given as argv[2] and creates pods w-0, w-1, ...
 * with `argv[3]` writers at once, printing `ok <name> <resourceVersion>` as soon as each write resolves.
 * It runs until killed (or `argv[4]` writes, a bound).
 */
import type { KubeObject } from '../../../src/api/meta.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';

const [file, concurrencyArg, maxArg] = process.argv.slice(2);
const store = SqliteStore.open({ file: file! });
const max = Number(maxArg ?? 100_000);
let next = 0;
process.stdout.write('ready\n');
await Promise.all(
  Array.from({ length: Number(concurrencyArg ?? 4) }, async () => {
    while (next < max) {
      const i = next++;
      const obj = await store.create<KubeObject>({ resource: 'pods' }, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `w-${i}`, namespace: 'crash' }, spec: { i, pad: 'x'.repeat(200) } });
      process.stdout.write(`ok ${obj.metadata.name} ${obj.metadata.resourceVersion}\n`);
    }
  }),
);
await store.close();
