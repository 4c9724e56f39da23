// struct mm_struct (include/linux/mm_types.h): the address space of a process — its mmap_lock, its
// VMAs and its page tables.

import type { Thread } from '../../sched/program.js';
import { RwSem } from '../../sched/rwsem.js';
import type { Machine } from '../machine.js';
import type { Vma } from './mm_types.js';
import { PageTable } from './pgtable.js';

/** include/linux/mmu_notifier.h: the invalidate_range_start/end pair a zap calls. */
export interface MmuNotifier {
  invalidateStart(mm: Mm, start: number, end: number): Thread<void>;
  invalidateEnd(mm: Mm, start: number, end: number): Thread<void>;
}

export class Mm {
  /** mmap_lock: writers change the VMA tree, readers (faults, GUP) look at it. */
  readonly mmapLock: RwSem;
  readonly pt: PageTable;
  /** The VMAs, sorted by address. Plain data: changed only under mmapLock held for write. */
  readonly vmas: Vma[] = [];
  /** How many children this mm has been forked into (names them). */
  forks = 0;
  /**
   * TLB shootdown, as a reader-writer lock: a CPU holds it for read across one translation and
   * the access it makes (an instruction is not interrupted between the two; IPIs are taken between
   * instructions), and gup-fast across its IRQ-disabled walk. A TLB flush takes it for write:
   * it returns only when every such window that could have used an old translation has closed,
   * and while it is pending new windows wait (the IPI is taken first). Page faults run outside it.
   */
  readonly tlb: RwSem;
  /** Registered MMU notifiers (include/linux/mmu_notifier.h), e.g. a secondary MMU. */
  readonly notifiers: MmuNotifier[] = [];
  /** Told when a VMA is linked or unlinked (the invariants' incremental check). */
  onVmasChange: (() => void) | undefined = undefined;

  constructor(
    readonly machine: Machine,
    /** Unique within an execution, and the same in every execution (e.g. "mm0", "mm0.1"). */
    readonly name: string,
  ) {
    this.mmapLock = new RwSem(`${name}.mmap_lock`, { lockClass: 'mmap_lock', key: `${name}:mmap_lock` });
    this.pt = new PageTable(name);
    // A CPU's window (one translation and its access) never waits, nor does the flush's.
    this.tlb = new RwSem(`${name}.tlb`, {
      lockClass: 'tlb_shootdown',
      key: `${name}:tlb`,
      atomicSections: true,
    });
  }

  // mm/mmap.c: find_vma() — the first VMA that ends above addr.
  findVma(addr: number): Vma | undefined {
    return this.vmas.find((v) => v.end > addr);
  }

  // include/linux/mm.h: vma_lookup() — the VMA that contains addr.
  vmaLookup(addr: number): Vma | undefined {
    const v = this.findVma(addr);
    return v && v.start <= addr ? v : undefined;
  }

  /** Links a VMA into the sorted list (mm/vma.c: vma_iter_store_new). */
  insertVma(vma: Vma): void {
    const i = this.vmas.findIndex((v) => v.start > vma.start);
    if (i < 0) this.vmas.push(vma);
    else this.vmas.splice(i, 0, vma);
    this.onVmasChange?.();
  }

  removeVma(vma: Vma): void {
    const i = this.vmas.indexOf(vma);
    if (i >= 0) this.vmas.splice(i, 1);
    this.onVmasChange?.();
  }
}
