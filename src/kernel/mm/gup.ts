// get_user_pages and friends (mm/gup.c, KERNEL.md §4.7): the slow path, which looks at the VMA and
// refuses VM_IO/VM_PFNMAP, and the lockless fast path, which has no VMA and trusts the special bit
// of each leaf. Page references they take outlive any later zap, as in the kernel.

import type { Thread } from '../../sched/program.js';
import { Violation } from '../../sched/violation.js';
import { PAGE_SIZE } from './arch.js';
import { handleMmFault } from './memory.js';
import type { Mm } from './mm.js';
import { anyFlag, hasFlag, VM_FAULT_ERROR, VM_IO, VM_PFNMAP, VM_WRITE, type Vma } from './mm_types.js';
import { pfnAt } from './pgtable.js';
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

/**
 * mm/gup.c: get_user_pages_fast() / pin_user_pages_fast(): gup_fast() walks the page table with
 * IRQs off and no VMA, then the slow path takes what it could not.
 *
 * gup_fast_pud_leaf() / gup_fast_pmd_leaf(): stop at a special leaf or one that does not permit the
 * access; otherwise take a reference on pfn_to_page(pfn + offset) with try_grab_folio_fast(), read
 * the entry again and drop the reference if it changed. gup_fast_pte_range() stops at a special PTE.
 * On an arch whose PMD/PUD have no special bit, a huge pfnmap leaf looks like a THP: if its pfns
 * have struct pages the grab succeeds (the hazard of the seed thread); if they have none,
 * pmd_page() is garbage and the grab corrupts memory, reported as a GUP_CONSISTENCY violation.
 */
export function* getUserPagesFast(
  mm: Mm,
  start: number,
  nrPages: number,
  flags: GupFlags,
): Thread<GupResult> {
  const out: GupResult = { pfns: [], fast: 0, err: 0 };
  let i = 0;
  // local_irq_save(): a TLB flush (IPI) waits until the walk is done.
  yield* mm.tlb.downRead();
  for (; i < nrPages; i++) {
    const addr = start + i * PAGE_SIZE;
    const t = yield* mm.pt.walk(addr);
    if (t === null || t.special) break;
    if (flags.write && !t.write) break;
    const pfn = pfnAt(t, addr);
    const range = mm.machine.phys.lookup(pfn);
    if (!range?.hasPages) {
      yield* mm.tlb.upRead();
      throw new Violation(
        'GUP_CONSISTENCY',
        `gup-fast took a reference through a ${t.level} leaf at 0x${t.base.toString(16)} that is not marked special, ` +
          `on pfn 0x${pfn.toString(16)} which has no struct page: memory corruption`,
      );
    }
    // try_grab_folio_fast(): P2PDMA pages only for callers that asked for them.
    if (range.kind === 'mmio-pages' && !flags.p2pdma) break;
    yield* grab(range, pfn, flags);
    // Read the entry again: a concurrent zap makes the fast path drop what it took.
    const again = yield* mm.pt.walk(addr);
    if (again === null || again.pfn !== t.pfn || again.level !== t.level) {
      yield* ungrab(range, pfn, flags.pin ?? false, flags.longterm ?? false);
      break;
    }
    out.pfns.push(pfn);
    // For GUP_CONSISTENCY (no event: what the kernel would not know, the model records).
    const vma = mm.vmaLookup(addr);
    if (vma && anyFlag(vma.flags, VM_IO | VM_PFNMAP)) {
      mm.machine.gupThroughPfnmap.push(
        `gup-fast took a reference on pfn 0x${pfn.toString(16)} through a ${t.level} leaf of a VM_PFNMAP mapping at 0x${addr.toString(16)}, which slow GUP refuses`,
      );
    }
  }
  yield* mm.tlb.upRead();
  out.fast = out.pfns.length;
  if (i < nrPages) {
    const rest = yield* getUserPages(mm, start + i * PAGE_SIZE, nrPages - i, flags);
    out.pfns.push(...rest.pfns);
    out.err = rest.err;
  }
  return out;
}
