// Page faults, pfn insertion and zapping (mm/memory.c; docs/mm.md, "Faults" and "Zapping"), and the CPU
// access that drives them.

import { loopEnd, loopHead, resultOnly, retryBound } from '../../sched/loop.js';
import { currentHost } from '../../sched/prim.js';
import type { Thread } from '../../sched/program.js';
import { SearchBound } from '../../sched/violation.js';
import type { AddressSpace } from '../fs/address-space.js';
import { doAnonymousPage, doWpPage } from './anon.js';
import { PAGE_SIZE, PMD_ORDER, PMD_SIZE, PUD_ORDER, PUD_SIZE, specialAt } from './arch.js';
import { checkPfnInsert, insertLeaf, thpVmaAllowableOrder } from './huge_memory.js';
import type { Mm } from './mm.js';
import {
  hasFlag,
  VM_FAULT_ERROR,
  VM_FAULT_FALLBACK,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  type Vma,
  type VmFault,
} from './mm_types.js';
import { lastClearFound, PTRS_PER_TABLE, pfnAt, type Table } from './pgtable.js';

// mm/memory.c: vmf_insert_pfn() -> vmf_insert_pfn_prot() -> insert_pfn(mkwrite = false)
export function* vmfInsertPfn(vma: Vma, addr: number, pfn: number): Thread<number> {
  checkPfnInsert(vma, pfn, 'vmf_insert_pfn');
  if (addr < vma.start || addr >= vma.end) return VM_FAULT_SIGBUS;
  // pfn_modify_allowed() (the x86 L1TF guard) holds for every MMIO pfn the model uses.
  // insert_pfn(): get_locked_pte() allocates the PTE table and takes its lock; a PMD that became a
  // huge leaf meanwhile has no PTE table to lock, and the kernel reports that as VM_FAULT_OOM.
  const pt = vma.mm.pt;
  const pmd = yield* pt.pmdAlloc(addr);
  if (pmd === null) return VM_FAULT_OOM;
  const pte = yield* pt.pteAlloc(pmd, addr);
  if (pte === null) return VM_FAULT_OOM;
  yield* pte.lock.lock();
  const idx = pte.slot(addr);
  const cur = yield* pte.readLeaf(idx);
  if (cur === undefined) {
    // pte_mkspecial(pfn_pte(pfn, prot)): unconditionally special since the 2025 pfn_t removal.
    yield* insertLeaf(pte, idx, vma, pfn, 'pte');
  }
  // An existing entry is left unchanged (mkwrite is false), and the result is still NOPAGE.
  yield* pte.lock.unlock();
  return VM_FAULT_NOPAGE;
}

/** Builds a struct vm_fault for an address in a VMA. */
export function makeVmf(vma: Vma, realAddress: number, write: boolean, allowRetry = false): VmFault {
  const address = realAddress - (realAddress % PAGE_SIZE);
  const pgoff = vma.pgoff + (address - vma.start) / PAGE_SIZE;
  return { vma, address, realAddress, write, pgoff, allowRetry };
}

// mm/memory.c: create_huge_pud() (file VMAs: only ->huge_fault)
function* createHugePud(vmf: VmFault): Thread<number> {
  const ops = vmf.vma.ops;
  if (ops?.hugeFault) return yield* ops.hugeFault(vmf, PUD_ORDER);
  return VM_FAULT_FALLBACK;
}

// mm/memory.c: create_huge_pmd() (file VMAs: only ->huge_fault)
function* createHugePmd(vmf: VmFault): Thread<number> {
  const ops = vmf.vma.ops;
  if (ops?.hugeFault) return yield* ops.hugeFault(vmf, PMD_ORDER);
  return VM_FAULT_FALLBACK;
}

// mm/memory.c: do_fault() -> do_read_fault()/do_shared_fault() -> __do_fault() -> vm_ops->fault.
// A shared write fault goes through do_shared_fault(), a read through do_read_fault(); for a
// pfnmap both end at ->fault returning VM_FAULT_NOPAGE (or an error), which ends the fault.
function* doFault(vmf: VmFault): Thread<number> {
  const vma = vmf.vma;
  if (!vma.ops?.fault) return VM_FAULT_SIGBUS;
  if (vmf.write && !hasFlag(vma.flags, VM_SHARED)) {
    // do_cow_fault(): a private copy of a pfnmap page; the model's drivers refuse private maps.
    return VM_FAULT_SIGBUS;
  }
  return yield* vma.ops.fault(vmf);
}

