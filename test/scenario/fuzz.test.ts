// Fuzzing the scenario loader: whatever the text, parseScenario returns a Scenario or throws a
// ScenarioError whose issues each point at a place in the file with a readable message, never
// anything else, quickly, and the same way every time. Three sources of input: arbitrary strings,
// YAML documents dumped from arbitrary values, and valid scenarios with random mutations.
// VDM_FUZZ_RUNS scales the number of inputs (default 1: about 4800, each loaded twice).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ScenarioError } from '../../src/scenario/errors.js';
import { parseScenario } from '../../src/scenario/load.js';
import { OP_NAMES } from '../../src/scenario/ops.js';
import { WAITS } from '../../src/scenario/resolve.js';

const SCALE = Number(process.env.VDM_FUZZ_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** No single input may take longer than this (a generous bound: typical inputs take < 1 ms). */
const SLOW_MS = 2000;
const FILE = 'fuzz.yaml';

/** One load, checked against the loader's contract; the outcome as a canonical string. */
function loadOnce(source: string): string {
  const started = performance.now();
  let outcome: string;
  try {
    const sc = parseScenario(source, FILE);
    outcome = JSON.stringify({
      ok: sc,
      waits: [...sc.setup, ...sc.threads.flatMap((t) => t.ops)].map((o) => WAITS.get(o) ?? null),
    });
  } catch (e) {
    if (!(e instanceof ScenarioError)) {
      assert.fail(
        `parseScenario threw ${(e as Error)?.stack ?? String(e)}\non input ${JSON.stringify(source)}`,
      );
    }
    assert.ok(e.issues.length > 0, 'a ScenarioError carries at least one issue');
    for (const i of e.issues) checkIssue(i, source);
    outcome = JSON.stringify({ issues: e.issues });
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < SLOW_MS, `took ${elapsed.toFixed(0)} ms on input ${JSON.stringify(source)}`);
  return outcome;
}

function checkIssue(i: ScenarioError['issues'][number], source: string): void {
  const where = `${JSON.stringify(i)} for input ${JSON.stringify(source)}`;
  assert.equal(i.file, FILE, where);
  assert.ok(Number.isInteger(i.line) && Number.isInteger(i.column), where);
  if (i.line === 0) assert.equal(i.field, '', `line 0 is for whole-file problems: ${where}`);
  else {
    assert.ok(i.line >= 1, where);
    assert.ok(i.column >= 1, where);
    assert.ok(i.line <= source.split(/\r\n|\r|\n/).length + 1, `line past the end: ${where}`);
  }
  assert.equal(typeof i.field, 'string', where);
  for (const text of [i.message, i.suggestion]) {
    if (text === undefined) continue;
    assert.equal(typeof text, 'string', where);
    assert.ok(text.length > 0, `empty text: ${where}`);
    assert.ok(!text.includes('    at '), `a stack frame in a message: ${where}`);
    for (const junk of ['undefined', '[object Object]']) {
      if (!source.includes(junk)) assert.ok(!text.includes(junk), `"${junk}" in a message: ${where}`);
    }
  }
  assert.notEqual(i.suggestion, '', where);
}

/** The contract, and determinism: the same input twice gives the same outcome. */
function property(source: string): string {
  const first = loadOnce(source);
  assert.equal(loadOnce(source), first, `two loads differ on ${JSON.stringify(source)}`);
  return first;
}

const check = (source: string): void => {
  property(source);
};

// ---- (a) arbitrary strings ----------------------------------------------------------------------

/** Pieces of YAML syntax, so that random strings reach past the tokenizer. */
const YAML_UNITS = [
  ':',
  ': ',
  ' ',
  '  ',
  '\n',
  '\n  ',
  '\n    - ',
  '- ',
  '{',
  '}',
  '[',
  ']',
  ',',
  '&a ',
  '*a',
  '&b ',
  '*b',
  '<<: ',
  '? ',
  '!',
  '!!str ',
  '!!js/function ',
  '!foo ',
  '#',
  '|',
  '>',
  "'",
  '"',
  '%YAML 1.2\n',
  '---\n',
  '...\n',
  '\t',
  '\\',
  'name',
  'threads',
  'devices',
  'setup',
  'design',
  'processes',
  'expect',
  'open',
  'mmap',
  'load',
  'as',
  'fd',
  'm',
  'dev',
  'gpu0',
  '0x1000',
  '4K',
  '2M',
  'true',
  'null',
  '~',
  '-1',
  '1e400',
  '__proto__',
  'constructor',
  '\u00e9',
  '\u{1f600}',
  '\ufeff',
  '\u0000',
];

describe('fuzz: arbitrary strings', () => {
  test('random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: 'binary' }), check), {
      numRuns: runs(800),
      includeErrorInReport: true,
    });
  });
  test('random YAML-ish token soup', () => {
    fc.assert(fc.property(fc.string({ maxLength: 60, unit: fc.constantFrom(...YAML_UNITS) }), check), {
      numRuns: runs(1500),
      includeErrorInReport: true,
    });
  });
});

