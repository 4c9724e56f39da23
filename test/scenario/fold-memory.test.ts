// A folded check whose table of finished states is kept within a tiny memory budget forgets
// states, explores on where it meets them again, and reaches the same verdict (the report says how
// many it forgot): what a search that runs for hours on a vma_list design relies on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { designOf } from '../../src/designs/design.js';
import { checkExploreOptions, checkReportOf } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { explore } from '../../src/sched/index.js';

const FILE = fileURLToPath(new URL('../../../examples/v5.8-fault-vs-disable.yaml', import.meta.url));

test('a folding table within a tiny memory budget forgets states and keeps the verdict', () => {
  const sc = loadScenarioFile(FILE);
  const design = designOf('v5.8');
  const options = checkExploreOptions(sc, { design });
  assert.equal(options.foldStates, true, 'the vma_list designs fold by default');
  const run = (foldMemoryMiB?: number) => {
    const r = explore(scenarioProgram(sc, { design }), {
      ...options,
      ...(foldMemoryMiB !== undefined ? { foldMemoryMiB } : {}),
    });
    return checkReportOf(sc, design, r, 0);
  };
  const whole = run();
  const small = run(0.0002);
  assert.equal(whole.foldForgotten, undefined);
  assert.ok((small.foldForgotten ?? 0) > 0, 'nothing was forgotten');
  assert.equal(small.complete, true);
  assert.equal(small.verdict, whole.verdict);
  assert.deepEqual(
    small.violations.map((v) => v.invariant).sort(),
    whole.violations.map((v) => v.invariant).sort(),
  );
  assert.ok(small.executions >= whole.executions, `${small.executions} < ${whole.executions}`);
});
