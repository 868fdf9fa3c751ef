/** `nubis ctr ps | stop | kill | pause | unpause | rm | inspect`: thin wrappers over the driver. */
import type { Command } from 'commander';
import { invalid } from '../../lib/errors.js';
import { formatTable, type CliContext } from '../context.js';
import { containerDriver } from './container-driver.js';
import { inspectDocument, PS_HEADER, psRow } from './container-format.js';

/**
 * Runs `fn` for each container like docker does: prints each ref that worked, reports each failure on
 * stderr, and fails (non-zero) if any did. A single ref simply throws its error.
 */
async function eachContainer(ctx: CliContext, refs: string[], fn: (ref: string) => Promise<void>): Promise<void> {
  if (refs.length === 1) {
    await fn(refs[0]!);
    ctx.stdout.write(`${refs[0]}\n`);
    return;
  }
  let failed = 0;
  for (const ref of refs) {
    try {
      await fn(ref);
      ctx.stdout.write(`${ref}\n`);
    } catch (err) {
      failed++;
      ctx.stderr.write(`nubis: ${(err as Error).message}\n`);
    }
  }
  if (failed > 0) ctx.exitCode = 1;
}

export function registerManageCommands(ctr: Command, ctx: CliContext): void {
  ctr
    .command('ps')
    .description('list containers (running ones unless -a)')
    .option('-a, --all', 'show all containers, also created and exited ones')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'full IDs')
    .action(async (f: { all?: boolean; quiet?: boolean; trunc: boolean }) => {
      const list = (await (await containerDriver(ctx)).list()).filter(
        (c) => f.all || c.state.status === 'running' || c.state.status === 'paused',
      );
      const id = (full: string) => (f.trunc ? full.slice(0, 12) : full);
      if (f.quiet) {
        ctx.stdout.write(list.map((c) => `${id(c.id)}\n`).join(''));
        return;
      }
      const now = Date.now();
      ctx.stdout.write(formatTable(PS_HEADER, list.map((c) => [id(c.id), ...psRow(c, now).slice(1)])));
    });

  ctr
    .command('stop')
    .description('stop containers: the stop signal (SIGTERM), then SIGKILL after the grace period')
    .argument('<containers...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', '10')
    .option('-s, --signal <signal>', 'signal to send instead of the image\'s stop signal')
    .action(async (refs: string[], f: { time: string; signal?: string }) => {
      const seconds = Number(f.time);
      if (!Number.isFinite(seconds) || seconds < 0) throw invalid(`invalid --time "${f.time}": expected seconds`);
      const driver = await containerDriver(ctx);
      await eachContainer(ctx, refs, (r) => driver.stop(r, { timeoutSeconds: seconds, signal: f.signal }));
    });

  ctr
    .command('kill')
    .description('send a signal to containers (SIGKILL by default)')
    .argument('<containers...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(async (refs: string[], f: { signal: string }) => {
      const driver = await containerDriver(ctx);
      await eachContainer(ctx, refs, (r) => driver.kill(r, f.signal));
    });

  ctr
    .command('pause')
    .description('freeze all processes of containers')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const driver = await containerDriver(ctx);
      await eachContainer(ctx, refs, (r) => driver.pause(r));
    });

  ctr
    .command('unpause')
    .description('thaw paused containers')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const driver = await containerDriver(ctx);
      await eachContainer(ctx, refs, (r) => driver.resume(r));
    });

  ctr
    .command('rm')
    .description('remove containers (running ones only with -f)')
    .argument('<containers...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], f: { force?: boolean }) => {
      const driver = await containerDriver(ctx);
      await eachContainer(ctx, refs, (r) => driver.remove(r, { force: f.force }));
    });

  ctr
    .command('inspect')
    .description('show containers as JSON')
    .argument('<containers...>')
    .action(async (refs: string[]) => {
      const driver = await containerDriver(ctx);
      const docs = await Promise.all(refs.map(async (r) => inspectDocument(await driver.get(r))));
      ctx.stdout.write(`${JSON.stringify(docs, null, 4)}\n`);
    });
}
