/**
 * Traffic through a ClusterIP against straight to the pod (figures printed, nothing asserted): wrk from
 * a node to an HTTP server in a pod, by the pod's IP and by a Service's ClusterIP (Nubis' nftables rules),
 * alternating, several rounds; medians of requests/s and of p50/p99 latency, and the ratio (target: the
 * ClusterIP at least 0.9x direct). Everything runs in network namespaces this script creates and deletes:
 * a node with a bridge, a pod with a veth on it.
 * Usage: node --import tsx bench/clusterip.ts [--rounds 5] [--seconds 5] [--connections 16]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealHost } from '../src/host/real-host.js';
import { ServiceRules } from '../src/network/service-rules.js';
import { numberArg } from './args.js';

const ROUNDS = numberArg('rounds', 5);
const SECONDS = numberArg('seconds', 5);
const CONNECTIONS = numberArg('connections', 16);

for (const tool of ['wrk', 'ip', 'nft']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required (apt-get install wrk iproute2 nftables; scripts/install.sh --test installs them)`);
}

const tag = randomBytes(3).toString('hex');
const node = `nubis-bench-node-${tag}`;
const pod = `nubis-bench-pod-${tag}`;
const sh = (cmd: string) => {
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};

interface Result {
  rps: number;
  p50: number;
  p99: number;
}

/** Runs wrk in the node namespace; latencies in ms. */
function wrk(url: string): Result {
  const out = sh(`ip netns exec ${node} wrk -t1 -c${CONNECTIONS} -d${SECONDS}s --latency ${url}`);
  const unit = (v: string, u: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[u]!;
  const lat = (q: string) => {
    const m = new RegExp(`^\\s*${q}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(out);
    return m ? unit(m[1]!, m[2]!) : NaN;
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: lat('50'), p99: lat('99') };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

sh(`ip netns add ${node} && ip netns add ${pod}`);
let server: ReturnType<typeof spawn> | undefined;
try {
  sh(`ip -n ${node} link set lo up && ip -n ${pod} link set lo up`);
  sh(`ip -n ${node} link add br0 type bridge && ip -n ${node} addr add 10.42.0.1/24 dev br0 && ip -n ${node} link set br0 up`);
  // A real node has a default route; the output hook's DNAT needs some route to the ClusterIP first.
  sh(`ip -n ${node} route add 10.43.0.0/16 dev br0`);
  sh(`ip -n ${node} link add veth0 type veth peer name eth0 netns ${pod} && ip -n ${node} link set veth0 master br0 up`);
  sh(`ip -n ${pod} addr add 10.42.0.2/24 dev eth0 && ip -n ${pod} link set eth0 up && ip -n ${pod} route add default via 10.42.0.1`);
  // The pod: a small Node.js HTTP server with keep-alive.
  server = spawn('ip', ['netns', 'exec', pod, process.execPath, '-e', "require('http').createServer((q, s) => s.end('hello\\n')).listen(8080, '0.0.0.0', () => console.log('up'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    server!.stdout!.once('data', () => resolve());
    server!.once('exit', (code) => reject(new Error(`the pod's server exited (${code})`)));
  });
  const rules = new ServiceRules({ host: new RealHost(), netns: `/run/netns/${node}` });
  await rules.sync([{ key: 'bench/web', clusterIP: '10.43.0.10', ports: [{ name: 'http', protocol: 'TCP', port: 80, endpoints: [{ ip: '10.42.0.2', port: 8080, ready: true }] }] }]);
  wrk('http://10.42.0.2:8080/'); // warm-up
  const direct: Result[] = [];
  const viaService: Result[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    direct.push(wrk('http://10.42.0.2:8080/'));
    viaService.push(wrk('http://10.43.0.10/'));
  }
  const show = (name: string, rs: Result[]) =>
    console.log(`  ${name.padEnd(10)} ${median(rs.map((r) => r.rps)).toFixed(0).padStart(8)} req/s   p50 ${median(rs.map((r) => r.p50)).toFixed(3)} ms   p99 ${median(rs.map((r) => r.p99)).toFixed(3)} ms`);
  console.log(`wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, ${ROUNDS} rounds each, alternating; medians:`);
  show('pod IP', direct);
  show('ClusterIP', viaService);
  const ratio = median(viaService.map((r) => r.rps)) / median(direct.map((r) => r.rps));
  console.log(`  ClusterIP / direct throughput: ${ratio.toFixed(3)}x   (target >= 0.9x) ${ratio >= 0.9 ? 'OK' : 'MISSED'}`);
} finally {
  server?.kill();
  spawnSync('ip', ['netns', 'del', pod]);
  spawnSync('ip', ['netns', 'del', node]);
}
