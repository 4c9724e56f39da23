// The reductions beyond plain optimal dpor: slots (events on disjoint parts of one object do not
// conflict), visibility scopes (writes the invariant never reads together stay unordered) and
// lazy locks (critical sections that touch nothing in common are not explored in both orders).
// Each must find exactly what exhaustive search finds: final states, deadlocks and violations.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dpor } from '../../src/sched/dpor.js';
import { dporInProcess } from '../../src/sched/dpor-parallel.js';
import { completeExploration } from '../../src/sched/explore.js';
import {
  Cell,
  type ExploreOptions,
  type ExploreResult,
  explore,
  Mutex,
  type Program,
  RwSem,
} from '../../src/sched/index.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { build, describe, type Instr, lockSpecArb, type Spec, specArb } from './helpers/random-program.js';

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);
const quiet = { minimizePreemptions: false } as const;

/** n threads, each writing its own cell inside one critical section of the same lock. */
function privateSections(n: number): Program<{ m: Mutex; x: Cell<number>[] }> {
  const threads: Program<{ m: Mutex; x: Cell<number>[] }>['threads'] = {};
  for (let i = 0; i < n; i++) {
    threads[`t${i}`] = function* (s) {
      yield* s.m.lock();
      yield* s.x[i]!.write(1);
      yield* s.m.unlock();
    };
  }
  return {
    name: `private-sections(${n})`,
    setup: () => ({ m: new Mutex('m'), x: Array.from({ length: n }, (_, i) => new Cell(`x${i}`, 0)) }),
    threads,
  };
}

test('lazy locks: critical sections that touch nothing in common run in one order', () => {
  assert.equal(explore(privateSections(4), quiet).executions, 24);
  const lazy = explore(privateSections(4), { ...quiet, lazyLocks: true });
  assert.equal(lazy.executions, 1);
  assert.ok(lazy.complete);
});

test('lazy locks: sections that conflict are still explored in every order', () => {
  const p: Program<{ m: Mutex; x: Cell<number>; seen: number[] }> = {
    setup: () => ({ m: new Mutex('m'), x: new Cell('x', 0), seen: [] }),
    threads: {
      *a(s) {
        yield* s.m.lock();
        yield* s.x.write(1);
        yield* s.m.unlock();
      },
      *b(s) {
        yield* s.m.lock();
        s.seen.push(yield* s.x.read());
        yield* s.m.unlock();
      },
    },
    final: (s) => (s.seen[0] === 0 ? 'b read before a wrote' : undefined),
  };
  const r = explore(p, { ...quiet, lazyLocks: true });
  assert.equal(r.executions, 2);
  assert.deepEqual(
    r.violations.map((v) => v.message),
    ['b read before a wrote'],
  );
});

test('lazy locks: a conflict outside the sections that only the lock order decides is explored', () => {
  // a writes x before its (empty) section, b reads x after its own: b reads 0 only when b's
  // section comes first. Only the lock orders the two accesses.
  const p: Program<{ m: Mutex; x: Cell<number>; seen: number[] }> = {
    setup: () => ({ m: new Mutex('m'), x: new Cell('x', 0), seen: [] }),
    threads: {
      *a(s) {
        yield* s.x.write(1);
        yield* s.m.lock();
        yield* s.m.unlock();
      },
      *b(s) {
        yield* s.m.lock();
        yield* s.m.unlock();
        s.seen.push(yield* s.x.read());
      },
    },
    final: (s) => `b read ${s.seen[0]}`,
  };
  const seen = (o: ExploreOptions) =>
    explore(p, o)
      .violations.map((v) => v.message)
      .sort();
  assert.deepEqual(seen({ ...quiet, lazyLocks: true }), ['b read 0', 'b read 1']);
  assert.deepEqual(seen({ ...quiet, strategy: 'exhaustive' }), ['b read 0', 'b read 1']);
});

test('lazy locks: an ABBA deadlock is still found (nested acquisitions stay eager)', () => {
  const p: Program<{ a: Mutex; b: Mutex }> = {
    setup: () => ({ a: new Mutex('A'), b: new Mutex('B') }),
    threads: {
      *t0(s) {
        yield* s.a.lock();
        yield* s.b.lock();
        yield* s.b.unlock();
        yield* s.a.unlock();
      },
      *t1(s) {
        yield* s.b.lock();
        yield* s.a.lock();
        yield* s.a.unlock();
        yield* s.b.unlock();
      },
    },
  };
  const r = explore(p, { ...quiet, lazyLocks: true });
  assert.ok(r.deadlocks > 0, 'the deadlock is explored');
  assert.ok(r.violations.some((v) => v.kind === 'deadlock'));
  assert.ok(r.violations.some((v) => v.kind === 'lock-order'));
});

