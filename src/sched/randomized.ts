// Randomised strategies, for spaces too large to cover: `random` picks uniformly among the enabled
// threads at every step; `pct` is probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
// Nagarakatte, ASPLOS 2010): random thread priorities and d-1 random priority change points, which
// finds any bug of depth d with probability at least 1/(n k^(d-1)) per execution.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { Collector } from './collector.js';
import { Execution } from './execution.js';
import type { Lockdep } from './lockdep.js';
import type { ExploreOptions, Program } from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';

export function randomized<S>(
  program: Program<S>,
  options: ExploreOptions,
  lockdep: Lockdep,
  kind: 'random' | 'pct',
): Collector {
  const col = new Collector(kind, options, 1000);
  col.cut('sampling', `${kind} samples executions; it never covers the whole space`);
  const ex = new Execution(program, {
    clocks: false,
    lockdep,
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
  });
  const rng = xoroshiro128plus(options.seed ?? 1);
  const bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
  const depth = Math.max(1, options.pctDepth ?? 3);
  const n = ex.n;
  const prio = new Float64Array(n);
  let steps = 0; // pct's estimate of the execution length k
  const enabled: number[] = [];
  while (!col.exhausted) {
    ex.begin();
    // pct: distinct initial priorities d..d+n-1 in random order; change points in [1, k].
    const changeAt: number[] = [];
    if (kind === 'pct') {
      const order = [...Array(n).keys()];
      for (let i = n - 1; i > 0; i--) {
        const j = uniformInt(rng, 0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      for (let i = 0; i < n; i++) prio[order[i]!] = depth + i;
      const k = Math.max(steps, 1);
      for (let i = 1; i < depth; i++) changeAt.push(uniformInt(rng, 1, k));
    }
    for (;;) {
      if (ex.stepLimitHit) break;
      if (options.stopAtFirst) {
        col.take(ex);
        if (col.stopped) break;
      }
      enabled.length = 0;
      for (let t = 0; t < n; t++) {
        if (!ex.enabled(t)) continue;
        if (ex.wouldPreempt(t) && ex.preemptions >= bound) continue;
        enabled.push(t);
      }
      if (enabled.length === 0) break;
      let t: number;
      if (kind === 'random') {
        t = enabled[uniformInt(rng, 0, enabled.length - 1)]!;
      } else {
        t = enabled[0]!;
        for (const u of enabled) if (prio[u]! > prio[t]!) t = u;
        const at = changeAt.indexOf(ex.len + 1);
        if (at >= 0) {
          // A change point: the running thread drops below every initial priority.
          prio[t] = depth - 1 - at;
          t = enabled[0]!;
          for (const u of enabled) if (prio[u]! > prio[t]!) t = u;
        }
      }
      ex.step(t);
    }
    if (ex.len > steps) steps = ex.len;
    col.events += ex.len;
    const cut = ex.stepLimitHit || col.stopped;
    col.executed(ex, !cut && ex.isOver() && ex.finish());
  }
  return col;
}
