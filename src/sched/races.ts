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
//
// Lazy locks (ExploreOptions.lazyLocks, after Kokologiannakis, Raad, Vafeiadis: "Effective lock
// handling in stateless model checking", OOPSLA 2019). Two critical sections of one lock that touch
// nothing in common need not be explored in both orders. So a race between two acquisitions of a
// lazily handled lock (execution.ts: evDefer) is not reversed when found: it is deferred. It is
// reversed later, in this execution or one that shares the prefix, when it turns out to matter: a
// new event y conflicts with an earlier event x that happens before y only through deferred lock
// edges (x happens before y in `clocks` but not in `dclocks`, which leave those edges out). That
// conflict is then reversed directly when the locks allow it: y, with every event between x and y
// that follows x only through deferred edges, runs before x (directFeasible checks each moved lock
// event), or before the critical section of x's thread that keeps a moved event out. Only what y
// can take along moves: not another thread's critical section of a lazy lock whose end stays
// behind (directCut) — moving it would only order two sections that touch nothing in common — and
// nothing at all when y's thread already follows, through data, the section of x's thread it would
// have to precede: no execution keeps that data order and puts y first, and the race on that chain
// is reversed on its own. Otherwise, for every such edge between x and y (x before its source, its
// target before y) the deferred race of the target's thread on that lock with the source's thread
// is reversed, as the eager search would have done. Plain races are reversed the same way: what
// follows their first event only through deferred edges moves along when the locks allow it (an
// eager search would have reversed those lock orders first), and a deferred edge never makes one
// race stand for another. A trylock reads the lock's state, and a critical section in which its
// thread takes another lazy lock, or that never ends (its thread blocked inside it), can take part
// in a deadlock: races of those are reversed at once, or as soon as that is known.

import type { Dependent } from './dependence.js';
import type { Execution } from './execution.js';
import { RUNNING } from './execution.js';
import { isBlockable, isReadLike, isRelease, isSeenWrite, isTry, K } from './op.js';
import { enabledIn } from './prim.js';
import type { Seq } from './wakeup.js';

/** directFeasible(): every moved event can run. */
const FEASIBLE = -1;
/** directFeasible(): a moved event's lock state is not known, or a trylock would see another. */
const UNKNOWN = -2;

/** Called for each race to reverse: event b, and the operation (t, o, k, slots) at position j. */
export type OnRace = (b: number, j: number, t: number, o: number, k: number, lo: number, hi: number) => void;

export class RaceFinder<S> {
  private cands = new Int32Array(16);
  private candsN = 0;
  private partnerOf = new Int32Array(16);
  private remappedOf = new Uint8Array(16);
  private readonly n: number;
  private readonly lazy: boolean;
  /** Dependence: same object, overlapping slots and not both read-like, or writes in related visible scopes. */
  readonly dependent: Dependent;
  // Deferred lock races, in the order of their later event's position: the race of the event at
  // position j (on a lazy lock) with event b.
  private dJ = new Int32Array(16);
  private dB = new Int32Array(16);
  /**
   * 1 once race d was reversed outside the race step of a folded state. Its reversal reads only
   * the events up to its later event, which every later execution replays unchanged while the race
   * is kept (truncate drops it with them), and the branch it made stays in the node's wakeup tree,
   * then in the subtree being explored, then in the sleep set: reversing it again inserts nothing,
   * or, while that branch is being explored, a copy of it to explore later for nothing. So it is not
   * done again (a folded search reversed the same deferred races at every fold: 6 % of its time).
   */
  private dDone = new Uint8Array(16);
  /** Set inside detectFuture: a reversal there ends with the thread's pending operation instead. */
  private inFuture = false;
  private dN = 0;
  // The lock edges dclocks leave out, in the order of their targets: an event on a lazy lock at
  // eDst did not join the clock of the earlier event eSrc on it.
  private eSrc = new Int32Array(16);
  private eDst = new Int32Array(16);
  private eN = 0;
  /** Per thread, its latest candidate with a reversible race (detect's second pass). */
  private latestRev = new Int32Array(0);
  /** partnerStamp[e] === stamp: event e is already a partner of the current detect. */
  private partnerStamp = new Int32Array(64);
  private stamp = 0;
  /** While rebuilding the deferred races of a replayed prefix: record, do not reverse. */
  private rebuilding = false;

  constructor(
    private readonly ex: Execution<S>,
    private readonly onRace: OnRace,
    /**
     * Reverse a deferred race once only (dDone): for a search whose every reversal goes straight
     * into its own wakeup trees. A parallel worker's records may be dropped by the coordinator,
     * so it reverses every time.
     */
    private readonly reverseOnce = false,
  ) {
    this.n = ex.n;
    this.lazy = ex.options.lazy === true;
    this.dependent = ex.dep.dependent;
  }

