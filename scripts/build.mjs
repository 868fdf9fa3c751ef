// Builds what bin/nubis runs (type checking is separate: `npm run typecheck`):
//  - dist/nubis.cjs: src/cmd/nubis.ts and everything it imports in one CommonJS file. Modules that the
//    code imports lazily (`await import()`) are bundled too, but their bodies run only when imported.
//    CommonJS rather than ESM because it can be compiled with a V8 code cache (node:vm), which Node 20
//    offers for no ES module, and one file skips the ESM loader's per-module resolve/link work.
//  - dist/nubis.cjs.cache: that V8 code cache, made by running `nubis --help` once (bin/nubis writes it).
//  - dist/daemons.cjs: `nubis up|down|server|agent` (src/cmd/daemons.ts), programs of their own that share
//    no state with the CLI; apart, their megabytes (API server, store, controllers, agent) cost the CLI
//    nothing at start.
//  - dist/unpack-thread.js: the unpack worker (image/unpack-pool.ts starts it beside the bundle), ESM.
//  - dist/yaml-thread.js: the YAML body parser (apiserver/yaml-parser.ts starts it beside the bundle), ESM.
//  - dist/nubis-guest-agent: the micro-VM guest agent (src/runtime/microvm/guest/*.c), a static C program
//    that is PID 1 of each secure pod's VM; musl-gcc makes it ~110 KB (glibc static: ~1 MB), gcc is the
//    fallback when musl-tools is missing.
//   node scripts/build.mjs
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.join(repo, 'dist');

// A fresh dist/: no stale file (or old tsc output) can be picked up.
rmSync(outdir, { recursive: true, force: true });

const common = {
  absWorkingDir: repo,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native addons load their .node files relative to their own package; etcd3 (through grpc) reads
  // .proto files at run time; ws's optional speed-ups may be absent. All stay in node_modules.
  external: ['better-sqlite3', 'etcd3', 'bufferutil', 'utf-8-validate'],
  logLevel: 'warning',
};

/** cmd/nubis.ts's `import('./daemons.js')` loads dist/daemons.cjs. */
const serverApart = {
  name: 'server-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/daemons\.js$/ }, (args) =>
      args.importer === path.join(repo, 'src/cmd/nubis.ts') ? { path: './daemons.cjs', external: true } : undefined,
    );
  },
};

const commonJs = {
  ...common,
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // import() of a package or built-in becomes require(): the bundle then needs no ESM loader at all.
  supported: { 'dynamic-import': false },
  // The sources are ESM: import.meta.url is this file's URL (the worker and attach.ts resolve from it).
  define: { 'import.meta.url': '__nubisImportMetaUrl', 'import.meta.resolve': 'undefined' },
  banner: { js: 'var __nubisImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
};
await build({ ...commonJs, entryPoints: { nubis: 'src/cmd/nubis.ts' }, plugins: [serverApart] });
await build({ ...commonJs, entryPoints: { daemons: 'src/cmd/daemons.ts' } });

await build({
  ...common,
  entryPoints: { 'unpack-thread': 'src/image/unpack-thread.ts', 'yaml-thread': 'src/apiserver/yaml-thread.ts' },
  format: 'esm',
  // Bundled CommonJS packages call require() for Node built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __nubisCreateRequire } from 'node:module'; const require = __nubisCreateRequire(import.meta.url);" },
});

buildGuestAgent();

/** Compiles the guest agent; a warning or error fails the build. */
function buildGuestAgent() {
  const dir = path.join(repo, 'src/runtime/microvm/guest');
  const sources = readdirSync(dir).filter((f) => f.endsWith('.c')).sort().map((f) => path.join(dir, f));
  const hasMusl = (() => {
    try {
      execFileSync('musl-gcc', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  mkdirSync(outdir, { recursive: true });
  execFileSync(
    hasMusl ? 'musl-gcc' : 'gcc',
    ['-static', '-Os', '-Wall', '-Wextra', '-Werror', '-ffunction-sections', '-fdata-sections', '-Wl,--gc-sections', '-s',
      '-o', path.join(outdir, 'nubis-guest-agent'), ...sources],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

// Also proves the bundle starts: a failure here fails the build, with Node's message.
execFileSync(process.execPath, [path.join(repo, 'bin', 'nubis.js'), '--help'], {
  env: { ...process.env, NUBIS_WRITE_CODE_CACHE: '1' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
