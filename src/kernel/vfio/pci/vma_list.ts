// The vma_list era of VFIO-PCI BAR mapping (v5.8 to v6.9; drivers/vfio/pci/vfio_pci.c of those
// releases): a fault records its VMA on vdev->vma_list under vma_lock and populates the whole VMA
// with io_remap_pfn_range(); vm_ops->open zaps a new VMA (fork, split) so it must fault to be
// listed; vm_ops->close takes it off the list; a zap walks the list and, to keep the lock order
// mmap_lock -> vma_lock -> memory_lock, drops vma_lock to take each mm's mmap_lock (the lock dance
// of vfio_pci_zap_and_vma_lock()). The design options pick v5.8, v5.13 or v6.9.

import { loopEnd, loopHead } from '../../../sched/loop.js';
import type { Thread } from '../../../sched/program.js';
import { PAGE_SIZE } from '../../mm/arch.js';
import { remapPfnRange, zapVmaPtes } from '../../mm/memory.js';
import type { Mm } from '../../mm/mm.js';
import {
  VM_FAULT_NOPAGE,
  VM_FAULT_SIGBUS,
  type Vma,
  type VmFault,
  type VmOperations,
} from '../../mm/mm_types.js';
import { type VfioPciCoreDevice, vfioPciMemoryEnabled } from './core.js';

/**
 * vfio_pci.c: vfio_pci_mmap_fault(). v5.8: under vma_lock and memory_lock (read) check memory and
 * list the VMA (a new entry every time, listed or not), drop vma_lock, then io_remap_pfn_range()
 * the whole VMA — two concurrent faults on one VMA both remap, and remap_pfn_range() BUG()s on the
 * PTEs the other installed. v5.13
 * (6a45ece4c9af, "vfio/pci: Handle concurrent vma faults"): vma_lock is held across the whole
 * fault, a VMA already on the list is left as it is, and the VMA is listed after populating.
 * Either way the locks are dropped in the kernel's order: v5.8 unlocks vma_lock before up_read()
 * on every path, v5.13 up_read()s first.
 */
function* vfioPciMmapFault(vmf: VmFault): Thread<number> {
  const vma = vmf.vma;
  const vdev = vma.privateData as VfioPciCoreDevice;
  const fixed = vdev.machine.design.options.faultSkipsPopulated;
  yield* vdev.vmaLock.lock();
  yield* vdev.memoryLock.downRead();
  let ret = VM_FAULT_NOPAGE;
  // pm_runtime_engaged is tested from v6.1 (the low-power feature); v5.8 to v5.13 test memory only.
  const lowPower = vdev.machine.design.options.coreEra === 'v6' && (yield* vdev.pmRuntimeEngaged.read());
  const enabled = !lowPower && (yield* vfioPciMemoryEnabled(vdev));
  if (!enabled && !fixed) {
    // v5.8 drops vma_lock before memory_lock on this path too (then up_out: up_read).
    yield* vdev.vmaLock.unlock();
    yield* vdev.memoryLock.upRead();
    return VM_FAULT_SIGBUS;
  }
  if (!enabled) {
    ret = VM_FAULT_SIGBUS;
  } else if (fixed) {
    if (!vdev.vmaList.includes(vma)) {
      if ((yield* remapPfnRange(vma, vma.start, vma.pgoff, vma.end - vma.start)) !== 0) {
        ret = VM_FAULT_SIGBUS;
        yield* zapVmaPtes(vma, vma.start, vma.end - vma.start);
      } else {
        addVma(vdev, vma);
      }
    }
  } else {
    // v5.8 lists the VMA again even when it is listed: two faults that both get here before
    // either remaps leave two entries for it (v5.13 checks the list first, above).
    addVma(vdev, vma);
    yield* vdev.vmaLock.unlock();
    if ((yield* remapPfnRange(vma, vma.start, vma.pgoff, vma.end - vma.start)) !== 0) ret = VM_FAULT_SIGBUS;
    yield* vdev.memoryLock.upRead();
    return ret;
  }
  yield* vdev.memoryLock.upRead();
  yield* vdev.vmaLock.unlock();
  return ret;
}

