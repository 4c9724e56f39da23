// Wakeup trees and sleep sets, the two structures of optimal DPOR (Abdulla, Aronis, Jonsson,
// Sagonas, JACM 2017): a node of the search holds the branches still to explore from it (a tree of
// sequences, explored first child first) and the threads that must not run there. Shared by the
// sequential search (dpor.ts) and the parallel one (dpor-parallel.ts).
//
// An operation is named by five numbers everywhere here: thread, object, kind and the slots [lo,
// hi) it touches (whole objects: ALL_LO, ALL_HI; see op.ts).

import type { Dependent } from './dependence.js';
import { ALL_HI, ALL_LO } from './op.js';
import type { SavedBranch } from './program.js';

/** Numbers per operation in flat arrays (thread, object, kind, lo, hi). */
export const OPW = 5;

/** A pending branch: run `thread` (whose next operation touches obj's slots [lo, hi) with kind), then children. */
export interface WuNode {
  thread: number;
  obj: number;
  kind: number;
  lo: number;
  hi: number;
  children: WuNode[];
}

export const TAKEN: WuNode = { thread: -1, obj: -1, kind: -1, lo: 0, hi: 0, children: [] };

/**
 * A point of the current execution: the threads that must not run here (their branches are done),
 * each with its pending operation, and the wakeup tree of branches still to explore from here.
 * The sleep set is a flat array of operations, OPW numbers each (a thread is in it at most once);
 * the sequential search reuses nodes across executions.
 */
export class Node {
  /** Sleep set: operations in sl[0 .. slN) (a typed array: the hot path reads it). */
  sl = new Int32Array(OPW * 2);
  slN = 0;
  /** Branches to explore from here; those before wutHead are taken (taking is O(1), not a shift). */
  wut: WuNode[] = [];
  wutHead = 0;
  /** Branches from here whose subtrees are done (for the progress estimate). */
  done = 0;
  /**
   * The threads that could run here, bit t for thread t, as last seen when an execution passed
   * this point (the sequential search: every execution through here has the same prefix, so the
   * same state); -1 when not known (a resumed search's prefix, or more than 31 threads).
   */
  enabled = -1;
  get sleepN(): number {
    return this.slN / OPW;
  }
  sleep(t: number, o: number, k: number, lo: number, hi: number): void {
    let sl = this.sl;
    if (this.slN + OPW > sl.length) {
      sl = new Int32Array(sl.length * 2);
      sl.set(this.sl);
      this.sl = sl;
    }
    sl[this.slN++] = t;
    sl[this.slN++] = o;
    sl[this.slN++] = k;
    sl[this.slN++] = lo;
    sl[this.slN++] = hi;
  }
  /** Adds the sleepers of a flat array of operations. */
  sleepAll(ops: ArrayLike<number>): void {
    for (let i = 0; i + OPW - 1 < ops.length; i += OPW)
      this.sleep(ops[i]!, ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!);
  }
  clearSleep(): void {
    this.slN = 0;
  }
  /** The sleep set's operations, as a plain array (checkpoints, jobs). */
  sleepOps(): number[] {
    return Array.from(this.sl.subarray(0, this.slN));
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
    const sl = this.sl;
    for (let i = 0; i < this.slN; i += OPW) if (sl[i] === t) return true;
    return false;
  }
}

/**
 * The sequence v being inserted into a wakeup tree, in preallocated buffers. Events taken out of it
 * (as the insertion walks down the tree) are marked gone rather than spliced.
 */
export class Seq {
  constructor(private readonly conflicts: Dependent) {}
  thread = new Int32Array(64);
  obj = new Int32Array(64);
  kind = new Int32Array(64);
  lo = new Int32Array(64);
  hi = new Int32Array(64);
  gone = new Uint8Array(64);
  length = 0;
  live = 0;
  /**
   * The sequence stops short of what it stands for (a folded state's race step: it ends with a
   * thread's pending operation, and the events of the other threads that came before the raced
   * operation are not in it): a thread that is not in it may well conflict with what it leaves
   * out, so only a thread that is in it is a weak initial.
   */
  truncated = false;
  /**
   * For a truncated sequence, when known: operations (OPW numbers each) among which are all it left
   * out, and the threads (a bit each) they may belong to. A thread outside those threads whose
   * next operation commutes with each of them and with the sequence is a weak initial of the whole
   * after all. Null: not known, no absent thread is one.
   */
  leftOut: Int32Array | null = null;
  leftThreads = 0;

  reset(): void {
    this.length = 0;
    this.live = 0;
  }

  push(t: number, o: number, k: number, lo: number, hi: number): void {
    if (this.length === this.thread.length) {
      const n = this.length * 2;
      const grow = <A extends Int32Array | Uint8Array>(a: A, b: A): A => {
        b.set(a);
        return b;
      };
      this.thread = grow(this.thread, new Int32Array(n));
      this.obj = grow(this.obj, new Int32Array(n));
      this.kind = grow(this.kind, new Int32Array(n));
      this.lo = grow(this.lo, new Int32Array(n));
      this.hi = grow(this.hi, new Int32Array(n));
      this.gone = grow(this.gone, new Uint8Array(n));
    }
    const i = this.length++;
    this.thread[i] = t;
    this.obj[i] = o;
    this.kind[i] = k;
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.gone[i] = 0;
    this.live++;
  }

  remove(i: number): void {
    this.gone[i] = 1;
    this.live--;
  }

