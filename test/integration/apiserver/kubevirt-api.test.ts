/**
 * KubeVirt's API (kubevirt.io/v1) through the real kubectl: discovery with KubeVirt's short names,
 * manifests shaped like KubeVirt's documented examples (a VM with a container disk and cloud-init, a VMI
 * with a masquerade interface, a migration) applied unmodified, KubeVirt's `kubectl get` columns, the
 * defaults KubeVirt's webhook would add in `kubectl get -o yaml`, bad manifests refused with field paths,
 * and the tenant roles: members write VMs and VMIs and read migrations, readers only read, and a
 * tenant's VMs use disk images of the node only where the Tenant allows hostPath.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { defaultArchitecture, firmwareUuidFor } from '../../../src/api/kubevirt/v1/vmi-defaults.js';
import { requireKubectl, TestServer } from './harness.js';

let s: TestServer;
const tokens: Record<string, string> = {};
const NS = 'vms';

async function run(args: string[], input?: string, user?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return user ? s.kubectlAs(tokens[user]!, args, { input, allowFail: true }) : s.kubectl(args, { input, allowFail: true });
}

async function works(args: string[], input?: string, user?: string): Promise<string> {
  const r = await run(args, input, user);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], pattern: RegExp, input?: string, user?: string): Promise<string> {
  const r = await run(args, input, user);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail`);
  assert.match(r.stderr, pattern, `kubectl ${args.join(' ')}`);
  return r.stderr;
}

const yamlOf = async (args: string[]) => YAML.parse(await works([...args, '-o', 'yaml']));
const rows = (out: string) => out.trim().split('\n');

/** KubeVirt's vm-cirros example in its shape: halted, a container disk and cloud-init user data. */
const VM_CIRROS = `
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: vm-cirros
  labels:
    kubevirt.io/vm: vm-cirros
spec:
  runStrategy: Halted
  template:
    metadata:
      labels:
        kubevirt.io/vm: vm-cirros
    spec:
      domain:
        devices:
          disks:
          - name: containerdisk
            disk:
              bus: virtio
          - name: cloudinitdisk
            disk:
              bus: virtio
        memory:
          guest: 128Mi
        resources: {}
      terminationGracePeriodSeconds: 0
      volumes:
      - name: containerdisk
        containerDisk:
          image: quay.io/kubevirt/cirros-container-disk-demo
      - name: cloudinitdisk
        cloudInitNoCloud:
          userData: |
            #!/bin/sh
            echo 'hello from cloud-init'
`;

/** KubeVirt's vmi-masquerade example in its shape: a masquerade interface forwarding port 80, cloud-init user and network data. */
const VMI_MASQUERADE = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: vmi-masquerade
  labels:
    special: vmi-masquerade
spec:
  domain:
    devices:
      disks:
      - name: containerdisk
        disk:
          bus: virtio
      - name: cloudinitdisk
        disk:
          bus: virtio
      interfaces:
      - name: testmasquerade
        masquerade: {}
        ports:
        - name: http
          port: 80
          protocol: TCP
      rng: {}
    memory:
      guest: 1024M
    resources: {}
  networks:
  - name: testmasquerade
    pod: {}
  terminationGracePeriodSeconds: 0
  volumes:
  - name: containerdisk
    containerDisk:
      image: quay.io/kubevirt/fedora-cloud-container-disk-demo
  - name: cloudinitdisk
    cloudInitNoCloud:
      networkData: |
        version: 2
        ethernets:
          eth0:
            dhcp4: true
      userData: |-
        #cloud-config
        password: fedora
        chpasswd: { expire: False }
`;

/** A VMI that says nothing of networks or of the disk of its scratch volume: the defaults fill them in. */
const VMI_PLAIN = `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {name: vmi-plain}
spec:
  domain:
    devices: {}
    resources: {requests: {memory: 64Mi}, limits: {cpu: "2"}}
  volumes:
  - name: scratch
    emptyDisk: {capacity: 2Gi}
`;

const migration = (name: string, vmiName: string) => `
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstanceMigration
metadata:
  name: ${name}
spec:
  vmiName: ${vmiName}