// mm/memory.c: handle_pte_fault() (a missing entry, and a write to a read-only anonymous one)
function* handlePteFault(vmf: VmFault): Thread<number> {
  // pmd_none(*vmf->pmd), else pte_offset_map_rw_nolock() and ptep_get_lockless(): two lockless
  // reads whose outcome is only whether the address has a present translation below the PUD — a
  // PMD that became a huge leaf (pte_offset_map fails: return and let the access retry) or a
  // present PTE (a spurious fault: another thread filled it) — or none (do_pte_missing()). An
  // empty PMD and an empty PTE under a table both mean none, and the table pointer does not change
  // the answer, so the model makes the pair one read of the address's translation (PageTable.walk,
  // which a new empty table does not conflict with).
  const t = yield* vmf.vma.mm.pt.walk(vmf.address);
  if (t !== null) {
    // A present entry: a write to a read-only one of anonymous memory (the zero page) copies it
    // (do_wp_page(), which takes the PTE lock and checks the entry again); any other is spurious.
    if (vmf.write && !t.write && vmf.vma.anonymous) return yield* doWpPage(vmf, pfnAt(t, vmf.address));
    return 0;
  }
  // do_pte_missing(): do_anonymous_page() for anonymous memory, do_fault() for a file VMA.
  if (vmf.vma.anonymous) return yield* doAnonymousPage(vmf);
  return yield* doFault(vmf);
}

// mm/memory.c: __handle_mm_fault()
/**
 * `allowRetry` (FAULT_FLAG_ALLOW_RETRY): the caller handles VM_FAULT_RETRY, which comes back with
 * mmap_lock already dropped (handle_userfault()).
 */
export function* handleMmFault(
  vma: Vma,
  address: number,
  write: boolean,
  allowRetry = false,
): Thread<number> {
  const vmf = makeVmf(vma, address, write, allowRetry);
  const pt = vma.mm.pt;
  // Whether a huge fault at an order is tried at all: thp_vma_allowable_order(), and the driver's
  // own first check (->huge_fault returning VM_FAULT_FALLBACK before touching anything shared).
  // When it is not, "pud_none(*pud) && thp_vma_allowable_order()" leads to nothing either way, and
  // of the entry only whether it is a huge leaf matters (pud_trans_huge(orig_pud)): the model
  // reads just that (Table.readIsLeaf), which a new PMD table under the entry does not change.
  const tries = (order: number): boolean =>
    thpVmaAllowableOrder(vma.mm, vma, order) && !vma.ops?.hugeFaultFallsBack?.(vmf, order);
  for (;;) {
    // retry_pud: the PUD level always exists (pgd/p4d are folded).
    const pudSlot = pt.pud.slot(vmf.address);
    if (tries(PUD_ORDER)) {
      const pudE = yield* pt.pud.read(pudSlot);
      if (pudE === undefined) {
        const ret = yield* createHugePud(vmf);
        if (!(ret & VM_FAULT_FALLBACK)) return ret;
      } else if (pudE.t === 'leaf') {
        // A huge PUD is already there (another fault won): nothing to do. (A write to a read-only
        // huge entry would go to wp_huge_pud(); VFIO's leaves are writable with the VMA.)
        return 0;
      }
    } else if (yield* pt.pud.readIsLeaf(pudSlot)) return 0;
    const pmd = yield* pt.pmdAlloc(vmf.address);
    // "Huge pud page fault raced with pmd_alloc?": pud_trans_unstable() -> retry.
    if (pmd === null) continue;
    const pmdSlot = pmd.slot(vmf.address);
    if (tries(PMD_ORDER)) {
      const pmdE = yield* pmd.read(pmdSlot);
      if (pmdE === undefined) {
        const ret = yield* createHugePmd(vmf);
        if (!(ret & VM_FAULT_FALLBACK)) return ret;
      } else if (pmdE.t === 'leaf') {
        return 0;
      }
    } else if (yield* pmd.readIsLeaf(pmdSlot)) return 0;
    return yield* handlePteFault(vmf);
  }
}

export type AccessOutcome = 'ok' | 'sigbus' | 'sigsegv' | 'oom';

/**
 * A CPU load or store at `addr` in `mm` (cpuAccess, below). Without `onFault` the caller learns
 * only the outcome, so the access is a resultOnly call: how many faults it took is not the
 * caller's state (state folding, sched/loop.ts).
 */
