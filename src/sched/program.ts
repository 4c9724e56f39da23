// The public types of the explorer (docs/explorer.md describes them).

import type { SavedEdge } from './lockdep.js';
import type { Op } from './op.js';
import type { Prim } from './prim.js';

/** A thread of the model: a generator that yields one Op per event. */
export type Thread<T = unknown> = Generator<Op, T, unknown>;

export interface Program<S> {
  name?: string;
  /** Builds a fresh world; called once per execution. Create every shared object here. */
  setup(): S;
  threads: Record<string, (s: S) => Thread<unknown>>;
  /**
   * Lock dependencies made outside the program that lockdep takes as observed: each chain of lock
   * classes [a, b, c] declares a -> b and b -> c. A cycle through them and the program's own
   * dependencies is reported (LOCK_ORDER) as any other; a cycle of declared edges alone is not.
   */
  lockChains?: readonly (readonly string[])[];
  /**
   * Checked after every event; a string (or a thrown Violation) is a violation. `after` says which
   * event it is checked after (absent for the state before the first event, and when a whole check
   * is wanted): an invariant that is a conjunction of parts can look only at the parts the event
   * can have changed.
   */
  invariant?(s: S, after?: CheckedEvent): string | undefined | void;
  /**
   * The shared objects `invariant` reads. dpor then orders writes to these against each other
   * (and only these), which is what checking a property of every intermediate state needs.
   * Without it, every object counts, which is always right and explores more.
   */
  observes?(s: S): readonly Prim[];
  /**
   * The same, decided per object as it is created (for worlds whose objects appear during the
   * run, such as page tables): true for objects `invariant` reads. Takes precedence over
   * `observes`; objects are identified the same way in every execution, so the answer must
   * depend only on the object (its name, its type).
   */
  observesObject?(p: Prim): boolean;
  /**
   * Finer visibility, for an invariant that is a conjunction of parts each reading the objects of
   * a few scopes: the scope of a visible object (asked once per object, like observesObject; the
   * answer must depend only on the object). dpor then orders two writes to visible objects only
   * when their scopes are related (scopesRelated), instead of every two. Sound when every part of
   * the invariant reads objects of pairwise related scopes only, and plain data it reads changes
   * only in events on objects of those scopes. Default: one scope for every visible object.
   */
  scopeOf?(p: Prim): string;
  /**
   * Mutex.lockReadOnly() sections overlap each other (Lipton's reduction, mutex.ts). False: they
   * take the lock exclusively like lock(), to compare a search against one without the reduction.
   * Part of the program, not of a search, so that every replay of an execution runs it the same way.
   * Default true.
   */
  readOnlySections?: boolean;
  /**
   * Whether writes in scopes a and b must be ordered (a part of the invariant reads both). Default:
   * a === b. A scope need not be related to itself: writes to different objects of a scope whose
   * objects no part reads together (the page tables of one mm, read entry by entry) stay unordered.
   */
  scopesRelated?(a: string, b: string): boolean;
  /**
   * A promise that `invariant` is a function of the values of the `observes` objects alone (Cells,
   * whose values are never changed in place) and reads nothing else. dpor then stops ordering
   * writes to different observed objects against each other: it explores each trace once, and
   * checks the invariant at every state any interleaving of that trace passes through (every
   * consistent cut of its happens-before order), evaluated by setting the observed Cells to the
   * values of the cut. Needs `observes`; ignored under a preemption bound (the cuts of a trace
   * could need more preemptions than the bound allows).
   */
  observedOnly?: boolean;
  /** Checked once every thread has returned. */
  final?(s: S): string | undefined | void;
  /**
   * The plain data (not sched objects) that threads share: what, besides the sched objects, a
   * state is made of. Defining it turns on the retry-cycle check of loop.ts: a thread at the top
   * of a retry loop iteration (loopHead) is stopped when the execution was already in the same
   * state there. Everything shared that can change what a thread does next must be reachable
   * from the returned value or live in sched objects; closures' captured variables are not seen.
   */
  sharedState?(s: S): unknown;
}

/** The event an invariant is checked after (Program.invariant's second argument). */
export interface CheckedEvent {
  /** The object the event touched. */
  obj: Prim;
  /**
   * The event can have changed what the invariant reads: a write-like event (a write, a
   * read-modify-write, a lock operation that is not read-like), except an `unseen` one
   * (Cell.rmwSlots).
   */
  write: boolean;
  /** The slots it touched ([0, 0x7fffffff) for objects without slots). */
  lo: number;
  hi: number;
}