  /** Is event x happens-before-or-equal event y? */
  hb(x: number, y: number): boolean {
    const ex = this.ex;
    return y >= 0 && ex.clocks[y * this.n + ex.evThread[x]!]! >= ex.evSeq[x]!;
  }

  /** The same without deferred lock edges. */
  private hbD(x: number, y: number): boolean {
    const ex = this.ex;
    return y >= 0 && ex.dclocks[y * this.n + ex.evThread[x]!]! >= ex.evSeq[x]!;
  }

  /** Fills v with the reversal of the race between event b and (t, o, k, slots) at position j. */
  reversal(b: number, j: number, t: number, o: number, k: number, lo: number, hi: number, v: Seq): void {
    const ex = this.ex;
    v.reset();
    // What happens after b stays behind it. For a race reversed directly (`direct`), what follows
    // b only through lazy lock orders moves ahead too, as directCut chose and directFeasible checked.
    const direct = this.direct;
    const col = ex.evThread[b]!;
    const seq = ex.evSeq[b]!;
    for (let x = b + 1; x < j; x++)
      if (direct ? this.moves(b, x) : ex.clocks[x * this.n + col]! < seq)
        v.push(ex.evThread[x]!, ex.evObj[x]!, ex.evKind[x]!, ex.evLo[x]!, ex.evHi[x]!);
    v.push(t, o, k, lo, hi);
  }
  /** Set while onRace reverses a hidden conflict directly (hidden()); reversal() reads it. */
  private direct = false;

