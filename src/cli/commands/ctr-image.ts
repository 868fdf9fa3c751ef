import type { Command } from 'commander';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Images } from '../../image/images.js';
import { invalid } from '../../lib/errors.js';
import { exists } from '../../lib/files.js';
import { formatTable, humanDuration, humanSize, type CliContext } from '../context.js';

/** The Images facade of the CLI's data dir; the image modules load on first use. */
export async function cliImages(ctx: CliContext): Promise<Images> {
  const { Images } = await import('../../image/images.js');
  return new Images(ctx.dataDir(), ctx.host);
}

function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** `nubis ctr image ls | pull | import | export | rm | prune` */
export function registerImageCommands(ctr: Command, ctx: CliContext): void {
  const image = ctr.command('image').alias('images').description('images on this machine');

  image
    .command('ls')
    .alias('list')
    .description('list images')
    .option('-q, --quiet', 'only image IDs')
    .option('--digests', 'show manifest digests')
    .action(async (opts: { quiet?: boolean; digests?: boolean }) => {
      const list = await (await cliImages(ctx)).list();
      if (opts.quiet) {
        ctx.stdout.write([...new Set(list.map((i) => shortId(i.id)))].map((id) => `${id}\n`).join(''));
        return;
      }
      const now = Date.now();
      const header = ['REPOSITORY', 'TAG', ...(opts.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
      const rows = list.map((i) => [
        i.repository,
        i.tag,
        ...(opts.digests ? [i.digest] : []),
        shortId(i.id),
        i.created && !Number.isNaN(Date.parse(i.created)) ? `${humanDuration(now - Date.parse(i.created))} ago` : 'N/A',
        humanSize(i.size),
      ]);
      ctx.stdout.write(formatTable(header, rows));
    });

  image
    .command('pull')
    .description('pull an image from a registry (OCI distribution API v2)')
    .argument('<image>', 'e.g. 127.0.0.1:5000/app:v1 or registry.example/app@sha256:…')
    .option(
      '--insecure-registry <host:port>',
      'use plain HTTP for this registry (repeatable; also NUBIS_INSECURE_REGISTRIES, comma-separated)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--creds <user:password>', 'credentials for the registry')
    .option('--authfile <file>', 'auth file in docker/podman format (default NUBIS_AUTH_FILE or <data-dir>/auth.json)')
    .option('-q, --quiet', 'no progress, print only the image name')
    .action(async (ref: string, opts: { insecureRegistry: string[]; creds?: string; authfile?: string; quiet?: boolean }) => {
      const [{ parseReference }, { credentialsFromFile, parseCreds }, { TerminalProgress }] = await Promise.all([
        import('../../image/reference.js'),
        import('../../image/auth-file.js'),
        import('../../image/pull-progress.js'),
      ]);
      const registry = parseReference(ref).registry;
      const authfile = opts.authfile ?? process.env.NUBIS_AUTH_FILE ?? path.join(ctx.dataDir(), 'auth.json');
      const credentials = opts.creds
        ? parseCreds(opts.creds)
        : (await exists(authfile))
          ? await credentialsFromFile(authfile, registry)
          : undefined;
      const insecure = [
        ...opts.insecureRegistry,
        ...(process.env.NUBIS_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      ];
      const err = ctx.stderr as NodeJS.WriteStream;
      const progress = !opts.quiet && err.isTTY ? new TerminalProgress(err) : undefined;
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const res = await (await cliImages(ctx)).pull(ref, { insecureRegistries: insecure, credentials, progress, signal: ac.signal });
        if (!opts.quiet) ctx.stdout.write(`Digest: ${res.image.digest}\nPulled: ${res.name}\n`);
        else ctx.stdout.write(`${res.name}\n`);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });

  image
    .command('import')
    .alias('load')
    .description('import a docker-save or OCI image-layout archive (gzip or not); - reads stdin')
    .argument('<file>')
    .option('--tag <name>', 'name for an archive holding one untagged image')
    .action(async (file: string, opts: { tag?: string }) => {
      const src = file === '-' ? process.stdin : createReadStream(file);
      const res = await (await cliImages(ctx)).import(src, { tag: opts.tag });
      for (const n of res.names) ctx.stdout.write(`Loaded image: ${n}\n`);
    });

  image
    .command('export')
    .alias('save')
    .description('export images to an archive: docker save format (default) or an OCI image layout')
    .argument('<image...>')
    .requiredOption('-o, --output <file>', 'where to write (- for stdout)')
    .option('--format <format>', 'docker or oci', 'docker')
    .action(async (refs: string[], opts: { output: string; format: string }) => {
      if (opts.format !== 'docker' && opts.format !== 'oci') throw invalid(`unknown format "${opts.format}": use docker or oci`);
      const images = await cliImages(ctx);
      if (opts.output === '-') {
        await images.export(refs, ctx.stdout as Writable, opts.format);
        return;
      }
      const out = path.resolve(opts.output);
      const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
      try {
        await images.export(refs, createWriteStream(tmp), opts.format);
        await fs.rename(tmp, out);
      } finally {
        await fs.rm(tmp, { force: true });
      }
    });

  image
    .command('rm')
    .alias('remove')
    .description('remove images (by name, ID or digest) and collect what nothing uses any more')
    .argument('<image...>')
    .option('-f, --force', 'remove an image with several names, or one a container uses')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      const res = await (await cliImages(ctx)).remove(refs, { force: opts.force });
      for (const n of res.untagged) ctx.stdout.write(`Untagged: ${n}\n`);
      for (const d of res.pruned.removedBlobs) ctx.stdout.write(`Deleted: ${d}\n`);
    });

  image
    .command('prune')
    .description('remove blobs and snapshots that no image uses')
    .action(async () => {
      const res = await (await cliImages(ctx)).prune();
      ctx.stdout.write(
        `Deleted ${res.removedBlobs.length} blobs and ${res.removedSnapshots.length} snapshots\n` +
          `Total reclaimed space: ${humanSize(res.reclaimedBytes)}\n`,
      );
    });
}
