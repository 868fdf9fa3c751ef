/**
 * Explicit wiring of runtime drivers: a name maps to a factory. Nothing registers itself on import; the
 * VM ('vm') and micro-VM ('microvm') drivers are added here when they exist.
 */
import type { Host } from '../host/host.js';
import { invalid } from '../lib/errors.js';
import type { RuntimeDriver } from './driver.js';
import { OciDriver, type RootfsProvider } from './oci/oci-driver.js';

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

export type DriverFactory = (deps: DriverDeps) => RuntimeDriver;

export const DRIVERS: Readonly<Record<string, DriverFactory>> = {
  oci: (deps) => new OciDriver(deps),
};

export function createDriver(name: string, deps: DriverDeps): RuntimeDriver {
  const factory = DRIVERS[name];
  if (!factory) throw invalid(`unknown runtime driver "${name}": known are ${Object.keys(DRIVERS).join(', ')}`);
  return factory(deps);
}