  /**
   * Could (t, k) run right after pre(c).notdep(c)? The object's state there is its state before c
   * plus the effects of the events on it that do not happen after c (they move along). Those are
   * read-like: events after a read-like c that do not conflict with it, or, after a write-like c,
   * events on slots it does not touch — a reader's up_read after another writer's arrival on an
   * rw_semaphore (the arrival takes the writer slot, the up_read the reader count). Leaving the
   * latter out took a writer's wait, queued behind a reader and another writer's arrival, for
   * blocked wherever it moved, and the search missed every trace where the reader leaves and the
   * first writer takes the semaphore before the second arrives (test/sched/queued-writers.test.ts).
   */
  private feasible(c: number, first: number, t: number, k: number): boolean {
    const ex = this.ex;
    let code = ex.evState[c]!;
    // Events of c's own thread after it happen after it: when only they follow c on the object
    // (soleThread, from soleFrom on), nothing moves along.
    if (!(ex.evThread[c] === this.soleThread && c >= this.soleFrom)) {
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

  private addCand(x: number): void {
    if (x >= this.candStamp.length) this.candStamp = growStamps(this.candStamp, x);
    if (this.candStamp[x] === this.candRound) return;
    this.candStamp[x] = this.candRound;
    if (this.candsN === this.cands.length) this.cands = grown(this.cands);
    this.cands[this.candsN++] = x;
  }
  /** candStamp[x] === candRound: event x is already a candidate (a new round per candidate list). */
  private candStamp = new Int32Array(64);
  private candRound = 1;
  /** The thread whose events alone end the object's chain before the operation (feasible()). */
  private soleThread = -1;
  private soleFrom = 0;

  /** Starts a new candidate list. */
  private clearCands(): void {
    this.candsN = 0;
    this.candRound++;
  }

  /**
   * The conflicting predecessors of (t, o, k, slots) at j: on the object, the last write-like event
   * on each slot and (for a write-like operation) the read-like events since; with `vis` (a write
   * on a visible object), each other thread's last visible write in every related scope.
   */
  private gather(j: number, t: number, o: number, k: number, lo: number, hi: number, first: number): void {
    const ex = this.ex;
    this.clearCands();
    const readLike = isReadLike(k);
    if (ex.hasSlots(o)) {
      const cover = ex.cover;
      cover.reset(lo, hi);
      // A read-like operation conflicts with write-like events only: walk their chain.
      const prev = readLike ? ex.evPrevWrite : ex.evPrevObj;
      let x0 = first;
      if (readLike && first >= 0 && isReadLike(ex.evKind[first]!)) x0 = ex.evPrevWrite[first]!;
      // A writer taking an rw_semaphore races with the readers since its own arrival only: a
      // reader section that began before the arrival can follow the writer only if its
      // down_read follows the arrival (a queued writer keeps readers out), and that race is the
      // arrival's. (Walking past the arrival made each flush of a thousand TLB windows cost a
      // feasibility walk per window.)
      const sinceArrival = k === K.DOWN_WRITE_WAIT;
      for (let x = x0; x >= 0; x = prev[x]!) {
        if (sinceArrival && ex.evKind[x] === K.DOWN_WRITE && ex.evThread[x] === t) break;
        const xl = ex.evLo[x]!;
        const xh = ex.evHi[x]!;
        if (xl >= hi || lo >= xh) continue;
        const xr = isReadLike(ex.evKind[x]!);
        if (xr && readLike) continue;
        this.addCand(x);
        if (!xr && cover.add(xl, xh)) break;
      }
    } else if (readLike && first >= 0 && ex.lastWriteOn(o) <= first) {
      // A read-like operation conflicts only with the last write-like event: found directly, not
      // by walking back over the reads since (a CPU's thousands of TLB windows on one mm).
      const w = ex.lastWriteOn(o);
      if (w >= 0) this.addCand(w);
    } else {
      for (let x = first; x >= 0; x = ex.evPrevObj[x]!) {
        const xr = isReadLike(ex.evKind[x]!);
        if (xr && readLike) continue;
        this.addCand(x);
        if (!xr) break;
      }
    }
    const sc = ex.dep.scopeOf(o);
    if (isSeenWrite(k) && sc >= 0) {
      const rel = ex.dep.relatedTo[sc]!;
      const last = ex.scopeLast;
      const n = this.n;
      for (let q = 0; q < rel.length; q++) {
        const row = rel[q]! * n;
        for (let u = 0; u < n; u++) {
          if (u === t) continue;
          const w = last[row + u]!;
          // At j itself (detectAt) the table already holds j for t only; older entries are < j.
          if (w >= 0 && w < j) this.addCand(w);
        }
      }
    }
  }

  /**
   * Finds the events that (t, o, k, slots) at position j is in an immediate race with and reverses
   * each. `first` is the last event on o before j; `pred` is t's event before j; `now` is the
   * object's state code right before the operation. `eager`: never defer (threads still blocked at
   * the end of an execution).
   */
  detect(
    j: number,
    t: number,
    o: number,
    k: number,
    lo: number,
    hi: number,
    first: number,
    pred: number,
    now: number,
    defer: boolean,
  ): void {
    const ex = this.ex;
    // A trylock (or another eager event) of another thread on the lock that only deferred edges
    // put before this acquisition read the lock's state: its order with this one matters.
    if (defer && this.lazy && this.eagerBefore(t, o, pred)) defer = false;
    this.busyRound++;
    this.gather(j, t, o, k, lo, hi, first);
    const candsN = this.candsN;
    const cands = this.cands;
    const blockable = isBlockable(k);
    // First pass: the event each candidate races with (itself, or for a blocked operation the
    // start of the busy period), or -1 when the race cannot be reversed.
    if (this.partnerOf.length < candsN) {
      this.partnerOf = new Int32Array(candsN * 2);
      this.remappedOf = new Uint8Array(candsN * 2);
    }
    const partnerOf = this.partnerOf;
    const remappedOf = this.remappedOf;
    this.soleThread = -1;
    if (blockable && first >= 0) {
      const u = ex.evThread[first]!;
      let x = first;
      while (ex.evPrevObj[x]! >= 0 && ex.evThread[ex.evPrevObj[x]!] === u) x = ex.evPrevObj[x]!;
      this.soleThread = u;
      this.soleFrom = x;
    }
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
        const b = this.busyStart(ex.evPrevObj[c]!, first, t, k);
        partnerOf[ci] = b < 0 || ex.evThread[b] === t ? -1 : b;
        remappedOf[ci] = 1;
      }
    }
    if (ex.evDefer[j] === 1 && j < ex.len) {
      // The lock edges into this event that dclocks leave out: from each earlier event on the lock.
      for (let ci = 0; ci < candsN; ci++) {
        const c = cands[ci]!;
        if (ex.evObj[c] === o && ex.evThread[c] !== t) this.dropEdge(c, j);
      }
    }
    // Second pass: keep immediate races — a candidate that happens before another reversible one
    // is reached through that one instead. A later reversible candidate of the same thread covers
    // an earlier one by program order: found from each thread's latest, without a pairwise search
    // (a write after a thousand reads of one thread would otherwise cost a million steps).
    const n = this.n;
    if (this.latestRev.length < n) this.latestRev = new Int32Array(n);
    const latestRev = this.latestRev;
    latestRev.fill(-1, 0, n);
    for (let ci = 0; ci < candsN; ci++) {
      if (partnerOf[ci]! < 0) continue;
      const u = ex.evThread[cands[ci]!]!;
      if (cands[ci]! > latestRev[u]!) latestRev[u] = cands[ci]!;
    }
    this.stamp++;
    if (this.partnerStamp.length <= ex.len) this.partnerStamp = growStamps(this.partnerStamp, ex.len);
    const partnerStamp = this.partnerStamp;
    for (let ci = 0; ci < candsN; ci++) {
      const partner = partnerOf[ci]!;
      if (partner < 0 || this.hb(partner, pred)) continue;
      if (remappedOf[ci] === 0) {
        const c = cands[ci]!;
        let covered = latestRev[ex.evThread[c]!]! > c;
        // With lazy locks a candidate that precedes another only through deferred lock orders is
        // not reached through it: that order is not reversed unless something needs it. Happening
        // before a reversible candidate of thread u means happening before u's latest one (program
        // order is in both clocks), so each thread's latest stands for all of its candidates: a
        // check per thread, not per pair (a folded state's operation raced with a whole page
        // table's entries had hundreds of candidates).
        for (let u = 0; !covered && u < n; u++) {
          const c2 = latestRev[u]!;
          if (c2 >= 0 && c2 !== c && (this.lazy ? this.hbD(c, c2) : this.hb(c, c2))) covered = true;
        }
        if (covered) continue;
      }
      if (partnerStamp[partner] === this.stamp) continue;
      partnerStamp[partner] = this.stamp;
      if (
        defer &&
        ex.evObj[partner] === o &&
        ex.evDefer[partner] === 1 &&
        !ex.nesting(t, o) &&
        !ex.nesting(ex.evThread[partner]!, o)
      ) {
        // Two critical sections of a lazy lock: reversed only if something comes to need it.
        this.deferRace(partner, j);
      } else if (!this.rebuilding) {
        // What follows the partner only through deferred lock orders moves ahead with the
        // operation when the locks let it, as after an eager search's reversal of those orders.
        if (this.lazy && this.eN > 0 && this.directFeasible(partner, j) === FEASIBLE) {
          this.direct = true;
          try {
            this.onRace(partner, j, t, o, k, lo, hi);
          } finally {
            this.direct = false;
          }
        } else this.onRace(partner, j, t, o, k, lo, hi);
      }
    }
    if (this.lazy && !defer && this.eN > 0 && !this.rebuilding) {
      if (this.ex.dep.isLazy(o)) {
        this.lockChain(t, first, pred);
        this.hidden(j, t, pred, false);
      } else this.hidden(j, t, pred, blockable);
    }
  }

