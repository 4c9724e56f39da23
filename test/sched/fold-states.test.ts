// State folding (ExploreOptions.foldStates, src/sched/dpor.ts): an execution that reaches a
// retry-loop head in a state whose first visit's subtree is explored ends there, after the races
// of what ran below that visit with the events before are reversed. The search must find what the
// unfolded search finds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Execution } from '../../src/sched/execution.js';
import {
  Cell,
  explore,
  loopEnd,
  loopHead,
  Mutex,
  type Program,
  resultOnly,
  type Thread,
} from '../../src/sched/index.js';
import { tugClearer, tugSetter } from './helpers/tug.js';

interface S {
  x: Cell<number>;
  y: Cell<number>;
  aDone: Cell<boolean>;
}

/**
 * A sets x and retries until it reads its own 1 back; B clears x each time it sees a 1 and stops
 * when it reads 0; C writes y twice, which B and A never read, so B's and A's rounds reach the same
 * loop-head states in several executions (C before, between or after them). `bad` is a violation
 * reachable only after a round: A finished, x cleared, and y already 2.
 */
function tugWithBystander(): Program<S> {
  const a = (s: S): Thread<void> => tugSetter(s.x, s.aDone);
  const b = (s: S): Thread<void> => tugClearer(s.x);
  const c = function* (s: S): Thread<void> {
    yield* s.y.write(1);
    yield* s.y.write(2);
  };
  return {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0), aDone: new Cell('aDone', false) }),
    threads: { a, b, c },
    sharedState: () => ({}),
    invariant: (s) =>
      s.aDone.value && s.x.value === 0 && s.y.value === 2 ? 'x cleared after A finished, y at 2' : undefined,
  };
}

test('folding ends executions at loop-head states already explored and finds the same violation', () => {
  const plain = explore(tugWithBystander(), { strategy: 'dpor', maxSteps: 80 });
  const folded = explore(tugWithBystander(), { strategy: 'dpor', maxSteps: 80, foldStates: true });
  assert.equal(plain.complete, true, JSON.stringify(plain.incomplete));
  assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
  assert.equal(plain.folded, undefined);
  assert.ok((folded.folded ?? 0) > 0, 'some execution reached an explored loop-head state');
  assert.deepEqual(
    folded.violations.map((v) => v.message),
    plain.violations.map((v) => v.message),
  );
  assert.deepEqual(
    plain.violations.map((v) => v.message),
    ['x cleared after A finished, y at 2'],
  );
});

test('folding needs one sequential dpor search without a preemption bound: otherwise it is off', () => {
  const bounded = explore(tugWithBystander(), {
    strategy: 'dpor',
    maxSteps: 80,
    foldStates: true,
    preemptionBound: 2,
  });
  assert.equal(bounded.folded, undefined);
  const exhaustive = explore(tugWithBystander(), { strategy: 'exhaustive', maxSteps: 80, foldStates: true });
  assert.equal(exhaustive.folded, undefined);
});

interface P extends S {
  probes: Cell<number>;
}

/** Reads y once, or twice when it is 1: what it reads depends on the schedule, the result does not. */
function* probe(s: P): Thread<string> {
  yield* s.probes.write(1);
  if ((yield* s.y.read()) === 1) yield* s.y.read();
  return 'probed';
}

/**
 * The bystander tug, with A first making a call (`probe`) that runs one or two events depending on
 * the schedule but always returns the same: with `only`, the call is marked resultOnly.
 */
function probedTug(only: boolean): Program<P> {
  const base = tugWithBystander();
  const a = function* (s: P): Thread<void> {
    yield* only ? resultOnly(probe(s)) : probe(s);
    yield* tugSetter(s.x, s.aDone);
  };
  return {
    ...base,
    setup: () => ({ ...(base.setup() as S), probes: new Cell('probes', 0) }),
    threads: { ...(base.threads as Record<string, (s: P) => Thread<void>>), a },
  };
}

