// Splitting an exhaustive search into subtrees (what `--workers` runs in parallel) and merging
// them gives the result of one search: same executions, deadlocks and violations.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../../src/demo/litmus.js';
import { explore, type Program } from '../../src/sched/index.js';
import { exploreSubtree, mergeSubtrees, splitExhaustive } from '../../src/sched/parallel.js';

function same(program: Program<unknown>, target: number, options = {}): number {
  const base = { strategy: 'exhaustive' as const, minimizePreemptions: false, ...options };
  const whole = explore(program, base);
  const parts = splitExhaustive(program, base, target);
  const merged = mergeSubtrees(
    program,
    base,
    parts.map((s) => JSON.parse(JSON.stringify(exploreSubtree(program, base, s)))),
  );
  assert.equal(merged.executions, whole.executions);
  assert.equal(merged.deadlocks, whole.deadlocks);
  assert.equal(merged.complete, whole.complete);
  const ids = (r: typeof whole) =>
    r.violations.map((v) => `${v.kind}:${v.id}:${v.message}:${v.count}`).sort();
  assert.deepEqual(ids(merged), ids(whole));
  return parts.length;
}

test('racy increments: split into subtrees and merged, as one search', () => {
  assert.ok(same(L.racyIncrements(3) as Program<unknown>, 8) >= 8);
});

test('dining philosophers: deadlocks and lock-order cycles survive the split', () => {
  assert.ok(same(L.philosophers(3) as Program<unknown>, 6) >= 6);
});

test('a preemption bound applies inside every subtree', () => {
  same(L.lastzero(3) as Program<unknown>, 5, { preemptionBound: 1 });
});

test('a tree smaller than the target is split as far as it goes', () => {
  const n = same(L.readers(1) as Program<unknown>, 64);
  assert.ok(n >= 1 && n < 64, `${n} subtrees`);
});
