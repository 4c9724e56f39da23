// A page-table event in a trace says which entry it read and what it saw (pgtable.ts:
// PtRegion.traceSlots), not the whole region: the walk of an address shows its translation, a read
// of an entry its kind and pfn, a leaf-only read whether the entry is a huge leaf.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../../src/scenario/check.js';
import { parseScenario } from '../../../src/scenario/load.js';

test('page-table reads in a trace name the entry and what it held', () => {
  const sc = parseScenario(`name: one fault
devices:
  - name: gpu0
    bars: [ { index: 0, size: 4M, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, offset: 0, length: 4M, at: 0x7f0000000000, as: m }
threads:
  vmm:
    - load: { map: m, offset: 0x1000 }
    - load: { map: m, offset: 0x201000 }
`);
  const rec = runScenario(sc);
  const reads = rec.steps.filter((s) => s.op === 'read' && /\.pt@/.test(s.object)).map((s) => s.result);
  // The first access: the walk misses, the fault finds the PUD entry empty and tries a PUD leaf.
  assert.equal(reads[0], JSON.stringify('pte 0x7f0000001000: none'));
  assert.ok(reads.includes(JSON.stringify('pud 0x7f0000000000: none')), reads.join('\n'));
  // The PMD fault maps a 2 MiB leaf; the access after it walks to that leaf.
  assert.ok(
    reads.some((r) => r === JSON.stringify('pte 0x7f0000001000: pmd leaf, pfn 0x3800001')),
    reads.join('\n'),
  );
});
