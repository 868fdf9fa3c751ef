/**
 * NetworkPolicy rules benchmark (figures printed, nothing asserted): compile and apply the policy table
 * for N pods in 10 namespaces with one ingress policy per app (pods of the app admit the pods of the next
 * app on one port) and a default-deny per namespace. Runs in a network namespace it creates and deletes.
 * Usage: node --import tsx bench/policy-rules.ts [--pods 1000] [--apps 100]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RealHost } from '../src/host/real-host.js';
import { formatIp, parseIp } from '../src/lib/cidr.js';
import { PolicyRules, renderPolicies, type PolicyModel } from '../src/network/policy-rules.js';
import { numberArg } from './args.js';

const PODS = numberArg('pods', 1000);
const APPS = numberArg('apps', 100);

const model: PolicyModel = {
  namespaces: Array.from({ length: 10 }, (_, i) => ({ name: `ns${i}`, labels: { team: `t${i}` } })),
  pods: Array.from({ length: PODS }, (_, i) => ({
    namespace: `ns${i % 10}`,
    name: `pod${i}`,
    ip: formatIp(parseIp('10.42.0.2') + i),
    labels: { app: `app${i % APPS}` },
  })),
  policies: [
    ...Array.from({ length: APPS }, (_, a) => ({
      namespace: `ns${a % 10}`,
      name: `app${a}`,
      spec: {
        podSelector: { matchLabels: { app: `app${a}` } },
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: `app${(a + 1) % APPS}` } } }], ports: [{ port: 8080 }] }],
      },
    })),
    ...Array.from({ length: 10 }, (_, n) => ({ namespace: `ns${n}`, name: 'deny', spec: { podSelector: {}, policyTypes: ['Ingress' as const] } })),
  ],
};

const ns = `nubis-bench-${randomBytes(3).toString('hex')}`;
if (spawnSync('ip', ['netns', 'add', ns]).status !== 0) throw new Error(`cannot create network namespace ${ns}`);
try {
  let t = process.hrtime.bigint();
  const script = renderPolicies(model);
  const render = Number(process.hrtime.bigint() - t) / 1e6;
  const rules = new PolicyRules({ host: new RealHost(), netns: `/run/netns/${ns}` });
  t = process.hrtime.bigint();
  await rules.sync(model);
  const apply = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  await rules.sync(model);
  const again = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`policies: ${PODS} pods, ${model.policies.length} policies: ${script.split('\n').length} nft lines`);
  console.log(`  compile ${render.toFixed(1)} ms, apply ${apply.toFixed(1)} ms, re-apply ${again.toFixed(1)} ms`);
} finally {
  spawnSync('ip', ['netns', 'del', ns]);
}
