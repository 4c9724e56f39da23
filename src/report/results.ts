// The results `vdm check` and `vdm compare` print with --json (docs/cli.md, "Output"; new
// fields are only ever added beside the documented ones, never in place of them), and the HTML report's inputs.

/** One violation as `vdm check --json` prints it. */
export interface CheckViolation {
  /** The invariant id (MMIO_WHILE_DISABLED, ...) or the explorer's DEADLOCK, LOCK_ORDER, ERROR, EXPECT. */
  invariant: string;
  message: string;
  /** Replays the counterexample: `vdm replay FILE --schedule S`. */
  schedule: string;
  /** Extension: the explorer's kind (invariant, final, deadlock, lock-order, error, expect). */
  kind: string;
  /** Extension: executions that showed it. */
  count: number;
  /** Extension: preemptions in `schedule` (the fewest found). */
  preemptions: number;
  /** Extension: the thread that raised it, when one did. */
  thread?: string;
}

import type { Incompleteness } from '../sched/program.js';

export interface CheckReport {
  scenario: string;
  design: string;
  /** About the scenario's `expect`: pass when it holds. */
  verdict: 'pass' | 'fail';
  executions: number;
  complete: boolean;
  violations: CheckViolation[];
  /** Extensions. Why the search is incomplete (empty when complete): reason and what it left out. */
  incomplete?: Incompleteness[];
  file: string;
  designOptions: Record<string, unknown>;
  strategy: string;
  blocked: number;
  deadlocks: number;
  events: number;
  maxDepth: number;
  elapsedMs: number;
  /** What the scenario expected: the invariant ids that must be found ([] = none may be). */
  expected: string[];
  /** One line per reason the verdict is `fail` (an expected id not found, an unexpected one found). */
  reasons: string[];
  /**
   * Extension: executions in which a thread was stopped at the top of a retry-loop iteration
   * that began in a state the execution had already been in (a retry cycle two threads can go
   * round for ever under an unfair schedule; the search explores it once and stays complete).
   * Absent when none.
   */
  cycles?: number;
  /**
   * Extension (`--fold-states`): executions that ended at the top of a retry-loop iteration in a
   * state a finished part of the search had started from. Absent when none.
   */
  folded?: number;
  /**
   * Extension (`--fold-states`): finished loop-head states the search forgot to keep its folding
   * table within its memory (ExploreOptions.foldMemoryMiB); reaching one again explores on. Absent
   * when none.
   */
  foldForgotten?: number;
  /** Extension, for a swarm (`--swarm K`): the runs and the distinct executions they saw. */
  coverage?: { runs: number; distinct: number };
  /**
   * Extension: setup operations that returned something other than `ok` without an `expect:`
   * (the setup then went on without what they were to make). Absent when there are none.
   */
  warnings?: string[];
}

export interface CompareResult {
  design: string;
  executions: number;
  complete: boolean;
  /** Invariant ids found (distinct, in the order first reported). */
  violations: string[];
  /** Extension: why the search of this design is incomplete (empty when complete). */
  incomplete?: Incompleteness[];
  /** Extensions: per id, executions that showed it, and the shortest counterexample's schedule. */
  counts: Record<string, number>;
  shortest: Record<string, { schedule: string; events: number; message: string }>;
  verdict: 'pass' | 'fail';
  elapsedMs: number;
  /**
   * Extension: set when compare's own default cap (no --max-executions, no `check.maxExecutions`
   * in the file) stopped this design's search: the cap. `vdm check` has no such cap and may
   * complete what compare cut.
   */
  cappedAt?: number;
  /** Set when the scenario cannot run on this design (an operation it lacks is not an error: the errno is the result). */
  error?: string;
}

export interface CompareReport {
  scenario: string;
  results: CompareResult[];
  /**
   * Extension: the scenario's own design with the options its file sets, when it sets any (the
   * `results` rows use each design's defaults). `design` is then `name {option: value, ...}`.
   */
  own?: CompareResult;
  /** Extension: the ids that make up the matrix's columns, in a stable order. */
  invariants: string[];
  /**
   * Extension: set when the comparison was interrupted (Ctrl-C, SIGTERM): the designs it did not
   * explore. The design being explored then ends incomplete (`interrupted`).
   */
  notExplored?: string[];
}
