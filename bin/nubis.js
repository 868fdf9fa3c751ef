// Runs Nubis from a checkout (after `npm run build`) or from the installed package; bin/nubis starts it
// (`node bin/nubis.js ARGS` works too, without bin/nubis's hand-over of NODE_EXTRA_CA_CERTS). CommonJS (see
// bin/package.json): starting Node's ES module loader would cost the CLI several milliseconds.
//
// dist/nubis.cjs is the bundle of src/cmd/nubis.ts (scripts/build.mjs). It is compiled here with node:vm
// and the V8 code cache the build wrote beside it, which spares most of the compiling at every start.
// A cache holds what was compiled when it was made (plus what the cache it started from held): the
// build's comes from `nubis --help`, so the first successful `ctr run` writes it again, with the run
// path's functions in it (once: a marker file records it). A cache this Node rejects (another Node
// version) or lacks is written again at exit too. All this only where dist/ is writable; without a
// cache the bundle just compiles as usual.
'use strict';
const { existsSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '..', 'dist', 'nubis.cjs');
const cacheFile = `${file}.cache`;
const runMarker = `${cacheFile}.has-run`;
let source;
try {
  source = readFileSync(file, 'utf8');
} catch (err) {
  if (err && err.code === 'ENOENT') {
    process.stderr.write('nubis: not built yet: run `npm run build` in the checkout\n');
    process.exit(125);
  }
  throw err;
}
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // none yet
}
// The CommonJS wrapper, on the bundle's first line so that line numbers stay right.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n})`, {
  filename: file,
  cachedData,
});
const stale = cachedData === undefined || script.cachedDataRejected;
const isRun = process.argv.includes('run');
if (stale || process.env.NUBIS_WRITE_CODE_CACHE || (isRun && !existsSync(runMarker))) {
  process.once('exit', (code) => {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      if (stale) rmSync(runMarker, { force: true });
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
      if (isRun && code === 0) writeFileSync(runMarker, '');
    } catch {
      rmSync(tmp, { force: true }); // a read-only install runs without a cache
    }
  });
}
const bundle = { exports: {} };
script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, path.dirname(file));
