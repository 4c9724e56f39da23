// A kernel rw_semaphore (kernel/locking/rwsem.c): many readers or one writer, and writers queue.
// A down_write is two events: the writer joins the queue (it arrives), then takes the semaphore once
// it is free and the writer is first (down_write(wait)). While any writer is queued, new readers
// block, as in the kernel, where a reader that finds waiters queues behind them. That is what makes
// a recursive down_read deadlock behind a waiting writer.
//
// Why a writer always queues, even on a free semaphore (the kernel's fast path takes it at once):
// then a writer's arrival commutes with a reader's up_read (one changes the queue, the other the
// reader count), and the explorer need not run "the writer arrived before the last reader left"
// and "after" as two executions when nothing else tells them apart. Nothing can see the difference
// from the fast path: between the two events the writer runs nothing, new readers and trylocks
// fail as they would against a held semaphore, and the invariants read who holds it, never the
// queue (so the arrival is not a write they see, op.ts: isSeenWrite). The events name two slots
// of the semaphore for this: slot 0 is the reader count, slot 1 the writer and its queue; up_read
// touches slot 0 only, the arrival slot 1 only, everything else both.

import type { LockOptions } from './mutex.js';
import { issued, K, Op, QUEUED, shared } from './op.js';
import { Prim } from './prim.js';
import type { Thread } from './program.js';

/** The reader count (see the header). */
const READERS_SLOT = 0;
/** The writer and the writer queue. */
const WRITER_SLOT = 1;

export class RwSem extends Prim {
  // A getter, not a field: the executor reads it while the base constructor registers the object.
  get type(): 'rwsem' {
    return 'rwsem';
  }
  readonly lockClass: string;
  /** Reader count by thread (a thread may hold it for read more than once). */
  readonly readers: number[] = [];
  readerCount = 0;
  /** Writer thread index, -1 when no writer holds it. */
  writer = -1;
  /** Queued writers, oldest first. */
  readonly queue: number[] = [];
  private readonly downWriteWaitOp = new Op(K.DOWN_WRITE_WAIT, this);
  private readonly downWriteOp = new Op(K.DOWN_WRITE, this, this.downWriteWaitOp);

  constructor(name: string, options: LockOptions = {}) {
    super(name, { ...options, slots: true });
    this.downWriteOp.lo = WRITER_SLOT;
    this.downWriteOp.hi = WRITER_SLOT + 1;
    this.lockClass = options.lockClass ?? name;
  }

  // kernel/locking/rwsem.c: down_read()
  downRead(subclass = 0): Thread<void> {
    return shared(K.DOWN_READ, this, subclass) as unknown as Thread<void>;
  }

  // kernel/locking/rwsem.c: up_read()
  upRead(): Thread<void> {
    return shared(K.UP_READ, this, undefined, READERS_SLOT, READERS_SLOT + 1) as unknown as Thread<void>;
  }

  // kernel/locking/rwsem.c: down_write(), or down_write_nested() with a lockdep subclass
  downWrite(subclass = 0): Thread<void> {
    // The two ops are this semaphore's own, reused by every call (and by every thread): the
    // arrival carries this call's argument and site. The executor keeps them in the thread's slots
    // for the wait half, which another thread's call may have re-aimed by the time it is yielded.
    this.downWriteOp.arg = subclass;
    this.downWriteWaitOp.arg = subclass;
    return issued(this.downWriteOp) as unknown as Thread<void>;
  }

  // kernel/locking/rwsem.c: up_write()
  upWrite(): Thread<void> {
    return shared(K.UP_WRITE, this) as unknown as Thread<void>;
  }

  // kernel/locking/rwsem.c: down_read_trylock()
  tryDownRead(): Thread<boolean> {
    return shared(K.TRY_DOWN_READ, this) as unknown as Thread<boolean>;
  }

  // kernel/locking/rwsem.c: down_write_trylock()
  tryDownWrite(): Thread<boolean> {
    return shared(K.TRY_DOWN_WRITE, this) as unknown as Thread<boolean>;
  }