// ---- (b) documents dumped from arbitrary values -----------------------------------------------

const KEYS = [
  'name',
  'description',
  'machine',
  'devices',
  'design',
  'processes',
  'setup',
  'threads',
  'check',
  'expect',
];
const anything = fc.anything({ maxDepth: 3, maxKeys: 4 });
/** A value shaped like a scenario at the top, arbitrary below. */
const scenarioish = fc.dictionary(
  fc.constantFrom(...KEYS, 'thread', 'x'),
  fc.oneof(
    anything,
    fc.dictionary(
      fc.constantFrom('a', 'b', 'main'),
      fc.array(fc.dictionary(fc.constantFrom(...OP_NAMES, 'process', 'mmapp'), anything, { maxKeys: 2 }), {
        maxLength: 3,
      }),
      { maxKeys: 3 },
    ),
  ),
  { maxKeys: 6 },
);

function dump(v: unknown, flow: boolean): string {
  try {
    return stringify(v, { collectionStyle: flow ? 'flow' : 'any' }) ?? '';
  } catch {
    // Values YAML cannot represent (nothing to load then).
    return '';
  }
}

describe('fuzz: YAML dumped from arbitrary values', () => {
  test('fc.anything()', () => {
    fc.assert(
      fc.property(anything, fc.boolean(), (v, flow) => check(dump(v, flow))),
      { numRuns: runs(700), includeErrorInReport: true },
    );
  });
  test('fc.jsonValue()', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (v, flow) => check(dump(v, flow))),
      { numRuns: runs(500), includeErrorInReport: true },
    );
  });
  test('scenario-shaped values', () => {
    fc.assert(
      fc.property(scenarioish, fc.boolean(), (v, flow) => check(dump(v, flow))),
      { numRuns: runs(500), includeErrorInReport: true },
    );
  });
});

// ---- (c) mutated valid scenarios ------------------------------------------------------------------

