/**
 * The suite's last step: proves the tests left nothing of Nubis on the machine — no mount, conmon
 * process, runc container or cgroup whose path names nubis. Exits non-zero with the list otherwise.
 */
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
    if ((comm === 'conmon' || comm === 'runc') && /nubis/i.test(cmdline)) problems.push(`process ${pid}: ${cmdline}`);
  } catch {
    // gone while we looked
  }
}
for (const c of nubisCgroups()) problems.push(`cgroup: ${c}`);

if (problems.length > 0) {
  console.error(`leftovers after the suite (${problems.length}):\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} else {
  console.log('leftover check: no mounts, processes or cgroups of Nubis remain');
}
