// Mutex.lockReadOnly(): critical sections that only read data written under the lock (and make one
// other access) overlap each other, so two of them are never explored in both orders — and every
// outcome, deadlock and lock-order report of the exclusive lock is still found. The executor checks
// that such a section is one, and a program can switch the reduction off (readOnlySections: false).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Cell } from '../../src/sched/cell.js';
import { dpor } from '../../src/sched/dpor.js';
import { exhaustive } from '../../src/sched/exhaustive.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { Mutex } from '../../src/sched/mutex.js';
import type { Program, Thread } from '../../src/sched/program.js';
import { RefCount } from '../../src/sched/refcount.js';

interface S {
  m: Mutex;
  /** Data the lock guards: changed only with m held exclusively. */
  g: Cell<number>[];
  /** Data it does not guard. */
  x: Cell<number>;
  /** Another lock, which no section of m may take. */
  other: Mutex;
  /** A lock without read-only sections. */
  plain: Mutex;
  /** What each thread read, in its order. */
  log: Record<string, number[]>;
}

function world(): S {
  const m = new Mutex('m', { readOnlySections: true });
  const g = [new Cell('g0', 0), new Cell('g1', 0)];
  for (const c of g) c.guardedBy = m;
  return { m, g, x: new Cell('x', 0), other: new Mutex('other'), plain: new Mutex('plain'), log: {} };
}

/** What a thread does, step by step (the random programs below). */
type Step =
  | { k: 'ro'; reads: number[]; other: 'none' | 'read' | 'write' | 'rmw' }
  | { k: 'w'; cell: number; value: number; touchX: boolean }
  | { k: 'x'; write: boolean };

function threadOf(name: string, steps: Step[]) {
  return function* (s: S): Thread<void> {
    const log: number[] = [];
    s.log[name] = log;
    for (const st of steps) {
      if (st.k === 'ro') {
        yield* s.m.lockReadOnly();
        for (const r of st.reads) log.push(yield* s.g[r]!.read());
        if (st.other === 'read') log.push(yield* s.x.read());
        else if (st.other === 'write') yield* s.x.write(log.length);
        else if (st.other === 'rmw') log.push(yield* s.x.rmw((v) => [v + 1, v]));
        yield* s.m.unlockReadOnly();
      } else if (st.k === 'w') {
        yield* s.m.lock();
        yield* s.g[st.cell]!.write(st.value);
        if (st.touchX) log.push(yield* s.x.rmw((v) => [v + 10, v]));
        yield* s.m.unlock();
      } else if (st.write) yield* s.x.write(100 + log.length);
      else log.push(yield* s.x.read());
    }
  };
}

function program(threads: Step[][], readOnlySections: boolean): Program<S> {
  return {
    setup: world,
    threads: Object.fromEntries(threads.map((steps, i) => [`t${i}`, threadOf(`t${i}`, steps)])),
    readOnlySections,
  };
}

/** A final state: what every thread read, and what every cell holds. */
function outcome(s: S): string {
  return JSON.stringify([s.log, s.g.map((c) => c.value), s.x.value]);
}

function outcomes(p: Program<S>, search: 'dpor' | 'exhaustive'): { finals: Set<string>; executions: number } {
  const finals = new Set<string>();
  const col =
    search === 'dpor'
      ? dpor(p, { lazyLocks: true }, new Lockdep(), (ex) => finals.add(outcome(ex.state)))
      : exhaustive(p, { maxExecutions: 200_000 }, new Lockdep(), (ex) => {
          if (!ex.anyUnfinished()) finals.add(outcome(ex.state));
          return -1;
        });
  assert.equal(col.complete, true);
  assert.equal(col.violations.length, 0, col.violations.map((v) => v.message).join('; '));
  return { finals, executions: col.executions };
}

test('two read-only sections that pin a count run in one order, not two, even without lazy locks', () => {
  const pins = (readOnlySections: boolean): Program<{ m: Mutex; flag: Cell<boolean>; ref: RefCount }> => {
    const fault = function* (s: { m: Mutex; flag: Cell<boolean>; ref: RefCount }): Thread<void> {
      yield* s.m.lockReadOnly();
      if (!(yield* s.flag.read())) yield* s.ref.getScoped();
      yield* s.m.unlockReadOnly();
    };
    return {
      setup: () => {
        const m = new Mutex('resv', { readOnlySections: true });
        const flag = new Cell('revoked', false);
        flag.guardedBy = m;
        return { m, flag, ref: new RefCount('users', 1) };
      },
      threads: { a: fault, b: fault },
      readOnlySections,
    };
  };
  // Eager dpor orders every two acquisitions of a lock; lazy dpor leaves out sections that touch
  // nothing in common but may still run both orders when it moves a later conflict ahead (the
  // kernel scenarios, test/scenario/fault-growth.test.ts). Overlapping sections are never ordered.
  const run = (on: boolean) => dpor(pins(on), { lazyLocks: false }, new Lockdep());
  assert.equal(run(true).executions, 1);
  assert.equal(
    run(false).executions,
    2,
    'taken exclusively, the two orders of the sections are two executions',
  );
});

