// Creating and destroying VMAs (mm/vma.c; docs/mm.md, "mmap, munmap, fork, mremap, madvise"): __mmap_region() with f_op->mmap_prepare
// and the legacy f_op->mmap, linking into the final vm_file's i_mmap, vm_ops->mapped, and munmap.

import type { Thread } from '../../sched/program.js';
import { type File, fput, getFile, taskWorkRun } from '../fs/file.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from './arch.js';
import { flushTlbMm, unmapSingleVma } from './memory.js';
import type { Mm } from './mm.js';
import { anyFlag, type PageProt, VM_SPECIAL, type VmAreaDesc, Vma, type VmOperations } from './mm_types.js';

export const ENOMEM = -12;
export const EINVAL = -22;

/** A step of __mmap_region() that a test can make fail, to check that nothing leaks. */
export type MmapFailure = 'prepare' | 'prealloc' | 'mmap' | 'mapped';

export interface MmapRegion {
  file: File;
  addr: number;
  len: number;
  pgoff: number;
  flags: number;
  /** Make this step fail with -ENOMEM (a driver hook is then not called). */
  inject?: MmapFailure;
}

/** mm/vma.c: struct mmap_state — what the steps of __mmap_region() pass along. */
interface MmapState {
  file: File;
  /** The driver's mmap_prepare replaced the file and handed over its reference. */
  fileDoesntNeedGet: boolean;
  flags: number;
  pgoff: number;
  pageProt: PageProt;
  ops: VmOperations | undefined;
  privateData: unknown;
}

// mm/vma.c: call_mmap_prepare()
function* callMmapPrepare(mm: Mm, r: MmapRegion, map: MmapState): Thread<number> {
  const desc: VmAreaDesc = {
    mm,
    file: r.file,
    start: r.addr,
    end: r.addr + r.len,
    pgoff: map.pgoff,
    vmFile: map.file,
    flags: map.flags,
    pageProt: map.pageProt,
    vmOps: undefined,
    privateData: undefined,
  };
  const err = r.inject === 'prepare' ? ENOMEM : yield* r.file.fop.mmapPrepare!(desc);
  if (err !== 0) return err;
  // The driver may have replaced vm_file: it hands over a reference it holds.
  if (desc.vmFile !== map.file) {
    map.file = desc.vmFile;
    map.fileDoesntNeedGet = true;
  }
  map.pgoff = desc.pgoff;
  map.flags = desc.flags;
  map.pageProt = desc.pageProt;
  map.ops = desc.vmOps;
  map.privateData = desc.privateData;
  return 0;
}

// mm/vma.c: can_vma_merge_after() / is_mergeable_vma(), for a new range right after `prev`.
function canMergeAfter(prev: Vma | undefined, r: MmapRegion, map: MmapState): prev is Vma {
  if (!prev || prev.end !== r.addr) return false;
  if (anyFlag(prev.flags, VM_SPECIAL) || anyFlag(map.flags, VM_SPECIAL)) return false;
  if (prev.flags !== map.flags || prev.file !== map.file) return false;
  if (prev.ops?.close) return false;
  return prev.pgoff + prev.pages === map.pgoff;
}

/**
 * mm/vma.c: __mmap_region(), entered with mmap_lock held for write:
 * 1. __mmap_setup(): overlapping VMAs are unmapped (MAP_FIXED);
 * 2. call_mmap_prepare() if the file has f_op->mmap_prepare, before any merge;
 * 3. vma_merge_new_range() with the previous VMA;
 * 4. otherwise __mmap_new_vma(): vma_iter_prealloc(), then __mmap_new_file_vma(): vm_file = the
 *    file (get_file() unless mmap_prepare handed one over), the legacy f_op->mmap, and on its
 *    failure fput() and unmap_region() to undo a partial mapping; then vma_link_file() into the
 *    *final* vm_file's i_mmap;
 * 5. for an mmap_prepare file, vm_ops and private_data are set after linking, and vm_ops->mapped()
 *    runs for a new (not merged) VMA; its failure unmaps the VMA (->close, fput).
 * On failure after mmap_prepare handed over a file, the abort path puts that file.
 * Returns the VMA, or a negative errno.
 */
