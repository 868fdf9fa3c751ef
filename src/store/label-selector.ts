import type { LabelSelectorSpec } from '../api/meta.js';
import { invalid } from '../lib/errors.js';

/** One requirement of a label selector, as Kubernetes' `labels.Requirement`. */
export type LabelRequirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' }
  | { key: string; op: 'gt' | 'lt'; value: number };

/** A parsed label selector: every requirement must hold. The empty selector matches everything. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

export const EVERYTHING: LabelSelector = Object.freeze({ requirements: Object.freeze([]) as readonly LabelRequirement[] });

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks a label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function validateLabelKey(key: string): void {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    throw invalid(`invalid label key "${key}": the prefix must be a DNS subdomain`);
  }
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) {
    throw invalid(
      `invalid label key "${key}": a name of at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
    );
  }
}

/** Checks a label value: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric. */
export function validateLabelValue(value: string): void {
  if (value !== '' && (value.length > 63 || !NAME.test(value))) {
    throw invalid(
      `invalid label value "${value}": at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
    );
  }
}

type Token = { kind: 'word'; text: string } | { kind: 'op'; text: string };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'op', text: c });
      i++;
    } else if (c === '=' || c === '!' || c === '>' || c === '<') {
      const two = input.slice(i, i + 2);
      const op = two === '==' || two === '!=' ? two : c;
      tokens.push({ kind: 'op', text: op });
      i += op.length;
    } else {
      let j = i;
      while (j < input.length && !' \t(),=!<>'.includes(input[j]!)) j++;
      tokens.push({ kind: 'word', text: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

/**
 * Parses Kubernetes' label selector syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
 * `!a`, `a>1`, `a<5`, joined by commas. Fails with Invalid and a message naming the problem.
 */
export function parseLabelSelector(input: string): LabelSelector {
  const tokens = tokenize(input);
  const requirements: LabelRequirement[] = [];
  let pos = 0;
  const fail = (why: string) => invalid(`invalid label selector "${input}": ${why}`);
  const peek = () => tokens[pos];
  const word = (what: string): string => {
    const t = tokens[pos++];
    if (t?.kind !== 'word') throw fail(`expected ${what}${t ? ` but found "${t.text}"` : ' at the end'}`);
    return t.text;
  };
  const checked = (check: (v: string) => void) => (v: string) => {
    try {
      check(v);
    } catch (err) {
      throw fail((err as Error).message);
    }
    return v;
  };
  const key = checked(validateLabelKey);
  const value = checked(validateLabelValue);
  if (tokens.length === 0) return EVERYTHING;
  for (;;) {
    const t = peek();
    if (t?.kind === 'op' && t.text === '!') {
      pos++;
      requirements.push({ key: key(word('a label key after "!"')), op: 'notexists' });
    } else {
      const k = key(word('a label key'));
      const next = peek();
      if (next === undefined || (next.kind === 'op' && next.text === ',')) {
        requirements.push({ key: k, op: 'exists' });
      } else if (next.kind === 'op' && ['=', '==', '!='].includes(next.text)) {
        pos++;
        const after = peek();
        // `a=` selects an empty value.
        const v = after === undefined || (after.kind === 'op' && after.text === ',') ? '' : value(word('a value'));
        requirements.push({ key: k, op: next.text === '!=' ? 'neq' : 'eq', value: v });
      } else if (next.kind === 'op' && (next.text === '>' || next.text === '<')) {
        pos++;
        const text = word('an integer');
        if (!/^-?\d+$/.test(text)) throw fail(`"${text}" is not an integer`);
        requirements.push({ key: k, op: next.text === '>' ? 'gt' : 'lt', value: Number(text) });
      } else if (next.kind === 'word' && (next.text === 'in' || next.text === 'notin')) {
        pos++;
        const open = tokens[pos++];
        if (open?.kind !== 'op' || open.text !== '(') throw fail(`expected "(" after "${next.text}"`);
        const values: string[] = [];
        for (;;) {
          const v = peek();
          if (v?.kind === 'op' && (v.text === ',' || v.text === ')')) values.push('');
          else values.push(value(word('a value')));
          const sep = tokens[pos++];
          if (sep?.kind === 'op' && sep.text === ')') break;
          if (sep?.kind !== 'op' || sep.text !== ',') throw fail('expected "," or ")" in a value set');
        }
        requirements.push({ key: k, op: next.text as 'in' | 'notin', values });
      } else {
        throw fail(`unexpected "${next.text}" after "${k}"`);
      }
    }
    const sep = tokens[pos++];
    if (sep === undefined) break;
    if (sep.kind !== 'op' || sep.text !== ',') throw fail(`expected "," but found "${sep.text}"`);
  }
  return { requirements };
}

/** Builds a selector from metav1.LabelSelector (matchLabels and matchExpressions), as found in specs. */
export function labelSelectorFromSpec(spec: LabelSelectorSpec | undefined): LabelSelector {
  const requirements: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(spec?.matchLabels ?? {})) {
    validateLabelKey(k);
    validateLabelValue(v);
    requirements.push({ key: k, op: 'eq', value: v });
  }
  for (const e of spec?.matchExpressions ?? []) {
    validateLabelKey(e.key);
    const values = e.values ?? [];
    values.forEach(validateLabelValue);
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) throw invalid(`matchExpressions: ${e.operator} on "${e.key}" needs values`);
        requirements.push({ key: e.key, op: e.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) throw invalid(`matchExpressions: ${e.operator} on "${e.key}" takes no values`);
        requirements.push({ key: e.key, op: e.operator === 'Exists' ? 'exists' : 'notexists' });
        break;
      default:
        throw invalid(`matchExpressions: unknown operator "${String(e.operator)}"`);
    }
  }
  return { requirements };
}

/** Whether a set of labels satisfies every requirement of the selector. */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const r of selector.requirements) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? l[r.key] : undefined;
    switch (r.op) {
      case 'eq':
        if (v !== r.value) return false;
        break;
      case 'neq':
        if (v === r.value) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
      case 'exists':
        if (!has) return false;
        break;
      case 'notexists':
        if (has) return false;
        break;
      case 'gt':
      case 'lt': {
        if (v === undefined || !/^-?\d+$/.test(v)) return false;
        const n = Number(v);
        if (r.op === 'gt' ? !(n > r.value) : !(n < r.value)) return false;
        break;
      }
    }
  }
  return true;
}

/** Renders a selector back into the string syntax `parseLabelSelector` reads. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector.requirements
    .map((r) => {
      switch (r.op) {
        case 'eq':
          return `${r.key}=${r.value}`;
        case 'neq':
          return `${r.key}!=${r.value}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.op} (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.value}`;
        case 'lt':
          return `${r.key}<${r.value}`;
      }
    })
    .join(',');
}
