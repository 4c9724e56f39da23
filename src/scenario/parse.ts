// Loading a scenario from its text: YAML parsed with positions kept (the `yaml` package's document
// and line counter), the shape checked with zod (schema.ts), each operation checked against its own
// schema (ops.ts), then the names resolved (resolve.ts). Every problem becomes a ScenarioIssue with
// file, line, column and field; nothing in a scenario runs code, reads files or expands without
// bound. No I/O and no node: module: the CLI (load.ts reads the file) and the playground in the
// browser share this one implementation, so both give the same line:column messages.

import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { DESIGN_NAMES, type DesignName, type DesignOptions, OPTION_VALUES } from '../designs/design.js';
import { ScenarioError, type ScenarioIssue, suggest } from './errors.js';
import { MAX_ISSUES, MAX_SCENARIO_BYTES } from './limits.js';
import { OP_NAMES, OPS, type OpName, type ScenarioOp } from './ops.js';
import { resolveScenario, type Scenario } from './resolve.js';
import { type RawScenario, scenarioSchema } from './schema.js';
import { show } from './size.js';

export { MAX_ISSUES, MAX_SCENARIO_BYTES } from './limits.js';

export type { Scenario } from './resolve.js';

/** A problem with the file as a whole (no line). */
export function fileIssue(file: string, message: string): ScenarioIssue {
  return { file, line: 0, column: 0, field: '', message };
}

type Path = (string | number)[];

