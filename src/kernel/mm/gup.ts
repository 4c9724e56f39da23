// get_user_pages and friends (mm/gup.c; docs/mm.md, "GUP"): the slow path, which looks at the VMA and
// refuses VM_IO/VM_PFNMAP, and the lockless fast path, which has no VMA and trusts the special bit
// of each leaf. Page references they take outlive any later zap, as in the kernel.

import type { Thread } from '../../sched/program.js';
import { Violation } from '../../sched/violation.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from './arch.js';
import { handleMmFault } from './memory.js';
import type { Mm } from './mm.js';
import {
  anyFlag,
  hasFlag,
  type Leaf,
  VM_FAULT_ERROR,
  VM_IO,
  VM_PFNMAP,
  VM_WRITE,
  type Vma,
} from './mm_types.js';
import { type Entry, pfnAt, type Table } from './pgtable.js';
import type { PhysRange } from './phys.js';

export const EFAULT = -14;
export const EREMOTEIO = -121;

export interface GupFlags {
  /** FOLL_WRITE. */
  write?: boolean;
  /** FOLL_PIN (pin_user_pages*) rather than FOLL_GET. */
  pin?: boolean;
  /**
   * FOLL_LONGTERM. include/linux/mm.h: folio_is_longterm_pinnable() allows every page kind the
   * model has (RAM of the normal zone; ZONE_DEVICE P2PDMA pages, which are not device-coherent),
   * so it only marks the pin as long-term.
   */
  longterm?: boolean;
  /** FOLL_PCI_P2PDMA: the caller can use PCI P2PDMA pages (O_DIRECT to a P2P-capable device). */
  p2pdma?: boolean;
}

export interface GupResult {
  /** Pages taken, in order (pfns); each holds a reference (or a pin) until put. */
  pfns: number[];
  /** How many of them the fast path took. */
  fast: number;
  /** The errno that stopped it, if it stopped before nrPages (0 when all were taken). */
  err: number;
}

// mm/gup.c: check_vma_flags()
function checkVmaFlags(vma: Vma, flags: GupFlags): number {
  if (anyFlag(vma.flags, VM_IO | VM_PFNMAP)) return EFAULT;
  if (flags.write && !hasFlag(vma.flags, VM_WRITE)) return EFAULT;
  return 0;
}

// mm/gup.c: try_grab_folio()
/** Takes one reference (or pin) on a page: mm/gup.c try_grab_folio(). */
function* grab(range: PhysRange, pfn: number, flags: GupFlags): Thread<void> {
  yield* range.counts.rmw((m) => {
    const n = new Map(m);
    const c = n.get(pfn) ?? { refs: 0, pins: 0, longterm: 0 };
    const lt = flags.pin && flags.longterm ? 1 : 0;
    n.set(
      pfn,
      flags.pin ? { ...c, pins: c.pins + 1, longterm: c.longterm + lt } : { ...c, refs: c.refs + 1 },
    );
    return [n, undefined];
  });
}

// mm/gup.c: gup_put_folio()
/** Drops what grab() took: put_page() / unpin_user_page(). */
export function* ungrab(range: PhysRange, pfn: number, pin: boolean, longterm = false): Thread<void> {
  yield* range.counts.rmw((m) => {
    const n = new Map(m);
    const c = n.get(pfn) ?? { refs: 0, pins: 0, longterm: 0 };
    const lt = pin && longterm ? 1 : 0;
    const next = pin ? { ...c, pins: c.pins - 1, longterm: c.longterm - lt } : { ...c, refs: c.refs - 1 };
    if (next.refs < 0 || next.pins < 0)
      throw new Violation('REFCOUNT', `page 0x${pfn.toString(16)}: reference count underflow`);
    if (next.refs === 0 && next.pins === 0) n.delete(pfn);
    else n.set(pfn, next);
    return [n, undefined];
  });
}

// mm/gup.c: unpin_user_pages()
/** Puts every page a GUP call took (mm/gup.c: unpin_user_pages(), or put_page() per page). */
export function* putPages(mm: Mm, pfns: readonly number[], flags: GupFlags): Thread<void> {
  for (const pfn of pfns) {
    const r = mm.machine.phys.lookup(pfn);
    if (r) yield* ungrab(r, pfn, flags.pin ?? false, flags.longterm ?? false);
  }
}