// drivers/vfio/pci/vfio_pci_core.c (vfio_pci.c before v5.15; v5.8 to v6.9): __vfio_pci_add_vma() — a new entry at the list's head (list_add), with no look for one already there.
function addVma(vdev: VfioPciCoreDevice, vma: Vma): void {
  vdev.vmaList.unshift(vma);
}

// drivers/vfio/pci/vfio_pci_core.c (vfio_pci.c before v5.15; v5.8 to v6.9): vfio_pci_mmap_open() — a new VMA (fork, split) is
// zapped so that it must fault, and so be listed, before it maps anything.
function* vfioPciMmapOpen(vma: Vma): Thread<void> {
  yield* zapVmaPtes(vma, vma.start, vma.end - vma.start);
}

// drivers/vfio/pci/vfio_pci_core.c (vfio_pci.c before v5.15; v5.8 to v6.9): vfio_pci_mmap_close() — off the list under vma_lock.
function* vfioPciMmapClose(vma: Vma): Thread<void> {
  const vdev = vma.privateData as VfioPciCoreDevice;
  yield* vdev.vmaLock.lock();
  const i = vdev.vmaList.indexOf(vma);
  if (i >= 0) vdev.vmaList.splice(i, 1);
  yield* vdev.vmaLock.unlock();
}

/** vfio_pci_mmap_ops of the vma_list era. */
export function vfioPciMmapOpsVmaList(): VmOperations {
  return {
    name: 'vfio_pci_mmap_ops',
    fault: vfioPciMmapFault,
    open: vfioPciMmapOpen,
    close: vfioPciMmapClose,
  };
}

/**
 * vfio_pci.c: vfio_pci_zap_and_vma_lock(vdev, try) — returns with vma_lock held and vma_list
 * empty (true), or, trying, having taken nothing (false). Per mm on the list: drop vma_lock, take
 * that mm's mmap_lock for read, take vma_lock again, zap and unlist every VMA of that mm.
 */
export function* vfioPciZapAndVmaLock(vdev: VfioPciCoreDevice, tryOnly: boolean): Thread<boolean> {
  const invocation = {};
  try {
    for (;;) {
      // A fault can list a VMA again each time the list is dropped: a loop to go round with it.
      loopHead(invocation);
      if (tryOnly) {
        if (!(yield* vdev.vmaLock.tryLock())) return false;
      } else {
        yield* vdev.vmaLock.lock();
      }
      // mmget_not_zero() of the mm of the list's first entry, the one listed last (every mm is
      // alive in the model).
      const first = vdev.vmaList[0];
      if (!first) return true;
      const mm: Mm = first.mm;
      yield* vdev.vmaLock.unlock();
      if (tryOnly) {
        if (!(yield* mm.mmapLock.tryDownRead())) return false;
        if (!(yield* vdev.vmaLock.tryLock())) {
          yield* mm.mmapLock.upRead();
          return false;
        }
      } else {
        yield* mm.mmapLock.downRead();
        yield* vdev.vmaLock.lock();
      }
      for (const vma of [...vdev.vmaList]) {
        if (vma.mm !== mm) continue;
        vdev.vmaList.splice(vdev.vmaList.indexOf(vma), 1);
        yield* zapVmaPtes(vma, vma.start, vma.end - vma.start);
      }
      yield* vdev.vmaLock.unlock();
      yield* mm.mmapLock.upRead();
    }
  } finally {
    loopEnd(invocation);
  }
}

/** vm_pgoff after vfio_pci_mmap() of that era: the BAR's first pfn plus the page offset. */
export function vmaListPgoff(barPhys: number, pgoffInRegion: number): number {
  return Math.floor(barPhys / PAGE_SIZE) + pgoffInRegion;
}
