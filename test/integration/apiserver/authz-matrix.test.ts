/**
 * The authorization matrix: two tenants x three roles x verbs x kinds, subresources included (exec,
 * attach, log, port-forward, proxy), against one namespace of each tenant. Inside its tenant a user may
 * do what its role's ClusterRole grants (view, edit, admin) and nothing more; another tenant's things
 * are absent for it (404, empty lists, silent watches), never Forbidden, and no request leaks a name.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;
const TENANTS = ['acme', 'globex'] as const;
const ROLES = ['admin', 'member', 'reader'] as const;
type Role = (typeof ROLES)[number];
const tokens = new Map<string, string>();

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  const docs: string[] = [];
  for (const t of TENANTS) {
    docs.push(`apiVersion: nubis.dev/v1\nkind: Tenant\nmetadata: {name: ${t}}\n`, `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${t}-a, labels: {nubis.dev/tenant: ${t}}}\n`);
    for (const role of ROLES) {
      const secret = randomBytes(32).toString('base64url').slice(0, 43);
      const id = `ut-${t.slice(0, 4)}${role.slice(0, 4)}0000`.slice(0, 15).padEnd(15, '0');
      docs.push(`apiVersion: nubis.dev/v1\nkind: User\nmetadata: {name: ${t}-${role}}\nspec: {tenant: ${t}, roles: [${role}]}\n`);
      docs.push(`apiVersion: nubis.dev/v1\nkind: UserToken\nmetadata: {name: ${id}}\nspec: {user: ${t}-${role}, secretHash: ${createHash('sha256').update(secret).digest('hex')}}\n`);
      tokens.set(`${t}/${role}`, `nubis-${id}.${secret}`);
    }
  }
  await s.kubectl(['apply', '-f', '-'], { input: docs.join('---\n') });
  for (const t of TENANTS) {
    const ns = `${t}-a`;
    await s.kubectl(['apply', '-n', ns, '-f', '-'], {
      input: [
        `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n`,
        `apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\nstringData: {a: b}\n`,
        `apiVersion: v1\nkind: Pod\nmetadata: {name: pod}\nspec: {containers: [{name: c, image: busybox}]}\n`,
        `apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec: {ports: [{port: 80}]}\n`,
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep}\nspec: {replicas: 0, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: busybox}]}}}\n`,
        `apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: vm}\nspec: ${JSON.stringify(vmSpec())}\n`,
        `apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: vmi}\nspec: ${JSON.stringify(vmSpec().template.spec)}\n`,
        `apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstanceMigration\nmetadata: {name: vmim}\nspec: {vmiName: vmi}\n`,
      ].join('---\n'),
    });
  }
  for (const token of tokens.values()) await eventually('tenant tokens to work', async () => (await s.request('GET', '/version', { token })).status === 200);
});

after(async () => {
  await s?.close();
});

interface Case {
  what: string;
  method: string;
  path: (ns: string) => string;
  body?: (ns: string) => object;
  /** The least role that may do it in its own tenant (undefined: no tenant role may). */
  least?: Role;
}

const json = (o: object) => JSON.stringify(o);
function vmSpec() {
  return { runStrategy: 'Halted', template: { spec: { domain: { devices: {}, memory: { guest: '64Mi' } }, volumes: [{ name: 'root', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } }] } } };
}
/** `writtenBy`: the least role that writes the kind (member unless said; 'nobody' when no tenant role does). */
const KINDS: Array<{ group: string; resource: string; name: string; readBy?: Role; writtenBy?: Role | 'nobody'; body: (ns: string, name: string) => object }> = [
  { group: '/api/v1', resource: 'configmaps', name: 'cm', body: (ns, name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { x: 'y' } }) },
  { group: '/api/v1', resource: 'secrets', name: 'sec', readBy: 'member', body: (ns, name) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { x: 'y' } }) },
  { group: '/api/v1', resource: 'services', name: 'svc', body: (ns, name) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 81 }] } }) },
  { group: '/api/v1', resource: 'pods', name: 'pod', body: (ns, name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }) },
  {
    group: '/apis/apps/v1',
    resource: 'deployments',
    name: 'dep',
    body: (ns, name) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns }, spec: { replicas: 0, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }),
  },
  {
    group: '/apis/rbac.authorization.k8s.io/v1',
    resource: 'rolebindings',
    name: 'nubis:tenant-reader',
    readBy: 'admin',
    body: (ns, name) => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ kind: 'User', name: 'someone' }] }),
  },
  { group: '/apis/kubevirt.io/v1', resource: 'virtualmachines', name: 'vm', body: (ns, name) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name, namespace: ns }, spec: vmSpec() }) },
  {
    group: '/apis/kubevirt.io/v1',
    resource: 'virtualmachineinstancemigrations',
    name: 'vmim',
    writtenBy: 'nobody',
    body: (ns, name) => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstanceMigration', metadata: { name, namespace: ns }, spec: { vmiName: 'vmi' } }),
  },
];

