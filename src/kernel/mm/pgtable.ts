// Page tables: a PUD level (PGD and P4D folded into it), PMD tables and PTE tables, each table one
// Cell holding its entries, with the kernel's page-table locks: mm->page_table_lock for the PUD
// level, one pmd_lock per PMD table and one PTE lock per PTE table (split ptlocks,
// include/linux/mm.h: pmd_lock(), pte_lockptr()). Tables are allocated on demand and, as in the
// kernel, zapping frees none: only munmap's free_pgtables() does.
//
// A table is one Cell, so every access to an entry of a table conflicts with every write to the
// table: coarser than the hardware, never less safe. Tables are keyed by mm, level, index and
// generation, so a table is the same object whichever thread allocates it first.

import { Cell } from '../../sched/cell.js';
import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { type Level, PAGE_SIZE, PMD_SIZE, PUD_SIZE } from './arch.js';
import type { Leaf, Translation } from './mm_types.js';

/** An entry of the PUD level or of a PMD table: a lower table, or a huge leaf. */
export type Entry = { t: 'table' } | { t: 'leaf'; leaf: Leaf };

/**
 * One page table. Its entries are a Map inside one Cell; `set` and `clear` change the Map in place
 * within a single read-modify-write event (copying a 512-entry table per write would dominate the
 * cost of a fault), so code must look entries up right after reading the table, never keep the Map
 * across an event.
 */
export class Table<E> {
  dead = false;
  readonly cell: Cell<ReadonlyMap<number, E>>;
  readonly lock: Mutex;
  constructor(
    name: string,
    key: string,
    lockName: string,
    lockClass: string,
    /** Told of every change to the entries (the page table's cache of its leaves). */
    private readonly changed: () => void = () => {},
  ) {
    this.cell = new Cell<ReadonlyMap<number, E>>(name, new Map(), { key });
    this.lock = new Mutex(lockName, { key: `${key}:lock`, lockClass });
  }

  /** One event: sets entries. */
  set(entries: Iterable<readonly [number, E]>): Thread<void> {
    return this.cell.rmw((m) => {
      for (const [k, v] of entries) (m as Map<number, E>).set(k, v);
      this.changed();
      return [m, undefined];
    });
  }

  /** One event: clears the given entries (when `onlyIf` holds for the entry there). */
  clear(keys: Iterable<number>, onlyIf: (e: E) => boolean = () => true): Thread<void> {
    return this.cell.rmw((m) => {
      for (const k of keys) {
        const e = m.get(k);
        if (e !== undefined && onlyIf(e)) (m as Map<number, E>).delete(k);
      }
      this.changed();
      return [m, undefined];
    });
  }
  /** Contents without an event: for invariants, tests and plain-data decisions under a lock. */
  get entries(): ReadonlyMap<number, E> {
    return this.cell.value;
  }
}

/** The pfn a leaf maps at `va` (its first pfn plus the page offset inside it). */
export const pfnAt = (t: Translation, va: number): number => t.pfn + Math.floor((va - t.base) / PAGE_SIZE);

export const pudIndex = (va: number): number => Math.floor(va / PUD_SIZE);
export const pmdIndex = (va: number): number => Math.floor(va / PMD_SIZE);
export const pteIndex = (va: number): number => Math.floor(va / PAGE_SIZE);

export class PageTable {
  /** The PUD level; its lock is mm->page_table_lock. */
  readonly pud: Table<Entry>;
  private readonly pmdTables = new Map<number, Table<Entry>>();
  private readonly pteTables = new Map<number, Table<Leaf>>();
  private readonly generation = new Map<string, number>();
  /** leaves() as of the last change (invariants ask after every event; most events change nothing here). */
  private leafCache: readonly Translation[] | null = null;
  private readonly changed = (): void => {
    this.leafCache = null;
  };

  constructor(readonly mmName: string) {
    this.pud = new Table(
      `${mmName}.pud`,
      `${mmName}:pud`,
      `${mmName}.page_table_lock`,
      'page_table_lock',
      this.changed,
    );
  }

