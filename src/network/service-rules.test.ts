import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { isNubisError } from '../lib/errors.js';
import { ServiceRules, type ServiceRule } from './service-rules.js';

const web: ServiceRule = {
  key: 'default/web',
  clusterIP: '10.43.0.5',
  ports: [
    {
      name: 'http',
      protocol: 'TCP',
      port: 80,
      nodePort: 30080,
      endpoints: [
        { ip: '10.42.1.2', port: 8080, ready: true },
        { ip: '10.42.1.3', port: 8080, ready: false },
        { ip: '10.42.2.2', port: 8080, ready: true },
      ],
    },
  ],
};

const isInvalid = (re: RegExp) => (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message);

describe('ServiceRules rendering', () => {
  const rules = new ServiceRules({ host: new FakeHost(), serviceCidr: '10.43.0.0/16' });

  it('balances over ready endpoints only, with NodePort and hairpin marks', () => {
    const s = rules.renderFull([web]);
    assert.match(s, /^add table ip nubis\ndelete table ip nubis\nadd table ip nubis\n/);
    assert.match(s, /meta l4proto tcp dnat to numgen random mod 2 map \{ 0 : 10\.42\.1\.2 \. 8080, 1 : 10\.42\.2\.2 \. 8080 \}/);
    assert.doesNotMatch(s, /10\.42\.1\.3/);
    assert.match(s, /add element ip nubis svc-ports \{ 10\.43\.0\.5 \. tcp \. 80 : goto svc-\w+ \}/);
    assert.match(s, /add element ip nubis nodeports \{ tcp \. 30080 : goto np-\w+ \}/);
    assert.match(s, /add element ip nubis hairpin \{ 10\.42\.1\.2 \. 10\.42\.1\.2, 10\.42\.2\.2 \. 10\.42\.2\.2 \}/);
    assert.doesNotMatch(s, /ip saddr \S+\/\d+ .*masquerade/, 'no masquerade to the outside by default');
  });

  it('marks a service whose endpoints are outside the pod network for masquerade, and only that one', () => {
    const api = { key: 'default/kubernetes', clusterIP: '10.43.0.1', masquerade: true, ports: [{ name: 'https', protocol: 'TCP' as const, port: 443, endpoints: [{ ip: '10.250.1.1', port: 6443, ready: true }] }] };
    const s = rules.renderFull([web, api]);
    const chainOf = (ip: string) => new RegExp(`${ip.replace(/\./g, '\\.')} \\. tcp \\. \\d+ : goto (svc-\\w+)`).exec(s)![1]!;
    assert.match(s, new RegExp(`add rule ip nubis ${chainOf('10.43.0.1')} meta mark set meta mark \\| 0x4000\\n`));
    assert.doesNotMatch(s, new RegExp(`add rule ip nubis ${chainOf('10.43.0.5')} meta mark set`));
  });

  it('rejects services without ready endpoints and skips headless ones', () => {
    const s = rules.renderFull([
      { key: 'a/none', clusterIP: '10.43.0.7', ports: [{ protocol: 'UDP', port: 53, endpoints: [{ ip: '10.42.1.2', port: 53, ready: false }] }] },
      { key: 'a/headless', clusterIP: 'None', ports: [{ protocol: 'TCP', port: 80, endpoints: [{ ip: '10.42.1.9', port: 80, ready: true }] }] },
    ]);
    assert.match(s, /add element ip nubis no-endpoints \{ 10\.43\.0\.7 \. udp \. 53 \}/);
    assert.doesNotMatch(s, /10\.42\.1\.9/);
  });

  it('keeps ClientIP affinity in one timed set per endpoint', () => {
    const s = rules.renderFull([{ ...web, sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 60 }]);
    assert.match(s, /add set ip nubis aff-\w+-0 \{ type ipv4_addr; flags dynamic,timeout; timeout 60s; \}/);
    assert.match(s, /ip saddr @aff-\w+-1 goto ep-\w+-1/);
    assert.match(s, /update @aff-\w+-0 \{ ip saddr \}/);
    assert.match(s, /numgen random mod 2 vmap \{ 0 : goto ep-\w+-0, 1 : goto ep-\w+-1 \}/);
    // Endpoint chains exist before the service chain that jumps to them.
    assert.ok(s.indexOf('add chain ip nubis ep-') < s.indexOf('add chain ip nubis svc-'));
  });

  it('updates one service by deleting its old objects and adding the new ones', () => {
    const after = { ...web, ports: [{ ...web.ports[0]!, nodePort: undefined, endpoints: [{ ip: '10.42.3.3', port: 80, ready: true }] }] };
    const s = rules.renderUpdate(web, after).script;
    const lines = s.trim().split('\n');
    assert.match(lines[0]!, /^delete element ip nubis svc-ports \{ 10\.43\.0\.5 \. tcp \. 80 \}$/);
    assert.match(lines[1]!, /^delete element ip nubis nodeports \{ tcp \. 30080 \}$/);
    assert.equal(lines.filter((l) => l.startsWith('delete chain')).length, 2);
    assert.match(s, /meta l4proto tcp dnat to 10\.42\.3\.3:80/);
    assert.match(s, /add element ip nubis hairpin \{ 10\.42\.3\.3 \. 10\.42\.3\.3 \}/);
    assert.equal(rules.renderUpdate(undefined, undefined).script, '');
  });

  it('masquerades to the outside only when asked', () => {
    const r = new ServiceRules({ host: new FakeHost(), masqueradeOutside: { clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16' } });
    assert.match(r.renderFull([]), /ip saddr 10\.42\.0\.0\/16 ip daddr != \{ 10\.42\.0\.0\/16, 10\.43\.0\.0\/16 \} masquerade/);
  });
});

describe('ServiceRules hostPorts', () => {
  it('DNATs node ports to pods, and refuses a port used twice or also as a NodePort', async () => {
    const host = new FakeHost();
    const r = new ServiceRules({ host, nodePortRange: [8000, 32767] });
    await r.sync([web]);
    const hp = { pod: 'default/p', protocol: 'TCP' as const, hostPort: 8081, podIP: '10.42.1.9', containerPort: 80 };
    await r.setHostPorts([hp]);
    assert.match(r.renderFull([web]), /add rule ip nubis hp-tcp-8081 meta l4proto tcp dnat to 10\.42\.1\.9:80\nadd element ip nubis hostports \{ tcp \. 8081 : goto hp-tcp-8081 \}/);
    await assert.rejects(r.setHostPorts([hp, { ...hp, pod: 'default/q' }]), /hostPort 8081\/TCP of pod default\/q is already used by pod default\/p/);
    await assert.rejects(r.setHostPorts([{ ...hp, hostPort: 30080 }]), /hostPort 30080\/TCP of pod default\/p is already used by NodePort of default\/web/);
    await assert.rejects(r.update({ ...web, key: 'default/x', clusterIP: '10.43.0.8', ports: [{ ...web.ports[0]!, nodePort: 8081 }] }), /nodePort 8081\/TCP of default\/x is already used as a hostPort by pod default\/p/);
    await r.setHostPorts([]);
    assert.doesNotMatch(r.renderFull([web]), /hp-/);
  });
});

describe('ServiceRules validation', () => {
  const rules = new ServiceRules({ host: new FakeHost(), serviceCidr: '10.43.0.0/16' });
  it('names the bad input', () => {
    assert.throws(() => rules.validate([{ ...web, clusterIP: '10.44.0.1' }]), isInvalid(/clusterIP 10\.44\.0\.1 of default\/web is outside the service CIDR 10\.43\.0\.0\/16/));
    assert.throws(
      () => rules.validate([web, { ...web, key: 'default/other', clusterIP: '10.43.0.6' }]),
      isInvalid(/nodePort 30080\/TCP of default\/other is already allocated to default\/web/),
    );
    assert.throws(() => rules.validate([{ ...web, ports: [{ ...web.ports[0]!, nodePort: 80 }] }]), isInvalid(/outside the range 30000-32767/));
    rules.validate([web, { ...web, key: 'default/udp', clusterIP: '10.43.0.6', ports: [{ ...web.ports[0]!, protocol: 'UDP' }] }]);
  });

  it('applies through nft -f - and reports what nft refused', async () => {
    const host = new FakeHost();
    const r = new ServiceRules({ host, netns: '/run/netns/x' });
    await r.sync([web]);
    // The hairpin set is reference-counted: an address shared by two services stays until both are gone.
    const shared = { ...web, key: 'default/b', clusterIP: '10.43.0.6', ports: [{ ...web.ports[0]!, nodePort: undefined }] };
    await r.update(shared);
    assert.doesNotMatch(r.renderUpdate(shared, undefined).script, /hairpin/);
    await r.remove('default/web');
    assert.match(r.renderUpdate(shared, undefined).script, /delete element ip nubis hairpin \{ 10\.42\.1\.2 \. 10\.42\.1\.2, 10\.42\.2\.2 \. 10\.42\.2\.2 \}/);
    await r.sync([web]);
    const call = host.calls.at(-1)!;
    assert.deepEqual(call.op === 'run' && [call.cmd, ...call.args], ['nsenter', '--net=/run/netns/x', '--', 'nft', '-f', '-']);
    host.responders.push(() => ({ code: 1, signal: null, stdout: '', stderr: 'Error: syntax error' }));
    await assert.rejects(r.update({ ...web, clusterIP: '10.43.0.9' }), /nft refused the service rules: Error: syntax error/);
  });
});