`;

async function tenantUser(name: string, role: string): Promise<void> {
  await works(['create', '-f', '-'], JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name }, spec: { tenant: 'acme', roles: [role] } }));
  const set = await s.request('PUT', `/apis/nubis.dev/v1/users/${name}/password`, { body: JSON.stringify({ password: `${name}-secret-pw` }) });
  assert.equal(set.status, 200, set.body);
  const login = await s.request('POST', '/apis/nubis.dev/v1/logins', { token: null, body: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'Login', spec: { username: name, password: `${name}-secret-pw` } }) });
  assert.equal(login.status, 201, login.body);
  tokens[name] = login.json().status.token;
}

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  await works(['create', 'namespace', NS]);
  await works(['apply', '-f', '-'], 'apiVersion: nubis.dev/v1\nkind: Tenant\nmetadata: {name: acme}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: acme-vms, labels: {nubis.dev/tenant: acme}}\n');
  await tenantUser('mia', 'member');
  await tenantUser('rex', 'reader');
});

after(async () => {
  await s?.close();
});

test('kubectl api-resources lists the three kinds with KubeVirt\'s short names', async () => {
  const out = await works(['api-resources', '--api-group=kubevirt.io']);
  assert.match(out, /^virtualmachineinstancemigrations\s+vmim,vmims\s+kubevirt\.io\/v1\s+true\s+VirtualMachineInstanceMigration$/m);
  assert.match(out, /^virtualmachineinstances\s+vmi,vmis\s+kubevirt\.io\/v1\s+true\s+VirtualMachineInstance$/m);
  assert.match(out, /^virtualmachines\s+vm,vms\s+kubevirt\.io\/v1\s+true\s+VirtualMachine$/m);
  assert.equal(rows(out).length, 4);
  assert.match(await works(['explain', 'vmi.spec.domain.memory.guest']), /GROUP:\s+kubevirt\.io[\s\S]*The memory the guest sees\./);
  assert.match(await works(['explain', 'vm.spec.runStrategy']), /When an instance of the VM runs\./);
});

test('a VM applies unmodified; kubectl get vm prints NAME, AGE, STATUS, READY; the template gets KubeVirt\'s VM defaults', async () => {
  assert.match(await works(['apply', '-n', NS, '-f', '-'], VM_CIRROS), /^virtualmachine\.kubevirt\.io\/vm-cirros created$/m);
  assert.match(await works(['apply', '-n', NS, '-f', '-'], VM_CIRROS), /^virtualmachine\.kubevirt\.io\/vm-cirros unchanged$/m);
  const table = rows(await works(['get', 'vm', '-n', NS]));
  assert.match(table[0]!, /^NAME\s+AGE\s+STATUS\s+READY$/);
  assert.match(table[1]!, /^vm-cirros\s+\d+s\s*$/);
  assert.match(await works(['get', 'vms', 'vm-cirros', '-n', NS, '-o', 'name']), /^virtualmachine\.kubevirt\.io\/vm-cirros$/m);
  const vm = await yamlOf(['get', 'virtualmachine', 'vm-cirros', '-n', NS]);
  assert.equal(vm.spec.runStrategy, 'Halted');
  assert.equal(vm.spec.template.spec.domain.firmware.uuid, firmwareUuidFor('vm-cirros'));
  assert.deepEqual(vm.spec.template.spec.domain.machine, { type: 'q35' });
  assert.equal(vm.spec.template.spec.volumes[1].cloudInitNoCloud.userData, "#!/bin/sh\necho 'hello from cloud-init'\n");
  assert.equal(vm.status, undefined);
  // The deprecated spec.running works, with a warning.
  const old = await run(['apply', '-n', NS, '-f', '-'], VM_CIRROS.replace('vm-cirros', 'vm-legacy').replace('runStrategy: Halted', 'running: false'));
  assert.equal(old.code, 0, old.stderr);
  assert.match(old.stderr, /Warning: spec\.running is deprecated: use spec\.runStrategy/);
});

test('a VMI applies unmodified; kubectl get vmi prints KubeVirt\'s columns; -o yaml shows the webhook\'s defaults', async () => {
  assert.match(await works(['apply', '-n', NS, '-f', '-'], VMI_MASQUERADE), /^virtualmachineinstance\.kubevirt\.io\/vmi-masquerade created$/m);
  const table = rows(await works(['get', 'vmi', '-n', NS]));
  assert.match(table[0]!, /^NAME\s+AGE\s+PHASE\s+IP\s+NODENAME\s+READY$/);
  assert.match(table[1]!, /^vmi-masquerade\s+\d+s\s+Pending\s*$/);
  assert.match(rows(await works(['get', 'vmis', '-n', NS, '-o', 'wide']))[0]!, /^NAME\s+AGE\s+PHASE\s+IP\s+NODENAME\s+READY\s+LIVE-MIGRATABLE\s+PAUSED$/);
  const vmi = await yamlOf(['get', 'vmi', 'vmi-masquerade', '-n', NS]);
  const arch = defaultArchitecture();
  assert.equal(vmi.spec.architecture, arch);
  assert.deepEqual(vmi.spec.domain.machine, { type: arch === 'amd64' ? 'q35' : arch === 'arm64' ? 'virt' : 's390-ccw-virtio' });
  assert.equal(vmi.spec.domain.firmware.uuid, firmwareUuidFor('vmi-masquerade'));
  assert.deepEqual(vmi.spec.domain.features, { acpi: { enabled: true } });
  assert.equal(vmi.spec.domain.memory.guest, '1024M');
  assert.deepEqual([vmi.spec.domain.cpu.cores, vmi.spec.domain.cpu.sockets, vmi.spec.domain.cpu.threads], [1, 1, 1]);
  assert.equal(vmi.spec.evictionStrategy, 'None');
  assert.deepEqual(vmi.spec.domain.devices.disks, [{ name: 'containerdisk', disk: { bus: 'virtio' } }, { name: 'cloudinitdisk', disk: { bus: 'virtio' } }]);
  assert.deepEqual(vmi.spec.domain.devices.interfaces, [{ name: 'testmasquerade', masquerade: {}, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }]);
  assert.deepEqual(vmi.spec.networks, [{ name: 'testmasquerade', pod: {} }]);
  assert.equal(vmi.spec.volumes[0].containerDisk.imagePullPolicy, 'Always');
  assert.equal(vmi.status.phase, 'Pending');
  assert.deepEqual(vmi.status.memory, { guestAtBoot: '1024M', guestCurrent: '1024M', guestRequested: '1024M' });
  assert.equal(vmi.status.phaseTransitionTimestamps[0].phase, 'Pending');
});

test('a VMI without networks gets the pod network with a masquerade interface, and its volumes get disks', async () => {
  await works(['apply', '-n', NS, '-f', '-'], VMI_PLAIN);
  const vmi = await yamlOf(['get', 'vmi', 'vmi-plain', '-n', NS]);
  assert.deepEqual(vmi.spec.domain.devices.interfaces, [{ name: 'default', masquerade: {} }]);
  assert.deepEqual(vmi.spec.networks, [{ name: 'default', pod: {} }]);
  assert.deepEqual(vmi.spec.domain.devices.disks, [{ name: 'scratch', disk: { bus: defaultArchitecture() === 'amd64' ? 'sata' : 'virtio' } }]);
  assert.equal(vmi.spec.domain.memory.guest, '64Mi');
  assert.deepEqual(vmi.spec.domain.resources, { requests: { memory: '64Mi', cpu: '2' }, limits: { cpu: '2' } });
  assert.equal(vmi.spec.domain.cpu.sockets, 2);
  // Its spec is KubeVirt's to keep: a changed manifest is refused, labels may still change.
  await fails(['apply', '-n', NS, '-f', '-'], /VirtualMachineInstance "vmi-plain" is invalid: spec: Forbidden: the spec of a VirtualMachineInstance cannot change once it is created/, VMI_PLAIN.replace('64Mi', '128Mi'));
  await works(['label', 'vmi', 'vmi-plain', '-n', NS, 'tier=db']);
});

test('a migration names a VMI that exists; kubectl get vmim prints NAME, PHASE, VMI; its VMI never changes', async () => {
  assert.match(await works(['apply', '-n', NS, '-f', '-'], migration('migration-job', 'vmi-masquerade')), /virtualmachineinstancemigration\.kubevirt\.io\/migration-job created/);
  const table = rows(await works(['get', 'vmim', '-n', NS]));
  assert.match(table[0]!, /^NAME\s+PHASE\s+VMI$/);
  assert.match(table[1]!, /^migration-job\s+vmi-masquerade$/);
  assert.equal((await yamlOf(['get', 'vmims', 'migration-job', '-n', NS])).metadata.labels['kubevirt.io/vmi-name'], 'vmi-masquerade');
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.vmiName: Invalid value: "vmi-plain": field is immutable/, migration('migration-job', 'vmi-plain'));
  await fails(['apply', '-n', NS, '-f', '-'], /Error from server \(BadRequest\).*the VirtualMachineInstance "vms\/vmi-gone" does not exist/, migration('lost', 'vmi-gone'));
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.vmiName: Required value/, 'apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstanceMigration\nmetadata: {name: empty}\nspec: {}\n');
});

test('bad manifests are refused with the field paths of their faults', async () => {
  const vm = VM_CIRROS.replace(/vm-cirros/g, 'bad-vm');
  await fails(['apply', '-n', NS, '-f', '-'], /VirtualMachine "bad-vm" is invalid: spec\.running: Invalid value: true: running and runStrategy are mutually exclusive/, vm.replace('runStrategy: Halted', 'runStrategy: Halted\n  running: true'));
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.runStrategy: Unsupported value: "Sometimes": supported values: "Always", "RerunOnFailure", "Manual", "Halted", "Once"/, vm.replace('Halted', 'Sometimes'));
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.dataVolumeTemplates: Forbidden: DataVolume templates need CDI/, vm.replace('  template:', '  dataVolumeTemplates:\n  - metadata: {name: dv}\n    spec: {source: {blank: {}}, storage: {resources: {requests: {storage: 1Gi}}}}\n  template:'));
  const stderr = await fails(['apply', '-n', NS, '-f', '-'], /VirtualMachine "bad-vm" is invalid/, vm
    .replace('name: cloudinitdisk\n            disk:', 'name: nodisk\n            disk:')
    .replace('terminationGracePeriodSeconds: 0', 'terminationGracePeriodSeconds: -1\n      networks:\n      - name: br1\n        multus: {networkName: br1}')
    .replace("echo 'hello from cloud-init'", `echo '${'x'.repeat(2100)}'`));
  for (const fault of [
    'spec.template.spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0',
    'spec.template.spec.volumes[1].cloudInitNoCloud.userData: Too long: may not be more than 2048 bytes',
    'spec.template.spec.domain.devices.disks[1].name: Invalid value: "nodisk": no volume of this name in spec.template.spec.volumes',
    'spec.template.spec.networks[0].multus: Forbidden: Multus networks are not supported by Nubis',
    'spec.template.spec.networks[0].name: Required value: no interface named "br1"',
  ]) assert.ok(stderr.includes(fault), `${fault} missing from: ${stderr}`);
  const vmi = VMI_MASQUERADE.replace(/vmi-masquerade/g, 'bad-vmi');
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.volumes\[2\]\.hostDisk\.capacity: Required value: a hostDisk of type DiskOrCreate needs a capacity/, `${vmi}  - name: data\n    hostDisk: {path: /var/data/disk.img, type: DiskOrCreate}\n`);
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.domain\.memory\.guest: Required value: no memory requested/, vmi.replace('    memory:\n      guest: 1024M\n', ''));
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.volumes\[0\]: Invalid value: "containerDisk, emptyDisk": must have exactly one source type set/, vmi.replace('    containerDisk:', '    emptyDisk: {capacity: 1Gi}\n    containerDisk:'));
  await fails(['apply', '-n', NS, '-f', '-'], /spec\.domain\.devices\.interfaces\[0\]\.name: Invalid value: "testmasquerade": no network named "testmasquerade" in spec\.networks/, vmi.replace('  - name: testmasquerade\n    pod: {}', '  - name: other\n    pod: {}'));
  await fails(['apply', '-n', NS, '-f', '-'], /unknown field "spec\.domain\.devices\.diskz"/, vmi.replace('      disks:', '      diskz: []\n      disks:'));
  await fails(['get', 'vmi', 'bad-vmi', '-n', NS], /NotFound/);
  await fails(['get', 'vm', 'bad-vm', '-n', NS], /NotFound/);
});

test('tenant members write VMs and VMIs and read migrations; readers only read; hostDisk needs the Tenant\'s hostPath', async () => {
  assert.equal((await works(['auth', 'can-i', 'create', 'virtualmachines.kubevirt.io', '-n', 'acme-vms'], undefined, 'mia')).trim(), 'yes');
  assert.equal((await run(['auth', 'can-i', 'create', 'virtualmachineinstancemigrations.kubevirt.io', '-n', 'acme-vms'], undefined, 'mia')).stdout.trim(), 'no');
  assert.equal((await works(['auth', 'can-i', 'list', 'virtualmachineinstancemigrations.kubevirt.io', '-n', 'acme-vms'], undefined, 'rex')).trim(), 'yes');
  assert.equal((await run(['auth', 'can-i', 'delete', 'virtualmachines.kubevirt.io', '-n', 'acme-vms'], undefined, 'rex')).stdout.trim(), 'no');
  await works(['apply', '-n', 'acme-vms', '-f', '-'], VM_CIRROS, 'mia');
  await works(['apply', '-n', 'acme-vms', '-f', '-'], VMI_MASQUERADE, 'mia');
  assert.match(await works(['get', 'vm,vmi', '-n', 'acme-vms'], undefined, 'rex'), /vm-cirros[\s\S]*vmi-masquerade/);
  await fails(['apply', '-n', 'acme-vms', '-f', '-'], /virtualmachineinstancemigrations\.kubevirt\.io is forbidden: User "nubis:acme:mia" cannot create resource "virtualmachineinstancemigrations" in API group "kubevirt\.io" in the namespace "acme-vms"/, migration('move', 'vmi-masquerade'), 'mia');
  await fails(['delete', 'vm', 'vm-cirros', '-n', 'acme-vms'], /forbidden/, undefined, 'rex');
  const hostDisk = VMI_MASQUERADE.replace('vmi-masquerade', 'vmi-host').replace('    containerDisk:\n      image: quay.io/kubevirt/fedora-cloud-container-disk-demo', '    hostDisk: {path: /etc/shadow, type: Disk}');
  await fails(['apply', '-n', 'acme-vms', '-f', '-'], /tenant "acme" does not allow hostPath \(spec\.volumes\[0\]\.hostDisk\)/, hostDisk, 'mia');
  await works(['apply', '-n', NS, '-f', '-'], hostDisk);
});
