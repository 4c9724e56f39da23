// Retry cycles (src/sched/loop.ts): a thread at the top of a retry-loop iteration that began in a
// state its execution was already in is stopped, and the search stays complete.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Execution } from '../../src/sched/execution.js';
import { Cell, explore, loopEnd, loopHead, type Program, type Thread } from '../../src/sched/index.js';
import { RETRY_BOUND, RETRY_BOUND_UNCOMPARED, retryBound } from '../../src/sched/loop.js';
import { SearchBound } from '../../src/sched/violation.js';
import { tugClearer, tugSetter } from './helpers/tug.js';

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
  const a = (s: S): Thread<void> => tugSetter(s.x, s.aDone);
  const b = (s: S): Thread<void> => tugClearer(s.x, o.counting ? () => s.passes.n++ : undefined);
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

/**
 * A value changed in place, as a page-table region is: a read returns the same object whatever
 * its slots hold, and slotsKey() tells what a read of some slots saw.
 */
class Flags {
  readonly bits = [0];
  slotsKey(lo: number, hi: number): string {
    return this.bits.slice(lo, hi).join(',');
  }
}

interface T {
  x: Cell<Flags>;
  q: Cell<number>;
}

/**
 * A raises and lowers slot 0 of x, round after round; B, round after round, reads the slot and
 * then q. At each of A's loop heads the shared state is the same (the slot is down).
 */
function inPlace(): Program<T> {
  const a = function* (s: T): Thread<void> {
    const inv = {};
    try {
      for (;;) {
        loopHead(inv);
        yield* s.x.rmwSlots(0, 1, (f) => {
          f.bits[0] = 1;
          return [f, undefined];
        });
        yield* s.x.rmwSlots(0, 1, (f) => {
          f.bits[0] = 0;
          return [f, undefined];
        });
      }
    } finally {
      loopEnd(inv);
    }
  };
  const b = function* (s: T): Thread<void> {
    const inv = {};
    try {
      for (;;) {
        loopHead(inv);
        yield* s.x.readSlots(0, 1);
        yield* s.q.read();
      }
    } finally {
      loopEnd(inv);
    }
  };
  return {
    setup: () => ({ x: new Cell('x', new Flags(), { slots: true }), q: new Cell('q', 0) }),
    threads: { a, b },
    sharedState: () => null,
  };
}

test('a place in a retry loop compares what a read of a value changed in place saw, not the object', () => {
  const A = 0;
  const B = 1;
  // Runs B's read of the slot (raised or not), then A to the top of its next iteration: is A stopped?
  const stoppedWhenBSaw = (raised: boolean): boolean => {
    const ex = new Execution(inPlace(), { clocks: false, lockdep: null, maxSteps: 1000 });
    ex.begin();
    ex.step(B); // B reads the slot down: its place at A's next loop head
    ex.step(A);
    ex.step(A); // A's second iteration begins: its state is recorded, with B's place
    ex.step(B); // B reads q and begins its second iteration
    if (raised) {
      ex.step(A); // A raises the slot
      ex.step(B); // B sees it raised
      ex.step(A); // and A lowers it: A's third iteration begins in the recorded state
    } else {
      ex.step(B); // B sees it down
      ex.step(A);
      ex.step(A);
    }
    return ex.cycleHit;
  };
  // B saw what it saw then: the whole state is the recorded one, and A is stopped.
  assert.equal(stoppedWhenBSaw(false), true);
  // B saw the slot raised: its next steps may differ from those of the recorded state (it read the
  // same object, changed in place), so A goes on.
  assert.equal(stoppedWhenBSaw(true), false);
});

/**
 * One thread that turns a counter round modulo `period` for ever, at the top of a retry loop that
 * stops itself (SearchBound) after retryBound() iterations, as the kernel model's faults do.
 */
function wheel(period: number, shared: boolean): Program<{ c: Cell<number> }> {
  const p: Program<{ c: Cell<number> }> = {
    setup: () => ({ c: new Cell('c', 0) }),
    threads: {
      *turn(s) {
        const invocation = {};
        try {
          for (let attempt = 0; ; attempt++) {
            loopHead(invocation);
            if (attempt === retryBound()) throw new SearchBound(`still turning after ${attempt}`);
            const v = yield* s.c.read();
            yield* s.c.write((v + 1) % period);
          }
        } finally {
          loopEnd(invocation);
        }
      },
    },
  };
  if (shared) p.sharedState = () => null;
  return p;
}

test('a loop whose state takes more than 40 rounds to repeat ends as a cycle where states are compared, not at the bound', () => {
  // 60 rounds before the counter is back: more than the bound where nothing is compared.
  assert.ok(60 > RETRY_BOUND_UNCOMPARED && 60 < RETRY_BOUND);
  const compared = explore(wheel(60, true));
  assert.equal(compared.complete, true, JSON.stringify(compared.incomplete));
  assert.equal(compared.cycles, 1);
  const uncompared = explore(wheel(60, false));
  assert.equal(uncompared.complete, false);
  assert.match(
    uncompared.incomplete?.find((i) => i.reason === 'searchBound')?.detail ?? '',
    new RegExp(`still turning after ${RETRY_BOUND_UNCOMPARED}`),
  );
});
