// Optimal dynamic partial-order reduction with wakeup trees and sleep sets (Abdulla, Aronis,
// Jonsson, Sagonas: "Source Sets: A Foundation for Optimal Dynamic Partial Order Reduction",
// JACM 2017). Each Mazurkiewicz trace of the program is explored by exactly one complete execution.
//
// The search is stateless: every execution starts from setup() and replays the prefix it shares
// with the previous one. After each new event e2 the explorer finds the events e1 it is in an
// immediate race with, builds the sequence v = notdep(e1).e2 that reverses the race, and inserts v
// into the wakeup tree at the point before e1 unless a sleeping thread already covers it.
// Race detection is in races.ts, wakeup trees and sleep sets in wakeup.ts; dpor-parallel.ts runs
// the same search over worker processes with the same result.

import { atExecutionEnd, Collector } from './collector.js';
import { CutChecker } from './cuts.js';
import { Execution, type RawViolation, RUNNING } from './execution.js';
import type { Lockdep } from './lockdep.js';
import type { ExploreOptions, Program, SavedBranch } from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';
import { RaceFinder } from './races.js';
import {
  dporFractionDone,
  insertBranch,
  loadBranch,
  Node,
  OPW,
  propagateSleep,
  Seq,
  saveBranch,
  savedOps,
  type WuNode,
} from './wakeup.js';

/**
 * Test hooks of state folding. `everyEvent`: compare the whole state after every event, not only
 * at retry-loop heads, so that far more executions fold and far more race steps run: the tests
 * use it to stress the race step (test/sched/fold-race-step.test.ts). Not an option: on kernel
 * scenarios it costs more than it saves (docs/performance.md).
 */
export const foldTestHooks: {
  everyEvent: boolean;
  /** A loop-head state's record opens: its key, and the thread a retry cycle stopped there (-1: none). */
  onRecord?: (key: string, stopped: number) => void;
  /** A member's record is completed with its root's operations (foldComplete): both, packed. */
  onComplete?: (before: Int32Array, rootOps: Int32Array, after: Int32Array, n: number) => void;
} = { everyEvent: false };

