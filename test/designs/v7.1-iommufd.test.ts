// v7.1 against upstream (v7.2) in iommufd's handling of dma-buf pages: the release path's order
// (f2d70dbd3dce) and lock (e745cd2c749e), and the in-kernel access pin (5f3fc0ad9a41).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { threadOutcomes } from '../scenario/helpers/outcomes.js';

function ids(file: string, design: string, options: Record<string, unknown> = {}): string[] {
  const sc = loadScenarioFile(file);
  const r = checkScenario(sc, { design: designOf(design, options) });
  assert.equal(r.complete, true);
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
}

const SETUP = (design: string) => `name: access pin
design: ${design}
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: nic0
    bars: [ { index: 0, size: 16K, phys: 0x3a00000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
  - iommufd: { as: ictx }
  - ioas: { iommufd: ictx, as: io }
  - map_file: { ioas: io, fd: buf, iova: 0x100000, length: 4K }
threads:
  t:
`;

describe('v7.1 iommufd and dma-buf pages', () => {
  test('the release unpins without the reservation lock on v7.1 (ERROR), under it on upstream', () => {
    const f = 'examples/v7.1-iommufd-unpin-without-resv.yaml';
    assert.deepEqual(ids(f, 'v7.1'), ['ERROR']);
    assert.deepEqual(ids(f, 'v7.1', { ioptUnpinTakesResv: true }), []);
    assert.deepEqual(ids(f, 'upstream'), []);
    // v6.19's iommufd does not pin: nothing to unpin.
    assert.deepEqual(ids(f, 'v6.19'), []);
  });

  test('a revoke can lock the pages mutex the release destroyed: destroy-first only', () => {
    const f = 'examples/v7.1-iommufd-release-vs-revoke.yaml';
    assert.deepEqual(ids(f, 'v7.1', { ioptUnpinTakesResv: true }), ['USE_AFTER_FREE']);
    assert.deepEqual(ids(f, 'v7.1', { ioptUnpinTakesResv: true, ioptReleaseOrder: 'detach-first' }), []);
    assert.deepEqual(ids(f, 'upstream'), []);
    assert.deepEqual(ids(f, 'upstream', { ioptReleaseOrder: 'destroy-first' }), ['USE_AFTER_FREE']);
  });

  test('access_pin of dma-buf pages: mmap_lock under pages->mutex (LOCK_ORDER) on v7.1, EINVAL on upstream', () => {
    const f = 'examples/v7.1-iommufd-access-pin-dmabuf.yaml';
    assert.deepEqual(ids(f, 'v7.1'), ['LOCK_ORDER']);
    assert.deepEqual(ids(f, 'upstream'), []);
    assert.deepEqual(
      threadOutcomes(
        `${SETUP('upstream')}    - access_pin: { ioas: io, iova: 0x100000, length: 4K }\n`,
        'a.yaml',
      ),
      ['EINVAL'],
    );
    // v7.1: GUP of the overlaid "user pointer" fails; a range with no area is ENOENT either way.
    assert.deepEqual(
      threadOutcomes(
        `${SETUP('v7.1')}    - access_pin: { ioas: io, iova: 0x100000, length: 4K }\n    - access_pin: { ioas: io, iova: 0x200000, length: 4K }\n`,
        'a.yaml',
      ),
      ['EFAULT', 'ENOENT'],
    );
  });

  test('the cycle closes through the declared lock order: mmap_lock comes before the locks the revoke holds', () => {
    const sc = parseScenario(
      `${SETUP('v7.1')}    - access_pin: { ioas: io, iova: 0x100000, length: 4K, expect: any }\n  admin:\n    - command: { fd: dev, memory: false }\ncheck: { strategy: dpor }\n`,
      'a.yaml',
    );
    const r = checkScenario(sc);
    const lo = r.violations.find((v) => v.invariant === 'LOCK_ORDER');
    assert.ok(lo, 'LOCK_ORDER found');
    assert.match(lo.message, /acquires mmap_lock \(read\) while holding iopt_pages_dmabuf_mutex/);
    assert.match(lo.message, /mmap_lock -> \w+: a dependency declared/);
  });
});
