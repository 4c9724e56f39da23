// Page tables: a PUD level (PGD and P4D folded into it), PMD tables and PTE tables, with the
// kernel's page-table locks: mm->page_table_lock for the PUD level, one pmd_lock per PMD table and
// one PTE lock per PTE table (split ptlocks, include/linux/mm.h: pmd_lock(), pte_lockptr()).
// Tables are allocated on demand and, as in the kernel, zapping frees none: only munmap's
// free_pgtables() does.
//
// The entries of every table in one 1 GiB region of an mm are slots of one Cell (PtRegion, laid
// out as the tree in pre-order): every event names the slots it reads or writes (an entry read by
// a lockless check, a range a zap clears under the lock), and events on different slots do not
// conflict, as on the hardware. Entries are stored as runs (pte-runs.ts). Regions are keyed by mm
// and PUD index, tables' locks by mm, level, index and generation, so both are the same objects
// whichever thread allocates a table first.

import { Cell } from '../../sched/cell.js';
import { foldHash } from '../../sched/fingerprint.js';
import { resultOnly } from '../../sched/loop.js';
import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { type Level, PAGE_SIZE, PMD_SIZE, PUD_SIZE } from './arch.js';
import type { Leaf, Translation } from './mm_types.js';
import { EMPTY_FILL, Entries, type Entry, type Fill, type Run, TABLE } from './pte-runs.js';

export type { Entry } from './pte-runs.js';

/** Entries per PMD and PTE table. */
export const PTRS_PER_TABLE = 512;

/**
 * Whether the last Table.clearLeaf() found a leaf to remove. The clearing thread reads it right
 * after its event, before any other thread runs; a module variable rather than a field, so the
 * state comparisons of retry loops (hashGraph) never see it.
 */
let clearFound = false;
export const lastClearFound = (): boolean => clearFound;

/** A table's level, and what one of its slots maps. */
const STEP = { pud: PUD_SIZE / PAGE_SIZE, pmd: PMD_SIZE / PAGE_SIZE, pte: 1 } as const;
const SLOT_SIZE = { pud: PUD_SIZE, pmd: PMD_SIZE, pte: PAGE_SIZE } as const;

/**
 * The explorer's view of one 1 GiB region of an mm (what one PUD entry maps): one Cell whose slots
 * are laid out as a tree in pre-order, so that every change to a translation covers the slot a
 * walk of an address in it reads, and nothing else does:
 *
 *     [0] PUD entry: table pointer   [1] PUD entry: huge leaf
 *     then for each of its 512 PMD entries j, PMD_SPAN slots from 2 + j * PMD_SPAN:
 *       [+0] PMD entry: table pointer   [+1] PMD entry: huge leaf   [+2 .. +514) its 512 PTEs
 *
 * A read of an entry reads its two slots; a PTE its one. Pointing an empty entry to a new, empty
 * table writes only the entry's table-pointer slot: no translation changes, so it conflicts with
 * the reads of that entry (a walk of the kernel's that could see it, gup-fast, a lockless check
 * before an allocation) but not with the MMU's walk of an address below it. Installing or clearing
 * a huge leaf writes the entry's whole span, every PTE slot below included. The MMU's walk of an
 * address (PageTable.walk) is one read of that address's PTE slot: every event that can change its
 * translation writes that slot.
 */
export class PtRegion {
  constructor(
    private readonly pt: PageTable,
    /** The PUD index of the region. */
    readonly index: number,
  ) {}

  /**
   * For traces: what a read of slots [lo, hi) saw — the entry (none, a table, a leaf and its pfn),
   * the translation of a PTE slot, or for a huge-leaf slot alone whether the entry is one.
   */
  traceSlots(lo: number, hi: number): string {
    const base = this.index * PUD_SIZE;
    const at = (slot: number): { level: Level; va: number; leafSlot: boolean } => {
      if (slot < 2) return { level: 'pud', va: base, leafSlot: slot === 1 };
      const j = Math.floor((slot - 2) / PMD_SPAN);
      const r = (slot - 2) % PMD_SPAN;
      const pmdVa = base + j * PMD_SIZE;
      return r < 2
        ? { level: 'pmd', va: pmdVa, leafSlot: r === 1 }
        : { level: 'pte', va: pmdVa + (r - 2) * PAGE_SIZE, leafSlot: false };
    };
    const e = at(lo);
    const name = `${e.level} 0x${e.va.toString(16)}`;
    let text: string;
    if (e.level === 'pte') {
      const t = this.pt.lookup(e.va);
      text = `${name}: ${t ? `${t.level} leaf, pfn 0x${pfnAt(t, e.va).toString(16)}` : 'none'}`;
    } else {
      const kind = this.pt.entryKind(e.level, e.va);
      if (e.leafSlot && hi === lo + 1) text = `${name}: ${kind === 'leaf' ? 'a huge leaf' : 'no huge leaf'}`;
      else {
        const t = kind === 'leaf' ? this.pt.lookup(e.va) : null;
        text = `${name}: ${t ? `leaf, pfn 0x${t.pfn.toString(16)}` : kind}`;
      }
    }
    const last = at(hi - 1);
    if (last.va !== e.va || last.level !== e.level) text += ` .. ${last.level} 0x${last.va.toString(16)}`;
    return text;
  }

