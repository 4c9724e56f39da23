// Deadlocks, lock-order inversions (lockdep), and the rw_semaphore writer queue.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../../src/demo/litmus.js';
import { Cell, encodeSchedule, explore, Mutex, type Program, RwSem, replay } from '../../src/sched/index.js';

test('dining philosophers deadlock: the report says who waits for what and who holds it', () => {
  const r = explore(L.philosophers(3));
  assert.equal(r.complete, true);
  assert.ok(r.deadlocks > 0);
  const d = r.violations.find((v) => v.kind === 'deadlock');
  assert.ok(d);
  assert.equal(d.id, 'DEADLOCK');
  assert.match(d.message, /p0 waits in lock on mutex fork1 \(held by p1\)/);
  assert.match(d.message, /p2 waits in lock on mutex fork0 \(held by p0\)/);
  const rp = replay(L.philosophers(3), d.schedule);
  assert.equal(rp.violation?.kind, 'deadlock');
});

test('ordered philosophers: no deadlock, no lock-order report', () => {
  const r = explore(L.orderedPhilosophers(4));
  assert.equal(r.deadlocks, 0);
  assert.deepEqual(r.violations, []);
});

test('an inversion kept apart by a gate lock never deadlocks but is reported, with both sites', () => {
  const r = explore(L.gatedInversion());
  assert.equal(r.deadlocks, 0);
  const lo = r.violations.filter((v) => v.kind === 'lock-order');
  assert.equal(lo.length, 1);
  const m = lo[0]!.message;
  assert.match(m, /lock order inversion: A -> B -> A/);
  assert.match(m, /t1 acquires B \(lock\) while holding A \(lock\)/);
  assert.match(m, /t2 acquires A \(lock\) while holding B \(lock\)/);
  assert.match(m, /held at .*litmus/);
  assert.match(m, /acquired at .*litmus/);
  // The schedule is one execution that makes both edges, so replaying it shows the inversion.
  assert.equal(replay(L.gatedInversion(), lo[0]!.schedule).violation?.kind, 'lock-order');
});

test('an inversion split across executions is still one cycle (lockdep merges all runs)', () => {
  // t1 takes A then B only when flag is 0; t2 sets flag then takes B then A.
  const p: Program<{ a: Mutex; b: Mutex; flag: Cell<number> }> = {
    setup: () => ({ a: new Mutex('A'), b: new Mutex('B'), flag: new Cell('flag', 0) }),
    threads: {
      t1: function* (s) {
        if ((yield* s.flag.read()) === 0) {
          yield* s.a.lock();
          yield* s.b.lock();
          yield* s.b.unlock();
          yield* s.a.unlock();
        }
      },
      t2: function* (s) {
        yield* s.flag.write(1);
        yield* s.b.lock();
        yield* s.a.lock();
        yield* s.a.unlock();
        yield* s.b.unlock();
      },
    },
  };
  const r = explore(p);
  assert.ok(r.violations.some((v) => v.kind === 'lock-order'));
  assert.ok(r.violations.some((v) => v.kind === 'deadlock'));
});

test('trylock adds no lock-order edge (it cannot wait)', () => {
  const p: Program<{ a: Mutex; b: Mutex }> = {
    setup: () => ({ a: new Mutex('A'), b: new Mutex('B') }),
    threads: {
      t1: function* (s) {
        yield* s.a.lock();
        yield* s.b.lock();
        yield* s.b.unlock();
        yield* s.a.unlock();
      },
      t2: function* (s) {
        yield* s.b.lock();
        if (yield* s.a.tryLock()) yield* s.a.unlock();
        yield* s.b.unlock();
      },
    },
  };
  const r = explore(p);
  assert.deepEqual(r.violations, []);
  assert.equal(r.deadlocks, 0);
});

test('rwsem: a recursive down_read deadlocks behind a queued writer', () => {
  const r = explore(L.recursiveRead());
  const d = r.violations.find((v) => v.kind === 'deadlock');
  assert.ok(d, 'deadlock found');
  assert.match(
    d.message,
    /reader waits in down_read on rwsem sem \(read-held by reader; writers queued: writer\)/,
  );
  const rec = r.violations.find((v) => v.kind === 'lock-order');
  assert.ok(rec);
  assert.match(rec.message, /recursive locking: reader acquires sem \(read\)/);
});

