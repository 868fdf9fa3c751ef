/**
 * Host memory per running container: starts N (default 10, BENCH_CONTAINERS) `sleep` containers and reads
 * the RSS and PSS of every process of ours that stays per container — conmon is the only one (no Nubis
 * process lives on). Prints the average per container against the 2.5 MiB target; not asserted. Removes
 * every container, mount and the temp data dir at the end (the containers' cgroups go with them).
 *
 *   node --import tsx bench/memory.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealHost } from '../src/host/real-host.js';
import { Images } from '../src/image/images.js';
import { OverlaySnapshotStore } from '../src/image/snapshots.js';
import { OciDriver } from '../src/runtime/oci/oci-driver.js';

const N = Number(process.env.BENCH_CONTAINERS ?? 10);

/** RSS and PSS in KiB from /proc/<pid>/smaps_rollup. */
function memoryOf(pid: number): { rss: number; pss: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss') };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-mem-'));
  const host = new RealHost();
  const images = new Images(dataDir, host, { snapshots: new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), host) });
  const driver = new OciDriver({ dataDir, host, images });
  const ids: string[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const info = await driver.create({ image: 'busybox', command: ['sleep', '1000'] });
      await driver.start(info.id);
      ids.push(info.id);
    }
    await new Promise((r) => setTimeout(r, 500));
    let rss = 0;
    let pss = 0;
    for (const id of ids) {
      const pid = Number(readFileSync(path.join(dataDir, 'containers', id, 'conmon.pid'), 'utf8'));
      const m = memoryOf(pid);
      rss += m.rss;
      pss += m.pss;
    }
    const mib = (kib: number) => (kib / 1024).toFixed(2);
    console.log(`${N} running containers: conmon is the only per-container process of Nubis`);
    console.log(`  per container: RSS ${mib(rss / N)} MiB, PSS ${mib(pss / N)} MiB (target <= 2.5 MiB)`);
  } finally {
    for (const id of ids) await driver.remove(id, { force: true }).catch((e: unknown) => console.error(String(e)));
    // Whatever a failed remove left mounted:
    for (const m of (await host.mounts()).filter((m) => m.startsWith(dataDir)).reverse()) await host.unmount(m);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
