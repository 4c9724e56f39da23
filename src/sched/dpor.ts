// Optimal dynamic partial-order reduction with wakeup trees and sleep sets (Abdulla, Aronis,
// Jonsson, Sagonas: "Source Sets: A Foundation for Optimal Dynamic Partial Order Reduction",
// JACM 2017). Each Mazurkiewicz trace of the program is explored by exactly one complete execution.
//
// The search is stateless: every execution starts from setup() and replays the prefix it shares
// with the previous one. After each new event e2 the explorer finds the events e1 it is in an
// immediate race with, builds the sequence v = notdep(e1).e2 that reverses the race, and inserts v
// into the wakeup tree at the point before e1 unless a sleeping thread already covers it.
//
// Blocking operations need one more step. A lock acquire that follows an unlock cannot simply be
// moved before the unlock: it would be blocked there. What can be reversed is its order with the
// event that started the busy period it waited out (the other thread's acquire, or the first
// queued writer of a rw_semaphore). The event log keeps each object's state before every event, so
// the explorer walks back along the object's events to the latest one before which the blocked
// operation could have run, and races with that one instead.

import { Collector } from './collector.js';
import { CutChecker } from './cuts.js';
import { Execution, RUNNING } from './execution.js';
import type { Lockdep } from './lockdep.js';
import { conflicts, isBlockable, isReadLike } from './op.js';
import { enabledIn } from './prim.js';
import type { ExploreOptions, Program, SavedBranch } from './program.js';

/** A pending branch: run `thread` (whose next operation touches obj with kind), then children. */
interface WuNode {
  thread: number;
  obj: number;
  kind: number;
  children: WuNode[];
}

const TAKEN: WuNode = { thread: -1, obj: -1, kind: -1, children: [] };

/**
 * A point of the current execution: the threads that must not run here (their branches are done),
 * each with its pending operation, and the wakeup tree of branches still to explore from here.
 * A thread is in a sleep set at most once, so n slots suffice. Nodes are reused across executions.
 */
class Node {
  sleepN = 0;
  readonly sleepThread: Int32Array;
  readonly sleepObj: Int32Array;
  readonly sleepKind: Int32Array;
  /** Branches to explore from here; those before wutHead are taken (taking is O(1), not a shift). */
  wut: WuNode[] = [];
  wutHead = 0;
  constructor(n: number) {
    this.sleepThread = new Int32Array(n);
    this.sleepObj = new Int32Array(n);
    this.sleepKind = new Int32Array(n);
  }
  sleep(t: number, o: number, k: number): void {
    const i = this.sleepN++;
    this.sleepThread[i] = t;
    this.sleepObj[i] = o;
    this.sleepKind[i] = k;
  }
  get pending(): boolean {
    return this.wutHead < this.wut.length;
  }
  /** Takes the next branch, dropping the tree's reference to it so explored subtrees can be freed. */
  take(): WuNode {
    const c = this.wut[this.wutHead]!;
    this.wut[this.wutHead++] = TAKEN;
    return c;
  }
  sleeps(t: number): boolean {
    for (let i = 0; i < this.sleepN; i++) if (this.sleepThread[i] === t) return true;
    return false;
  }
}

/**
 * The sequence v being inserted into a wakeup tree, in preallocated buffers. Events taken out of it
 * (as the insertion walks down the tree) are marked gone rather than spliced.
 */
class Seq {
  constructor(private readonly conflicts: (oa: number, ka: number, ob: number, kb: number) => boolean) {}
  thread = new Int32Array(64);
  obj = new Int32Array(64);
  kind = new Int32Array(64);
  gone = new Uint8Array(64);
  length = 0;
  live = 0;

  reset(): void {
    this.length = 0;
    this.live = 0;
  }

  push(t: number, o: number, k: number): void {
    if (this.length === this.thread.length) {
      const n = this.length * 2;
      const grow = <A extends Int32Array | Uint8Array>(a: A, b: A): A => {
        b.set(a);
        return b;
      };
      this.thread = grow(this.thread, new Int32Array(n));
      this.obj = grow(this.obj, new Int32Array(n));
      this.kind = grow(this.kind, new Int32Array(n));
      this.gone = grow(this.gone, new Uint8Array(n));
    }
    const i = this.length++;
    this.thread[i] = t;
    this.obj[i] = o;
    this.kind[i] = k;
    this.gone[i] = 0;
    this.live++;
  }

