// Completion for the playground's editor from the scenario's JSON Schema (schema/scenario.schema.json,
// `vdm schema`): which keys a mapping may have and which values a field takes, at the cursor. The
// text is parsed by the `yaml` package with a marker word at the cursor; the marker's place in the
// document (a key of a mapping, a value, an item of a list) and the path to it pick the schema node.
// Pure: the editor (playground/editor.ts) turns the answer into CodeMirror completions.

import { isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';

/** The part of a JSON Schema this reads. */
export interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
}

export interface Completion {
  label: string;
  /** `key` (a field name: the editor adds `: `) or `value`. */
  kind: 'key' | 'value';
  detail?: string;
}

export interface CompletionResult {
  /** Where the word being completed starts. */
  from: number;
  options: Completion[];
}

const MARK = 'vdmCompletionMarker';
const ITEM = Symbol('item');
type Seg = string | typeof ITEM;

/** Schema nodes with their unions flattened. */
function expand(nodes: SchemaNode[]): SchemaNode[] {
  const out: SchemaNode[] = [];
  const walk = (n: SchemaNode | undefined) => {
    if (!n || typeof n !== 'object') return;
    out.push(n);
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) for (const b of n[k] ?? []) walk(b);
  };
  for (const n of nodes) walk(n);
  return out;
}

function step(nodes: SchemaNode[], seg: Seg): SchemaNode[] {
  const out: SchemaNode[] = [];
  for (const n of expand(nodes)) {
    if (seg === ITEM) {
      if (n.items) out.push(n.items);
    } else if (n.properties && Object.hasOwn(n.properties, seg)) out.push(n.properties[seg]!);
    else if (typeof n.additionalProperties === 'object') out.push(n.additionalProperties);
  }
  return out;
}

function keysOf(nodes: SchemaNode[], present: Set<string>): Completion[] {
  const seen = new Map<string, Completion>();
  for (const n of expand(nodes)) {
    for (const [k, v] of Object.entries(n.properties ?? {})) {
      if (present.has(k) || seen.has(k)) continue;
      const c: Completion = { label: k, kind: 'key' };
      if (v.description) c.detail = v.description.split(/(?<=\.)\s/)[0]!.slice(0, 80);
      seen.set(k, c);
    }
  }
  return [...seen.values()];
}

function valuesOf(nodes: SchemaNode[]): Completion[] {
  const seen = new Set<string>();
  for (const n of expand(nodes)) {
    for (const v of n.enum ?? []) seen.add(String(v));
    if (n.const !== undefined) seen.add(String(n.const));
    if (n.type === 'boolean') {
      seen.add('true');
      seen.add('false');
    }
  }
  return [...seen].map((label) => ({ label, kind: 'value' as const }));
}

/** Where the marker sits: the path of keys and list items to its container, and its role there. */
function locate(text: string): { path: Seg[]; role: 'key' | 'value' | 'item'; present: Set<string> } | null {
  const doc = parseDocument(text, { strict: false, uniqueKeys: false, prettyErrors: false });
  let found: { path: Seg[]; role: 'key' | 'value' | 'item'; present: Set<string> } | null = null;
  visit(doc, {
    Scalar(_, node, ancestors) {
      if (found || typeof node.value !== 'string' || !node.value.includes(MARK)) return;
      const path: Seg[] = [];
      const chain = ancestors.slice(1);
      chain.forEach((a, i) => {
        if (isPair(a)) {
          const isLast = i === chain.length - 1;
          if (isLast && a.key === node) return;
          path.push(isScalar(a.key) ? String(a.key.value) : '');
        } else if (isSeq(a)) path.push(ITEM);
      });
      const parent = chain[chain.length - 1];
      let role: 'key' | 'value' | 'item' = 'value';
      let present = new Set<string>();
      if (isPair(parent) && parent.key === node) {
        role = 'key';
        const map = chain[chain.length - 2];
        if (isMap(map)) {
          present = new Set(
            map.items
              .filter((p) => isScalar(p.key) && p.key !== node)
              .map((p) => String((p.key as { value: unknown }).value)),
          );
        }
      } else if (isSeq(parent)) role = 'item';
      found = { path, role, present };
      return visit.BREAK;
    },
  });
  return found;
}

/** The completions at `pos` in `text` against `schema`. */
export function completeAt(schema: SchemaNode, text: string, pos: number): CompletionResult | null {
  const word = /[\w.-]*$/.exec(text.slice(0, pos))![0];
  const from = pos - word.length;
  const lineStart = text.lastIndexOf('\n', pos - 1) + 1;
  const before = text.slice(lineStart, from);
  // A word alone on its line (or after `- `) is a key being typed: the marker gets a `:` so the
  // line parses as a pair; elsewhere (after `key: `, in `[a, b`) it is a value.
  const alone = /^\s*(-\s+)*$/.test(before);
  const hasColon = /^[\w.-]*\s*:/.test(text.slice(pos));
  const tries = alone && !hasColon ? [`${MARK}: `, MARK] : [MARK];
  for (const m of tries) {
    const at = locate(`${text.slice(0, from)}${m}${text.slice(pos).replace(/^[\w.-]*/, '')}`);
    if (!at) continue;
    let nodes = [schema];
    for (const seg of at.path) nodes = step(nodes, seg);
    if (nodes.length === 0) continue;
    const options =
      at.role === 'key'
        ? keysOf(nodes, at.present)
        : // A list item being typed: a value of the list (`- MMIO_...`) or an operation's name (`- load`).
          at.role === 'item'
          ? [...valuesOf(nodes), ...keysOf(nodes, new Set())]
          : valuesOf(nodes);
    if (options.length > 0) return { from, options };
  }
  return null;
}
