/**
 * Pull-and-unpack benchmark: a ~100 MB multi-layer image (five layers of random data and a busybox
 * layer, gzip) in Debian's docker-registry on loopback, pulled by `nubis ctr image pull` (fresh data dir
 * each run) and by `podman pull` (fresh storage each run), runs interleaved. Prints the medians and
 * the ratio nubis/podman (target: at most 0.7). Cleans up everything it made.
 *
 *   node --import tsx bench/pull.ts [--runs N] [--layer-mb M] [--no-build]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { makeImage, makeLayer, pushImage } from '../test/integration/image/image-builder.js';
import { requireTool, startRegistry, tempDir } from '../test/integration/image/registry-fixture.js';
import { numberArg } from './args.js';
import { median, timeCmd } from './start.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Unmounts whatever is mounted below `dir` (podman's overlay storage may leave mounts). */
function unmountBelow(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

async function main(): Promise<void> {
  const runs = numberArg('runs', 5);
  const layerMb = numberArg('layer-mb', 19);
  const tools: [string, string][] = [['podman', 'podman'], ['docker-registry', 'docker-registry'], ['busybox', 'busybox-static']];
  for (const [bin, pkg] of tools) requireTool(bin, pkg);
  if (!process.argv.includes('--no-build')) {
    process.stderr.write('building nubis (npm run build)...\n');
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`npm run build failed: ${b.stderr}`);
  }
  // what a user runs: bin/nubis starts the build (it says so if there is none)
  const nubis = path.join(ROOT, 'bin', 'nubis');

  const work = await tempDir('nubis-bench-pull-');
  const reg = await startRegistry();
  try {
    process.stderr.write('building and pushing the image...\n');
    const layers = [await makeLayer({ 'bin/busybox': readFileSync('/bin/busybox') })];
    for (let i = 0; i < 5; i++) layers.push(await makeLayer({ [`data/blob-${i}`]: randomBytes(layerMb << 20) }));
    const img = makeImage(layers, { gzip: true });
    await pushImage(reg.base, 'bench/img', 'v1', img);
    const total = [...img.blobs.values()].reduce((n, b) => n + b.length, 0);
    const ref = `${reg.host}/bench/img:v1`;
    process.stderr.write(`image: ${layers.length} layers, ${(total / 1e6).toFixed(1)} MB; ${runs} runs each\n`);

    const times = { nubis: [] as number[], podman: [] as number[] };
    const runNubis = async (i: number) => {
      const data = path.join(work, `nubis-${i}`);
      times.nubis.push(timeCmd(nubis, ['--data-dir', data, 'ctr', 'image', 'pull', '-q', ref]));
      await fs.rm(data, { recursive: true, force: true });
    };
    const runPodman = async (i: number) => {
      const root = path.join(work, `podman-${i}`);
      const store = ['--root', path.join(root, 'root'), '--runroot', path.join(root, 'run')];
      try {
        times.podman.push(timeCmd('podman', [...store, 'pull', '-q', '--tls-verify=false', ref]));
      } finally {
        spawnSync('podman', [...store, 'rmi', '-af'], { stdio: 'ignore' });
        unmountBelow(root);
        await fs.rm(root, { recursive: true, force: true });
      }
    };
    for (let i = 0; i < runs; i++) {
      // who goes first alternates, so neither always meets the other's leftover writeback
      if (i % 2 === 0) {
        await runNubis(i);
        await runPodman(i);
      } else {
        await runPodman(i);
        await runNubis(i);
      }
      process.stderr.write(`run ${i + 1}: nubis ${times.nubis[i]?.toFixed(0)} ms, podman ${times.podman[i]?.toFixed(0)} ms\n`);
    }
    const n = median(times.nubis);
    const p = median(times.podman);
    process.stdout.write(
      `pull+unpack of ${(total / 1e6).toFixed(0)} MB (${layers.length} layers) from a loopback registry, median of ${runs}:\n` +
        `  nubis  ${n.toFixed(0)} ms\n  podman ${p.toFixed(0)} ms\n  ratio  ${(n / p).toFixed(2)} (target <= 0.70)\n`,
    );
  } finally {
    await reg.stop();
    unmountBelow(work);
    await fs.rm(work, { recursive: true, force: true });
  }
}

await main();