export function dpor<S>(
  program: Program<S>,
  options: ExploreOptions,
  lockdep: Lockdep,
  /** Sees every complete execution (tests use it to check that no trace is explored twice). */
  observe?: (ex: Execution<S>) => void,
  /**
   * Replay every branch from the setup, as the search did before nodes kept their masks: also a
   * branch whose first thread cannot run, and one that starts where the last execution stopped
   * (tests compare the two: the same executions in the same order, the same counts).
   */
  replayAll = false,
): Collector {
  const col = new Collector('dpor', options);
  const cuts = usesCuts(program, options);
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const lazy = options.lazyLocks === true && !cuts;
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  // The race step keeps threads as bits of a number (Seq.leftThreads): at most 31 of them.
  const fold =
    options.foldStates === true &&
    !cuts &&
    bound === Number.POSITIVE_INFINITY &&
    !!program.sharedState &&
    Object.keys(program.threads).length <= 31;
  const ex = new Execution(program, { clocks: true, lockdep, maxSteps, cuts, lazy, fold });
  const cutChecker = cuts ? new CutChecker(ex, program, col, maxSteps) : null;
  if (cuts) col.cutStates = 0;
  const nodes: Node[] = [new Node()];
  col.estimate = () => dporFractionDone(nodes, depth);
  // Set while the races of a folded state's operations are reversed: the reversal ends with the
  // thread's pending operation (the operation raced may come later in that thread).
  let future = false;
  // In the race step, what its reversals leave out (Seq.leftOut): the summarised operations of the
  // state folded onto, and the threads whose events below it came before the raced operation.
  let futureLeft: Int32Array | null = null;
  let futureThreads = 0;
  const races: RaceFinder<S> = new RaceFinder(
    ex,
    (b, j, t, o, k, lo, hi) => {
      if (future) races.reversal(b, j, t, ex.opObj[t]!.id, ex.opKind[t]!, ex.opLo[t]!, ex.opHi[t]!, v);
      else races.reversal(b, j, t, o, k, lo, hi, v);
      // A race step's reversal leaves out the events of other threads that came before the raced
      // operation below the state it folds onto (Seq.truncated).
      v.truncated = future;
      v.leftOut = future ? futureLeft : null;
      v.leftThreads = futureThreads;
      insertBranch(nodes[b]!, v);
    },
    true,
  );
  const dependent = races.dependent;
  const v = new Seq(dependent);
  let replayTo = 0;
  /** Index of the last node of the current execution (nodes beyond it are stale, kept for reuse). */
  let depth = 0;
  let forced: WuNode | null = null;
  const n = ex.n;
  // Each node keeps which threads could run there (Node.enabled), so that a branch whose first
  // thread cannot run is dropped at the backtrack instead of replayed to find that out. Only a
  // folded search makes such branches in numbers (its race step ends a reversal with a thread's
  // pending operation, which may wait on a lock): elsewhere the masks would cost more than they save.
  const masks = fold && n <= 31 && !replayAll;
  // A folded search often backtracks to the very node where its last execution stopped (at a
  // folded state, or on a branch's thread that could not run): 12,804 of the 57,000 backtracks of
  // faults-vs-disable on v6.9, 22 % of its events. The state there is the one the execution is
  // in, so the next execution goes on from it instead of replaying its prefix: it is the same
  // execution as replayed, with the prefix's violations counted again at its end, as a replay
  // raises them again. Not with stopAtFirst, which takes violations as it goes.
  const continueAtEnd = masks && !options.stopAtFirst;
  /** The next execution goes on from the state the last one stopped in (continueAtEnd). */
  let inPlace = false;
  /** The last execution stopped where the next may go on: at a folded state or a blocked branch. */
  let stoppedMidway = false;
  /** The violations the last execution raised, raised again by a prefix the next one goes on from. */
  const prior: RawViolation[] = [];
  // Resuming: the frontier a checkpoint saved. The first execution replays its prefix computing
  // the clocks afresh (the executions that computed them are gone).
  let recompute = false;
  if (options.resume) {
    const c = options.resume;
    if (c.strategy !== 'dpor') throw new TypeError(`cannot resume a ${c.strategy} checkpoint with dpor`);
    ex.restoreIds(c.ids);
    for (let i = 0; i < c.nodes.length; i++) {
      const node = new Node();
      const sn = c.nodes[i]!;
      node.sleepAll(savedOps(sn.sleep, c.opWidth));
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
  const save = (branch: WuNode, final = false): void => {
    if (!ck) return;
    const saved: { sleep: number[]; wut: SavedBranch[] }[] = [];
    for (let i = 0; i <= replayTo; i++) {
      const node = nodes[i]!;
      saved.push({ sleep: node.sleepOps(), wut: node.wut.slice(node.wutHead).map(saveBranch) });
    }
    ck.save({
      version: 1,
      strategy: 'dpor',
      program: program.name ?? '',
      prefix: Array.from(ex.evThread.subarray(0, replayTo)),
      prefixEvents: prefixEvents(ex, replayTo),
      nodes: saved,
      opWidth: 5,
      next: saveBranch(branch),
      ids: ex.saveIds(),
      ...col.snapshot(),
      lockdep: lockdep.save(),
      ...(cutChecker ? { cutReported: cutChecker.reportedKeys } : {}),
      // The tables as they stand (the search saves between executions): copies of the containers;
      // a record, once finished, is not changed again.
      ...(fold && ck.withFolds?.(final, foldBytes)
        ? {
            folds: {
              open: foldOpen.map((r) => ({
                ...r,
                sleep: [...r.sleep],
                sum: copySum(r.sum),
                members: [...r.members],
              })),
              done: new Map([...foldDone].map(([k, list]) => [k, [...list]])),
              bytes: foldBytes,
            },
          }
        : {}),
    });
    lastSaved = Date.now();
    savedAt = col.executions;
  };
  /**
   * Executes thread t at position pos and opens the node after it, whose pending branches are
   * `children` (null: none yet).
   */
  const advance = (pos: number, t: number, children: WuNode[] | null): void => {
    if (masks) nodes[pos]!.enabled = enabledMask(ex);
    ex.step(t);
    if (ex.stepLimitHit) return;
    const from = nodes[pos]!;
    let to = nodes[pos + 1];
    if (to === undefined) {
      to = new Node();
      nodes[pos + 1] = to;
    }
    propagateSleep(from, to, t, ex.evObj[pos]!, ex.evKind[pos]!, ex.evLo[pos]!, ex.evHi[pos]!, dependent);
    to.done = 0;
    if (children !== null) {
      to.wut = children;
      to.wutHead = 0;
    } else {
      if (to.wut.length !== 0) to.wut = [];
      to.wutHead = 0;
    }
    depth = pos + 1;
    races.detectAt(pos);
    if (fold) {
      const top = foldOpen[foldOpen.length - 1];
      if (top !== undefined) {
        // Without lazy locks dclocks are not kept: the two masks are one.
        const follow = ex.followMask(pos, top.seqs, false);
        sumAdd(
          top.sum,
          t,
          ex.evObj[pos]!,
          ex.evKind[pos]!,
          ex.evLo[pos]!,
          ex.evHi[pos]!,
          ex.locksAtLast(t),
          follow,
          lazy ? ex.followMask(pos, top.seqs, true) : follow,
          ex.clocks,
          pos * n,
          n,
        );
      }
      let stopped = -1;
      if (ex.cycleTo >= 0) {
        foldCycle(ex.cycleTo);
        ex.cycleTo = -1;
        stopped = t;
      }
      if (foldTestHooks.everyEvent && ex.foldKeyAt !== pos + 1) ex.foldKeyHere();
      if (ex.foldKeyAt === pos + 1) foldAt(pos + 1, stopped);
    }
  };
  // State folding (ExploreOptions.foldStates). The loop-head states of the current execution
  // whose subtrees are still being explored, innermost last, each with what ran below it so far;
  // and the states whose subtrees are done, with their sleep sets and what ran below them.
  const foldOpen: FoldRecord[] = [];
  // Kept in least-recently-used order (a fold moves its key to the end), within a memory budget.
  const foldDone = new Map<string, FoldDone[]>();
  const foldBudget = (options.foldMemoryMiB ?? DEFAULT_FOLD_MEMORY_MIB) * 2 ** 20;
  let foldBytes = 0;
  const lockScratch: number[] = [];
  const clockScratch = new Int32Array(n);
  let foldCut = false;
  const foldAt = (q: number, stopped: number): void => {
    const key = ex.foldKey;
    const node = nodes[q]!;
    const done = foldDone.get(key);
    if (done !== undefined)
      for (const d of done) {
        if (!sleepCovers(node, d.sleep)) continue;
        const top = foldOpen[foldOpen.length - 1];
        if (top !== undefined) mergePacked(top.sum, d.ops, n, ex.foldSeqs(), lockScratch, clockScratch);
        // What the rest of this execution would have raced with before this point.
        races.reverseDeferredOfRunning();
        if (d.flat === undefined) {
          d.flat = flatOps(d.ops, n);
          foldBytes += d.flat.byteLength;
        }
        futureLeft = d.flat;
        future = true;
        try {
          eachPacked(d.ops, n, lockScratch, clockScratch, (t, o, k, lo, hi, locks, follow, followD, rel) => {
            if (ex.status[t] !== RUNNING) return;
            futureThreads = 1 << t;
            for (let u = 0; u < n; u++) if (rel[u]! > 0) futureThreads |= 1 << u;
            races.detectFuture(t, o, k, lo, hi, locks, follow, followD);
          });
        } finally {
          future = false;
          futureLeft = null;
          futureThreads = 0;
        }
        foldCut = true;
        col.folded++;
        foldDone.delete(key);
        foldDone.set(key, done);
        return;
      }
    foldTestHooks.onRecord?.(key, stopped);
    foldOpen.push({
      key,
      pos: q,
      sleep: node.sleepOps(),
      sum: new Map(),
      seqs: ex.foldSeqs(),
      root: -1,
      members: [],
    });
  };
  /**
   * A retry cycle stopped a thread here: this state is the one at event count `to`, earlier on this
   * execution. The states recorded after that one lead back to it, so what can run after each of
   * them is also everything that can run after it: their subtrees' operations and that state's.
   * The innermost state recorded at or before `to` (the root) holds the latter once its subtree is
   * done; until then each of them, when done, is a member of the root (foldClose).
   */
  const foldCycle = (to: number): void => {
    let root = -1;
    for (let i = foldOpen.length - 1; i >= 0; i--)
      if (foldOpen[i]!.pos <= to) {
        root = i;
        break;
      }
    for (let i = foldOpen.length - 1; i > root; i--) {
      const r = foldOpen[i]!;
      // No state recorded at or before that one: nothing will hold its subtree (ORPHAN). Else the
      // outermost root counts: its subtree holds every other's.
      if (root < 0) r.root = ORPHAN;
      else if (r.root === -1 || r.root > root) r.root = root;
    }
  };
  /** Takes a member's record out of the table (its root is an ORPHAN). */
  const foldDrop = (m: FoldMember): void => {
    const list = foldDone.get(m.key);
    const at = memberAt(list, m);
    if (at < 0) return;
    list!.splice(at, 1);
    foldBytes -= doneBytes(m.done);
    if (list!.length === 0) {
      foldDone.delete(m.key);
      foldBytes -= keyBytes(m.key);
    }
  };
  /**
   * A member's finished record, once its root's subtree is done: its operations and the root's
   * (`rootOps`, packed relative to the root's state). Of those it knows only that they come after
   * the member's state, so it claims no order for them (no followed thread) and counts every
   * thread's events as possibly before them (the race step's left-out threads). A new record
   * replaces the old one in its list (a checkpoint may hold the old one).
   */
  const foldComplete = (m: FoldMember, rootOps: Int32Array): void => {
    const list = foldDone.get(m.key);
    const at = memberAt(list, m);
    if (at < 0) return;
    const ops = widenPacked(m.done.ops, rootOps, n);
    foldTestHooks.onComplete?.(m.done.ops, rootOps, ops, n);
    const d: FoldDone = { sleep: m.done.sleep, ops };
    foldBytes += doneBytes(d) - doneBytes(m.done);
    list![at] = d;
  };
  /** Backtracking to `next`: the loop-head states after it are done. */
  const foldClose = (next: number): void => {
    for (
      let r = foldOpen[foldOpen.length - 1];
      r !== undefined && r.pos > next;
      r = foldOpen[foldOpen.length - 1]
    ) {
      foldOpen.pop();
      const parent = foldOpen[foldOpen.length - 1];
      if (parent !== undefined) sumMerge(parent.sum, r.sum);
      if (r.root === ORPHAN) {
        // Neither it nor the records whose root it is can be completed: none is kept.
        for (const m of r.members) foldDrop(m);
        continue;
      }
      // Kept packed: a few dozen bytes per operation instead of an object, a map entry and a key.
      const d: FoldDone = { sleep: Int32Array.from(r.sleep), ops: packSum(r.sum, r.seqs) };
      const list = foldDone.get(r.key);
      if (list === undefined) {
        foldDone.set(r.key, [d]);
        foldBytes += keyBytes(r.key);
      } else list.push(d);
      foldBytes += doneBytes(d);
      if (r.root >= 0) {
        // Its subtree leads back to a state still open above it (foldCycle): a member of that
        // state's root, completed when the root is done, with the members of its own.
        const root = foldOpen[r.root]!;
        root.members.push({ key: r.key, done: d });
        for (const m of r.members) root.members.push(m);
      } else for (const m of r.members) foldComplete(m, d.ops);
    }
    if (foldBytes > foldBudget) forgetFolds();
  };
  /** Forgets the least recently used finished states until the table is within half its budget. */
  const forgetFolds = (): void => {
    for (const [key, list] of foldDone) {
      if (foldBytes <= foldBudget / 2) break;
      foldDone.delete(key);
      foldBytes -= keyBytes(key);
      for (const d of list) foldBytes -= doneBytes(d);
      col.foldForgotten += list.length;
    }
  };

  // Resuming with the folding tables of the search that saved the checkpoint: it goes on as that
  // search would have (the open records are those of the states on the prefix to replay).
  const savedFolds = options.resume?.strategy === 'dpor' ? options.resume.folds : undefined;
  if (fold && savedFolds) {
    // A table saved before records knew their retry cycles' roots: none known.
    for (const r of savedFolds.open as FoldRecord[])
      foldOpen.push({ ...r, root: r.root ?? -1, members: r.members ?? [] });
    for (const [k, list] of savedFolds.done) foldDone.set(k, list as FoldDone[]);
    foldBytes = savedFolds.bytes;
  }

  for (;;) {
    const fresh = replayTo;
    let ok = true;
    const resuming = recompute;
    if (inPlace) {
      // Going on from where the last execution stopped: its prefix's violations are this one's.
      for (const v of prior) ex.violations.push(v);
    } else ex.begin();
    // Replay the shared prefix; its events, clocks and nodes are those of the previous execution.
    ex.replaying = !recompute;
    recompute = false;
    for (let i = inPlace ? replayTo : 0; i < replayTo; i++) {
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
      // A resumed search computed this prefix's clocks afresh: its deferred lock races too.
      if (resuming) races.rebuild(i);
    }
    ex.replaying = false;
    // A cycle stop in the replayed prefix marked its states when it first ran.
    ex.cycleTo = -1;
    depth = replayTo;
    let pos = replayTo;
    // A fold met right at the branch's first event ends the execution there too.
    foldCut = false;
    if (forced) {
      const f = forced;
      forced = null;
      if (!ex.enabled(f.thread) || (ex.wouldPreempt(f.thread) && ex.preemptions >= bound)) {
        // Cut by the preemption bound, or a branch that cannot run here (where the node's mask
        // was not known: a resumed search). The replayed prefix's violations were counted by the
        // execution that ran it first: a blocked execution counts none.
        if (ex.enabled(f.thread)) col.cutByBound(bound);
        else {
          col.blocked++;
          ex.violations.length = 0;
        }
        ok = false;
      } else {
        advance(pos, f.thread, f.children);
        pos++;
      }
    }
    while (ok && !ex.stepLimitHit && !foldCut) {
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
          stoppedMidway = true;
          break;
        }
        if (ex.wouldPreempt(c.thread) && ex.preemptions >= bound) {
          col.cutByBound(bound);
          ok = false;
          break;
        }
        advance(pos, c.thread, c.children);
        pos++;
        continue;
      }
      // Free choice: keep running the last thread if it can, else the lowest-numbered one.
      const choice = freeChoice(ex, node, pos, bound);
      if (choice < 0) {
        ok = noChoice(col, choice);
        break;
      }
      advance(pos, choice, null);
      pos++;
    }
    // Where the execution stopped, the node is reached but not left: its mask is set here (it may
    // hold branches still to take, the rest of a wakeup-tree branch).
    if (masks && !ex.stepLimitHit) nodes[ex.len]!.enabled = enabledMask(ex);
    col.events += inPlace ? ex.len - fresh : ex.len;
    inPlace = false;
    if (foldCut && !ex.stepLimitHit) stoppedMidway = true;
    if (continueAtEnd && stoppedMidway) {
      prior.length = 0;
      for (const v of ex.violations) prior.push(v);
    }
    cutChecker?.check(fresh);
    if (ex.stepLimitHit || foldCut) col.executed(ex, false);
    else if (ok && !col.stopped) {
      if (ex.anyUnfinished()) {
        races.detectBlocked();
        // Threads left blocked: their pending operations count as run below the open states.
        const top = fold ? foldOpen[foldOpen.length - 1] : undefined;
        // What would have come before such an operation had it run is not known: all so far.
        const all = top !== undefined ? ex.foldSeqs() : null;
        if (top !== undefined)
          for (let u = 0; u < n; u++)
            if (ex.status[u] === RUNNING)
              sumAdd(
                top.sum,
                u,
                ex.opObj[u]!.id,
                ex.opKind[u]!,
                ex.opLo[u]!,
                ex.opHi[u]!,
                ex.locksNow(u),
                ex.followMask(ex.thrLast[u]!, top.seqs, false),
                ex.followMask(ex.thrLast[u]!, top.seqs, true),
                all!,
                0,
                n,
              );
      }
      observe?.(ex);
      col.executed(ex, ex.finish());
    } else col.take(ex);
    // Stopped inside an execution (stopAtFirst): its frontier is not consistent, nothing to save.
    const atBoundary = col.stopped && atExecutionEnd(col);
    if (col.stopped && !atBoundary) {
      col.cutStopped();
      break;
    }
    // Backtrack to the deepest node with a pending branch.
    let next = -1;
    let top = depth;
    let len = ex.len;
    for (;;) {
      next = -1;
      for (let i = top; i >= 0; i--) {
        const node = nodes[i]!;
        if (i < len) {
          node.sleep(ex.evThread[i]!, ex.evObj[i]!, ex.evKind[i]!, ex.evLo[i]!, ex.evHi[i]!);
          node.done++;
        }
        if (node.pending) {
          next = i;
          break;
        }
      }
      if (next < 0 || (col.exhausted && !atBoundary)) break;
      forced = nodes[next]!.take();
      replayTo = next;
      if (fold) foldClose(next);
      races.truncate(next);
      // A branch whose first thread could not run here: the execution that replays to it would
      // end at once, blocked. Counted as such, and the backtrack goes on from here (that
      // execution's events end before this node: the nodes above it learn their sleepers).
      const mask = nodes[next]!.enabled;
      if (mask === -1 || (mask >>> forced.thread) & 1) break;
      col.blocked++;
      forced = null;
      top = next;
      len = next;
    }
    inPlace = continueAtEnd && stoppedMidway && next === ex.len;
    stoppedMidway = false;
    if (next < 0) break;
    if (col.exhausted && !atBoundary) {
      col.cutExhausted();
      break;
    }
    if (atBoundary) {
      // Stopped between executions (time, memory, interrupt): the frontier is saved to resume from.
      if (ck) save(forced!, col.stopReason?.reason !== 'memory');
      col.cutStopped();
      break;
    }
    // The frontier is consistent here: the next execution replays up to `next` and takes `forced`.
    if (
      ck &&
      ((ck.everyExecutions !== undefined && col.executions - savedAt >= ck.everyExecutions) ||
        (ck.everyMs !== undefined && Date.now() - lastSaved >= ck.everyMs))
    )
      save(forced!);
  }
  return col;
}

