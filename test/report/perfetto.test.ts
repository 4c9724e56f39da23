// The Chrome trace-event / Perfetto export: well-formed slices per track, metadata, instants, and
// flow arrows for lock and completion hand-offs.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ChromeTraceEvent,
  handoffs,
  type PerfettoTrace,
  perfettoJson,
  toPerfetto,
  writePerfetto,
} from '../../src/report/perfetto.js';
import type { RunRecord } from '../../src/report/record.js';
import { HANDOFFS, MARKS, STEPS, traceFixture } from './trace-fixture.js';

const timed = (t: PerfettoTrace) => t.traceEvents.filter((e) => e.ph !== 'M');
const tidOf = (t: PerfettoTrace, thread: string): number =>
  t.traceEvents.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === thread)!.tid!;

/**
 * Per tid, in file order: timestamps strictly increase; B/E pair up with matching names, properly
 * nested, all closed at the end; an X slice ends before the next event of its track (so it nests
 * inside whatever B/E slice is open). Returns the problems found.
 */
function checkSlices(events: readonly ChromeTraceEvent[]): string[] {
  const problems: string[] = [];
  const byTid = new Map<number, ChromeTraceEvent[]>();
  for (const e of events) {
    if (e.ph === 'M' || (e.ph === 'i' && e.s === 'g')) continue;
    if (e.tid === undefined) problems.push(`no tid: ${JSON.stringify(e)}`);
    if (!byTid.has(e.tid!)) byTid.set(e.tid!, []);
    byTid.get(e.tid!)!.push(e);
  }
  for (const [tid, evs] of byTid) {
    const open: ChromeTraceEvent[] = [];
    let xEnd = -Infinity;
    let last = -Infinity;
    for (const e of evs) {
      if (typeof e.ts !== 'number') problems.push(`tid ${tid}: no ts on ${e.name}`);
      if (e.ts! <= last) problems.push(`tid ${tid}: ts ${e.ts} after ${last} (${e.ph} ${e.name})`);
      last = e.ts!;
      if (e.ph !== 's' && e.ph !== 'f' && e.ts! < xEnd)
        problems.push(`tid ${tid}: ${e.ph} ${e.name} at ${e.ts} inside an X slice ending ${xEnd}`);
      if (e.ph === 'B') open.push(e);
      else if (e.ph === 'E') {
        const b = open.pop();
        if (!b) problems.push(`tid ${tid}: E ${e.name} at ${e.ts} with nothing open`);
        else if (b.name !== e.name) problems.push(`tid ${tid}: E ${e.name} at ${e.ts} closes B ${b.name}`);
      } else if (e.ph === 'X') {
        if (!(typeof e.dur === 'number' && e.dur > 0)) problems.push(`tid ${tid}: X ${e.name} without dur`);
        xEnd = e.ts! + e.dur!;
      }
    }
    for (const b of open) problems.push(`tid ${tid}: B ${b.name} at ${b.ts} never closed`);
  }
  return problems;
}

test('the trace round-trips through JSON, and so does the file text', () => {
  const t = toPerfetto(traceFixture());
  assert.deepEqual(JSON.parse(JSON.stringify(t)), t);
  assert.deepEqual(JSON.parse(perfettoJson(t)), t);
  assert.equal(t.displayTimeUnit, 'ns');
  assert.equal(t.metadata.scenario, 'reset-vs-fault');
  assert.equal(t.metadata.design, 'zap-misses-pte');
  assert.equal(t.metadata.schedule, traceFixture().schedule);
  assert.deepEqual(toPerfetto(traceFixture()), t, 'deterministic');
});

test('the checker catches broken nesting', () => {
  const ev = (ph: ChromeTraceEvent['ph'], name: string, ts: number, dur?: number): ChromeTraceEvent => ({
    name,
    ph,
    pid: 1,
    tid: 1,
    ts,
    ...(dur ? { dur } : {}),
  });
  assert.deepEqual(checkSlices([ev('B', 'a', 1), ev('B', 'b', 2), ev('E', 'b', 3), ev('E', 'a', 4)]), []);
  assert.equal(checkSlices([ev('B', 'a', 1), ev('B', 'b', 2), ev('E', 'a', 3), ev('E', 'b', 4)]).length, 2);
  assert.equal(checkSlices([ev('B', 'a', 1)]).length, 1);
  assert.equal(checkSlices([ev('E', 'a', 1)]).length, 1);
  assert.equal(checkSlices([ev('B', 'a', 2), ev('E', 'a', 2)]).length, 1, 'ties');
  assert.equal(
    checkSlices([ev('B', 'a', 1), ev('X', 'x', 2, 1), ev('E', 'a', 2.5)]).length,
    1,
    'X straddles E',
  );
});

