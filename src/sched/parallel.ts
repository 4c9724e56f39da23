// Splitting an exhaustive search into independent subtrees and merging their results: the pieces
// `vdm check --workers N` runs on worker processes. A subtree is a fixed prefix of branch choices;
// the subtrees of a split cover every execution exactly once, so the merged counts, violations,
// deadlocks and lock-order cycles equal those of one search over the whole tree.

import { Collector, violationKey } from './collector.js';
import { Execution } from './execution.js';
import { choicesOf, exhaustive } from './exhaustive.js';
import { completeExploration } from './explore.js';
import { Lockdep } from './lockdep.js';
import type {
  ExhaustiveCheckpoint,
  ExplorationCheckpoint,
  ExploreOptions,
  ExploreResult,
  Incompleteness,
  Program,
} from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';

export type Subtree = ExhaustiveCheckpoint['stack'];

/** What one subtree's search leaves to merge (plain data: it crosses a worker boundary). */
export interface SubtreeResult {
  snapshot: Pick<ExplorationCheckpoint, 'counts' | 'found'>;
  lockdep: ExplorationCheckpoint['lockdep'];
}

/**
 * At least `target` subtrees (fewer when the tree is smaller), found by expanding the first branching
 * point of each subtree, breadth first, as exhaustive search would meet them.
 */
export function splitExhaustive<S>(program: Program<S>, options: ExploreOptions, target: number): Subtree[] {
  const ex = new Execution(program, {
    clocks: false,
    lockdep: null,
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
  });
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  const buf = new Int32Array(ex.n);
  let items: Subtree[] = [[]];
  for (let round = 0; round < 16 && items.length < target; round++) {
    const next: Subtree[] = [];
    let grew = false;
    for (const stack of items) {
      ex.begin();
      for (const c of stack) {
        while (ex.len < c.pos) {
          choicesOf(ex, buf, bound);
          ex.step(buf[0]!);
        }
        ex.step(c.threads[c.next]!);
      }
      let k = 0;
      while (!ex.stepLimitHit) {
        k = choicesOf(ex, buf, bound);
        if (k !== 1) break;
        ex.step(buf[0]!);
      }
      if (k > 1) {
        const pos = ex.len;
        for (let i = 0; i < k; i++) next.push([...stack, { pos, threads: [buf[i]!], next: 0 }]);
        grew = true;
      } else next.push(stack);
    }
    items = next;
    if (!grew) break;
  }
  return items;
}

/** Explores one subtree (exhaustively, with the options' bounds) and returns what to merge. */
export function exploreSubtree<S>(
  program: Program<S>,
  options: ExploreOptions,
  subtree: Subtree,
): SubtreeResult {
  const lockdep = new Lockdep();
  const col = exhaustive(
    program,
    {
      ...options,
      strategy: 'exhaustive',
      resume: {
        version: 1,
        strategy: 'exhaustive',
        program: program.name ?? '',
        stack: subtree,
        counts: { executions: 0, blocked: 0, deadlocks: 0, events: 0, maxDepth: 0, complete: true },
        found: [],
        lockdep: [],
      },
    },
    lockdep,
  );
  return {
    snapshot: col.snapshot(),
    lockdep: lockdep.save(),
  };
}

/** The merged result of every subtree of a split, finished as explore() finishes a search. */
export function mergeSubtrees<S>(
  program: Program<S>,
  options: ExploreOptions,
  parts: SubtreeResult[],
): ExploreResult {
  const col = new Collector('exhaustive', options);
  const counts = {
    executions: 0,
    blocked: 0,
    deadlocks: 0,
    events: 0,
    maxDepth: 0,
    complete: true,
    incomplete: [] as Incompleteness[],
  };
  const found = new Map<string, ExplorationCheckpoint['found'][number][1]>();
  const lockdep = new Lockdep();
  for (const p of parts) {
    const c = p.snapshot.counts;
    counts.executions += c.executions;
    counts.blocked += c.blocked;
    counts.deadlocks += c.deadlocks;
    counts.events += c.events;
    counts.maxDepth = Math.max(counts.maxDepth, c.maxDepth);
    counts.complete &&= c.complete;
    // Every subtree's reasons, in subtree order: restoring them adds up the counts of executions
    // each bound cut short and keeps the first subtree's replay, as one search's would be.
    counts.incomplete.push(...(c.incomplete ?? []));
    for (const [key, v] of p.snapshot.found) {
      const old = found.get(key);
      const total = (old?.count ?? 0) + (v.count ?? 1);
      // The same violation from several subtrees: the counterexample with the fewest preemptions
      // (then the shortest schedule), so the result does not depend on which worker ran first.
      if (!old || better(v, old)) found.set(key, { ...v, count: total });
      else old.count = total;
    }
    lockdep.restore(p.lockdep);
  }
  const ordered = [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  col.restore({ counts, found: ordered });
  return completeExploration(program, { ...options, strategy: 'exhaustive' }, col, lockdep);
}

function better(
  a: { preemptions?: number; schedule: string },
  b: { preemptions?: number; schedule: string },
): boolean {
  const pa = a.preemptions ?? 0;
  const pb = b.preemptions ?? 0;
  if (pa !== pb) return pa < pb;
  if (a.schedule.length !== b.schedule.length) return a.schedule.length < b.schedule.length;
  return a.schedule < b.schedule;
}

export { violationKey };
