/**
 * kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`): text with `{…}` actions.
 * Supported: `.field`, `['field']`, `$`/`@`, `[n]`, `[-n]`, `[a:b]`, `[*]`, `.*`, `..field` (recursive),
 * unions `[a,b]`, filters `[?(@.x == "y")]` (==, !=, <, <=, >, >=, and bare existence), `range … end`,
 * and string literals `{"\n"}`. Several results of one action print space-separated; strings print
 * raw, other values as JSON; missing keys print nothing (kubectl's --allow-missing-template-keys).
 */
import { invalid } from '../../lib/errors.js';

type Step =
  | { t: 'field'; names: string[] }
  | { t: 'wild' }
  | { t: 'recursive'; name?: string }
  | { t: 'index'; indices: number[] }
  | { t: 'slice'; start?: number; end?: number; step?: number }
  | { t: 'filter'; left: Step[]; op?: string; right?: Step[] | unknown };

type Node =
  | { t: 'text'; text: string }
  | { t: 'path'; steps: Step[] }
  | { t: 'literal'; text: string }
  | { t: 'range'; steps: Step[]; body: Node[] };

/** Splits a template into text and actions, nesting range … end. */
export function parseJsonPath(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      stack[stack.length - 1]!.push({ t: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) stack[stack.length - 1]!.push({ t: 'text', text: template.slice(i, open) });
    const close = findClose(template, open);
    const action = template.slice(open + 1, close).trim();
    i = close + 1;
    const cur = stack[stack.length - 1]!;
    if (action === 'end') {
      if (stack.length === 1) throw invalid(`jsonpath: "end" without "range" in ${template}`);
      stack.pop();
    } else if (action.startsWith('range ')) {
      const node: Node = { t: 'range', steps: parsePath(action.slice(6).trim()), body: [] };
      cur.push(node);
      stack.push(node.body);
    } else if (/^"(?:[^"\\]|\\.)*"$/.test(action) || /^'[^']*'$/.test(action)) {
      cur.push({ t: 'literal', text: action.startsWith('"') ? (JSON.parse(action) as string) : action.slice(1, -1) });
    } else {
      cur.push({ t: 'path', steps: parsePath(action) });
    }
  }
  if (stack.length > 1) throw invalid(`jsonpath: "range" without "end" in ${template}`);
  return root;
}

function findClose(s: string, open: number): number {
  let quote = '';
  for (let j = open + 1; j < s.length; j++) {
    const ch = s[j]!;
    if (quote) {
      if (ch === '\\') j++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '}') return j;
  }
  throw invalid(`jsonpath: unclosed action in ${s}`);
}

/** Parses `.a.b[0]['c'][?(@.x=="y")]` into steps. */
function parsePath(src: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  if (src[0] === '$' || src[0] === '@') i = 1;
  const ident = () => {
    const m = /^(?:\\.|[^.[\]\s()=!<>,])+/.exec(src.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0].replace(/\\(.)/g, '$1');
  };
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === '.') {
      if (src[i + 1] === '.') {
        i += 2;
        if (src[i] === '*') {
          i++;
          steps.push({ t: 'recursive' });
        } else steps.push({ t: 'recursive', name: ident() });
        continue;
      }
      i++;
      if (src[i] === '*') {
        i++;
        steps.push({ t: 'wild' });
        continue;
      }
      const name = ident();
      if (name) steps.push({ t: 'field', names: [name] });
      continue;
    }
    if (ch === '[') {
      const close = matchingBracket(src, i);
      steps.push(parseBracket(src.slice(i + 1, close).trim()));
      i = close + 1;
      continue;
    }
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const name = ident();
    if (!name) throw invalid(`jsonpath: unexpected "${ch}" in ${src}`);
    steps.push({ t: 'field', names: [name] });
  }
  return steps;
}

function matchingBracket(s: string, open: number): number {
  let depth = 0;
  let quote = '';
  for (let j = open; j < s.length; j++) {
    const ch = s[j]!;
    if (quote) {
      if (ch === '\\') j++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth === 0) return j;
  }
  throw invalid(`jsonpath: unclosed "[" in ${s}`);
}

