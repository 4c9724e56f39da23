// Property: on random small programs, dpor explores exactly one execution per Mazurkiewicz trace
// (none twice, none missed), and reaches the same final states, deadlocks and violations as
// exhaustive search.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dpor } from '../../src/sched/dpor.js';
import { type ExploreResult, explore, type Program, replay } from '../../src/sched/index.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { build, describe, specArb } from './helpers/random-program.js';
import { census, fingerprint } from './helpers/traces.js';

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);

/**
 * The program explored exhaustively (property cases whose space is too big are skipped) and by
 * dpor, for the two results to be compared.
 */
function exhaustiveThenDpor<S>(program: Program<S>): [ExploreResult, ExploreResult] {
  const e = explore(program, { strategy: 'exhaustive', maxExecutions: 20000, minimizePreemptions: false });
  fc.pre(e.complete);
  return [e, explore(program, { minimizePreemptions: false })];
}

/** Invariants over the random programs' cells, true of some intermediate states only. */
type CellWorld = { cells: { value: number }[] };
const CELL_INVARIANTS = [
  (w: CellWorld) => (w.cells[0]!.value === 2 ? 'x0 reached 2' : undefined),
  (w: CellWorld) =>
    w.cells.length > 1 && w.cells[0]!.value === 1 && w.cells[1]!.value === 0
      ? 'x0 set while x1 is not'
      : undefined,
  (w: CellWorld) => (w.cells.reduce((a, c) => a + c.value, 0) === 3 ? 'sum is 3' : undefined),
];

test('dpor explores each Mazurkiewicz trace exactly once on random programs', () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      const program = build(spec);
      const c = census(program, describe, 5000);
      fc.pre(c !== null);
      if (c === null) return;
      const seen = new Set<string>();
      let duplicates = 0;
      const finals = new Set<string>();
      const col = dpor(program, {}, new Lockdep(), (ex) => {
        const f = fingerprint(ex);
        if (seen.has(f)) duplicates++;
        seen.add(f);
        if (!ex.anyUnfinished()) finals.add(describe(ex.state));
      });
      assert.equal(duplicates, 0, 'a trace was explored twice');
      assert.equal(col.blocked, 0, 'sleep-set blocked executions');
      const missing = [...c.fingerprints].filter((f) => !seen.has(f));
      assert.deepEqual(missing, [], 'traces dpor never explored');
      assert.equal(col.executions, c.traces);
      assert.deepEqual([...finals].sort(), [...c.finals].sort());
      assert.equal(col.deadlocks > 0, c.deadlocks > 0);
    }),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 42) },
  );
});

test('dpor and exhaustive report the same violation kinds on random programs', () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      const program = build(spec);
      const [e, d] = exhaustiveThenDpor(program);
      const kinds = (r: typeof d) => [...new Set(r.violations.map((v) => `${v.kind}:${v.id}`))].sort();
      assert.deepEqual(kinds(d), kinds(e));
      assert.ok(d.complete);
    }),
    { numRuns: Math.ceil(RUNS / 3), seed: 7 },
  );
});

test('invariants over intermediate states: dpor finds what exhaustive finds (visibility)', () => {
  const invariants = CELL_INVARIANTS;
  fc.assert(
    fc.property(specArb, fc.nat(invariants.length - 1), fc.boolean(), (spec, which, declare) => {
      const base = build(spec);
      const program = {
        ...base,
        invariant: invariants[which]!,
        ...(declare ? { observes: (w: { cells: never[] }) => w.cells } : {}),
      } as typeof base;
      const [e, d] = exhaustiveThenDpor(program);
      const kinds = (r: typeof d) => [...new Set(r.violations.map((v) => `${v.kind}:${v.message}`))].sort();
      assert.deepEqual(kinds(d), kinds(e));
      assert.equal(d.blocked, 0);
    }),
    { numRuns: Math.ceil(RUNS / 2), seed: Number(process.env.VDM_PROPERTY_SEED ?? 11) },
  );
});

test('the state cache (exhaustive, stateCache) finds the same violations and final states as exhaustive', () => {
  const invariants = [
    undefined,
    (w: { cells: { value: number }[] }) => (w.cells[0]!.value === 2 ? 'x0 reached 2' : undefined),
    (w: { cells: { value: number }[] }) =>
      w.cells.reduce((a, c) => a + c.value, 0) === 3 ? 'sum is 3' : undefined,
  ];
  fc.assert(
    fc.property(specArb, fc.nat(invariants.length - 1), (spec, which) => {
      const base = build(spec);
      const inv = invariants[which];
      const finalsOf = (stateCache: boolean) => {
        const finals = new Set<string>();
        const program = {
          ...base,
          ...(inv ? { invariant: inv } : {}),
          final: (w: never) => {
            finals.add(describe(w));
            return base.final?.(w);
          },
        } as typeof base;
        const r = explore(program, {
          strategy: 'exhaustive',
          maxExecutions: 20000,
          minimizePreemptions: false,
          stateCache,
        });
        return { r, finals };
      };
      const plain = finalsOf(false);
      fc.pre(plain.r.complete);
      const cached = finalsOf(true);
      const kinds = (r: typeof plain.r) =>
        [...new Set(r.violations.map((v) => `${v.kind}:${v.message}`))].sort();
      assert.ok(cached.r.complete);
      assert.deepEqual(kinds(cached.r), kinds(plain.r));
      assert.deepEqual([...cached.finals].sort(), [...plain.finals].sort());
      assert.equal(cached.r.deadlocks > 0, plain.r.deadlocks > 0);
      assert.ok(cached.r.executions <= plain.r.executions);
    }),
    { numRuns: Math.ceil(RUNS / 2), seed: Number(process.env.VDM_PROPERTY_SEED ?? 5) },
  );
});

test('observedOnly: dpor checking the invariant at every cut finds what exhaustive finds, and its counterexamples replay', () => {
  const invariants = [
    ...CELL_INVARIANTS,
    (w: { cells: { value: number }[] }) =>
      w.cells.length > 1 && w.cells[1]!.value > w.cells[0]!.value + 1 ? 'x1 ran ahead of x0' : undefined,
  ];
  let cutsChecked = 0;
  let violationsSeen = 0;
  fc.assert(
    fc.property(specArb, fc.nat(invariants.length - 1), (spec, which) => {
      const base = build(spec);
      const program = {
        ...base,
        invariant: invariants[which]!,
        observes: (w: { cells: never[] }) => w.cells,
        observedOnly: true,
      } as unknown as typeof base;
      const [e, d] = exhaustiveThenDpor(program);
      const kinds = (r: typeof d) => [...new Set(r.violations.map((v) => `${v.kind}:${v.message}`))].sort();
      assert.deepEqual(kinds(d), kinds(e));
      assert.ok(d.complete);
      assert.ok((d.cutStates ?? -1) >= 0, 'cutStates reported');
      cutsChecked += d.cutStates ?? 0;
      // Fewer or as many executions as ordering every observed write (the visibility rule).
      const ordered = explore({ ...program, observedOnly: false }, { minimizePreemptions: false });
      assert.ok(d.executions <= ordered.executions);
      for (const v of d.violations) {
        if (v.kind !== 'invariant') continue;
        violationsSeen++;
        const r = replay(program, v.schedule);
        assert.ok(
          r.violations.some(
            (x) => x.message === v.message && x.schedule.split(':')[0] === v.schedule.split(':')[0],
          ),
          `schedule ${v.schedule} replays to the violation`,
        );
      }
    }),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 13) },
  );
  assert.ok(cutsChecked > 0 && violationsSeen > 0, 'the property saw cuts and violations');
});
