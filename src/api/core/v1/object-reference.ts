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
export function isIP(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s)) return s.split('.').every((p) => Number(p) <= 255 && String(Number(p)) === p);
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':') && s.split('::').length <= 2;
}