/** The threads that can run now, bit t for thread t (at most 31 threads). */
function enabledMask<S>(ex: Execution<S>): number {
  let m = 0;
  for (let t = 0; t < ex.n; t++) if (ex.enabled(t)) m |= 1 << t;
  return m;
}

/** A state met at a retry-loop head whose subtree is still being explored (state folding). */
interface FoldRecord {
  key: string;
  /** Its node: the events before it. */
  pos: number;
  /** The sleep set there when it was met. */
  sleep: number[];
  /** The operations run below it, by opKey. */
  sum: Map<string, SumOp>;
  /** Each thread's event count there (Execution.followMask). */
  seqs: Int32Array;
  /**
   * Its subtree met a retry cycle back to a state above it: the index in the open records of the
   * outermost such cycle's root (foldCycle); -1 when none, ORPHAN when that state has no record
   * at or above it (the record is then not kept).
   */
  root: number;
  /** The finished records whose root this one is, completed with its operations when it is done. */
  members: FoldMember[];
}

/** A finished record to complete when its root is done (foldCycle, foldComplete). */
interface FoldMember {
  key: string;
  done: FoldDone;
}

/**
 * A loop-head state whose subtree is explored: its sleep set then, and the operations run below it
 * packed, PACKED_FIELDS numbers each (thread, object, kind, lo, hi, follow, followD, lock count),
 * then one number per thread (SumOp.maxC less that thread's event count at the state: positive
 * when an event of it below the state came before the operation), then its lock codes.
 */
