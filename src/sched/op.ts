// Operations: what a thread yields at each scheduling point.
//
// Every primitive method (Cell.read, Mutex.lock, ...) returns an `Op`, which is both the iterable that
// `yield*` consumes and the value the executor receives. The executor copies an op's fields into its
// per-thread slots the moment it is yielded, so each primitive keeps one preallocated `Op` per
// method and mutates `arg` per call: no allocation per event.

import type { Prim } from './prim.js';
import { captureCall } from './site.js';

/** Operation kinds. The numeric values index the tables below; keep them dense. */
export const K = {
  READ: 0,
  WRITE: 1,
  RMW: 2,
  LOCK: 3,
  UNLOCK: 4,
  TRYLOCK: 5,
  DOWN_READ: 6,
  UP_READ: 7,
  DOWN_WRITE: 8,
  DOWN_WRITE_WAIT: 9,
  UP_WRITE: 10,
  TRY_DOWN_READ: 11,
  TRY_DOWN_WRITE: 12,
  WAIT: 13,
  COMPLETE: 14,
  COMPLETE_ALL: 15,
  /** A read-modify-write the program promises changes nothing its invariant reads (Cell.rmwSlots). */
  RMW_UNSEEN: 16,
  /**
   * A reference count's get or put of a reference its thread holds only for a while
   * (refcount.ts): while long-lived references keep the count above zero, these commute with
   * each other. Run as RMW when they do not (Prim.refine).
   */
  REF_SCOPED: 17,
} as const;
export type OpKind = (typeof K)[keyof typeof K];

/** Printable names, as shown in traces. */
export const OP_NAME: readonly string[] = [
  'read',
  'write',
  'rmw',
  'lock',
  'unlock',
  'trylock',
  'down_read',
  'up_read',
  'down_write',
  'down_write(wait)',
  'up_write',
  'down_read_trylock',
  'down_write_trylock',
  'wait',
  'complete',
  'complete_all',
  'rmw',
  'rmw',
];

/**
 * Read-like kinds: two read-like operations on the same object commute and neither enables nor
 * disables the other, so they are independent. Every other pair on one object conflicts.
 */
const READ_LIKE: readonly boolean[] = [
  true, // READ
  false,
  false,
  false,
  false,
  false,
  true, // DOWN_READ
  true, // UP_READ
  false,
  false,
  false,
  true, // TRY_DOWN_READ
  false,
  false,
  true, // COMPLETE: completions only add, so they commute with each other
  true, // COMPLETE_ALL
  false, // RMW_UNSEEN
  true, // REF_SCOPED: with each other (a RefCount has no plain reads, so nothing else is read-like there)
];

/**
 * Write-like kinds that can change what an invariant reads: every write-like kind but RMW_UNSEEN
 * and a down_write's arrival, which only joins the writer queue (invariants read who holds a
 * semaphore, not who waits for it: rwsem.ts). Only these are ordered by the visibility rule
 * (dependence.ts).
 */
export function isSeenWrite(kind: number): boolean {
  return !READ_LIKE[kind]! && kind !== K.RMW_UNSEEN && kind !== K.DOWN_WRITE;
}

export function isReadLike(kind: number): boolean {
  return READ_LIKE[kind]!;
}

/** The slot range of an operation that touches a whole object (every operation on an object that has no slots). */
export const ALL_LO = 0;
export const ALL_HI = 0x7fffffff;

/**
 * Two operations conflict when they touch the same object, in overlapping slot ranges, and at
 * least one is not read-like. Objects without slots are touched whole ([ALL_LO, ALL_HI)).
 */
export function conflicts(
  objA: number,
  kindA: number,
  loA: number,
  hiA: number,
  objB: number,
  kindB: number,
  loB: number,
  hiB: number,
): boolean {
  return objA === objB && loA < hiB && loB < hiA && !(READ_LIKE[kindA]! && READ_LIKE[kindB]!);
}

/** Kinds that acquire a lock (lock, down_read, down_write and its wait half), trylocks excluded. */
export function isAcquire(kind: number): boolean {
  return kind === K.LOCK || kind === K.DOWN_READ || kind === K.DOWN_WRITE || kind === K.DOWN_WRITE_WAIT;
}