  /** One more read hold by thread t; `readers` stays dense (no holes: one state, one encoding). */
  private addReader(t: number): void {
    while (this.readers.length <= t) this.readers.push(0);
    this.readers[t]!++;
  }

  private get readable(): boolean {
    return this.writer === -1 && this.queue.length === 0;
  }

  private get free(): boolean {
    return this.writer === -1 && this.readerCount === 0;
  }

  /** Held for read by `t`. */
  heldRead(t: number): boolean {
    return (this.readers[t] ?? 0) > 0;
  }

  /** Held by `t`, for read or write. */
  heldBy(t: number): boolean {
    return this.writer === t || this.heldRead(t);
  }

  /**
   * Bit 0: a reader could enter (no writer holds or waits); bit 1: a writer holds it; bits 2-9: the
   * first queued writer + 1; bits 10 and up: the reader count. Read-like events change only the
   * reader count, so their effects add up (the explorer relies on that, see prim.ts).
   */
  override stateCode(): number {
    const head = this.queue.length > 0 ? this.queue[0]! + 1 : 0;
    return (this.readable ? 1 : 0) | (this.writer !== -1 ? 2 : 0) | (head << 2) | (this.readerCount << 10);
  }

  /**
   * Read-like events add to the reader count (prim.ts). A writer's arrival is known from the code
   * when no other writer is queued, up_write always; taking the semaphore (the wait half) is not
   * (the code names only the first queued writer).
   */
  override nextCode(kind: number, t: number, code: number): number {
    const head = (code >> 2) & 0xff;
    if (kind === K.DOWN_WRITE) return head === 0 ? (code & ~(1 | (0xff << 2))) | ((t + 1) << 2) : -1;
    if (kind === K.UP_WRITE) return head === 0 ? (code & ~2) | 1 : code & ~2;
    return -1;
  }

  override describeHolders(names: readonly string[]): string {
    const parts: string[] = [];
    if (this.writer !== -1) parts.push(`write-held by ${names[this.writer]}`);
    const rs = this.readers.flatMap((c, t) => (c > 0 ? [names[t]] : []));
    if (rs.length > 0) parts.push(`read-held by ${rs.join(', ')}`);
    if (this.queue.length > 0) parts.push(`writers queued: ${this.queue.map((t) => names[t]).join(', ')}`);
    return parts.length > 0 ? parts.join('; ') : 'free';
  }

  /** @internal */
  enabled(kind: number, t: number): boolean {
    if (kind === K.DOWN_READ) return this.readable;
    if (kind === K.DOWN_WRITE_WAIT) return this.free && this.queue[0] === t;
    return true;
  }

  /** @internal */
  apply(kind: number, t: number): unknown {
    switch (kind) {
      case K.DOWN_READ:
        this.addReader(t);
        this.readerCount++;
        return undefined;
      case K.TRY_DOWN_READ:
        if (!this.readable) return false;
        this.addReader(t);
        this.readerCount++;
        return true;
      case K.UP_READ:
        if (!this.heldRead(t))
          throw new Error(`rwsem ${this.name}: up_read by a thread that does not hold it`);
        this.readers[t]!--;
        this.readerCount--;
        // Trailing zeros dropped: one state, one encoding (loop.ts compares states).
        while (this.readers.length > 0 && this.readers[this.readers.length - 1] === 0) this.readers.length--;
        return undefined;
      case K.DOWN_WRITE:
        // Always queued: the wait half takes it (at once when it is free).
        this.queue.push(t);
        return QUEUED;
      case K.DOWN_WRITE_WAIT:
        this.queue.shift();
        this.writer = t;
        return undefined;
      case K.TRY_DOWN_WRITE:
        if (!this.free || this.queue.length > 0) return false;
        this.writer = t;
        return true;
      default:
        if (this.writer !== t)
          throw new Error(`rwsem ${this.name}: up_write by a thread that does not hold it`);
        this.writer = -1;
        return undefined;
    }
  }
}