  /**
   * What a read of slots [lo, hi) saw, exactly and cheaply (no allocation for one entry), for
   * comparing two reads of the same slots (sched/execution.ts, SlotsKeyed): a number for one entry
   * (a PUD or PMD entry's two slots, a huge-leaf slot alone, one PTE), else a hash of the entries'
   * numbers in order (negative, so never equal to one entry's). An entry's number: 0 none, 1 a
   * table, else its leaf (leafCode); a huge-leaf slot alone (readIsLeaf), 1 when the entry is a
   * leaf and 0 when not; a PTE, the translation of its address (PageTable.translationCode).
   */
  slotsKey(lo: number, hi: number): number | string {
    const base = this.index * PUD_SIZE;
    // A huge-leaf slot read alone: whether the entry is a leaf (readIsLeaf).
    if (hi === lo + 1 && (lo === 1 || (lo >= 2 && (lo - 2) % PMD_SPAN === 1)))
      return this.pt.entryKind(lo === 1 ? 'pud' : 'pmd', slotVa(base, lo)) === 'leaf' ? 1 : 0;
    // Several entries: their numbers mixed in order into two 32-bit lanes, packed into one safe
    // integer (53 bits; a collision is as unlikely as one of the 64-bit state hashes).
    let first = -1;
    let a = 0x811c9dc5 | 0;
    let b = 0x01000193 | 0;
    let n = 0;
    for (let s = lo; s < hi; ) {
      const r = s < 2 ? s : (s - 2) % PMD_SPAN;
      let code: number;
      if (r < 2) {
        // An entry's two slots (or one of them): the entry.
        code = this.pt.entryCode(s < 2 ? 'pud' : 'pmd', slotVa(base, s));
        s += 2 - r;
      } else {
        code = this.pt.translationCode(slotVa(base, s) + (r - 2) * PAGE_SIZE);
        s++;
      }
      if (n++ === 0) first = code;
      const low = code >>> 0;
      const high = Math.floor(code / 4294967296) | 0;
      a = Math.imul(a ^ low, 0x01000193) ^ high;
      b = (Math.imul(b ^ high, 0x5bd1e995) + Math.imul(low, 0x9e3779b1) + (a >>> 7)) | 0;
    }
    return n === 1 ? first : -((a >>> 0) * 2097152 + (b >>> 11)) - 1;
  }

  /** For traces of a whole-value read: the region's leaves, briefly. */
  toJSON(): string {
    const lo = this.index * PUD_SIZE;
    const hi = lo + PUD_SIZE;
    const parts = this.pt
      .leaves()
      .filter((l) => l.base < hi && l.base + (l.count ?? 1) * SLOT_SIZE[l.level] > lo)
      .map(
        (l) =>
          `${l.level}@${l.base.toString(16)}${(l.count ?? 1) > 1 ? `x${l.count}` : ''}->${l.pfn.toString(16)}`,
      );
    return parts.length > 0 ? parts.join(',') : 'no leaves';
  }
}

/** The virtual address of the entry a slot of the region at `base` belongs to (PtRegion.slotsKey). */
function slotVa(base: number, slot: number): number {
  return slot < 2 ? base : base + Math.floor((slot - 2) / PMD_SPAN) * PMD_SIZE;
}

/** Slots of one PMD entry's span in a PtRegion: its two entry slots and its 512 PTEs. */
export const PMD_SPAN = 2 + 512;
/** Slots of a PtRegion. */
export const REGION_SLOTS = 2 + 512 * PMD_SPAN;

