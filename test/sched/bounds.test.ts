// Bounds and limits: executions, preemptions, steps; the fewest-preemption counterexample; and the
// randomised strategies.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../../src/demo/litmus.js';
import { Cell, explore, type Program, replay } from '../../src/sched/index.js';

test('maxExecutions stops the search and says it is incomplete', () => {
  const r = explore(L.readers(6), { maxExecutions: 10 });
  assert.equal(r.executions, 10);
  assert.equal(r.complete, false);
  const all = explore(L.readers(6), { maxExecutions: 64 });
  assert.equal(all.executions, 64);
  assert.equal(all.complete, true);
});

test('a preemption bound cuts the search, and complete says so', () => {
  const r0 = explore(L.racyIncrements(2), { strategy: 'exhaustive', preemptionBound: 0 });
  assert.equal(r0.complete, false);
  assert.equal(r0.executions, 2); // t0 then t1, t1 then t0
  assert.deepEqual(r0.violations, []); // a lost update needs a preemption
  const r1 = explore(L.racyIncrements(2), { preemptionBound: 1 });
  assert.ok(r1.violations.some((v) => v.kind === 'final'));
  const big = explore(L.lockedIncrements(3), { preemptionBound: 10 });
  assert.equal(big.complete, true);
});

test('a thread that never stops is reported and the search goes on', () => {
  const p: Program<{ flag: Cell<number> }> = {
    setup: () => ({ flag: new Cell('flag', 0) }),
    threads: {
      spin: function* (s) {
        while ((yield* s.flag.read()) === 0) {
          /* waits for a flag nobody sets */
        }
      },
    },
  };
  const r = explore(p, { maxSteps: 500 });
  assert.equal(r.complete, false);
  const v = r.violations.find((x) => x.id === 'STEP_BOUND');
  assert.ok(v);
  assert.match(v.message, /exceeded 500 events.*spin/);
});

test('counterexamples come with the fewest preemptions found', () => {
  // With many threads the first lost update dpor meets may use several preemptions; one is enough.
  const r = explore(L.racyIncrements(4));
  const v = r.violations.find((x) => x.kind === 'final');
  assert.ok(v);
  assert.equal(v.preemptions, 1);
  assert.equal(replay(L.racyIncrements(4), v.schedule).violation?.kind, 'final');
});

test('minimising runs within the search: once it is interrupted a violation keeps the schedule found', () => {
  // Four philosophers: dpor meets the deadlock with 3 preemptions, 1 is enough. The search asks
  // `interrupted` once per execution; let it run whole, then interrupt: the minimising searches
  // that follow must not run (a time limit that has run out ends them the same way).
  let searchAsks = 0;
  const raw = explore(L.philosophers(4), {
    minimizePreemptions: false,
    interrupted: () => ++searchAsks < 0,
  });
  const found = raw.violations[0];
  assert.ok(found);
  assert.equal(found.preemptions, 3);
  assert.equal(explore(L.philosophers(4)).violations[0]?.preemptions, 1, 'minimised when not interrupted');
  let asked = 0;
  const r = explore(L.philosophers(4), { interrupted: () => ++asked > searchAsks });
  assert.equal(r.executions, raw.executions);
  assert.equal(r.complete, true);
  assert.equal(r.violations[0]?.preemptions, 3);
  assert.equal(r.violations[0]?.schedule, found.schedule);
  assert.equal(asked, searchAsks + 1, 'asked once more, before the first minimising search');
});

test('stopAtFirst stops at the first violation', () => {
  const r = explore(L.racyIncrements(3), { stopAtFirst: true });
  assert.equal(r.violations.length, 1);
  assert.equal(r.complete, false);
  assert.ok(r.executions < 36);
});

test('random and pct are seeded: same seed, same run', () => {
  for (const strategy of ['random', 'pct'] as const) {
    const a = explore(L.racyIncrements(3), {
      strategy,
      seed: 5,
      maxExecutions: 50,
      minimizePreemptions: false,
    });
    const b = explore(L.racyIncrements(3), {
      strategy,
      seed: 5,
      maxExecutions: 50,
      minimizePreemptions: false,
    });
    assert.deepEqual(a, b);
    assert.equal(a.executions, 50);
    assert.equal(a.complete, false);
  }
});

test('random and pct find a shallow bug', () => {
  for (const strategy of ['random', 'pct'] as const) {
    const r = explore(L.racyIncrements(2), { strategy, seed: 3, maxExecutions: 200 });
    assert.ok(
      r.violations.some((v) => v.kind === 'final'),
      strategy,
    );
  }
});

test('bad options are refused', () => {
  assert.throws(() => explore(L.readers(1), { strategy: 'bfs' as never }), /unknown strategy "bfs"/);
  assert.throws(
    () => explore(L.readers(1), { maxExecutions: -1 }),
    /maxExecutions must be a non-negative integer/,
  );
});

test('progress is reported during long searches', () => {
  let calls = 0;
  explore(L.readers(12), { onProgress: () => void calls++ });
  // Progress is rate-limited by wall time; a short search may not report, so only check the shape.
  assert.ok(calls >= 0);
});
