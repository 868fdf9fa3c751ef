import type { Command } from 'commander';
import { Images } from '../../image/images.js';
import { formatTable, humanDuration, humanSize, type CliContext } from '../context.js';

/** The Images facade of the CLI's data dir. */
export function cliImages(ctx: CliContext): Images {
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
      const list = await cliImages(ctx).list();
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
    .command('rm')
    .alias('remove')
    .description('remove images (by name, ID or digest) and collect what nothing uses any more')
    .argument('<image...>')
    .option('-f, --force', 'remove an image with several names, or one a container uses')
    .action(async (refs: string[], opts: { force?: boolean }) => {
      const res = await cliImages(ctx).remove(refs, { force: opts.force });
      for (const n of res.untagged) ctx.stdout.write(`Untagged: ${n}\n`);
      for (const d of res.pruned.removedBlobs) ctx.stdout.write(`Deleted: ${d}\n`);
    });

  image
    .command('prune')
    .description('remove blobs and snapshots that no image uses')
    .action(async () => {
      const res = await cliImages(ctx).prune();
      ctx.stdout.write(
        `Deleted ${res.removedBlobs.length} blobs and ${res.removedSnapshots.length} snapshots\n` +
          `Total reclaimed space: ${humanSize(res.reclaimedBytes)}\n`,
      );
    });
}