function cpuAccessByOutcome(...args: Parameters<typeof cpuAccess>): Thread<AccessOutcome> {
  const run = cpuAccess(...args);
  const onFault = args[4];
  return onFault ? run : resultOnly(run);
}

export { cpuAccessByOutcome as cpuAccess };

// model-only: a CPU load or store — the MMU's walk, and on a miss the arch fault handler (arch/x86/mm/fault.c: do_user_addr_fault()).
/**
 * A CPU load or store at `addr` in `mm`: the MMU walks the page table; on a miss the page fault
 * handler runs (arch/x86/mm/fault.c: do_user_addr_fault(): mmap_lock for read, find the VMA,
 * check access rights, handle_mm_fault()) and the instruction retries. The access itself is
 * reported to the machine's observers with the pfn it reached; its faults to the machine's fault
 * observers. `onFault` sees every fault result.
 */
function* cpuAccess(
  mm: Mm,
  addr: number,
  write: boolean,
  thread: string,
  onFault?: (result: number) => void,
): Thread<AccessOutcome> {
  const invocation = {};
  try {
    for (let attempt = 0; ; attempt++) {
      // A fault another thread undoes before the retry is a loop two threads can go round for ever.
      loopHead(invocation);
      // Translation and access are one instruction: a TLB flush cannot come between them.
      yield* mm.tlb.downRead();
      let hit = false;
      try {
        const t = yield* mm.pt.walk(addr);
        if (t !== null && (!write || t.write)) {
          hit = true;
          yield* mm.machine.access({
            by: 'cpu',
            thread,
            write,
            pfn: pfnAt(t, addr),
            via: `${t.level} leaf at 0x${t.base.toString(16)}`,
            addr,
            mm,
          });
        }
      } finally {
        // Also when an access check throws: the instruction ends either way.
        yield* mm.tlb.upRead();
      }
      if (hit) return 'ok';
      // How many times an access may fault before the model calls it stuck (sched/loop.ts): a
      // fault that another thread keeps undoing is caught as a retry cycle once the execution's
      // state repeats; the bound is the backstop for a loop whose state is not compared.
      const bound = retryBound();
      if (attempt === bound) {
        // Another thread undid each fault before this one could use it: under a fair schedule the
        // access goes through eventually; the model stops the search here (a bound, not a bug).
        throw new SearchBound(`access at 0x${addr.toString(16)} still faults after ${bound} page faults`);
      }
      yield* mm.mmapLock.downRead();
      const vma = mm.vmaLookup(addr);
      let ret: number;
      const watchers = mm.machine.faultObservers.map((o) => o({ thread, mm, addr, write }));
      if (!vma || !hasFlag(vma.flags, write ? VM_WRITE : VM_READ)) ret = VM_FAULT_SIGSEGV;
      else ret = yield* handleMmFault(vma, addr, write, true);
      // VM_FAULT_RETRY: the handler dropped mmap_lock (handle_userfault() slept); fault again.
      if (!(ret & VM_FAULT_RETRY)) yield* mm.mmapLock.upRead();
      for (const w of watchers) w?.(ret);
      onFault?.(ret);
      if (ret & VM_FAULT_SIGSEGV) return 'sigsegv';
      if (ret & VM_FAULT_SIGBUS) return 'sigbus';
      if (ret & VM_FAULT_OOM) return 'oom';
      if (ret & VM_FAULT_ERROR) return 'sigbus';
    }
  } finally {
    loopEnd(invocation);
  }
}

/**
 * mm/memory.c: zap_page_range_single() — MMU notifiers (secondary MMUs such as KVM's) are told
 * before and after, unmapSingleVma() clears [start, end) of one VMA, and tlb_finish_mmu() flushes
 * the TLB (flushTlbMm: it waits for every CPU that could still use a cleared translation) only if
 * an entry was cleared: tlb_flush_mmu_tlbonly() returns at once when none of the mmu_gather's
 * cleared_* or freed_tables bits is set, so a zap that found nothing mapped sends no IPI.
 */
export function* zapPageRangeSingle(vma: Vma, start: number, end: number): Thread<void> {
  const mm = vma.mm;
  for (const n of mm.notifiers) yield* n.invalidateStart(mm, start, end);
  const cleared = yield* unmapSingleVma(vma, start, end);
  for (const n of mm.notifiers) yield* n.invalidateEnd(mm, start, end);
  if (cleared) yield* flushTlbMm(mm);
}

