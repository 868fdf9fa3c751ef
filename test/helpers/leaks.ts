/**
 * Leftover checks for integration tests: after a test, nothing of Nubis may remain on the machine —
 * no mount under the data dir, no conmon serving it, no runc state, no cgroup it created.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Every cgroup directory (relative path incl. hierarchy) whose path contains "nubis". */
export function nubisCgroups(root = CGROUP_ROOT): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 4) return;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e);
      try {
        if (!statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (e.includes('nubis')) found.add(path.relative(root, p));
      walk(p, depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

function mountsUnder(dir: string): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
}

function processesMentioning(needle: string, comm: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) out.push(`${pid}: ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** What exists before a test, so the check after it blames only the test. */
export interface HostSnapshot {
  cgroups: Set<string>;
}

export function snapshotHost(): HostSnapshot {
  return { cgroups: nubisCgroups() };
}

/** Lists what a test left behind for `dataDir`; empty means clean. */
export function leftovers(dataDir: string, before: HostSnapshot = { cgroups: new Set() }): string[] {
  const problems: string[] = [];
  for (const m of mountsUnder(dataDir)) problems.push(`mount left: ${m}`);
  for (const p of processesMentioning(dataDir, 'conmon')) problems.push(`conmon left: ${p}`);
  // comm is cut at 15 characters: qemu-system-x86_64 shows as qemu-system-x86.
  for (const p of processesMentioning(dataDir, 'qemu-system-x86')) problems.push(`QEMU left: ${p}`);
  const runcRoot = path.join(dataDir, 'runc');
  if (existsSync(runcRoot)) {
    const list = execFileSync('runc', ['--root', runcRoot, 'list', '-q'], { encoding: 'utf8' }).trim();
    if (list) problems.push(`runc state left: ${list.split('\n').join(', ')}`);
  }
  for (const c of nubisCgroups()) if (!before.cgroups.has(c)) problems.push(`cgroup left: ${c}`);
  return problems;
}

/** Throws with the full list when anything of `dataDir` is left on the machine. */
export function assertNoLeftovers(dataDir: string, before?: HostSnapshot): void {
  const problems = leftovers(dataDir, before);
  if (problems.length > 0) throw new Error(`leftovers after test:\n  ${problems.join('\n  ')}`);
}

/** What an agent left in its data dir: pod directories (volumes), sandboxes (pinned namespaces) and containers. */
export function agentDirsLeft(dataDir: string): string[] {
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  return [
    ...entries(path.join(dataDir, 'agent', 'pods')).map((d) => `pod dir left: ${d}`),
    ...entries(path.join(dataDir, 'sandboxes')).map((d) => `sandbox left: ${d}`),
    ...entries(path.join(dataDir, 'microvm', 'sandboxes')).map((d) => `micro-VM sandbox left: ${d}`),
    ...entries(path.join(dataDir, 'microvm', 'containers')).filter((d) => /^[0-9a-f]{64}$/.test(d)).map((d) => `micro-VM container left: ${d}`),
    ...entries(path.join(dataDir, 'agent', 'userns')).map((d) => `user namespace range still claimed: ${d}`),
    ...entries(path.join(dataDir, 'containers')).filter((d) => /^[0-9a-f]{64}$/.test(d)).map((d) => `container left: ${d}`),
  ];
}
