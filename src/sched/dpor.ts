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
import { Execution, RUNNING } from './execution.js';
import type { Lockdep } from './lockdep.js';
import { conflicts, isBlockable, isReadLike } from './op.js';
import { enabledIn } from './prim.js';
import type { ExploreOptions, Program } from './program.js';

/** A pending branch: run `thread` (whose next operation touches obj with kind), then children. */
interface WuNode {
  thread: number;
  obj: number;
  kind: number;
  children: WuNode[];
}

/** A thread that must not run at this point (its branch is explored), with its pending operation. */
interface Sleeper {
  thread: number;
  obj: number;
  kind: number;
}

interface Node {
  sleep: Sleeper[];
  wut: WuNode[];
}

/** Flat sequence of events (thread, obj, kind) used while inserting into a wakeup tree. */
class Seq {
  thread: number[] = [];
  obj: number[] = [];
  kind: number[] = [];
  get length(): number {
    return this.thread.length;
  }
  push(t: number, o: number, k: number): void {
    this.thread.push(t);
    this.obj.push(o);
    this.kind.push(k);
  }
  remove(i: number): void {
    this.thread.splice(i, 1);
    this.obj.splice(i, 1);
    this.kind.splice(i, 1);
  }
  /** Is thread p a weak initial of this sequence, given p's next operation (obj, kind)? */
  weakInitial(p: number, obj: number, kind: number): number {
    const idx = this.thread.indexOf(p);
    if (idx >= 0) {
      for (let i = 0; i < idx; i++)
        if (conflicts(this.obj[i]!, this.kind[i]!, this.obj[idx]!, this.kind[idx]!)) return -2;
      return idx;
    }
    for (let i = 0; i < this.thread.length; i++)
      if (conflicts(this.obj[i]!, this.kind[i]!, obj, kind)) return -2;
    return -1;
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
  const ex = new Execution(program, {
    clocks: true,
    lockdep,
    maxSteps: options.maxSteps ?? 20000,
  });
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  const nodes: Node[] = [{ sleep: [], wut: [] }];
  let replayTo = 0;
  let forced: WuNode | null = null;
  const n = ex.n;
  const partners: number[] = [];
  const cands: number[] = [];

  /** Is event x happens-before-or-equal event y? */
  const hb = (x: number, y: number): boolean => y >= 0 && ex.clocks[y * n + ex.evThread[x]!]! >= ex.evSeq[x]!;

  /**
   * Reverses the race between event b and (t, o, k) at position j (j may be the end of the log, for
   * a thread still blocked there): v = the events after b that do not happen after it, then (t, o, k).
   */
  const insertRace = (b: number, j: number, t: number, o: number, k: number): void => {
    const v = new Seq();
    for (let x = b + 1; x < j; x++) if (!hb(b, x)) v.push(ex.evThread[x]!, ex.evObj[x]!, ex.evKind[x]!);
    v.push(t, o, k);
    const node = nodes[b]!;
    for (const s of node.sleep) if (v.weakInitial(s.thread, s.obj, s.kind) !== -2) return;
    let level = node.wut;
    for (;;) {
      let matched: WuNode | null = null;
      for (const c of level) {
        const w = v.weakInitial(c.thread, c.obj, c.kind);
        if (w === -2) continue;
        if (w >= 0) v.remove(w);
        matched = c;
        break;
      }
      if (!matched) {
        let chain = level;
        for (let i = 0; i < v.length; i++) {
          const node: WuNode = { thread: v.thread[i]!, obj: v.obj[i]!, kind: v.kind[i]!, children: [] };
          chain.push(node);
          chain = node.children;
        }
        return;
      }
      if (matched.children.length === 0 || v.length === 0) return;
      level = matched.children;
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
   * Finds the events that (t, o, k) at position j is in an immediate race with and reverses each.
   * `first` is the last event on o before j; `pred` is t's event before j.
   */
  const detectRaces = (j: number, t: number, o: number, k: number, first: number, pred: number): void => {
    cands.length = 0;
    // Conflicting predecessors on the object: the last write-like event, and (for a write-like
    // operation) the read-like events since it.
    const readLike = isReadLike(k);
    for (let x = first; x >= 0; x = ex.evPrevObj[x]!) {
      if (isReadLike(ex.evKind[x]!)) {
        if (!readLike) cands.push(x);
        continue;
      }
      cands.push(x);
      break;
    }
    partners.length = 0;
    const blockable = isBlockable(k);
    for (const c of cands) {
      if (ex.evThread[c] === t) continue;
      let partner = c;
      let remapped = false;
      if (blockable && !feasible(c, first, t, k)) {
        // Blocked there: race instead with the event that began the busy period it waited out.
        let b = ex.evPrevObj[c]!;
        while (b >= 0 && !feasible(b, first, t, k)) b = ex.evPrevObj[b]!;
        if (b < 0 || ex.evThread[b] === t) continue;
        partner = b;
        remapped = true;
      }
      if (hb(partner, pred)) continue;
      if (!remapped) {
        let covered = false;
        for (const c2 of cands) {
          if (c2 !== c && hb(c, c2)) {
            covered = true;
            break;
          }
        }
        if (covered) continue;
      }
      if (partners.includes(partner)) continue;
      partners.push(partner);
      insertRace(partner, j, t, o, k);
    }
  };

  /** Races of the threads still blocked when an execution ends, as if their operation ran last. */
  const detectBlockedRaces = (): void => {
    for (let t = 0; t < n; t++) {
      if (ex.status[t] !== RUNNING) continue;
      const o = ex.opObj[t]!.id;
      detectRaces(ex.len, t, o, ex.opKind[t]!, ex.lastEventOn(o), ex.thrLast[t]!);
    }
  };

  /** Executes thread t at position pos and opens the node after it. */
  const advance = (pos: number, t: number, children: WuNode[]): void => {
    ex.step(t);
    if (ex.stepLimitHit) return;
    const o = ex.evObj[pos]!;
    const k = ex.evKind[pos]!;
    const sleep: Sleeper[] = [];
    for (const s of nodes[pos]!.sleep) if (s.thread !== t && !conflicts(s.obj, s.kind, o, k)) sleep.push(s);
    nodes[pos + 1] = { sleep, wut: children };
    detectRaces(pos, t, o, k, ex.evPrevObj[pos]!, ex.evPrevThr[pos]!);
  };

  const inSleep = (node: Node, t: number): boolean => {
    for (const s of node.sleep) if (s.thread === t) return true;
    return false;
  };

  for (;;) {
    ex.begin();
    let ok = true;
    for (let i = 0; i < replayTo; i++) {
      const t = ex.evThread[i]!;
      const o = ex.evObj[i]!;
      const k = ex.evKind[i]!;
      if (!ex.enabled(t)) throw nondeterminism(program, i, ex.names[t]!);
      ex.step(t);
      if (ex.evObj[i] !== o || ex.evKind[i] !== k) throw nondeterminism(program, i, ex.names[t]!);
    }
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
      if (node.wut.length > 0) {
        const c = node.wut.shift()!;
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
        if (inSleep(node, t)) continue;
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
      advance(pos, choice, []);
      pos++;
    }
    col.events += ex.len;
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
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i]!;
      if (i < ex.len) node.sleep.push({ thread: ex.evThread[i]!, obj: ex.evObj[i]!, kind: ex.evKind[i]! });
      if (node.wut.length > 0) {
        next = i;
        break;
      }
    }
    if (next < 0) break;
    if (col.exhausted) {
      col.complete = false;
      break;
    }
    forced = nodes[next]!.wut.shift()!;
    nodes.length = next + 1;
    replayTo = next;
  }
  return col;
}

function nondeterminism<S>(program: Program<S>, event: number, thread: string): Error {
  return new Error(
    `${program.name ?? 'program'}: replaying event ${event} (thread ${thread}) did something different from the first run. ` +
      'Model code must be deterministic: no Math.random, clocks, or state kept outside setup().',
  );
}
