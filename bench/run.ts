/**
 * `nubis run --rm busybox true` end to end (CLI process: create the pod, wait for it through a watch,
 * stream its log, wait for it to finish, delete it) against a `nubis up` on this machine, versus podman
 * running the same image (configured as in bench/start.ts) twice over: on a bridge network (the fair
 * peer: a pod gets a veth and an address on the node bridge too) and with `--network none`.
 * Medians of interleaved runs; the ratios are printed, not asserted (target <= 0.5x podman).
 *   node --import tsx bench/run.ts      (BENCH_RUNS=10)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeCgroupTree } from '../src/host/cgroups.js';
import { CGROUP_PARENT, median, podmanSetup, timeCmd } from './start.js';
import { NUBIS, startUp } from './up-process.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

const up = await startUp();
const work = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-run-'));
const podman = podmanSetup(work, up.dataDir);
const env = { ...process.env, KUBECONFIG: up.kubeconfig };
const nubisArgs = ['run', '--rm', 'busybox', 'true'];
const nubis: number[] = [];
const peer: number[] = [];
const peerBridge: number[] = [];
try {
  timeCmd(NUBIS, nubisArgs, env); // warm-up (code cache, image snapshot)
  for (let i = 0; i < RUNS; i++) {
    nubis.push(timeCmd(NUBIS, nubisArgs, env));
    if (podman) {
      peer.push(podman.run());
      peerBridge.push(podman.runBridge());
    }
  }
} finally {
  podman?.cleanup();
  rmSync(work, { recursive: true, force: true });
  await removeCgroupTree(CGROUP_PARENT).catch(() => undefined);
  await up.stop();
}
const n = median(nubis);
console.log(`busybox true, median of ${RUNS} interleaved runs (${os.cpus().length} CPUs)`);
console.log(`  nubis run --rm (pod via nubis up):        ${n.toFixed(1)} ms  (min ${Math.min(...nubis).toFixed(1)}, max ${Math.max(...nubis).toFixed(1)})`);
if (podman) {
  const p = median(peer);
  const b = median(peerBridge);
  console.log(`  podman run --rm, bridge network:          ${b.toFixed(1)} ms`);
  console.log(`  podman run --rm --network none:           ${p.toFixed(1)} ms`);
  console.log(`  ratio nubis / podman on a bridge: ${(n / b).toFixed(2)}x, / podman --network none: ${(n / p).toFixed(2)}x (target <= 0.5x)`);
}