/** Most events in one execution unless ExploreOptions.maxSteps says otherwise (a STEP_BOUND error past it). */
export const DEFAULT_MAX_STEPS = 200_000;

export type Strategy = 'dpor' | 'exhaustive' | 'random' | 'pct';

export interface ExploreOptions {
  /** Default 'dpor'. */
  strategy?: Strategy;
  /** Most preemptions (switches away from a thread that could go on) per execution. */
  preemptionBound?: number;
  /** Most executions to run. Default: unlimited for dpor/exhaustive, 1000 for random/pct. */
  maxExecutions?: number;
  /** Most events in one execution; a thread that never stops is reported. Default 200,000. */
  maxSteps?: number;
  /** Seed for random and pct. Default 1. */
  seed?: number;
  /** pct: the bug depth d (d-1 priority change points). Default 3. */
  pctDepth?: number;
  /**
   * Stop at the first violation, or with `stopWhen`, at the first point where it holds of the
   * violations found. The search is then incomplete (reason `stopAtFirst`).
   */
  stopAtFirst?: boolean;
  /** With stopAtFirst: stop once this holds of the violations found so far (say, every expected id). */
  stopWhen?(found: readonly ViolationReport[]): boolean;
  /** Stop after this many milliseconds, at the end of an execution (reason `timeLimit`). */
  timeLimitMs?: number;
  /**
   * Stop, at the end of an execution, once the V8 heap in use passes this fraction of its limit
   * (reason `memory`); with `checkpoint`, the frontier is saved first so the search can resume.
   * Default 0.85; 0 turns the guard off.
   */
  memoryGuard?: number;
  /** Stop at the end of the current execution once this returns true (reason `interrupted`). */
  interrupted?(): boolean;
  /**
   * dpor: handle the mutexes the invariant does not look at lazily (lock-aware partial-order
   * reduction, after LAPOR): two critical sections of one mutex are explored in both orders only
   * when something in them (or after them) conflicts, not merely because both took the lock. The
   * search then runs one execution per class of traces that differ only in the order of
   * non-conflicting critical sections, and still finds every final state, violation and deadlock:
   * trylocks, sections in which their thread could wait (takes a lock, waits for a completion),
   * and the sections of threads that end an execution blocked are explored in every order (a
   * spinlock's section never waits, so these cost nothing there). rw_semaphores stay eager.
   */
  lazyLocks?: boolean;
  /**
   * dpor and exhaustive: save the search's frontier every so often, so a long run can be
   * resumed (`resume`) after it was stopped or killed. `save` gets plain JSON-able data (but for
   * `folds`, below).
   */
  checkpoint?: {
    everyExecutions?: number;
    everyMs?: number;
    save(c: ExplorationCheckpoint): void;
    /**
     * Asked at each save of a folded dpor search: true to put its folding tables in the checkpoint
     * (`DporCheckpoint.folds`), so that a search resumed from it goes on exactly as this one
     * would. They are Maps and typed arrays, not JSON (a structured clone keeps them; `vdm check`
     * writes them beside its checkpoint file with v8.serialize). `final`: the save the search
     * makes as it stops between executions (a time limit, an interruption; not the memory guard,
     * which stops a search whose heap is nearly full), not a periodic one. `bytes`: about how much
     * the tables hold.
     */
    withFolds?: (final: boolean, bytes: number) => boolean;
  };
  /**
   * Count distinct executions (by their schedules) and return their fingerprints in the result's
   * `coverage`: how much of the space a sampling search (random, pct, a swarm of them) has seen.
   */
  coverage?: boolean;
  /** Continue the search a checkpoint describes (same program and options). */
  resume?: ExplorationCheckpoint;
  /**
   * Search again for each violation with rising preemption bounds and report the schedule with
   * the fewest preemptions found (CHESS). Default true.
   */
  minimizePreemptions?: boolean;
  /**
   * exhaustive only: remember a fingerprint of every state reached (the shared objects' values and
   * lock states, and each thread's local state as the hash of the results its events returned)
   * and cut an execution when it reaches a state already explored — a stateful search, as Spin's.
   * Sound only when all shared state lives in sched objects: model code that keeps shared plain
   * data (as the kernel model does, under locks) must not use it. Fingerprints are 64-bit hashes
   * (hash compaction): a collision could hide a state, with odds of about n^2 / 2^65 for n states.
   * Executions cut this way are counted in `blocked`.
   */
  stateCache?: boolean;
  /**
   * dpor only (sequential, no preemption bound, programs with sharedState): fold the states met
   * at recorded retry-loop heads across executions. An execution that reaches such a state whose
   * first visit's subtree is done, with a sleep set that covers that visit's, ends there; the
   * races the rest of it would have had with the events before are reversed from what that
   * subtree ran. See docs/explorer.md "State folding".
   */
  foldStates?: boolean;
  /**
   * foldStates: the most memory, in MiB, the table of finished loop-head states may take (an
   * estimate: their packed summaries and keys). Past it the least recently used half is forgotten:
   * an execution that reaches one of those states again explores on instead of ending there, so
   * the search stays complete and its memory stays bounded however long it runs. Default 256.
   */
  foldMemoryMiB?: number;
  /** Called every so often during a long search (the CLI draws its progress bar from this). */
  onProgress?(p: Progress): void;
  /** Least time between two onProgress calls, in ms (default 200; 0: after every execution). */
  progressEveryMs?: number;
}

