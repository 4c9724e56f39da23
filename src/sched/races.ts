// Race detection for optimal DPOR: after each new event, the events it is in an immediate race
// with, and for each the sequence v = notdep(e1).e2 that reverses the race. What happens to v is
// the caller's: the sequential search inserts it into the wakeup tree at once (dpor.ts); a worker
// of the parallel search records it for the coordinator, which inserts it in sequential order
// (dpor-parallel.ts).
//
// Blocking operations need one more step. A lock acquire that follows an unlock cannot simply be
// moved before the unlock: it would be blocked there. What can be reversed is its order with the
// event that started the busy period it waited out (the other thread's acquire, or the first
// queued writer of a rw_semaphore). The event log keeps each object's state before every event, so
// the finder walks back along the object's events to the latest one before which the blocked
// operation could have run, and races with that one instead.

import { type Execution, RUNNING } from './execution.js';
import { conflicts, isBlockable, isReadLike } from './op.js';
import { enabledIn } from './prim.js';
import type { Seq } from './wakeup.js';

export class RaceFinder<S> {
  private partners = new Int32Array(16);
  private partnersN = 0;
  private cands = new Int32Array(16);
  private candsN = 0;
  private partnerOf = new Int32Array(16);
  private remappedOf = new Uint8Array(16);
  private readonly n: number;
  /** Dependence: same object and not both read-like, or write-like on two visible objects. */
  readonly dependent: (oa: number, ka: number, ob: number, kb: number) => boolean;

  constructor(
    private readonly ex: Execution<S>,
    /** Called for each race to reverse: event b, and the operation (t, o, k) at position j. */
    private readonly onRace: (b: number, j: number, t: number, o: number, k: number) => void,
  ) {
    this.n = ex.n;
    this.dependent = (oa, ka, ob, kb) =>
      conflicts(oa, ka, ob, kb) ||
      (!isReadLike(ka) && !isReadLike(kb) && ex.isVisible(oa) && ex.isVisible(ob));
  }

  /** Is event x happens-before-or-equal event y? */
  hb(x: number, y: number): boolean {
    const ex = this.ex;
    return y >= 0 && ex.clocks[y * this.n + ex.evThread[x]!]! >= ex.evSeq[x]!;
  }

  /** Fills v with the reversal of the race between event b and (t, o, k) at position j. */
  reversal(b: number, j: number, t: number, o: number, k: number, v: Seq): void {
    const ex = this.ex;
    v.reset();
    for (let x = b + 1; x < j; x++) if (!this.hb(b, x)) v.push(ex.evThread[x]!, ex.evObj[x]!, ex.evKind[x]!);
    v.push(t, o, k);
  }

  /**
   * Could (t, k) run right after pre(c).notdep(c)? The object's state there is its state before c
   * plus the effects of the read-like events on it that do not happen after c (they move along).
   */
  private feasible(c: number, first: number, t: number, k: number): boolean {
    const ex = this.ex;
    let code = ex.evState[c]!;
    if (isReadLike(ex.evKind[c]!)) {
      for (let x = first; x > c; x = ex.evPrevObj[x]!)
        if (!this.hb(c, x)) code += ex.evAfter[x]! - ex.evState[x]!;
    }
    return enabledIn(k, t, code);
  }

  /**
   * The same question when c is on another object (a visibility race): the operation's own object
   * is as it was before its first event after c, plus the read-like events on it that do not
   * happen after c. `now` is its state right before the operation.
   */
  private feasibleAcross(c: number, first: number, now: number, t: number, k: number): boolean {
    const ex = this.ex;
    let base = now;
    let delta = 0;
    for (let x = first; x > c; x = ex.evPrevObj[x]!) {
      base = ex.evState[x]!;
      if (!this.hb(c, x)) delta += ex.evAfter[x]! - ex.evState[x]!;
    }
    return enabledIn(k, t, base + delta);
  }