// mm/gup.c: __get_user_pages() (the caller holds mmap_lock for read)
export function* getUserPagesLocked(
  mm: Mm,
  start: number,
  nrPages: number,
  flags: GupFlags,
): Thread<GupResult> {
  const out: GupResult = { pfns: [], fast: 0, err: 0 };
  for (let i = 0; i < nrPages; i++) {
    const addr = start + i * PAGE_SIZE;
    const vma = mm.vmaLookup(addr);
    if (!vma) {
      out.err = EFAULT;
      return out;
    }
    const err = checkVmaFlags(vma, flags);
    if (err !== 0) {
      out.err = err;
      return out;
    }
    // follow_page_mask(); on a miss faultin_page() -> handle_mm_fault(), then look again.
    for (let tries = 0; ; tries++) {
      const t = yield* mm.pt.walk(addr);
      if (t !== null) {
        const pfn = pfnAt(t, addr);
        const range = mm.machine.phys.lookup(pfn);
        if (!range?.hasPages) {
          out.err = EFAULT;
          return out;
        }
        yield* grab(range, pfn, flags);
        out.pfns.push(pfn);
        break;
      }
      // No FAULT_FLAG_ALLOW_RETRY (the caller's mmap_lock is held throughout): a missing page of a
      // userfaultfd-registered VMA fails (handle_userfault() returns VM_FAULT_SIGBUS), not waits.
      const ret = yield* handleMmFault(vma, addr, flags.write ?? false);
      if (ret & VM_FAULT_ERROR || tries === 3) {
        out.err = EFAULT;
        return out;
      }
    }
  }
  return out;
}

// mm/gup.c: get_user_pages_unlocked() / pin_user_pages_unlocked(): takes mmap_lock for read.
export function* getUserPages(mm: Mm, start: number, nrPages: number, flags: GupFlags): Thread<GupResult> {
  yield* mm.mmapLock.downRead();
  const r = yield* getUserPagesLocked(mm, start, nrPages, flags);
  yield* mm.mmapLock.upRead();
  return r;
}

/** What one gup-fast level function did: took its pages (true) or stopped (false). */
interface FastWalk {
  mm: Mm;
  flags: GupFlags;
  pfns: number[];
}

/** A copy of a page-table entry as read (the kernel's local pmd_t/pte_t). */
const copyEntry = (e: Entry | undefined): Entry | undefined =>
  e === undefined || e.t === 'table' ? e : { t: 'leaf', leaf: { ...e.leaf } };
