import { contains, formatCidr, formatIp, lastIp, parseCidr, parseIp, type Cidr } from '../../../lib/cidr.js';
import { invalid } from '../../../lib/errors.js';

/**
 * The ClusterIP allocation contract, as pure logic over the set of addresses in use (the API server
 * persists the set). The network and broadcast addresses of the range are never handed out; the first
 * and tenth addresses (the `kubernetes` and cluster DNS Services') only when asked for by address.
 */
/** Offsets of the addresses kept for the cluster's own Services. */
const RESERVED_OFFSETS = [1, 10];

export class ClusterIpAllocator {
  readonly range: Cidr;
  private readonly used: Set<number>;
  private next: number;
  private readonly reserved: Set<number>;

  constructor(range: string, used: Iterable<string> = []) {
    this.range = parseCidr(range);
    if (this.range.prefix > 30) throw invalid(`service CIDR ${range} is too small (at most /30)`);
    this.used = new Set([...used].map(parseIp));
    this.next = this.range.base + 1;
    this.reserved = new Set(RESERVED_OFFSETS.map((o) => this.range.base + o));
  }

  /** The address at `offset` in the range (1: the `kubernetes` Service's, 10: the DNS Service's). */
  at(offset: number): string {
    return formatIp(this.range.base + offset);
  }

  /** Fails with Invalid when `ip` is not an address this range can hand out. */
  validate(ip: string): void {
    let n: number;
    try {
      n = parseIp(ip);
    } catch (err) {
      throw invalid(`spec.clusterIP: Invalid value: "${ip}": must be a valid IPv4 address`, err);
    }
    if (!contains(this.range, n) || n === this.range.base || n === lastIp(this.range)) {
      throw invalid(
        `spec.clusterIP: Invalid value: "${ip}": provided IP is not in the valid range. The range of valid IPs is ${formatCidr(this.range)}`,
      );
    }
  }

  isAllocated(ip: string): boolean {
    return this.used.has(parseIp(ip));
  }

  /** Allocates `requested` (Invalid outside the range, Invalid when taken) or the next free address. */
  allocate(requested?: string): string {
    if (requested !== undefined) {
      this.validate(requested);
      const n = parseIp(requested);
      if (this.used.has(n)) {
        throw invalid(`spec.clusterIP: Invalid value: "${requested}": provided IP is already allocated`);
      }
      this.used.add(n);
      return requested;
    }
    const first = this.range.base + 1;
    const count = lastIp(this.range) - first;
    for (let i = 0; i < count; i++) {
      const n = first + ((this.next - first + i) % count);
      if (this.used.has(n) || this.reserved.has(n)) continue;
      this.used.add(n);
      this.next = n + 1;
      return formatIp(n);
    }
    throw invalid(`no free ClusterIP in service CIDR ${formatCidr(this.range)}`);
  }

  /** Releases `ip`; an address not in use is not an error. */
  release(ip: string): void {
    this.used.delete(parseIp(ip));
  }

  /** Addresses in use, in order. */
  allocated(): string[] {
    return [...this.used].sort((a, b) => a - b).map(formatIp);
  }
}

/**
 * The NodePort allocation contract, as pure logic over the ports in use (the API server persists them).
 * Messages follow Kubernetes' for the same mistakes.
 */
export class NodePortAllocator {
  private readonly used: Set<number>;
  private next: number;

  constructor(
    readonly range: [number, number] = [30000, 32767],
    used: Iterable<number> = [],
  ) {
    const [lo, hi] = range;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) {
      throw invalid(`invalid NodePort range ${lo}-${hi}`);
    }
    this.used = new Set(used);
    this.next = lo;
  }

  /** Allocates `requested` (Invalid outside the range or when taken) or the next free port. */
  allocate(requested?: number, field = 'spec.ports[0].nodePort'): number {
    const [lo, hi] = this.range;
    if (requested !== undefined) {
      if (!Number.isInteger(requested) || requested < lo || requested > hi) {
        throw invalid(`${field}: Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
      }
      if (this.used.has(requested)) throw invalid(`${field}: Invalid value: ${requested}: provided port is already allocated`);
      this.used.add(requested);
      return requested;
    }
    const count = hi - lo + 1;
    for (let i = 0; i < count; i++) {
      const p = lo + ((this.next - lo + i) % count);
      if (this.used.has(p)) continue;
      this.used.add(p);
      this.next = p + 1;
      return p;
    }
    throw invalid(`no free NodePort in the range ${lo}-${hi}`);
  }

  release(port: number): void {
    this.used.delete(port);
  }

  allocated(): number[] {
    return [...this.used].sort((a, b) => a - b);
  }
}
