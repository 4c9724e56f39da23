// read/write through the device fd (drivers/vfio/pci/vfio_pci_rdwr.c): vfio_pci_bar_rw() ->
// vfio_pci_core_do_io_rw(), which splits the access into pieces of up to 8 bytes; each piece takes
// memory_lock for read and fails with -EIO when memory is disabled. vfio_pci_rw()
// first takes a runtime-PM reference, which wakes the device rather than testing
// pm_runtime_engaged.

import type { Thread } from '../../../sched/program.js';
import { PAGE_SIZE } from '../../mm/arch.js';
import { hasMemoryLock, type VfioPciCoreDevice, vfioPciMemoryEnabled } from './core.js';

export const EIO = -5;

// drivers/vfio/pci/vfio_pci_rdwr.c: vfio_pci_bar_rw()
/** Reads or writes `length` bytes at `offset` in BAR `index`; returns bytes done or -errno. */
export function* vfioPciBarRw(
  vdev: VfioPciCoreDevice,
  index: number,
  offset: number,
  length: number,
  write: boolean,
  thread: string,
  /** The caller holds memory_lock for read across the whole call (v5.8's read/write). */
  held = false,
): Thread<number> {
  const bar = vdev.pdev.bars[index];
  if (!bar || offset < 0 || offset + length > bar.size) return -22;
  let done = 0;
  // v5.7 had no memory_lock: the access ran unlocked (and unchecked, rwChecksDecode).
  const lock = !held && hasMemoryLock(vdev);
  while (done < length) {
    const piece = Math.min(8, length - done);
    if (lock) yield* vdev.memoryLock.downRead();
    // v5.7 did the access whatever the decode state (rwChecksDecode).
    if (vdev.machine.design.options.rwChecksDecode && !(yield* vfioPciMemoryEnabled(vdev))) {
      if (lock) yield* vdev.memoryLock.upRead();
      return done > 0 ? done : EIO;
    }
    const pfn = Math.floor((bar.phys + offset + done) / PAGE_SIZE);
    yield* vdev.machine.access({
      by: 'kernel',
      thread,
      write,
      pfn,
      via: `${vdev.pdev.name} BAR${index} ${write ? 'write' : 'read'}`,
    });
    if (lock) yield* vdev.memoryLock.upRead();
    done += piece;
  }
  return done;
}
