// Helpers for kernel-model tests: run a body once as a single thread, or explore threads.

import { checkSystem } from '../../../src/invariants/system.js';
import { invariantReads } from '../../../src/scenario/program.js';
import {
  type ExploreOptions,
  type ExploreResult,
  explore,
  type Program,
  type Thread,
} from '../../../src/sched/index.js';
import type { System } from '../../../src/uapi/system.js';

/**
 * Explores threads against a System under the system invariants, the way `vdm check` explores a
 * scenario: only the objects the invariants read are visible, the kernel's plain shared state
 * (the System) is what a retry loop compares to end a cycle, and locks are lazy. Options override.
 * Fails unless the search is complete: a clean result on a fixed kernel is then a proof.
 */
export function exploreSystem<S extends System>(
  setup: () => S,
  threads: Program<S>['threads'],
  options: ExploreOptions = {},
): ExploreResult {
  const r = explore(
    {
      setup,
      threads,
      invariant: (s) => checkSystem(s),
      observesObject: invariantReads,
      sharedState: (s) => [s],
    },
    { lazyLocks: true, ...options },
  );
  if (!r.complete) throw new Error(`exploreSystem: incomplete search: ${JSON.stringify(r.incomplete)}`);
  return r;
}

/** Runs `body` as the only thread of a program (one execution) and returns its state and result. */
export function runOnce<S, R>(
  setup: () => S,
  body: (s: S) => Thread<R>,
): { state: S; result: R; run: ExploreResult } {
  let out: { state: S; result: R } | undefined;
  let result: R | undefined;
  const run = explore(
    {
      setup,
      threads: {
        main: function* (s: S) {
          result = yield* body(s);
        },
      },
      final: (s: S) => {
        out = { state: s, result: result as R };
      },
    },
    { strategy: 'exhaustive', minimizePreemptions: false },
  );
  const errors = run.violations.filter((v) => v.kind !== 'lock-order');
  if (!out || errors.length > 0) {
    throw new Error(
      `the body did not finish: ${errors.map((v) => `${v.kind} ${v.message} ${v.stack ?? ''}`).join('; ')}`,
    );
  }
  return { ...out, run };
}

/** Explores a program and collects a description of every final state. */
export function finals<S>(
  program: Program<S>,
  describe: (s: S) => string,
): { run: ExploreResult; states: Set<string> } {
  const states = new Set<string>();
  const inner = program.final;
  const run = explore({
    ...program,
    final: (s: S) => {
      states.add(describe(s));
      return inner?.(s);
    },
  });
  return { run, states };
}