/** What a change to entries does, which decides the slots it writes (see PtRegion). */
type ChangeKind = 'leaf' | 'table';

/**
 * One page table: its entries, its lock, and the virtual address its slot 0 maps. Events on its
 * entries are events on the PtRegion Cell of the 1 GiB region the table lies in. Entries change
 * in place within a single event, so code looks at what an event returned right away and never
 * keeps it across another event.
 */
export class Table {
  dead = false;
  /**
   * The table's identity as a 32-bit code (sched/loop.ts resultOnly: a call that returns a table
   * counts by it): its mm, level, index and generation, the same in every execution that made the
   * same tables.
   */
  readonly foldCode: number;
  readonly entries: Entries;
  readonly lock: Mutex;
  /** Bytes one slot maps. */
  readonly slotSize: number;
  /** PMD and PTE tables: the region Cell, and the region slot of entry 0 (its first slot). */
  private readonly cell: Cell<PtRegion> | null;
  private readonly first: number;
  constructor(
    readonly name: string,
    key: string,
    lockName: string,
    lockClass: string,
    readonly level: Level,
    /** Virtual address of slot 0's first byte. */
    readonly base: number,
    /** The region Cell of a PUD index (PageTable.region). */
    private readonly regionOf: (pudIndex: number) => Cell<PtRegion>,
    /** Told of every change to the entries, with the slots changed (the page table's leaf cache). */
    private readonly changed: (t: Table, lo: number, hi: number) => void = () => {},
  ) {
    this.entries = new Entries(STEP[level]);
    this.foldCode = foldHash(0, key);
    this.lock = new Mutex(lockName, { key: `${key}:lock`, lockClass });
    this.slotSize = SLOT_SIZE[level];
    if (level === 'pud') {
      this.cell = null;
      this.first = 0;
    } else if (level === 'pmd') {
      this.cell = regionOf(Math.floor(base / PUD_SIZE));
      this.first = 2;
    } else {
      const g = Math.floor(base / PMD_SIZE);
      this.cell = regionOf(Math.floor(g / PTRS_PER_TABLE));
      this.first = 2 + (g % PTRS_PER_TABLE) * PMD_SPAN + 2;
    }
  }

  /** The slot of a virtual address in this table. */
  slot(va: number): number {
    return Math.floor((va - this.base) / this.slotSize);
  }

  /** The region Cell and slot range [lo, hi) that entries [i, j) of this table read. */
  private span(i: number, j: number, what: 'entry' | ChangeKind): [Cell<PtRegion>, number, number] {
    if (this.level === 'pte') return [this.cell!, this.first + i, this.first + j];
    if (this.level === 'pud') {
      if (j !== i + 1) throw new Error(`BUG: one event on PUD entries [${i}, ${j})`);
      return [this.regionOf(i), 0, what === 'entry' ? 2 : what === 'table' ? 1 : REGION_SLOTS];
    }
    const lo = this.first + i * PMD_SPAN;
    if (what === 'entry') return [this.cell!, lo, this.first + (j - 1) * PMD_SPAN + 2];
    if (what === 'table' && j === i + 1) return [this.cell!, lo, lo + 1];
    return [this.cell!, lo, this.first + j * PMD_SPAN];
  }

  /** One event: the entry at slot i (a lockless look, or one under the lock: the caller's choice). */
  *read(i: number): Thread<Entry | undefined> {
    const [c, lo, hi] = this.span(i, i + 1, 'entry');
    yield* c.readSlots(lo, hi);
    return this.entries.get(i);
  }

  /**
   * One event that reads only whether the entry at slot i (PUD or PMD) is a huge leaf: its leaf
   * slot (see PtRegion), which pointing the entry to a new table or unhooking one does not write.
   * For code whose next step depends on nothing else of the entry.
   */
  *readIsLeaf(i: number): Thread<boolean> {
    if (this.level === 'pte') throw new Error('BUG: readIsLeaf on a PTE table');
    const [c, lo] = this.span(i, i + 1, 'entry');
    yield* c.readSlots(lo + 1, lo + 2);
    return this.entries.get(i)?.t === 'leaf';
  }

  /** One event: the leaf at slot i (PTE tables). */
  *readLeaf(i: number): Thread<Leaf | undefined> {
    const [c, lo, hi] = this.span(i, i + 1, 'entry');
    yield* c.readSlots(lo, hi);
    return this.entries.leaf(i);
  }