export interface Progress {
  /**
   * exhaustive: the estimated fraction of the tree already explored (0..1), from the branch being
   * explored at each branching point of the current path, as if sibling subtrees were the same
   * size (Knuth's estimator); absent for the other strategies.
   */
  fractionDone?: number;
  executions: number;
  events: number;
  depth: number;
  violations: number;
  elapsedMs: number;
}

export type ViolationKind = 'invariant' | 'final' | 'deadlock' | 'lock-order' | 'error';

export interface ViolationReport {
  kind: ViolationKind;
  id?: string;
  message: string;
  /** Replays the execution (for invariants: up to the event after which the check failed). */
  schedule: string;
  /** Preemptions in `schedule`. */
  preemptions?: number;
  /** Explored executions that showed this violation. */
  count?: number;
  /** For kind 'error': the exception's stack. */
  stack?: string;
  /** Thread that raised it, where one did. */
  thread?: string;
}

export interface ExploreResult {
  /** Complete executions run, deadlocked ones included, sleep-set-blocked ones not. */
  executions: number;
  /** Executions abandoned as redundant. */
  blocked: number;
  deadlocks: number;
  /** True only if the whole space was covered (no bound or limit cut it). */
  complete: boolean;
  /** Why the search is not complete: every bound or limit that cut it (empty when complete). */
  incomplete?: Incompleteness[];
  violations: ViolationReport[];
  /** Events executed in all (replayed prefixes included). */
  events: number;
  /** Longest execution, in events. */
  maxDepth: number;
  strategy: Strategy;
  /**
   * Executions that ended with a thread stopped at the top of a retry-loop iteration that began
   * in a state the execution had already been in (Program.sharedState, loop.ts). Such executions
   * are complete: what follows is explored from the earlier point. Absent when none.
   */
  cycles?: number;
  /**
   * ExploreOptions.foldStates: executions that ended at a retry-loop head in a state whose first
   * visit's subtree was explored (docs/explorer.md "State folding"). Absent when none.
   */
  folded?: number;
  /**
   * ExploreOptions.foldMemoryMiB: finished loop-head states forgotten to keep the folding table
   * within its memory. Absent when none.
   */
  foldForgotten?: number;
  /**
   * dpor on an observedOnly program: the states the invariant was checked at (each down-closed
   * set of observed writes of each trace, counted once), the figure to set beside a stateful
   * checker's state count.
   */
  cutStates?: number;
  /** With the `coverage` option: the distinct executions seen, as 64-bit schedule fingerprints. */
  coverage?: { distinct: number; fingerprints: string[] };
}

/** What cut a search short. */
export type IncompleteReason =
  | 'maxExecutions'
  | 'preemptionBound'
  | 'maxSteps'
  | 'searchBound'
  | 'stopAtFirst'
  | 'timeLimit'
  | 'memory'
  | 'interrupted'
  | 'sampling';

/** One reason a search is incomplete, with what it left out in words. */
export interface Incompleteness {
  reason: IncompleteReason;
  detail: string;
  /**
   * `maxSteps` and `searchBound`: how many explored executions this bound cut short (what follows
   * each was not explored). Absent for the other reasons, which cut branches or stop the search.
   */
  count?: number;
  /**
   * `maxSteps` and `searchBound`: replays the first execution the bound cut short (in the order of
   * the search), up to the event at which it stopped: `vdm replay --schedule`.
   */
  schedule?: string;
}