/** Kinds that release a lock. */
export function isRelease(kind: number): boolean {
  return kind === K.UNLOCK || kind === K.UP_READ || kind === K.UP_WRITE;
}

/** Trylocks: they read the lock's state (their outcome depends on who holds it). */
export function isTry(kind: number): boolean {
  return kind === K.TRYLOCK || kind === K.TRY_DOWN_READ || kind === K.TRY_DOWN_WRITE;
}

/** Kinds that can be disabled (the thread blocks until another thread changes the object). */
export function isBlockable(kind: number): boolean {
  return kind === K.LOCK || kind === K.DOWN_READ || kind === K.DOWN_WRITE_WAIT || kind === K.WAIT;
}

/** Sent into a thread in place of `undefined`, so an op can tell its first `next()` from its resume. */
export const VOID: unique symbol = Symbol('void');
/** Sent back for a `down_write` that found the semaphore busy: the op then yields its wait half. */
export const QUEUED: unique symbol = Symbol('queued');

/**
 * One scheduling point. Iterable so that `yield* cell.read()` works without a generator object.
 *
 * The executor copies `kind`, `obj`, `arg` and `site` into the yielding thread's slots the moment
 * the op is yielded, and JavaScript runs one thread's code at a time, so most methods return one
 * shared op per kind with `obj` and `arg` set for the call (see `shared`). Only an op that is
 * resumed into a second yield (down_write's queue-then-wait) must belong to its object. The
 * iterator result object is reused too: `yield*` reads it before anything else can run.
 */
export class Op<R = unknown> implements Iterator<Op, R, unknown> {
  arg: unknown = undefined;
  /** The slots of the object the operation touches, [lo, hi) (whole objects: ALL_LO, ALL_HI). */
  lo = ALL_LO;
  hi = ALL_HI;
  /** Acquisition site (file:line of the caller), filled only while sites are being captured. */
  site: string | undefined = undefined;
  /** The model functions active at the operation, outermost first (captured with the site). */
  stack: string[] | undefined = undefined;
  private readonly res: { value: unknown; done: boolean } = { value: undefined, done: false };
  constructor(
    readonly kind: OpKind,
    public obj: Prim,
    /** For DOWN_WRITE: the op yielded when the writer had to queue. */
    readonly then: Op | null = null,
  ) {}

  [Symbol.iterator](): this {
    return this;
  }

  next(v?: unknown): IteratorResult<Op, R> {
    const r = this.res;
    if (v === undefined) {
      r.value = this;
      r.done = false;
    } else if (v === QUEUED) {
      r.value = this.then;
      r.done = false;
    } else {
      r.value = v === VOID ? undefined : v;
      r.done = true;
    }
    return r as IteratorResult<Op, R>;
  }

  return(value?: R): IteratorResult<Op, R> {
    return { value: value as R, done: true };
  }

  throw(e?: unknown): IteratorResult<Op, R> {
    throw e;
  }
}

const sharedOps: Op[] = [];

/** Set while the running execution records sites and stacks (replays for people). */
export const capture = { on: false };

/**
 * Stamps an op with the call that is issuing it now: its site and the thread's kernel call stack
 * while sites are captured, nothing otherwise. Every op a primitive hands out passes here at each
 * call, the shared ones and an object's own alike: an op is reused by every call, so what it
 * carries must be this call's (the search never pays: one flag test).
 */
export function issued<T extends Op>(op: T): T {
  if (capture.on) captureCall(op);
  else if (op.site !== undefined) {
    op.site = undefined;
    op.stack = undefined;
  }
  return op;
}

/** The shared op of a kind, aimed at `obj` for this call. */
export function shared(kind: OpKind, obj: Prim, arg?: unknown, lo = ALL_LO, hi = ALL_HI): Op {
  let op = sharedOps[kind];
  if (op === undefined) {
    op = new Op(kind, obj);
    sharedOps[kind] = op;
  }
  op.obj = obj;
  op.arg = arg;
  op.lo = lo;
  op.hi = hi;
  return issued(op);
}
