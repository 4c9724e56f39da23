// A reference count (refcount_t) whose short-lived references commute.
//
// Every get and put of a count is a read-modify-write, so a search orders each pair of them from
// different threads both ways: two faults that each pin a device for their duration make orders
// that differ in nothing a thread can tell, since neither get can fail and neither put can be the
// last while the device's own references hold the count up. A RefCount keeps apart the references
// model code takes with getScoped() and drops, in the same thread, with putScoped() (the
// duration of one call), from every other reference (long-lived ones: a registration's own, an
// open file's). While the long-lived references alone keep the count at one or more:
// - a scoped get finds the count above zero: it succeeds, whatever other scoped gets and puts did;
// - a scoped put leaves at least those references: it is not the last.
// So scoped gets and puts then commute with each other (K.REF_SCOPED, read-like among
// themselves), and conflict with every other operation on the count. When the long-lived
// references are gone, a scoped operation runs as a plain read-modify-write (refine()): the
// count's value decides it. Only operations that change the long-lived references change which
// way a scoped one runs, and those conflict with it, so every order that matters is explored.
// Every result is the kernel's (a get fails only at zero; a put reports reaching zero).

import { Cell, type CellOptions } from './cell.js';
import { K, shared } from './op.js';
import type { Thread } from './program.js';

/** Operation codes (the op's argument). */
const INC_NOT_ZERO = 1;
const DEC = 2;
const INC_SCOPED = 3;
const DEC_SCOPED = 4;

export class RefCount extends Cell<number> {
  /** Scoped references held, per thread (setup's thread included). */
  private scoped: number[] = [];
  /** Their sum. */
  private scopedSum = 0;

  constructor(name: string, initial: number, options: CellOptions<number> = {}) {
    super(name, initial, options);
  }

  /** refcount_inc_not_zero(): one event; true when a reference was taken. */
  incNotZero(): Thread<boolean> {
    return shared(K.RMW, this, INC_NOT_ZERO) as unknown as Thread<boolean>;
  }

  /** refcount_dec(_and_test)(): one event; returns the count before it (0 or less is an underflow). */
  dec(): Thread<number> {
    return shared(K.RMW, this, DEC) as unknown as Thread<number>;
  }

  /**
   * refcount_inc_not_zero() of a reference the calling thread drops with putScoped() before the
   * call that took it returns. One event.
   */
  getScoped(): Thread<boolean> {
    return shared(K.REF_SCOPED, this, INC_SCOPED) as unknown as Thread<boolean>;
  }

  /** refcount_dec_and_test() of a reference getScoped() took in this thread: true when it was the last. */
  putScoped(): Thread<boolean> {
    return shared(K.REF_SCOPED, this, DEC_SCOPED) as unknown as Thread<boolean>;
  }

  /** Events other than these would break the commutation argument above. */
  override read(): Thread<number> {
    throw new Error(`refcount ${this.name}: no read event (checks use .value)`);
  }

  override write(): Thread<void> {
    throw new Error(`refcount ${this.name}: no write event (use incNotZero/dec)`);
  }

  override rmw<R>(): Thread<R> {
    throw new Error(`refcount ${this.name}: no free-form rmw (use incNotZero/dec)`);
  }

  /** @internal K.REF_SCOPED runs as such only while the long-lived references keep the count up. */
  override refine(kind: number): number {
    return this.value - this.scopedSum >= 1 ? kind : K.RMW;
  }

  /** @internal executed by the explorer: the kernel's result whichever kind it runs as. */
  override apply(kind: number, t: number, arg: unknown): unknown {
    const c = this.value;
    switch (arg) {
      case INC_NOT_ZERO:
      case INC_SCOPED:
        if (c === 0) return false;
        this.setCount(c + 1);
        if (arg === INC_SCOPED) this.addScoped(t, 1);
        return true;
      case DEC:
        this.setCount(c - 1);
        return c;
      case DEC_SCOPED:
        if ((this.scoped[t] ?? 0) < 1)
          throw new Error(`refcount ${this.name}: putScoped() without a scoped reference of this thread`);
        this.addScoped(t, -1);
        this.setCount(c - 1);
        return c === 1;
      default:
        return super.apply(kind, t, arg);
    }
  }

  private addScoped(t: number, d: number): void {
    while (this.scoped.length <= t) this.scoped.push(0);
    this.scoped[t] = this.scoped[t]! + d;
    this.scopedSum += d;
    // Dense: one state, one representation (loop.ts compares states).
    while (this.scoped.length > 0 && this.scoped[this.scoped.length - 1] === 0) this.scoped.pop();
  }

  private setCount(v: number): void {
    super.apply(K.WRITE, 0, v);
  }
}