  /** One event reading slots [lo, hi): the entries, to look at only there and right away. */
  *readRange(lo: number, hi: number): Thread<Entries> {
    const [c, a, b] = this.span(lo, hi, 'entry');
    yield* c.readSlots(a, b);
    return this.entries;
  }

  /** One event: sets the entry at slot i. */
  set(i: number, e: Entry): Thread<void> {
    return this.change(i, i + 1, (m) => m.set(i, e), e.t === 'table' ? 'table' : 'leaf');
  }

  /** One event: leaves mapping pfn, pfn + step, ... in slots [lo, hi). */
  setLeaves(lo: number, hi: number, pfn: number, special: boolean, write: boolean): Thread<void> {
    return this.change(lo, hi, (m) => m.setLeaves(lo, hi, pfn, special, write), 'leaf');
  }

  /**
   * One event: points slot i to a new, empty lower table. That changes no translation, so the
   * write is unseen by the invariants (Cell.rmwSlots): not ordered against their other writes.
   */
  setTable(i: number): Thread<void> {
    return this.change(i, i + 1, (m) => m.set(i, TABLE), 'table', true);
  }

  /**
   * One event: unhooks the lower tables of slots [lo, hi) (free_pgtables). `empty`: they map
   * nothing (the zap before emptied them), so no translation goes and the write is unseen.
   */
  clearTables(lo: number, hi: number, empty: boolean): Thread<void> {
    return this.change(lo, hi, (m) => m.clear(lo, hi), empty ? 'table' : 'leaf', empty);
  }

  /** One event: copies leaf runs (another table's, PTE tables) into slots [lo, hi). */
  setRuns(lo: number, hi: number, runs: readonly Run[]): Thread<void> {
    return this.change(
      lo,
      hi,
      (m) => {
        for (const r of runs) m.setLeaves(r.lo, r.hi, r.pfn, r.special, r.write);
      },
      'leaf',
    );
  }

  /** One event: empties slots [lo, hi) (only the leaves among them with `leavesOnly`). */
  clear(lo: number, hi: number, leavesOnly = false): Thread<void> {
    return this.change(lo, hi, (m) => m.clear(lo, hi, leavesOnly), 'leaf');
  }

  /**
   * One event: removes the huge leaf at slot i (PUD or PMD) if the entry is one when the event runs,
   * as zap_huge_pud()/zap_huge_pmd() do after their recheck under the lock. Whether there was one
   * is read right after the event with lastClearFound() (the zap's cleared_puds/cleared_pmds); the
   * event's own result stays empty, so traces show the entry after it as for any other change.
   */
  clearLeaf(i: number): Thread<void> {
    return this.change(
      i,
      i + 1,
      (m) => {
        clearFound = m.get(i)?.t === 'leaf';
        m.clear(i, i + 1, true);
      },
      'leaf',
    );
  }

  private change(
    lo: number,
    hi: number,
    f: (m: Entries) => void,
    kind: ChangeKind,
    unseen = false,
  ): Thread<void> {
    const [c, a, b] = this.span(lo, hi, kind);
    return c.rmwSlots(
      a,
      b,
      (v) => {
        f(this.entries);
        this.changed(this, lo, hi);
        return [v, undefined];
      },
      unseen,
    );
  }
}

/** The pfn a leaf maps at `va` (its first pfn plus the page offset inside it). */
export const pfnAt = (t: Translation, va: number): number => t.pfn + Math.floor((va - t.base) / PAGE_SIZE);

export const pudIndex = (va: number): number => Math.floor(va / PUD_SIZE);
export const pmdIndex = (va: number): number => Math.floor(va / PMD_SIZE);
export const pteIndex = (va: number): number => Math.floor(va / PAGE_SIZE);

const SIZE_OF: Record<Level, number> = SLOT_SIZE;

export class PageTable {
  /** The PUD level; its lock is mm->page_table_lock. Slot i maps [i * PUD_SIZE, (i + 1) * PUD_SIZE). */
  readonly pud: Table;
  private readonly pmdTables = new Map<number, Table>();
  private readonly pteTables = new Map<number, Table>();
  private readonly generation = new Map<string, number>();
  /** leaves() as of the last change (invariants ask after every event; most events change nothing here). */
  private leafCache: readonly Translation[] | null = null;
  private readonly changed = (t: Table, lo: number, hi: number): void => {
    this.leafCache = null;
    this.onChange?.(t.base + lo * t.slotSize, t.base + hi * t.slotSize);
  };
  /** Told of the virtual range whose translations a change may have altered. */
  onChange: ((from: number, to: number) => void) | undefined = undefined;

