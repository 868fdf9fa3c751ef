import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnsServiceFrom, serviceRuleFrom, type EndpointSliceLike, type ServiceLike } from './service-model.js';

const svc: ServiceLike = {
  metadata: { namespace: 'shop', name: 'web' },
  spec: {
    type: 'NodePort',
    clusterIP: '10.43.0.20',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, nodePort: 30080, targetPort: 'web' },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
    ],
  },
};
const slices: EndpointSliceLike[] = [
  {
    addressType: 'IPv4',
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [
      { addresses: ['10.42.1.2'], hostname: 'web-0', conditions: { ready: true } },
      { addresses: ['10.42.1.3'], conditions: { ready: false } },
      { addresses: ['10.42.1.4'] },
    ],
  },
  { addressType: 'IPv6', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['fd00::1'] }] },
];

describe('service model', () => {
  it('resolves slice ports by name, falls back to a numeric targetPort, reads readiness', () => {
    const r = serviceRuleFrom(svc, slices);
    assert.equal(r.key, 'shop/web');
    assert.equal(r.sessionAffinity, 'ClientIP');
    assert.equal(r.affinityTimeoutSeconds, 60);
    assert.deepEqual(r.ports[0], {
      name: 'http',
      protocol: 'TCP',
      port: 80,
      nodePort: 30080,
      endpoints: [
        { ip: '10.42.1.2', port: 8080, ready: true },
        { ip: '10.42.1.3', port: 8080, ready: false },
        { ip: '10.42.1.4', port: 8080, ready: true },
      ],
    });
    // No slice port named "dns": the numeric targetPort applies.
    assert.deepEqual(r.ports[1]!.endpoints.map((e) => `${e.ip}:${e.port}`), ['10.42.1.2:5353', '10.42.1.3:5353', '10.42.1.4:5353']);
    assert.equal(r.ports[1]!.nodePort, undefined);
  });

  it('gives ClusterIP services no NodePort and ExternalName services no rules', () => {
    assert.equal(serviceRuleFrom({ ...svc, spec: { ...svc.spec, type: 'ClusterIP' } }, slices).ports[0]!.nodePort, undefined);
    assert.equal(serviceRuleFrom({ ...svc, spec: { ...svc.spec, type: 'ExternalName' } }, slices).clusterIP, undefined);
  });

  it('lists ready endpoints with hostnames for DNS', () => {
    const d = dnsServiceFrom({ ...svc, spec: { ...svc.spec, clusterIP: 'None' } }, slices);
    assert.deepEqual(d.endpoints?.map((e) => [e.ip, e.hostname, e.ports?.http]), [
      ['10.42.1.2', 'web-0', 8080],
      ['10.42.1.4', undefined, 8080],
    ]);
    assert.deepEqual(d.ports, [{ name: 'http', protocol: 'TCP', port: 80 }, { name: 'dns', protocol: 'UDP', port: 53 }]);
  });
});
