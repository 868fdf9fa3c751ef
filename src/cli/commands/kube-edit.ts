/**
 * `nubis edit`: the object as YAML (or JSON) in $KUBE_EDITOR / $EDITOR, the change sent as a two-way
 * patch (strategic for known kinds, merge otherwise). A failed save reopens the editor with the error at
 * the top, as kubectl does; saving the same failed text again gives up and keeps a copy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { deepEqual } from '../../api/validation.js';
import { twoWayMergePatch } from '../../client/three-way-patch.js';
import { internal, invalid, isNubisError, messageOf } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { toJson, toYaml } from './kube-print.js';
import { envOf, parseResourceArgs, qualifiedName, withSession, type KubeFlags } from './kube-session.js';

export interface EditFlags extends KubeFlags {
  output?: string;
}

const HEADER = [
  'Please edit the object below. Lines beginning with a \'#\' will be ignored,',
  'and an empty file will abort the edit. If an error occurs while saving this file will be',
  'reopened with the relevant failures.',
  '',
];

function runEditor(ctx: CliContext, file: string): void {
  const env = envOf(ctx);
  const editor = env.KUBE_EDITOR || env.EDITOR || 'vi';
  const r = spawnSync('/bin/sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env });
  if (r.error) throw internal(`cannot run the editor "${editor}": ${r.error.message}`, r.error);
  if (r.status !== 0) throw invalid(`the editor "${editor}" exited with status ${r.status ?? r.signal}`);
}

function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n');
}

export async function runEdit(ctx: CliContext, args: string[], flags: EditFlags): Promise<void> {
  const json = flags.output === 'json';
  if (flags.output && !['json', 'yaml'].includes(flags.output)) throw invalid('edit supports -o yaml or json');
  const reqs = parseResourceArgs(args);
  if (reqs.length !== 1 || reqs[0]!.names.length !== 1) throw invalid('edit takes one object: TYPE NAME or TYPE/NAME');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-edit-'));
  let keep = false;
  try {
    await withSession(ctx, flags, async (s) => {
      const resource = await s.discovery.resolve(reqs[0]!.type);
      const name = reqs[0]!.names[0]!;
      const namespace = resource.namespaced ? s.namespace : undefined;
      const original = await s.client.get(resource, name, { namespace });
      const file = path.join(dir, `${resource.resource}-${name}.${json ? 'json' : 'yaml'}`);
      let body = json ? toJson(original) : toYaml(original);
      let errors: string[] = [];
      let lastFailed: string | undefined;
      for (;;) {
        const header = [...HEADER, ...errors.map((e) => `${resource.resource} "${name}" was not valid:\n${e}`)]
          .join('\n')
          .split('\n')
          .map((l) => (l ? `# ${l}` : '#'))
          .join('\n');
        await writeFile(file, `${header}\n${body}`);
        runEditor(ctx, file);
        const text = stripComments(await readFile(file, 'utf8'));
        if (text.trim() === '') {
          ctx.stdout.write('Edit cancelled, no changes made.\n');
          return;
        }
        if (lastFailed !== undefined && text === lastFailed) {
          keep = true;
          throw invalid(`Edit cancelled, no valid changes were saved. A copy of your changes has been stored to "${file}": ${errors.join('; ')}`);
        }
        let edited: KubeObject;
        try {
          edited = YAML.parse(text) as KubeObject;
          if (typeof edited !== 'object' || edited === null || Array.isArray(edited)) throw invalid('the edited text is not an object');
          if (edited.apiVersion !== original.apiVersion || edited.kind !== original.kind || edited.metadata?.name !== original.metadata.name) {
            throw invalid('apiVersion, kind and metadata.name may not be changed');
          }
          if (deepEqual(edited, original)) {
            ctx.stdout.write('Edit cancelled, no changes made.\n');
            return;
          }
          const type = s.discovery.typeOf(resource);
          const patch = twoWayMergePatch(original as unknown as Record<string, unknown>, edited as unknown as Record<string, unknown>, type?.patchMeta);
          await s.client.patch(resource, name, patch, type ? 'strategic' : 'merge', { namespace, fieldManager: 'kubectl-edit' });
          ctx.stdout.write(`${qualifiedName(resource, name)} edited\n`);
          return;
        } catch (err) {
          if (!isNubisError(err) && !(err instanceof YAML.YAMLError)) throw err;
          errors = [messageOf(err).split('\n')[0]!];
          body = text.replace(/^\n+/, '');
          lastFailed = text;
        }
      }
    });
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}
