/**
 * KubeVirt's checks of a VMI's interfaces and networks: unique names, interfaces and networks matched by
 * name both ways, one source per network and one pod network at most, one binding per interface,
 * masquerade only on the pod network and never with the MAC address of its in-pod bridge, NIC models,
 * MAC addresses, forwarded ports, and boot orders unique among disks and interfaces. Nubis provides the
 * pod network with masquerade or bridge bindings: Multus networks, resource claims, SR-IOV, passt and
 * binding plugins are refused as not supported, and KubeVirt's discontinued bindings as such.
 */
import type { FieldError } from '../../resource-type.js';
import { check, fieldErr, portName } from '../../validation.js';
import type { Interface, Network, VmiSpec } from './vmi-types.js';

const MODELS = ['virtio', 'e1000', 'e1000e', 'igb', 'ne2k_pci', 'pcnet', 'rtl8139'];
const INTERFACE_NAME = /^[A-Za-z0-9_-]+$/;
/** The MAC address of the bridge inside the pod a masquerade binding NATs through. */
const MASQUERADE_BRIDGE_MAC = '02:00:00:00:00:00';
const MAC = /^([0-9A-Fa-f]{2}([:-]))(?:[0-9A-Fa-f]{2}\2){4}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$/;

const BINDINGS = ['masquerade', 'bridge', 'sriov', 'passtBinding', 'binding'] as const;
const UNSUPPORTED_BINDINGS = new Set<string>(['sriov', 'passtBinding', 'binding']);
const DISCONTINUED_BINDINGS = ['slirp', 'macvtap', 'passt'] as const;

function validateNetworkSource(n: Network, at: string, errors: FieldError[]): void {
  const sources = (['pod', 'multus', 'resourceClaim'] as const).filter((s) => n[s] !== undefined);
  if (sources.length !== 1) errors.push(fieldErr.invalid(at, sources.join(', '), 'must have exactly one network type (pod)'));
  if (n.multus) errors.push(fieldErr.forbidden(`${at}.multus`, 'Multus networks are not supported by Nubis: use the pod network (pod: {})'));
  if (n.resourceClaim) errors.push(fieldErr.forbidden(`${at}.resourceClaim`, 'networks from resource claims are not supported by Nubis: use the pod network (pod: {})'));
}

function validateNetworks(spec: VmiSpec, p: string, interfaces: Set<string>, errors: FieldError[]): Map<string, Network> {
  const byName = new Map<string, Network>();
  let pods = 0;
  for (const [i, n] of (spec.networks ?? []).entries()) {
    const at = `${p}.networks[${i}]`;
    if (byName.has(n.name)) errors.push(fieldErr.duplicate(`${at}.name`, n.name));
    byName.set(n.name, n);
    validateNetworkSource(n, at, errors);
    if (n.pod && ++pods > 1) errors.push(fieldErr.invalid(at, n.name, 'only one network may be the pod network'));
    if (!interfaces.has(n.name)) errors.push(fieldErr.required(`${at}.name`, `no interface named "${n.name}" in ${p}.domain.devices.interfaces`));
  }
  return byName;
}

function validateBinding(iface: Interface, network: Network | undefined, at: string, errors: FieldError[]): void {
  for (const b of DISCONTINUED_BINDINGS) if (iface[b] !== undefined) errors.push(fieldErr.forbidden(`${at}.${b}`, `the ${b} binding is discontinued: use masquerade`));
  const bindings = BINDINGS.filter((b) => iface[b] !== undefined);
  if (bindings.length !== 1 && !DISCONTINUED_BINDINGS.some((b) => iface[b] !== undefined)) {
    errors.push(fieldErr.invalid(at, bindings.join(', '), 'must have exactly one binding method (masquerade or bridge)'));
  }
  for (const b of bindings) if (UNSUPPORTED_BINDINGS.has(b)) errors.push(fieldErr.forbidden(`${at}.${b}`, `the ${b} binding is not supported by Nubis: use masquerade or bridge`));
  if (iface.masquerade !== undefined && network && !network.pod) errors.push(fieldErr.invalid(`${at}.name`, iface.name, 'masquerade works only on the pod network'));
  if (iface.masquerade !== undefined && iface.macAddress?.toLowerCase() === MASQUERADE_BRIDGE_MAC) {
    errors.push(fieldErr.invalid(`${at}.macAddress`, iface.macAddress, 'reserved for the bridge of the masquerade binding: choose another'));
  }
}