const BASES: Record<string, unknown>[] = [
  {
    name: 'reset races a fault',
    machine: { arch: 'x86_64', thp: 'always' },
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: '16K', phys: '0x3800000000', structPages: false }] }],
    design: 'upstream',
    processes: { primary: ['vmm', 'admin'] },
    setup: [
      { open: { device: 'gpu0', as: 'dev' } },
      { mmap: { fd: 'dev', region: 0, offset: 0, length: '16K', as: 'm' } },
    ],
    threads: {
      vmm: [{ load: { map: 'm', offset: '0x1000' } }, { store: { map: 'm', expect: 'any' } }],
      admin: [{ reset: { fd: 'dev', expect: 'ok' } }],
    },
    check: { strategy: 'dpor', invariants: 'all' },
    expect: { violations: [] },
  },
  {
    name: 'dma-buf revoke vs importer',
    devices: [
      { name: 'gpu0', bars: [{ index: 0, size: '2M', phys: '0x4000000000' }] },
      { name: 'nic', bars: [{ index: 2, size: 65536, phys: 1073741824 }], reset: false },
    ],
    design: { name: 'v6.19', closeOrder: 'disable-first' },
    setup: [
      { open: { device: 'gpu0', as: 'dev' } },
      { export: { fd: 'dev', region: 0, ranges: [{ offset: 0, length: '1M' }], as: 'buf' } },
      { iommufd: { as: 'ictx' } },
      { ioas: { iommufd: 'ictx', as: 'io' } },
      { open: { device: 'nic', as: 'nicfd' } },
      { attach: { fd: 'nicfd', ioas: 'io' } },
    ],
    threads: {
      importer: [
        { map_file: { ioas: 'io', fd: 'buf', iova: '0x100000', length: '1M' } },
        { dma: { device: 'nic', iova: '0x100000', expect: 'any' } },
        { import: { fd: 'buf', as: 'imp', revocable: true } },
        { importer_dma: { importer: 'imp' } },
      ],
      admin: [{ revoke: { fd: 'dev', dmabuf: 'buf' } }, { close: { fd: 'dev' } }],
    },
    expect: { violations: ['DMA_AFTER_REVOKE'], exactly: false },
  },
  {
    name: 'fork and pass an fd',
    machine: { thp: 'never', arch: 'arm64' },
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: '4K', phys: '0x10000000' }] }],
    processes: { parent: ['p'], child: ['c'] },
    setup: [
      { open: { device: 'gpu0', as: 'dev' } },
      { mmap: { fd: 'dev', region: 0, length: '4K', as: 'm' } },
      { madvise: { map: 'm', advice: 'hugepage' } },
    ],
    threads: {
      p: [
        { fork: { as: 'child' } },
        { dup: { fd: 'dev', as: 'dev2' } },
        { send: { fd: 'dev2', to: 'child', as: 'got' } },
        { gup: { map: 'm', fast: true, longterm: false } },
        { munmap: { map: 'm' } },
      ],
      c: [
        { pread: { fd: 'dev', region: 0, offset: 0, length: 8, map: 'm' } },
        { command: { fd: 'got', memory: false } },
        { power: { fd: 'dev', state: 'D3hot' } },
        { hot_reset: { fds: ['dev', 'got'] } },
      ],
    },
    check: { strategy: 'random', maxExecutions: 10, seed: 1 },
  },
];

/** Values of every kind, the odd ones a loader must not trip on among them. */
const ODD_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  2 ** 60,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  true,
  false,
  '',
  ' ',
  'x'.repeat(120),
  '4K',
  '3K',
  '2X',
  '0x',
  '0x3800000001',
  'D3',
  'alwys',
  'upstreem',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'undefined',
  [],
  {},
  ['dev'],
  { name: 'upstream' },
  { offset: 0, length: '4K' },
];
const NAMES = [...OP_NAMES, 'mmapp', 'constructor', 'toString', '__proto__', 'process', 'as'];

type Json = unknown;
type Path = (string | number)[];
interface Mutation {
  kind: number;
  a: number;
  b: number;
  value: Json;
  text: string;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.nat({ max: 9 }),
  a: fc.nat(),
  b: fc.nat(),
  value: fc.oneof(fc.constantFrom(...ODD_VALUES), fc.jsonValue({ maxDepth: 2 })),
  text: fc.oneof(fc.constantFrom(...NAMES), fc.string({ minLength: 1, maxLength: 8 })),
});

/** Every path to a value inside `v` (the root excluded). */
function paths(v: Json, at: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([...at, i]);
      paths(x, [...at, i], out);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push([...at, k]);
      paths((v as Record<string, Json>)[k], [...at, k], out);
    }
  }
  return out;
}

function parentOf(root: Json, p: Path): Record<string | number, Json> {
  let cur = root as Record<string | number, Json>;
  for (const seg of p.slice(0, -1)) cur = cur[seg] as Record<string | number, Json>;
  return cur;
}

/** Renames a key of an object in place, keeping the order of the keys. */
function renameKey(obj: Record<string, Json>, from: string, to: string): void {
  if (from === to) return;
  const entries = Object.entries(obj).map(([k, v]): [string, Json] => [k === from ? to : k, v]);
  for (const k of Object.keys(obj)) delete obj[k];
  for (const [k, v] of entries) setOwn(obj, k, v);
}

