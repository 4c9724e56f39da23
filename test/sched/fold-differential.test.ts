// Property: state folding (ExploreOptions.foldStates) visits every state the plain dpor search
// visits (and nothing no schedule reaches). Random programs around the tug of war (two retry loops that undo each other, whose
// loop-head states recur): each thread runs a few reads, writes and increments of three cells,
// some inside a mutex's critical section or an rw_semaphore's (read or write), before and after
// its part of the tug; a third thread
// runs only such steps. The invariant records after every step the whole state: the cells and each
// thread's local state (how far it is and what it read, kept as plain data the fold key does not
// hash but the thread's own history determines). A folded execution ends at a state met before, so
// what it would have visited below must have been visited there, and the race step of the fold
// must reach every state the plain search reaches through the events before. With that step left
// out, or the threads' local states left out of the fold key, this fails. Comparing plain thread
// data is stricter than the visibility rule promises (fold-race-step.test.ts says why): a failure
// here is to be checked against the cells' states before it is taken for a lost trace.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  Cell,
  type ExploreOptions,
  type ExploreResult,
  explore,
  Mutex,
  type Program,
  RwSem,
  type Thread,
} from '../../src/sched/index.js';
import { sameWithoutBlockedReplays } from './helpers/blocked-branches.js';
import { type CellStep, cellStepArb } from './helpers/cell-steps.js';
import { tugClearer, tugSetter } from './helpers/tug.js';

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);

type Step = CellStep;

interface Spec {
  aBefore: Step[];
  aAfter: Step[];
  bBefore: Step[];
  bAfter: Step[];
  c: Step[];
}

const stepArb = cellStepArb;

const specArb: fc.Arbitrary<Spec> = fc.record({
  aBefore: fc.array(stepArb, { maxLength: 1 }),
  aAfter: fc.array(stepArb, { maxLength: 2 }),
  bBefore: fc.array(stepArb, { maxLength: 1 }),
  bAfter: fc.array(stepArb, { maxLength: 2 }),
  c: fc.array(stepArb, { minLength: 1, maxLength: 2 }),
});

interface W {
  x: Cell<number>;
  done: Cell<boolean>;
  cells: Cell<number>[];
  seen: Cell<string>[];
  lock: Mutex;
  sem: RwSem;
  /** Per thread, plain data the invariant reads: its local state (what it read, how far it is). */
  local: { at: string; seen: number[] }[];
}

function* steps(s: W, t: number, part: string, list: readonly Step[]): Thread<void> {
  const me = s.local[t]!;
  for (let i = 0; i < list.length; i++) {
    const st = list[i]!;
    me.at = `${part}${i}`;
    if (st.lock === 'mutex') yield* s.lock.lock();
    else if (st.lock === 'read') yield* s.sem.downRead();
    else if (st.lock === 'write') yield* s.sem.downWrite();
    const c = s.cells[st.cell]!;
    if (st.kind === 'read') me.seen.push(yield* c.read());
    else if (st.kind === 'write') yield* c.write(st.value);
    else yield* c.rmw((v) => [v + 1, undefined]);
    if (st.lock === 'mutex') yield* s.lock.unlock();
    else if (st.lock === 'read') yield* s.sem.upRead();
    else if (st.lock === 'write') yield* s.sem.upWrite();
  }
  me.at = `${part}.`;
}

function build(spec: Spec, visited: Set<string>): Program<W> {
  return {
    setup: () => ({
      x: new Cell('x', 0),
      done: new Cell('done', false),
      cells: [0, 1, 2].map((i) => new Cell(`v${i}`, 0)),
      seen: ['a', 'b', 'c'].map((n) => new Cell(`seen_${n}`, '')),
      lock: new Mutex('m'),
      sem: new RwSem('r'),
      local: [0, 1, 2].map(() => ({ at: '', seen: [] })),
    }),
    threads: {
      a: function* (s: W): Thread<void> {
        yield* steps(s, 0, 'before', spec.aBefore);
        s.local[0]!.at = 'tug';
        yield* tugSetter(s.x, s.done);
        yield* steps(s, 0, 'after', spec.aAfter);
        yield* s.seen[0]!.write(s.local[0]!.seen.join(','));
      },
      b: function* (s: W): Thread<void> {
        yield* steps(s, 1, 'before', spec.bBefore);
        s.local[1]!.at = 'tug';
        yield* tugClearer(s.x);
        yield* steps(s, 1, 'after', spec.bAfter);
        yield* s.seen[1]!.write(s.local[1]!.seen.join(','));
      },
      c: function* (s: W): Thread<void> {
        yield* steps(s, 2, 'c', spec.c);
        yield* s.seen[2]!.write(s.local[2]!.seen.join(','));
      },
    },
    sharedState: () => ({}),
    invariant: (s) => {
      visited.add(
        [
          s.x.value,
          s.done.value,
          ...s.cells.map((c) => c.value),
          ...s.seen.map((c) => c.value),
          ...s.local.map((l) => `${l.at}:${l.seen.join(',')}`),
        ].join('/'),
      );
      return undefined;
    },
  };
}

