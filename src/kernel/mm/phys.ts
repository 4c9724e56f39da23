// Physical memory: RAM (with struct pages), MMIO without struct pages, and MMIO with struct pages
// (ZONE_DEVICE / PCI P2PDMA, include/linux/memremap.h). Every pfn knows its kind and, for MMIO,
// which device BAR owns it. Pages with a struct page carry a reference count and a pin count
// (include/linux/mm.h: folio_ref_*, mm/gup.c: FOLL_PIN's GUP_PIN_COUNTING_BIAS), kept per range in
// one Cell so the explorer sees every grab and put.

import { Cell } from '../../sched/cell.js';

export type PhysKind = 'ram' | 'mmio' | 'mmio-pages';

export interface PhysRangeSpec {
  /** First pfn. */
  pfn: number;
  pages: number;
  kind: PhysKind;
  /** The device BAR that owns an MMIO range, e.g. "gpu0/BAR0". */
  owner?: string;
}

export interface PageCounts {
  refs: number;
  pins: number;
  /** Pins taken with FOLL_LONGTERM (a subset of pins). */
  longterm: number;
}

export class PhysRange {
  readonly pfn: number;
  readonly pages: number;
  readonly kind: PhysKind;
  readonly owner: string | undefined;
  /** pfn -> counts, for pages that have been referenced (only ranges with struct pages). */
  readonly counts: Cell<ReadonlyMap<number, PageCounts>>;

  constructor(spec: PhysRangeSpec) {
    this.pfn = spec.pfn;
    this.pages = spec.pages;
    this.kind = spec.kind;
    this.owner = spec.owner;
    this.counts = new Cell(`pages@${spec.pfn.toString(16)}`, new Map(), { key: `phys:${spec.pfn}` });
  }

  contains(pfn: number): boolean {
    return pfn >= this.pfn && pfn < this.pfn + this.pages;
  }

  /** include/linux/mmzone.h: pfn_valid() — does this pfn have a struct page? */
  get hasPages(): boolean {
    return this.kind !== 'mmio';
  }
}

export class PhysMem {
  readonly ranges: PhysRange[] = [];

  add(spec: PhysRangeSpec): PhysRange {
    for (const r of this.ranges) {
      if (spec.pfn < r.pfn + r.pages && r.pfn < spec.pfn + spec.pages) {
        throw new Error(`physical range at pfn 0x${spec.pfn.toString(16)} overlaps ${r.owner ?? r.kind}`);
      }
    }
    const r = new PhysRange(spec);
    this.ranges.push(r);
    return r;
  }

  lookup(pfn: number): PhysRange | undefined {
    return this.ranges.find((r) => r.contains(pfn));
  }

  /** include/linux/mmzone.h: pfn_valid(). */
  pfnValid(pfn: number): boolean {
    return this.lookup(pfn)?.hasPages ?? false;
  }

  /** References (refs, pins) currently held on a page, without an event. */
  countsOf(pfn: number): PageCounts {
    return this.lookup(pfn)?.counts.value.get(pfn) ?? { refs: 0, pins: 0, longterm: 0 };
  }
}