/** obj[k] = v, as an own property even for `__proto__`. */
function setOwn(obj: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** One character inserted, deleted or replaced. */
function charEdit(s: string, a: number, b: number): string {
  const i = s.length === 0 ? 0 : a % (s.length + 1);
  const c = String.fromCharCode(97 + (b % 26));
  switch (b % 3) {
    case 0:
      return s.slice(0, i) + c + s.slice(i);
    case 1:
      return s.length > 1 ? s.slice(0, i) + s.slice(i + 1) : `${s}${c}`;
    default:
      return s.slice(0, i) + c + s.slice(i + 1);
  }
}

/** The string values under keys that name handles (`as`, `fd`, `map`, ...). */
function handleStrings(v: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) handleStrings(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string' && ['as', 'fd', 'map', 'dmabuf', 'ioas', 'iommufd', 'importer'].includes(k))
        out.add(x);
      else handleStrings(x, out);
    }
  }
  return out;
}

function replaceStrings(v: Json, swap: Map<string, string>): Json {
  if (typeof v === 'string') return swap.get(v) ?? v;
  if (Array.isArray(v)) return v.map((x) => replaceStrings(x, swap));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      setOwn(out, k, replaceStrings(x, swap));
    }
    return out;
  }
  return v;
}

/** Applies one mutation; returns the new root (the old one may be changed in place). */
function mutate(root: Json, m: Mutation): Json {
  const all = paths(root);
  if (all.length === 0) return root;
  const p = all[m.a % all.length]!;
  const parent = parentOf(root, p);
  const key = p[p.length - 1]!;
  switch (m.kind) {
    case 0: // delete a key or a list item
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      return root;
    case 1: // rename a key by one character
      if (!Array.isArray(parent)) renameKey(parent, key as string, charEdit(key as string, m.b, m.a));
      return root;
    case 2: // a value of another type
      parent[key] = structuredClone(m.value);
      return root;
    case 3: {
      // duplicate a list item (the same object twice: an anchor and an alias in YAML)
      const lists = all.filter((q) => Array.isArray(parentOf(root, q)[q[q.length - 1]!]));
      if (lists.length === 0) return root;
      const q = lists[m.b % lists.length]!;
      const list = parentOf(root, q)[q[q.length - 1]!] as Json[];
      if (list.length > 0) list.splice(m.a % (list.length + 1), 0, list[m.b % list.length]);
      return root;
    }
    case 4: {
      // shuffle a list
      const lists = all.filter((q) => Array.isArray(parentOf(root, q)[q[q.length - 1]!]));
      if (lists.length === 0) return root;
      const q = lists[m.b % lists.length]!;
      const list = parentOf(root, q)[q[q.length - 1]!] as Json[];
      let seed = m.a;
      for (let i = list.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const j = seed % (i + 1);
        [list[i], list[j]] = [list[j], list[i]];
      }
      return root;
    }
    case 5: {
      // change an operation's name (to another operation, or to anything)
      const ops = all.filter(
        (q) =>
          q.length >= 3 &&
          typeof q[q.length - 1] === 'string' &&
          typeof q[q.length - 2] === 'number' &&
          (q[0] === 'setup' || q[0] === 'threads'),
      );
      if (ops.length === 0) return root;
      const q = ops[m.b % ops.length]!;
      renameKey(parentOf(root, q) as Record<string, Json>, q[q.length - 1] as string, m.text);
      return root;
    }
    case 6: {
      // swap two handle names everywhere
      const hs = [...handleStrings(root)];
      if (hs.length < 2) return root;
      const x = hs[m.a % hs.length]!;
      const y = hs[m.b % hs.length]!;
      return replaceStrings(
        root,
        new Map([
          [x, y],
          [y, x],
        ]),
      );
    }
    case 7: // a string value edited by one character (a typo in a value)
      if (typeof parent[key] === 'string') parent[key] = charEdit(parent[key] as string, m.a, m.b);
      else parent[key] = m.text;
      return root;
    case 8: {
      // move an operation to another list (another thread, or setup)
      const lists = all.filter(
        (q) => (q[0] === 'setup' && q.length === 1) || (q[0] === 'threads' && q.length === 2),
      );
      const items = all.filter(
        (q) => typeof q[q.length - 1] === 'number' && (q[0] === 'setup' || q[0] === 'threads'),
      );
      if (lists.length === 0 || items.length === 0) return root;
      const from = items[m.a % items.length]!;
      const fromList = parentOf(root, from) as unknown as Json[];
      if (!Array.isArray(fromList)) return root;
      const [item] = fromList.splice(from[from.length - 1] as number, 1);
      const to = lists[m.b % lists.length]!;
      const toList = parentOf(root, to)[to[to.length - 1]!];
      if (Array.isArray(toList)) toList.splice(m.a % (toList.length + 1), 0, item);
      return root;
    }
    default: {
      // a new key beside existing ones
      if (!Array.isArray(parent) && parent[key] !== null && typeof parent[key] === 'object') {
        const inner = parent[key] as Record<string, Json>;
        if (!Array.isArray(inner)) setOwn(inner, m.text, structuredClone(m.value));
      }
      return root;
    }
  }
}