/** zapPmdEntry(): the range covered the whole PTE table. */
const ZAP_WHOLE_TABLE = 1;
/** zapPmdEntry(): an entry was cleared (the mmu_gather's cleared_ptes or cleared_pmds). */
const ZAP_CLEARED = 2;

/**
 * mm/memory.c: unmap_single_vma() -> unmap_page_range() for [start, end) of one VMA, the TLB flush
 * left to the caller's mmu_gather. A huge leaf that the range touches at all is removed whole
 * (zap_huge_pud/zap_huge_pmd for a full cover; __split_huge_p?d_locked clears a special leaf whole
 * for a partial one). Special leaves hold no page references, so nothing is put. True when an
 * entry was cleared: the caller's tlb_finish_mmu() flushes only then.
 */
export function* unmapSingleVma(vma: Vma, start: number, end: number): Thread<boolean> {
  const pt = vma.mm.pt;
  let zappedOne = false;
  let cleared = false;
  for (let pudVa = start - (start % PUD_SIZE); pudVa < end; pudVa += PUD_SIZE) {
    const pi = pt.pud.slot(pudVa);
    const pe = yield* pt.pud.read(pi);
    if (pe === undefined) continue;
    if (pe.t === 'leaf') {
      // zap_huge_pud() / pudp_huge_clear_flush() under the PUD lock (page_table_lock).
      yield* pt.pud.lock.lock();
      yield* pt.pud.clearLeaf(pi);
      if (lastClearFound()) cleared = true;
      yield* pt.pud.lock.unlock();
      continue;
    }
    const pmd = pt.pmdTable(pudVa);
    const lo = Math.max(start, pudVa);
    const hi = Math.min(end, pudVa + PUD_SIZE);
    for (let pmdVa = lo - (lo % PMD_SIZE); pmdVa < hi; ) {
      // As remap_pfn_range() does where nothing else can run: after one table the kernel's way,
      // whole tables that a filled run stands for are emptied at once (PageTable.zapFilled).
      if (zappedOne && currentHost()?.alone === true) {
        const next = pt.zapFilled(pmdVa, hi);
        if (next !== pmdVa) {
          // Only a run of mapped leaves is zapped there: each table it stands for had entries.
          cleared = true;
          pmdVa = next;
          continue;
        }
      }
      const r = yield* zapPmdEntry(vma, pmd, pmdVa, Math.max(lo, pmdVa), Math.min(hi, pmdVa + PMD_SIZE));
      if (r & ZAP_WHOLE_TABLE) zappedOne = true;
      if (r & ZAP_CLEARED) cleared = true;
      pmdVa += PMD_SIZE;
    }
  }
  return cleared;
}

// arch/x86/mm/tlb.c: flush_tlb_mm_range() — IPIs to every CPU of the mm, waiting for each.
export function* flushTlbMm(mm: Mm): Thread<void> {
  yield* mm.tlb.downWrite();
  yield* mm.tlb.upWrite();
}

// mm/memory.c: zap_pmd_range() for one PMD entry, and zap_pte_range() under the PTE lock: the
// entries of [start, end) are read and cleared in one hold of the lock. ZAP_WHOLE_TABLE when the
// range covered a whole PTE table, ZAP_CLEARED when an entry was cleared.
function* zapPmdEntry(vma: Vma, pmd: Table, pmdVa: number, start: number, end: number): Thread<number> {
  const pt = vma.mm.pt;
  const mi = pmd.slot(pmdVa);
  const me = yield* pmd.read(mi);
  if (me === undefined) return 0;
  if (me.t === 'leaf') {
    // zap_huge_pmd() (full cover) or __split_huge_pmd_locked() (partial): a special leaf goes whole.
    yield* pmd.lock.lock();
    yield* pmd.clearLeaf(mi);
    const found = lastClearFound();
    yield* pmd.lock.unlock();
    return found ? ZAP_CLEARED : 0;
  }
  const pte = pt.pteTable(pmdVa);
  const lo = pte.slot(start);
  const hi = pte.slot(end - 1) + 1;
  let cleared = 0;
  yield* pte.lock.lock();
  // The loop clears the present entries (ptep_get_and_clear_full): a run of present ones at a time,
  // so an entry that stays empty is not written; each cleared one is recorded for the flush
  // (tlb_remove_tlb_entry sets cleared_ptes).
  for (const r of (yield* pte.readRange(lo, hi)).in(lo, hi)) {
    yield* pte.clear(r.lo, r.hi);
    cleared = ZAP_CLEARED;
  }
  yield* pte.lock.unlock();
  return (hi - lo === PTRS_PER_TABLE ? ZAP_WHOLE_TABLE : 0) | cleared;
}