export interface TraceEvent {
  thread: string;
  op: string;
  object: string;
  /** Acquisition site, where one was captured. */
  site?: string;
  /** The model functions active at the event, outermost first, in kernel spelling (replays only). */
  stack?: string[];
  /** What the operation returned, printable (a read's value, trylock's success, 'queued'). */
  result?: string;
  /**
   * The slots of the object it touched, [lo, hi), when not the whole object (a page-table
   * access: the entries it read or wrote). Two events conflict as op.ts `conflicts` says.
   */
  slots?: [number, number];
}

export interface ReplayResult<S> {
  state: S;
  trace: TraceEvent[];
  /** The violation at the end of the schedule if there is one, else the first one seen. */
  violation?: ViolationReport;
  /** Every violation seen during the replay, in order. */
  violations: ViolationReport[];
  /**
   * Set when a model bound (SearchBound) stopped a thread during the replay: the thread and the
   * bound's message. The search reports such an execution as cut short (`searchBound`), not as a
   * violation.
   */
  bound?: string;
}

/** What every checkpoint holds: what the search found so far, and lockdep's graph. */
export interface CheckpointBase {
  version: 1;
  program: string;
  counts: {
    executions: number;
    blocked: number;
    deadlocks: number;
    events: number;
    maxDepth: number;
    complete: boolean;
    /** What had cut the search before it was saved. */
    incomplete?: Incompleteness[];
    /** dpor with the cut check: states checked so far. */
    cutStates?: number;
    /** Executions stopped at a retry cycle so far. */
    cycles?: number;
    /** Executions ended at a folded state so far. */
    folded?: number;
    /** Finished loop-head states forgotten so far (foldMemoryMiB). */
    foldForgotten?: number;
  };
  found: [string, ViolationReport][];
  lockdep: SavedEdge[];
}

/** The frontier of an exhaustive search: where it is, what it found, and lockdep's graph. */
export interface ExhaustiveCheckpoint extends CheckpointBase {
  strategy: 'exhaustive';
  /** The branching points of the path being explored, and which branch is next at each. */
  stack: { pos: number; threads: number[]; next: number }[];
  /** State-cache fingerprints, when the search uses the cache. */
  visited?: string[];
}

/**
 * A pending dpor branch: [thread, object id, operation kind, the branches to take after it], and
 * the slots [lo, hi) the operation touches when it does not touch the whole object.
 */
export type SavedBranch =
  | [number, number, number, SavedBranch[]]
  | [number, number, number, SavedBranch[], number, number];

/**
 * The frontier of a dpor search: the path to the next branch and, at each point of it, the sleep
 * set and the branches still to explore (the wakeup tree); nothing of the executions already run.
 */
export interface DporCheckpoint extends CheckpointBase {
  strategy: 'dpor';
  /** The threads of the events before the next branch point (replayed to resume). */
  prefix: number[];
  /**
   * Per point of the prefix and the branch point: the sleep set (operations as [thread, object,
   * kind] triples, or [thread, object, kind, lo, hi] when `opWidth` is 5) and pending branches.
   */
  nodes: { sleep: number[]; wut: SavedBranch[] }[];
  /** Numbers per operation in `nodes[].sleep` and `prefixEvents`: 5 (with slots); absent: 3. */
  opWidth?: 5;
  /** The branch the next execution takes at the branch point. */
  next: SavedBranch;
  /** How objects were numbered (branches name objects by these numbers). */
  ids: SavedIds;
  /** Cut check: violation keys already turned into counterexamples. */
  cutReported?: string[];
  /**
   * The prefix's events as operations (see opWidth; a parallel search resumes from them; the
   * sequential one replays the prefix instead).
   */
  prefixEvents?: number[];
  /**
   * A folded search's folding tables (ExploreOptions.checkpoint.withFolds): the loop-head states
   * open on the prefix and the finished ones, as the search holds them (opaque to anything but
   * dpor). A search resumed without them folds from empty tables: sound, but it explores more.
   */
  folds?: { open: unknown[]; done: Map<string, unknown[]>; bytes: number };
}

/** The object numbering of a search: per creator (setup, then each thread) the ids in creation order, and keyed ids. */
export interface SavedIds {
  count: number;
  byCreator: number[][];
  byKey: [string, number][];
  /**
   * Ids of the objects the invariant looks at (visibility is learnt as objects are created, and
   * branches may name objects the first executions after a resume do not create).
   */
  visible?: number[];
  /** The visibility scope of each of `visible` (Program.scopeOf), in the same order; absent: all "". */
  scopes?: string[];
}

export type ExplorationCheckpoint = ExhaustiveCheckpoint | DporCheckpoint;