test('random programs: read-only sections reach exactly the outcomes of the exclusive lock', () => {
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      k: fc.constant('ro' as const),
      reads: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 1, maxLength: 2 }),
      other: fc.constantFrom('none' as const, 'read' as const, 'write' as const, 'rmw' as const),
    }),
    fc.record({
      k: fc.constant('w' as const),
      cell: fc.integer({ min: 0, max: 1 }),
      value: fc.integer({ min: 1, max: 2 }),
      touchX: fc.boolean(),
    }),
    fc.record({ k: fc.constant('x' as const), write: fc.boolean() }),
  );
  const threadsArb = fc.array(fc.array(stepArb, { minLength: 1, maxLength: 3 }), {
    minLength: 2,
    maxLength: 3,
  });
  fc.assert(
    fc.property(threadsArb, (threads) => {
      const exclusive = outcomes(program(threads, false), 'exhaustive');
      const overlapping = outcomes(program(threads, true), 'dpor');
      assert.deepEqual([...overlapping.finals].sort(), [...exclusive.finals].sort());
    }),
    { numRuns: Number(process.env.VDM_PROPERTY_RUNS ?? 300) / 2, seed: 21 },
  );
});

test('a deadlock through a read-only section is still found, and lockdep sees an exclusive acquisition', () => {
  // a: holds n, takes m for a read-only section; b: holds m (exclusively), takes n.
  const p: Program<{ m: Mutex; n: Mutex; g: Cell<number> }> = {
    setup: () => {
      const m = new Mutex('m', { readOnlySections: true });
      const g = new Cell('g', 0);
      g.guardedBy = m;
      return { m, n: new Mutex('n'), g };
    },
    threads: {
      a: function* (s): Thread<void> {
        yield* s.n.lock();
        yield* s.m.lockReadOnly();
        yield* s.g.read();
        yield* s.m.unlockReadOnly();
        yield* s.n.unlock();
      },
      b: function* (s): Thread<void> {
        yield* s.m.lock();
        yield* s.g.write(1);
        yield* s.n.lock();
        yield* s.n.unlock();
        yield* s.m.unlock();
      },
    },
  };
  const lockdep = new Lockdep();
  const col = dpor(p, { lazyLocks: true }, lockdep);
  assert.ok(col.deadlocks > 0, 'the deadlock is found');
  assert.ok(
    col.violations.some((v) => v.id === 'LOCK_ORDER' || v.id === 'DEADLOCK'),
    col.violations.map((v) => v.id).join(','),
  );
  const edge = lockdep.get('n', 'm');
  assert.ok(edge, 'the edge n -> m is recorded');
  assert.equal(edge.toMode, 'lock');
});

function broken(body: (s: S) => Thread<void>): string[] {
  const p: Program<S> = { setup: world, threads: { a: body } };
  return dpor(p, { lazyLocks: true }, new Lockdep()).violations.map((v) => v.message);
}

test('a section that is not read-only is reported: a change of guarded data, two other accesses, a wait', () => {
  assert.ok(
    broken(function* (s) {
      yield* s.m.lockReadOnly();
      yield* s.g[0]!.write(1);
      yield* s.m.unlockReadOnly();
    }).some((m) => /cell g0 changed without m held/.test(m)),
  );
  assert.ok(
    broken(function* (s) {
      yield* s.m.lockReadOnly();
      yield* s.x.read();
      yield* s.x.write(1);
      yield* s.m.unlockReadOnly();
    }).some((m) =>
      /read-only section of m .* makes a second access that is not a read of data the lock guards: write x/.test(
        m,
      ),
    ),
  );
  assert.ok(
    broken(function* (s) {
      yield* s.m.lockReadOnly();
      yield* s.other.lock();
      yield* s.other.unlock();
      yield* s.m.unlockReadOnly();
    }).some((m) => /read-only section of m .* could wait or take a lock: lock other/.test(m)),
  );
  assert.ok(
    broken(function* (s) {
      yield* s.m.lockReadOnly();
      s.m.plainData();
      yield* s.m.unlockReadOnly();
    }).some((m) => /plainData\(\) inside a read-only section/.test(m)),
  );
});

test('guarded data changed without its lock, and a trylock of such a lock, are model errors', () => {
  assert.ok(
    broken(function* (s) {
      yield* s.g[1]!.write(2);
    }).some((m) => /cell g1 changed without m held, the lock that guards it/.test(m)),
  );
  assert.ok(
    broken(function* (s) {
      if (yield* s.m.tryLock()) yield* s.m.unlock();
    }).some((m) => /trylock of a lock with read-only sections/.test(m)),
  );
  assert.ok(
    broken(function* (s) {
      yield* s.plain.lockReadOnly();
      yield* s.plain.unlockReadOnly();
    }).some((m) => /lockReadOnly\(\) needs the readOnlySections option/.test(m)),
  );
});
