// A machine with VFIO-PCI devices and one process, for vfio tests.

import { DESIGNS, type Design } from '../../../../src/designs/design.js';
import { watchMmioWhileDisabled } from '../../../../src/invariants/mmio-while-disabled.js';
import type { FdTable } from '../../../../src/kernel/dma-buf/dma-buf.js';
import type { File } from '../../../../src/kernel/fs/file.js';
import { Machine, type ThpSetting } from '../../../../src/kernel/machine.js';
import type { ArchName } from '../../../../src/kernel/mm/arch.js';
import { Mm } from '../../../../src/kernel/mm/mm.js';
import type { Vma } from '../../../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../../../src/kernel/mm/mmap.js';
import { type BarSpec, PciDev } from '../../../../src/kernel/pci/pci.js';
import { regionOffset, VfioPciCoreDevice } from '../../../../src/kernel/vfio/pci/core.js';
import { type FeatureDmaBuf, vfioPciCoreFeatureDmaBuf } from '../../../../src/kernel/vfio/pci/dmabuf.js';
import { vfioDeviceOpenFile } from '../../../../src/kernel/vfio/vfio_main.js';
import { runAtomically, type Thread } from '../../../../src/sched/index.js';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
export const VA = 0x7f0000000000;

export interface Rig {
  machine: Machine;
  mm: Mm;
  devs: VfioPciCoreDevice[];
  fds: File[];
  vmas: Vma[];
  out: unknown[];
}

export interface RigOptions {
  arch?: ArchName;
  thp?: ThpSetting;
  /** Devices (default one, gpu0, BAR0 4 MiB at a 1 GiB-aligned address, BAR2 64 KiB). */
  devices?: { name: string; bars: BarSpec[]; reset?: boolean; noCommandMemory?: boolean }[];
  /** The design (default upstream). */
  design?: Design;
  /** fds to open in setup: device index per fd. */
  open?: number[];
  /** mmaps in setup: [fd index, BAR, length, VA]. */
  map?: [number, number, number, number][];
}

export function rig(o: RigOptions = {}): Rig {
  const machine = new Machine(o.arch ?? 'x86_64', o.thp ?? 'always', o.design ?? DESIGNS.upstream);
  watchMmioWhileDisabled(machine);
  const specs = o.devices ?? [
    {
      name: 'gpu0',
      bars: [
        { index: 0, size: 4 * MiB, phys: 0x3800000000 },
        { index: 2, size: 64 * 1024, phys: 0x3900000000 },
      ],
    },
  ];
  const devs = specs.map((d) => new VfioPciCoreDevice(machine, new PciDev(machine, d)));
  const mm = new Mm(machine, 'mm0');
  const fds = (o.open ?? [0]).map((i) => {
    const f = runAtomically(vfioDeviceOpenFile(devs[i]!.vdev));
    if (typeof f === 'number') throw new Error(`open failed: ${f}`);
    return f;
  });
  const vmas = (o.map ?? []).map(([fd, bar, len, at]) => {
    const v = runAtomically(doMmap(mm, { file: fds[fd]!, len, offset: regionOffset(bar), at }));
    if (typeof v === 'number') throw new Error(`mmap failed: ${v}`);
    return v;
  });
  return { machine, mm, devs, fds, vmas, out: [] };
}

/**
 * VFIO_DEVICE_FEATURE_DMA_BUF as kernel-side tests use it: the fd goes into a throwaway fd table
 * (never full), and the new dma-buf's file comes back, or the -errno.
 */
export function* exportFile(vdev: VfioPciCoreDevice, req: FeatureDmaBuf): Thread<File | number> {
  let file: File | undefined;
  const files: FdTable = {
    *getUnusedFdFlags() {
      yield* [];
      return 3;
    },
    fdInstall(_fd, f) {
      file = f;
    },
  };
  const r = yield* vfioPciCoreFeatureDmaBuf(vdev, req, files);
  return r < 0 ? r : file!;
}