test('lazy locks: a reader that waits behind a queued writer still deadlocks (rw_semaphore)', () => {
  // t0 holds s for read and takes it again; t1's down_write queues in between and blocks the
  // second down_read: the recursive-read deadlock the kernel's rwsem has.
  const p: Program<{ s: RwSem; m: Mutex }> = {
    setup: () => ({ s: new RwSem('s'), m: new Mutex('m') }),
    threads: {
      *t0(w) {
        yield* w.s.downRead();
        yield* w.m.lock();
        yield* w.s.downRead();
        yield* w.s.upRead();
        yield* w.m.unlock();
        yield* w.s.upRead();
      },
      *t1(w) {
        yield* w.s.downWrite();
        yield* w.s.upWrite();
      },
    },
  };
  const eager = explore(p, quiet);
  const lazy = explore(p, { ...quiet, lazyLocks: true });
  assert.ok(eager.deadlocks > 0);
  assert.ok(lazy.deadlocks > 0);
});

test('slots: writes to different slots of one cell do not conflict, to the same slot they do', () => {
  const make = (sa: number, sb: number): Program<{ t: Cell<number[]> }> => ({
    setup: () => ({ t: new Cell('table', [0, 0, 0, 0], { slots: true }) }),
    threads: {
      *a(s) {
        yield* s.t.rmwSlots(sa, sa + 1, (v) => {
          v[sa] = 1;
          return [v, undefined];
        });
      },
      *b(s) {
        yield* s.t.rmwSlots(sb, sb + 2, (v) => {
          v[sb] = 2;
          v[sb + 1] = 2;
          return [v, undefined];
        });
      },
    },
  });
  assert.equal(explore(make(1, 0), quiet).executions, 2, 'slot 1 is written by both');
  assert.equal(explore(make(0, 2), quiet).executions, 1, 'slots 0 and 2..3 are disjoint');
  assert.throws(
    () =>
      explore(
        {
          setup: () => ({ c: new Cell('plain', 0) }),
          threads: {
            *a(s) {
              yield* s.c.readSlots(0, 1);
            },
          },
        },
        quiet,
      ).violations.forEach((v) => {
        if (v.kind === 'error') throw new Error(v.message);
      }),
    /has no slots/,
  );
});

test('visibility scopes: writes the invariant never reads together are not ordered', () => {
  type W = { x: Cell<number>; y: Cell<number> };
  const base: Program<W> = {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
    threads: {
      *a(s) {
        yield* s.x.write(1);
        yield* s.x.write(2);
      },
      *b(s) {
        yield* s.y.write(1);
        yield* s.y.write(2);
      },
    },
    // Two parts: one reads x, the other y.
    invariant: (s) => (s.x.value === 3 || s.y.value === 3 ? 'reached 3' : undefined),
  };
  assert.equal(explore(base, quiet).executions, 6, 'one scope: every order of the four writes');
  const scoped = { ...base, observesObject: () => true, scopeOf: (p: { name: string }) => p.name };
  assert.equal(explore(scoped, quiet).executions, 1);
  const related = { ...scoped, scopesRelated: () => true };
  assert.equal(explore(related, quiet).executions, 6);
});

/** Final states, deadlock presence and violation messages of an exploration. */
function outcome<S>(program: Program<S>, options: ExploreOptions, show: (s: S) => string) {
  const finals = new Set<string>();
  const p: Program<S> = {
    ...program,
    final: (s) => {
      finals.add(show(s));
      return program.final?.(s);
    },
  };
  const r = explore(p, { ...quiet, ...options });
  return {
    r,
    finals: [...finals].sort(),
    deadlock: r.deadlocks > 0,
    // A lock-order message names the thread whose acquisition lockdep met first: search order.
    violations: [
      ...new Set(r.violations.map((v) => (v.kind === 'lock-order' ? v.kind : `${v.kind}:${v.message}`))),
    ].sort(),
  };
}