test("a resultOnly call counts in its thread's state by its result: fewer executions, the same violation", () => {
  const plain = explore(probedTug(false), { strategy: 'dpor', maxSteps: 100 });
  const byEvents = explore(probedTug(false), { strategy: 'dpor', maxSteps: 100, foldStates: true });
  const byResult = explore(probedTug(true), { strategy: 'dpor', maxSteps: 100, foldStates: true });
  for (const r of [plain, byEvents, byResult]) assert.equal(r.complete, true, JSON.stringify(r.incomplete));
  const msgs = (r: typeof plain): string[] => r.violations.map((v) => v.message);
  assert.deepEqual(msgs(plain), ['x cleared after A finished, y at 2']);
  assert.deepEqual(msgs(byEvents), msgs(plain));
  assert.deepEqual(msgs(byResult), msgs(plain));
  assert.ok(byResult.executions < byEvents.executions, `${byResult.executions} vs ${byEvents.executions}`);
});

interface L {
  x: Cell<number>;
  aDone: Cell<boolean>;
  lock: Mutex;
  d: Cell<number>;
  seen: Cell<number>;
  y: Cell<number>;
}

/**
 * A writes d in a critical section, then pulls the tug; B pulls the tug, then reads d in its own
 * critical section of the same lock. B reading d before A wrote it needs B's section first: the
 * race step of a folded state must reach it through the lock's order, not the data's. C, a
 * bystander, makes the tug's loop-head states recur.
 */
function lockedAfterTug(): Program<L> {
  return {
    setup: () => ({
      x: new Cell('x', 0),
      aDone: new Cell('aDone', false),
      lock: new Mutex('lock'),
      d: new Cell('d', 0),
      seen: new Cell('seen', -1),
      y: new Cell('y', 0),
    }),
    threads: {
      a: function* (s: L): Thread<void> {
        yield* s.lock.lock();
        yield* s.d.write(1);
        yield* s.lock.unlock();
        yield* tugSetter(s.x, s.aDone);
      },
      b: function* (s: L): Thread<void> {
        yield* tugClearer(s.x);
        yield* s.lock.lock();
        const d = yield* s.d.read();
        yield* s.lock.unlock();
        yield* s.seen.write(d);
      },
      c: function* (s: L): Thread<void> {
        yield* s.y.write(1);
        yield* s.y.write(2);
      },
    },
    sharedState: () => ({}),
    invariant: (s) =>
      s.aDone.value && s.seen.value === 0 ? 'B read d before A wrote it, A done' : undefined,
  };
}

test('folding with locks: a section after the fold point still comes before an earlier one', () => {
  for (const lazyLocks of [false, true]) {
    const plain = explore(lockedAfterTug(), { strategy: 'dpor', maxSteps: 100, lazyLocks });
    const folded = explore(lockedAfterTug(), {
      strategy: 'dpor',
      maxSteps: 100,
      lazyLocks,
      foldStates: true,
    });
    assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
    assert.ok((folded.folded ?? 0) > 0, 'some execution folded');
    assert.deepEqual(
      folded.violations.map((v) => v.message),
      plain.violations.map((v) => v.message),
    );
    assert.deepEqual(
      plain.violations.map((v) => v.message),
      ['B read d before A wrote it, A done'],
    );
  }
});

interface F {
  x: Cell<number>;
  aDone: Cell<boolean>;
  v: Cell<number>;
  w: Cell<number>;
  seen: Cell<number>;
}

/**
 * A pulls the tug and then reads v; B writes w and then clears the tug; C increments v and then
 * sets it to 2. The violation — A read C's increment, C went on to write 2, and B has not begun —
 * lies in a subtree that the search reaches only through the race step of a folded state: A's read
 * of v ran below a loop-head state met before, and its race with C's increment, an event of this
 * execution before that state, must still be reversed. (Found by comparing the states a folded
 * search visits with a plain one's on random programs, with the race step left out.)
 */
