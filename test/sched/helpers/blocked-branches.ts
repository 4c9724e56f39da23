// Runs dpor twice, dropping the branches whose first thread cannot run at the backtrack (Node.enabled)
// and replaying them, and checks that only the work differs: the same executions in the same
// order, the same blocked and folded counts, no more events. Returns the two event counts.

import assert from 'node:assert/strict';
import { dpor } from '../../../src/sched/dpor.js';
import type { ExploreOptions, Program } from '../../../src/sched/index.js';
import { Lockdep } from '../../../src/sched/lockdep.js';

export function sameWithoutBlockedReplays<S>(
  program: () => Program<S>,
  options: ExploreOptions,
): { dropped: number; replayed: number } {
  const run = (replayBlocked: boolean) => {
    const order: string[] = [];
    const col = dpor(
      program(),
      options,
      new Lockdep(),
      (ex) => order.push(ex.evThread.subarray(0, ex.len).join(',')),
      replayBlocked,
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
  assert.ok(dropped.col.events <= replayed.col.events);
  return { dropped: dropped.col.events, replayed: replayed.col.events };
}