interface FoldDone {
  sleep: Int32Array;
  ops: Int32Array;
  /** The operations alone, OPW numbers each (Seq.leftOut), made at the first fold onto it. */
  flat?: Int32Array;
}

const PACKED_FIELDS = 8;

/** Where a member's record stands in its key's list of finished states; -1 once forgotten. */
function memberAt(list: FoldDone[] | undefined, m: FoldMember): number {
  return list === undefined ? -1 : list.indexOf(m.done);
}

/** FoldRecord.root of a record whose retry cycle leads back above every recorded state. */
const ORPHAN = -2;

/** ExploreOptions.foldMemoryMiB's default. */
export const DEFAULT_FOLD_MEMORY_MIB = 256;

/** About what a finished state's record takes: its arrays and the objects around them. */
function doneBytes(d: FoldDone): number {
  return d.sleep.byteLength + d.ops.byteLength + (d.flat?.byteLength ?? 0) + 200;
}

/** About what a key of the table takes: the string and the map entry. */
function keyBytes(key: string): number {
  return key.length * 2 + 80;
}

/** Packs a finished state's summary; each maxC relative to the state's event counts `seqs`. */
function packSum(sum: Map<string, SumOp>, seqs: Int32Array): Int32Array {
  const n = seqs.length;
  let size = 0;
  for (const x of sum.values()) size += PACKED_FIELDS + n + x.locks.length;
  const a = new Int32Array(size);
  let i = 0;
  for (const x of sum.values()) {
    a[i] = x.t;
    a[i + 1] = x.o;
    a[i + 2] = x.k;
    a[i + 3] = x.lo;
    a[i + 4] = x.hi;
    a[i + 5] = x.follow;
    a[i + 6] = x.followD;
    a[i + 7] = x.locks.length;
    for (let u = 0; u < n; u++) a[i + PACKED_FIELDS + u] = x.maxC[u]! - seqs[u]!;
    for (let l = 0; l < x.locks.length; l++) a[i + PACKED_FIELDS + n + l] = x.locks[l]!;
    i += PACKED_FIELDS + n + x.locks.length;
  }
  return a;
}