export function* mmapRegion(mm: Mm, r: MmapRegion): Thread<Vma | number> {
  // 1. __mmap_setup()
  const overlapping = mm.vmas.filter((v) => v.start < r.addr + r.len && v.end > r.addr);
  if (overlapping.length > 0) yield* doMunmapLocked(mm, r.addr, r.len);
  const map: MmapState = {
    file: r.file,
    fileDoesntNeedGet: false,
    flags: r.flags,
    pgoff: r.pgoff,
    pageProt: 'wb',
    ops: undefined,
    privateData: undefined,
  };
  // 2. call_mmap_prepare()
  if (r.file.fop.mmapPrepare) {
    const err = yield* callMmapPrepare(mm, r, map);
    if (err !== 0) return err;
  }
  // 3. vma_merge_new_range()
  const prev = mm.vmas.filter((v) => v.end <= r.addr).at(-1);
  if (canMergeAfter(prev, r, map)) {
    prev.end = r.addr + r.len;
    // The merged VMA already holds its file; drop the one mmap_prepare handed over.
    if (map.fileDoesntNeedGet) yield* fput(map.file);
    return prev;
  }
  // 4. __mmap_new_vma(). For an mmap_prepare file, vm_ops and private_data are set only after the
  // VMA is linked (set_vma_user_defined_fields()); mmap_lock keeps faults away meanwhile.
  const prepared = r.file.fop.mmapPrepare !== undefined;
  const vma = new Vma(
    mm,
    r.addr,
    r.addr + r.len,
    map.pgoff,
    map.flags,
    undefined,
    prepared ? undefined : map.ops,
    prepared ? undefined : map.privateData,
    map.pageProt,
  );
  if (r.inject === 'prealloc') {
    // vma_iter_prealloc() failed: no file reference was taken yet; abort_munmap puts a file
    // that mmap_prepare handed over.
    if (map.fileDoesntNeedGet) yield* fput(map.file);
    return ENOMEM;
  }
  // __mmap_new_file_vma()
  vma.file = map.fileDoesntNeedGet ? map.file : yield* getFile(map.file);
  if (!prepared && r.file.fop.mmap) {
    let err = r.inject === 'mmap' ? ENOMEM : yield* r.file.fop.mmap(vma.file, vma);
    // vfs_mmap() -> __vma_check_mmap_hook(): a legacy ->mmap may not set ->mapped (WARN, -EINVAL).
    if (err === 0 && vma.ops?.mapped) err = EINVAL;
    if (err !== 0) {
      const f = vma.file;
      vma.file = undefined;
      yield* fput(f);
      // unmap_region(): undo any partial mapping done by the driver (no ->close).
      yield* unmapRegion(mm, vma, r.addr, r.addr + r.len);
      return err;
    }
    // The core re-reads vm_file and the flags the driver left (it may have called vma_set_file()).
    map.file = vma.file;
    map.flags = vma.flags;
  }
  // vma_iter_store_new() and vma_link_file(): into the final vm_file's address_space. Nothing after
  // a successful legacy ->mmap can fail.
  mm.insertVma(vma);
  yield* vmaLinkFile(vma);
  if (prepared) {
    vma.ops = map.ops;
    vma.privateData = map.privateData;
    // 5. mmap_action_complete() -> call_vma_mapped(): vm_ops->mapped for a new VMA of an
    // mmap_prepare file (Lorenzo Stoakes' series in linux-next from next-20260409 and the mm tree;
    // not in a mainline release yet). On failure the new VMA is removed by an ordinary do_munmap(),
    // so ->close runs and vm_file is put; overlapped old mappings are not restored.
    if (vma.ops?.mapped || r.inject === 'mapped') {
      const err = r.inject === 'mapped' ? ENOMEM : yield* vma.ops!.mapped!(vma);
      if (err !== 0) {
        yield* doMunmapLocked(mm, vma.start, vma.end - vma.start);
        return err;
      }
    }
  }
  return vma;
}

// mm/vma.c: vma_link_file()
export function* vmaLinkFile(vma: Vma): Thread<void> {
  const file = vma.file;
  if (!file) return;
  const mapping = file.mapping;
  yield* mapping.iMmapRwsem.downWrite();
  mapping.insert(vma);
  yield* mapping.iMmapRwsem.upWrite();
}

// mm/vma.c: unlink_file_vma() -> __remove_shared_vm_struct()
function* unlinkFileVma(vma: Vma): Thread<void> {
  const file = vma.file;
  if (!file) return;
  const mapping = file.mapping;
  yield* mapping.iMmapRwsem.downWrite();
  mapping.remove(vma);
  yield* mapping.iMmapRwsem.upWrite();
}

/**
 * mm/vma.c: unmap_region() — in one mmu_gather: unmap_vmas() zaps the range's page tables between
 * the MMU notifiers' start and end, free_pgtables() frees the tables that no other VMA needs
 * (those wholly inside the gap between the neighbouring VMAs), and tlb_finish_mmu() flushes the
 * TLB once, after both, if an entry was cleared or a table freed.
 */