const sameEntry = (a: Entry | undefined, b: Entry | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : a.t === 'table' || b.t === 'table'
      ? a.t === b.t
      : a.leaf.pfn === b.leaf.pfn && a.leaf.special === b.leaf.special && a.leaf.write === b.leaf.write;

/**
 * mm/gup.c: try_grab_folio_fast() for `refs` pages from `pfn`: no P2PDMA page without
 * FOLL_PCI_P2PDMA, then one reference (or pin) per page, in one step. A pfn without a struct page
 * has no folio: pmd_page()/pte_page() of it is garbage and the grab corrupts memory, which the
 * model reports where it happens.
 */
function* grabFast(
  w: FastWalk,
  level: string,
  base: number,
  pfn: number,
  refs: number,
): Thread<PhysRange | null> {
  const range = w.mm.machine.phys.lookup(pfn);
  if (!range?.hasPages) {
    throw new Violation(
      'GUP_CONSISTENCY',
      `gup-fast took a reference through a ${level} leaf at 0x${base.toString(16)} that is not marked special, ` +
        `on pfn 0x${pfn.toString(16)} which has no struct page: memory corruption`,
    );
  }
  if (range.kind === 'mmio-pages' && !w.flags.p2pdma) return null;
  yield* grabRange(range, pfn, refs, w.flags);
  return range;
}

/** mm/gup.c: try_get_folio() for refs consecutive pages of one range: one event. */
function* grabRange(range: PhysRange, pfn: number, refs: number, flags: GupFlags): Thread<void> {
  yield* range.counts.rmw((m) => {
    const n = new Map(m);
    const lt = flags.pin && flags.longterm ? 1 : 0;
    for (let k = 0; k < refs; k++) {
      const c = n.get(pfn + k) ?? { refs: 0, pins: 0, longterm: 0 };
      n.set(
        pfn + k,
        flags.pin ? { ...c, pins: c.pins + 1, longterm: c.longterm + lt } : { ...c, refs: c.refs + 1 },
      );
    }
    return [n, undefined];
  });
}

/** mm/gup.c: gup_put_folio() of what grabFast() took. */
function* putFast(w: FastWalk, range: PhysRange, pfn: number, refs: number): Thread<void> {
  for (let k = 0; k < refs; k++)
    yield* ungrab(range, pfn + k, w.flags.pin ?? false, w.flags.longterm ?? false);
}

// mm/gup.c: gup_fast_pud_leaf() / gup_fast_pmd_leaf() — the leaf `orig` as read, for [addr, end).
function* gupFastHugeLeaf(
  w: FastWalk,
  table: Table,
  slot: number,
  orig: Leaf,
  level: 'pmd' | 'pud',
  addr: number,
  end: number,
): Thread<boolean> {
  // pmd_access_permitted() / pud_access_permitted()
  if (w.flags.write && !orig.write) return false;
  // pmd_special() / pud_special(): always false where the arch has no bit at that level.
  if (orig.special) return false;
  const base = table.base + slot * table.slotSize;
  const pfn = orig.pfn + (addr - base) / PAGE_SIZE; // pmd_page(orig) + the page's offset
  const refs = (end - addr) / PAGE_SIZE; // record_subpages()
  const range = yield* grabFast(w, level, base, pfn, refs);
  if (range === null) return false;
  // The entry is read again: if it changed (a zap), what was taken is put back.
  const now = yield* table.read(slot);
  if (!sameEntry({ t: 'leaf', leaf: orig }, now)) {
    yield* putFast(w, range, pfn, refs);
    return false;
  }
  for (let k = 0; k < refs; k++) w.pfns.push(pfn + k);
  return true;
}

// mm/gup.c: gup_fast_pte_range() — each PTE of [addr, end) with ptep_get_lockless(); after the grab
// both the PMD entry and the PTE are read again.
function* gupFastPteRange(
  w: FastWalk,
  pmd: Table,
  pmdSlot: number,
  pmdval: Entry,
  addr: number,
  end: number,
): Thread<boolean> {
  const pte = w.mm.pt.pteTable(addr);
  for (let va = addr; va < end; va += PAGE_SIZE) {
    const i = pte.slot(va);
    const orig = copyEntry(yield* pte.read(i)); // ptep_get_lockless()
    if (orig?.t !== 'leaf') return false; // pte_access_permitted() fails on a PTE that is not present
    if (w.flags.write && !orig.leaf.write) return false;
    if (orig.leaf.special) return false; // pte_special()
    const range = yield* grabFast(w, 'pte', va, orig.leaf.pfn, 1);
    if (range === null) return false;
    // pmd_val(pmd) != pmd_val(*pmdp) || pte_val(pte) != pte_val(ptep_get(ptep))
    let changed = !sameEntry(pmdval, yield* pmd.read(pmdSlot));
    if (!changed) changed = !sameEntry(orig, yield* pte.read(i));
    if (changed) {
      yield* putFast(w, range, orig.leaf.pfn, 1);
      return false;
    }
    w.pfns.push(orig.leaf.pfn);
  }
  return true;
}

// mm/gup.c: gup_fast_pmd_range() — pmdp_get_lockless() of each PMD entry of [addr, end).
function* gupFastPmdRange(w: FastWalk, addr: number, end: number): Thread<boolean> {
  const pmd = w.mm.pt.pmdTable(addr);
  for (let va = addr; va < end; ) {
    const next = Math.min(end, va - (va % PMD_SIZE) + PMD_SIZE);
    const slot = pmd.slot(va);
    const e = copyEntry(yield* pmd.read(slot));
    if (e === undefined) return false; // !pmd_present()
    if (e.t === 'leaf') {
      if (!(yield* gupFastHugeLeaf(w, pmd, slot, e.leaf, 'pmd', va, next))) return false;
    } else if (!(yield* gupFastPteRange(w, pmd, slot, e, va, next))) return false;
    va = next;
  }
  return true;
}

// mm/gup.c: gup_fast_pud_range() — pudp_get() of each PUD entry (PGD and P4D are folded here).
function* gupFastPudRange(w: FastWalk, addr: number, end: number): Thread<boolean> {
  const pud = w.mm.pt.pud;
  for (let va = addr; va < end; ) {
    const next = Math.min(end, va - (va % PUD_SIZE) + PUD_SIZE);
    const slot = pud.slot(va);
    const e = copyEntry(yield* pud.read(slot));
    if (e === undefined) return false; // !pud_present()
    if (e.t === 'leaf') {
      if (!(yield* gupFastHugeLeaf(w, pud, slot, e.leaf, 'pud', va, next))) return false;
    } else if (!(yield* gupFastPmdRange(w, va, next))) return false;
    va = next;
  }
  return true;
}

/**
 * mm/gup.c: get_user_pages_fast() / pin_user_pages_fast() -> gup_fast_fallback(): gup_fast()
 * walks the page table with IRQs off and no VMA, level by level as gup_fast_pgd_range() does (one
 * lockless read per entry, each PTE of a table in turn), then the slow path takes what it could
 * not. A huge leaf that is not special is taken like a THP: references on its pages, then the entry
 * is read again. On an arch whose PMD/PUD have no special bit, a huge pfnmap leaf is such a leaf: if
 * its pfns have struct pages the grab succeeds where slow GUP fails (the hazard of the seed
 * thread); if they have none, pmd_page() is garbage and the grab corrupts memory, reported as a
 * GUP_CONSISTENCY violation.
 */
export function* getUserPagesFast(
  mm: Mm,
  start: number,
  nrPages: number,
  flags: GupFlags,
): Thread<GupResult> {
  const out: GupResult = { pfns: [], fast: 0, err: 0 };
  const w: FastWalk = { mm, flags, pfns: [] };
  // local_irq_save(): a TLB flush (IPI) waits until the walk is done.
  yield* mm.tlb.downRead();
  try {
    yield* gupFastPudRange(w, start, start + nrPages * PAGE_SIZE);
  } finally {
    yield* mm.tlb.upRead();
  }
  out.pfns.push(...w.pfns);
  out.fast = w.pfns.length;
  const i = w.pfns.length;
  if (i < nrPages) {
    const rest = yield* getUserPages(mm, start + i * PAGE_SIZE, nrPages - i, flags);
    out.pfns.push(...rest.pfns);
    out.err = rest.err;
  }
  return out;
}