describe('fuzz: mutated valid scenarios', () => {
  test('the starting scenarios are valid', () => {
    for (const b of BASES) parseScenario(stringify(b), FILE);
  });

  test('one to four random mutations', () => {
    let loaded = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: BASES.length - 1 }),
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (base, muts, flow) => {
          let doc: Json = structuredClone(BASES[base]);
          for (const m of muts) doc = mutate(doc, m);
          const source = dump(doc, flow);
          if (property(source).startsWith('{"ok"')) loaded++;
          else refused++;
        },
      ),
      { numRuns: runs(800), includeErrorInReport: true },
    );
    // The mutations must reach both sides: scenarios that still load, and ones the loader refuses.
    assert.ok(loaded > 0 && refused > 0, `loaded ${loaded}, refused ${refused}`);
  });
});

// ---- what fuzzing found -----------------------------------------------------------------------

describe('regressions found by fuzzing the loader', () => {
  const scenario = (threads: string, extra = '') =>
    `name: t\n${extra}devices:\n  - name: gpu0\n    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]\nthreads:\n${threads}`;
  const issuesOf = (source: string) => {
    try {
      parseScenario(source, FILE);
    } catch (e) {
      assert.ok(e instanceof ScenarioError, `threw ${(e as Error).stack}`);
      return e.issues;
    }
    return assert.fail('loaded');
  };

  test('an operation named like an Object.prototype property is an unknown operation (was a TypeError)', () => {
    for (const op of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const [i, ...more] = issuesOf(scenario(`  a:\n    - ${op}: { fd: d }\n`));
      assert.equal(more.length, 0);
      assert.equal(i!.message, `unknown operation \`${op}\``);
      assert.deepEqual([i!.line, i!.column, i!.field], [7, 7, `threads.a[0].${op}`]);
    }
  });

  test('a design option named like an Object.prototype property does not exist (was a TypeError)', () => {
    const issues = issuesOf(
      scenario(`  a:\n    - open: { device: gpu0, as: d }\n`, 'design: { name: upstream, toString: 1 }\n'),
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.field, i.message]),
      [[2, 27, 'design.toString', 'design option `toString` does not exist']],
    );
  });

  test('a thread or process named __proto__ is refused (zod dropped it silently)', () => {
    const t = issuesOf(
      scenario(
        `  a:\n    - open: { device: gpu0, as: d }\n  __proto__:\n    - open: { device: gpu0, as: e }\n`,
      ),
    );
    assert.deepEqual(
      t.map((i) => [i.line, i.column, i.field, i.message]),
      [[8, 3, 'threads.__proto__', 'a name cannot be `__proto__`']],
    );
    const p = issuesOf(
      scenario(`  a:\n    - open: { device: gpu0, as: d }\n`, 'processes: { __proto__: [a] }\n'),
    );
    assert.deepEqual(
      p.map((i) => [i.line, i.field]),
      [[2, 'processes.__proto__']],
    );
  });

  test('an empty `processes` mapping is an error (was "no process named `undefined`")', () => {
    const issues = issuesOf(
      scenario(
        `  a:\n    - open: { device: gpu0, as: d }\n`,
        'processes: {}\nsetup:\n  - iommufd: { as: i }\n',
      ),
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.field, i.message]),
      [[2, 12, 'processes', 'name at least one process, or leave `processes` out for one process, `main`']],
    );
  });

  test('a mapping or list used as a key is refused (was stringified, with a process warning)', () => {
    const issues = issuesOf(scenario(`  ? [a, b]\n  : - open: { device: gpu0, as: d }\n`));
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.message]),
      [[6, 5, 'a key must be a plain name']],
    );
  });
});