  private readonly regions = new Map<number, Cell<PtRegion>>();
  /** The explorer object of the 1 GiB region under PUD entry i (made on first use). */
  readonly region = (i: number): Cell<PtRegion> => {
    let c = this.regions.get(i);
    if (!c) {
      c = new Cell(`${this.mmName}.pt@${i.toString(16)}`, new PtRegion(this, i), {
        key: `${this.mmName}:pt@${i}`,
        slots: true,
      });
      this.regions.set(i, c);
    }
    return c;
  };

  constructor(readonly mmName: string) {
    this.pud = new Table(
      `${mmName}.pud`,
      `${mmName}:pud`,
      `${mmName}.page_table_lock`,
      'page_table_lock',
      'pud',
      0,
      this.region,
      this.changed,
    );
  }

  /** The PMD table under a PUD entry that reads 'table' (plain lookup: read the entry first). */
  pmdTable(va: number): Table {
    const t = this.pmdTables.get(pudIndex(va));
    if (!t) throw new Error(`BUG: no PMD table at 0x${va.toString(16)}`);
    return t;
  }

  /**
   * The PTE table under a PMD entry that reads 'table' (plain lookup: read the entry first). A
   * table that a filled run stands for (remapFilled) is made now, with the leaves it holds.
   */
  pteTable(va: number): Table {
    let t = this.pteTables.get(pmdIndex(va));
    if (!t) {
      const pmd = this.pmdTables.get(pudIndex(va));
      const s = pmd?.slot(va) ?? 0;
      const r = pmd?.entries.run(s);
      if (!pmd || !r?.fill) throw new Error(`BUG: no PTE table at 0x${va.toString(16)}`);
      t = this.newTable('pte', pmdIndex(va));
      const pfn = r.fill.pfn + (s - r.lo) * PTRS_PER_TABLE;
      if (r.fill.pfn >= 0) t.entries.setLeaves(0, PTRS_PER_TABLE, pfn, r.fill.special, r.fill.write);
      // The PMD entry now points to a made table; its neighbours keep their fill.
      pmd.entries.setTables(s, s + 1);
      this.pteTables.set(pmdIndex(va), t);
    }
    return t;
  }

  private newTable(level: 'pmd' | 'pte', idx: number): Table {
    const id = `${level}@${idx.toString(16)}`;
    const gen = this.generation.get(id) ?? 0;
    this.generation.set(id, gen + 1);
    const key = `${this.mmName}:${id}#${gen}`;
    const lockName =
      level === 'pmd'
        ? `${this.mmName}.pmd_lock@${idx.toString(16)}`
        : `${this.mmName}.ptl@${idx.toString(16)}`;
    const base = level === 'pmd' ? idx * PUD_SIZE : idx * PMD_SIZE;
    return new Table(
      `${this.mmName}.${id}`,
      key,
      lockName,
      level === 'pmd' ? 'pmd_lock' : 'ptl',
      level,
      base,
      this.region,
      this.changed,
    );
  }

  // mm/memory.c: __pmd_alloc() — under page_table_lock, populate an empty PUD entry with a new PMD
  // table. Returns null when the PUD holds a huge leaf (the caller's "pud_trans_unstable" retry).
  *pmdAlloc(va: number): Thread<Table | null> {
    const idx = pudIndex(va);
    return yield* this.tableAfterPopulate(
      this.pud,
      this.pud.slot(va),
      () => this.pmdTables.set(idx, this.newTable('pmd', idx)),
      () => this.pmdTable(va),
    );
  }

  // mm/memory.c: __pte_alloc() — under the PMD table's pmd_lock, populate an empty PMD entry with a
  // new PTE table. Returns null when the PMD holds a huge leaf.
  *pteAlloc(pmd: Table, va: number): Thread<Table | null> {
    const idx = pmdIndex(va);
    return yield* this.tableAfterPopulate(
      pmd,
      pmd.slot(va),
      () => this.pteTables.set(idx, this.newTable('pte', idx)),
      () => this.pteTable(va),
    );
  }

