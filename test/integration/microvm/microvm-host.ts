/** What the micro-VM tests need of the host, checked up front with a message that says how to get it. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { guestAgentBinary } from '../../../src/runtime/microvm/guest-assets.js';
import { QEMU_BINARY } from '../../../src/runtime/microvm/qemu-command.js';

/** Fails (never skips) when QEMU, a guest kernel or the built guest agent is missing. */
export function requireMicrovmHost(): void {
  try {
    execFileSync(QEMU_BINARY, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${QEMU_BINARY} is missing: scripts/install.sh --test installs qemu-system-x86`);
  }
  if (!existsSync('/boot') || !readdirSync('/boot').some((f) => f.startsWith('vmlinuz-'))) {
    throw new Error('no kernel in /boot for micro-VM guests: scripts/install.sh --test installs linux-image-amd64');
  }
  guestAgentBinary();
}

const GUEST_SRC = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../src/runtime/microvm/guest');

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compiles the guest agent to `out` as scripts/build.mjs does. */
export function buildGuestAgent(out: string): void {
  const sources = readdirSync(GUEST_SRC).filter((f) => f.endsWith('.c')).map((f) => path.join(GUEST_SRC, f));
  execFileSync(hasCommand('musl-gcc') ? 'musl-gcc' : 'gcc', ['-static', '-Os', '-Wall', '-Wextra', '-Werror', '-o', out, ...sources], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** Polls `fn` until it gives something truthy, failing after `ms`. */
export async function eventually<T>(fn: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