function* unmapRegion(mm: Mm, vma: Vma, start: number, end: number): Thread<void> {
  for (const n of mm.notifiers) yield* n.invalidateStart(mm, start, end);
  const cleared = yield* unmapSingleVma(vma, start, end);
  for (const n of mm.notifiers) yield* n.invalidateEnd(mm, start, end);
  const floor = mm.vmas.filter((v) => v !== vma && v.end <= start).reduce((a, v) => Math.max(a, v.end), 0);
  const ceiling = mm.vmas
    .filter((v) => v !== vma && v.start >= end)
    .reduce((a, v) => Math.min(a, v.start), Number.MAX_SAFE_INTEGER);
  const freed = yield* freePgtables(mm, floor, ceiling);
  if (cleared || freed) yield* flushTlbMm(mm);
}

// mm/memory.c: free_pgtables() -> free_pgd_range(): page tables wholly inside [floor, ceiling)
// are unhooked (pmd_clear/pud_clear) and freed. Runs under mmap_lock held for write, after the zap
// emptied them; gup-fast cannot be walking them (the kernel's RCU table free keeps it safe). True
// when a table was freed (pte_free_tlb/pmd_free_tlb set the mmu_gather's freed_tables).
function* freePgtables(mm: Mm, floor: number, ceiling: number): Thread<boolean> {
  const pt = mm.pt;
  const filled = new Set(pt.filledIn(floor, ceiling));
  let freed = false;
  for (const mi of [...pt.pteTablesIn(floor, ceiling), ...filled]) {
    const va = mi * PMD_SIZE;
    const pmd = pt.pmdTable(va);
    const s = pmd.slot(va);
    // A table the zap emptied maps nothing: unhooking it changes no translation.
    const empty = !filled.has(mi) && pt.pteTable(va).entries.empty;
    yield* pmd.clearTables(s, s + 1, empty);
    pt.forgetPteTable(va);
    freed = true;
  }
  for (const pi of pt.pmdTablesIn(floor, ceiling)) {
    const va = pi * PUD_SIZE;
    const s = pt.pud.slot(va);
    yield* pt.pud.clearTables(s, s + 1, pt.pmdTable(va).entries.empty);
    pt.forgetPmdTable(va);
    freed = true;
  }
  return freed;
}

// mm/vma.c: remove_vma()
/** Removes one VMA: zap, free tables, unlink from i_mmap, vm_ops->close, fput (mm/vma.c: remove_vma()). */
function* removeVmaLocked(mm: Mm, vma: Vma, close: boolean): Thread<void> {
  yield* unmapRegion(mm, vma, vma.start, vma.end);
  mm.removeVma(vma);
  yield* unlinkFileVma(vma);
  if (close && vma.ops?.close) yield* vma.ops.close(vma);
  if (vma.file) yield* fput(vma.file);
}

/**
 * mm/vma.c: __split_vma() — the part [addr, end) becomes a new VMA: it takes a reference on the
 * file, is linked into i_mmap, and vm_ops->open() is called on it.
 */
export function* splitVma(mm: Mm, vma: Vma, addr: number): Thread<Vma> {
  const tail = new Vma(
    mm,
    addr,
    vma.end,
    vma.pgoff + (addr - vma.start) / PAGE_SIZE,
    vma.flags,
    vma.file,
    vma.ops,
    vma.privateData,
    vma.pageProt,
  );
  if (tail.file) yield* getFile(tail.file);
  if (tail.ops?.open) yield* tail.ops.open(tail);
  // vma_adjust: the old VMA shrinks and the new one is linked, under i_mmap_rwsem.
  const mapping = vma.file?.mapping;
  if (mapping) yield* mapping.iMmapRwsem.downWrite();
  vma.end = addr;
  mapping?.insert(tail);
  mm.insertVma(tail);
  if (mapping) yield* mapping.iMmapRwsem.upWrite();
  return tail;
}

/** mm/vma.c: do_vmi_munmap() with mmap_lock already held for write. */
export function* doMunmapLocked(mm: Mm, start: number, len: number): Thread<number> {
  const end = start + len;
  for (const vma of [...mm.vmas]) {
    if (vma.end <= start || vma.start >= end) continue;
    let v = vma;
    if (v.start < start) v = yield* splitVma(mm, v, start);
    if (v.end > end) yield* splitVma(mm, v, end);
    yield* removeVmaLocked(mm, v, true);
  }
  return 0;
}

// mm/mmap.c: vm_munmap() — munmap(2).
export function* munmap(mm: Mm, start: number, len: number): Thread<number> {
  if (start % PAGE_SIZE !== 0 || len <= 0) return -22;
  yield* mm.mmapLock.downWrite();
  const r = yield* doMunmapLocked(mm, start, Math.ceil(len / PAGE_SIZE) * PAGE_SIZE);
  yield* mm.mmapLock.upWrite();
  yield* taskWorkRun();
  return r;
}
