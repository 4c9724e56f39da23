// fork(2)'s copy of the address space: kernel/fork.c (mm/mmap.c in newer trees): dup_mmap().

import type { Thread } from '../sched/program.js';
import { getFile } from './fs/file.js';
import { PMD_SIZE, PUD_SIZE } from './mm/arch.js';
import { Mm } from './mm/mm.js';
import { clearFlags, VM_UFFD_MISSING, Vma } from './mm/mm_types.js';
import type { Entry, Table } from './mm/pgtable.js';

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
 * first. Per-VMA locks have no counterpart here, nor has the flush_tlb_mm(oldmm) at the end: it
 * is there for the parent's PTEs that copy-on-write made read-only, and the model neither shares
 * anonymous pages at fork nor changes a parent entry, so no CPU of the parent can hold a
 * translation that fork made stale (a zap's own flush still waits for every window that read an
 * entry it cleared).
 */
export function* dupMmap(
  parent: Mm,
  /**
   * The child mm's name, which every object of it carries (`mm.<process>`: fork(2) names it after
   * the child process); without one, the parent's name and a fork count (`mm.vmm.1`).
   */
  name?: string,
): Thread<Mm> {
  yield* parent.mmapLock.downWrite();
  const child = new Mm(parent.machine, name ?? `${parent.name}.${++parent.forks}`);
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
    if (mpnt.anonymous) {
      // dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK the child's VMA is not registered.
      tmp.flags = clearFlags(tmp.flags, VM_UFFD_MISSING);
      tmp.uffd = undefined;
      // copy_page_range() would share the pages copy-on-write; the model tracks no data, so the
      // child's VMA starts empty and its first touch gets a page of its own (a documented
      // simplification: docs/mm.md, "Anonymous memory and userfaultfd").
      continue;
    }
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

// mm/memory.c: copy_page_range() -> copy_pud_range() for a VM_PFNMAP VMA (vma_needs_copy() holds
// for it). The parent's entries are read without a lock where the kernel peeks at them (the
// pud_trans_huge()/pmd_trans_huge() tests, pud/pmd_none_or_clear_bad(), pmdp_get_lockless()), and
// under the parent's lock, taken nested inside the child's, where it copies. The parent's
// mmap_lock (held for write) keeps faults out, but not a zap through i_mmap
// (unmap_mapping_range() takes no mmap_lock): a parent entry can only go from present to none
// while fork runs.
function* copyPageRange(dst: Vma, src: Vma): Thread<void> {
  const spt = src.mm.pt;
  for (let pudVa = src.start - (src.start % PUD_SIZE); pudVa < src.end; pudVa += PUD_SIZE) {
    const ps = spt.pud.slot(pudVa);
    // copy_pud_range(): the lockless pud_trans_huge() peek; pud_none_or_clear_bad() after it reads
    // the same entry again, which only a zap can have emptied meanwhile (one event stands for both:
    // every outcome of two reads is that of one read at the second).
    const pe = yield* spt.pud.read(ps);
    if (pe === undefined) continue;
    if (pe.t === 'leaf') {
      if (yield* copyHugePud(dst, src, ps)) continue;
      // -EAGAIN (the PUD changed before the locks): copy_pud_range() falls through to
      // pud_none_or_clear_bad(), another lockless read.
      const again = yield* spt.pud.read(ps);
      if (again?.t !== 'table') continue;
    }
    const lo = Math.max(src.start, pudVa);
    const hi = Math.min(src.end, pudVa + PUD_SIZE);
    yield* copyPmdRange(dst, src, pudVa, lo, hi);
  }
}

// mm/huge_memory.c: copy_huge_pud() — the child's PUD lock, the parent's nested, the parent's PUD
// read under both (it rechecks), copied if it is still a huge leaf, special or not.
function* copyHugePud(dst: Vma, src: Vma, ps: number): Thread<boolean> {
  const spud = src.mm.pt.pud;
  const dpud = dst.mm.pt.pud;
  yield* dpud.lock.lock();
  yield* spud.lock.lock(1); // spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING)
  const now = yield* spud.read(ps);
  const copied = now?.t === 'leaf';
  if (now?.t === 'leaf') yield* dpud.set(ps, { t: 'leaf', leaf: { ...now.leaf } });
  yield* spud.lock.unlock();
  yield* dpud.lock.unlock();
  return copied;
}

// mm/memory.c: copy_pmd_range() — pmd_alloc() of the child's PMD table once for the whole range,
// then per PMD entry of the parent: a huge leaf goes to copy_huge_pmd(), an empty one is skipped
// (pmd_none_or_clear_bad()), a PTE table is copied by copy_pte_range().
function* copyPmdRange(dst: Vma, src: Vma, pudVa: number, lo: number, hi: number): Thread<void> {
  const spt = src.mm.pt;
  const dpt = dst.mm.pt;
  const dpmd = yield* dpt.pmdAlloc(pudVa);
  if (dpmd === null) return;
  const spmd = spt.pmdTable(pudVa);
  for (let pmdVa = lo - (lo % PMD_SIZE); pmdVa < hi; pmdVa += PMD_SIZE) {
    const ms = spmd.slot(pmdVa);
    // The pmd_trans_huge() peek of copy_pmd_range() and the pmdp_get_lockless() snapshot that
    // copy_huge_pmd() takes right after it: two lockless reads of one entry, one event here (a zap
    // between them gives what a zap before the second gives). For a table, the peek and
    // pmd_none_or_clear_bad().
    const me = yield* spmd.read(ms);
    if (me === undefined) continue;
    if (me.t === 'leaf') {
      // The snapshot, kept as it was read (what the kernel holds in its local pmd_t).
      const snapshot: Entry = { t: 'leaf', leaf: { ...me.leaf } };
      const r = yield* copyHugePmd(src, dpmd, spmd, pmdVa, snapshot);
      if (r !== 'again') continue;
      // -EAGAIN (only with forkRechecksHugePmd): pmd_none_or_clear_bad() reads the entry again.
      const again = yield* spmd.read(ms);
      if (again?.t !== 'table') continue;
    }
    yield* copyPteRange(dst, src, dpmd, spmd, pmdVa);
  }
}

/**
 * mm/huge_memory.c: copy_huge_pmd() for a file VMA. A snapshot that is present and special: the
 * child's pmd_lock, the parent's nested, and the child's PMD is set from the snapshot. The kernel
 * does not read the parent's PMD again under the locks (its comment: the write mmap_lock keeps it
 * still), so a zap that emptied the parent's PMD after the snapshot, and walked the child's VMA
 * before this copy, leaves the child with the leaf. forkRechecksHugePmd re-reads it under the
 * locks and copies only a leaf that is still there (else -EAGAIN). A snapshot that is not special
 * is skipped: a file VMA can be refilled by a fault.
 */
function* copyHugePmd(
  src: Vma,
  dpmd: Table,
  spmd: Table,
  pmdVa: number,
  snapshot: Entry,
): Thread<'copied' | 'skipped' | 'again'> {
  if (snapshot.t !== 'leaf' || !snapshot.leaf.special) return 'skipped';
  const recheck = src.mm.machine.design.options.forkRechecksHugePmd;
  yield* dpmd.lock.lock();
  yield* spmd.lock.lock(1); // spin_lock_nested(src_ptl, SINGLE_DEPTH_NESTING)
  let copy: Entry | undefined = snapshot;
  if (recheck) {
    const now = yield* spmd.read(spmd.slot(pmdVa));
    copy = now?.t === 'leaf' ? { t: 'leaf', leaf: { ...now.leaf } } : undefined;
  }
  if (copy) yield* dpmd.set(dpmd.slot(pmdVa), copy); // set_pmd_at(dst_mm, addr, dst_pmd, pmd)
  yield* spmd.lock.unlock();
  yield* dpmd.lock.unlock();
  return copy ? 'copied' : 'again';
}

/**
 * mm/memory.c: copy_pte_range() — pte_alloc_map_lock() on the child (its PTE table, allocated
 * under the child's pmd_lock if need be, then its PTE lock), pte_offset_map_rw_nolock() on the
 * parent (a lockless read of the parent's PMD entry), the parent's PTE lock nested, and since
 * v6.13 a pmd_same() check against a second lockless read of that entry under the lock; then the
 * table's range is copied in one hold of both locks (special PTEs as they are, no page reference).
 */
function* copyPteRange(dst: Vma, src: Vma, dpmd: Table, spmd: Table, pmdVa: number): Thread<void> {
  const spt = src.mm.pt;
  const dpt = dst.mm.pt;
  const dpte = yield* dpt.pteAlloc(dpmd, pmdVa);
  if (dpte === null) return;
  yield* dpte.lock.lock();
  const ms = spmd.slot(pmdVa);
  const pmdval = yield* spmd.read(ms); // pte_offset_map_rw_nolock(): pmdp_get_lockless()
  if (pmdval?.t !== 'table') {
    yield* dpte.lock.unlock();
    return;
  }
  const spte = spt.pteTable(pmdVa);
  yield* spte.lock.lock(1);
  const same = yield* spmd.read(ms); // pmd_same(pmdval, pmdp_get_lockless(src_pmd))
  if (same?.t === 'table') {
    const from = spte.slot(Math.max(src.start, pmdVa));
    const to = spte.slot(Math.min(src.end, pmdVa + PMD_SIZE) - 1) + 1;
    const copied = (yield* spte.readRange(from, to)).in(from, to);
    if (copied.length > 0) yield* dpte.setRuns(from, to, copied);
  }
  yield* spte.lock.unlock();
  yield* dpte.lock.unlock();
}