  /** The PMD table under a PUD entry that reads 'table' (plain lookup: read the entry first). */
  pmdTable(va: number): Table<Entry> {
    const t = this.pmdTables.get(pudIndex(va));
    if (!t) throw new Error(`BUG: no PMD table at 0x${va.toString(16)}`);
    return t;
  }

  pteTable(va: number): Table<Leaf> {
    const t = this.pteTables.get(pmdIndex(va));
    if (!t) throw new Error(`BUG: no PTE table at 0x${va.toString(16)}`);
    return t;
  }

  private newTable<E>(level: 'pmd' | 'pte', idx: number): Table<E> {
    const id = `${level}@${idx.toString(16)}`;
    const gen = this.generation.get(id) ?? 0;
    this.generation.set(id, gen + 1);
    const key = `${this.mmName}:${id}#${gen}`;
    const lockName =
      level === 'pmd'
        ? `${this.mmName}.pmd_lock@${idx.toString(16)}`
        : `${this.mmName}.ptl@${idx.toString(16)}`;
    return new Table<E>(
      `${this.mmName}.${id}`,
      key,
      lockName,
      level === 'pmd' ? 'pmd_lock' : 'ptl',
      this.changed,
    );
  }

  // mm/memory.c: __pmd_alloc() — under page_table_lock, populate an empty PUD entry with a new PMD
  // table. Returns null when the PUD holds a huge leaf (the caller's "pud_trans_unstable" retry).
  *pmdAlloc(va: number): Thread<Table<Entry> | null> {
    const idx = pudIndex(va);
    const ok = yield* this.populate(this.pud, idx, () =>
      this.pmdTables.set(idx, this.newTable<Entry>('pmd', idx)),
    );
    return ok ? this.pmdTable(va) : null;
  }

  // mm/memory.c: __pte_alloc() — under the PMD table's pmd_lock, populate an empty PMD entry with a
  // new PTE table. Returns null when the PMD holds a huge leaf.
  *pteAlloc(pmd: Table<Entry>, va: number): Thread<Table<Leaf> | null> {
    const idx = pmdIndex(va);
    const ok = yield* this.populate(pmd, idx, () => this.pteTables.set(idx, this.newTable<Leaf>('pte', idx)));
    return ok ? this.pteTable(va) : null;
  }

  /**
   * The shape of __pmd_alloc() and __pte_alloc(): a lockless look, then under the parent's lock a
   * second look and, if still empty, the new table (pud_populate()/pmd_populate()). True when the
   * entry is a table afterwards, false when it is a huge leaf.
   */
  private *populate(parent: Table<Entry>, idx: number, make: () => void): Thread<boolean> {
    let e = (yield* parent.cell.read()).get(idx);
    if (e === undefined) {
      yield* parent.lock.lock();
      e = (yield* parent.cell.read()).get(idx);
      if (e === undefined) {
        make();
        yield* parent.set([[idx, { t: 'table' }]]);
        e = { t: 'table' };
      }
      yield* parent.lock.unlock();
    }
    return e.t === 'table';
  }

  /**
   * A lockless walk, as the MMU or gup-fast does it: one read per level. Returns the leaf that maps
   * `va`, or null. Tables are never freed under a walk that could still use them (the kernel holds
   * them off with IRQs disabled or RCU), so a walk only ever sees live or emptied tables.
   */
  *walk(va: number): Thread<Translation | null> {
    const pe = (yield* this.pud.cell.read()).get(pudIndex(va));
    if (pe === undefined) return null;
    if (pe.t === 'leaf') return { ...pe.leaf, level: 'pud', base: va - (va % PUD_SIZE) };
    const me = (yield* this.pmdTable(va).cell.read()).get(pmdIndex(va));
    if (me === undefined) return null;
    if (me.t === 'leaf') return { ...me.leaf, level: 'pmd', base: va - (va % PMD_SIZE) };
    const leaf = (yield* this.pteTable(va).cell.read()).get(pteIndex(va));
    return leaf ? { ...leaf, level: 'pte', base: va - (va % PAGE_SIZE) } : null;
  }