test('B/E slices are balanced and nested per track, timestamps increase per track', () => {
  const t = toPerfetto(traceFixture());
  assert.deepEqual(checkSlices(t.traceEvents), []);
  // Slices exist on every scenario track.
  for (const th of ['vmm', 'admin', 'guest']) {
    const tid = tidOf(t, th);
    assert.ok(
      t.traceEvents.filter((e) => e.tid === tid && e.ph === 'B' && e.cat === 'function').length >= 3,
      th,
    );
  }
});

test('one process named by the scenario, one named track per thread, in first-appearance order', () => {
  const t = toPerfetto(traceFixture());
  const meta = t.traceEvents.filter((e) => e.ph === 'M');
  const proc = meta.filter((e) => e.name === 'process_name');
  assert.deepEqual(
    proc.map((e) => [e.pid, e.args?.name]),
    [[1, 'reset-vs-fault']],
  );
  assert.ok(t.traceEvents.every((e) => e.pid === 1));
  const names = meta.filter((e) => e.name === 'thread_name').map((e) => [e.args?.name, e.tid]);
  // Scenario threads keep their ftrace pids; setup (pid 0 in the text) gets the next free tid.
  assert.deepEqual(names, [
    ['setup', 4],
    ['vmm', 1],
    ['admin', 2],
    ['guest', 3],
  ]);
  const sort = meta.filter((e) => e.name === 'thread_sort_index').map((e) => [e.tid, e.args?.sort_index]);
  assert.deepEqual(sort, [
    [4, 0],
    [1, 1],
    [2, 2],
    [3, 3],
  ]);
  // Every timed event is on a named track.
  const tids = new Set(names.map((n) => n[1]));
  for (const e of timed(t)) assert.ok(tids.has(e.tid!), JSON.stringify(e));
});

test('every step is one X slice at (index + 1) µs, named by op and object, inside its function slices', () => {
  const t = toPerfetto(traceFixture());
  const xs = t.traceEvents.filter((e) => e.ph === 'X');
  assert.equal(xs.length, STEPS.length);
  xs.forEach((x, i) => {
    const s = STEPS[i]!;
    assert.equal(x.ts, i + 1);
    assert.ok(x.dur! > 0 && x.dur! < 1);
    assert.equal(x.tid, tidOf(t, s.thread));
    assert.equal(x.args?.event, String(i));
    assert.equal(x.args?.object, s.object);
    assert.equal(x.args?.site, s.site);
    assert.ok(String(x.name).endsWith(` ${s.object}`), x.name);
  });
  assert.equal(xs[1]!.name, 'mutex_lock dmabuf.gpu0.dmabuf1.resv');
  assert.equal(xs[8]!.args?.result, '0x3800001');
  // The slices open on a track at each X are the step's stack.
  const open = new Map<number, string[]>();
  for (const e of t.traceEvents) {
    if (e.ph === 'B') open.set(e.tid!, [...(open.get(e.tid!) ?? []), e.name]);
    if (e.ph === 'E') open.set(e.tid!, open.get(e.tid!)!.slice(0, -1));
    if (e.ph === 'X') {
      const s = STEPS[Number(e.args?.event)]!;
      assert.deepEqual(
        open.get(e.tid!),
        s.stack.map((f) => f.replace(/^op:/, '')),
        `stack at event ${e.args?.event}`,
      );
    }
  }
});

test('operation slices carry the op-begin arguments and the op-end outcome; functions carry sites', () => {
  const t = toPerfetto(traceFixture());
  const vmm = tidOf(t, 'vmm');
  const ops = t.traceEvents.filter((e) => e.tid === vmm && e.cat === 'op');
  assert.deepEqual(
    ops.map((e) => [e.ph, e.name, e.ph === 'B' ? e.args?.offset : e.args?.outcome]),
    [
      ['B', 'load', '0x1000'],
      ['E', 'load', 'ok'],
      ['B', 'load', '0x2000'],
      ['E', 'load', 'sigbus'],
      ['B', 'munmap', undefined],
      ['E', 'munmap', 'ok'],
    ],
  );
  assert.equal(ops[3]!.args?.expected, 'sigbus');
  const fault = t.traceEvents.find((e) => e.ph === 'B' && e.name === 'vfio_pci_mmap_huge_fault')!;
  assert.equal(fault.args?.site, 'src/kernel/mm/fault.ts:210:7');
});

