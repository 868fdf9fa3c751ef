/**
 * The guest kernel's command line. Each default earns its place by a measurement (README.md):
 * `tsc_early_khz` because microvm has no HPET or PIT to calibrate the TSC against, `cryptomgr.notests`
 * because the crypto self-tests take ~0.5 s under TCG, `panic=-1 reboot=t` with QEMU's -no-reboot so
 * a guest panic ends QEMU instead of hanging.
 */
import { promises as fs } from 'node:fs';
import { errno } from '../../lib/errors.js';

export interface CmdlineOptions {
  /** The console device: ttyS0 (ISA serial), hvc0 (virtio console) or none. */
  console: 'ttyS0' | 'hvc0' | 'none';
  /** The host's TSC frequency in kHz (see hostTscKhz); omitted when unknown. */
  tscKhz?: number;
  /** Print kernel messages of warning level and above only (default true). */
  quiet?: boolean;
  /** More parameters, appended (the guest agent's own, for example). */
  extra?: readonly string[];
}

/** Parameters that make the Debian kernel boot faster in a microvm without changing what runs. */
export const FAST_BOOT_PARAMS = ['cryptomgr.notests', 'pci=off', '8250.nr_uarts=1'] as const;

/** The command line for `opts`. */
export function kernelCmdline(opts: CmdlineOptions): string {
  const params: string[] = [];
  if (opts.console !== 'none') params.push(`console=${opts.console}`);
  if (opts.quiet ?? true) params.push('quiet');
  params.push('panic=-1', 'reboot=t', ...FAST_BOOT_PARAMS);
  if (opts.tscKhz) params.push(`tsc_early_khz=${opts.tscKhz}`);
  params.push(...(opts.extra ?? []));
  return params.join(' ');
}

/**
 * The host's TSC frequency in kHz: sysfs's tsc_freq_khz where the kernel offers it, otherwise the first
 * "cpu MHz" of /proc/cpuinfo (the TSC rate on hosts with a constant TSC, the usual case for VM hosts).
 * Undefined when neither says.
 */
export async function hostTscKhz(procRoot = '/proc', sysRoot = '/sys'): Promise<number | undefined> {
  try {
    const khz = Number((await fs.readFile(`${sysRoot}/devices/system/cpu/cpu0/tsc_freq_khz`, 'utf8')).trim());
    if (Number.isInteger(khz) && khz > 0) return khz;
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
  const cpuinfo = await fs.readFile(`${procRoot}/cpuinfo`, 'utf8').catch(() => '');
  const mhz = /^cpu MHz\s*:\s*([0-9.]+)/m.exec(cpuinfo)?.[1];
  const khz = mhz ? Math.round(Number(mhz) * 1000) : NaN;
  return Number.isFinite(khz) && khz > 0 ? khz : undefined;
}