  /**
   * The candidates of an eager event on a lazy lock (a trylock, a nested acquisition): every
   * earlier event of the other threads on the lock, back to one that happens before it without
   * deferred edges (the events on a lock are ordered by those edges only, so the last one does
   * not stand for the others as it does on data).
   */
  private lockChain(t: number, first: number, pred: number): void {
    this.clearCands();
    this.walkLock(t, first, pred, (x) => {
      this.addCand(x);
      return false;
    });
  }

  /**
   * Is there an eager event (a trylock, an event of a section that could wait) of another thread
   * on this lock that happens before the operation only through deferred edges?
   */
  private eagerBefore(t: number, o: number, pred: number): boolean {
    const ex = this.ex;
    // Each other thread's events on the lock, latest first, back to one that needs no deferred
    // edge (then so do its earlier ones): along the thread's own chain on the object.
    for (let u = 0; u < this.n; u++) {
      if (u === t) continue;
      for (let x = ex.lastOfThreadOn(o, u); x >= 0; x = ex.evPrevSame[x]!) {
        if (this.hbD(x, pred)) break;
        if (ex.evDefer[x] === 0) return true;
      }
    }
    return false;
  }

  /**
   * Visits the events of the other threads on a lock before an operation of t, latest first; a
   * thread's earlier events are left out once one of its events happens before the operation
   * without deferred edges (`plain`: then so do the earlier ones). Stops when `visit` says so.
   */
  private walkLock(
    t: number,
    first: number,
    pred: number,
    visit: (x: number, plain: boolean) => boolean,
  ): boolean {
    const ex = this.ex;
    const n = this.n;
    if (this.doneThr.length < n) this.doneThr = new Uint8Array(n);
    const done = this.doneThr;
    done.fill(0);
    done[t] = 1;
    let open = n - 1;
    for (let x = first; x >= 0 && open > 0; x = ex.evPrevObj[x]!) {
      const u = ex.evThread[x]!;
      if (done[u] === 1) continue;
      const plain = this.hbD(x, pred);
      if (visit(x, plain)) return true;
      if (plain) {
        done[u] = 1;
        open--;
      }
    }
    return false;
  }
  private doneThr = new Uint8Array(0);

