/**
 * Cluster networking end to end: a server and two agents, each agent in a network namespace of its own
 * joined by a bridge this test makes (no traffic leaves it). Pods get addresses from their node's range
 * and reach pods on the other node by IP; a Service balances over both nodes' pods by ClusterIP and by
 * DNS name, over ready pods only; its NodePort answers on every node, a hostPort on its pod's node; deleting the Service and the pods leaves no rule,
 * interface or address behind. A NetworkPolicy allows and denies as written, across nodes.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import type { Node } from '../../src/api/core/v1/node.js';
import type { Pod } from '../../src/api/core/v1/pod-types.js';
import type { Service } from '../../src/api/core/v1/service.js';
import type { ResourceInfo } from '../../src/client/rest-client.js';
import { E2eCluster, eventually, NODES, PODS, REPO } from './cluster.js';

const SERVICES: ResourceInfo = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };

/** Each pod serves its own name on :8080. */
const WEB = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'web' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'httpd',
            image: 'busybox',
            command: ['sh', '-c', 'mkdir -p /www && echo "$HOSTNAME" > /www/index.html && touch /tmp/ready && exec httpd -f -p 8080 -h /www'],
            ports: [{ name: 'http', containerPort: 8080, hostPort: 8081 }],
            // Ready while /tmp/ready exists: the test takes a pod out of rotation by removing it.
            readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      },
    },
  },
};

const SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http', nodePort: 30081 }] } };

const client = (node: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'client' },
  spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'sh', image: 'busybox', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'] }] },
});