  /**
   * The shape of __pmd_alloc() and __pte_alloc(): a lockless look, then under the parent's lock a
   * second look and, if still empty, the new table (pud_populate()/pmd_populate()). The table under
   * the entry afterwards (`table()`), or null when the entry is a huge leaf. The caller goes on
   * with that table alone, whether this thread made it, found it made, or lost the race to make it
   * under the lock: a resultOnly call (state folding, sched/loop.ts), the table counted by its
   * identity (Table.foldCode).
   */
  private tableAfterPopulate(
    parent: Table,
    slot: number,
    make: () => void,
    table: () => Table,
  ): Thread<Table | null> {
    return resultOnly(this.populate(parent, slot, make, table));
  }

  private *populate(parent: Table, slot: number, make: () => void, table: () => Table): Thread<Table | null> {
    let e = yield* parent.read(slot);
    if (e === undefined) {
      yield* parent.lock.lock();
      e = yield* parent.read(slot);
      if (e === undefined) {
        make();
        yield* parent.setTable(slot);
        e = TABLE;
      }
      yield* parent.lock.unlock();
    }
    return e.t === 'table' ? table() : null;
  }

  /**
   * The MMU's walk of `va`: the leaf that maps it, or null. The hardware reads one entry per level,
   * but the model needs only the translation those reads give, and that is one event: a table
   * pointer, once set, changes only when munmap's free_pgtables() unhooks a table the zap before
   * emptied (and tables are never freed under a walk that could still use them: the kernel holds
   * them off with IRQs disabled or RCU), so whatever the walk reads on its way down, it ends at the
   * leaf the address has at some instant, or at none. (gup-fast's walk, whose reads of each level
   * the kernel's code makes, is modelled level by level in gup.ts.)
   */
  *walk(va: number): Thread<Translation | null> {
    // One read of the address's PTE slot of its region (see PtRegion): every change to the
    // translation of va writes that slot, and pointing an entry to a new, empty table does not.
    const g = pmdIndex(va);
    const s = 2 + (g % PTRS_PER_TABLE) * PMD_SPAN + 2 + (pteIndex(va) % PTRS_PER_TABLE);
    yield* this.region(pudIndex(va)).readSlots(s, s + 1);
    return this.lookup(va);
  }

  /** The leaf that maps `va`, without events: for invariants and tests. */
  lookup(va: number): Translation | null {
    const pe = this.pud.entries.get(this.pud.slot(va));
    if (pe === undefined) return null;
    if (pe.t === 'leaf') return { ...pe.leaf, level: 'pud', base: va - (va % PUD_SIZE) };
    const pmd = this.pmdTables.get(pudIndex(va));
    const r = pmd?.entries.run(pmd.slot(va));
    if (!pmd || !r) return null;
    if (!r.table) {
      const me = pmd.entries.get(pmd.slot(va))! as { t: 'leaf'; leaf: Leaf };
      return { ...me.leaf, level: 'pmd', base: va - (va % PMD_SIZE) };
    }
    if (r.fill) {
      if (r.fill.pfn < 0) return null;
      const pfn = r.fill.pfn + (pmd.slot(va) - r.lo) * PTRS_PER_TABLE + (pteIndex(va) % PTRS_PER_TABLE);
      return { pfn, special: r.fill.special, write: r.fill.write, level: 'pte', base: va - (va % PAGE_SIZE) };
    }
    const pte = this.pteTables.get(pmdIndex(va));
    const leaf = pte?.entries.leaf(pte.slot(va));
    return leaf ? { ...leaf, level: 'pte', base: va - (va % PAGE_SIZE) } : null;
  }