  /**
   * The first event at or before b on b's object (walking back) where (t, k) could run, -1 if
   * none. Every candidate of one detect() walks the same chain of the object and feasible()
   * depends only on where it stands, so each walk's answer is kept for the events it passed
   * (busyAt/busyTo, valid for the round busyRound): a wait that cannot run anywhere (a writer's
   * wait whose thread has not queued, raced by a folded state) walked the whole history once per
   * candidate, with every reader section a candidate.
   */
  private busyStart(b: number, first: number, t: number, k: number): number {
    const ex = this.ex;
    const round = this.busyRound;
    let passed = 0;
    let at = b;
    for (; at >= 0; at = ex.evPrevObj[at]!) {
      if (at < this.busyAt.length && this.busyAt[at] === round) {
        at = this.busyTo[at]!;
        break;
      }
      if (passed === this.busyPath.length) this.busyPath = grown(this.busyPath);
      this.busyPath[passed++] = at;
      if (this.feasible(at, first, t, k)) break;
    }
    if (passed > 0 && ex.len >= this.busyAt.length) {
      this.busyAt = growStamps(this.busyAt, ex.len);
      this.busyTo = growStamps(this.busyTo, ex.len);
    }
    for (let i = 0; i < passed; i++) {
      const p = this.busyPath[i]!;
      this.busyAt[p] = round;
      this.busyTo[p] = at;
    }
    return at;
  }
  private busyAt = new Int32Array(64);
  private busyTo = new Int32Array(64);
  private busyPath = new Int32Array(64);
  /** A new round per detect() call: busyStart's answers hold within one. */
  private busyRound = 0;

  /** Records the deferred race of the event at j with b. */
  private deferRace(b: number, j: number): void {
    if (this.dN === this.dJ.length) {
      this.dJ = grown(this.dJ);
      this.dB = grown(this.dB);
      const done = new Uint8Array(this.dJ.length);
      done.set(this.dDone);
      this.dDone = done;
    }
    this.dJ[this.dN] = j;
    this.dDone[this.dN] = 0;
    this.dB[this.dN++] = b;
  }

  private dropEdge(src: number, dst: number): void {
    if (this.eN === this.eSrc.length) {
      this.eSrc = grown(this.eSrc);
      this.eDst = grown(this.eDst);
    }
    this.eSrc[this.eN] = src;
    this.eDst[this.eN++] = dst;
  }

  /** Reverses deferred race d. */
  private reverse(d: number): void {
    if (this.reverseOnce && !this.inFuture) {
      if (this.dDone[d] === 1) return;
      this.dDone[d] = 1;
    }
    const ex = this.ex;
    const j = this.dJ[d]!;
    this.onRace(this.dB[d]!, j, ex.evThread[j]!, ex.evObj[j]!, ex.evKind[j]!, ex.evLo[j]!, ex.evHi[j]!);
  }

  /**
   * The conflicts of the operation at j with events that happen before it only through deferred
   * lock edges: each makes the deferred races that may lie between them reversed now.
   */
  private hidden(j: number, t: number, pred: number, partners: boolean): void {
    const candsN = this.candsN;
    const cands = this.cands;
    const ex = this.ex;
    for (let ci = 0; ci < candsN; ci++) {
      // A blocked operation races with the start of the busy period it waited out (its partner),
      // which may lie before a deferred edge that the candidate itself does not.
      const p = partners ? this.partnerOf[ci]! : -1;
      const both = p >= 0 && p !== cands[ci];
      for (let pass = 0; pass < (both ? 2 : 1); pass++) {
        const x = pass === 0 ? cands[ci]! : p;
        if (ex.evThread[x] === t || !this.hb(x, pred) || this.hbD(x, pred)) continue;
        let covered = false;
        for (let c2 = 0; c2 < candsN; c2++) {
          const y2 = cands[c2]!;
          // Covered only by a candidate that triggers itself (it too is ordered before the
          // operation through deferred edges only).
          if (
            c2 !== ci &&
            ex.evThread[y2] !== t &&
            this.hbD(x, y2) &&
            this.hb(y2, pred) &&
            !this.hbD(y2, pred)
          ) {
            covered = true;
            break;
          }
        }
        if (covered) continue;
        // Reverse the conflict itself when the locks allow it: y, and what it needs, moved ahead
        // of x. Reversing only the lock orders between them (trigger) reaches y-before-x one
        // execution later, through an execution whose reads are those of this one, and misses
        // some: on two faults against a memory disable it left 63 of 88 thread paths unexplored.
        // When x's own thread holds the lock that refuses a moved event, y must come before that
        // whole critical section: reverse from its acquisition instead.
        let at = x;
        let blocked = this.directFeasible(x, j);
        // x's thread holds the refusing lock for read (a reader section of an rw_semaphore): y's
        // thread may come inside that section, before x, with the writer whose section kept it out
        // left behind — an order the direct reversal cannot make (it moves that writer along).
        let insideReader = false;
        if (blocked >= 0) {
          at = this.heldSince(x, blocked);
          insideReader = at >= 0 && ex.evKind[at] === K.DOWN_READ;
          // y must then come before x's whole critical section. When y's thread already follows
          // its acquisition through data or eager orders (x's thread read what y's thread then
          // overwrote, say), no execution keeps those orders and puts y first: it takes reversing
          // a race on that chain, which is found and reversed on its own.
          if (at >= 0 && this.hbD(at, pred)) {
            if (insideReader) this.trigger(x, j, pred);
            continue;
          }
          if (at >= 0) blocked = this.directFeasible(at, j);
        }
        if (blocked === FEASIBLE) {
          this.direct = true;
          try {
            this.onRace(at, j, t, ex.evObj[j]!, ex.evKind[j]!, ex.evLo[j]!, ex.evHi[j]!);
          } finally {
            this.direct = false;
          }
          // Reversing the lock orders between x and y as well reaches y inside the reader
          // section with that writer's section left behind (test/sched/lazy-readers.test.ts).
          if (insideReader) this.trigger(x, j, pred);
        } else this.trigger(x, j, pred);
      }
    }
  }

