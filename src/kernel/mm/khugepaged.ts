// madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE) on a VMA: mm/khugepaged.c: hugepage_madvise(), called
// from mm/madvise.c: madvise_vma_behavior() under mmap_lock held for write.

import type { Thread } from '../../sched/program.js';
import type { Mm } from './mm.js';
import { clearFlags, setFlags, VM_HUGEPAGE, VM_NOHUGEPAGE } from './mm_types.js';

export const EINVAL = -22;
export const ENOMEM = -12;

// mm/madvise.c: madvise_vma_behavior() -> mm/khugepaged.c: hugepage_madvise()
export function* madviseHugepage(
  mm: Mm,
  start: number,
  len: number,
  advice: 'hugepage' | 'nohugepage',
): Thread<number> {
  yield* mm.mmapLock.downWrite();
  const vmas = mm.vmas.filter((v) => v.start < start + len && v.end > start);
  let err = 0;
  if (vmas.length === 0) err = ENOMEM;
  for (const vma of vmas) {
    // hugepage_madvise(): set one flag and clear the other. (The kernel also splits the VMA at the
    // range's ends; the model applies the advice to whole VMAs.)
    vma.flags =
      advice === 'hugepage'
        ? setFlags(clearFlags(vma.flags, VM_NOHUGEPAGE), VM_HUGEPAGE)
        : setFlags(clearFlags(vma.flags, VM_HUGEPAGE), VM_NOHUGEPAGE);
  }
  yield* mm.mmapLock.upWrite();
  return err;
}
