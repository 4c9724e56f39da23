// Runs a folded dpor search twice: as it runs (a branch whose first thread cannot run is dropped at
// the backtrack, by Node.enabled; a branch that starts where the last execution stopped goes on
// from there) and replaying every branch from the setup. Checks that only the work differs: the
// same executions in the same order, the same blocked and folded counts, the same violations with
// the same counts, no more events. Returns the two event counts.

import assert from 'node:assert/strict';
import { dpor } from '../../../src/sched/dpor.js';
import type { ExploreOptions, Program } from '../../../src/sched/index.js';
import { Lockdep } from '../../../src/sched/lockdep.js';

export function sameWithoutBlockedReplays<S>(
  program: () => Program<S>,
  options: ExploreOptions,
): { dropped: number; replayed: number } {
  const run = (replayAll: boolean) => {
    const order: string[] = [];
    const col = dpor(
      program(),
      options,
      new Lockdep(),
      (ex) => order.push(ex.evThread.subarray(0, ex.len).join(',')),
      replayAll,
    );
    return { order, col };
  };
  const replayed = run(true);
  const dropped = run(false);
  assert.equal(dropped.order.length, replayed.order.length);
  assert.deepEqual(dropped.order, replayed.order);
  assert.equal(dropped.col.executions, replayed.col.executions);
  assert.equal(dropped.col.blocked, replayed.col.blocked);
  assert.equal(dropped.col.folded, replayed.col.folded);
  const found = (c: typeof dropped.col) =>
    c.violations.map((v) => `${v.kind}:${v.id}:${v.message}:${v.count}`).sort();
  assert.deepEqual(found(dropped.col), found(replayed.col));
  assert.ok(dropped.col.events <= replayed.col.events);
  return { dropped: dropped.col.events, replayed: replayed.col.events };
}