  /** Per object, the state directFeasible has reached (valid where simStamp holds its round). */
  private simState = new Int32Array(64);
  private simStamp = new Int32Array(64);
  private simRound = 0;

  /**
   * Can the operation at j run before event x, with the events between them that follow x only
   * through lazy lock orders moved ahead of x too (reversal() in direct mode)? Those events read
   * what they read before (dclocks keep every data conflict, so nothing moved reads from an event
   * left behind); only their locks can refuse them. So each moved event must find its object as
   * it found it, or in a state from which it can still run and whose successor is known: read-like
   * effects add up (Prim.stateCode), and a lock says what its other events do (Prim.nextCode).
   * FEASIBLE when they can; the id of the lock that would block a moved event; UNKNOWN when a
   * state cannot be told. When it is not feasible the caller reverses the lock orders (trigger).
   */
  private directFeasible(x: number, j: number): number {
    const ex = this.ex;
    if (j >= ex.len) return UNKNOWN;
    if (!this.directCut(x, j)) return UNKNOWN;
    this.simRound++;
    const round = this.simRound;
    for (let q = x; q <= j; q++) {
      const o = ex.evObj[q]!;
      if (o >= this.simStamp.length) {
        this.simState = growStamps(this.simState, o);
        this.simStamp = growStamps(this.simStamp, o);
      }
      if (this.simStamp[o] !== round) {
        this.simStamp[o] = round;
        this.simState[o] = ex.evState[q]!;
      }
      if (q !== j && !this.moves(x, q)) continue;
      const k = ex.evKind[q]!;
      const state = this.simState[o]!;
      if (state === ex.evState[q]) {
        this.simState[o] = ex.evAfter[q]!;
        continue;
      }
      const u = ex.evThread[q]!;
      if (isTry(k)) return UNKNOWN;
      if (isBlockable(k) && !enabledIn(k, u, state)) return o;
      const next = isReadLike(k)
        ? state + ex.evAfter[q]! - ex.evState[q]!
        : ex.objectOf(o).nextCode(k, u, state);
      if (next < 0) return UNKNOWN;
      this.simState[o] = next;
    }
    return FEASIBLE;
  }

  /** Per thread, the position from which its events stay behind x in a direct reversal. */
  private cutAt = new Int32Array(0);
  private openAt = new Int32Array(0);
  private openDepth = new Int32Array(0);

  /** Does event q (x < q < j) move ahead of x in the direct reversal directCut() prepared? */
  private moves(x: number, q: number): boolean {
    return q < this.cutAt[this.ex.evThread[q]!]! && !this.hbD(x, q);
  }

