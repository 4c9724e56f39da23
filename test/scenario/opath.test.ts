// The `open_path` operation (open("/proc/self/fd/N", O_PATH)) in scenarios: what an O_PATH fd can
// and cannot do, and the use-after-free of a dma-buf's file in vfio_pci_dma_buf_cleanup() that an
// O_PATH fd on the dma-buf makes possible (docs/findings.md #5), with and without the posted fix
// (design option dmabufFileAnnulled).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DesignName, designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { threadOutcomes } from './helpers/outcomes.js';

const EXAMPLES = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');

const HEAD = `name: O_PATH fds
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
  - iommufd: { as: ictx }
  - ioas: { iommufd: ictx, as: ioas }
  - open_path: { fd: dev, as: odev }
  - open_path: { fd: buf, as: obuf }
  - open_path: { fd: ictx, as: oictx }
threads:
  t:
`;

const outcomes = (...ops: string[]): string[] =>
  threadOutcomes(HEAD + ops.map((o) => `    - ${o}\n`).join(''), 'opath.yaml');

describe('an O_PATH fd', () => {
  test('every operation that needs the file itself says EBADF (fdget() does not find it)', () => {
    assert.deepEqual(
      outcomes(
        'reset: { fd: odev }',
        'command: { fd: odev, memory: false }',
        'pread: { fd: odev, region: 0, length: 4 }',
        'mmap: { fd: odev, region: 0, length: 4K, as: m1 }',
        'mmap: { fd: obuf, length: 4K, as: m2 }',
        'export: { fd: odev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: b2 }',
        'import: { fd: obuf, as: imp, revocable: true }',
        'map_file: { ioas: ioas, fd: obuf, iova: 0x100000, length: 4K }',
        'ioas: { iommufd: oictx, as: ioas2 }',
        'attach: { fd: odev, ioas: ioas }',
      ),
      Array(10).fill('EBADF'),
    );
  });

  test('close, dup, send and open_path work on it; open_path of an fd that is not open is ENOENT', () => {
    assert.deepEqual(
      outcomes(
        'dup: { fd: obuf, as: d }',
        'open_path: { fd: d, as: o2 }',
        'close: { fd: d }',
        'close: { fd: o2 }',
        'close: { fd: obuf }',
        'open_path: { fd: obuf, as: o3 }',
      ),
      ['ok', 'ok', 'ok', 'ok', 'ok', 'ENOENT'],
    );
  });

  test('the device stays usable through its own fd while an O_PATH fd of it is open', () => {
    assert.deepEqual(outcomes('reset: { fd: dev }', 'close: { fd: odev }', 'reset: { fd: dev }'), [
      'ok',
      'ok',
      'ok',
    ]);
  });
});

const ids = (r: ReturnType<typeof checkScenario>): string[] =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();

describe('vfio_pci_dma_buf_cleanup() and a dma-buf whose dentry an O_PATH fd holds', () => {
  const uaf = loadScenarioFile(join(EXAMPLES, 'dmabuf-opath-cleanup-uaf.yaml'));
  const race = loadScenarioFile(join(EXAMPLES, 'dmabuf-opath-close-race.yaml'));
  const affected: DesignName[] = ['upstream', 'v7.1', 'v6.19', 'dmabuf-backed', 'shared-base'];

  for (const d of affected) {
    test(`${d}: USE_AFTER_FREE in get_file_active(); none with dmabufFileAnnulled`, () => {
      const bad = checkScenario(uaf, { design: designOf(d) });
      assert.ok(bad.complete);
      assert.deepEqual(ids(bad), ['USE_AFTER_FREE']);
      assert.match(bad.violations[0]!.message, /get_file_active\(\) on gpu0\.dmabuf/);
      const fixed = checkScenario(uaf, { design: designOf(d, { dmabufFileAnnulled: true }) });
      assert.ok(fixed.complete);
      assert.deepEqual(ids(fixed), []);
    });
  }

  test('before v6.19 there is no export to walk: no use-after-free (the export is ENOTTY)', () => {
    const r = checkScenario(uaf, { design: designOf('v6.12') });
    assert.ok(!ids(r).includes('USE_AFTER_FREE'));
  });

  test('the two-thread race: some orders free the file before the walk (USE_AFTER_FREE), others not; none with the fix', () => {
    const bad = checkScenario(race, { design: designOf('upstream') });
    assert.ok(bad.complete);
    assert.deepEqual(ids(bad), ['USE_AFTER_FREE']);
    const count = bad.violations[0]!.count ?? 0;
    assert.ok(count > 0 && count < bad.executions, `${count} of ${bad.executions} executions`);
    const fixed = checkScenario(race, { design: designOf('upstream', { dmabufFileAnnulled: true }) });
    assert.ok(fixed.complete);
    assert.deepEqual(ids(fixed), []);
  });

  test('without the O_PATH fd the same closes are clean on every dma-buf design', () => {
    const text = `name: no O_PATH
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
threads:
  closer:
    - close: { fd: buf, expect: ok }
  vmm:
    - close: { fd: dev, expect: ok }
`;
    for (const d of affected) {
      const r = checkScenario(parseScenario(text, 'no-opath.yaml'), { design: designOf(d) });
      assert.ok(r.complete, d);
      assert.deepEqual(ids(r), [], d);
    }
  });
});