  remove(i: number): void {
    this.gone[i] = 1;
    this.live--;
  }

  /**
   * Is thread p a weak initial of the sequence, given p's next operation (obj, kind)? Returns the
   * index of p's first event when p is in it and nothing before that event conflicts with it; -1
   * when p is not in it and its operation commutes with every event of it; -2 when p is not a weak
   * initial.
   */
  weakInitial(p: number, obj: number, kind: number): number {
    const n = this.length;
    let idx = -1;
    for (let i = 0; i < n; i++) {
      if (this.gone[i] === 0 && this.thread[i] === p) {
        idx = i;
        break;
      }
    }
    const end = idx >= 0 ? idx : n;
    const o = idx >= 0 ? this.obj[idx]! : obj;
    const k = idx >= 0 ? this.kind[idx]! : kind;
    for (let i = 0; i < end; i++) {
      if (this.gone[i] === 0 && this.conflicts(this.obj[i]!, this.kind[i]!, o, k)) return -2;
    }
    return idx;
  }
}

export function dpor<S>(
  program: Program<S>,
  options: ExploreOptions,
  lockdep: Lockdep,
  /** Sees every complete execution (tests use it to check that no trace is explored twice). */
  observe?: (ex: Execution<S>) => void,
): Collector {
  const col = new Collector('dpor', options);
  const cuts = usesCuts(program, options);
  const maxSteps = options.maxSteps ?? 20000;
  const ex = new Execution(program, { clocks: true, lockdep, maxSteps, cuts });
  const cutChecker = cuts ? new CutChecker(ex, program, col, maxSteps) : null;
  if (cuts) col.cutStates = 0;
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  const nodes: Node[] = [new Node(ex.n)];
  /** Dependence: same object and not both read-like, or write-like on two visible objects. */
  const dependent = (oa: number, ka: number, ob: number, kb: number): boolean =>
    conflicts(oa, ka, ob, kb) || (!isReadLike(ka) && !isReadLike(kb) && ex.isVisible(oa) && ex.isVisible(ob));
  const v = new Seq(dependent);
  let replayTo = 0;
  /** Index of the last node of the current execution (nodes beyond it are stale, kept for reuse). */
  let depth = 0;
  let forced: WuNode | null = null;
  const n = ex.n;
  // Resuming: the frontier a checkpoint saved. The first execution replays its prefix computing
  // the clocks afresh (the executions that computed them are gone).
  let recompute = false;
  if (options.resume) {
    const c = options.resume;
    if (c.strategy !== 'dpor') throw new TypeError(`cannot resume a ${c.strategy} checkpoint with dpor`);
    ex.restoreIds(c.ids);
    for (let i = 0; i < c.nodes.length; i++) {
      const node = new Node(ex.n);
      const sn = c.nodes[i]!;
      for (let j = 0; j + 2 < sn.sleep.length; j += 3)
        node.sleep(sn.sleep[j]!, sn.sleep[j + 1]!, sn.sleep[j + 2]!);
      node.wut = sn.wut.map(loadBranch);
      nodes[i] = node;
    }
    ex.presetThreads(c.prefix);
    replayTo = c.prefix.length;
    forced = loadBranch(c.next);
    col.restore(c);
    if (c.counts.cutStates !== undefined && cuts) col.cutStates = c.counts.cutStates;
    lockdep.restore(c.lockdep);
    cutChecker?.restoreReported(c.cutReported ?? []);
    recompute = true;
  }
  const ck = options.checkpoint;
  let lastSaved = Date.now();
  let savedAt = col.executions;
  const save = (branch: WuNode): void => {
    if (!ck) return;
    const saved: { sleep: number[]; wut: SavedBranch[] }[] = [];
    for (let i = 0; i <= replayTo; i++) {
      const node = nodes[i]!;
      const sleep: number[] = [];
      for (let j = 0; j < node.sleepN; j++)
        sleep.push(node.sleepThread[j]!, node.sleepObj[j]!, node.sleepKind[j]!);
      saved.push({ sleep, wut: node.wut.slice(node.wutHead).map(saveBranch) });
    }
    ck.save({
      version: 1,
      strategy: 'dpor',
      program: program.name ?? '',
      prefix: Array.from(ex.evThread.subarray(0, replayTo)),
      nodes: saved,
      next: saveBranch(branch),
      ids: ex.saveIds(),
      ...col.snapshot(),
      lockdep: lockdep.save(),
      ...(cutChecker ? { cutReported: cutChecker.reportedKeys } : {}),
    });
    lastSaved = Date.now();
    savedAt = col.executions;
  };
  let partners = new Int32Array(16);
  let partnersN = 0;
  let cands = new Int32Array(16);
  let candsN = 0;
  let partnerOf = new Int32Array(16);
  let remappedOf = new Uint8Array(16);

  /** Is event x happens-before-or-equal event y? */
  const hb = (x: number, y: number): boolean => y >= 0 && ex.clocks[y * n + ex.evThread[x]!]! >= ex.evSeq[x]!;

  /**
   * Reverses the race between event b and (t, o, k) at position j (j may be the end of the log, for
   * a thread still blocked there): v = the events after b that do not happen after it, then (t, o, k).
   */
  const insertRace = (b: number, j: number, t: number, o: number, k: number): void => {
    v.reset();
    for (let x = b + 1; x < j; x++) if (!hb(b, x)) v.push(ex.evThread[x]!, ex.evObj[x]!, ex.evKind[x]!);
    v.push(t, o, k);
    const node = nodes[b]!;
    for (let i = 0; i < node.sleepN; i++) {
      if (v.weakInitial(node.sleepThread[i]!, node.sleepObj[i]!, node.sleepKind[i]!) !== -2) return;
    }
    let level = node.wut;
    let from = node.wutHead;
    for (;;) {
      let matched: WuNode | null = null;
      for (let li = from; li < level.length; li++) {
        const c = level[li]!;
        const w = v.weakInitial(c.thread, c.obj, c.kind);
        if (w === -2) continue;
        if (w >= 0) v.remove(w);
        matched = c;
        break;
      }
      if (!matched) {
        let chain = level;
        for (let i = 0; i < v.length; i++) {
          if (v.gone[i] === 1) continue;
          const node: WuNode = { thread: v.thread[i]!, obj: v.obj[i]!, kind: v.kind[i]!, children: [] };
          chain.push(node);
          chain = node.children;
        }
        return;
      }
      if (matched.children.length === 0 || v.live === 0) return;
      level = matched.children;
      from = 0;
    }
  };

  /**
   * Could (t, k) run right after pre(c).notdep(c)? The object's state there is its state before c
   * plus the effects of the read-like events on it that do not happen after c (they move along).
   */
  const feasible = (c: number, first: number, t: number, k: number): boolean => {
    let code = ex.evState[c]!;
    if (isReadLike(ex.evKind[c]!)) {
      for (let x = first; x > c; x = ex.evPrevObj[x]!) if (!hb(c, x)) code += ex.evAfter[x]! - ex.evState[x]!;
    }
    return enabledIn(k, t, code);
  };

  /**
   * The same question when c is on another object (a visibility race): the operation's own object
   * is as it was before its first event after c, plus the read-like events on it that do not
   * happen after c. `now` is its state right before the operation.
   */
  const feasibleAcross = (c: number, first: number, now: number, t: number, k: number): boolean => {
    let base = now;
    let delta = 0;
    for (let x = first; x > c; x = ex.evPrevObj[x]!) {
      base = ex.evState[x]!;
      if (!hb(c, x)) delta += ex.evAfter[x]! - ex.evState[x]!;
    }
    return enabledIn(k, t, base + delta);
  };

  /**
   * Finds the events that (t, o, k) at position j is in an immediate race with and reverses each.
   * `first` is the last event on o before j; `pred` is t's event before j.
   */
  const detectRaces = (
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
  ): void => {
    candsN = 0;
    // Conflicting predecessors on the object: the last write-like event, and (for a write-like
    // operation) the read-like events since it.
    const readLike = isReadLike(k);
    for (let x = first; x >= 0; x = ex.evPrevObj[x]!) {
      const xr = isReadLike(ex.evKind[x]!);
      if (xr && readLike) continue;
      if (candsN === cands.length) cands = grown(cands);
      cands[candsN++] = x;
      if (!xr) break;
    }
    if (prevVis >= 0 && (candsN === 0 || cands[candsN - 1] !== prevVis)) {
      if (candsN === cands.length) cands = grown(cands);
      cands[candsN++] = prevVis;
    }
    partnersN = 0;
    const blockable = isBlockable(k);
    // First pass: the event each candidate races with (itself, or for a blocked operation the
    // start of the busy period), or -1 when the race cannot be reversed.
    if (partnerOf.length < candsN) {
      partnerOf = new Int32Array(candsN * 2);
      remappedOf = new Uint8Array(candsN * 2);
    }
    for (let ci = 0; ci < candsN; ci++) {
      const c = cands[ci]!;
      partnerOf[ci] = c;
      remappedOf[ci] = 0;
      if (ex.evThread[c] === t) {
        partnerOf[ci] = -1;
      } else if (blockable && ex.evObj[c] !== o) {
        // A visibility race: reversible only if the operation could run there.
        if (!feasibleAcross(c, first, now, t, k)) partnerOf[ci] = -1;
      } else if (blockable && !feasible(c, first, t, k)) {
        // Blocked there: race instead with the event that began the busy period it waited out.
        let b = ex.evPrevObj[c]!;
        while (b >= 0 && !feasible(b, first, t, k)) b = ex.evPrevObj[b]!;
        partnerOf[ci] = b < 0 || ex.evThread[b] === t ? -1 : b;
        remappedOf[ci] = 1;
      }
    }
    // Second pass: keep immediate races — a candidate that happens before another reversible one
    // is reached through that one instead.
    for (let ci = 0; ci < candsN; ci++) {
      const partner = partnerOf[ci]!;
      if (partner < 0 || hb(partner, pred)) continue;
      if (remappedOf[ci] === 0) {
        const c = cands[ci]!;
        let covered = false;
        for (let c2 = 0; c2 < candsN; c2++) {
          if (c2 !== ci && partnerOf[c2]! >= 0 && hb(c, cands[c2]!)) {
            covered = true;
            break;
          }
        }
        if (covered) continue;
      }
      let dup = false;
      for (let pi = 0; pi < partnersN; pi++) if (partners[pi] === partner) dup = true;
      if (dup) continue;
      if (partnersN === partners.length) partners = grown(partners);
      partners[partnersN++] = partner;
      insertRace(partner, j, t, o, k);
    }
  };

  /** Races of the threads still blocked when an execution ends, as if their operation ran last. */
  const detectBlockedRaces = (): void => {
    for (let t = 0; t < n; t++) {
      if (ex.status[t] !== RUNNING) continue;
      const o = ex.opObj[t]!.id;
      const k = ex.opKind[t]!;
      const vis = !isReadLike(k) && ex.isVisible(o) ? ex.lastVisW : -1;
      detectRaces(ex.len, t, o, k, ex.lastEventOn(o), ex.thrLast[t]!, vis, ex.opObj[t]!.stateCode());
    }
  };

  /**
   * Executes thread t at position pos and opens the node after it, whose pending branches are
   * `children` (null: none yet).
   */
  const advance = (pos: number, t: number, children: WuNode[] | null): void => {
    ex.step(t);
    if (ex.stepLimitHit) return;
    const o = ex.evObj[pos]!;
    const k = ex.evKind[pos]!;
    const from = nodes[pos]!;
    let to = nodes[pos + 1];
    if (to === undefined) {
      to = new Node(n);
      nodes[pos + 1] = to;
    }
    to.sleepN = 0;
    for (let i = 0; i < from.sleepN; i++) {
      const st = from.sleepThread[i]!;
      const so = from.sleepObj[i]!;
      const sk = from.sleepKind[i]!;
      if (st !== t && !dependent(so, sk, o, k)) to.sleep(st, so, sk);
    }
    if (children !== null) {
      to.wut = children;
      to.wutHead = 0;
    } else {
      if (to.wut.length !== 0) to.wut = [];
      to.wutHead = 0;
    }
    depth = pos + 1;
    detectRaces(pos, t, o, k, ex.evPrevObj[pos]!, ex.evPrevThr[pos]!, ex.evPrevVis[pos]!, ex.evState[pos]!);
  };

  for (;;) {
    ex.begin();
    const fresh = replayTo;
    let ok = true;
    // Replay the shared prefix; its events, clocks and nodes are those of the previous execution.
    const resuming = recompute;
    ex.replaying = !recompute;
    recompute = false;
    for (let i = 0; i < replayTo; i++) {
      const t = ex.evThread[i]!;
      const o = ex.evObj[i]!;
      const k = ex.evKind[i]!;
      if (t >= n || !ex.enabled(t)) {
        if (resuming) throw new Error(`checkpoint: its path does not fit this program (event ${i})`);
        throw nondeterminism(program, i, ex.names[t]!);
      }
      ex.step(t);
      if (!resuming && (ex.evObj[i] !== o || ex.evKind[i] !== k))
        throw nondeterminism(program, i, ex.names[t]!);
    }
    ex.replaying = false;
    depth = replayTo;
    let pos = replayTo;
    if (forced) {
      const f = forced;
      forced = null;
      if (!ex.enabled(f.thread) || (ex.wouldPreempt(f.thread) && ex.preemptions >= bound)) {
        // Cut by the preemption bound (or, never expected, a branch that cannot run).
        if (ex.enabled(f.thread)) col.complete = false;
        else col.blocked++;
        ok = false;
      } else {
        advance(pos, f.thread, f.children);
        pos++;
      }
    }
    while (ok && !ex.stepLimitHit) {
      if (options.stopAtFirst) {
        col.take(ex);
        if (col.stopped) break;
      }
      const node = nodes[pos]!;
      if (node.pending) {
        const c = node.take();
        if (!ex.enabled(c.thread)) {
          col.blocked++;
          ok = false;
          break;
        }
        if (ex.wouldPreempt(c.thread) && ex.preemptions >= bound) {
          col.complete = false;
          ok = false;
          break;
        }
        advance(pos, c.thread, c.children);
        pos++;
        continue;
      }
      // Free choice: keep running the last thread if it can, else the lowest-numbered one.
      const last = pos > 0 ? ex.evThread[pos - 1]! : -1;
      let choice = -1;
      let anyEnabled = false;
      let cut = false;
      for (let i = -1; i < n; i++) {
        const t = i < 0 ? last : i;
        if (t < 0 || (i >= 0 && t === last) || !ex.enabled(t)) continue;
        anyEnabled = true;
        if (node.sleeps(t)) continue;
        if (ex.wouldPreempt(t) && ex.preemptions >= bound) {
          cut = true;
          continue;
        }
        choice = t;
        break;
      }
      if (choice < 0) {
        if (anyEnabled) {
          // Every enabled thread sleeps (a redundant execution) or is cut by the preemption bound.
          ok = false;
          if (cut) col.complete = false;
          else col.blocked++;
        }
        break;
      }
      advance(pos, choice, null);
      pos++;
    }
    col.events += ex.len;
    cutChecker?.check(fresh);
    if (ex.stepLimitHit) col.executed(ex, false);
    else if (ok && !col.stopped) {
      if (ex.anyUnfinished()) detectBlockedRaces();
      observe?.(ex);
      col.executed(ex, ex.finish());
    } else col.take(ex);
    if (col.stopped) {
      col.complete = false;
      break;
    }
    // Backtrack to the deepest node with a pending branch.
    let next = -1;
    for (let i = depth; i >= 0; i--) {
      const node = nodes[i]!;
      if (i < ex.len) node.sleep(ex.evThread[i]!, ex.evObj[i]!, ex.evKind[i]!);
      if (node.pending) {
        next = i;
        break;
      }
    }
    if (next < 0) break;
    if (col.exhausted) {
      col.complete = false;
      break;
    }
    forced = nodes[next]!.take();
    replayTo = next;
    // The frontier is consistent here: the next execution replays up to `next` and takes `forced`.
    if (
      ck &&
      ((ck.everyExecutions !== undefined && col.executions - savedAt >= ck.everyExecutions) ||
        (ck.everyMs !== undefined && Date.now() - lastSaved >= ck.everyMs))
    )
      save(forced);
  }
  return col;
}

/** Does dpor check this program's invariant at cuts (Program.observedOnly)? */
export function usesCuts<S>(program: Program<S>, options: ExploreOptions): boolean {
  if (!program.observedOnly || !program.invariant) return false;
  if (!program.observes || program.observesObject)
    throw new TypeError('observedOnly needs observes(): the Cells the invariant reads');
  return options.preemptionBound === undefined;
}

function saveBranch(w: WuNode): SavedBranch {
  return [w.thread, w.obj, w.kind, w.children.map(saveBranch)];
}

function loadBranch(b: SavedBranch): WuNode {
  return { thread: b[0], obj: b[1], kind: b[2], children: b[3].map(loadBranch) };
}

function grown(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function nondeterminism<S>(program: Program<S>, event: number, thread: string): Error {
  return new Error(
    `${program.name ?? 'program'}: replaying event ${event} (thread ${thread}) did something different from the first run. ` +
      'Model code must be deterministic: no Math.random, clocks, or state kept outside setup().',
  );
}