  /**
   * Every present leaf, without events, in address order, as runs: `count` leaves of one level,
   * each mapping the pfns after the one before it. The array is shared until the tables change:
   * callers must not modify it.
   */
  leaves(): readonly Translation[] {
    if (this.leafCache) return this.leafCache;
    const out: Translation[] = [];
    const push = (t: Translation): void => {
      const last = out[out.length - 1];
      const size = SIZE_OF[t.level];
      if (
        last &&
        last.level === t.level &&
        last.special === t.special &&
        last.write === t.write &&
        last.base + (last.count ?? 1) * size === t.base &&
        last.pfn + ((last.count ?? 1) * size) / PAGE_SIZE === t.pfn
      ) {
        last.count = (last.count ?? 1) + (t.count ?? 1);
        return;
      }
      out.push(t);
    };
    for (const pr of this.pud.entries.runs) {
      if (!pr.table) {
        push({
          pfn: pr.pfn,
          special: pr.special,
          write: pr.write,
          level: 'pud',
          base: pr.lo * PUD_SIZE,
          count: pr.hi - pr.lo,
        });
        continue;
      }
      for (let pi = pr.lo; pi < pr.hi; pi++) {
        const pmd = this.pmdTables.get(pi);
        if (!pmd) continue;
        for (const mr of pmd.entries.runs) {
          const va = pmd.base + mr.lo * PMD_SIZE;
          if (!mr.table) {
            push({
              pfn: mr.pfn,
              special: mr.special,
              write: mr.write,
              level: 'pmd',
              base: va,
              count: mr.hi - mr.lo,
            });
            continue;
          }
          if (mr.fill) {
            if (mr.fill.pfn < 0) continue;
            const n = (mr.hi - mr.lo) * PTRS_PER_TABLE;
            push({
              pfn: mr.fill.pfn,
              special: mr.fill.special,
              write: mr.fill.write,
              level: 'pte',
              base: va,
              count: n,
            });
            continue;
          }
          for (let s = mr.lo; s < mr.hi; s++) {
            const pte = this.pteTables.get(pmdIndex(pmd.base + s * PMD_SIZE));
            if (!pte) continue;
            for (const tr of pte.entries.runs) {
              push({
                pfn: tr.pfn,
                special: tr.special,
                write: tr.write,
                level: 'pte',
                base: pte.base + tr.lo * PAGE_SIZE,
                count: tr.hi - tr.lo,
              });
            }
          }
        }
      }
    }
    this.leafCache = out;
    return out;
  }

  /** Every present leaf one by one (runs expanded), in address order: for tests and small tables. */
  leafList(): Translation[] {
    const out: Translation[] = [];
    for (const r of this.leaves()) {
      const size = SIZE_OF[r.level];
      for (let k = 0; k < (r.count ?? 1); k++)
        out.push({
          pfn: r.pfn + (k * size) / PAGE_SIZE,
          special: r.special,
          write: r.write,
          level: r.level,
          base: r.base + k * size,
        });
    }
    return out;
  }

  /**
   * The PUD or PMD entry that maps va, as a number (no allocation): 0 none, 1 a table, else its
   * leaf (leafCode). For comparing what two reads of an entry saw (PtRegion.slotsKey).
   */
  entryCode(level: 'pud' | 'pmd', va: number): number {
    const t = level === 'pud' ? this.pud : this.pmdTables.get(pudIndex(va));
    if (!t) return 0;
    const i = t.slot(va);
    const r = t.entries.run(i);
    if (!r) return 0;
    if (r.table) return 1;
    return leafCode(r.pfn + (i - r.lo) * t.entries.step, r.special, r.write, level === 'pud' ? 1 : 2);
  }

  /** The translation of va (lookup()) as a number, without allocating: 0 none, else leafCode. */
  translationCode(va: number): number {
    const ps = this.pud.slot(va);
    const pr = this.pud.entries.run(ps);
    if (!pr) return 0;
    if (!pr.table) return leafCode(pr.pfn + (ps - pr.lo) * this.pud.entries.step, pr.special, pr.write, 1);
    const pmd = this.pmdTables.get(pudIndex(va));
    if (!pmd) return 0;
    const ms = pmd.slot(va);
    const r = pmd.entries.run(ms);
    if (!r) return 0;
    if (!r.table) return leafCode(r.pfn + (ms - r.lo) * pmd.entries.step, r.special, r.write, 2);
    if (r.fill) {
      if (r.fill.pfn < 0) return 0;
      const pfn = r.fill.pfn + (ms - r.lo) * PTRS_PER_TABLE + (pteIndex(va) % PTRS_PER_TABLE);
      return leafCode(pfn, r.fill.special, r.fill.write, 3);
    }
    const pte = this.pteTables.get(pmdIndex(va));
    if (!pte) return 0;
    const i = pte.slot(va);
    const q = pte.entries.run(i);
    if (!q || q.table) return 0;
    return leafCode(q.pfn + (i - q.lo), q.special, q.write, 3);
  }

  /** What kind of entry covers `va` at a level, without events (for tests and slotsKey). */
  entryKind(level: Level, va: number): 'none' | 'table' | 'leaf' {
    if (level === 'pud') return kind(this.pud.entries.get(this.pud.slot(va)));
    if (level === 'pmd') {
      const t = this.pmdTables.get(pudIndex(va));
      return t ? kind(t.entries.get(t.slot(va))) : 'none';
    }
    return this.lookup(va)?.level === 'pte' ? 'leaf' : 'none';
  }