test('rwsem: readers share, a writer excludes them, and a queued writer blocks new readers', () => {
  type S = { sem: RwSem; inside: Cell<number>; seen: number[] };
  const p: Program<S> = {
    setup: () => ({ sem: new RwSem('sem'), inside: new Cell('inside', 0), seen: [] }),
    threads: {
      r1: function* (s) {
        yield* s.sem.downRead();
        yield* s.inside.rmw((v) => [v + 1, v]);
        s.seen.push(yield* s.inside.read());
        yield* s.inside.rmw((v) => [v - 1, v]);
        yield* s.sem.upRead();
      },
      r2: function* (s) {
        yield* s.sem.downRead();
        yield* s.inside.rmw((v) => [v + 1, v]);
        yield* s.inside.rmw((v) => [v - 1, v]);
        yield* s.sem.upRead();
      },
      w: function* (s) {
        yield* s.sem.downWrite();
        const v = yield* s.inside.read();
        if (v !== 0) throw new Error(`writer saw ${v} readers inside`);
        yield* s.sem.upWrite();
      },
    },
  };
  const both = new Set<number>();
  const r = explore({
    ...p,
    final: (s) => {
      for (const x of s.seen) both.add(x);
    },
  });
  assert.deepEqual(r.violations, []);
  assert.ok(both.has(2), 'two readers were inside together');
});

test('rwsem: writers queue in order and the second waits for the first', () => {
  type S = { sem: RwSem; order: string[] };
  const p: Program<S> = {
    setup: () => ({ sem: new RwSem('sem'), order: [] }),
    threads: {
      r: function* (s) {
        yield* s.sem.downRead();
        yield* s.sem.upRead();
      },
      w1: function* (s) {
        yield* s.sem.downWrite();
        s.order.push('w1');
        yield* s.sem.upWrite();
      },
      w2: function* (s) {
        yield* s.sem.downWrite();
        s.order.push('w2');
        yield* s.sem.upWrite();
      },
    },
  };
  const orders = new Set<string>();
  const r = explore({ ...p, final: (s) => void orders.add(s.order.join(',')) });
  assert.equal(r.deadlocks, 0);
  assert.deepEqual([...orders].sort(), ['w1,w2', 'w2,w1']);
});

test('rwsem: a writer arriving while a reader is inside costs no execution of its own', () => {
  // The reader's section (a read of `data`) against the writer's (a write of it): two orders, and
  // nothing else to tell apart. Were the writer's arrival ordered against the reader's up_read,
  // "arrived while the reader was inside" would be a third execution with the same outcome.
  type S = { sem: RwSem; data: Cell<number>; saw: number[] };
  const p: Program<S> = {
    setup: () => ({ sem: new RwSem('sem'), data: new Cell('data', 0), saw: [] }),
    threads: {
      r: function* (s) {
        yield* s.sem.downRead();
        s.saw.push(yield* s.data.read());
        yield* s.sem.upRead();
      },
      w: function* (s) {
        yield* s.sem.downWrite();
        yield* s.data.write(1);
        yield* s.sem.upWrite();
      },
    },
  };
  const seen = new Set<number>();
  const r = explore({ ...p, final: (s) => void seen.add(s.saw[0]!) });
  assert.equal(r.executions, 2);
  assert.deepEqual([...seen].sort(), [0, 1]);
  // Exhaustive search does see the arrival inside the reader's section, and the same outcomes.
  const all = new Set<number>();
  const ex = explore({ ...p, final: (s) => void all.add(s.saw[0]!) }, { strategy: 'exhaustive' });
  assert.ok(ex.executions > 2);
  assert.deepEqual([...all].sort(), [0, 1]);
});

test('rwsem: the trace marks a down_write queued only when somebody held or waited for the lock', () => {
  type S = { sem: RwSem };
  const p: Program<S> = {
    setup: () => ({ sem: new RwSem('sem') }),
    threads: {
      r: function* (s) {
        yield* s.sem.downRead();
        yield* s.sem.upRead();
      },
      w: function* (s) {
        yield* s.sem.downWrite();
        yield* s.sem.upWrite();
      },
    },
  };
  const line = (e: { thread: string; op: string; result?: unknown }) =>
    `${e.thread} ${e.op}${e.result === undefined ? '' : ` = ${String(e.result)}`}`;
  // The writer alone first: its arrival finds the lock free.
  assert.deepEqual(replay(p, encodeSchedule([1, 1, 1, 0, 0], 5)).trace.map(line), [
    'w down_write',
    'w down_write(wait)',
    'w up_write',
    'r down_read',
    'r up_read',
  ]);
  // The reader inside first: the writer queues behind it.
  assert.deepEqual(replay(p, encodeSchedule([0, 1, 0, 1, 1], 5)).trace.map(line), [
    'r down_read',
    'w down_write = queued',
    'r up_read',
    'w down_write(wait)',
    'w up_write',
  ]);
});
