// fork(2) racing a zap of a huge-mapped BAR: copy_huge_pmd() copies its lockless snapshot of the
// parent's special PMD without reading it again (the kernel since v6.12), so the child can keep a
// leaf the zap already removed from the parent; forkRechecksHugePmd re-reads it under the locks.
// copy_huge_pud() always re-reads, so PUD leaves are safe.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';

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

  test('PUD leaf: copy_huge_pud() rechecks, nothing found', () => {
    // The COMMAND example on a 1 GiB BAR mapped by one PUD leaf (x86_64).
    const file = 'examples/fork-huge-pmd-vs-command.yaml';
    const src = readFileSync(file, 'utf8')
      .replaceAll('size: 2M', 'size: 1G')
      .replace('length: 2M, at: 0x7f0000200000', 'length: 1G, at: 0x7f0040000000')
      .replace(/^expect: .*$/m, 'expect: { violations: [] }');
    assert.match(src, /length: 1G, at: 0x7f0040000000/);
    const r = checkScenario(parseScenario(src, file));
    assert.ok(r.complete);
    assert.deepEqual(r.violations, []);
  });
});