function readAfterTug(): Program<F> {
  return {
    setup: () => ({
      x: new Cell('x', 0),
      aDone: new Cell('aDone', false),
      v: new Cell('v', 0),
      w: new Cell('w', 0),
      seen: new Cell('seen', -1),
    }),
    threads: {
      a: function* (s: F): Thread<void> {
        yield* tugSetter(s.x, s.aDone);
        yield* s.seen.write(yield* s.v.read());
      },
      b: function* (s: F): Thread<void> {
        yield* s.w.write(2);
        yield* tugClearer(s.x);
      },
      c: function* (s: F): Thread<void> {
        yield* s.v.rmw((v) => [v + 1, undefined]);
        yield* s.v.write(2);
      },
    },
    sharedState: () => ({}),
    invariant: (s) =>
      s.aDone.value && s.seen.value === 1 && s.v.value === 2 && s.w.value === 0
        ? 'A read the increment, v is 2, B has not begun'
        : undefined,
  };
}

test('the race step of a folded state: a read below the state still races with a write before it', () => {
  const plain = explore(readAfterTug(), { strategy: 'dpor', maxSteps: 120 });
  const folded = explore(readAfterTug(), { strategy: 'dpor', maxSteps: 120, foldStates: true });
  for (const r of [plain, folded]) assert.equal(r.complete, true, JSON.stringify(r.incomplete));
  assert.ok((folded.folded ?? 0) > 0, 'some execution folded');
  assert.deepEqual(
    plain.violations.map((v) => v.message),
    ['A read the increment, v is 2, B has not begun'],
  );
  assert.deepEqual(
    folded.violations.map((v) => v.message),
    plain.violations.map((v) => v.message),
  );
});

interface E {
  go: Cell<number>;
  y: Cell<number>;
}

/**
 * A spins at a retry-loop head until `go` is 1 (its second iteration records the state's key); D
 * reads y once, or twice when it is 1, and ends; W sets y. `d` is D's body: what it runs after
 * its reads (nothing by default).
 */
function spinnerAndReader(d: (s: E) => Thread<void> = function* () {}): Program<E> {
  return {
    setup: () => ({ go: new Cell('go', 0), y: new Cell('y', 0) }),
    threads: {
      a: (s: E) => spinOn(s.go),
      d: function* (s: E): Thread<void> {
        if ((yield* s.y.read()) === 1) yield* s.y.read();
        yield* d(s);
      },
      w: function* (s: E): Thread<void> {
        yield* s.y.write(1);
      },
    },
    sharedState: () => null,
  };
}

/** Runs `schedule` (thread indexes) from the start and returns the key at the last recorded loop head. */
function keyAfter<T>(program: Program<T>, schedule: number[]): string {
  const ex = new Execution(program, { clocks: false, lockdep: null, maxSteps: 1000, fold: true });
  ex.begin();
  for (const t of schedule) ex.step(t);
  assert.ok(ex.foldKeyAt > 0, 'a key was recorded');
  return ex.foldKey;
}

test("a thread that has ended is no part of the state's key, however it got there", () => {
  const [A, D, W] = [0, 1, 2];
  // D read 0 and ended, then W set y; or W set y, and D read 1 twice and ended. Then A spins twice.
  const readZero = keyAfter(spinnerAndReader(), [D, W, A, A]);
  const readOne = keyAfter(spinnerAndReader(), [W, D, D, A, A]);
  assert.equal(readOne, readZero);
  // While D still runs, what it read is its state: after reading 1 once it is not where it began.
  const running = (first: number[]): string =>
    keyAfter(
      spinnerAndReader(function* (s) {
        yield* s.go.read();
      }),
      [...first, A, A],
    );
  assert.notEqual(running([W, D]), running([W]));
});

class Handle {
  constructor(readonly foldCode?: number) {}
}

/**
 * The probed tug, the probe returning an object that is not plain data (a page table in the
 * kernel model): with an identity code (`foldCode`), the call counts by it.
 */
function handleTug(code: number | undefined): Program<P> {
  const base = probedTug(true);
  const a = function* (s: P): Thread<void> {
    yield* resultOnly(
      (function* (): Thread<Handle> {
        yield* probe(s);
        return new Handle(code);
      })(),
    );
    yield* tugSetter(s.x, s.aDone);
  };
  return { ...base, threads: { ...(base.threads as Record<string, (s: P) => Thread<void>>), a } };
}

