import { createHash } from 'node:crypto';
import { invalid } from '../lib/errors.js';

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The OCI chain IDs of a stack of layers, bottom first: chainID(L0) = diffID(L0) and
 * chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)), as "sha256:<hex>" strings.
 * A snapshot keyed by chain ID stands for a layer together with everything below it.
 */
export function chainIds(diffIDs: string[]): string[] {
  const out: string[] = [];
  for (const diffID of diffIDs) {
    if (!DIGEST.test(diffID)) throw invalid(`bad layer diffID ${JSON.stringify(diffID)}: want sha256:<64 hex>`);
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffID : `sha256:${createHash('sha256').update(`${prev} ${diffID}`).digest('hex')}`);
  }
  return out;
}