/**
 * mm/memory.c: unmap_mapping_range(mapping, holebegin, holelen, even_cows) ->
 * unmap_mapping_range_tree(): under i_mmap_lock_read, every VMA linked into the mapping whose
 * pgoff interval meets [first, last] is zapped over the intersection only. No mmap_lock is taken.
 * A length of 0 means "to the end".
 */
export function* unmapMappingRange(mapping: AddressSpace, holebegin: number, holelen: number): Thread<void> {
  const first = Math.floor(holebegin / PAGE_SIZE);
  const count = holelen === 0 ? Number.MAX_SAFE_INTEGER - first : Math.ceil(holelen / PAGE_SIZE);
  const last = first + count - 1;
  yield* mapping.iMmapRwsem.downRead();
  for (const vma of mapping.overlapping(first, last)) {
    const vba = vma.pgoff;
    const vea = vba + vma.pages - 1;
    const zba = Math.max(first, vba);
    const zea = Math.min(last, vea);
    yield* zapPageRangeSingle(
      vma,
      vma.start + (zba - vba) * PAGE_SIZE,
      vma.start + (zea - vba + 1) * PAGE_SIZE,
    );
  }
  yield* mapping.iMmapRwsem.upRead();
}

/**
 * mm/memory.c: remap_pfn_range() (io_remap_pfn_range() on x86) — every page of [addr, addr+size)
 * gets a special PTE for consecutive pfns. remap_pud_range() allocates a PMD table per PUD entry
 * (pmd_alloc), remap_pmd_range() a PTE table per PMD entry, and remap_pte_range() fills each PTE
 * table in one hold of its lock (pte_alloc_map_lock ... pte_unmap_unlock), BUG()ing on a PTE that
 * is not none. Where no other thread can run (a scenario's setup, or every other thread is gone),
 * whole empty PTE tables after the first are described without being made
 * (PageTable.remapFilled): the same state, at the cost of a few runs.
 */
export function* remapPfnRange(vma: Vma, addr: number, pfn: number, size: number): Thread<number> {
  const pt = vma.mm.pt;
  const end = addr + size;
  const special = specialAt(vma.mm.machine.arch, 'pte');
  const write = hasFlag(vma.flags, VM_WRITE);
  let va = addr;
  let filledOne = false;
  while (va < end) {
    const pudEnd = Math.min(end, va - (va % PUD_SIZE) + PUD_SIZE);
    const pmd = yield* pt.pmdAlloc(va);
    if (pmd === null) return -12;
    // Nothing else can run (setup, or every other thread is gone): once one table went the
    // kernel's way (its locks are what lockdep learns), the whole empty tables are described.
    if (filledOne && currentHost()?.alone === true)
      va = pt.remapFilled(va, pudEnd, pfn + (va - addr) / PAGE_SIZE, special, write);
    while (va < pudEnd) {
      const next = Math.min(pudEnd, va - (va % PMD_SIZE) + PMD_SIZE);
      const pte = yield* pt.pteAlloc(pmd, va);
      if (pte === null) return -12;
      const lo = pte.slot(va);
      const hi = pte.slot(next - 1) + 1;
      yield* pte.lock.lock();
      const present = (yield* pte.readRange(lo, hi)).in(lo, hi)[0];
      if (present) {
        const at = pte.base + present.lo * PAGE_SIZE;
        throw new Error(
          `BUG: remap_pfn_range() over a present PTE at 0x${at.toString(16)} (remap_pte_range)`,
        );
      }
      yield* pte.setLeaves(lo, hi, pfn + (va - addr) / PAGE_SIZE, special, write);
      yield* pte.lock.unlock();
      if (hi - lo === PTRS_PER_TABLE) filledOne = true;
      va = next;
      if (filledOne && currentHost()?.alone === true && va % PMD_SIZE === 0)
        va = pt.remapFilled(va, pudEnd, pfn + (va - addr) / PAGE_SIZE, special, write);
    }
  }
  return 0;
}

// mm/memory.c: zap_vma_ptes() — zap a range of a VM_PFNMAP VMA.
export function* zapVmaPtes(vma: Vma, start: number, size: number): Thread<void> {
  yield* zapPageRangeSingle(vma, start, start + size);
}