function parseBracket(inner: string): Step {
  if (inner === '*') return { t: 'wild' };
  if (inner.startsWith('?(') && inner.endsWith(')')) {
    const expr = inner.slice(2, -1).trim();
    const m = /^(@[^=!<>\s]*)\s*(==|!=|<=|>=|<|>)\s*(.+)$/.exec(expr);
    if (!m) return { t: 'filter', left: parsePath(expr) };
    const rightText = m[3]!.trim();
    let right: unknown;
    if (rightText.startsWith('@') || rightText.startsWith('$')) right = parsePath(rightText);
    else if (/^'.*'$/.test(rightText)) right = rightText.slice(1, -1);
    else {
      try {
        right = JSON.parse(rightText);
      } catch {
        throw invalid(`jsonpath: cannot read "${rightText}" in filter ${inner}`);
      }
    }
    return { t: 'filter', left: parsePath(m[1]!), op: m[2], right };
  }
  if (/^-?\d*:-?\d*(:-?\d+)?$/.test(inner)) {
    const [a, b, c] = inner.split(':');
    const num = (x: string | undefined) => (x === undefined || x === '' ? undefined : Number(x));
    return { t: 'slice', start: num(a), end: num(b), step: num(c) };
  }
  const parts = inner.split(',').map((p) => p.trim());
  if (parts.every((p) => /^-?\d+$/.test(p))) return { t: 'index', indices: parts.map(Number) };
  return { t: 'field', names: parts.map((p) => (/^(['"]).*\1$/.test(p) ? p.slice(1, -1) : p)) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descend(v: unknown, out: unknown[]): void {
  out.push(v);
  if (Array.isArray(v)) for (const x of v) descend(x, out);
  else if (isObject(v)) for (const x of Object.values(v)) descend(x, out);
}

function evalSteps(values: unknown[], steps: Step[], root: unknown): unknown[] {
  let cur = values;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      switch (step.t) {
        case 'field':
          for (const n of step.names) if (isObject(v) && v[n] !== undefined) next.push(v[n]);
          break;
        case 'wild':
          if (Array.isArray(v)) next.push(...v);
          else if (isObject(v)) next.push(...Object.values(v));
          break;
        case 'recursive': {
          const all: unknown[] = [];
          descend(v, all);
          if (step.name === undefined) next.push(...all.slice(1));
          else for (const x of all) if (isObject(x) && x[step.name] !== undefined) next.push(x[step.name]);
          break;
        }
        case 'index':
          if (Array.isArray(v)) for (const i of step.indices) {
            const at = i < 0 ? v.length + i : i;
            if (at >= 0 && at < v.length) next.push(v[at]);
          }
          break;
        case 'slice':
          if (Array.isArray(v)) {
            const norm = (x: number | undefined, d: number) => (x === undefined ? d : x < 0 ? Math.max(0, v.length + x) : Math.min(x, v.length));
            const by = step.step ?? 1;
            for (let i = norm(step.start, 0); i < norm(step.end, v.length); i += by > 0 ? by : 1) next.push(v[i]);
          }
          break;
        case 'filter':
          if (Array.isArray(v)) for (const item of v) if (matches(item, step, root)) next.push(item);
          break;
      }
    }
    cur = next;
  }
  return cur;
}

function matches(item: unknown, f: Extract<Step, { t: 'filter' }>, root: unknown): boolean {
  const left = evalSteps([item], f.left, root);
  if (f.op === undefined) return left.length > 0 && left[0] !== false && left[0] !== null;
  if (left.length === 0) return false;
  const right = Array.isArray(f.right) && f.right.every((s) => typeof s === 'object' && s !== null && 't' in s) ? evalSteps([item], f.right as Step[], root)[0] : f.right;
  const a = left[0];
  switch (f.op) {
    case '==':
      return JSON.stringify(a) === JSON.stringify(right) || String(a) === String(right);
    case '!=':
      return !(JSON.stringify(a) === JSON.stringify(right) || String(a) === String(right));
    case '<':
      return Number(a) < Number(right);
    case '<=':
      return Number(a) <= Number(right);
    case '>':
      return Number(a) > Number(right);
    case '>=':
      return Number(a) >= Number(right);
  }
  return false;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function render(nodes: Node[], current: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text' || n.t === 'literal') out += n.text;
    else if (n.t === 'path') out += evalSteps([current], n.steps, root).map(show).join(' ');
    else {
      let items = evalSteps([current], n.steps, root);
      if (items.length === 1 && Array.isArray(items[0])) items = items[0];
      for (const item of items) out += render(n.body, item, root);
    }
  }
  return out;
}

/** Renders `template` against `data`; throws Invalid for a malformed template. */
export function jsonPath(template: string, data: unknown): string {
  return render(parseJsonPath(template), data, data);
}