test('instants for every mark kind, with their data; violations are global', () => {
  const t = toPerfetto(traceFixture());
  const inst = t.traceEvents.filter((e) => e.ph === 'i');
  const kinds = new Set(inst.map((e) => e.args?.mark));
  for (const k of ['leaf-set', 'leaf-clear', 'revoke', 'violation']) assert.ok(kinds.has(k), k);
  const expected = MARKS.filter((m) => m.kind !== 'op-begin' && m.kind !== 'op-end');
  assert.equal(inst.length, expected.length);
  const pte = inst.find((e) => e.name === 'pte_set')!;
  assert.equal(pte.s, 't');
  assert.equal(pte.tid, tidOf(t, 'vmm'));
  assert.deepEqual(
    [pte.args?.va, pte.args?.pfn, pte.args?.level, pte.args?.process],
    ['0x7f0000001000', '0x3800001', 'pte', 'vmm'],
  );
  assert.ok(pte.ts! > 9 && pte.ts! < 10, 'between event 8 and event 9');
  const pmd = inst.find((e) => e.name === 'pmd_clear')!;
  assert.equal(pmd.tid, tidOf(t, 'admin'));
  assert.equal(pmd.args?.va, '0x7f0000200000');
  const setup = inst.find((e) => e.name === 'pmd_set')!;
  assert.equal(setup.tid, tidOf(t, 'setup'));
  assert.ok(setup.ts! < 1);
  const rev = inst.find((e) => e.name === 'dma_buf_revoke')!;
  assert.deepEqual([rev.args?.dmabuf, rev.args?.state, rev.s], ['gpu0.dmabuf1', 'revoked', 't']);
  const v = inst.find((e) => e.args?.mark === 'violation')!;
  assert.equal(v.s, 'g');
  assert.equal(v.name, 'violation MAPPING_AFTER_REVOKE');
  assert.equal(v.args?.kind, 'MAPPING_AFTER_REVOKE');
  assert.ok(v.ts! > 28 && v.ts! < 29);
});

const hasControl = (s: string): boolean =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

test('names and arguments are plain one-line strings', () => {
  const check = (t: PerfettoTrace) => {
    for (const e of t.traceEvents) {
      assert.equal(typeof e.name, 'string');
      assert.ok(!hasControl(e.name), e.name);
      if (e.ph === 'M') continue;
      for (const [k, v] of Object.entries(e.args ?? {})) {
        assert.equal(typeof v, 'string', `${e.name}.${k}`);
        assert.ok(!hasControl(String(v)), `${e.name}.${k}`);
      }
    }
  };
  const t = toPerfetto(traceFixture());
  check(t);
  assert.ok(t.traceEvents.every((e) => !/[<>]/.test(e.name)));
  // Text from the model with line breaks stays on one line.
  const r = traceFixture();
  r.steps[0]!.object = 'two\nlines';
  r.marks[0]!.text = 'a\tb\nc';
  check(toPerfetto(r));
  assert.ok(toPerfetto(r).traceEvents.some((e) => e.name === 'down_read two lines'));
});

