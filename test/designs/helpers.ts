// Shared by the dmabuf-backed tests: one process that maps 16 KiB of a BAR through the device fd.

import type { designOf } from '../../src/designs/design.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../src/kernel/mm/mmap.js';
import { regionOffset } from '../../src/kernel/vfio/pci/core.js';
import { sysOpen } from '../../src/uapi/syscalls.js';
import { System } from '../../src/uapi/system.js';
import { runOnce } from '../kernel/helpers/run.js';

const KiB = 1024;

/**
 * Device gpu0 with BAR0 and BAR1 of `barSize` bytes; process p opens it and mmaps 16 KiB of BAR
 * `region` from `offset` through the device fd, in one execution on `design`.
 */
export function mappedThroughDeviceFd(
  design: ReturnType<typeof designOf>,
  { barSize = 16 * KiB, region = 0, offset = 0 }: { barSize?: number; region?: number; offset?: number } = {},
) {
  return runOnce(
    () =>
      new System({
        design,
        devices: [
          {
            name: 'gpu0',
            bars: [
              { index: 0, size: barSize, phys: 0x3800000000 },
              { index: 1, size: barSize, phys: 0x3800010000 },
            ],
          },
        ],
      }),
    function* (s) {
      const p = s.spawn('p');
      const fd = yield* sysOpen(p, 'gpu0');
      const file = p.fds.get(fd)!;
      const vma = (yield* doMmap(p.mm, { file, len: 16 * KiB, offset: regionOffset(region, offset) })) as Vma;
      return { s, p, file, vma };
    },
  ).result;
}
