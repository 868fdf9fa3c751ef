import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, invalid } from '../lib/errors.js';
import { formatCidr, formatIp, lastIp, parseCidr, parseIp, type Cidr } from '../lib/cidr.js';

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