test('every flow start has one end with the same id, on another track, later, inside the events it joins', () => {
  const t = toPerfetto(traceFixture());
  const starts = t.traceEvents.filter((e) => e.ph === 's');
  const ends = t.traceEvents.filter((e) => e.ph === 'f');
  assert.equal(new Set(starts.map((e) => e.id)).size, starts.length, 'flow ids are unique');
  assert.equal(ends.length, starts.length);
  const xs = t.traceEvents.filter((e) => e.ph === 'X');
  const enclosing = (e: ChromeTraceEvent) =>
    xs.find((x) => x.tid === e.tid && x.ts! <= e.ts! && e.ts! < x.ts! + x.dur!);
  const pairs: [number, number][] = [];
  for (const s of starts) {
    assert.equal(s.cat, 'lock');
    const f = ends.filter((e) => e.id === s.id);
    assert.equal(f.length, 1, `flow ${s.id}`);
    assert.equal(f[0]!.cat, 'lock');
    assert.equal(f[0]!.bp, 'e');
    assert.equal(f[0]!.name, s.name);
    assert.notEqual(f[0]!.tid, s.tid);
    assert.ok(f[0]!.ts! > s.ts!);
    const from = enclosing(s);
    const to = enclosing(f[0]!);
    assert.ok(from && to, `flow ${s.id} is bound to event slices`);
    pairs.push([Number(from.args?.event), Number(to.args?.event)]);
  }
  assert.deepEqual(
    pairs.sort((a, b) => a[0] - b[0]),
    HANDOFFS,
  );
  // Release -> acquisition, same object.
  for (const [a, b] of pairs) {
    assert.equal(STEPS[a]!.object, STEPS[b]!.object);
    assert.notEqual(STEPS[a]!.thread, STEPS[b]!.thread);
  }
});

test('hand-offs: queued down_write and failed trylock do not acquire; the same thread is no hand-off', () => {
  const st = (index: number, thread: string, op: string, result?: string) => ({
    index,
    thread,
    op,
    object: 'L',
    ...(result !== undefined ? { result } : {}),
    stack: [],
  });
  assert.deepEqual(
    handoffs([st(0, 'a', 'lock'), st(1, 'a', 'unlock'), st(2, 'b', 'trylock', 'false'), st(3, 'b', 'lock')]),
    [{ from: 1, to: 3 }],
  );
  assert.deepEqual(
    handoffs([
      st(0, 'a', 'down_read'),
      st(1, 'b', 'down_write', 'queued'),
      st(2, 'a', 'up_read'),
      st(3, 'b', 'down_write(wait)'),
    ]),
    [{ from: 2, to: 3 }],
  );
  assert.deepEqual(
    handoffs([st(0, 'a', 'lock'), st(1, 'a', 'unlock'), st(2, 'a', 'lock'), st(3, 'b', 'lock')]),
    [],
  );
  // Two readers leave, then a writer enters: both releases hand off to it.
  assert.deepEqual(
    handoffs([
      st(0, 'a', 'down_read'),
      st(1, 'b', 'down_read'),
      st(2, 'a', 'up_read'),
      st(3, 'b', 'up_read'),
      st(4, 'c', 'down_write'),
    ]),
    [
      { from: 2, to: 4 },
      { from: 3, to: 4 },
    ],
  );
});

test('two flows into one event end at distinct times inside it', () => {
  const base = traceFixture();
  const r: RunRecord = {
    ...base,
    marks: [],
    violations: [],
    steps: [
      { index: 0, thread: 'a', op: 'down_read', object: 'L', stack: ['op:x', 'f'] },
      { index: 1, thread: 'b', op: 'down_read', object: 'L', stack: ['op:y', 'g'] },
      { index: 2, thread: 'a', op: 'up_read', object: 'L', stack: ['op:x', 'f'] },
      { index: 3, thread: 'b', op: 'up_read', object: 'L', stack: ['op:y', 'g'] },
      { index: 4, thread: 'c', op: 'down_write', object: 'L', stack: ['op:z', 'h'] },
    ],
  };
  const t = toPerfetto(r);
  assert.deepEqual(checkSlices(t.traceEvents), []);
  const ends = t.traceEvents.filter((e) => e.ph === 'f');
  assert.equal(ends.length, 2);
  assert.notEqual(ends[0]!.ts, ends[1]!.ts);
  assert.ok(ends.every((e) => e.ts! > 5 && e.ts! < 5.4));
});

test('writePerfetto writes atomically: no temporary file is left, and the file parses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdm-perfetto-'));
  try {
    const file = join(dir, 'trace.json');
    writeFileSync(file, 'old contents');
    writePerfetto(traceFixture(), file);
    assert.deepEqual(readdirSync(dir), ['trace.json']);
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(parsed, toPerfetto(traceFixture()));
    assert.deepEqual(checkSlices(parsed.traceEvents), []);
    // A directory that does not exist: the error is thrown and nothing is left behind.
    assert.throws(() => writePerfetto(traceFixture(), join(dir, 'missing', 'trace.json')));
    assert.deepEqual(readdirSync(dir), ['trace.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
