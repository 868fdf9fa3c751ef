/**
 * Explicit wiring of runtime drivers: a driver name maps to a factory, and a RuntimeClass handler maps to
 * the driver that runs it. Nothing registers itself on import. The agent builds one RuntimeRegistry with
 * the drivers this machine can run, picks a pod's driver by its handler, and asks every driver for the
 * workloads, sandboxes and images it holds.
 */
import type { Host } from '../host/host.js';
import { invalid, unavailable } from '../lib/errors.js';
import type { RootfsProvider } from './oci/oci-containers.js';
import { microvmHostProblem } from './microvm/guest-assets.js';
import { MicrovmDriver } from './microvm/microvm-driver.js';
import { OciDriver } from './oci/oci-driver.js';
import type { SandboxDriver } from './sandbox.js';

/** What every driver factory gets. */
export interface DriverDeps {
  dataDir: string;
  host: Host;
  images: RootfsProvider;
  /** Driver-specific choice of backend, e.g. "runc" or "crun" for oci. */
  runtime?: string;
  /** argv prefix that runs this program, for clean-up commands run by supervisors. */
  selfCommand?: string[];
}

/** A driver: how it is made, and what this machine lacks for it (undefined: nothing). */
export interface DriverEntry {
  create(deps: DriverDeps): SandboxDriver;
  missing?(): string | undefined;
}

/** The drivers by name. */
export const DRIVERS: Readonly<Record<string, DriverEntry>> = {
  oci: { create: (deps) => new OciDriver(deps) },
  microvm: { create: (deps) => new MicrovmDriver(deps), missing: microvmHostProblem },
};

/** RuntimeClass handlers and the driver that runs each. */
export const HANDLERS: Readonly<Record<string, string>> = {
  runc: 'oci',
  'nubis-microvm': 'microvm',
};

/** The drivers this machine can run, and why each other one cannot. */
export function usableDrivers(): { names: string[]; missing: Record<string, string> } {
  const names: string[] = [];
  const missing: Record<string, string> = {};
  for (const [name, entry] of Object.entries(DRIVERS)) {
    const problem = entry.missing?.();
    if (problem) missing[name] = problem;
    else names.push(name);
  }
  return { names, missing };
}

/** The drivers of one machine, by the handlers they serve. */
export class RuntimeRegistry {
  readonly #byHandler: ReadonlyMap<string, SandboxDriver>;

  /** A registry of given drivers by handler (tests give fakes). */
  constructor(byHandler: Record<string, SandboxDriver>) {
    if (Object.keys(byHandler).length === 0) throw invalid('a runtime registry needs at least one driver');
    this.#byHandler = new Map(Object.entries(byHandler));
  }

  /** The registry of the named drivers (each serving the handlers that map to it). */
  static create(deps: DriverDeps, driverNames: string[] = ['oci']): RuntimeRegistry {
    const byHandler: Record<string, SandboxDriver> = {};
    for (const name of driverNames) {
      const entry = DRIVERS[name];
      if (!entry) throw invalid(`unknown runtime driver "${name}": known are ${Object.keys(DRIVERS).join(', ')}`);
      const driver = entry.create(deps);
      for (const [handler, driverName] of Object.entries(HANDLERS)) if (driverName === name) byHandler[handler] = driver;
    }
    return new RuntimeRegistry(byHandler);
  }

  /** The handlers this machine runs, sorted. */
  handlers(): string[] {
    return [...this.#byHandler.keys()].sort();
  }

  /** The driver of a handler; Unavailable (in the kubelet's words) when this machine has none. */
  forHandler(handler: string): SandboxDriver {
    const driver = this.#byHandler.get(handler);
    if (!driver) throw unavailable(`no runtime for "${handler}" is configured on this node`);
    return driver;
  }

  /** Every driver once. */
  drivers(): SandboxDriver[] {
    return [...new Set(this.#byHandler.values())];
  }

  /** The images any driver's workloads use. */
  async imagesInUse(): Promise<string[]> {
    const all = await Promise.all(this.drivers().map((d) => d.imagesInUse()));
    return [...new Set(all.flat())];
  }

  /** Ends every driver's watches (workloads go on). */
  close(): void {
    for (const d of this.drivers()) d.close();
  }
}
