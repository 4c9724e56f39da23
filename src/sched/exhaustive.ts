// Exhaustive search: every interleaving of events, depth first. The reference the reductions are
// tested against, and the strategy used to look for counterexamples with fewer preemptions.

import { atExecutionEnd, Collector } from './collector.js';
import { Execution } from './execution.js';
import type { Lockdep } from './lockdep.js';
import type { ExploreOptions, Program } from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';
import { opsChecksum } from './schedule.js';

/** A branching point: at event `pos` these threads could run; `next` is the one being explored. */
interface Choice {
  pos: number;
  threads: number[];
  next: number;
}

/**
 * Fills buf with the threads that may run next, the last one first (so a thread goes on while it
 * can); returns how many. A thread a preemption bound keeps out is reported through `cut`.
 */
export function choicesOf<S>(ex: Execution<S>, buf: Int32Array, bound: number, cut?: () => void): number {
  let k = 0;
  const last = ex.len > 0 ? ex.evThread[ex.len - 1]! : -1;
  if (last >= 0 && ex.enabled(last)) buf[k++] = last;
  for (let t = 0; t < ex.n; t++) {
    if (t === last || !ex.enabled(t)) continue;
    if (ex.wouldPreempt(t) && ex.preemptions >= bound) {
      cut?.();
      continue;
    }
    buf[k++] = t;
  }
  return k;
}

/**
 * Knuth's estimate of the fraction of a depth-first search done: at each branching point of the
 * current path, the branches before the one being explored are done, each worth 1/k of the
 * subtree there (as if siblings were the same size). Non-decreasing as the search goes on.
 */
export function fractionDone(stack: readonly { next: number; threads: readonly number[] }[]): number {
  let done = 0;
  let weight = 1;
  for (const c of stack) {
    done += (weight * c.next) / c.threads.length;
    weight /= c.threads.length;
  }
  return Math.min(1, done);
}

export function exhaustive<S>(
  program: Program<S>,
  options: ExploreOptions,
  lockdep: Lockdep,
  /**
   * Stop as soon as this finds what it looks for in an execution's violations (used to search for
   * fewer preemptions): it returns the length of the schedule that shows it, or -1.
   */
  accept?: (ex: Execution<S>) => number,
  /** Called before each execution starts. */
  beforeEach?: () => void,
): Collector {
  const col = new Collector('exhaustive', options);
  const cache = options.stateCache === true;
  const ex = new Execution(program, {
    clocks: false,
    lockdep,
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    fingerprints: cache,
  });
  /** Fingerprints of the states explored (stateCache). */
  const visited = new Set<string>();
  let pruned = false;
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  // Only positions with more than one choice are kept: a replay runs the single choice at every
  // other position, which is the same thread again since the model is deterministic.
  const stack: Choice[] = [];
  if (options.resume) {
    const c = options.resume;
    if (c.strategy !== 'exhaustive')
      throw new TypeError(`cannot resume a ${c.strategy} checkpoint with exhaustive search`);
    for (const e of c.stack) stack.push({ pos: e.pos, threads: [...e.threads], next: e.next });
    col.restore(c);
    lockdep.restore(c.lockdep);
    for (const f of c.visited ?? []) visited.add(f);
  }
  col.estimate = () => fractionDone(stack);
  const ck = options.checkpoint;
  let lastSaved = Date.now();
  let savedAt = col.executions;
  const save = (): void => {
    if (!ck) return;
    ck.save({
      version: 1,
      strategy: 'exhaustive',
      program: program.name ?? '',
      stack: stack.map((c) => ({ pos: c.pos, threads: [...c.threads], next: c.next })),
      ...col.snapshot(),
      lockdep: lockdep.save(),
      ...(cache ? { visited: [...visited] } : {}),
    });
    lastSaved = Date.now();
    savedAt = col.executions;
  };
  const buf = new Int32Array(ex.n);
  const choices = (): number =>
    choicesOf(ex, buf, bound, () => {
      col.cutByBound(bound);
    });
  for (;;) {
    beforeEach?.();
    ex.begin();
    for (const c of stack) {
      while (ex.len < c.pos) {
        choices();
        ex.step(buf[0]!);
      }
      ex.step(c.threads[c.next]!);
    }
    pruned = false;
    for (;;) {
      if (ex.stepLimitHit) break;
      if (cache) {
        // A state explored before: everything reachable from it has been (or is being) explored.
        // The preemption count is part of the state when a bound limits what follows.
        const fp =
          ex.fingerprint() +
          (bound !== Number.POSITIVE_INFINITY
            ? `:${ex.preemptions}:${ex.len > 0 ? ex.evThread[ex.len - 1] : -1}`
            : '');
        if (visited.has(fp)) {
          pruned = true;
          break;
        }
        visited.add(fp);
      }
      if (accept) {
        const len = accept(ex);
        if (len >= 0) {
          col.hit = { threads: ex.evThread.slice(0, len), checksum: opsChecksum(ex.opStrings(len)) };
          col.stop('stopAtFirst', 'found what it searched for');
          break;
        }
      } else if (options.stopAtFirst) {
        col.take(ex);
        if (col.stopped) break;
      }
      const k = choices();
      if (k === 0) break;
      if (k > 1) stack.push({ pos: ex.len, threads: Array.from(buf.subarray(0, k)), next: 0 });
      ex.step(buf[0]!);
    }
    col.events += ex.len;
    if (pruned) {
      col.take(ex);
      col.blocked++;
      col.tick(ex.len);
    }
    const cut = ex.stepLimitHit || col.stopped || pruned;
    const deadlocked = !cut && ex.isOver() && ex.finish();
    if (accept && !col.stopped) {
      const len = accept(ex);
      if (len >= 0) {
        col.hit = { threads: ex.evThread.slice(0, len), checksum: opsChecksum(ex.opStrings(len)) };
        col.stop('stopAtFirst', 'found what it searched for');
      }
    }
    if (!pruned) col.executed(ex, deadlocked);
    const atBoundary = col.stopped && atExecutionEnd(col);
    if (col.stopped && !atBoundary) {
      col.cutStopped();
      break;
    }
    while (stack.length > 0 && stack[stack.length - 1]!.next + 1 >= stack[stack.length - 1]!.threads.length)
      stack.pop();
    if (stack.length === 0) break;
    if (col.exhausted && !atBoundary) {
      col.cutExhausted();
      break;
    }
    stack[stack.length - 1]!.next++;
    if (atBoundary) {
      // Stopped between executions (time, memory, interrupt): the frontier is saved to resume from.
      if (ck) save();
      col.cutStopped();
      break;
    }
    // The frontier is consistent here: the next execution takes the branch just advanced to.
    if (
      ck &&
      ((ck.everyExecutions !== undefined && col.executions - savedAt >= ck.everyExecutions) ||
        (ck.everyMs !== undefined && Date.now() - lastSaved >= ck.everyMs))
    )
      save();
  }
  return col;
}
