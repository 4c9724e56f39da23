// One shared memory location. Reads are read-like; writes and read-modify-writes conflict with
// everything on the same cell.

import type { Mutex } from './mutex.js';
import { ALL_HI, K, shared } from './op.js';
import { Prim, type PrimOptions } from './prim.js';
import type { Thread } from './program.js';

export interface CellOptions<T> extends PrimOptions {
  /**
   * How traces print a value of this cell, as the kernel would show it (a count, `freed`, an IOMMU
   * table's translations); without it, numbers and strings as they are and objects as JSON.
   * Replays for people only: never called in the search.
   */
  show?: (v: T) => string;
}

export class Cell<T> extends Prim {
  // A getter, not a field: the executor reads it while the base constructor registers the object.
  get type(): 'cell' {
    return 'cell';
  }
  private v: T;
  /** CellOptions.show (given a value of this cell). */
  readonly show: ((v: unknown) => string) | undefined;
  /**
   * The lock every change of this cell is made under, held exclusively (the kernel's "protected
   * by"), where a read-only section of that lock reads it (Mutex.lockReadOnly): a change without it
   * is an error. Null: no such promise.
   */
  guardedBy: Mutex | null = null;

  constructor(name: string, initial: T, options: CellOptions<T> = {}) {
    super(name, options);
    this.v = initial;
    this.show = options.show as ((v: unknown) => string) | undefined;
  }

  /** One event: returns the value. */
  read(): Thread<T> {
    return shared(K.READ, this) as unknown as Thread<T>;
  }

  /** One event: stores `value`. */
  write(value: T): Thread<void> {
    return shared(K.WRITE, this, value) as unknown as Thread<void>;
  }

  /**
   * One atomic event: `f` maps the old value to [new value, result] (xchg, cmpxchg, inc, ...). An
   * object value is replaced, never changed in place: the retry-cycle check (loop.ts) takes the
   * same object read twice for the same value. Only a slotted value (rmwSlots) may change in place,
   * if it says what a read of some slots saw (SlotsKeyed in execution.ts).
   */
  rmw<R>(f: (v: T) => [T, R]): Thread<R> {
    return shared(K.RMW, this, f) as unknown as Thread<R>;
  }

  /**
   * One event that reads only the slots [lo, hi) of a Cell made with the `slots` option: it
   * returns the whole value, and the caller must look only at those slots. Events on disjoint
   * slots do not conflict.
   */
  readSlots(lo: number, hi: number): Thread<T> {
    return shared(K.READ, this, undefined, lo, this.slotEnd(lo, hi)) as unknown as Thread<T>;
  }

  /**
   * One atomic event that changes only the slots [lo, hi) (see readSlots). `unseen`: the change
   * cannot alter anything the program's invariant reads (a page-table entry that points to a new,
   * empty table), so the visibility rule does not order it against other writes; it still
   * conflicts with every other event on those slots.
   */
  rmwSlots<R>(lo: number, hi: number, f: (v: T) => [T, R], unseen = false): Thread<R> {
    return shared(unseen ? K.RMW_UNSEEN : K.RMW, this, f, lo, this.slotEnd(lo, hi)) as unknown as Thread<R>;
  }

  private slotEnd(lo: number, hi: number): number {
    if (!this.slots) throw new Error(`cell ${this.name} has no slots (create it with the slots option)`);
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi <= lo || hi > ALL_HI)
      throw new Error(`cell ${this.name}: bad slot range [${lo}, ${hi})`);
    return hi;
  }

  /** The current value, without an event: for setup, invariants and final checks only. */
  get value(): T {
    return this.v;
  }

  /** @internal the value a state check at a cut sees (observedOnly programs). */
  cutValue(): unknown {
    return this.v;
  }

  /** @internal sets the value for a state check at a cut; the explorer restores it after. */
  setCutValue(v: unknown): void {
    this.v = v as T;
  }

  /** @internal executed by the explorer. */
  apply(kind: number, t: number, arg: unknown): unknown {
    if (kind === K.READ) return this.v;
    const g = this.guardedBy;
    if (g !== null && g.owner !== t)
      throw new Error(
        `cell ${this.name} changed without ${g.name} held, the lock that guards it (guardedBy)`,
      );
    if (kind === K.WRITE) {
      this.v = arg as T;
      return undefined;
    }
    const [nv, r] = (arg as (v: T) => [T, unknown])(this.v);
    this.v = nv;
    return r;
  }

  enabled(): boolean {
    return true;
  }
}