type CellWorld = { cells: { value: number }[]; table: { value: number[] } };
/** Invariants over random programs' state, each with the scopes of the parts it reads. */
const SCOPED_INVARIANTS: {
  inv: (w: CellWorld) => string | undefined;
  related: (a: string, b: string) => boolean;
}[] = [
  { inv: (w) => (w.cells[0]!.value === 2 ? 'x0 reached 2' : undefined), related: (a, b) => a === b },
  {
    // One part per slot, each also reading x0: slots are never read together.
    inv: (w) =>
      w.table.value.some((v) => v === 3) && w.cells[0]!.value === 0 ? 'a slot is 3 while x0 is 0' : undefined,
    related: (a, b) => a !== b || a === 'x0',
  },
  {
    inv: (w) =>
      w.cells.length > 1 && w.cells[0]!.value === 1 && w.cells[1]!.value === 0 ? 'x0 set, x1 not' : undefined,
    related: () => true,
  },
];

/**
 * Programs of nested critical sections over a few mutexes around writes and reads of one cell:
 * the patterns lazy locks must get right (lazy sections inside and around eager ones).
 */
const sectionsArb: fc.Arbitrary<Spec> = fc
  .record({ locks: fc.integer({ min: 2, max: 3 }), nThreads: fc.integer({ min: 2, max: 3 }) })
  .chain(({ locks, nThreads }) => {
    const data = fc.oneof(
      fc.record({
        op: fc.constant('write' as const),
        cell: fc.constant(0),
        add: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ op: fc.constant('read' as const), cell: fc.constant(0) }),
    );
    // A section of the rw_semaphore whose sections never wait: data only inside.
    const window = fc.record({
      op: fc.constantFrom('read-locked' as const, 'write-locked' as const),
      sem: fc.constant(0),
      body: fc.array(data, { maxLength: 2 }),
    });
    const { section } = fc.letrec<{ section: Instr; item: Instr }>((tie) => ({
      section: fc.record({
        op: fc.constant('locked' as const),
        lock: fc.nat(locks - 1),
        body: fc.array(tie('item'), { maxLength: 2, depthIdentifier: 'sections' }),
      }),
      item: fc.oneof(
        { depthSize: 'small', withCrossShrink: true, depthIdentifier: 'sections' },
        data,
        window,
        tie('section'),
      ),
    }));
    return fc
      .array(fc.array(fc.oneof(section, window), { minLength: 1, maxLength: 2 }), {
        minLength: nThreads,
        maxLength: nThreads,
      })
      .map((threads) => ({ cells: 1, locks, sems: 1, comps: 0, threads, atomicSems: true }));
  });

test('lazy locks on nested sections: the same outcomes as exhaustive search, the lock order seen or not', () => {
  fc.assert(
    fc.property(sectionsArb, fc.boolean(), (spec, seeLock) => {
      const base = build(spec);
      const program = {
        ...base,
        invariant: seeLock ? LOCK_INVARIANT : () => undefined,
        observesObject: (p: { type: string; name: string }) =>
          p.type === 'cell' || (seeLock && p.name === 'm0'),
      } as unknown as typeof base;
      const e = outcome(program, { strategy: 'exhaustive', maxExecutions: 20000 }, describe);
      fc.pre(e.r.complete);
      const lazy = outcome(program, { lazyLocks: true }, describe);
      assert.deepEqual(lazy.finals, e.finals);
      assert.equal(lazy.deadlock, e.deadlock);
      assert.deepEqual(lazy.violations, e.violations);
    }),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 24) },
  );
});

/** An invariant that reads an (eager) lock's state: the order of its sections is seen. */
const LOCK_INVARIANT = (w: CellWorld & { locks: { owner: number }[] }): string | undefined =>
  w.locks.length > 0 && w.locks[0]!.owner !== -1 && w.cells[0]!.value === 1
    ? 'x0 is 1 while m0 is held'
    : undefined;

test('lazy locks on random programs: the same final states, deadlocks and violations as exhaustive search', () => {
  fc.assert(
    fc.property(
      fc.oneof(specArb, lockSpecArb),
      fc.integer({ min: -1, max: SCOPED_INVARIANTS.length }),
      (spec, which) => {
        const base = build(spec);
        // With an invariant, the cells and the table are what it reads, and the first mutex (which
        // then stays eager, lazy ones nesting in and around it): the other locks stay lazy.
        const program =
          which < 0
            ? base
            : ({
                ...base,
                invariant: which < SCOPED_INVARIANTS.length ? SCOPED_INVARIANTS[which]!.inv : LOCK_INVARIANT,
                observesObject: (p: { type: string; name: string }) => p.type === 'cell' || p.name === 'm0',
              } as unknown as typeof base);
        const e = outcome(program, { strategy: 'exhaustive', maxExecutions: 20000 }, describe);
        fc.pre(e.r.complete);
        const lazy = outcome(program, { lazyLocks: true }, describe);
        const eager = outcome(program, {}, describe);
        assert.deepEqual(lazy.finals, e.finals);
        assert.equal(lazy.deadlock, e.deadlock);
        assert.deepEqual(lazy.violations, e.violations);
        assert.ok(lazy.r.complete);
        assert.ok(lazy.r.executions <= eager.r.executions, 'never more executions than eager dpor');
      },
    ),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 21) },
  );
});

