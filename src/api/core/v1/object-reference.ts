import { obj, str } from '../../schema.js';

/** core/v1 ObjectReference (Event.involvedObject, Endpoints targetRef...). */
export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export const objectReferenceSchema = obj({
  kind: str(), namespace: str(), name: str(), uid: str(), apiVersion: str(), resourceVersion: str(), fieldPath: str(),
});

/** A valid IPv4 or IPv6 address literal. */
/**
 * Why `ip` may not be an endpoint address (Kubernetes' rules: a hand-written endpoint must not point a
 * Service at the node itself, link-local metadata services or multicast), or undefined when it may.
 */
export function endpointAddressError(ip: unknown, family?: 'IPv4' | 'IPv6'): string | undefined {
  if (!isIP(ip)) return 'must be a valid IP address';
  const s = String(ip).toLowerCase();
  const v4 = s.includes('.') && !s.includes(':');
  if (family && (family === 'IPv4') !== v4) return `must be an ${family} address`;
  if (s === '0.0.0.0' || s === '::') return 'may not be unspecified (0.0.0.0, ::)';
  if (s.startsWith('127.') || s === '::1') return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (s.startsWith('169.254.') || /^fe[89ab][0-9a-f]?:/.test(s)) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  if ((v4 && Number(s.split('.')[0]) >= 224 && Number(s.split('.')[0]) <= 239) || s.startsWith('ff')) return 'may not be in the multicast range (224.0.0.0/4, ff00::/8)';
  return undefined;
}

export function isIP(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) return s.split('.').every((p) => Number(p) <= 255 && String(Number(p)) === p);
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':') && s.split('::').length <= 2;
}
