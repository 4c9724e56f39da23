// Mutex.plainData(): a critical section of a lazily handled lock that touches data not modelled as
// objects says so, and its sections are then explored in both orders; sections that touch only
// objects stay lazy.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dpor } from '../../src/sched/dpor.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { Mutex } from '../../src/sched/mutex.js';
import type { Program, Thread } from '../../src/sched/program.js';

interface S {
  m: Mutex;
  /** Plain shared data the lock guards: who appended, in order. */
  order: string[];
}

function appenders(mark: boolean): Program<S> {
  const append = (name: string) =>
    function* (s: S): Thread<void> {
      yield* s.m.lock();
      if (mark) s.m.plainData();
      s.order.push(name);
      yield* s.m.unlock();
    };
  return {
    setup: () => ({ m: new Mutex('m'), order: [] }),
    threads: { a: append('a'), b: append('b') },
  };
}

function orders(p: Program<S>): Set<string> {
  const seen = new Set<string>();
  const col = dpor(p, { lazyLocks: true }, new Lockdep(), (ex) => seen.add(ex.state.order.join('')));
  assert.equal(col.complete, true);
  return seen;
}

test('sections that touch plain data, marked, run in both orders under lazy locks', () => {
  assert.deepEqual([...orders(appenders(true))].sort(), ['ab', 'ba']);
});

test('unmarked, the lazy search cannot see the plain data and runs one order (why the mark exists)', () => {
  assert.deepEqual([...orders(appenders(false))], ['ab']);
});

test('plainData() by a thread that does not hold the lock is a model error', () => {
  const p: Program<S> = {
    setup: () => ({ m: new Mutex('m'), order: [] }),
    threads: {
      a: function* (s: S): Thread<void> {
        s.m.plainData();
        yield* s.m.lock();
        yield* s.m.unlock();
      },
    },
  };
  const col = dpor(p, { lazyLocks: true }, new Lockdep());
  assert.ok(col.violations.some((v) => /plainData\(\) by a thread that does not hold it/.test(v.message)));
});