/** The packed operations as (thread, object, kind, lo, hi), OPW numbers each. */
function flatOps(ops: Int32Array, n: number): Int32Array {
  let count = 0;
  for (let i = 0; i < ops.length; i += PACKED_FIELDS + n + ops[i + 7]!) count++;
  const out = new Int32Array(count * OPW);
  let w = 0;
  for (let i = 0; i < ops.length; i += PACKED_FIELDS + n + ops[i + 7]!)
    for (let f = 0; f < OPW; f++) out[w++] = ops[i + f]!;
  return out;
}

/**
 * Calls `f` with each packed operation's fields; its lock codes in `locks` and its per-thread
 * counts relative to the state (packSum) in `rel`, both scratch arrays reused.
 */
function eachPacked(
  ops: Int32Array,
  n: number,
  locks: number[],
  rel: Int32Array,
  f: (
    t: number,
    o: number,
    k: number,
    lo: number,
    hi: number,
    locks: number[],
    follow: number,
    followD: number,
    rel: Int32Array,
  ) => void,
): void {
  for (let i = 0; i < ops.length; ) {
    const nl = ops[i + 7]!;
    for (let u = 0; u < n; u++) rel[u] = ops[i + PACKED_FIELDS + u]!;
    locks.length = nl;
    for (let l = 0; l < nl; l++) locks[l] = ops[i + PACKED_FIELDS + n + l]!;
    f(ops[i]!, ops[i + 1]!, ops[i + 2]!, ops[i + 3]!, ops[i + 4]!, locks, ops[i + 5]!, ops[i + 6]!, rel);
    i += PACKED_FIELDS + n + nl;
  }
}

