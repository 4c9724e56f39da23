// mremap(2) (mm/mremap.c): only the part that matters to device mappings — growing a VM_DONTEXPAND
// or VM_PFNMAP VMA is refused with -EFAULT, so a BAR mapping can never reach past what its mmap
// checked; shrinking unmaps the tail.

import type { Thread } from '../../sched/program.js';
import { PAGE_SIZE } from './arch.js';
import type { Mm } from './mm.js';
import { anyFlag, VM_DONTEXPAND, VM_PFNMAP } from './mm_types.js';
import { doMunmapLocked } from './vma.js';

export const EFAULT = -14;
export const EINVAL = -22;

// mm/mremap.c: do_mremap() -> vma_to_resize() / resize_is_valid(), for an in-place resize.
export function* mremap(mm: Mm, addr: number, oldLen: number, newLen: number): Thread<number> {
  if (addr % PAGE_SIZE !== 0 || oldLen <= 0 || newLen <= 0) return EINVAL;
  yield* mm.mmapLock.downWrite();
  let r = 0;
  const vma = mm.vmaLookup(addr);
  if (!vma || addr + oldLen > vma.end) r = EFAULT;
  else if (newLen < oldLen) r = yield* doMunmapLocked(mm, addr + newLen, oldLen - newLen);
  else if (newLen > oldLen && anyFlag(vma.flags, VM_DONTEXPAND | VM_PFNMAP)) r = EFAULT;
  else if (newLen > oldLen) {
    // Growing an ordinary VMA in place: only if nothing follows it.
    const next = mm.vmas.find((v) => v.start >= vma.end);
    if (next && next.start < addr + newLen) r = -12;
    else vma.end = addr + newLen;
  }
  yield* mm.mmapLock.upWrite();
  return r;
}
