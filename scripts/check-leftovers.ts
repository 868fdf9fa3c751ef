/**
 * The suite's last step: proves the tests left nothing of Nubis on the machine — no mount, conmon
 * or QEMU process, runc container or cgroup whose path names nubis, no network namespace, interface or nftables
 * table of Nubis or of the network tests. Exits non-zero with the list otherwise.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { nubisCgroups } from '../test/helpers/leaks.js';

const problems: string[] = [];
for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
  const mountPoint = line.split(' ')[4];
  if (mountPoint && /nubis/i.test(mountPoint)) problems.push(`mount: ${mountPoint}`);
}
for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if ((comm === 'conmon' || comm === 'runc' || comm.startsWith('qemu-system')) && /nubis/i.test(cmdline)) problems.push(`process ${pid}: ${cmdline}`);
  } catch {
    // gone while we looked
  }
}
for (const c of nubisCgroups()) problems.push(`cgroup: ${c}`);
// Network tests make namespaces nubis-test-* and nubis-e2e-*, and test bridges and veths nbt*/nbv*/tv*.
for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
  const name = line.split(' ')[0];
  if (name && /^nubis-(test|e2e)-/.test(name)) problems.push(`network namespace: ${name}`);
}
for (const line of execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n')) {
  const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
  if (name && (/^(nbt|nbv)/.test(name) || name === 'nubis0')) problems.push(`interface: ${name}`);
}
// A stopped agent with no pods left removes its Service and policy tables with its bridge.
const nft = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' });
for (const line of (nft.stdout ?? '').split('\n')) if (/^table (ip|bridge) nubis/.test(line)) problems.push(`nftables: ${line}`);

if (problems.length > 0) {
  console.error(`leftovers after the suite (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('leftover check: no mounts, processes, cgroups, network namespaces, interfaces or nftables tables of Nubis remain');
}
