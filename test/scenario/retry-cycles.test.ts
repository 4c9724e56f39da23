// The vma_list era's fault and zap loops (vfio_pci_mmap_fault() re-listing a VMA that
// vfio_pci_zap_and_vma_lock() keeps taking off the list) can take turns for ever under an unfair
// schedule. With the retry-cycle check (src/sched/loop.ts) the search stops each such execution
// where it repeats and completes; without it the model's re-fault bound cut the search.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkExploreOptions, checkScenario, violationId } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { explore } from '../../src/sched/index.js';

const file = 'examples/reset-races-fault.yaml';

for (const design of ['v6.9', 'v5.13', 'v5.8']) {
  test(`reset races a fault on ${design}: complete, with the retry cycle stopped, same violations as the bounded search`, () => {
    const sc = loadScenarioFile(file);
    const d = designOf(design);
    const r = checkScenario(sc, { design: d });
    assert.equal(r.complete, true, JSON.stringify(r.incomplete));
    assert.ok((r.cycles ?? 0) > 0, 'a fault and the zap loop went round at least once');
    // The same program without the check: the re-fault bound stops it, incomplete.
    const program = scenarioProgram(sc, { design: d });
    delete program.sharedState;
    const bounded = explore(program, { ...checkExploreOptions(sc, { design: d }), maxExecutions: 400 });
    assert.equal(bounded.complete, false);
    assert.ok(bounded.incomplete?.some((c) => c.reason === 'searchBound'));
    const ids = (vs: { id?: string; kind: string }[]): string[] =>
      [...new Set(vs.map((v) => v.id ?? v.kind))].sort();
    assert.deepEqual(
      ids(r.violations.map((v) => ({ id: v.invariant, kind: v.kind }))),
      ids(bounded.violations.map((v) => ({ id: violationId(v), kind: v.kind }))),
    );
  });
}