  /**
   * Which events between x and the operation at j move ahead of x with it: those that follow x
   * through lazy lock orders only — but not a thread's critical section of a lazy lock whose end
   * stays behind (its acquisition moved ahead alone would keep the lock from the events left
   * behind, and the moved section would be an order of two sections that touch nothing in common:
   * an execution that differs from one already due only in a lock order), nor what follows such a
   * section's events through data. Fills cutAt; false when the operation itself needs an event
   * that stays behind.
   */
  private directCut(x: number, j: number): boolean {
    const ex = this.ex;
    const n = this.n;
    if (this.cutAt.length < n) {
      this.cutAt = new Int32Array(n);
      this.openAt = new Int32Array(n);
      this.openDepth = new Int32Array(n);
    }
    const cutAt = this.cutAt;
    const openAt = this.openAt;
    const depth = this.openDepth;
    const t = ex.evThread[j]!;
    cutAt.fill(j + 1, 0, n);
    for (let changed = true; changed; ) {
      changed = false;
      depth.fill(0, 0, n);
      for (let q = x + 1; q < j; q++) {
        const u = ex.evThread[q]!;
        if (q >= cutAt[u]! || this.hbD(x, q)) continue;
        let needsCut = false;
        for (let w = 0; w < n && !needsCut; w++)
          if (w !== u && cutAt[w]! <= q && this.hbD(cutAt[w]!, q)) needsCut = true;
        if (needsCut) {
          cutAt[u] = q;
          changed = true;
          continue;
        }
        if (u === t || !this.ex.dep.isLazy(ex.evObj[q]!)) continue;
        const k = ex.evKind[q]!;
        if (k === K.LOCK || k === K.DOWN_READ || k === K.DOWN_WRITE) {
          if (depth[u] === 0) openAt[u] = q;
          depth[u]!++;
        } else if (isRelease(k) && depth[u]! > 0) depth[u]!--;
      }
      for (let u = 0; u < n; u++) {
        if (u !== t && depth[u]! > 0 && openAt[u]! < cutAt[u]!) {
          cutAt[u] = openAt[u]!;
          changed = true;
        }
      }
    }
    for (let w = 0; w < n; w++) if (cutAt[w]! < j && this.hbD(cutAt[w]!, j)) return false;
    return true;
  }

  /**
   * The event that began the hold of lock `o` by x's thread that x lies in (for a writer of an
   * rw_semaphore, its arrival, which already keeps new readers out), or -1 when x's thread does
   * not hold it at x.
   */
  private heldSince(x: number, o: number): number {
    const ex = this.ex;
    let e = x;
    while (e >= 0 && ex.evObj[e] !== o) e = ex.evPrevThr[e]!;
    if (e < 0 || e === x) return -1;
    const k = ex.evKind[e]!;
    if (k === K.DOWN_WRITE_WAIT) {
      const p = ex.evPrevSame[e]!;
      return p >= 0 && ex.evKind[p] === K.DOWN_WRITE ? p : e;
    }
    return k === K.LOCK || k === K.DOWN_READ || k === K.DOWN_WRITE ? e : -1;
  }