/**
 * Adds every packed operation of a state folded onto to a summary, as run below the state this
 * execution is in now, whose event counts are `now`. An event below it that came before the
 * operation there comes after `now` here; what came before it above that state there may be any
 * event before `now` here (the same state is reached by other events), so it counts as all of them.
 */
function mergePacked(
  into: Map<string, SumOp>,
  ops: Int32Array,
  n: number,
  now: Int32Array,
  locks: number[],
  rel: Int32Array,
): void {
  eachPacked(ops, n, locks, rel, (t, o, k, lo, hi, ls, follow, followD, r) => {
    for (let u = 0; u < n; u++) r[u] = r[u]! > 0 ? now[u]! + r[u]! : now[u]!;
    sumAdd(into, t, o, k, lo, hi, ls, follow, followD, r, 0, n);
  });
}

/**
 * A member's packed operations with its root's added (foldComplete): an operation in both keeps
 * the member's lock set narrowed by the root's, no followed thread, and every thread counted as
 * possibly having run before it below the state.
 */
function widenPacked(own: Int32Array, rootOps: Int32Array, n: number): Int32Array {
  const sum = new Map<string, SumOp>();
  const locks: number[] = [];
  const rel = new Int32Array(n);
  const zero = new Int32Array(n);
  eachPacked(own, n, locks, rel, (t, o, k, lo, hi, ls, follow, followD, r) => {
    sumAdd(sum, t, o, k, lo, hi, ls, follow, followD, r, 0, n);
  });
  eachPacked(rootOps, n, locks, rel, (t, o, k, lo, hi, ls, _follow, _followD, r) => {
    for (let u = 0; u < n; u++) r[u] = r[u]! > 0 ? r[u]! + 1 : 1;
    sumAdd(sum, t, o, k, lo, hi, ls, 0, 0, r, 0, n);
  });
  return packSum(sum, zero);
}

