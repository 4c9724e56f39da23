// Private anonymous memory (docs/mm.md, "Anonymous memory and userfaultfd"): mmap(MAP_PRIVATE |
// MAP_ANONYMOUS), the missing-page fault (mm/memory.c: do_anonymous_page()) and the write fault on
// the zero page (do_wp_page() -> wp_page_copy()). The model tracks no data, so a page is only a pfn
// of RAM; huge anonymous pages are not made (see thpVmaAllowableOrder()).

import type { Thread } from '../../sched/program.js';
import { handleUserfault, userfaultfdMissing } from '../fs/userfaultfd.js';
import { PAGE_SIZE } from './arch.js';
import { flushTlbMm } from './memory.js';
import type { Mm } from './mm.js';
import {
  hasFlag,
  setFlags,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  Vma,
  type VmFault,
} from './mm_types.js';
import { unmappedArea } from './mmap.js';

export const EINVAL = -22;

// mm/mmap.c: do_mmap() with MAP_PRIVATE | MAP_ANONYMOUS, PROT_READ | PROT_WRITE
/**
 * A new private anonymous VMA, mmap_lock held for write around it (vm_mmap_pgoff()). The model
 * links every mapping as a VMA of its own: the kernel would merge an anonymous VMA with a
 * compatible neighbour (vma_merge_new_range()), which changes no fault's outcome. Returns the VMA.
 */
export function* mmapAnon(mm: Mm, len: number, at?: number): Thread<Vma | number> {
  if (len <= 0 || (at !== undefined && at % PAGE_SIZE !== 0)) return EINVAL;
  const size = Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
  yield* mm.mmapLock.downWrite();
  const addr = at ?? unmappedArea(mm, size);
  if (at !== undefined && mm.vmas.some((v) => v.start < at + size && at < v.end)) {
    // MAP_FIXED over an existing mapping would unmap it first; the model's scenarios do not do that.
    yield* mm.mmapLock.upWrite();
    return EINVAL;
  }
  const flags = setFlags(0, VM_READ | VM_WRITE);
  const vma = new Vma(mm, addr, addr + size, addr / PAGE_SIZE, flags, undefined, undefined, undefined, 'wb');
  mm.insertVma(vma);
  yield* mm.mmapLock.upWrite();
  return vma;
}

// mm/memory.c: do_anonymous_page()
/**
 * The first touch of a page of anonymous memory (mmap_lock held for read). A read maps the shared
 * zero page, read-only (special, as pte_mkspecial() makes it); a write maps a new page. The entry
 * is set under the PTE table's lock if it is still empty; a VMA registered with a userfaultfd for
 * missing pages hands the fault to handle_userfault() instead, once the lock shows the page is
 * still missing — after the new page was allocated, for a write.
 */
export function* doAnonymousPage(vmf: VmFault): Thread<number> {
  const vma = vmf.vma;
  if (hasFlag(vma.flags, VM_SHARED)) return VM_FAULT_SIGBUS;
  const pt = vma.mm.pt;
  const pmd = yield* pt.pmdAlloc(vmf.address);
  if (pmd === null) return VM_FAULT_OOM;
  // pte_alloc(): a PMD that became a huge leaf meanwhile has no PTE table.
  const pte = yield* pt.pteAlloc(pmd, vmf.address);
  if (pte === null) return VM_FAULT_OOM;
  const machine = vma.mm.machine;
  // The write path allocates its folio before taking the lock (alloc_anon_folio()).
  const pfn = vmf.write ? machine.allocPage() : machine.zeroPfn();
  yield* pte.lock.lock();
  const idx = pte.slot(vmf.address);
  if ((yield* pte.readLeaf(idx)) !== undefined) {
    // Another thread filled it (update_mmu_tlb()): the access retries and finds it.
    yield* pte.lock.unlock();
    return 0;
  }
  if (userfaultfdMissing(vma)) {
    yield* pte.lock.unlock();
    return yield* handleUserfault(vmf);
  }
  yield* pte.setLeaves(idx, idx + 1, pfn, !vmf.write, vmf.write && hasFlag(vma.flags, VM_WRITE));
  yield* pte.lock.unlock();
  return 0;
}

// mm/memory.c: do_wp_page() -> wp_page_copy() for the zero page
/**
 * A write to a present, read-only anonymous PTE (the zero page: nothing else is mapped read-only
 * in the model). handle_pte_fault() took the PTE lock and found the entry unchanged; wp_page_copy()
 * drops it to allocate a new page, takes it again, and if the entry is still the one it saw,
 * replaces it with the new page (ptep_clear_flush(): clear, flush the TLB, set) before unlocking.
 */
export function* doWpPage(vmf: VmFault, seenPfn: number): Thread<number> {
  const vma = vmf.vma;
  if (!hasFlag(vma.flags, VM_WRITE)) return VM_FAULT_SIGBUS;
  const mm = vma.mm;
  const pte = mm.pt.pteTable(vmf.address);
  const idx = pte.slot(vmf.address);
  yield* pte.lock.lock();
  const cur = yield* pte.readLeaf(idx);
  yield* pte.lock.unlock();
  if (cur === undefined || cur.pfn !== seenPfn || cur.write) return 0; // !pte_same(): retry
  const pfn = mm.machine.allocPage();
  yield* pte.lock.lock();
  const again = yield* pte.readLeaf(idx);
  if (again !== undefined && again.pfn === seenPfn && !again.write) {
    yield* pte.clear(idx, idx + 1);
    yield* flushTlbMm(mm);
    yield* pte.setLeaves(idx, idx + 1, pfn, false, true);
  }
  yield* pte.lock.unlock();
  return 0;
}