/**
 * The property on random programs: the folded search (with `more` options) visits exactly the
 * states the plain one visits. Returns how many programs `counted` held for.
 */
function foldedVisitsPlainStates(
  more: ExploreOptions,
  counted: (folded: ExploreResult) => boolean,
  runs = Math.ceil(RUNS / 20),
): number {
  let n = 0;
  fc.assert(
    fc.property(specArb, (spec) => {
      const plainStates = new Set<string>();
      const foldedStates = new Set<string>();
      const opts = { strategy: 'dpor' as const, maxSteps: 120, maxExecutions: 4000 };
      const plain = explore(build(spec, plainStates), opts);
      fc.pre(plain.complete);
      const folded = explore(build(spec, foldedStates), { ...opts, foldStates: true, ...more });
      assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
      if (counted(folded)) n++;
      const missed = [...plainStates].filter((x) => !foldedStates.has(x));
      assert.deepEqual(missed, [], 'states the folded search never visited');
      // The other way round only the order of independent steps can differ: a thread's plain
      // local data (where it is, what it read) changes at reads, which the visibility rule leaves
      // unordered against other threads' writes, so a search may pass through an intermediate
      // state the plain one steps over. Every executed schedule is a real one, so such a state
      // must be one the exhaustive search reaches.
      const extra = [...foldedStates].filter((x) => !plainStates.has(x));
      if (extra.length > 0) {
        // The exhaustive search stops once it has met them all (its invariant reports that).
        const all = new Set<string>();
        const seeker = build(spec, all);
        const record = seeker.invariant!;
        seeker.invariant = (s, e) => {
          record(s, e);
          return extra.every((x) => all.has(x)) ? 'every extra state reached' : undefined;
        };
        const full = explore(seeker, {
          strategy: 'exhaustive',
          maxSteps: 120,
          maxExecutions: 400_000,
          stopAtFirst: true,
        });
        const unreached = extra.filter((x) => !all.has(x));
        if (unreached.length > 0) assert.equal(full.complete, true, 'the exhaustive search did not finish');
        assert.deepEqual(unreached, [], 'states the folded search visited that no schedule reaches');
      }
    }),
    { numRuns: runs, seed: Number(process.env.VDM_PROPERTY_SEED ?? 42) },
  );
  return n;
}

test('state folding visits the states the plain dpor search visits, on random programs', () => {
  const folding = foldedVisitsPlainStates({}, (r) => (r.folded ?? 0) > 0);
  assert.ok(folding > 0, 'no program folded: the property tested nothing');
});

test('a folding table kept within a small memory forgets states and still visits every state', () => {
  // About 2 KB: a few finished states at most, so most are forgotten soon after they finish.
  const forgetting = foldedVisitsPlainStates(
    { foldMemoryMiB: 0.002 },
    (r) => (r.foldForgotten ?? 0) > 0,
    Math.ceil(RUNS / 40),
  );
  assert.ok(forgetting > 0, 'no program forgot a state: the property tested nothing');
});

test('a branch whose first thread cannot run ends at the backtrack: the same executions, in the same order, as replaying it', () => {
  // dpor keeps at each node the threads that could run there (Node.enabled). A branch whose first
  // thread could not is counted blocked without replaying its prefix; replayed, it would end there
  // at once. The folded search's race step makes such branches (it reverses with a thread's pending
  // operation, which may wait on a lock). Either way the search must run the same executions.
  // (A kernel search checks the same at scale: test/scenario/blocked-branches.test.ts.)
  let saved = 0;
  for (const lazyLocks of [false, true]) {
    fc.assert(
      fc.property(specArb, (spec) => {
        const opts: ExploreOptions = {
          strategy: 'dpor',
          maxSteps: 120,
          maxExecutions: 4000,
          foldStates: true,
          lazyLocks,
        };
        const r = sameWithoutBlockedReplays(() => build(spec, new Set()), opts);
        if (r.dropped < r.replayed) saved++;
      }),
      { numRuns: Math.ceil(RUNS / 40), seed: Number(process.env.VDM_PROPERTY_SEED ?? 42) },
    );
  }
  assert.ok(saved > 0, 'no program had a blocked branch: the property tested nothing');
});
