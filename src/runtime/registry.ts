/**
 * Explicit wiring of runtime drivers: a driver name maps to a factory, and a RuntimeClass handler maps to
 * the driver that runs it. Nothing registers itself on import. The agent builds one RuntimeRegistry with
 * the drivers this machine can run, picks a pod's driver by its handler, and asks every driver for the
 * workloads, sandboxes and images it holds.
 */
import type { Host } from '../host/host.js';
import { invalid, unavailable } from '../lib/errors.js';
import type { RootfsProvider } from './oci/oci-containers.js';
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

export type DriverFactory = (deps: DriverDeps) => SandboxDriver;

/** The drivers by name. */
export const DRIVERS: Readonly<Record<string, DriverFactory>> = {
  oci: (deps) => new OciDriver(deps),
};

/** RuntimeClass handlers and the driver that runs each. */
export const HANDLERS: Readonly<Record<string, string>> = {
  runc: 'oci',
};

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
      const factory = DRIVERS[name];
      if (!factory) throw invalid(`unknown runtime driver "${name}": known are ${Object.keys(DRIVERS).join(', ')}`);
      const driver = factory(deps);
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