  /**
   * remap_pfn_range() of [va, va + size) onto consecutive pfns from `pfn`, for whole empty PMD
   * entries under existing PMD tables: the PTE tables are described by a filled run of the PMD
   * table instead of being made (pteTable() makes one when something looks at it). Used only where
   * no other thread can run (a scenario's setup), where it leaves exactly the state the kernel's
   * loop over the tables would; returns the end of what it did (va when it did nothing).
   */
  remapFilled(va: number, end: number, pfn: number, special: boolean, write: boolean): number {
    let at = va;
    while (at < end && at % PMD_SIZE === 0 && end - at >= PMD_SIZE) {
      const pmd = this.pmdTables.get(pudIndex(at));
      if (!pmd) break;
      const s = pmd.slot(at);
      const last = Math.min(PTRS_PER_TABLE, s + Math.floor((end - at) / PMD_SIZE));
      // Only empty slots (the kernel would BUG on a present PTE, and a huge leaf is not ours).
      let k = s;
      while (k < last && !pmd.entries.has(k)) k++;
      if (k === s) break;
      const fill: Fill = { pfn: pfn + (at - va) / PAGE_SIZE, special, write };
      pmd.entries.setTables(s, k, fill);
      this.leafCache = null;
      this.onChange?.(at, at + (k - s) * PMD_SIZE);
      at += (k - s) * PMD_SIZE;
    }
    return at;
  }

  /**
   * zap_pte_range() of [va, end) over PTE tables a filled run stands for, where no other thread can
   * run: they become empty tables (still not made), as the kernel's loop would leave them. Only
   * whole tables of filled runs; returns the end of what it did (va when it did nothing).
   */
  zapFilled(va: number, end: number): number {
    let at = va;
    while (at < end && at % PMD_SIZE === 0 && end - at >= PMD_SIZE) {
      const pmd = this.pmdTables.get(pudIndex(at));
      const s = pmd?.slot(at) ?? 0;
      const r = pmd?.entries.run(s);
      if (!pmd || !r?.fill || r.fill.pfn < 0) break;
      const last = Math.min(r.hi, s + Math.floor((end - at) / PMD_SIZE), PTRS_PER_TABLE);
      pmd.entries.setTables(s, last, EMPTY_FILL);
      this.leafCache = null;
      this.onChange?.(at, at + (last - s) * PMD_SIZE);
      at += (last - s) * PMD_SIZE;
    }
    return at;
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
  /** PTE tables (made ones) under a PMD index range (plain data). */
  pteTablesIn(fromVa: number, toVa: number): number[] {
    return [...this.pteTables.keys()].filter((i) => i * PMD_SIZE >= fromVa && (i + 1) * PMD_SIZE <= toVa);
  }
  /** PMD entries in [fromVa, toVa) that stand for PTE tables not made yet (filled runs). */
  filledIn(fromVa: number, toVa: number): number[] {
    const out: number[] = [];
    for (const pi of this.pmdTablesIn(fromVa - (fromVa % PUD_SIZE), toVa + PUD_SIZE)) {
      const pmd = this.pmdTables.get(pi)!;
      for (const r of pmd.entries.runs) {
        if (!r.fill) continue;
        for (let s = r.lo; s < r.hi; s++) {
          const va = pmd.base + s * PMD_SIZE;
          if (va >= fromVa && va + PMD_SIZE <= toVa) out.push(pmdIndex(va));
        }
      }
    }
    return out;
  }
  pmdTablesIn(fromVa: number, toVa: number): number[] {
    return [...this.pmdTables.keys()].filter((i) => i * PUD_SIZE >= fromVa && (i + 1) * PUD_SIZE <= toVa);
  }
}

/** A leaf as a number of at most 2^53: its first pfn, its bits and its level (1 PUD, 2 PMD, 3 PTE); never 0 or 1. */
function leafCode(pfn: number, special: boolean, write: boolean, level: number): number {
  return 2 + ((pfn * 2 + (special ? 1 : 0)) * 2 + (write ? 1 : 0)) * 4 + level;
}

function kind(e: Entry | undefined): 'none' | 'table' | 'leaf' {
  return e === undefined ? 'none' : e.t;
}
