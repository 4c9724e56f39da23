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
import { sameWithoutBlockedReplays } from '../sched/helpers/blocked-branches.js';

const FILE = fileURLToPath(new URL('../../../examples/v6.10-address-space.yaml', import.meta.url));

test('a folded kernel search drops blocked branches at the backtrack and runs the same executions', () => {
  const sc = loadScenarioFile(FILE);
  const design = designOf('v5.8');
  // 300 executions: a mask left from an earlier execution where one stopped (at the node it ended
  // on, which may still hold branches) first sends this search elsewhere at its 124th.
  const options = { ...checkExploreOptions(sc, { design }), maxExecutions: 300 };
  assert.equal(options.foldStates, true);
  const { dropped, replayed } = sameWithoutBlockedReplays(() => scenarioProgram(sc, { design }), options);
  assert.ok(dropped < replayed, `events: ${dropped} dropping, ${replayed} replaying`);
});
