// Exhaustive search: every interleaving of events, depth first. The reference the reductions are
// tested against, and the strategy used to look for counterexamples with fewer preemptions.

import { Collector } from './collector.js';
import { Execution } from './execution.js';
import type { Lockdep } from './lockdep.js';
import type { ExploreOptions, Program } from './program.js';
import { opsChecksum } from './schedule.js';

interface Choice {
  threads: number[];
  next: number;
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
  const ex = new Execution(program, { clocks: false, lockdep, maxSteps: options.maxSteps ?? 20000 });
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  const stack: Choice[] = [];
  for (;;) {
    beforeEach?.();
    ex.begin();
    for (let i = 0; i < stack.length; i++) {
      const c = stack[i]!;
      ex.step(c.threads[c.next]!);
    }
    for (;;) {
      if (ex.stepLimitHit) break;
      if (accept) {
        const len = accept(ex);
        if (len >= 0) {
          col.hit = { threads: ex.evThread.slice(0, len), checksum: opsChecksum(ex.opStrings(len)) };
          col.stopped = true;
          break;
        }
      } else if (options.stopAtFirst) {
        col.take(ex);
        if (col.stopped) break;
      }
      const threads: number[] = [];
      const last = ex.len > 0 ? ex.evThread[ex.len - 1]! : -1;
      if (last >= 0 && ex.enabled(last)) threads.push(last);
      for (let t = 0; t < ex.n; t++) {
        if (t === last || !ex.enabled(t)) continue;
        if (ex.wouldPreempt(t) && ex.preemptions >= bound) {
          col.complete = false;
          continue;
        }
        threads.push(t);
      }
      if (threads.length === 0) break;
      stack.push({ threads, next: 0 });
      ex.step(threads[0]!);
    }
    col.events += ex.len;
    const cut = ex.stepLimitHit || col.stopped;
    const deadlocked = !cut && ex.isOver() && ex.finish();
    if (accept && !col.stopped) {
      const len = accept(ex);
      if (len >= 0) {
        col.hit = { threads: ex.evThread.slice(0, len), checksum: opsChecksum(ex.opStrings(len)) };
        col.stopped = true;
      }
    }
    col.executed(ex, deadlocked);
    if (col.stopped) {
      col.complete = false;
      break;
    }
    while (stack.length > 0 && stack[stack.length - 1]!.next + 1 >= stack[stack.length - 1]!.threads.length)
      stack.pop();
    if (stack.length === 0) break;
    if (col.exhausted) {
      col.complete = false;
      break;
    }
    stack[stack.length - 1]!.next++;
  }
  return col;
}
