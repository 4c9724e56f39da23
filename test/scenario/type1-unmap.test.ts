// VFIO_IOMMU_UNMAP_DMA (`unmap_dma`) and type1's mapping bookkeeping: map and unmap under
// iommu->lock, -EEXIST for a range already mapped, type1v2's refusal to cut a mapping, and whole
// mappings removed from the IOMMU.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { threadOutcomes } from './helpers/outcomes.js';

const HEAD = `name: type1 unmap
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: nic0
    bars: [ { index: 0, size: 16K, phys: 0x3a00000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - open: { device: nic0, as: nicfd }
  - mmap: { fd: dev, region: 0, offset: 0, length: 16K, as: m }
  - container: { fds: [nicfd], as: c }
  - map_dma: { container: c, map: m, offset: 0, iova: 0x100000, length: 8K, backend: type1 }
  - map_dma: { container: c, map: m, offset: 0x2000, iova: 0x200000, length: 4K, backend: type1 }
threads:
  t:
`;

function outcomes(...ops: string[]): string[] {
  return threadOutcomes(HEAD + ops.map((o) => `    - ${o}\n`).join(''), 'type1-unmap.yaml');
}

describe('unmap_dma (type1v2)', () => {
  test('a range that cuts a mapping is refused and changes nothing; whole mappings go', () => {
    assert.deepEqual(
      outcomes(
        'unmap_dma: { container: c, iova: 0x101000, length: 4K }',
        'unmap_dma: { container: c, iova: 0x100000, length: 4K }',
        'dma: { device: nic0, iova: 0x101000 }',
        'unmap_dma: { container: c, iova: 0x100000, length: 0x101000 }',
        'dma: { device: nic0, iova: 0x100000 }',
        'dma: { device: nic0, iova: 0x200000 }',
      ),
      ['EINVAL', 'EINVAL', 'ok', 'ok', 'EFAULT', 'EFAULT'],
    );
  });

  test('map over a mapped range is EEXIST; after an unmap the range maps again', () => {
    assert.deepEqual(
      outcomes(
        'map_dma: { container: c, map: m, offset: 0, iova: 0x101000, length: 4K, backend: type1 }',
        'unmap_dma: { container: c, iova: 0x100000, length: 8K }',
        'map_dma: { container: c, map: m, offset: 0, iova: 0x101000, length: 4K, backend: type1 }',
        'dma: { device: nic0, iova: 0x101000 }',
      ),
      ['EEXIST', 'ok', 'ok', 'ok'],
    );
  });

  test('empty, unaligned or unmapped ranges: EINVAL, EINVAL, and ok with nothing unmapped', () => {
    assert.deepEqual(
      outcomes(
        'unmap_dma: { container: c, iova: 0x100000, length: 0 }',
        'unmap_dma: { container: c, iova: 0x100800, length: 4K }',
        'unmap_dma: { container: c, iova: 0x300000, length: 4K }',
        'dma: { device: nic0, iova: 0x100000 }',
      ),
      ['EINVAL', 'EINVAL', 'ok', 'ok'],
    );
  });

  test('an fd that is not a container: ENOTTY for a device fd', () => {
    assert.deepEqual(outcomes('unmap_dma: { container: dev, iova: 0x100000, length: 8K }'), ['ENOTTY']);
  });
});
