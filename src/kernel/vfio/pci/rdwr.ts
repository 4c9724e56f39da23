// read/write through the device fd (drivers/vfio/pci/vfio_pci_rdwr.c): vfio_pci_bar_rw() ->
// vfio_pci_core_do_io_rw(), which splits the access into pieces of up to 8 bytes; each piece takes
// memory_lock for read and fails with -EIO when memory is disabled. vfio_pci_rw()
// first takes a runtime-PM reference, which wakes the device rather than testing
// pm_runtime_engaged.

import type { Thread } from '../../../sched/program.js';
import { PAGE_SIZE } from '../../mm/arch.js';
import { cpuAccess } from '../../mm/memory.js';
import type { Mm } from '../../mm/mm.js';
import { hasMemoryLock, type VfioPciCoreDevice, vfioPciMemoryEnabled } from './core.js';
import type { VfioPciRw } from './driver.js';

export const EIO = -5;
const EFAULT = -14;
const EINVAL = -22;

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_rw() (vfio_pci_core_read()/write()'s body; v5: in
 * vfio_pci.c) for a BAR region (the model reads and writes no other region through here: -EINVAL). Without a
 * user buffer the copy is not modelled (private memory that never faults). With one, each piece is
 * copied to or from it after memory_lock is dropped (copy_to_user()/copy_from_user(),
 * bc93b9ae0151), so the copy can fault — and can itself be an access to a BAR mapping.
 */
export function* vfioPciRw(
  vdev: VfioPciCoreDevice,
  o: VfioPciRw,
  write: boolean,
  mm: Mm,
  thread: string,
): Thread<number> {
  if (o.region >= 6) return EINVAL;
  if (o.buffer === undefined) return yield* vfioPciBarRw(vdev, o.region, o.offset, o.length, write, thread);
  // Before bc93b9ae0151 (v5.13), memory_lock was held for read across the copy to user space too
  // (from v5.8, which introduced it: v5.7 had no memory_lock).
  const held = !vdev.machine.design.options.rwLockPerAccess && hasMemoryLock(vdev);
  if (held) yield* vdev.memoryLock.downRead();
  try {
    return yield* rwThroughBuffer(mm, vdev, { ...o, buffer: o.buffer }, write, thread, held);
  } finally {
    if (held) yield* vdev.memoryLock.upRead();
  }
}

// model-only: vfio_pci_core_do_io_rw()'s loop with its user copies — pieces of up to 8 bytes, each
// copied from user space before the device write, or to it after the device read; the access of
// each piece is vfioPciBarRw() (which the model keeps whole for the calls without a buffer).
function* rwThroughBuffer(
  mm: Mm,
  vdev: VfioPciCoreDevice,
  o: Required<VfioPciRw>,
  write: boolean,
  thread: string,
  held: boolean,
): Thread<number> {
  let done = 0;
  while (done < o.length) {
    const piece = Math.min(8, o.length - done);
    // pwrite: copy_from_user() first; pread: the device read first, then copy_to_user().
    if (write) {
      const c = yield* cpuAccess(mm, o.buffer + done, false, thread);
      if (c !== 'ok') return done > 0 ? done : EFAULT;
    }
    const r = yield* vfioPciBarRw(vdev, o.region, o.offset + done, piece, write, thread, held);
    if (r < 0) return done > 0 ? done : r;
    if (!write) {
      const c = yield* cpuAccess(mm, o.buffer + done, true, thread);
      if (c !== 'ok') return done > 0 ? done : EFAULT;
    }
    done += piece;
  }
  return done;
}

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

/**
 * drivers/vfio/pci/vfio_pci_rdwr.c: vfio_pci_core_do_io_rw() — `count` bytes at `off` of a mapping
 * of the memory at `phys`, in pieces of up to 8 bytes (VFIO_PCI_IO_WIDTH_8): a write copies each
 * piece from user space (-EFAULT) and then writes it; a read reads it and then copies it to user
 * space. With `testMem` each device access is under memory_lock held for read and fails with -EIO
 * when memory is disabled; without it (nvgrace-gpu's resmem) there is neither. Returns the bytes
 * done. Without a user buffer only the device side is modelled.
 */
export function* vfioPciCoreDoIoRw(
  vdev: VfioPciCoreDevice,
  testMem: boolean,
  phys: number,
  buffer: number | undefined,
  off: number,
  count: number,
  iswrite: boolean,
  ctx: { mm: Mm; thread: string; via: string },
): Thread<number> {
  let done = 0;
  while (done < count) {
    const piece = Math.min(8, count - done);
    if (iswrite && buffer !== undefined) {
      if ((yield* cpuAccess(ctx.mm, buffer + done, false, ctx.thread)) !== 'ok') return EFAULT;
    }
    if (testMem) {
      yield* vdev.memoryLock.downRead();
      if (!(yield* vfioPciMemoryEnabled(vdev))) {
        yield* vdev.memoryLock.upRead();
        return EIO;
      }
    }
    yield* vdev.machine.access({
      by: 'kernel',
      thread: ctx.thread,
      write: iswrite,
      pfn: Math.floor((phys + off + done) / PAGE_SIZE),
      via: ctx.via,
    });
    if (testMem) yield* vdev.memoryLock.upRead();
    if (!iswrite && buffer !== undefined) {
      if ((yield* cpuAccess(ctx.mm, buffer + done, true, ctx.thread)) !== 'ok') return EFAULT;
    }
    done += piece;
  }
  return done;
}
