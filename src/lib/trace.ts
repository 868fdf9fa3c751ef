/**
 * NUBIS_TRACE=1 prints the steps of a command with their times on stderr: milliseconds since the
 * process started and since the previous step, and the wall clock (seconds.milliseconds within the
 * minute), which lines up the steps of several processes (the CLI, the API server, the agent). Off (one
 * boolean test per step) otherwise.
 */
import { performance } from 'node:perf_hooks';

const enabled = Boolean(process.env.NUBIS_TRACE);
let last = 0;

/** Records that `step` just finished. */
export function trace(step: string): void {
  if (!enabled) return;
  const now = performance.now();
  if (last === 0) {
    const boot = performance.nodeTiming.bootstrapComplete;
    process.stderr.write(`nubis trace: ${boot.toFixed(1).padStart(7)} ms              node bootstrap\n`);
    last = boot;
  }
  const wall = ((performance.timeOrigin + now) % 60_000) / 1000;
  process.stderr.write(`nubis trace: ${now.toFixed(1).padStart(7)} ms  +${(now - last).toFixed(1).padStart(6)} ms  @${wall.toFixed(3).padStart(6, '0')}  ${step}\n`);
  last = now;
}
