// dpor drops a wakeup-tree branch whose first thread cannot run where it starts (Node.enabled,
// kept as executions pass each node) instead of replaying its prefix to find that out. On a folded
// kernel search, where the fold's race step makes many such branches, that must change nothing but
// the work: the same executions in the same order, the same blocked count, fewer events.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { designOf } from '../../src/designs/design.js';
import { checkExploreOptions } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { dpor } from '../../src/sched/dpor.js';
import { Lockdep } from '../../src/sched/lockdep.js';

const FILE = fileURLToPath(new URL('../../../examples/v6.10-address-space.yaml', import.meta.url));

test('a folded kernel search drops blocked branches at the backtrack and runs the same executions', () => {
  const sc = loadScenarioFile(FILE);
  const design = designOf('v5.8');
  // 300 executions: a mask left from an earlier execution where one stopped (at the node it ended
  // on, which may still hold branches) first sends this search elsewhere at its 124th.
  const options = { ...checkExploreOptions(sc, { design }), maxExecutions: 300 };
  assert.equal(options.foldStates, true);
  const run = (replayBlocked: boolean) => {
    const order: string[] = [];
    const col = dpor(
      scenarioProgram(sc, { design }),
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
  assert.equal(dropped.col.blocked, replayed.col.blocked);
  assert.ok(replayed.col.blocked > 0);
  assert.ok(
    dropped.col.events < replayed.col.events,
    `events: ${dropped.col.events} dropping, ${replayed.col.events} replaying`,
  );
});
