// Checkpoint and resume (exhaustive and dpor): a search resumed from any saved frontier ends with the same
// executions, deadlocks, violations and lock-order findings as one that was never stopped.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { revokeVsFaults } from '../../bench/spin.js';
import * as L from '../../src/demo/litmus.js';
import { fractionDone } from '../../src/sched/exhaustive.js';
import { type ExplorationCheckpoint, explore, type Program } from '../../src/sched/index.js';

function roundTrip(
  program: Program<unknown>,
  every: number,
  stateCache = false,
  strategy: 'exhaustive' | 'dpor' = 'exhaustive',
): void {
  const base = { strategy, minimizePreemptions: false, ...(stateCache ? { stateCache } : {}) };
  const whole = explore(program, base);
  const saved: ExplorationCheckpoint[] = [];
  explore(program, {
    ...base,
    checkpoint: { everyExecutions: every, save: (c) => saved.push(JSON.parse(JSON.stringify(c))) },
  });
  assert.ok(saved.length >= 2, `checkpoints were saved (${saved.length})`);
  for (const c of [saved[0]!, saved[Math.floor(saved.length / 2)]!, saved[saved.length - 1]!]) {
    const resumed = explore(program, { ...base, resume: c });
    assert.equal(resumed.executions, whole.executions);
    assert.equal(resumed.deadlocks, whole.deadlocks);
    assert.equal(resumed.complete, whole.complete);
    const ids = (r: typeof whole) => r.violations.map((v) => `${v.kind}:${v.id}:${v.message}`).sort();
    assert.deepEqual(ids(resumed), ids(whole));
  }
}

test('resume from a checkpoint: same executions and violations (racy increments)', () => {
  roundTrip(L.racyIncrements(3) as Program<unknown>, 5);
});

test('resume keeps deadlocks and lockdep findings (dining philosophers)', () => {
  roundTrip(L.philosophers(3) as Program<unknown>, 10);
});

test('resume with the state cache', () => {
  roundTrip(L.lockedIncrements(3) as Program<unknown>, 2, true);
});

test('dpor: resume from any checkpoint ends with the same executions and violations (racy increments)', () => {
  roundTrip(L.racyIncrements(3) as Program<unknown>, 1, false, 'dpor');
});

test('dpor: resume keeps deadlocks and lock-order findings (dining philosophers)', () => {
  roundTrip(L.philosophers(4) as Program<unknown>, 3, false, 'dpor');
});

test('dpor: resume on programs whose objects appear during the run and blocking rw_semaphores', () => {
  roundTrip(L.completions(3, 2) as Program<unknown>, 2, false, 'dpor');
  roundTrip(L.rwCounter(2, 2) as Program<unknown>, 2, false, 'dpor');
});

test('dpor with the cut check: resume keeps the states checked and the counterexamples', () => {
  const p = revokeVsFaults(4);
  const broken = { ...p, threads: { ...p.threads } };
  broken.threads.revoke = function* (w) {
    yield* w.revoked.write(true);
    for (const q of w.pte) yield* q.write(false);
    yield* w.done.write(true);
  };
  for (const prog of [p, broken]) {
    const whole = explore(prog, { minimizePreemptions: false });
    const saved: ExplorationCheckpoint[] = [];
    explore(prog, {
      minimizePreemptions: false,
      checkpoint: { everyExecutions: 3, save: (c) => saved.push(JSON.parse(JSON.stringify(c))) },
    });
    assert.ok(saved.length >= 3);
    for (const c of saved) {
      const r = explore(prog, { minimizePreemptions: false, resume: c });
      assert.equal(r.executions, whole.executions);
      assert.equal(r.cutStates, whole.cutStates);
      assert.deepEqual(
        r.violations.map((v) => [v.message, v.count]),
        whole.violations.map((v) => [v.message, v.count]),
      );
    }
  }
});

test('a checkpoint resumes only with its own strategy', () => {
  const saved: ExplorationCheckpoint[] = [];
  explore(L.racyIncrements(2) as Program<unknown>, {
    checkpoint: { everyExecutions: 1, save: (c) => saved.push(c) },
  });
  assert.equal(saved[0]!.strategy, 'dpor');
  assert.throws(
    () => explore(L.racyIncrements(2) as Program<unknown>, { strategy: 'exhaustive', resume: saved[0]! }),
    /cannot resume a dpor checkpoint/,
  );
  assert.throws(
    () => explore(L.readers(2), { strategy: 'random', checkpoint: { save() {} } }),
    /dpor.*exhaustive/,
  );
});

test('the progress estimate: the share of the tree before the current path, by branch', () => {
  assert.equal(fractionDone([]), 0);
  assert.equal(fractionDone([{ next: 1, threads: [0, 1] }]), 0.5);
  assert.equal(
    fractionDone([
      { next: 1, threads: [0, 1] },
      { next: 2, threads: [0, 1, 2] },
    ]),
    0.5 + 0.5 * (2 / 3),
  );
  // Along a whole search the estimate never goes back (it is what the progress bar shows).
  const seen: number[] = [];
  const saved: ExplorationCheckpoint[] = [];
  explore(L.racyIncrements(3) as Program<unknown>, {
    strategy: 'exhaustive',
    minimizePreemptions: false,
    checkpoint: { everyExecutions: 1, save: (c) => saved.push(c) },
  });
  for (const c of saved) if (c.strategy === 'exhaustive') seen.push(fractionDone(c.stack));
  for (let i = 1; i < seen.length; i++)
    assert.ok(seen[i]! >= seen[i - 1]!, `${seen[i]} after ${seen[i - 1]}`);
  assert.ok(seen[seen.length - 1]! > 0.9);
});
