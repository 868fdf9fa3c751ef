import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { IptablesServiceRules } from './iptables-service-rules.js';
import type { ServiceRule } from './service-rules.js';

const web: ServiceRule = {
  key: 'default/web',
  clusterIP: '10.43.0.5',
  sessionAffinity: 'ClientIP',
  affinityTimeoutSeconds: 60,
  ports: [
    {
      protocol: 'TCP',
      port: 80,
      nodePort: 30080,
      endpoints: [
        { ip: '10.42.1.2', port: 8080, ready: true },
        { ip: '10.42.1.3', port: 8080, ready: true },
        { ip: '10.42.1.4', port: 8080, ready: false },
      ],
    },
  ],
};

describe('IptablesServiceRules rendering', () => {
  const rules = new IptablesServiceRules({ host: new FakeHost() });

  it('splits traffic with statistic probabilities over ready endpoints, with affinity and NodePort', () => {
    const { script, chains } = rules.render([web]);
    const lines = script.split('\n');
    const svc = [...chains].find((c) => c.startsWith('NUBIS-SVC-'))!;
    assert.ok(svc.length <= 28, 'iptables chain names are at most 28 characters');
    assert.ok(lines.includes(`-A NUBIS-SERVICES -d 10.43.0.5/32 -p tcp -m tcp --dport 80 -j ${svc}`));
    const svcRules = lines.filter((l) => l.startsWith(`-A ${svc} `));
    assert.equal(svcRules.length, 4);
    assert.match(svcRules[0]!, /-m recent --name NUBIS-SEP-\w+-0 --rcheck --seconds 60 --reap/);
    assert.match(svcRules[2]!, /-m statistic --mode random --probability 0\.5000000000 -j NUBIS-SEP-\w+-0$/);
    assert.match(svcRules[3]!, /^-A \S+ -j NUBIS-SEP-\w+-1$/);
    assert.ok(lines.some((l) => /-p tcp -j DNAT --to-destination 10\.42\.1\.3:8080$/.test(l)));
    assert.ok(!script.includes('10.42.1.4'));
    assert.ok(lines.some((l) => /^-A NUBIS-NODEPORTS -p tcp -m tcp --dport 30080 -j NUBIS-NP-/.test(l)));
    assert.ok(lines.includes('-A NUBIS-POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE'));
  });

  it('rejects services without endpoints and deletes stale chains', () => {
    const none = { ...web, ports: [{ ...web.ports[0]!, endpoints: [] }] };
    const { script } = rules.render([none], ['NUBIS-SVC-OLD']);
    assert.match(script, /-A NUBIS-REJECT -d 10\.43\.0\.5\/32 -p tcp -m tcp --dport 80 -j REJECT/);
    assert.match(script, /:NUBIS-SVC-OLD - \[0:0\]\n[^]*-X NUBIS-SVC-OLD\nCOMMIT/);
  });
});