  /** The leaf that maps `va`, without events: for invariants and tests. */
  lookup(va: number): Translation | null {
    const pe = this.pud.entries.get(pudIndex(va));
    if (pe === undefined) return null;
    if (pe.t === 'leaf') return { ...pe.leaf, level: 'pud', base: va - (va % PUD_SIZE) };
    const me = this.pmdTables.get(pudIndex(va))?.entries.get(pmdIndex(va));
    if (me === undefined) return null;
    if (me.t === 'leaf') return { ...me.leaf, level: 'pmd', base: va - (va % PMD_SIZE) };
    const leaf = this.pteTables.get(pmdIndex(va))?.entries.get(pteIndex(va));
    return leaf ? { ...leaf, level: 'pte', base: va - (va % PAGE_SIZE) } : null;
  }

  /**
   * Every present leaf, without events, in address order. The array is shared until the tables
   * change: callers must not modify it.
   */
  leaves(): readonly Translation[] {
    if (this.leafCache) return this.leafCache;
    const out: Translation[] = [];
    for (const [pi, pe] of this.pud.entries) {
      if (pe.t === 'leaf') {
        out.push({ ...pe.leaf, level: 'pud', base: pi * PUD_SIZE });
        continue;
      }
      for (const [mi, me] of this.pmdTables.get(pi)?.entries ?? []) {
        if (me.t === 'leaf') {
          out.push({ ...me.leaf, level: 'pmd', base: mi * PMD_SIZE });
          continue;
        }
        for (const [ti, leaf] of this.pteTables.get(mi)?.entries ?? []) {
          out.push({ ...leaf, level: 'pte', base: ti * PAGE_SIZE });
        }
      }
    }
    this.leafCache = out.sort((a, b) => a.base - b.base);
    return this.leafCache;
  }

  /** What kind of entry covers `va` at a level, without events (for tests). */
  entryKind(level: Level, va: number): 'none' | 'table' | 'leaf' {
    if (level === 'pud') return kind(this.pud.entries.get(pudIndex(va)));
    if (level === 'pmd') {
      const t = this.pmdTables.get(pudIndex(va));
      return t ? kind(t.entries.get(pmdIndex(va))) : 'none';
    }
    const t = this.pteTables.get(pmdIndex(va));
    return t?.entries.has(pteIndex(va)) ? 'leaf' : 'none';
  }

  /** Page tables the walk can reach, for munmap's free_pgtables (plain data under mmap_lock). */
  hasPmdTable(va: number): boolean {
    return this.pmdTables.has(pudIndex(va));
  }
  hasPteTable(va: number): boolean {
    return this.pteTables.has(pmdIndex(va));
  }
  forgetPmdTable(va: number): void {
    const t = this.pmdTables.get(pudIndex(va));
    if (t) t.dead = true;
    this.pmdTables.delete(pudIndex(va));
    this.leafCache = null;
  }
  forgetPteTable(va: number): void {
    const t = this.pteTables.get(pmdIndex(va));
    if (t) t.dead = true;
    this.pteTables.delete(pmdIndex(va));
    this.leafCache = null;
  }
  /** PTE tables under a PMD index range (plain data). */
  pteTablesIn(fromVa: number, toVa: number): number[] {
    return [...this.pteTables.keys()].filter((i) => i * PMD_SIZE >= fromVa && (i + 1) * PMD_SIZE <= toVa);
  }
  pmdTablesIn(fromVa: number, toVa: number): number[] {
    return [...this.pmdTables.keys()].filter((i) => i * PUD_SIZE >= fromVa && (i + 1) * PUD_SIZE <= toVa);
  }
}

function kind(e: Entry | undefined): 'none' | 'table' | 'leaf' {
  return e === undefined ? 'none' : e.t;
}