  /**
   * Is thread p a weak initial of the sequence, given p's next operation? Returns the index of p's
   * first event when p is in it and nothing before that event conflicts with it; -1 when p is not
   * in it and its operation commutes with every event of it (never for a truncated sequence); -2
   * when p is not a weak initial.
   */
  weakInitial(p: number, obj: number, kind: number, lo: number, hi: number): number {
    const n = this.length;
    let idx = -1;
    for (let i = 0; i < n; i++) {
      if (this.gone[i] === 0 && this.thread[i] === p) {
        idx = i;
        break;
      }
    }
    if (idx < 0 && this.truncated) {
      const left = this.leftOut;
      const mask = this.leftThreads;
      if (left === null || p >= 31 || ((mask >>> p) & 1) === 1) return -2;
      for (let i = 0; i < left.length; i += OPW) {
        if (((mask >>> left[i]!) & 1) === 0) continue;
        if (this.conflicts(left[i + 1]!, left[i + 2]!, left[i + 3]!, left[i + 4]!, obj, kind, lo, hi))
          return -2;
      }
    }
    const end = idx >= 0 ? idx : n;
    const o = idx >= 0 ? this.obj[idx]! : obj;
    const k = idx >= 0 ? this.kind[idx]! : kind;
    const l = idx >= 0 ? this.lo[idx]! : lo;
    const h = idx >= 0 ? this.hi[idx]! : hi;
    for (let i = 0; i < end; i++) {
      if (
        this.gone[i] === 0 &&
        this.conflicts(this.obj[i]!, this.kind[i]!, this.lo[i]!, this.hi[i]!, o, k, l, h)
      )
        return -2;
    }
    return idx;
  }
}

/**
 * Inserts the sequence v into node's wakeup tree (the tree's insertion of the JACM paper): nothing
 * when a sleeping thread is a weak initial of v (that branch is covered), else v is walked down the
 * branches whose first event is a weak initial of it and the rest hangs below the last one reached,
 * unless a leaf already covers it.
 */
export function insertBranch(node: Node, v: Seq): void {
  const sl = node.sl;
  for (let i = 0; i < node.slN; i += OPW)
    if (v.weakInitial(sl[i]!, sl[i + 1]!, sl[i + 2]!, sl[i + 3]!, sl[i + 4]!) !== -2) return;
  let level = node.wut;
  let from = node.wutHead;
  for (;;) {
    let matched: WuNode | null = null;
    for (let li = from; li < level.length; li++) {
      const c = level[li]!;
      const w = v.weakInitial(c.thread, c.obj, c.kind, c.lo, c.hi);
      if (w === -2) continue;
      if (w >= 0) v.remove(w);
      matched = c;
      break;
    }
    if (!matched) {
      let chain = level;
      for (let i = 0; i < v.length; i++) {
        if (v.gone[i] === 1) continue;
        const w: WuNode = {
          thread: v.thread[i]!,
          obj: v.obj[i]!,
          kind: v.kind[i]!,
          lo: v.lo[i]!,
          hi: v.hi[i]!,
          children: [],
        };
        chain.push(w);
        chain = w.children;
      }
      return;
    }
    if (matched.children.length === 0 || v.live === 0) return;
    level = matched.children;
    from = 0;
  }
}

/** The sleep set of the node after event (t, o, k, slots): the sleepers of `from` it does not wake. */
export function propagateSleep(
  from: Node,
  to: Node,
  t: number,
  o: number,
  k: number,
  lo: number,
  hi: number,
  dependent: Dependent,
): void {
  to.clearSleep();
  const sl = from.sl;
  const n = from.slN;
  for (let i = 0; i < n; i += OPW) {
    const st = sl[i]!;
    if (st === t) continue;
    const so = sl[i + 1]!;
    const sk = sl[i + 2]!;
    const slo = sl[i + 3]!;
    const shi = sl[i + 4]!;
    if (!dependent(so, sk, slo, shi, o, k, lo, hi)) to.sleep(st, so, sk, slo, shi);
  }
}

/**
 * The fraction of a dpor search done when the execution along `nodes` has just ended, Knuth's way:
 * at each node the branches whose subtrees are done count as a share of the branches known there
 * (done, the one in progress, and those pending), each worth its part of the subtree as if siblings
 * were the same size, and the execution itself is the last share. 1 after the last execution.
 * dpor learns of branches as it goes, so unlike exhaustive search's estimate this one can go down.
 */
export function dporFractionDone(nodes: readonly Node[], depth: number): number {
  let done = 0;
  let weight = 1;
  for (let i = 0; i <= depth && i < nodes.length; i++) {
    const nd = nodes[i]!;
    const pending = nd.wut.length - nd.wutHead;
    const total = nd.done + 1 + pending;
    if (total === 1) continue;
    done += (weight * nd.done) / total;
    weight /= total;
  }
  return Math.min(1, done + weight);
}

export function saveBranch(w: WuNode): SavedBranch {
  const children = w.children.map(saveBranch);
  if (w.lo !== ALL_LO || w.hi !== ALL_HI) return [w.thread, w.obj, w.kind, children, w.lo, w.hi];
  return [w.thread, w.obj, w.kind, children];
}

export function loadBranch(b: SavedBranch): WuNode {
  return {
    thread: b[0],
    obj: b[1],
    kind: b[2],
    lo: b[4] ?? ALL_LO,
    hi: b[5] ?? ALL_HI,
    children: b[3].map(loadBranch),
  };
}

/**
 * A checkpoint's operations as OPW-wide ones: older checkpoints saved (thread, object, kind)
 * triples, operations on whole objects.
 */
export function savedOps(ops: ArrayLike<number>, width: number | undefined): number[] {
  if (width === OPW) return Array.from(ops);
  const out: number[] = [];
  for (let i = 0; i + 2 < ops.length; i += 3) out.push(ops[i]!, ops[i + 1]!, ops[i + 2]!, ALL_LO, ALL_HI);
  return out;
}