  /**
   * Reverses, for every lock edge left out of dclocks that may order x before the operation at
   * y (x happens before its source, its target before y), the deferred races of the target's
   * acquisition: the last one of that thread on that lock at or before the target.
   */
  private trigger(x: number, y: number, pred: number): void {
    const ex = this.ex;
    // Edges are in the order of their targets; the first with a target after x.
    let lo = 0;
    let hi = this.eN;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.eDst[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    for (let e = lo; e < this.eN; e++) {
      const dst = this.eDst[e]!;
      if (dst >= y) break;
      const src = this.eSrc[e]!;
      if (!this.hb(x, src)) continue;
      // The target must happen before y: through y's thread's previous event, or y itself.
      if (!(ex.evThread[dst] === ex.evThread[pred] ? dst <= pred : this.hb(dst, pred))) continue;
      // The deferred races of the acquisition that led to dst (dst itself, or the queueing half
      // of a down_write): the latest of that thread on that lock, with whichever thread began the
      // busy period it waited out.
      const tj = ex.evThread[dst]!;
      const o = ex.evObj[dst]!;
      let at = -1;
      for (let d = this.dN - 1; d >= 0; d--) {
        const j = this.dJ[d]!;
        if (at >= 0 && j !== at) break;
        if (j > dst || ex.evThread[j] !== tj || ex.evObj[j] !== o) continue;
        at = j;
        this.reverse(d);
      }
    }
    // And the deferred races whose later event lies between x and y in the real order: a release
    // that raced with another thread's queueing, say, orders the sections as much as the edge does.
    lo = 0;
    hi = this.dN;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.dJ[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    for (let d = lo; d < this.dN; d++) {
      const j = this.dJ[d]!;
      if (j >= y) break;
      if (!this.hb(x, j)) continue;
      if (!(ex.evThread[j] === ex.evThread[pred] ? j <= pred : this.hb(j, pred))) continue;
      this.reverse(d);
    }
  }

  /**
   * A thread took a lazy lock inside critical sections of others (ex.newNest): those sections can
   * take part in a deadlock, so the deferred races of that thread on those locks are reversed.
   */
  private nested(marks: readonly number[]): void {
    const ex = this.ex;
    for (let d = 0; d < this.dN; d++) {
      const j = this.dJ[d]!;
      const b = this.dB[d]!;
      const o = ex.evObj[j]!;
      for (const m of marks) {
        const t = m & 255;
        if ((m - t) / 256 !== o || (ex.evThread[j] !== t && ex.evThread[b] !== t)) continue;
        this.reverse(d);
        break;
      }
    }
  }

  /** Races of the event just logged at position pos. */
  detectAt(pos: number): void {
    const ex = this.ex;
    if (ex.newNest.length > 0 && !this.rebuilding && this.dN > 0) this.nested(ex.newNest);
    this.detect(
      pos,
      ex.evThread[pos]!,
      ex.evObj[pos]!,
      ex.evKind[pos]!,
      ex.evLo[pos]!,
      ex.evHi[pos]!,
      ex.evPrevObj[pos]!,
      ex.evPrevThr[pos]!,
      ex.evState[pos]!,
      ex.evDefer[pos] === 1,
    );
  }

  /**
   * Races of the threads still blocked when an execution ends, as if their operation ran last.
   * And the lock order of a thread that never finishes (blocked inside a critical section, or
   * waiting for one) is itself observable: with the other order, another thread could have been
   * the one left waiting, or waiting in another place. So the deferred races of the threads still
   * blocked are reversed.
   */
  detectBlocked(): void {
    this.reverseDeferredOfRunning();
    const ex = this.ex;
    for (let t = 0; t < this.n; t++) {
      if (ex.status[t] !== RUNNING) continue;
      const o = ex.opObj[t]!.id;
      this.detect(
        ex.len,
        t,
        o,
        ex.opKind[t]!,
        ex.opLo[t]!,
        ex.opHi[t]!,
        ex.lastEventOn(o),
        ex.thrLast[t]!,
        ex.opObj[t]!.stateCode(),
        false,
      );
    }
  }

  /** Reverses the deferred races in which a thread that has not finished takes part. */
  reverseDeferredOfRunning(): void {
    const ex = this.ex;
    for (let d = 0; d < this.dN; d++) {
      const j = this.dJ[d]!;
      const tj = ex.evThread[j]!;
      const tb = ex.evThread[this.dB[d]!]!;
      if (ex.status[tj] !== RUNNING && ex.status[tb] !== RUNNING) continue;
      this.reverse(d);
    }
  }

  /**
   * State folding (dpor.ts): races an operation that thread t ran, in another execution, after
   * the state this one has just reached, with the events before, as if it ran next. Its clock is
   * its thread's clock now joined with what the locks it held there (every time) give it, and
   * with what the threads in `follow` (`followD` for the clocks without deferred lock edges) have
   * run so far: each of them had an event after that state that came before it, every time
   * (Execution.futureClock). A real run can only add happens-before edges to that, so no fewer
   * races are found. A conflict with another thread's critical section of such a lock is then no
   * race of its own: the order of the two sections is, and the operation's acquisition of the
   * lock (also run below the state) races with that section. An object this execution has not
   * made yet has no events to race with.
   */
  detectFuture(
    t: number,
    o: number,
    k: number,
    lo: number,
    hi: number,
    locks: readonly number[],
    follow = 0,
    followD = 0,
  ): void {
    const ex = this.ex;
    if (!ex.isLive(o)) return;
    const at = ex.futureClock(t, locks, follow, followD);
    this.inFuture = true;
    try {
      this.detect(at, t, o, k, lo, hi, ex.lastEventOn(o), at, ex.stateCodeOf(o), false);
    } finally {
      this.inFuture = false;
    }
  }

  /**
   * Forgets deferred races of acquisitions at positions >= pos (the next execution replays only
   * the events before pos; the rest are gone).
   */
  truncate(pos: number): void {
    while (this.dN > 0 && this.dJ[this.dN - 1]! >= pos) this.dN--;
    while (this.eN > 0 && this.eDst[this.eN - 1]! >= pos) this.eN--;
  }

  /**
   * Records the deferred races of a prefix replayed with fresh clocks (a resumed search, or a
   * parallel search's worker), without reversing anything: those races were handled when the
   * prefix first ran.
   */
  rebuild(pos: number): void {
    if (!this.lazy) return;
    this.rebuilding = true;
    try {
      this.detectAt(pos);
    } finally {
      this.rebuilding = false;
    }
  }

  /** Forgets every deferred race (a new search, or a worker's next job). */
  reset(): void {
    this.dN = 0;
    this.eN = 0;
  }
}

/** A stamp array with room for index i (new entries are 0, never a current stamp). */
function growStamps(a: Int32Array<ArrayBuffer>, i: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(Math.max(64, (i + 1) * 2));
  b.set(a);
  return b;
}

export function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
