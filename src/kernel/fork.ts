// fork(2)'s copy of the address space: kernel/fork.c (mm/mmap.c in newer trees): dup_mmap().

import type { Thread } from '../sched/program.js';
import { getFile } from './fs/file.js';
import { PMD_SIZE, PUD_SIZE } from './mm/arch.js';
import { Mm } from './mm/mm.js';
import { Vma } from './mm/mm_types.js';

// mm/mmap.c: dup_mmap() (kernel/fork.c in older releases)
/**
 * dup_mmap(): with the parent's mmap_lock held for write and the child's taken nested, each VMA is
 * duplicated; since 35e351780fa9 (v6.9, "fork: defer linking file vma until vma is fully
 * initialized") vm_ops->open() runs first, then the file VMA is linked into i_mmap (get_file(),
 * i_mmap_lock_write), then copy_page_range() copies the parent's entries: for VM_PFNMAP VMAs
 * vma_needs_copy() is true (VM_COPY_ON_FORK), because a fault could not refill them.
 * copy_huge_pmd() copies a *special* huge leaf and skips any other (it "can be re-filled on
 * fault"), copy_huge_pud() copies any huge PUD; PTEs are copied
 * as they are (special pfnmap PTEs take no page reference). The child VMA goes into i_mmap right
 * after the parent's (vma_interval_tree_insert_after()), so a zap walking i_mmap meets the parent
 * first. Per-VMA locks and flush_tlb_mm(oldmm) have no counterpart here (no TLBs).
 */
export function* dupMmap(parent: Mm): Thread<Mm> {
  yield* parent.mmapLock.downWrite();
  const child = new Mm(parent.machine, `${parent.name}.${++parent.forks}`);
  yield* child.mmapLock.downWrite(1); // mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING)
  for (const mpnt of parent.vmas) {
    // vm_area_dup()
    const tmp = new Vma(
      child,
      mpnt.start,
      mpnt.end,
      mpnt.pgoff,
      mpnt.flags,
      mpnt.file,
      mpnt.ops,
      mpnt.privateData,
      mpnt.pageProt,
    );
    child.insertVma(tmp);
    const openFirst = parent.machine.design.options.forkOpenBeforeCopy;
    if (openFirst && tmp.ops?.open) yield* tmp.ops.open(tmp);
    const file = tmp.file;
    if (file) {
      yield* getFile(file);
      yield* file.mapping.iMmapRwsem.downWrite();
      file.mapping.insertAfter(tmp, mpnt); // vma_interval_tree_insert_after()
      yield* file.mapping.iMmapRwsem.upWrite();
    }
    yield* copyPageRange(tmp, mpnt);
    // Before 35e351780fa9 (v6.9), ->open ran after the copy.
    if (!openFirst && tmp.ops?.open) yield* tmp.ops.open(tmp);
  }
  yield* child.mmapLock.upWrite();
  yield* parent.mmapLock.upWrite();
  return child;
}

// mm/memory.c: copy_page_range() -> copy_p?d_range() for a VM_PFNMAP VMA. Each level takes the
// child's lock, then the parent's nested (spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING)), so a
// zap of the parent running at the same time (which takes no mmap_lock) is ordered against it.
function* copyPageRange(dst: Vma, src: Vma): Thread<void> {
  const spt = src.mm.pt;
  const dpt = dst.mm.pt;
  for (let pudVa = src.start - (src.start % PUD_SIZE); pudVa < src.end; pudVa += PUD_SIZE) {
    const ps = spt.pud.slot(pudVa);
    const pe = yield* spt.pud.read(ps);
    if (pe === undefined) continue;
    if (pe.t === 'leaf') {
      // copy_huge_pud(): a huge PUD is copied whether or not it is special.
      yield* dpt.pud.lock.lock();
      yield* spt.pud.lock.lock(1);
      const now = yield* spt.pud.read(ps);
      if (now?.t === 'leaf') yield* dpt.pud.set(ps, now);
      yield* spt.pud.lock.unlock();
      yield* dpt.pud.lock.unlock();
      continue;
    }
    const spmd = spt.pmdTable(pudVa);
    const lo = Math.max(src.start, pudVa);
    const hi = Math.min(src.end, pudVa + PUD_SIZE);
    for (let pmdVa = lo - (lo % PMD_SIZE); pmdVa < hi; pmdVa += PMD_SIZE) {
      const ms = spmd.slot(pmdVa);
      const me = yield* spmd.read(ms);
      if (me === undefined) continue;
      const dpmd = yield* dpt.pmdAlloc(pmdVa);
      if (dpmd === null) continue;
      if (me.t === 'leaf') {
        // copy_huge_pmd(): likewise.
        if (!me.leaf.special) continue;
        yield* dpmd.lock.lock();
        yield* spmd.lock.lock(1);
        const now = yield* spmd.read(ms);
        if (now?.t === 'leaf') yield* dpmd.set(dpmd.slot(pmdVa), now);
        yield* spmd.lock.unlock();
        yield* dpmd.lock.unlock();
        continue;
      }
      // copy_pte_range(): special PTEs are copied as they are, the table's range in one hold of
      // both locks.
      const dpte = yield* dpt.pteAlloc(dpmd, pmdVa);
      if (dpte === null) continue;
      const spte = spt.pteTable(pmdVa);
      const from = spte.slot(Math.max(src.start, pmdVa));
      const to = spte.slot(Math.min(src.end, pmdVa + PMD_SIZE) - 1) + 1;
      yield* dpte.lock.lock();
      yield* spte.lock.lock(1);
      const copied = (yield* spte.readRange(from, to)).in(from, to);
      if (copied.length > 0) yield* dpte.setRuns(from, to, copied);
      yield* spte.lock.unlock();
      yield* dpte.lock.unlock();
    }
  }
}
