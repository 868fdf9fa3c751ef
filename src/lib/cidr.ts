import { invalid } from './errors.js';

/** An IPv4 network: its first address as a 32-bit unsigned number and its prefix length. */
export interface Cidr {
  readonly base: number;
  readonly prefix: number;
}

/** Parses a dotted IPv4 address into a 32-bit unsigned number; anything else is Invalid. */
export function parseIp(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw invalid(`invalid IPv4 address "${text}"`);
  }
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; host bits must be zero (10.42.0.1/16 is refused, as Kubernetes does). */
export function parseCidr(text: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) throw invalid(`invalid CIDR "${text}": expected a.b.c.d/n`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw invalid(`invalid CIDR "${text}": prefix length must be 0..32`);
  let ip: number;
  try {
    ip = parseIp(m[1]!);
  } catch (err) {
    throw invalid(`invalid CIDR "${text}": bad address`, err);
  }
  if ((ip & mask(prefix)) >>> 0 !== ip) {
    throw invalid(`invalid CIDR "${text}": host bits set (did you mean ${formatIp((ip & mask(prefix)) >>> 0)}/${prefix}?)`);
  }
  return { base: ip, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

/** Number of addresses in the network. */
export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** The last address of the network (broadcast for prefixes below 31). */
export function lastIp(c: Cidr): number {
  return c.base + size(c) - 1;
}

/** Whether `ip` (text or number) lies inside `c`. */
export function contains(c: Cidr, ip: string | number): boolean {
  const n = typeof ip === 'string' ? parseIp(ip) : ip;
  return n >= c.base && n <= lastIp(c);
}

/** Whether two networks share any address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base <= lastIp(b) && b.base <= lastIp(a);
}

/** Fails with Invalid naming the first pair of overlapping networks (e.g. cluster CIDR vs service CIDR). */
export function assertNoOverlap(named: Record<string, string>): void {
  const entries = Object.entries(named).map(([k, v]) => [k, parseCidr(v)] as const);
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      const [an, a] = entries[i]!;
      const [bn, b] = entries[j]!;
      if (overlaps(a, b)) throw invalid(`${an} ${formatCidr(a)} overlaps ${bn} ${formatCidr(b)}`);
    }
  }
}

/** The `index`-th subnet of length `prefix` inside `c` (node ranges: the n-th /24 of a /16). */
export function subnet(c: Cidr, prefix: number, index: number): Cidr {
  if (prefix < c.prefix || prefix > 32) {
    throw invalid(`cannot split ${formatCidr(c)} into /${prefix} subnets`);
  }
  const count = 2 ** (prefix - c.prefix);
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw invalid(`subnet index ${index} is outside ${formatCidr(c)} (it holds ${count} /${prefix} subnets)`);
  }
  return { base: c.base + index * 2 ** (32 - prefix), prefix };
}

/**
 * Picks the first /`prefix` subnet of `cluster` not in `taken` (node pod ranges assigned by the control
 * plane). Fails with Invalid when every subnet is in use.
 */
export function allocateSubnet(cluster: string, prefix: number, taken: Iterable<string>): string {
  const c = parseCidr(cluster);
  const used = [...taken].map(parseCidr);
  const count = 2 ** (prefix - c.prefix);
  if (prefix < c.prefix || prefix > 32) throw invalid(`cannot split ${formatCidr(c)} into /${prefix} subnets`);
  for (let i = 0; i < count; i++) {
    const s = subnet(c, prefix, i);
    if (!used.some((u) => overlaps(u, s))) return formatCidr(s);
  }
  throw invalid(`no free /${prefix} node range left in cluster CIDR ${formatCidr(c)}`);
}

/** The gateway of a node range: its first usable address (.1 of a /24), held by the node bridge. */
export function gatewayIp(c: Cidr): string {
  return formatIp(c.base + 1);
}
