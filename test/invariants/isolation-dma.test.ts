// ISOLATION for device DMA: a device somebody holds keeps no IOMMU translation into the BAR of a
// device nobody holds any more. type1's MAP_DMA of a BAR mmap is the way in (it keeps no link to
// the VMA or the device); iommufd's MAP_FILE of a dma-buf is revoked before the device is released.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

/** Two devices, and the start of the setup that opens both (dev, nicfd). */
const GPU_AND_NIC = `devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: nic0
    bars: [ { index: 0, size: 16K, phys: 0x3a00000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - open: { device: nic0, as: nicfd }
`;

/** A VMM holding a GPU and a NIC, with the GPU's BAR page mapped into the NIC's domain by type1. */
function type1(threads: string, extraSetup = ''): string {
  return `name: isolation dma
${GPU_AND_NIC}  - mmap: { fd: dev, region: 0, offset: 0, length: 4K, as: m }
  - container: { fds: [nicfd], as: c }
  - map_dma: { container: c, map: m, offset: 0, iova: 0x100000, length: 4K, backend: type1, expect: ok }
${extraSetup}threads:
${threads}
`;
}

/** The ids found; `only`: check ISOLATION alone (the close also leaves MMIO_WHILE_DISABLED). */
const ids = (src: string, o: { only?: boolean } = {}): string[] => {
  const text = o.only ? `${src}check: { invariants: [ISOLATION] }\n` : src;
  const r = checkScenario(parseScenario(text));
  return [...new Set(r.violations.map((v) => v.invariant))];
};

describe('ISOLATION through device DMA', () => {
  test('a type1 translation into a device that was then closed', () => {
    const src = type1(`  vmm:
    - munmap: { map: m }
    - close: { fd: dev }`);
    assert.ok(ids(src, { only: true }).includes('ISOLATION'));
  });

  test('not while the GPU is still held (its fd, or a second fd of it)', () => {
    assert.deepEqual(ids(type1(`  vmm:\n    - munmap: { map: m }`), { only: true }), []);
    const dup = type1(
      `  vmm:
    - munmap: { map: m }
    - close: { fd: dev }`,
      '  - dup: { fd: dev, as: dev2 }\n',
    );
    assert.deepEqual(ids(dup, { only: true }), []);
  });

  test('not once the NIC is released first: nobody holds the DMA side any more', () => {
    const src = type1(`  vmm:
    - close: { fd: nicfd }
    - munmap: { map: m }
    - close: { fd: dev }`);
    assert.deepEqual(ids(src, { only: true }), []);
  });

  test('two processes releasing the two devices: dpor finds the order that opens the window', () => {
    // A released GPU while the NIC is still held exists only when the GPU's close ends first. The
    // closes share no object (two fd tables, two files), so only the ordering of the open counts
    // of two devices one process family holds (scopes.ts) makes dpor explore both orders; the
    // first execution runs the NIC's close first.
    const src = type1(
      `  b:
    - close: { fd: n2 }
  a:
    - close: { fd: dev }
processes: { vmm: [a], helper: [b] }`,
      `  - munmap: { map: m }
  - send: { fd: nicfd, to: helper, as: n2 }
  - close: { fd: nicfd }
`,
    );
    assert.ok(ids(src, { only: true }).includes('ISOLATION'));
  });

  test('iommufd MAP_FILE: the close revokes before the release, on the designs with export', () => {
    const src = `name: map file close
${GPU_AND_NIC}  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
  - iommufd: { as: ictx }
  - ioas: { iommufd: ictx, as: io }
  - attach: { fd: nicfd, ioas: io }
  - map_file: { ioas: io, fd: buf, iova: 0x100000, length: 4K, expect: ok }
threads:
  vmm:
    - close: { fd: dev }
    - dma: { device: nic0, iova: 0x100000, expect: EFAULT }
`;
    assert.deepEqual(ids(src), []);
  });
});