/** Loads a scenario from its text; `file` is used in messages. Throws ScenarioError on bad input. */
export function parseScenario(source: string, file = '<scenario>'): Scenario {
  if (source.length > MAX_SCENARIO_BYTES) {
    throw new ScenarioError([fileIssue(file, `scenarios are limited to ${MAX_SCENARIO_BYTES} bytes`)]);
  }
  const lc = new LineCounter();
  const doc = parseDocument(source, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
    // Plain YAML 1.2 core: no custom tags, so nothing in a file can construct objects or run code.
    schema: 'core',
    customTags: [],
  });
  const issues: ScenarioIssue[] = [];
  const at = (offset: number | undefined) => {
    const p = offset === undefined ? { line: 1, col: 1 } : lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  for (const e of [...doc.errors, ...doc.warnings]) {
    issues.push({ file, ...at(e.pos[0]), field: '', message: yamlMessage(e.message) });
  }
  // Keys are names: a mapping or list used as a key would be stringified by toJS.
  visit(doc, {
    Pair(_, pair) {
      if (isPair(pair) && pair.key !== null && !isScalar(pair.key)) {
        const k = pair.key as Node;
        issues.push({ file, ...at(k.range?.[0]), field: '', message: 'a key must be a plain name' });
      }
    },
  });
  if (issues.length > 0) throw new ScenarioError(issues);
  let data: unknown;
  try {
    // A bounded expansion: a document whose aliases expand past this is refused (billion laughs).
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    const m = yamlMessage(e instanceof Error ? e.message : String(e));
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: m }]);
  }
  if (data === null || data === undefined) {
    throw new ScenarioError([{ file, line: 1, column: 1, field: '', message: 'the file is empty' }]);
  }
  const locate = (path: Path, key = false) => {
    const found = nodeAt(doc.contents as Node | null, path);
    const node = key && found.key ? found.key : found.node;
    return { ...at(node?.range?.[0]), missing: found.depth < path.length };
  };
  const issueAt = (path: Path, message: string, o: { key?: boolean; suggestion?: string } = {}) => {
    // A file with very many errors reports the first MAX_ISSUES (and says so) rather than all.
    if (issues.length > MAX_ISSUES) return;
    if (issues.length === MAX_ISSUES) {
      issues.push({
        file,
        line: 0,
        column: 0,
        field: '',
        message: `more than ${MAX_ISSUES} errors; the rest are not shown`,
      });
      return;
    }
    const l = locate(path, o.key);
    const i: ScenarioIssue = { file, line: l.line, column: l.column, field: fieldOf(path), message };
    if (o.suggestion !== undefined) i.suggestion = o.suggestion;
    issues.push(i);
  };
  const zodIssues = (err: z.ZodError, base: Path, input: unknown, keysAt: (p: Path) => string[]) => {
    const queue = [...err.issues];
    for (const iss of queue) {
      const path = [...base, ...(iss.path as Path)];
      const rel = iss.path as Path;
      switch (iss.code) {
        case 'unrecognized_keys':
          for (const k of iss.keys) {
            issueAt([...path, k], `unknown key \`${k}\``, {
              key: true,
              ...opt(suggest(k, keysAt(rel))),
            });
          }
          break;
        case 'invalid_value': {
          const v = valueAt(input, rel);
          const values = iss.values.map(String);
          issueAt(path, `${show(v)} is not one of ${values.join(', ')}`, opt(suggest(String(v), values)));
          break;
        }
        case 'invalid_type': {
          const v = valueAt(input, rel);
          if (v === undefined && locate(path).missing)
            issueAt(path, `missing required field \`${last(path)}\``);
          else issueAt(path, `expected ${iss.expected}, got ${show(v)}`);
          break;
        }
        case 'invalid_union': {
          // Report the alternative the value came closest to (`invariants: [MAPING_...]`).
          const best = closestBranch(iss.errors);
          if (valueAt(input, rel) === undefined && locate(path).missing)
            issueAt(path, `missing required field \`${last(path)}\``);
          else if (best)
            queue.push(...best.map((b) => ({ ...b, path: [...iss.path, ...b.path] }) as typeof iss));
          else issueAt(path, iss.message);
          break;
        }
        default:
          issueAt(path, iss.message);
      }
    }
  };

  if (typeof data !== 'object' || Array.isArray(data)) {
    issueAt([], 'a scenario is a mapping (name, devices, threads, ...)');
    throw new ScenarioError(issues);
  }
  const raw = data as Record<string, unknown>;
  const { design: rawDesign, ...rest } = raw;
  const top = scenarioSchema.omit({ design: true }).safeParse(rest);
  if (!top.success) zodIssues(top.error, [], rest, (p) => keysOf(scenarioSchema, p));
  // zod drops a record key `__proto__` without a word; a thread or process cannot be named so.
  for (const k of ['threads', 'processes']) {
    const rec = raw[k];
    if (rec && typeof rec === 'object' && Object.hasOwn(rec, '__proto__')) {
      issueAt([k, '__proto__'], 'a name cannot be `__proto__`', { key: true });
    }
  }
  const design = parseDesign(rawDesign, issueAt);
  // Operations, one at a time.
  const opLists: { path: Path; items: unknown[]; setup: boolean }[] = [];
  if (Array.isArray(raw.setup)) opLists.push({ path: ['setup'], items: raw.setup, setup: true });
  if (raw.threads && typeof raw.threads === 'object' && !Array.isArray(raw.threads)) {
    for (const [t, list] of Object.entries(raw.threads as Record<string, unknown>)) {
      if (Array.isArray(list)) opLists.push({ path: ['threads', t], items: list, setup: false });
    }
  }
  const ops = new Map<string, ScenarioOp[]>();
  for (const list of opLists) {
    const parsed: ScenarioOp[] = [];
    list.items.forEach((item, i) => {
      const path = [...list.path, i];
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        issueAt(
          path,
          `an operation is a mapping with one key, the operation's name (${OP_NAMES.slice(0, 4).join(', ')}, ...)`,
        );
        return;
      }
      const keys = Object.keys(item);
      const opKeys = keys.filter((k) => k !== 'process');
      if (opKeys.length !== 1) {
        issueAt(
          path,
          opKeys.length === 0
            ? 'an operation needs its name as the key'
            : `one operation per list item, found ${opKeys.map((k) => `\`${k}\``).join(', ')}`,
        );
        return;
      }
      const name = opKeys[0]!;
      const spec = Object.hasOwn(OPS, name) ? OPS[name as OpName] : undefined;
      if (!spec) {
        issueAt([...path, name], `unknown operation \`${name}\``, {
          key: true,
          ...opt(suggest(name, OP_NAMES)),
        });
        return;
      }
      const proc = (item as Record<string, unknown>).process;
      if (proc !== undefined && (!list.setup || typeof proc !== 'string')) {
        issueAt(
          [...path, 'process'],
          list.setup
            ? 'expected a process name'
            : '`process` is for setup operations; a thread runs in its own process',
          { key: true },
        );
        return;
      }
      const argsIn = (item as Record<string, unknown>)[name] ?? {};
      const args = spec.args.safeParse(argsIn);
      if (!args.success) {
        zodIssues(args.error, [...path, name], argsIn, () => Object.keys(spec.args.shape));
        return;
      }
      const l = locate(path);
      const o: ScenarioOp = {
        op: name as OpName,
        args: args.data as ScenarioOp['args'],
        where: `${file}:${l.line}:${l.column}`,
        path: fieldOf(path),
      };
      if (typeof proc === 'string') o.process = proc;
      parsed.push(o);
    });
    ops.set(fieldOf(list.path), parsed);
  }
  if (issues.length > 0 || !top.success || !design) throw new ScenarioError(issues);
  const parsed = top.data as Omit<RawScenario, 'design'>;
  if (Object.keys(parsed.threads).length === 0) {
    issueAt(['threads'], 'a scenario needs at least one thread');
    throw new ScenarioError(issues);
  }
  return resolveScenario(
    { file, source, raw: parsed, design, ops },
    (path, message, suggestion) => issueAt(path, message, opt(suggestion)),
    () => {
      if (issues.length > 0) throw new ScenarioError(issues);
    },
  );
}

