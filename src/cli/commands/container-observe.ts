/** `nubis ctr logs | stats` */
import type { Command } from 'commander';
import { invalid } from '../../lib/errors.js';
import type { WorkloadInfo, WorkloadStats } from '../../runtime/driver.js';
import { formatTimestamp, parseSince } from '../../runtime/oci/logs.js';
import { formatTable, humanSize, type CliContext } from '../context.js';
import { containerDriver } from './container-driver.js';

export const STATS_HEADER = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'];

/** One stats row; CPU % is the share of one CPU used between the two samples (can exceed 100%). */
export function statsRow(info: WorkloadInfo, a: WorkloadStats, b: WorkloadStats, intervalNs: number, hostMem: number): string[] {
  const cpu = intervalNs > 0 ? (Math.max(0, b.cpuUsageNs - a.cpuUsageNs) / intervalNs) * 100 : 0;
  const limit = b.memoryLimitBytes ?? hostMem;
  return [
    info.id.slice(0, 12),
    info.name,
    `${cpu.toFixed(2)}%`,
    `${humanSize(b.memoryBytes, true)} / ${humanSize(limit, true)}`,
    `${limit > 0 ? ((b.memoryBytes / limit) * 100).toFixed(2) : '0.00'}%`,
    String(b.pids),
  ];
}

export function registerObserveCommands(ctr: Command, ctx: CliContext): void {
  ctr
    .command('logs')
    .description('show a container\'s output')
    .argument('<container>')
    .option('-f, --follow', 'keep printing new output until the container exits')
    .option('--since <time>', 'only output since a time (RFC 3339) or a duration ago (10m, 1h)')
    .option('-n, --tail <lines>', 'only the last N lines', 'all')
    .option('-t, --timestamps', 'show timestamps')
    .action(async (ref: string, f: { follow?: boolean; since?: string; tail: string; timestamps?: boolean }) => {
      let tail: number | undefined;
      if (f.tail !== 'all') {
        tail = Number(f.tail);
        if (!Number.isInteger(tail) || tail < 0) throw invalid(`invalid --tail "${f.tail}": expected a number of lines or "all"`);
      }
      const since = f.since === undefined ? undefined : parseSince(f.since);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      try {
        const driver = await containerDriver(ctx);
        let midLine = false;
        for await (const e of driver.logs(ref, { follow: f.follow, since, tail, signal: ac.signal })) {
          const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout;
          const prefix = f.timestamps && !midLine ? `${formatTimestamp(e.timestamp)} ` : '';
          out.write(`${prefix}${e.text}${e.partial ? '' : '\n'}`);
          midLine = e.partial;
        }
      } finally {
        process.removeListener('SIGINT', stop);
      }
    });

  ctr
    .command('stats')
    .description('CPU, memory and process counts of running containers')
    .argument('[containers...]')
    .option('--no-stream', 'print one table and exit (the default when stdout is not a terminal)')
    .option('-a, --all', 'include containers that are not running')
    .action(async (refs: string[], f: { stream: boolean; all?: boolean }) => {
      const driver = await containerDriver(ctx);
      const { totalmem } = await import('node:os');
      const pick = async () => {
        const all = refs.length > 0 ? await Promise.all(refs.map((r) => driver.get(r))) : await driver.list();
        return refs.length > 0 || f.all ? all : all.filter((c) => c.state.status === 'running' || c.state.status === 'paused');
      };
      const stream = f.stream && Boolean((ctx.stdout as NodeJS.WriteStream).isTTY);
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      try {
        do {
          const list = await pick();
          const t0 = process.hrtime.bigint();
          const first = await Promise.all(list.map((c) => driver.stats(c.id)));
          await new Promise((r) => setTimeout(r, 500));
          const second = await Promise.all(list.map((c) => driver.stats(c.id)));
          const interval = Number(process.hrtime.bigint() - t0);
          const rows = list.map((c, i) => statsRow(c, first[i]!, second[i]!, interval, totalmem()));
          if (stream) ctx.stdout.write('\x1b[2J\x1b[H');
          ctx.stdout.write(formatTable(STATS_HEADER, rows));
        } while (stream && !ac.signal.aborted);
      } finally {
        process.removeListener('SIGINT', stop);
      }
    });
}
