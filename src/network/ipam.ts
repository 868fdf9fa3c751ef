import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, invalid } from '../lib/errors.js';
import { contains, formatCidr, formatIp, lastIp, parseCidr, parseIp, type Cidr } from './cidr.js';

/**
 * The pod address allocator of one node, persisted under `dir`: one file per allocated address, named
 * after it and holding the owner's pod uid. Files are created with O_EXCL, so two processes (or an agent
 * and its restarted self) never hand out the same address. The network address, the gateway (first
 * usable, held by the node bridge) and the broadcast address are never handed out. A cursor file makes
 * allocation go round the range, so a released address is not reused at once.
 */
export class NodeIpam {
  readonly range: Cidr;
  /** Allocations in flight in this process, so concurrent calls for one owner get one address. */
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    range: string,
  ) {
    this.range = parseCidr(range);
    if (this.range.prefix > 30) throw invalid(`node range ${range} is too small for pods (at most /30)`);
  }

  private first(): number {
    return this.range.base + 2;
  }

  private last(): number {
    return lastIp(this.range) - 1;
  }

  /** Allocated addresses and their owners. */
  async list(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return out;
      throw err;
    }
    for (const name of names) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
      try {
        out.set(name, (await fs.readFile(path.join(this.dir, name), 'utf8')).trim());
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    }
    return out;
  }

  /** The address held by `owner`, if any. */
  async addressOf(owner: string): Promise<string | undefined> {
    for (const [ip, o] of await this.list()) if (o === owner) return ip;
    return undefined;
  }

  /**
   * Gives `owner` an address; an owner that already holds one gets the same one back. Fails with Invalid
   * ("no free address in 10.42.3.0/24") when the range is exhausted.
   */
  allocate(owner: string): Promise<string> {
    const inFlight = this.pending.get(owner);
    if (inFlight) return inFlight;
    const p = this.allocateOnce(owner).finally(() => this.pending.delete(owner));
    this.pending.set(owner, p);
    return p;
  }

  private async allocateOnce(owner: string): Promise<string> {
    if (!owner || /[\n/]/.test(owner)) throw invalid(`invalid address owner "${owner}"`);
    const held = await this.addressOf(owner);
    if (held) return held;
    await fs.mkdir(this.dir, { recursive: true });
    const first = this.first();
    const count = this.last() - first + 1;
    const start = await this.cursor();
    for (let i = 0; i < count; i++) {
      const n = first + ((start - first + i + count) % count);
      const ip = formatIp(n);
      try {
        await fs.writeFile(path.join(this.dir, ip), owner + '\n', { flag: 'wx' });
      } catch (err) {
        if (errno(err) === 'EEXIST') continue;
        throw err;
      }
      await this.setCursor(n + 1);
      return ip;
    }
    throw invalid(`no free address in ${formatCidr(this.range)}`);
  }

  /** Releases what `owner` holds; an owner holding nothing is not an error. */
  async release(owner: string): Promise<string[]> {
    const freed: string[] = [];
    for (const [ip, o] of await this.list()) {
      if (o !== owner) continue;
      await fs.rm(path.join(this.dir, ip), { force: true });
      freed.push(ip);
    }
    return freed;
  }

  /** Releases every address whose owner is not in `live` (pods gone while the agent was down). */
  async reclaim(live: Iterable<string>): Promise<string[]> {
    const keep = new Set(live);
    const freed: string[] = [];
    for (const [ip, o] of await this.list()) {
      if (keep.has(o)) continue;
      await fs.rm(path.join(this.dir, ip), { force: true });
      freed.push(ip);
    }
    return freed;
  }

  private async cursor(): Promise<number> {
    try {
      const n = parseIp((await fs.readFile(path.join(this.dir, 'cursor'), 'utf8')).trim());
      return n >= this.first() && n <= this.last() ? n : this.first();
    } catch {
      return this.first();
    }
  }

  private async setCursor(n: number): Promise<void> {
    const next = n > this.last() ? this.first() : n;
    // Best effort: a lost cursor only makes allocation start over from the bottom of the range.
    await fs.writeFile(path.join(this.dir, 'cursor'), formatIp(next) + '\n').catch(() => {});
  }
}

/**
 * The ClusterIP allocation contract, as pure logic over the set of addresses in use (the API server
 * persists the set). The network and broadcast addresses of the range are never handed out.
 */
export class ClusterIpAllocator {
  readonly range: Cidr;
  private readonly used: Set<number>;
  private next: number;

  constructor(range: string, used: Iterable<string> = []) {
    this.range = parseCidr(range);
    if (this.range.prefix > 30) throw invalid(`service CIDR ${range} is too small (at most /30)`);
    this.used = new Set([...used].map(parseIp));
    this.next = this.range.base + 1;
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
      if (this.used.has(n)) continue;
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
