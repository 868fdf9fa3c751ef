/**
 * The cluster verbs — get, describe, apply, create, delete, edit, label, patch, config — with kubectl's
 * flags. Only the command tree is built here; each verb's implementation loads when it runs.
 */
import type { Command } from 'commander';
import { invalid } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { withKubeFlags } from './kube-session.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const collectCsv = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

function bool(v: string | boolean | undefined, name: string): boolean | undefined {
  if (v === undefined || v === true || v === 'true') return v === undefined ? undefined : true;
  if (v === false || v === 'false') return false;
  throw invalid(`--${name} takes true or false, not "${v}"`);
}

type Opts = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Registers the cluster verbs on the top-level program. */
export function registerKubeCommands(program: Command, ctx: CliContext): void {
  withKubeFlags(program.command('get').description('show objects as tables or as yaml, json, name or jsonpath').argument('<resources...>', 'TYPE [NAME...] | TYPE/NAME... | TYPE1,TYPE2'))
    .option('-A, --all-namespaces', 'objects of every namespace')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-o, --output <format>', 'wide | yaml | json | name | jsonpath=TEMPLATE')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--watch-only', 'print changes only, without the list first')
    .option('--show-labels', 'add a LABELS column')
    .option('-L, --label-columns <keys>', 'a column per label key (repeat or comma-separate)', collectCsv)
    .option('--no-headers', 'no header line')
    .option('--chunk-size <n>', 'list in pages of this many objects (0: one request)')
    .option('--request-timeout <duration>', 'end a watch after this long (e.g. 30s)')
    .action(async (args: string[], o: Opts) => (await import('./kube-get.js')).runGet(ctx, args, { ...o, noHeaders: o.headers === false }));

  withKubeFlags(program.command('describe').description('show an object in readable sections, with its events').argument('<resources...>', 'TYPE [NAME...] | TYPE/NAME'))
    .option('-A, --all-namespaces', 'objects of every namespace')
    .option('-l, --selector <selector>', 'label selector')
    .option('--show-events [bool]', 'list the object\'s events', 'true')
    .action(async (args: string[], o: Opts) => (await import('./kube-describe.js')).runDescribe(ctx, args, { ...o, showEvents: bool(o.showEvents, 'show-events') }));

  withKubeFlags(program.command('apply').description('create or update objects from files (client-side three-way patch, or --server-side)'))
    .requiredOption('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('--server-side', 'server-side apply (the server merges and tracks field owners)')
    .option('--force-conflicts', 'with --server-side: take fields other managers own')
    .option('--field-manager <name>', 'the manager name recorded for the change')
    .option('--dry-run [mode]', 'none, client or server')
    .option('-o, --output <format>', 'yaml | json | name | jsonpath=TEMPLATE')
    .action(async (o: Opts) => (await import('./kube-apply.js')).runApply(ctx, o as never));

  const create = withKubeFlags(program.command('create').description('create objects from files, or namespaces, config maps and secrets'))
    .enablePositionalOptions()
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('--save-config', 'record the last-applied annotation, so apply can follow')
    .option('--dry-run [mode]', 'none, client or server')
    .option('-o, --output <format>', 'yaml | json | name | jsonpath=TEMPLATE')
    .action(async (o: Opts) => {
      if (!o.filename?.length) throw invalid('create needs -f FILE, or one of: namespace, configmap, secret generic');
      await (await import('./kube-apply.js')).runCreateFiles(ctx, o);
    });
  const createFlags = (c: Command) =>
    withKubeFlags(c)
      .option('--save-config', 'record the last-applied annotation')
      .option('--dry-run [mode]', 'none, client or server')
      .option('-o, --output <format>', 'yaml | json | name | jsonpath=TEMPLATE');
  const dataFlags = (c: Command) =>
    createFlags(c)
      .option('--from-literal <key=value>', 'a key and its value (repeatable)', collect)
      .option('--from-file <[key=]path>', 'a file (key: its name) or a directory of files (repeatable)', collect)
      .option('--from-env-file <path>', 'KEY=VALUE lines (repeatable)', collect);
  createFlags(create.command('namespace').alias('ns').description('create a namespace').argument('<name>')).action(async (name: string, o: Opts) =>
    (await import('./kube-apply.js')).runCreateNamespace(ctx, name, o),
  );
  dataFlags(create.command('configmap').alias('cm').description('create a config map from literals and files').argument('<name>')).action(async (name: string, o: Opts) =>
    (await import('./kube-apply.js')).runCreateConfigMap(ctx, name, o),
  );
  const secret = create.command('secret').description('create a secret');
  dataFlags(secret.command('generic').description('create an Opaque (or --type) secret from literals and files').argument('<name>'))
    .option('--type <type>', 'the secret type (default Opaque)')
    .action(async (name: string, o: Opts) => (await import('./kube-apply.js')).runCreateSecret(ctx, name, o));

  withKubeFlags(program.command('delete').description('delete objects by name, file, selector or --all').argument('[resources...]', 'TYPE NAME... | TYPE/NAME...'))
    .option('-f, --filename <file>', 'file, directory or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-l, --selector <selector>', 'label selector')
    .option('--field-selector <selector>', 'field selector')
    .option('--all', 'every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: in every namespace')
    .option('--cascade [mode]', 'background (default), foreground or orphan', 'background')
    .option('--grace-period <seconds>', 'seconds to let the object stop (-1: its own default)')
    .option('--now', 'grace period of 1 second')
    .option('--force', 'grace period of 0: delete at once')
    .option('--wait [bool]', 'wait until the objects are gone (default true)', 'true')
    .option('--timeout <duration>', 'how long to wait (default: no limit)')
    .option('--ignore-not-found', 'objects already gone are not an error')
    .action(async (args: string[], o: Opts) => (await import('./kube-delete.js')).runDelete(ctx, args, { ...o, wait: bool(o.wait, 'wait') }));

  withKubeFlags(program.command('edit').description('edit an object in $KUBE_EDITOR or $EDITOR and save it as a patch').argument('<resource...>', 'TYPE NAME | TYPE/NAME'))
    .option('-o, --output <format>', 'yaml (default) or json in the editor')
    .action(async (args: string[], o: Opts) => (await import('./kube-edit.js')).runEdit(ctx, args, o));

  withKubeFlags(program.command('label').description('add, change (--overwrite) or remove (key-) labels').argument('<args...>', 'TYPE NAME... key=value... key-...'))
    .option('--overwrite', 'replace labels that already have a value')
    .option('-l, --selector <selector>', 'label objects matching this selector')
    .option('--all', 'label every object of the type in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: in every namespace')
    .option('--list', 'print the labels instead')
    .option('--resource-version <rv>', 'only if the object is still at this version')
    .option('--dry-run [mode]', 'none or server')
    .action(async (args: string[], o: Opts) => (await import('./kube-label.js')).runLabel(ctx, args, o));

  withKubeFlags(program.command('patch').description('change an object with a strategic, merge or json patch').argument('<resource...>', 'TYPE NAME | TYPE/NAME'))
    .requiredOption('-p, --patch <patch>', 'the patch, JSON or YAML')
    .option('--type <type>', 'strategic (default), merge or json', 'strategic')
    .option('--subresource <name>', 'status or scale')
    .option('--dry-run [mode]', 'none or server')
    .option('-o, --output <format>', 'yaml | json | name | jsonpath=TEMPLATE')
    .action(async (args: string[], o: Opts) => (await import('./kube-label.js')).runPatch(ctx, args, o));

  const config = withKubeFlags(program.command('config').description('print the kubeconfig of the selected context (with credentials), or manage kubeconfig files'), false)
    .enablePositionalOptions()
    .option('-o, --output <format>', 'yaml (default) or json')
    .action(async (o: Opts) => (await import('./kube-config.js')).runConfigPrint(ctx, o));
  withKubeFlags(config.command('view').description('show the merged kubeconfig (secrets hidden unless --raw)'), false)
    .option('--raw', 'show certificates and tokens')
    .option('--minify', 'only what the current context needs')
    .option('-o, --output <format>', 'yaml (default) or json')
    .action(async (o: Opts) => (await import('./kube-config.js')).runConfigView(ctx, o));
  withKubeFlags(config.command('write').description('merge the selected context into FILE and make it current').argument('<file>'), false).action(async (file: string, o: Opts) =>
    (await import('./kube-config.js')).runConfigWrite(ctx, file, o),
  );
  withKubeFlags(config.command('use-context').description('set current-context').argument('<name>'), false).action(async (name: string, o: Opts) =>
    (await import('./kube-config.js')).runUseContext(ctx, name, o),
  );
  withKubeFlags(config.command('current-context').description('print current-context'), false).action(async (o: Opts) => (await import('./kube-config.js')).runCurrentContext(ctx, o));
  withKubeFlags(config.command('get-contexts').description('list the contexts'), false)
    .option('-o, --output <format>', 'name for names only')
    .option('--no-headers', 'no header line')
    .action(async (o: Opts) => (await import('./kube-config.js')).runGetContexts(ctx, { ...o, noHeaders: o.headers === false }));
}
