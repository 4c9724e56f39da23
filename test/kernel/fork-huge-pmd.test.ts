// fork(2) racing a zap of a huge-mapped BAR: copy_huge_pmd() copies its lockless snapshot of the
// parent's special PMD without reading it again (the kernel since v6.12), so the child can keep a
// leaf the zap already removed from the parent; forkRechecksHugePmd re-reads it under the locks.
// copy_huge_pud() always re-reads, so PUD leaves are safe.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';

const found = (file: string, options: Record<string, unknown> = {}): string[] => {
  const sc = loadScenarioFile(file);
  const r = checkScenario(sc, { design: designOf(sc.design.name, { ...sc.design.options, ...options }) });
  assert.ok(r.complete, `${file}: the search completes`);
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
};

describe('fork vs zap on huge BAR mappings', () => {
  test('PMD leaf: the stale snapshot gives the child a mapping of a disabled BAR', () => {
    assert.deepEqual(found('examples/fork-huge-pmd-vs-command.yaml'), [
      'MAPPING_AFTER_REVOKE',
      'MMIO_WHILE_DISABLED',
    ]);
  });

  test('PMD leaf with forkRechecksHugePmd: nothing found', () => {
    assert.deepEqual(found('examples/fork-huge-pmd-vs-command.yaml', { forkRechecksHugePmd: true }), []);
  });

  test('PUD leaf: copy_huge_pud() rechecks, nothing found either way', () => {
    assert.deepEqual(found('examples/fork-huge-pud-vs-command.yaml'), []);
  });
});