describe('cluster networking across two nodes in their own network namespaces', () => {
  let c: E2eCluster;
  before(async () => {
    c = await E2eCluster.start({ agents: 2, netns: true });
  });
  after(async () => {
    await c?.close();
  });

  it('gives each node a pod range and each pod an address from it', async () => {
    const nodes = await eventually('two nodes with pod ranges', async () => {
      const list = (await c.client.list<Node>(NODES)).items;
      return list.length === 2 && list.every((n) => n.spec?.podCIDR) ? list : undefined;
    }, 30_000);
    const ranges = nodes.map((n) => n.spec!.podCIDR!);
    assert.equal(new Set(ranges).size, 2, `distinct ranges: ${ranges.join(', ')}`);
    for (const r of ranges) assert.match(r, /^10\.42\.\d+\.0\/24$/);
  });

  it('pods reach pods on the other node by IP, and the Service by ClusterIP, DNS name and NodePort', async () => {
    await c.nubis(['apply', '-f', '-'], { input: JSON.stringify(WEB) });
    await c.nubis(['apply', '-f', '-'], { input: JSON.stringify(SERVICE) });
    await c.nubis(['apply', '-f', '-'], { input: JSON.stringify(client(c.agents[0]!.name)) });
    const web = await eventually('a Ready web pod on each node', async () => {
      const pods = await c.readyPods('app=web');
      return pods.length === 2 && new Set(pods.map((p) => p.spec.nodeName)).size === 2 ? pods : undefined;
    }, 90_000).catch((e: Error) => assert.fail(`${e.message}\n${c.logs()}`));
    await eventually('the client pod Running', async () => (await c.client.get<Pod>(PODS, 'client', { namespace: 'default' })).status?.phase === 'Running', 60_000);
    const nodes = (await c.client.list<Node>(NODES)).items;
    for (const p of web) {
      const range = nodes.find((n) => n.metadata.name === p.spec.nodeName)!.spec!.podCIDR!;
      assert.ok(p.status?.podIP?.startsWith(range.replace(/0\/24$/, '')), `${p.metadata.name} has ${p.status?.podIP}, inside ${range}`);
    }
    const remote = web.find((p) => p.spec.nodeName === c.agents[1]!.name)!;
    const exec = async (cmd: string) => (await c.nubis(['exec', 'client', '--', 'sh', '-c', cmd])).stdout.trim();

    // Pod to pod across nodes, no NAT in between: the remote pod answers with its own name.
    assert.equal(await exec(`wget -qO- http://${remote.status!.podIP}:8080/`), remote.metadata.name);

    // The Service: its ClusterIP and its DNS name lead to pods on both nodes.
    const svc = await c.client.get<Service>(SERVICES, 'web', { namespace: 'default' });
    assert.match(svc.spec!.clusterIP!, /^10\.43\.\d+\.\d+$/);
    const names = new Set<string>();
    await eventually('answers from the pods of both nodes through the Service', async () => {
      names.add(await exec('wget -qO- http://web/'));
      names.add(await exec(`wget -qO- http://${svc.spec!.clusterIP}/`));
      return names.size === 2;
    }, 60_000).catch((e: Error) => assert.fail(`${e.message}: only ${[...names].join(', ')}`));
    assert.deepEqual([...names].sort(), web.map((p) => p.metadata.name).sort());
    const lookup = await exec('nslookup web.default.svc.cluster.local');
    assert.ok(lookup.includes(svc.spec!.clusterIP!), lookup);

    // NodePort on every node, from outside the cluster (this namespace, over the test bridge); the
    // hostPort of each node's own pod.
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`http://${c.net!.nodeIp(i)}:30081/`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.text()).trim();
      assert.ok(web.some((p) => p.metadata.name === body), `NodePort on node ${i} answered "${body}"`);
      const own = web.find((p) => p.spec.nodeName === c.agents[i]!.name)!;
      const host = await eventually(`hostPort 8081 on node ${i}`, async () => {
        const r = await fetch(`http://${c.net!.nodeIp(i)}:8081/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
        return r ? (await r.text()).trim() : undefined;
      }, 15_000);
      assert.equal(host, own.metadata.name, `the hostPort of node ${i} leads to its own pod`);
    }
  });

  it('a pod that fails its readiness probe leaves the Service\'s rotation, and comes back', async () => {
    const web = await c.readyPods('app=web');
    const [stays, leaves] = [web.find((p) => p.spec.nodeName === c.agents[0]!.name)!, web.find((p) => p.spec.nodeName === c.agents[1]!.name)!];
    await c.nubis(['exec', leaves.metadata.name, '--', 'rm', '/tmp/ready']);
    await eventually(`${leaves.metadata.name} NotReady`, async () => (await c.readyPods('app=web')).length === 1, 30_000);
    // Once its EndpointSlice says so (moments after the Pod), ten answers in a row come from the other pod.
    await eventually('only the ready pod answering', async () => {
      for (let i = 0; i < 10; i++) if ((await c.nubis(['exec', 'client', '--', 'wget', '-qO-', 'http://web/'])).stdout.trim() !== stays.metadata.name) return false;
      return true;
    }, 15_000);
    await c.nubis(['exec', leaves.metadata.name, '--', 'touch', '/tmp/ready']);
    const names = new Set<string>();
    await eventually('both pods answering again', async () => {
      names.add((await c.nubis(['exec', 'client', '--', 'wget', '-qO-', 'http://web/'])).stdout.trim());
      return names.size === 2;
    }, 30_000);
  });

  it('a restarted agent keeps its pods\' addresses and rules, and serves again', async () => {
    const before = await c.readyPods('app=web');
    await c.agents[1]!.proc.stop();
    await c.startAgent(1);
    const after = await eventually('both web pods Ready again', async () => {
      const pods = await c.readyPods('app=web');
      return pods.length === 2 ? pods : undefined;
    }, 60_000);
    assert.deepEqual(after.map((p) => `${p.metadata.name}=${p.status?.podIP}`).sort(), before.map((p) => `${p.metadata.name}=${p.status?.podIP}`).sort(), 'same pods, same addresses');
    const remote = after.find((p) => p.spec.nodeName === c.agents[1]!.name)!;
    assert.equal((await c.nubis(['exec', 'client', '--', 'wget', '-qO-', `http://${remote.status!.podIP}:8080/`])).stdout.trim(), remote.metadata.name);
    const ipam = await c.net!.exec(1, `sh -c 'ls ${c.agents[1]!.dataDir}/agent/ipam'`);
    assert.equal(ipam.split('\n').filter((l) => /^10\.42\./.test(l)).length, 1, `one address held on node 1: ${ipam}`);
  });

  it('a NetworkPolicy denies what it does not allow, on the other node too, and allows what it names', async () => {
    const web = await c.readyPods('app=web');
    const remote = web.find((p) => p.spec.nodeName === c.agents[1]!.name)!;
    const get = async (url: string) => (await c.nubis(['exec', 'client', '--', 'sh', '-c', `timeout 3 wget -qO- ${url} || echo refused`])).stdout.trim();
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'web-friends' },
      spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: 'friend' } } }], ports: [{ port: 'http' }] }] },
    };
    await c.nubis(['apply', '-f', '-'], { input: JSON.stringify(policy) });
    assert.match((await c.nubis(['get', 'netpol'])).stdout, /web-friends\s+app=web/);
    await eventually('the policy to deny the client', async () => (await get(`http://${remote.status!.podIP}:8080/`)) === 'refused', 30_000);
    assert.equal(await get('http://web/'), 'refused', 'through the Service too');
    await c.nubis(['label', 'pod', 'client', 'role=friend']);
    await eventually('the policy to allow a friend', async () => (await get(`http://${remote.status!.podIP}:8080/`)) === remote.metadata.name, 30_000);
    await c.nubis(['delete', 'networkpolicy', 'web-friends']);
    await c.nubis(['label', 'pod', 'client', 'role-']);
    await eventually('no policy: everyone allowed again', async () => (await get(`http://${remote.status!.podIP}:8080/`)) === remote.metadata.name, 30_000);
  });

  it('tenants cannot reach or resolve each other\'s pods and Services; inside a tenant they can', async () => {
    const acmePod = (name: string, namespace: string, node: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace, labels: { app: name } },
      spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'httpd', image: 'busybox', command: ['sh', '-c', `mkdir -p /www && echo ${name} > /www/index.html && exec httpd -f -p 8080 -h /www`] }] },
    });
    const docs = [
      { apiVersion: 'nubis.dev/v1', kind: 'Tenant', metadata: { name: 'acme' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-a', labels: { 'nubis.dev/tenant': 'acme' } } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-b', labels: { 'nubis.dev/tenant': 'acme' } } },
      acmePod('shop', 'acme-a', c.agents[1]!.name),
      acmePod('cart', 'acme-b', c.agents[0]!.name),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop', namespace: 'acme-a' }, spec: { selector: { app: 'shop' }, ports: [{ port: 80, targetPort: 8080 }] } },
    ];
    for (const d of docs) await c.nubis(['apply', '-f', '-'], { input: JSON.stringify(d) });
    const shop = await eventually('the tenant pods to run', async () => {
      const pods = await Promise.all(['acme-a/shop', 'acme-b/cart'].map((k) => c.client.get<Pod>(PODS, k.split('/')[1]!, { namespace: k.split('/')[0] })));
      return pods.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? pods[0] : undefined;
    }, 60_000);
    const run = async (ns: string, pod: string, cmd: string) => (await c.nubis(['exec', '-n', ns, pod, '--', 'sh', '-c', cmd])).stdout.trim();
    const web = (await c.readyPods('app=web'))[0]!;
    // Inside acme: across its namespaces and nodes, by IP and by Service name.
    await eventually('acme pods to reach each other', async () => (await run('acme-b', 'cart', `timeout 3 wget -qO- http://${shop.status!.podIP}:8080/ || echo refused`)) === 'shop', 30_000);
    assert.equal(await run('acme-b', 'cart', 'timeout 3 wget -qO- http://shop.acme-a/ || echo refused'), 'shop');
    // Across the tenant's border, neither way, nor through a Service, nor by name.
    await eventually('the border to close', async () => (await run('default', 'client', `timeout 3 wget -qO- http://${shop.status!.podIP}:8080/ || echo refused`)) === 'refused', 30_000);
    assert.equal(await run('default', 'client', `timeout 3 wget -qO- http://${(await c.client.get<Service>(SERVICES, 'shop', { namespace: 'acme-a' })).spec!.clusterIP}/ || echo refused`), 'refused');
    assert.equal(await run('acme-b', 'cart', `timeout 3 wget -qO- http://${web.status!.podIP}:8080/ || echo refused`), 'refused');
    assert.match(await run('default', 'client', 'nslookup shop.acme-a.svc.cluster.local 2>&1 || true'), /NXDOMAIN|can't find/);
    assert.match(await run('acme-b', 'cart', 'nslookup web.default.svc.cluster.local 2>&1 || true'), /NXDOMAIN|can't find/);
    assert.match(await run('acme-b', 'cart', 'nslookup shop.acme-a.svc.cluster.local 2>&1'), /Address:? .*10\.43\./);
    await c.nubis(['delete', 'namespace', 'acme-a', 'acme-b']);
    await eventually('the tenant namespaces to go', async () => !/acme-/.test((await c.nubis(['get', 'ns'])).stdout), 60_000);
  });

  it('in-cluster clients (kubectl, the Python and JavaScript clients) reach the API through default/kubernetes as the pod\'s ServiceAccount', async () => {
    // The pod borrows this machine's /usr (kubectl, python3 with python3-kubernetes, node) and the
    // repository's node_modules (@kubernetes/client-node) read-only.
    const hostDir = (name: string, p: string) => ({ name, hostPath: { path: p, type: 'Directory' } });
    const mount = (name: string, p: string) => ({ name, mountPath: p, readOnly: true });
    await c.kubectl(['apply', '-f', '-'], {
      input: [
          { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'default-view', namespace: 'default' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'default' }] },
          {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'incluster' },
            spec: {
              nodeName: 'e2e-node-1',
              terminationGracePeriodSeconds: 0,
              volumes: [hostDir('usr', '/usr'), hostDir('lib', '/usr/lib'), hostDir('lib64', '/usr/lib64'), hostDir('modules', path.join(REPO, 'node_modules'))],
              containers: [
                {
                  name: 'sh',
                  image: 'busybox',
                  command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
                  volumeMounts: [mount('usr', '/usr'), mount('lib', '/lib'), mount('lib64', '/lib64'), mount('modules', '/app/node_modules')],
                },
              ],
            },
          },
        ]
        .map((o) => YAML.stringify(o))
        .join('---\n'),
    });
    await eventually('the in-cluster pod to run', async () => (await c.pods()).some((p) => p.metadata.name === 'incluster' && p.status?.phase === 'Running'), 60_000);
    const inPod = async (...cmd: string[]) => c.kubectl(['exec', 'incluster', '--', ...cmd], { allowFail: true });
    const env = (await inPod('env')).stdout;
    assert.match(env, /^KUBERNETES_SERVICE_HOST=10\.43\.0\.1$/m);
    assert.match(env, /^KUBERNETES_SERVICE_PORT=443$/m);
    const files = await inPod('ls', '/var/run/secrets/kubernetes.io/serviceaccount');
    assert.deepEqual(files.stdout.trim().split(/\s+/).sort(), ['ca.crt', 'namespace', 'token'], files.stderr);

    const whoami = await inPod('/usr/bin/kubectl', 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}');
    assert.equal(whoami.stdout, 'system:serviceaccount:default:default', whoami.stderr);
    const listed = await inPod('/usr/bin/kubectl', 'get', 'pods', '-o', 'name');
    assert.match(listed.stdout, /^pod\/incluster$/m, listed.stderr);
    const denied = await inPod('/usr/bin/kubectl', 'delete', 'pod', 'client', '--dry-run=server');
    assert.match(denied.stderr, /forbidden/, 'view grants no deletes');

    const python = await inPod(
      '/usr/bin/python3',
      '-c',
      'from kubernetes import client, config; config.load_incluster_config(); print(client.CoreV1Api().read_namespaced_pod("incluster", "default").spec.node_name)',
    );
    assert.equal(python.stdout.trim(), 'e2e-node-1', python.stderr);
    const javascript = await inPod(
      '/usr/bin/node',
      '--input-type=module',
      '-e',
      "const k = await import('/app/node_modules/@kubernetes/client-node/dist/index.js'); const kc = new k.KubeConfig(); kc.loadFromCluster(); " +
        "const pod = await kc.makeApiClient(k.CoreV1Api).readNamespacedPod({ name: 'incluster', namespace: 'default' }); console.log(pod.spec.nodeName);",
    );
    assert.equal(javascript.stdout.trim(), 'e2e-node-1', javascript.stderr);
    await c.kubectl(['delete', 'pod', 'incluster', '--grace-period', '0', '--force']);
    await c.kubectl(['delete', 'rolebinding', 'default-view']);
  });

  it('removing the Service and the pods leaves no rule, interface or address behind', async () => {
    const svc = await c.client.get<Service>(SERVICES, 'web', { namespace: 'default' });
    await c.nubis(['delete', 'service', 'web']);
    await c.nubis(['delete', 'daemonset', 'web']);
    await c.nubis(['delete', 'pod', 'client', '--grace-period', '0']);
    await eventually('every pod gone', async () => (await c.pods()).length === 0, 60_000);
    for (let i = 0; i < 2; i++) {
      let seen = '';
      await eventually(`node ${i} without the Service's rules and the pods' veths`, async () => {
        const rules = await c.net!.exec(i, 'nft list table ip nubis');
        const links = await c.net!.exec(i, 'ip -o link show type veth');
        seen = `${rules}\n${links}`;
        return !rules.includes(`${svc.spec!.clusterIP!} . `) && !rules.includes('30081') && !rules.includes('8081') && !/\bnv[0-9a-f]{13}\b/.test(links);
      }, 30_000).catch((e: Error) => assert.fail(`${e.message}:\n${seen}`));
      const ipam = await c.net!.exec(i, `sh -c 'ls ${c.agents[i]!.dataDir}/agent/ipam 2>/dev/null || true'`);
      assert.ok(!/^10\.42\./m.test(ipam), `node ${i} released every pod address: ${ipam}`);
    }
  });
});
