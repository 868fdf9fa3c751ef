// Builds what bin/nubis runs: src/cmd/nubis.ts bundled by esbuild into dist/nubis.js, with lazily
// imported parts split into chunks beside it (all ESM: package.json says "type": "module"). Type
// checking is separate (`npm run typecheck`).
//   node scripts/build.mjs
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.join(repo, 'dist');

// A fresh dist/: no stale chunk (or old tsc output) can be picked up.
rmSync(outdir, { recursive: true, force: true });

await build({
  absWorkingDir: repo,
  entryPoints: {
    nubis: 'src/cmd/nubis.ts',
    // Started as a worker by image/unpack-pool.ts: new URL('./unpack-thread.js', import.meta.url).
    'unpack-thread': 'src/image/unpack-thread.ts',
  },
  outdir,
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  // Native addons load their .node files relative to their own package; etcd3 (through grpc) reads
  // .proto files at run time; ws's optional speed-ups may be absent. All stay in node_modules.
  external: ['better-sqlite3', 'node-unix-socket', 'etcd3', 'bufferutil', 'utf-8-validate'],
  // Bundled CommonJS packages call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __nubisCreateRequire } from 'node:module'; const require = __nubisCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
