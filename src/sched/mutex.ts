// A sleeping lock (kernel mutex, spinlock or ww_mutex without the wound/wait part). Every operation
// on it conflicts with every other.

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
}

export class Mutex extends Prim {
  // A getter, not a field: the executor reads it while the base constructor registers the object.
  get type(): 'mutex' {
    return 'mutex';
  }
  readonly lockClass: string;
  /** Holding thread index, -1 when free. */
  owner = -1;

  constructor(name: string, options: LockOptions = {}) {
    super(name, options);
    this.lockClass = options.lockClass ?? name;
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
      throw new Error(`mutex ${this.name}: plainData() by a thread that does not hold it`);
    h.plainAccess?.(this);
  }

  get locked(): boolean {
    return this.owner !== -1;
  }

  /** Does thread t hold it? */
  heldBy(t: number): boolean {
    return this.owner === t;
  }

  override stateCode(): number {
    return this.owner + 1;
  }

  override nextCode(kind: number, t: number, code: number): number {
    if (kind === K.LOCK) return code === 0 ? t + 1 : -1;
    if (kind === K.UNLOCK) return 0;
    return -1;
  }

  override describeHolders(names: readonly string[]): string {
    return this.owner === -1 ? 'free' : `held by ${names[this.owner]}`;
  }

  /** @internal */
  enabled(kind: number): boolean {
    return kind !== K.LOCK || this.owner === -1;
  }

  /** @internal */
  apply(kind: number, t: number): unknown {
    switch (kind) {
      case K.LOCK:
        this.owner = t;
        return undefined;
      case K.TRYLOCK:
        if (this.owner !== -1) return false;
        this.owner = t;
        return true;
      default:
        if (this.owner !== t) throw new Error(`mutex ${this.name}: unlock by a thread that does not hold it`);
        this.owner = -1;
        return undefined;
    }
  }
}
