// The entries of one page table, kept as runs: a run of slots [lo, hi) that all point to lower
// tables, or that are all leaves mapping consecutive pfns (each slot `step` pages after the one
// before it) with the same bits. A BAR mapping fills a table with one run, so a 1 TiB mapping costs
// a few runs per table, not 2^28 entries. A table run may also describe its lower tables without
// making them (`fill`: each is a PTE table full of consecutive leaves), which is what a 1 TiB
// remap_pfn_range() in a scenario's setup leaves behind (pgtable.ts: PageTable.remapFilled).

import type { Leaf } from './mm_types.js';

/** An entry of the PUD level or of a PMD table: a lower table, or a huge leaf. */
export type Entry = { t: 'table' } | { t: 'leaf'; leaf: Leaf };

export const TABLE: Entry = Object.freeze({ t: 'table' }) as Entry;

/**
 * Lower PTE tables a table run stands for, each full of leaves: the first one's first pfn and
 * bits; or, with pfn -1, each empty (a zap emptied them).
 */
export interface Fill {
  pfn: number;
  special: boolean;
  write: boolean;
}

/** Lower tables that are there but empty (see Fill). */
export const EMPTY_FILL: Fill = Object.freeze({ pfn: -1, special: false, write: false });

export interface Run {
  lo: number;
  hi: number;
  /** Slots that point to lower tables (else leaves). */
  table: boolean;
  /** Leaves: the pfn of slot lo, and the bits of every leaf in the run. */
  pfn: number;
  special: boolean;
  write: boolean;
  /** Table runs whose lower tables are not made yet (see Fill); absent for made tables. */
  fill?: Fill;
}

/** Pages a lower PTE table maps. */
const PTES_PER_TABLE = 512;

export class Entries {
  /** Sorted, disjoint, never empty. */
  runs: Run[] = [];

  /** `step`: pages between the leaves of two neighbouring slots (1, 512 or 512 * 512). */
  constructor(readonly step: number) {}

  /** Index of the run holding slot i, or -1. */
  private find(i: number): number {
    const runs = this.runs;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = runs[mid]!;
      if (i < r.lo) hi = mid - 1;
      else if (i >= r.hi) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  run(i: number): Run | undefined {
    const k = this.find(i);
    return k < 0 ? undefined : this.runs[k];
  }

  has(i: number): boolean {
    return this.find(i) >= 0;
  }

  /** The entry at slot i (a fresh object), or undefined for an empty slot. */
  get(i: number): Entry | undefined {
    const r = this.run(i);
    if (!r) return undefined;
    if (r.table) return TABLE;
    return { t: 'leaf', leaf: { pfn: r.pfn + (i - r.lo) * this.step, special: r.special, write: r.write } };
  }

  /** The leaf at slot i (PTE tables), or undefined. */
  leaf(i: number): Leaf | undefined {
    const r = this.run(i);
    if (!r || r.table) return undefined;
    return { pfn: r.pfn + (i - r.lo) * this.step, special: r.special, write: r.write };
  }

  get empty(): boolean {
    return this.runs.length === 0;
  }

  /** Slots in use. */
  get size(): number {
    let n = 0;
    for (const r of this.runs) n += r.hi - r.lo;
    return n;
  }

  /** Leaves mapping pfn, pfn + step, ... in slots [lo, hi) (replacing what was there). */
  setLeaves(lo: number, hi: number, pfn: number, special: boolean, write: boolean): void {
    this.put({ lo, hi, table: false, pfn, special, write });
  }

  /** Lower tables in slots [lo, hi); with `fill`, tables not made yet (see Fill). */
  setTables(lo: number, hi: number, fill?: Fill): void {
    const r: Run = { lo, hi, table: true, pfn: 0, special: false, write: false };
    if (fill) r.fill = fill;
    this.put(r);
  }

  /** Sets an entry at slot i. */
  set(i: number, e: Entry): void {
    if (e.t === 'table') this.setTables(i, i + 1);
    else this.setLeaves(i, i + 1, e.leaf.pfn, e.leaf.special, e.leaf.write);
  }

  /** Empties slots [lo, hi) (only the leaves among them with `leavesOnly`). */
  clear(lo: number, hi: number, leavesOnly = false): void {
    if (!leavesOnly) {
      this.cut(lo, hi);
      return;
    }
    for (const r of this.in(lo, hi)) if (!r.table) this.cut(r.lo, r.hi);
  }

  /** The runs meeting [lo, hi), clipped to it (copies). */
  in(lo: number, hi: number): Run[] {
    const out: Run[] = [];
    for (const r of this.runs) {
      if (r.hi <= lo) continue;
      if (r.lo >= hi) break;
      out.push(this.clip(r, Math.max(lo, r.lo), Math.min(hi, r.hi)));
    }
    return out;
  }

  /** Run r restricted to [lo, hi) (a copy, with its pfns shifted). */
  private clip(r: Run, lo: number, hi: number): Run {
    const c: Run = { ...r, lo, hi };
    const d = lo - r.lo;
    if (!r.table) c.pfn = r.pfn + d * this.step;
    else if (r.fill) c.fill = r.fill.pfn < 0 ? r.fill : { ...r.fill, pfn: r.fill.pfn + d * PTES_PER_TABLE };
    return c;
  }

  /** Removes [lo, hi) from the runs, splitting those it cuts. */
  private cut(lo: number, hi: number): void {
    const out: Run[] = [];
    for (const r of this.runs) {
      if (r.hi <= lo || r.lo >= hi) {
        out.push(r);
        continue;
      }
      if (r.lo < lo) out.push(this.clip(r, r.lo, lo));
      if (r.hi > hi) out.push(this.clip(r, hi, r.hi));
    }
    this.runs = out;
  }

  private put(n: Run): void {
    this.cut(n.lo, n.hi);
    const runs = this.runs;
    let k = 0;
    while (k < runs.length && runs[k]!.lo < n.lo) k++;
    runs.splice(k, 0, n);
    // Merge with the neighbours when the run continues them.
    if (k + 1 < runs.length && this.continues(n, runs[k + 1]!)) {
      n.hi = runs[k + 1]!.hi;
      runs.splice(k + 1, 1);
    }
    if (k > 0 && this.continues(runs[k - 1]!, n)) {
      runs[k - 1]!.hi = n.hi;
      runs.splice(k, 1);
    }
  }

  /** Does run b carry on from run a (adjacent, same kind and bits, pfns continuing)? */
  private continues(a: Run, b: Run): boolean {
    if (a.hi !== b.lo || a.table !== b.table) return false;
    if (a.table) {
      if (!a.fill || !b.fill) return !a.fill && !b.fill;
      if (a.fill.pfn < 0 || b.fill.pfn < 0) return a.fill.pfn < 0 && b.fill.pfn < 0;
      return (
        a.fill.special === b.fill.special &&
        a.fill.write === b.fill.write &&
        a.fill.pfn + (a.hi - a.lo) * PTES_PER_TABLE === b.fill.pfn
      );
    }
    return a.special === b.special && a.write === b.write && a.pfn + (a.hi - a.lo) * this.step === b.pfn;
  }
}