let serial = 0;
const CASES: Case[] = KINDS.flatMap((k): Case[] => {
  const writer: Role | undefined = k.writtenBy === 'nobody' ? undefined : (k.writtenBy ?? (k.resource === 'rolebindings' ? 'admin' : 'member'));
  const base = (ns: string) => `${k.group}/namespaces/${ns}/${k.resource}`;
  return [
    { what: `get ${k.resource}`, method: 'GET', path: (ns) => `${base(ns)}/${k.name}`, least: k.readBy ?? 'reader' },
    { what: `list ${k.resource}`, method: 'GET', path: base, least: k.readBy ?? 'reader' },
    { what: `create ${k.resource}`, method: 'POST', path: base, body: (ns) => k.body(ns, `made-${++serial}`), least: writer },
    { what: `patch ${k.resource}`, method: 'PATCH', path: (ns) => `${base(ns)}/${k.name}`, body: () => ({ metadata: { labels: { touched: 'yes' } } }), least: writer },
    { what: `delete ${k.resource}`, method: 'DELETE', path: (ns) => `${base(ns)}/${k.name}-absent`, least: writer },
  ];
});
// Streams and proxies: allowed ones fail later (the pod runs nowhere), never with 401, 403 or 404.
CASES.push(
  { what: 'pods/log', method: 'GET', path: (ns) => `/api/v1/namespaces/${ns}/pods/pod/log`, least: 'reader' },
  { what: 'pods/exec', method: 'POST', path: (ns) => `/api/v1/namespaces/${ns}/pods/pod/exec?command=true&stdout=true`, least: 'member' },
  { what: 'pods/attach', method: 'POST', path: (ns) => `/api/v1/namespaces/${ns}/pods/pod/attach?stdout=true`, least: 'member' },
  { what: 'pods/portforward', method: 'POST', path: (ns) => `/api/v1/namespaces/${ns}/pods/pod/portforward?ports=80`, least: 'member' },
  { what: 'pods/proxy', method: 'GET', path: (ns) => `/api/v1/namespaces/${ns}/pods/pod/proxy/`, least: 'member' },
  { what: 'services/proxy', method: 'GET', path: (ns) => `/api/v1/namespaces/${ns}/services/svc/proxy/`, least: 'member' },
  { what: 'serviceaccounts/token', method: 'POST', path: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts/default/token`, body: () => ({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} }), least: 'member' },
);

const rank = (r: Role) => ROLES.length - 1 - ROLES.indexOf(r); // reader 0, member 1, admin 2

test('inside its tenant a user does what its role allows; another tenant\'s things are absent, never forbidden', async () => {
  const wrong: string[] = [];
  let requests = 0;
  for (const c of CASES) {
    for (const t of TENANTS) {
      for (const role of ROLES) {
        for (const target of TENANTS) {
          const ns = `${target}-a`;
          const headers = c.method === 'PATCH' ? { 'Content-Type': 'application/merge-patch+json' } : undefined;
          const r = await s.request(c.method, c.path(ns), { token: tokens.get(`${t}/${role}`)!, body: c.body ? json(c.body(ns)) : undefined, headers });
          requests++;
          const who = `${t}/${role} ${c.what} in ${ns} -> ${r.status}`;
          if (target !== t) {
            // Absent: 404, or an empty list; the other tenant's names never appear.
            const empty = r.status === 200 && c.method === 'GET' && !c.path(ns).match(/\/[^/]+\/(cm|sec|svc|pod|dep|vm|vmim|nubis:tenant-reader)(\/|$)/) && (r.json().items ?? []).length === 0;
            if (!(r.status === 404 || empty)) wrong.push(`${who} (another tenant's: want 404 or empty)`);
            if (r.body.includes(`${target}-a"`) && r.status !== 404) wrong.push(`${who} leaks the namespace`);
            continue;
          }
          const may = c.least !== undefined && rank(role) >= rank(c.least);
          const denied = r.status === 403;
          if (may && [401, 403].includes(r.status)) wrong.push(`${who} (want allowed): ${r.body.slice(0, 160)}`);
          if (!may && !denied) wrong.push(`${who} (want 403)`);
          if (r.status >= 500 && r.status !== 503) wrong.push(`${who} (a server error)`);
        }
      }
    }
  }
  process.stdout.write(`# ${requests} requests across ${CASES.length} cases\n`);
  assert.deepEqual(wrong, []);
});

test('watches and cluster-wide lists show a tenant user its own tenant only', async () => {
  for (const t of TENANTS) {
    const other = TENANTS.find((x) => x !== t)!;
    for (const role of ROLES) {
      const token = tokens.get(`${t}/${role}`)!;
      const all = await s.request('GET', '/api/v1/configmaps', { token });
      assert.equal(all.status, 200, `${t}/${role} lists configmaps across namespaces`);
      const namespaces = new Set(all.json().items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace));
      assert.ok(!namespaces.has(`${other}-a`), `${t}/${role} sees ${other}'s configmaps`);
      const watch = await s.request('GET', `/api/v1/configmaps?watch=1&timeoutSeconds=1`, { token });
      assert.ok(!watch.body.includes(`"${other}-a"`), `${t}/${role}'s watch shows ${other}'s objects`);
      const foreign = await s.request('GET', `/api/v1/namespaces/${other}-a/configmaps?watch=1&timeoutSeconds=1`, { token });
      assert.ok(foreign.status === 200 && !foreign.body.includes('"cm"'), `${t}/${role}'s watch in ${other}-a: ${foreign.status}`);
      const ns = await s.request('GET', '/api/v1/namespaces', { token });
      assert.deepEqual(ns.json().items.map((n: { metadata: { name: string } }) => n.metadata.name), [`${t}-a`]);
      assert.equal((await s.request('GET', '/api/v1/nodes', { token })).status, 403, 'nodes are no tenant\'s');
      assert.equal((await s.request('GET', `/api/v1/namespaces/${other}-a`, { token })).status, 404);
    }
  }
});