/** A deep copy of an open state's operations (a checkpoint's; the search goes on changing its own). */
function copySum(sum: Map<string, SumOp>): Map<string, SumOp> {
  const out = new Map<string, SumOp>();
  for (const [k, op] of sum) out.set(k, { ...op, locks: [...op.locks], maxC: op.maxC.slice() });
  return out;
}

/** An operation run below a loop-head state, and the locks its thread held at it every time. */
interface SumOp {
  t: number;
  o: number;
  k: number;
  lo: number;
  hi: number;
  /** Lock codes (Execution.futureClock): those held at each run of it met so far. */
  locks: number[];
  /** Threads whose events below the state came before it at each run (Execution.followMask). */
  follow: number;
  /** The same in the clocks without deferred lock edges. */
  followD: number;
  /**
   * Per thread, the latest of its events (by count, in this execution's numbering) that came
   * before it at any run, or may have: its clock's entries, the greatest at each. Unlike `follow`
   * it holds for every open state on the way down, not only the innermost (sumMerge): the threads
   * whose events a race step's reversal of a race with it leaves out (Seq.leftOut).
   */
  maxC: Int32Array;
}

function opKey(t: number, o: number, k: number, lo: number, hi: number): string {
  return `${t},${o},${k},${lo},${hi}`;
}

/**
 * Adds a run of an operation to a summary: a new entry, or its lock set and follow masks narrowed
 * and its maxC raised to the clock at `clk[off..off + n]`.
 */