test('visibility scopes on random programs: the same violations as exhaustive search', () => {
  fc.assert(
    fc.property(specArb, fc.nat(SCOPED_INVARIANTS.length - 1), fc.boolean(), (spec, which, lazyLocks) => {
      const base = build(spec);
      const { inv, related } = SCOPED_INVARIANTS[which]!;
      const program = {
        ...base,
        invariant: inv,
        observesObject: (p: { type: string }) => p.type === 'cell',
        scopeOf: (p: { name: string }) => p.name,
        scopesRelated: related,
      } as unknown as typeof base;
      const e = outcome(program, { strategy: 'exhaustive', maxExecutions: 20000 }, describe);
      fc.pre(e.r.complete);
      const d = outcome(program, { lazyLocks }, describe);
      assert.deepEqual(d.violations, e.violations);
      assert.deepEqual(d.finals, e.finals);
      assert.equal(d.deadlock, e.deadlock);
    }),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 22) },
  );
});

test('lazy locks and scopes: the parallel search equals the sequential one', () => {
  fc.assert(
    fc.property(
      specArb,
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 1000 }),
      (spec, workers, seed) => {
        const base = build(spec);
        const { inv, related } = SCOPED_INVARIANTS[seed % SCOPED_INVARIANTS.length]!;
        const program = {
          ...base,
          invariant: inv,
          observesObject: (p: { type: string }) => p.type === 'cell',
          scopeOf: (p: { name: string }) => p.name,
          scopesRelated: related,
        } as unknown as typeof base;
        const o: ExploreOptions = { ...quiet, maxExecutions: 3000, lazyLocks: true };
        const lockdep = new Lockdep();
        const order: string[] = [];
        const col = dpor(program, o, lockdep, (ex) => order.push(ex.evThread.subarray(0, ex.len).join(',')));
        const want: ExploreResult = completeExploration(program, o, col, lockdep);
        const pl = new Lockdep();
        const porder: string[] = [];
        const coord = dporInProcess(program, o, pl, workers, seed, (t) => porder.push(t.join(',')));
        assert.equal(coord.rerun, 0);
        assert.deepEqual(completeExploration(program, o, coord.col, pl), want);
        assert.deepEqual(porder, order);
      },
    ),
    { numRuns: Math.max(20, Math.floor(RUNS / 3)), seed: 23 },
  );
});

test('lazy locks: a lazy section inside an eager one still lets the eager lock be taken in both orders', () => {
  // a takes m (eager: the invariant reads it), and inside it the lazy l; b takes l, then m. The
  // order of the two sections of m is seen by the invariant (it reads m), and only the lazy l
  // orders b's m after a's: b must still get to take m first.
  type W = { m: Mutex; l: Mutex; order: string[] };
  const p: Program<W> = {
    setup: () => ({ m: new Mutex('m'), l: new Mutex('l'), order: [] }),
    threads: {
      *a(s) {
        yield* s.m.lock();
        s.order.push('a');
        yield* s.l.lock();
        yield* s.l.unlock();
        yield* s.m.unlock();
      },
      *b(s) {
        yield* s.l.lock();
        yield* s.l.unlock();
        yield* s.m.lock();
        s.order.push('b');
        yield* s.m.unlock();
      },
    },
    invariant: () => undefined,
    observesObject: (o) => o.name === 'm',
    final: (s) => `${s.order.join('')} took m first`,
  };
  const seen = (o: ExploreOptions) =>
    explore(p, { ...quiet, ...o })
      .violations.map((v) => v.message)
      .sort();
  assert.deepEqual(seen({ strategy: 'exhaustive' }), ['ab took m first', 'ba took m first']);
  assert.deepEqual(seen({ lazyLocks: true }), ['ab took m first', 'ba took m first']);
});
