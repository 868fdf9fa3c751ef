/**
 * Service rules benchmark (figures printed, nothing asserted): the time to apply the nftables rules for
 * 1,000 Services with 10 endpoints each (target at most 1 s), and to apply one change among them (one
 * service's endpoints replaced; target at most 50 ms). Runs in a network namespace it creates and deletes.
 * --iptables measures the iptables fallback instead (legacy backend, as on a host without nftables).
 * Usage: node --import tsx bench/service-rules.ts [--services 1000] [--endpoints 10] [--changes 20] [--iptables]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealHost } from '../src/host/real-host.js';
import { formatIp, parseIp } from '../src/lib/cidr.js';
import { IptablesServiceRules } from '../src/network/iptables-service-rules.js';
import { ServiceRules, type ServiceRule } from '../src/network/service-rules.js';
import { numberArg } from './args.js';

const SERVICES = numberArg('services', 1000);
const ENDPOINTS = numberArg('endpoints', 10);
const CHANGES = numberArg('changes', 20);
const IPTABLES = process.argv.includes('--iptables');

function service(i: number, generation: number): ServiceRule {
  return {
    key: `bench/svc-${i}`,
    clusterIP: formatIp(parseIp('10.43.0.0') + 10 + i),
    ports: [
      {
        name: 'http',
        protocol: 'TCP',
        port: 80,
        nodePort: i < 2000 ? 30000 + i : undefined,
        endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
          ip: formatIp(parseIp('10.42.0.0') + ((i * ENDPOINTS + e + generation) % 65000) + 2),
          port: 8080,
          ready: true,
        })),
      },
    ],
  };
}

const ms = (t: bigint) => Number(t) / 1e6;
const ns = `nubis-bench-${randomBytes(3).toString('hex')}`;
if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) throw new Error(`cannot create network namespace ${ns}`);
try {
  const opts = { host: new RealHost(), netns: `/run/netns/${ns}` };
  const nft = new ServiceRules(opts);
  const rules = IPTABLES ? new IptablesServiceRules({ ...opts, restore: 'iptables-legacy-restore', iptables: 'iptables-legacy' }) : nft;
  const all = Array.from({ length: SERVICES }, (_, i) => service(i, 0));
  let t = process.hrtime.bigint();
  const script = IPTABLES ? (rules as IptablesServiceRules).render(all).script : nft.renderFull(all);
  const render = ms(process.hrtime.bigint() - t);
  t = process.hrtime.bigint();
  await rules.sync(all);
  const full = ms(process.hrtime.bigint() - t);
  t = process.hrtime.bigint();
  await rules.sync(all);
  const resync = ms(process.hrtime.bigint() - t);
  const times: number[] = [];
  for (let c = 1; c <= CHANGES; c++) {
    const s = service((c * 37) % SERVICES, c);
    t = process.hrtime.bigint();
    await rules.update(s);
    times.push(ms(process.hrtime.bigint() - t));
  }
  times.sort((a, b) => a - b);
  const chains = IPTABLES
    ? spawnSync('ip', ['netns', 'exec', ns, 'iptables-legacy', '-t', 'nat', '-S'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.startsWith('-N ')).length
    : spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'chains'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes('chain ')).length;
  console.log(`${rules.backend}: services ${SERVICES} x ${ENDPOINTS} endpoints: ${script.split('\n').length} lines, ${chains} chains`);
  console.log(`  render            ${render.toFixed(1)} ms`);
  console.log(`  full apply        ${full.toFixed(1)} ms   (target <= 1000 ms) ${full <= 1000 ? 'OK' : 'MISSED'}`);
  console.log(`  full re-sync      ${resync.toFixed(1)} ms   (table replaced in one transaction)`);
  const p50 = times[Math.floor(times.length / 2)]!;
  const max = times.at(-1)!;
  console.log(`  one change        p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms over ${CHANGES}   (target <= 50 ms) ${p50 <= 50 ? 'OK' : 'MISSED'}`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
}
