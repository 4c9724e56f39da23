// Invariants, final checks, exceptions, violations thrown by model code, and misuse of the API.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cell, explore, Mutex, type Program, replay, type Thread, Violation } from '../../src/sched/index.js';

type S = { x: Cell<number>; y: Cell<number> };
const twoWrites = (extra: Partial<Program<S>> = {}): Program<S> => ({
  setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
  threads: {
    a: function* (s) {
      yield* s.x.write(1);
      yield* s.y.write(1);
    },
    b: function* (s) {
      const y = yield* s.y.read();
      const x = yield* s.x.read();
      if (y === 1 && x === 0) throw new Violation('ORDER', 'saw y without x');
    },
  },
  ...extra,
});

test('an invariant is checked after every event, not only at the end', () => {
  // x is 1 only between a's two writes: only a check after each event can see it.
  const p: Program<S> = twoWrites({
    invariant: (s) => (s.x.value === 1 && s.y.value === 0 ? 'x set before y' : undefined),
  });
  const r = explore(p);
  const v = r.violations.find((x) => x.kind === 'invariant');
  assert.ok(v);
  assert.equal(v.id, 'INVARIANT');
  assert.equal(v.message, 'x set before y');
  // The schedule stops at the event after which the check failed.
  const rp = replay(p, v.schedule);
  assert.equal(rp.violation?.message, 'x set before y');
  assert.equal(rp.trace.length, 1);
});

test('an invariant that throws a Violation reports its id', () => {
  const p = twoWrites({
    invariant: (s) => {
      if (s.y.value === 1) throw new Violation('Y_SET', 'y is set');
    },
  });
  const v = explore(p).violations.find((x) => x.kind === 'invariant');
  assert.equal(v?.id, 'Y_SET');
});

test('model code that throws a Violation is an invariant violation with that id', () => {
  // Sequentially consistent: b can never see y=1 and x=0.
  assert.deepEqual(explore(twoWrites()).violations, []);
  const reordered: Program<S> = {
    ...twoWrites(),
    threads: {
      ...twoWrites().threads,
      a: function* (s) {
        yield* s.y.write(1);
        yield* s.x.write(1);
      },
    },
  };
  const r = explore(reordered);
  assert.equal(r.violations.length, 1);
  assert.equal(r.violations[0]!.kind, 'invariant');
  assert.equal(r.violations[0]!.id, 'ORDER');
  assert.equal(r.violations[0]!.thread, 'b');
});

test('an exception in a thread is an error with its stack; the other threads go on', () => {
  let bFinished = 0;
  const p: Program<S> = {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
    threads: {
      a: function* (s) {
        yield* s.x.write(1);
        throw new TypeError('boom');
      },
      b: function* (s) {
        yield* s.y.write(1);
        yield* s.y.write(2);
        bFinished++;
      },
    },
  };
  const r = explore(p);
  const e = r.violations.find((v) => v.kind === 'error');
  assert.ok(e);
  assert.equal(e.id, 'ERROR');
  assert.match(e.message, /a: boom/);
  assert.match(e.stack ?? '', /TypeError: boom/);
  assert.equal(r.deadlocks, 0);
  assert.ok(bFinished > 0);
});

test('final runs once every thread has returned', () => {
  let calls = 0;
  const p = twoWrites({
    final: (s) => {
      calls++;
      return s.x.value === 1 ? undefined : 'x not set';
    },
  });
  const r = explore(p);
  assert.equal(calls, r.executions);
  assert.deepEqual(r.violations, []);
  const bad = explore(twoWrites({ final: () => 'always' }));
  assert.equal(bad.violations[0]?.kind, 'final');
  assert.equal(bad.violations[0]?.count, bad.executions);
});

test('unlocking a mutex one does not hold is an error', () => {
  const p: Program<{ m: Mutex }> = {
    setup: () => ({ m: new Mutex('m') }),
    threads: {
      a: function* (s) {
        yield* s.m.unlock();
      },
    },
  };
  const r = explore(p);
  assert.match(r.violations[0]?.message ?? '', /unlock by a thread that does not hold it/);
});

test('objects created outside setup() are refused with a clear error', () => {
  const shared = new Cell('shared', 0);
  const p: Program<object> = {
    setup: () => ({}),
    threads: {
      a: function* () {
        yield* shared.write(1);
      },
    },
  };
  const r = explore(p);
  assert.match(r.violations[0]?.message ?? '', /not created by this execution's setup\(\)/);
});

test('yielding something that is not an operation is an error, not a hang', () => {
  const p: Program<object> = {
    setup: () => ({}),
    threads: {
      a: function* () {
        yield 42 as never;
      } as () => Thread,
    },
  };
  const r = explore(p);
  assert.match(r.violations[0]?.message ?? '', /not a sched operation/);
});

test('objects created by threads get stable identities across executions', () => {
  // Each thread allocates its own lock and cell at run time; dpor must still count traces right.
  type T = { shared: Cell<number> };
  const p: Program<T> = {
    setup: () => ({ shared: new Cell('shared', 0) }),
    threads: {
      a: function* (s) {
        const own = new Cell('a.own', 0);
        yield* own.write(1);
        yield* s.shared.write(1);
      },
      b: function* (s) {
        const own = new Cell('b.own', 0);
        yield* own.write(1);
        yield* s.shared.write(2);
      },
    },
  };
  const r = explore(p);
  assert.equal(r.executions, 2);
  assert.equal(r.blocked, 0);
});

test('keyed objects are the same object whichever thread creates them first', async () => {
  const { census } = await import('./helpers/traces.js');
  const { Mutex: M } = await import('../../src/sched/index.js');
  type T = { m: InstanceType<typeof M>; slot: { table: Cell<number> | null } };
  const worker = function* (s: T, v: number) {
    yield* s.m.lock();
    // Whoever comes first allocates the table, as the first fault allocates a page table.
    if (s.slot.table === null) s.slot.table = new Cell('table', 0, { key: 'table' });
    yield* s.m.unlock();
    yield* s.slot.table.write(v);
  };
  const p: Program<T> = {
    setup: () => ({ m: new M('m'), slot: { table: null } }),
    threads: {
      a: (s) => worker(s, 1),
      b: (s) => worker(s, 2),
    },
  };
  const c = census(p);
  assert.ok(c);
  const r = explore(p);
  assert.equal(r.executions, c.traces);
  assert.equal(r.blocked, 0);
  const twice: Program<object> = {
    setup: () => ({}),
    threads: {
      a: function* () {
        new Cell('x', 0, { key: 'k' });
        new Cell('y', 0, { key: 'k' });
      },
    },
  };
  assert.match(explore(twice).violations[0]?.message ?? '', /two objects with the key "k"/);
});
