/**
 * Import rules of DESIGN.md: lib <- api <- store, client <- apiserver, scheduler, controllers, agent <- cmd;
 * runtime, image, network and host sit under agent. The CLI and web console reach the server only through client/.
 * No cycles anywhere.
 */
const layer = (from, allowed) => ({
  name: `${from}-imports`,
  comment: `src/${from} may import only: ${allowed.join(', ') || 'nothing else in src'}`,
  severity: 'error',
  from: { path: `^src/${from}/` },
  to: { path: '^src/', pathNot: [`^src/${from}/`, ...allowed.map((a) => `^src/${a}/`)] },
});

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    layer('lib', []),
    layer('api', ['lib']),
    layer('host', ['lib']),
    layer('store', ['lib', 'api']),
    layer('client', ['lib', 'api']),
    layer('image', ['lib', 'host']),
    layer('network', ['lib', 'host']),
    layer('runtime', ['lib', 'host', 'image']),
    layer('apiserver', ['lib', 'api', 'store', 'client']),
    layer('scheduler', ['lib', 'api', 'client']),
    layer('controllers', ['lib', 'api', 'client']),
    layer('agent', ['lib', 'api', 'client', 'runtime', 'image', 'network', 'host']),
    layer('cli', ['lib', 'api', 'client', 'runtime', 'image', 'host']),
    layer('web', ['lib', 'api', 'client']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
