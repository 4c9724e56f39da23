// The machine the kernel model runs on: architecture, the transparent-hugepage setting, and
// physical memory. Observers see every access that reaches physical memory (CPU loads and stores,
// kernel copies, device DMA), so invariants can be checked at access events, not only at the end.

import { DESIGNS, type Design } from '../designs/design.js';
import type { Thread } from '../sched/program.js';
import { ARCHES, type Arch, type ArchName } from './mm/arch.js';
import { PhysMem, type PhysRange } from './mm/phys.js';
import type { PciDev } from './pci/pci.js';

/** /sys/kernel/mm/transparent_hugepage/enabled (read by mm/huge_memory.c: __thp_vma_allowable_orders()). */
export type ThpSetting = 'always' | 'madvise' | 'never';

export interface Access {
  /** Who: a CPU (with the thread name), the kernel, or a device doing DMA. */
  by: 'cpu' | 'kernel' | 'dma';
  thread?: string;
  write: boolean;
  pfn: number;
  /** Which translation led there, for reports. */
  via?: string;
  /** For a CPU access: the user address and its address space (for isolation checks). */
  addr?: number;
  mm?: unknown;
}

/** A page fault taken by a CPU access: who, where, in which address space (for SPURIOUS_FAULT). */
export interface CpuFault {
  thread: string;
  mm: unknown;
  addr: number;
  write: boolean;
}

/**
 * Watches the page faults of CPU accesses: called when a fault starts (mmap_lock held, VMA looked
 * up); the function it returns, if any, is called with the fault's VM_FAULT_* result once the
 * fault handler returned and mmap_lock was dropped.
 */
export type FaultObserver = (f: CpuFault) => ((result: number) => void) | undefined;

export class Machine {
  readonly arch: Arch;
  readonly phys = new PhysMem();
  /** Called at every access to physical memory. */
  readonly accessObservers: ((a: Access) => void)[] = [];
  /** Every access so far, in order (plain data, for reports and tests). */
  readonly accesses: Access[] = [];
  /** Called at every page fault of a CPU access (see FaultObserver). */
  readonly faultObservers: FaultObserver[] = [];
  /** The PCI functions of the machine (each registers itself). */
  readonly pciDevices: PciDev[] = [];

  /** RAM for anonymous memory (allocated on first use, below every BAR's pfns or above them). */
  private ram: PhysRange | undefined;
  /** Pages of `ram` handed out so far; the first is the shared zero page. */
  private ramUsed = 0;

  constructor(
    arch: ArchName = 'x86_64',
    readonly thp: ThpSetting = 'always',
    /** The design the kernel model follows where the generations differ. */
    readonly design: Design = DESIGNS.upstream,
  ) {
    this.arch = ARCHES[arch];
    // The log is history for tests, read by no model code and no invariant: left out of the state
    // that retry cycles and state folding compare (sched/fingerprint.ts walks enumerable fields),
    // where it would tell apart two states that differ only in the order of past accesses.
    Object.defineProperty(this, 'accesses', { enumerable: false });
  }

  /**
   * mm/page_alloc.c: the buddy allocator, for anonymous pages (a new page each call) and the zero
   * page. The model tracks no data, so which free page comes back does not matter; the pages come
   * from one RAM range placed where no BAR is, in the order they are asked for.
   */
  allocPage(): number {
    const ram = this.ramRange();
    if (this.ramUsed >= ram.pages) throw new Error('the model ran out of RAM pages for anonymous memory');
    return ram.pfn + this.ramUsed++;
  }

  /** mm/memory.c: my_zero_pfn() — the shared zero page that read faults of anonymous memory map. */
  zeroPfn(): number {
    return this.ramRange().pfn;
  }

  private ramRange(): PhysRange {
    if (!this.ram) {
      // 1 GiB of RAM at the first 1 GiB-aligned pfn above 4 GiB that no BAR overlaps.
      const pages = 1 << 18;
      let pfn = 1 << 20;
      while (this.phys.ranges.some((r) => pfn < r.pfn + r.pages && r.pfn < pfn + pages)) pfn += pages;
      this.ram = this.phys.add({ pfn, pages, kind: 'ram' });
      this.ramUsed = 1; // the zero page
    }
    return this.ram;
  }

  /**
   * An access to physical memory. An access to a BAR reads its device's state (an event: the
   * explorer orders it against every change of that state), then the observers check it. A DMA is
   * also checked against the revoke state of the buffers it may reach, which is plain data changed
   * under memory_lock and the reservation lock: it counts as a (value-preserving) write of the
   * device state, so the explorer orders it against every change the invariants observe — the
   * revoke's lock release included — and finds a DMA landing after a revoke returned.
   */
  *access(a: Access): Thread<void> {
    for (const p of this.pciDevices) {
      if (p.barOf(a.pfn)) {
        if (a.by === 'dma') yield* p.hw.rmw((v) => [v, undefined]);
        else yield* p.hw.read();
        break;
      }
    }
    this.accesses.push(a);
    for (const o of this.accessObservers) o(a);
  }
}
