import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { podResolvConf } from './pod-dns.js';

const cluster = 'search web.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n';
const pod = (spec: Partial<Pod['spec']>): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'web' }, spec: { containers: [], ...spec } });

describe('podResolvConf', () => {
  it('ClusterFirst (the default) points at the cluster DNS, with dnsConfig added and options overridden', () => {
    assert.equal(podResolvConf(pod({}), cluster), cluster);
    const text = podResolvConf(pod({ dnsConfig: { nameservers: ['10.0.0.53'], searches: ['example.test'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), cluster);
    assert.equal(text, 'search web.svc.cluster.local svc.cluster.local cluster.local example.test\nnameserver 10.43.0.10\nnameserver 10.0.0.53\noptions ndots:2 edns0\n');
  });

  it('Default, host-network pods and nodes without cluster DNS keep the image file', () => {
    assert.equal(podResolvConf(pod({ dnsPolicy: 'Default' }), cluster), undefined);
    assert.equal(podResolvConf(pod({ hostNetwork: true }), cluster), undefined);
    assert.equal(podResolvConf(pod({}), undefined), undefined);
    assert.equal(podResolvConf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), cluster), cluster);
  });

  it('None uses dnsConfig alone', () => {
    assert.equal(podResolvConf(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'] } }), cluster), 'nameserver 1.2.3.4\n');
    assert.equal(podResolvConf(pod({ dnsPolicy: 'None' }), cluster), undefined);
  });
});
