/**
 * This machine's main IPv4 address: the address of the interface the default route leaves by, else
 * the first address of any interface that is not loopback. What pods and other machines reach it at
 * when nothing more precise was configured.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The interface of the IPv4 default route, from /proc/net/route. */
function defaultRouteInterface(): string | undefined {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
      if (destination === '00000000' && mask === '00000000') return iface;
    }
  } catch {
    // no procfs: fall back below
  }
  return undefined;
}

export function primaryAddress(): string | undefined {
  const interfaces = os.networkInterfaces();
  const v4 = (name: string) => interfaces[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const viaDefault = defaultRouteInterface();
  if (viaDefault && v4(viaDefault)) return v4(viaDefault);
  for (const name of Object.keys(interfaces)) if (v4(name)) return v4(name);
  return undefined;
}
