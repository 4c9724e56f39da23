// Retry cycles (src/sched/loop.ts): a thread at the top of a retry-loop iteration that began in a
// state its execution was already in is stopped, and the search stays complete.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cell, explore, loopEnd, loopHead, type Program, type Thread } from '../../src/sched/index.js';

interface S {
  x: Cell<number>;
  aDone: Cell<boolean>;
  /** Plain shared data, changed by each of B's passes when `counting`. */
  passes: { n: number };
}

/**
 * A sets x and retries until it reads its own 1 back; B clears x each time it sees a 1 and stops
 * when it reads 0. A's retry and B's clear can take turns for ever. The invariant: x is never 0
 * once A has finished (B clears after A's successful read: reachable without any retry).
 */
function tug(o: { shared: boolean; counting?: boolean }): Program<S> {
  const a = function* (s: S): Thread<void> {
    const inv = {};
    try {
      for (;;) {
        loopHead(inv);
        yield* s.x.write(1);
        if ((yield* s.x.read()) === 1) break;
      }
    } finally {
      loopEnd(inv);
    }
    yield* s.aDone.write(true);
  };
  const b = function* (s: S): Thread<void> {
    const inv = {};
    try {
      for (;;) {
        loopHead(inv);
        if ((yield* s.x.read()) !== 1) return;
        if (o.counting) s.passes.n++;
        yield* s.x.write(0);
      }
    } finally {
      loopEnd(inv);
    }
  };
  const p: Program<S> = {
    setup: () => ({ x: new Cell('x', 0), aDone: new Cell('aDone', false), passes: { n: 0 } }),
    threads: { a, b },
    invariant: (s) => (s.aDone.value && s.x.value === 0 ? 'x cleared after A finished' : undefined),
  };
  if (o.shared) p.sharedState = (s) => s.passes;
  return p;
}

test('two retry loops that undo each other: without the cycle check only a bound ends the search', () => {
  const r = explore(tug({ shared: false }), { maxSteps: 60 });
  assert.equal(r.complete, false);
  assert.ok(r.incomplete?.some((c) => c.reason === 'maxSteps'));
  assert.equal(r.cycles, undefined);
  // The violation, and the step bound's own report of a thread that never stops.
  assert.ok(r.violations.some((v) => v.message === 'x cleared after A finished'));
  assert.ok(r.violations.some((v) => v.id === 'STEP_BOUND'));
});

for (const strategy of ['dpor', 'exhaustive'] as const) {
  test(`${strategy}: the cycle check stops the repeat, completes the search and finds the same violation`, () => {
    const r = explore(tug({ shared: true }), { strategy, maxSteps: 60 });
    assert.equal(r.complete, true, JSON.stringify(r.incomplete));
    assert.ok((r.cycles ?? 0) > 0);
    assert.deepEqual(
      r.violations.map((v) => v.message),
      ['x cleared after A finished'],
    );
    // A stopped thread is no deadlock.
    assert.equal(r.deadlocks, 0);
  });
}

test('plain shared data that changes on each pass is part of the state: no cycle, the bound ends it', () => {
  const r = explore(tug({ shared: true, counting: true }), { maxSteps: 60 });
  assert.equal(r.cycles, undefined);
  assert.equal(r.complete, false);
});