function validatePorts(iface: Interface, at: string, errors: FieldError[]): void {
  const names = new Set<string>();
  for (const [j, port] of (iface.ports ?? []).entries()) {
    const pat = `${at}.ports[${j}]`;
    if (port.port === 0) errors.push(fieldErr.required(`${pat}.port`, 'the port to forward'));
    else if (port.port < 1 || port.port > 65535) errors.push(fieldErr.invalid(`${pat}.port`, port.port, 'must be between 1 and 65535, inclusive'));
    if (port.protocol !== undefined && port.protocol !== '' && port.protocol !== 'TCP' && port.protocol !== 'UDP') errors.push(fieldErr.notSupported(`${pat}.protocol`, port.protocol, ['TCP', 'UDP']));
    if (!port.name) continue;
    if (names.has(port.name)) errors.push(fieldErr.duplicate(`${pat}.name`, port.name));
    names.add(port.name);
    check(errors, `${pat}.name`, port.name, portName(port.name));
  }
}

function validateInterfaceFields(iface: Interface, at: string, errors: FieldError[]): void {
  if (!INTERFACE_NAME.test(iface.name)) errors.push(fieldErr.invalid(`${at}.name`, iface.name, 'may contain only letters, digits, - and _'));
  if (iface.model !== undefined && iface.model !== '' && !MODELS.includes(iface.model)) errors.push(fieldErr.notSupported(`${at}.model`, iface.model, MODELS));
  if (iface.macAddress !== undefined && iface.macAddress !== '' && !MAC.test(iface.macAddress)) errors.push(fieldErr.invalid(`${at}.macAddress`, iface.macAddress, 'not a MAC address of six octets'));
  if (iface.bootOrder !== undefined && iface.bootOrder < 1) errors.push(fieldErr.invalid(`${at}.bootOrder`, iface.bootOrder, 'must be greater than 0'));
  if ((iface as { portRanges?: unknown[] }).portRanges?.length) errors.push(fieldErr.forbidden(`${at}.portRanges`, 'port ranges are not supported: list the ports'));
}

/** Boot orders: each used by one device only, disks first, then interfaces. */
function validateBootOrders(spec: VmiSpec, p: string, errors: FieldError[]): void {
  const used = new Set<number>();
  const devices: Array<[string, Array<{ bootOrder?: number }>]> = [['disks', spec.domain.devices.disks ?? []], ['interfaces', spec.domain.devices.interfaces ?? []]];
  for (const [list, items] of devices) {
    for (const [i, d] of items.entries()) {
      if (d.bootOrder === undefined) continue;
      if (used.has(d.bootOrder)) errors.push(fieldErr.duplicate(`${p}.domain.devices.${list}[${i}].bootOrder`, d.bootOrder));
      used.add(d.bootOrder);
    }
  }
}

/** The interfaces and networks of a VMI spec at `p`. */
export function validateNetworking(spec: VmiSpec, p: string): FieldError[] {
  const errors: FieldError[] = [];
  const interfaces = spec.domain.devices.interfaces ?? [];
  const networks = validateNetworks(spec, p, new Set(interfaces.map((i) => i.name)), errors);
  const seen = new Set<string>();
  for (const [i, iface] of interfaces.entries()) {
    const at = `${p}.domain.devices.interfaces[${i}]`;
    if (seen.has(iface.name)) errors.push(fieldErr.duplicate(`${at}.name`, iface.name));
    seen.add(iface.name);
    const network = networks.get(iface.name);
    if (!network) errors.push(fieldErr.invalid(`${at}.name`, iface.name, `no network named "${iface.name}" in ${p}.networks`));
    validateInterfaceFields(iface, at, errors);
    validateBinding(iface, network, at, errors);
    if (network?.pod) validatePorts(iface, at, errors);
  }
  validateBootOrders(spec, p, errors);
  return errors;
}