  /**
   * Finds the events that (t, o, k) at position j is in an immediate race with and reverses each.
   * `first` is the last event on o before j; `pred` is t's event before j.
   */
  detect(
    j: number,
    t: number,
    o: number,
    k: number,
    first: number,
    pred: number,
    /** The last write-like event on a visible object before j, when j is one too; else -1. */
    prevVis: number,
    /** The object's state code right before the operation. */
    now: number,
  ): void {
    const ex = this.ex;
    this.candsN = 0;
    // Conflicting predecessors on the object: the last write-like event, and (for a write-like
    // operation) the read-like events since it.
    const readLike = isReadLike(k);
    for (let x = first; x >= 0; x = ex.evPrevObj[x]!) {
      const xr = isReadLike(ex.evKind[x]!);
      if (xr && readLike) continue;
      if (this.candsN === this.cands.length) this.cands = grown(this.cands);
      this.cands[this.candsN++] = x;
      if (!xr) break;
    }
    if (prevVis >= 0 && (this.candsN === 0 || this.cands[this.candsN - 1] !== prevVis)) {
      if (this.candsN === this.cands.length) this.cands = grown(this.cands);
      this.cands[this.candsN++] = prevVis;
    }
    const candsN = this.candsN;
    const cands = this.cands;
    this.partnersN = 0;
    const blockable = isBlockable(k);
    // First pass: the event each candidate races with (itself, or for a blocked operation the
    // start of the busy period), or -1 when the race cannot be reversed.
    if (this.partnerOf.length < candsN) {
      this.partnerOf = new Int32Array(candsN * 2);
      this.remappedOf = new Uint8Array(candsN * 2);
    }
    const partnerOf = this.partnerOf;
    const remappedOf = this.remappedOf;
    for (let ci = 0; ci < candsN; ci++) {
      const c = cands[ci]!;
      partnerOf[ci] = c;
      remappedOf[ci] = 0;
      if (ex.evThread[c] === t) {
        partnerOf[ci] = -1;
      } else if (blockable && ex.evObj[c] !== o) {
        // A visibility race: reversible only if the operation could run there.
        if (!this.feasibleAcross(c, first, now, t, k)) partnerOf[ci] = -1;
      } else if (blockable && !this.feasible(c, first, t, k)) {
        // Blocked there: race instead with the event that began the busy period it waited out.
        let b = ex.evPrevObj[c]!;
        while (b >= 0 && !this.feasible(b, first, t, k)) b = ex.evPrevObj[b]!;
        partnerOf[ci] = b < 0 || ex.evThread[b] === t ? -1 : b;
        remappedOf[ci] = 1;
      }
    }
    // Second pass: keep immediate races — a candidate that happens before another reversible one
    // is reached through that one instead.
    for (let ci = 0; ci < candsN; ci++) {
      const partner = partnerOf[ci]!;
      if (partner < 0 || this.hb(partner, pred)) continue;
      if (remappedOf[ci] === 0) {
        const c = cands[ci]!;
        let covered = false;
        for (let c2 = 0; c2 < candsN; c2++) {
          if (c2 !== ci && partnerOf[c2]! >= 0 && this.hb(c, cands[c2]!)) {
            covered = true;
            break;
          }
        }
        if (covered) continue;
      }
      let dup = false;
      for (let pi = 0; pi < this.partnersN; pi++) if (this.partners[pi] === partner) dup = true;
      if (dup) continue;
      if (this.partnersN === this.partners.length) this.partners = grown(this.partners);
      this.partners[this.partnersN++] = partner;
      this.onRace(partner, j, t, o, k);
    }
  }

  /** Races of the event just logged at position pos. */
  detectAt(pos: number): void {
    const ex = this.ex;
    this.detect(
      pos,
      ex.evThread[pos]!,
      ex.evObj[pos]!,
      ex.evKind[pos]!,
      ex.evPrevObj[pos]!,
      ex.evPrevThr[pos]!,
      ex.evPrevVis[pos]!,
      ex.evState[pos]!,
    );
  }

  /** Races of the threads still blocked when an execution ends, as if their operation ran last. */
  detectBlocked(): void {
    const ex = this.ex;
    for (let t = 0; t < this.n; t++) {
      if (ex.status[t] !== RUNNING) continue;
      const o = ex.opObj[t]!.id;
      const k = ex.opKind[t]!;
      const vis = !isReadLike(k) && ex.isVisible(o) ? ex.lastVisW : -1;
      this.detect(ex.len, t, o, k, ex.lastEventOn(o), ex.thrLast[t]!, vis, ex.opObj[t]!.stateCode());
    }
  }
}

export function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
