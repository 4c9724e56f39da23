// The `import` operation: a revocable importer unmaps from its invalidate_mappings callback, as the
// kernel's revocable importers do, so importer DMA against a reset is no deadlock; `ignoresMove`
// keeps the misbehaving importer, whose mapping a v7.1 revoke waits for until `importer_unmap`.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const scenario = (importArgs: string, rdma: string[]) =>
  parseScenario(
    `name: importer against a reset
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
  - import: { fd: buf, as: imp, revocable: true${importArgs} }
threads:
  rdma:
${rdma.map((o) => `    - ${o}\n`).join('')}  admin:
    - reset: { fd: dev, expect: ok }
`,
    'importer.yaml',
  );

const ids = (r: ReturnType<typeof checkScenario>) =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();

test('importer DMA against a reset: no deadlock, no violation (the importer unmaps when told)', () => {
  const r = checkScenario(scenario('', ['importer_dma: { importer: imp, expect: any }']));
  assert.ok(r.complete);
  assert.deepEqual(ids(r), []);
});

test('ignoresMove: a reset with no importer_unmap waits for ever (DEADLOCK); with one it completes', () => {
  const stuck = checkScenario(
    scenario(', ignoresMove: true', ['importer_dma: { importer: imp, expect: any }']),
  );
  assert.deepEqual(ids(stuck), ['DEADLOCK']);
  const unmaps = checkScenario(
    scenario(', ignoresMove: true', [
      'importer_dma: { importer: imp, expect: any }',
      'importer_unmap: { importer: imp }',
    ]),
  );
  assert.deepEqual(ids(unmaps), []);
});
