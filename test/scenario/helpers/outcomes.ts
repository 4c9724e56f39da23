// The outcomes of one thread's operations when a scenario runs once (its default schedule), after
// checking that its setup succeeded: what the uAPI tests compare against the kernel's errnos.

import assert from 'node:assert/strict';
import { runScenario } from '../../../src/scenario/check.js';
import { parseScenario } from '../../../src/scenario/load.js';

/** Runs the scenario text once; thread `thread`'s operation outcomes, in order. */
export function threadOutcomes(text: string, file: string, thread = 't'): string[] {
  const r = runScenario(parseScenario(text, file));
  const setupFailed = r.marks.filter(
    (m) => m.kind === 'op-end' && m.thread === 'setup' && m.data.outcome !== 'ok',
  );
  assert.deepEqual(setupFailed, [], 'the setup succeeds');
  return r.marks
    .filter((m) => m.kind === 'op-end' && m.thread === thread)
    .map((m) => m.data.outcome as string);
}
