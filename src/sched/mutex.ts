// A sleeping lock (kernel mutex, spinlock or ww_mutex without the wound/wait part). Every operation
// on it conflicts with every other, except two read-only sections' (lockReadOnly()).

import { K, shared } from './op.js';
import { currentHost, Prim, type PrimOptions } from './prim.js';
import type { Thread } from './program.js';

export interface LockOptions extends PrimOptions {
  /** lockdep class; locks of one class are one node in the lock-order graph. Default: the name. */
  lockClass?: string;
  /**
   * Its critical sections never wait (a spinlock's, or a CPU's TLB window): no thread blocks while
   * holding it. With ExploreOptions.lazyLocks an rw_semaphore marked so is handled lazily too (it
   * can then take no part in a deadlock); a thread that does block inside is an error.
   */
  atomicSections?: boolean;
  /**
   * Its critical sections read or write shared data that is not modelled as objects (plain fields
   * changed under the lock): with ExploreOptions.lazyLocks the lock is still handled eagerly, since
   * only its acquisitions order that data. Where only some sections do, leave this off and have
   * those sections call plainData() instead.
   */
  guardsPlainData?: boolean;
  /**
   * Some of its critical sections are read-only and may be taken with lockReadOnly() (see there).
   * Such a lock can never be trylocked.
   */
  readOnlySections?: boolean;
}

/** Do read-only sections overlap in the running execution (Program.readOnlySections)? */
function overlapping(): boolean {
  return currentHost()?.readOnlySections ?? true;
}

export class Mutex extends Prim {
  // A getter, not a field: the executor reads it while the base constructor registers the object.
  get type(): 'mutex' {
    return 'mutex';
  }
  readonly lockClass: string;
  /** Holding thread index, -1 when free. */
  owner = -1;
  /** Threads in a read-only section (lockReadOnly), one entry per hold, in thread order. */
  readonly readOnly: number[] = [];
  /** LockOptions.readOnlySections. */
  readonly readOnlySections: boolean;

  constructor(name: string, options: LockOptions = {}) {
    super(name, options);
    this.lockClass = options.lockClass ?? name;
    this.readOnlySections = options.readOnlySections === true;
  }

  /**
   * `subclass` is lockdep's nesting annotation (mutex_lock_nested, spin_lock_nested): a second
   * lock of the same class taken under the first, in a known order, is its own class for lockdep.
   */
  lock(subclass = 0): Thread<void> {
    return shared(K.LOCK, this, subclass) as unknown as Thread<void>;
  }

  unlock(): Thread<void> {
    return shared(K.UNLOCK, this) as unknown as Thread<void>;
  }

  /**
   * mutex_lock() for a critical section that only reads: the kernel takes the lock exclusively, and
   * the explorer lets such sections overlap one another (never a section taken with lock()). That
   * is Lipton's reduction: when a section reads only data that is written with the lock held
   * exclusively, makes at most one other access, and neither waits nor takes another lock, its
   * acquisition moves right, its release left and its reads either way, so every execution where
   * two such sections overlap equals one where they follow each other, and none is explored twice
   * in two orders of sections that commute. The executor checks those conditions at every event
   * (Cell `guardedBy`) and reports an ERROR when a section breaks them. Needs `readOnlySections`.
   * A program with `readOnlySections: false` takes these sections exclusively, as lock() does.
   */
  lockReadOnly(subclass = 0): Thread<void> {
    return shared(overlapping() ? K.DOWN_READ : K.LOCK, this, subclass) as unknown as Thread<void>;
  }

  /** mutex_unlock() of a section taken with lockReadOnly(). */
  unlockReadOnly(): Thread<void> {
    return shared(overlapping() ? K.UP_READ : K.UNLOCK, this) as unknown as Thread<void>;
  }

  /** Never blocks: true if the lock was taken. */
  tryLock(): Thread<boolean> {
    return shared(K.TRYLOCK, this) as unknown as Thread<boolean>;
  }

  /**
   * Called by model code inside a critical section of this lock when it reads or writes data the
   * lock guards that is not modelled as objects (a plain field or list). With lazy locks, two
   * sections that touch no object in common are not explored in both orders; plain data is no
   * object, so a section that touches it says so here, and the explorer then orders every critical
   * section of this lock by the calling thread eagerly, in this execution, earlier ones included.
   * Sections that touch only objects need no call. The running thread must hold the lock.
   */
  plainData(): void {
    const h = currentHost();
    if (!h || h.inSetup) return;
    const t = h.currentThread;
    if (t >= 0 && this.owner !== t)
      throw new Error(
        this.readOnly.includes(t)
          ? `mutex ${this.name}: plainData() inside a read-only section (lockReadOnly): plain data is not checked to be read only`
          : `mutex ${this.name}: plainData() by a thread that does not hold it`,
      );
    h.plainAccess?.(this);
  }

  get locked(): boolean {
    return this.owner !== -1 || this.readOnly.length > 0;
  }

  /** Does thread t hold it (in a read-only section too)? */
  heldBy(t: number): boolean {
    return this.owner === t || (this.readOnly.length > 0 && this.readOnly.includes(t));
  }

  /**
   * Bit 0: no thread holds it exclusively; bits 1-9: the exclusive holder + 1; bits 10 and up: the
   * read-only sections open. Free is 1. A read-only section's events change only the count, so
   * their effects add up (prim.ts).
   */
  override stateCode(): number {
    return (this.owner === -1 ? 1 : (this.owner + 1) << 1) + (this.readOnly.length << 10);
  }

  override nextCode(kind: number, t: number, code: number): number {
    if (kind === K.LOCK) return code === 1 ? (t + 1) << 1 : -1;
    if (kind === K.UNLOCK) return 1;
    return -1;
  }

  override describeHolders(names: readonly string[]): string {
    if (this.owner !== -1) return `held by ${names[this.owner]}`;
    if (this.readOnly.length > 0)
      return `held in read-only sections by ${this.readOnly.map((t) => names[t]).join(', ')}`;
    return 'free';
  }

  /** @internal */
  enabled(kind: number): boolean {
    if (kind === K.LOCK) return this.owner === -1 && this.readOnly.length === 0;
    if (kind === K.DOWN_READ) return this.owner === -1;
    return true;
  }

  /** @internal */
  apply(kind: number, t: number): unknown {
    switch (kind) {
      case K.LOCK:
        this.owner = t;
        return undefined;
      case K.TRYLOCK:
        if (this.readOnlySections)
          throw new Error(
            `mutex ${this.name}: trylock of a lock with read-only sections (a trylock's outcome would depend on how they overlap)`,
          );
        if (this.owner !== -1) return false;
        this.owner = t;
        return true;
      case K.DOWN_READ:
        if (!this.readOnlySections)
          throw new Error(`mutex ${this.name}: lockReadOnly() needs the readOnlySections option`);
        {
          // Kept sorted: one state, one encoding (loop.ts compares states).
          let at = this.readOnly.length;
          while (at > 0 && this.readOnly[at - 1]! > t) at--;
          this.readOnly.splice(at, 0, t);
        }
        return undefined;
      case K.UP_READ: {
        const at = this.readOnly.lastIndexOf(t);
        if (at < 0)
          throw new Error(`mutex ${this.name}: unlockReadOnly() by a thread not in a read-only section`);
        this.readOnly.splice(at, 1);
        return undefined;
      }
      default:
        if (this.owner !== t) throw new Error(`mutex ${this.name}: unlock by a thread that does not hold it`);
        this.owner = -1;
        return undefined;
    }
  }
}
