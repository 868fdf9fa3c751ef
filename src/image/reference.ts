/**
 * Image references: `[registry[:port]/]repository[:tag][@sha256:<hex>]`, normalized the way docker does
 * (a name with no registry lives on docker.io, a one-component name under library/, no tag means latest).
 *
 * The bare name `busybox` (and `busybox:latest`) is special: it always means the built-in image made
 * offline from the host's busybox binary, stored under the ref name `busybox:latest`, so a machine with no
 * registry can run everything. The registry's busybox stays reachable by its full name,
 * `docker.io/library/busybox`.
 */
import { invalid } from '../lib/errors.js';

export const DEFAULT_REGISTRY = 'docker.io';
/** The ref name the built-in busybox image is stored under. */
export const BUILTIN_BUSYBOX_REF = 'busybox:latest';

/** A parsed, normalized reference. */
export interface Reference {
  /** Registry host[:port], e.g. docker.io or 127.0.0.1:5000. */
  registry: string;
  /** Repository path inside the registry, e.g. library/busybox. */
  repository: string;
  tag?: string;
  digest?: string;
}

const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestRe = /^sha256:[a-f0-9]{64}$/;
const hostRe = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;

/** True for `busybox` and `busybox:latest`: the names that resolve to the built-in image. */
export function isBuiltinBusybox(ref: string): boolean {
  return ref === 'busybox' || ref === BUILTIN_BUSYBOX_REF;
}

/** True if `s` is a full sha256 digest (`sha256:` and 64 hex digits). */
export function isDigest(s: string): boolean {
  return digestRe.test(s);
}

/** Parses and normalizes a reference; fails with Invalid on anything docker would refuse. */
export function parseReference(input: string): Reference {
  const bad = (why: string) => invalid(`invalid image reference "${input}": ${why}`);
  let rest = input.trim();
  if (!rest) throw bad('empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw bad('the digest must be sha256: and 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw bad(`bad tag "${tag}"`);
  }
  const parts = rest.split('/');
  let registry = DEFAULT_REGISTRY;
  const first = parts[0] ?? '';
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    if (!hostRe.test(first)) throw bad(`bad registry "${first}"`);
    registry = first;
    parts.shift();
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && parts.length === 1) parts.unshift('library');
  for (const p of parts) {
    if (!componentRe.test(p)) throw bad(`bad name component "${p}" (lowercase letters, digits and . _ - only)`);
  }
  const repository = parts.join('/');
  if (repository.length > 255) throw bad('name too long');
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** The canonical string: registry/repository[:tag][@digest]. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** registry/repository, without tag or digest. */
export function repositoryOf(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The ref name an image is stored under: the built-in busybox as `busybox:latest`, everything else
 * normalized (`foo` -> `docker.io/library/foo:latest`).
 */
export function normalizeName(input: string): string {
  if (isBuiltinBusybox(input.trim())) return BUILTIN_BUSYBOX_REF;
  return formatReference(parseReference(input));
}

/** The short form people type, as docker shows it: docker.io/library/foo -> foo. */
export function familiarName(repository: string): string {
  if (repository.startsWith(`${DEFAULT_REGISTRY}/library/`)) return repository.slice(`${DEFAULT_REGISTRY}/library/`.length);
  if (repository.startsWith(`${DEFAULT_REGISTRY}/`)) return repository.slice(`${DEFAULT_REGISTRY}/`.length);
  return repository;
}

/** Splits a stored ref name into repository and tag (or digest) for listings. */
export function splitName(name: string): { repository: string; tag: string } {
  const at = name.indexOf('@');
  if (at >= 0) return { repository: name.slice(0, at), tag: '<none>' };
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: 'latest' };
}

/** True for registries reached over plain HTTP without asking: loopback addresses and localhost. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