const opt = (s: string | undefined): { suggestion?: string } => (s === undefined ? {} : { suggestion: s });

/** `design: upstream` or `design: { name: v6.19, closeOrder: cleanup-first }`. */
function parseDesign(
  v: unknown,
  issueAt: (path: Path, message: string, o?: { key?: boolean; suggestion?: string }) => void,
): { name: DesignName; options: Partial<DesignOptions> } | undefined {
  if (v === undefined) return { name: 'upstream', options: {} };
  const names = DESIGN_NAMES as readonly string[];
  const nameOf = (n: unknown, path: Path): DesignName | undefined => {
    if (typeof n === 'string' && names.includes(n)) return n as DesignName;
    issueAt(
      path,
      n === undefined
        ? 'missing required field `name`'
        : `unknown design ${show(n)}: expected one of ${names.join(', ')}`,
      typeof n === 'string' ? opt(suggest(n, names)) : {},
    );
    return undefined;
  };
  if (typeof v === 'string') {
    const n = nameOf(v, ['design']);
    return n ? { name: n, options: {} } : undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    issueAt(['design'], 'expected a design name or a mapping { name, ...options }');
    return undefined;
  }
  const { name, ...rest } = v as Record<string, unknown>;
  const n = nameOf(name, ['design', 'name']);
  const options: Record<string, unknown> = {};
  let ok = n !== undefined;
  const optionNames = Object.keys(OPTION_VALUES);
  for (const [k, val] of Object.entries(rest)) {
    const values = Object.hasOwn(OPTION_VALUES, k)
      ? (OPTION_VALUES as Record<string, readonly unknown[]>)[k]
      : undefined;
    if (!values) {
      issueAt(['design', k], `design option \`${k}\` does not exist`, {
        key: true,
        ...opt(suggest(k, optionNames)),
      });
      ok = false;
    } else if (!values.includes(val)) {
      issueAt(
        ['design', k],
        `${show(val)} is not a value of \`${k}\`: expected one of ${values.join(', ')}`,
        opt(suggest(String(val), values.map(String))),
      );
      ok = false;
    } else options[k] = val;
  }
  return ok ? { name: n!, options: options as Partial<DesignOptions> } : undefined;
}

/**
 * The alternative of a failed union to report: the only one whose type matched, else the one whose
 * issues reach deepest into the value; none when no alternative is closer than the others.
 */
function closestBranch(branches: z.core.$ZodIssue[][]): z.core.$ZodIssue[] | undefined {
  const typed = branches.filter(
    (b) => b.length > 0 && !b.some((i) => i.code === 'invalid_type' && i.path.length === 0),
  );
  if (typed.length === 1) return typed[0];
  const depth = (b: z.core.$ZodIssue[]) => Math.max(0, ...b.map((i) => i.path.length));
  const deepest = [...branches].sort((a, b) => depth(b) - depth(a))[0];
  return deepest && depth(deepest) > 0 ? deepest : undefined;
}

function yamlMessage(m: string): string {
  // The yaml package appends a code frame and position; keep the first sentence.
  return m.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function fieldOf(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s;
}

const last = (p: Path): string => String(p[p.length - 1] ?? '');

function valueAt(v: unknown, path: Path): unknown {
  let cur = v;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** The YAML node at `path` (the deepest one that exists), and the key node of the last pair. */
function nodeAt(root: Node | null, path: Path): { node: Node | null; key?: Node; depth: number } {
  let cur: Node | null = root;
  let key: Node | undefined;
  let depth = 0;
  for (const seg of path) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      key = pair.key as Node;
      cur = (pair.value as Node | null) ?? key;
    } else if (isSeq(cur) && typeof seg === 'number' && cur.items[seg]) {
      key = undefined;
      cur = cur.items[seg] as Node;
    } else break;
    depth++;
  }
  return key ? { node: cur, key, depth } : { node: cur, depth };
}

/** The keys a (zod) object schema allows at `path`, for suggestions. */
function keysOf(schema: z.ZodType, path: Path): string[] {
  let s: unknown = schema;
  for (const seg of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string } }).def;
    if (def?.type === 'object') s = (s as z.ZodObject).shape[seg as string];
    else if (def?.type === 'array') s = (s as z.ZodArray<z.ZodType>).element;
    else if (def?.type === 'record') s = (s as unknown as { valueType: z.ZodType }).valueType;
    else return [];
  }
  s = unwrap(s);
  return (s as { def?: { type?: string } }).def?.type === 'object'
    ? Object.keys((s as z.ZodObject).shape)
    : [];
}

function unwrap(s: unknown): unknown {
  let cur = s as { def?: { type?: string; innerType?: unknown } };
  while (
    cur?.def &&
    (cur.def.type === 'optional' || cur.def.type === 'default' || cur.def.type === 'nullable')
  ) {
    cur = cur.def.innerType as typeof cur;
  }
  return cur;
}
