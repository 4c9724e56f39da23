// Checking the invariant at every cut of each trace (Program.observedOnly, src/sched/cuts.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { revokeVsFaults } from '../../bench/spin.js';
import { Cell, explore, Mutex, type Program, replay } from '../../src/sched/index.js';

test('revoke vs N faults: one execution per trace (2^N: each fault before or after the revoke), no violation, states counted', () => {
  for (let n = 2; n <= 5; n++) {
    const r = explore(revokeVsFaults(n), { minimizePreemptions: false });
    assert.equal(r.executions, 2 ** n, `N=${n}`);
    assert.equal(r.violations.length, 0);
    assert.ok(r.complete);
    assert.ok((r.cutStates ?? 0) > r.executions, 'more states than executions were checked');
    // Ordering the observed writes instead explores many more executions with the same verdict.
    const ordered = explore({ ...revokeVsFaults(n), observedOnly: false }, { minimizePreemptions: false });
    assert.equal(ordered.violations.length, 0);
    assert.ok(ordered.executions > r.executions);
    assert.equal(ordered.cutStates, undefined);
  }
});

test('a revoke that skips memory_lock: the cut check finds the surviving PTE, and the schedule replays to it', () => {
  const p = revokeVsFaults(3);
  p.threads.revoke = function* (w) {
    yield* w.revoked.write(true);
    for (const q of w.pte) yield* q.write(false);
    yield* w.done.write(true);
  };
  const r = explore(p, {});
  assert.equal(r.violations.length, 1);
  const v = r.violations[0]!;
  assert.equal(v.message, 'a PTE survived the revoke');
  const again = replay(p, v.schedule);
  assert.equal(again.violation?.message, 'a PTE survived the revoke');
  const last = again.trace.at(-1)!;
  assert.match(`${last.op} ${last.object}`, /write (done|pte\d)/);
});

test('a violation visible only at an intermediate state no explored interleaving stops at', () => {
  // Two threads set their flag and clear it again; "both set" holds only at cuts where both are up.
  // With the writes unordered, dpor runs a single trace (its one interleaving runs a, then b) and
  // must still find the state where both flags are set.
  const p: Program<{ a: Cell<number>; b: Cell<number> }> = {
    setup: () => ({ a: new Cell('a', 0), b: new Cell('b', 0) }),
    threads: {
      ta: function* (w) {
        yield* w.a.write(1);
        yield* w.a.write(0);
      },
      tb: function* (w) {
        yield* w.b.write(1);
        yield* w.b.write(0);
      },
    },
    invariant: (w) => (w.a.value === 1 && w.b.value === 1 ? 'both set' : undefined),
    observes: (w) => [w.a, w.b],
    observedOnly: true,
  };
  const r = explore(p, { minimizePreemptions: false });
  assert.equal(r.executions, 1);
  assert.deepEqual(
    r.violations.map((v) => v.message),
    ['both set'],
  );
  // The counterexample puts the cut first: a=1, b=1 (a write shows the value it wrote).
  const trace = replay(p, r.violations[0]!.schedule).trace.map((e) => `${e.thread}:${e.result ?? ''}`);
  assert.deepEqual(trace.slice(0, 2).sort(), ['ta:1', 'tb:1']);
  assert.equal(r.cutStates, 8, 'the 3 x 3 down-closed sets of the two chains, less the empty one');
});

test('observedOnly needs observes() and Cells; a preemption bound falls back to ordering', () => {
  const base = revokeVsFaults(2);
  assert.throws(() => explore({ ...base, observes: undefined }, {}), /observedOnly needs observes/);
  const withLock: Program<{ m: Mutex; c: Cell<number> }> = {
    setup: () => ({ m: new Mutex('m'), c: new Cell('c', 0) }),
    threads: {
      t: function* (w) {
        yield* w.m.lock();
        yield* w.m.unlock();
      },
    },
    invariant: () => undefined,
    observes: (w) => [w.m, w.c],
    observedOnly: true,
  };
  assert.throws(() => explore(withLock, {}), /only Cells can be observed/);
  const bounded = explore(base, { preemptionBound: 2, minimizePreemptions: false });
  assert.equal(bounded.cutStates, undefined);
  assert.equal(bounded.violations.length, 0);
});