function sumAdd(
  sum: Map<string, SumOp>,
  t: number,
  o: number,
  k: number,
  lo: number,
  hi: number,
  locks: readonly number[],
  follow: number,
  followD: number,
  clk: Int32Array,
  off: number,
  n: number,
): void {
  const key = opKey(t, o, k, lo, hi);
  const had = sum.get(key);
  if (had === undefined) {
    sum.set(key, { t, o, k, lo, hi, locks: locks.slice(), follow, followD, maxC: clk.slice(off, off + n) });
    return;
  }
  had.follow &= follow;
  had.followD &= followD;
  const m = had.maxC;
  for (let u = 0; u < n; u++) if (clk[off + u]! > m[u]!) m[u] = clk[off + u]!;
  const mine = had.locks;
  let w = 0;
  for (let r = 0; r < mine.length; r++) if (locks.includes(mine[r]!)) mine[w++] = mine[r]!;
  mine.length = w;
}

/** Adds every run of `from` to `into`. */
function sumMerge(into: Map<string, SumOp>, from: Map<string, SumOp>): void {
  for (const x of from.values())
    sumAdd(into, x.t, x.o, x.k, x.lo, x.hi, x.locks, x.follow, x.followD, x.maxC, 0, x.maxC.length);
}

/** Does the node's sleep set hold every operation of `ops` (a flat sleep set)? */
function sleepCovers(node: Node, ops: ArrayLike<number>): boolean {
  for (let i = 0; i < ops.length; i += 5) {
    let found = false;
    for (let j = 0; j < node.slN && !found; j += 5)
      found =
        node.sl[j] === ops[i] &&
        node.sl[j + 1] === ops[i + 1] &&
        node.sl[j + 2] === ops[i + 2] &&
        node.sl[j + 3] === ops[i + 3] &&
        node.sl[j + 4] === ops[i + 4];
    if (!found) return false;
  }
  return true;
}

/** The first `len` events of the execution as operations (thread, object, kind, lo, hi). */
export function prefixEvents<S>(ex: Execution<S>, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < len; i++)
    out.push(ex.evThread[i]!, ex.evObj[i]!, ex.evKind[i]!, ex.evLo[i]!, ex.evHi[i]!);
  return out;
}

/** freeChoice(): no thread can run (the execution is over). */
const NONE_ENABLED = -1;
/** freeChoice(): every thread that can run sleeps here (a redundant execution). */
const ALL_ASLEEP = -2;
/** freeChoice(): the preemption bound cut a thread that could run and no other is left. */
const CUT = -3;

/**
 * The thread dpor runs at a node with no pending branch: the last thread if it can run, else the
 * lowest-numbered one — never a sleeping thread, nor one the preemption bound rules out. A
 * negative result says why there is none (NONE_ENABLED, ALL_ASLEEP, CUT).
 */
export function freeChoice<S>(ex: Execution<S>, node: Node, pos: number, bound: number): number {
  const last = pos > 0 ? ex.evThread[pos - 1]! : -1;
  let anyEnabled = false;
  let cut = false;
  for (let i = -1; i < ex.n; i++) {
    const t = i < 0 ? last : i;
    if (t < 0 || (i >= 0 && t === last) || !ex.enabled(t)) continue;
    anyEnabled = true;
    if (node.sleeps(t)) continue;
    if (ex.wouldPreempt(t) && ex.preemptions >= bound) {
      cut = true;
      continue;
    }
    return t;
  }
  return !anyEnabled ? NONE_ENABLED : cut ? CUT : ALL_ASLEEP;
}

/**
 * Records why freeChoice found no thread to run: every enabled thread asleep (a redundant
 * execution, counted as blocked) or cut by the preemption bound (the search is not complete).
 * True when the execution simply ended.
 */
export function noChoice(col: Collector, why: number): boolean {
  if (why === NONE_ENABLED) return true;
  if (why === CUT) col.cutByBound(col.options.preemptionBound ?? 0);
  else col.blocked++;
  return false;
}

/** Does dpor check this program's invariant at cuts (Program.observedOnly)? */
export function usesCuts<S>(program: Program<S>, options: ExploreOptions): boolean {
  if (!program.observedOnly || !program.invariant) return false;
  if (!program.observes || program.observesObject)
    throw new TypeError('observedOnly needs observes(): the Cells the invariant reads');
  return options.preemptionBound === undefined;
}

function nondeterminism<S>(program: Program<S>, event: number, thread: string): Error {
  return new Error(
    `${program.name ?? 'program'}: replaying event ${event} (thread ${thread}) did something different from the first run. ` +
      'Model code must be deterministic: no Math.random, clocks, or state kept outside setup().',
  );
}