test('a resultOnly call that returns an object counts by its identity code; without one it is no state', () => {
  const coded = explore(handleTug(7), { strategy: 'dpor', maxSteps: 100, foldStates: true });
  const opaque = explore(handleTug(undefined), { strategy: 'dpor', maxSteps: 100, foldStates: true });
  for (const r of [coded, opaque]) assert.equal(r.complete, true, JSON.stringify(r.incomplete));
  assert.deepEqual(
    coded.violations.map((v) => v.message),
    ['x cleared after A finished, y at 2'],
  );
  assert.deepEqual(
    opaque.violations.map((v) => v.message),
    coded.violations.map((v) => v.message),
  );
  // With a code the call counts as one returning a string does; an object without content or
  // code leaves its thread's state unknown, and no state folds while that thread runs.
  const byString = explore(probedTug(true), { strategy: 'dpor', maxSteps: 100, foldStates: true });
  assert.equal(coded.executions, byString.executions);
  assert.ok(coded.executions < opaque.executions, `${coded.executions} vs ${opaque.executions}`);
});

/** A spins on `go` in a retry loop, then reads z; S spins on `stop` for ever; W sets go. */
function leaverAndSpinner(): Program<{ go: Cell<number>; stop: Cell<number>; z: Cell<number> }> {
  return {
    setup: () => ({ go: new Cell('go', 0), stop: new Cell('stop', 0), z: new Cell('z', 0) }),
    threads: {
      a: function* (s) {
        yield* spinOn(s.go);
        yield* s.z.read();
      },
      s: (s) => spinOn(s.stop),
      w: function* (s) {
        yield* s.go.write(1);
      },
    },
    sharedState: () => null,
  };
}

test('a thread that has left a retry loop keeps the last iteration in its state, not how many it took', () => {
  const [A, S, W] = [0, 1, 2];
  // A reads go = 1 at once and leaves its loop; or it reads 0, W sets go, and it leaves on the
  // second pass. Either way it is about to read z. Then S spins twice (a recorded loop head).
  const atOnce = keyAfter(leaverAndSpinner(), [W, A, S, S]);
  const second = keyAfter(leaverAndSpinner(), [A, W, A, S, S]);
  assert.equal(second, atOnce);
  // The pass that left counts: A back at the top after reading 0 is not A that read 1 and left.
  assert.notEqual(keyAfter(leaverAndSpinner(), [A, S, S]), atOnce);
});

test("the whole state met again at another thread's loop head stops that thread (a cycle)", () => {
  const [P, Q] = [0, 1];
  // P and Q spin on `go`. After P's first pass, P is at the top of its loop and Q has not begun:
  // after Q's first pass both are at the tops of their loops. For what can follow that is one
  // state, and Q's loop head meets it again: Q is stopped there as in a retry cycle.
  const spinners: Program<{ go: Cell<number> }> = {
    setup: () => ({ go: new Cell('go', 0) }),
    threads: {
      p: (s) => spinOn(s.go),
      q: (s) => spinOn(s.go),
      w: function* (s) {
        yield* s.go.write(1);
      },
    },
    sharedState: () => null,
  };
  const ex = new Execution(spinners, { clocks: false, lockdep: null, maxSteps: 1000, fold: true });
  ex.begin();
  ex.step(P);
  assert.equal(ex.cycleHit, false);
  ex.step(Q);
  assert.equal(ex.cycleHit, true);
  // The search still finds every end: both spinners see go set in some execution.
  const r = explore(spinners, { strategy: 'dpor', maxSteps: 100, foldStates: true });
  assert.equal(r.complete, true, JSON.stringify(r.incomplete));
  assert.ok((r.cycles ?? 0) > 0);
});

/** A retry loop that reads `c` until it is 1. */
function* spinOn(c: Cell<number>): Thread<void> {
  const inv = {};
  try {
    for (;;) {
      loopHead(inv);
      if ((yield* c.read()) === 1) return;
    }
  } finally {
    loopEnd(inv);
  }
}
