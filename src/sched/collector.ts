// What every strategy reports: counts, violations (one per kind and id, with the schedule that
// shows it and the fewest preemptions seen), progress, and limits.

import { heapFigures } from '../platform/heap.js';
import type { Execution } from './execution.js';
import { hash64 } from './fingerprint.js';
import type {
  ExplorationCheckpoint,
  ExploreOptions,
  ExploreResult,
  Incompleteness,
  IncompleteReason,
  Strategy,
  ViolationReport,
} from './program.js';
import { encodeSchedule, opsChecksum } from './schedule.js';

const PROGRESS_EVERY_MS = 200;
/** Executions between two looks at the heap (memoryGuard). */
const HEAP_EVERY = 64;
const DEFAULT_MEMORY_GUARD = 0.85;

/** Was the search stopped at the end of an execution (time, memory, interrupt), not inside one? */
export function atExecutionEnd(col: Collector): boolean {
  const r = col.stopReason?.reason;
  return r === 'timeLimit' || r === 'memory' || r === 'interrupted';
}

export class Collector {
  executions = 0;
  blocked = 0;
  /** Executions in which a thread was stopped going round a retry cycle (loop.ts). */
  cycles = 0;
  /** Executions ended at a folded state (ExploreOptions.foldStates). */
  folded = 0;
  /** Finished loop-head states forgotten to keep the folding table small (ExploreOptions.foldMemoryMiB). */
  foldForgotten = 0;
  deadlocks = 0;
  events = 0;
  maxDepth = 0;
  /** States checked at cuts (Program.observedOnly), -1 when the search does not check cuts. */
  cutStates = -1;
  complete = true;
  stopped = false;
  /** Why the search stopped before its end (stop()). */
  stopReason: Incompleteness | undefined = undefined;
  /** Every reason the search is incomplete: the first detail per reason, counts and schedules. */
  private readonly cuts = new Map<IncompleteReason, Incompleteness>();
  private heapCheckIn = HEAP_EVERY;
  private readonly heapLimit: number;
  /** When the time limit ends the search, and what follows it (minimising counterexamples): Date.now() time. */
  readonly deadline: number;
  /** What a search with an `accept` predicate found: the schedule's threads and checksum. */
  hit: { threads: Int32Array; checksum: string } | undefined = undefined;
  private readonly found = new Map<string, ViolationReport>();
  /** Fingerprints of the executions run (the `coverage` option). */
  private readonly seen = new Set<string>();
  private readonly started = Date.now();
  private lastProgress = Date.now();
  readonly maxExecutions: number;
  /** Set by a strategy that can estimate how much of its space is done (0..1). */
  estimate: (() => number) | undefined = undefined;

  constructor(
    readonly strategy: Strategy,
    readonly options: ExploreOptions,
    defaultMax = Number.POSITIVE_INFINITY,
  ) {
    this.maxExecutions = options.maxExecutions ?? defaultMax;
    const guard = options.memoryGuard ?? DEFAULT_MEMORY_GUARD;
    this.heapLimit = guard > 0 ? heapFigures().limit * guard : Number.POSITIVE_INFINITY;
    this.deadline =
      options.timeLimitMs !== undefined ? this.started + options.timeLimitMs : Number.POSITIVE_INFINITY;
  }

  /** Forgets stops and cuts (a parallel search's worker, between jobs). */
  restart(): void {
    this.stopped = false;
    this.stopReason = undefined;
    this.complete = true;
    this.cuts.clear();
  }

  /** The search is not complete, for this reason (the first detail given for a reason is kept). */
  cut(reason: IncompleteReason, detail: string): void {
    this.complete = false;
    if (!this.cuts.has(reason)) this.cuts.set(reason, { reason, detail });
  }

  /**
   * Adds what one or more executions cut short for `c.reason` contributed: `c.count` more
   * executions, and `c.schedule` as the first one's replay when none was kept yet (executions are
   * offered in the search's order, so the first kept is the search's first).
   */
  private cutCounted(c: Incompleteness): void {
    this.complete = false;
    const old = this.cuts.get(c.reason);
    if (!old) {
      this.cuts.set(c.reason, { ...c });
      return;
    }
    if (c.count !== undefined) old.count = (old.count ?? 0) + c.count;
    if (old.schedule === undefined && c.schedule !== undefined) old.schedule = c.schedule;
  }

  /** Stops the search (at the strategy's next check) for this reason. */
  stop(reason: IncompleteReason, detail: string): void {
    this.stopped = true;
    this.stopReason ??= { reason, detail };
  }

  /** The search stopped with work left: records why (stop()'s reason, else its own `accept`). */
  cutStopped(): void {
    const r = this.stopReason ?? {
      reason: 'stopAtFirst' as const,
      detail: 'stopped at what it searched for',
    };
    this.cut(r.reason, r.detail);
  }

  /** The search ran out of executions (or was stopped) with work left. */
  cutExhausted(): void {
    if (this.stopped) this.cutStopped();
    else this.cut('maxExecutions', `stopped after maxExecutions = ${this.maxExecutions} executions`);
  }

  /** The preemption bound kept a thread from running somewhere. */
  cutByBound(bound: number): void {
    this.cut('preemptionBound', `preemptionBound = ${bound} left out executions with more preemptions`);
  }

  /** Why the search is incomplete, in the order the reasons first came up. */
  incompleteness(): Incompleteness[] {
    return [...this.cuts.values()].map((c) => ({ ...c }));
  }

  /**
   * Records the reasons another collector found (a worker's, a subtree's, a checkpoint's): their
   * counts add up, the first schedule is kept.
   */
  cutAll(list: readonly Incompleteness[] | undefined): void {
    for (const c of list ?? []) this.cutCounted(c);
  }

  /** The execution just run was cut short by the step limit or a model bound: why, counted. */
  cutExecution<S>(ex: Execution<S>): void {
    const schedule = (): string => encodeSchedule(ex.evThread, ex.len, opsChecksum(ex.opStrings(ex.len)));
    if (ex.stepLimitHit)
      this.cutCounted({
        reason: 'maxSteps',
        detail: `an execution ran past maxSteps = ${ex.options.maxSteps} events (STEP_BOUND); what follows it was not explored`,
        count: 1,
        ...(this.cuts.get('maxSteps')?.schedule === undefined ? { schedule: schedule() } : {}),
      });
    if (ex.boundHit)
      this.cutCounted({
        reason: 'searchBound',
        detail: `a model bound stopped a thread: ${ex.boundMessage}`,
        count: 1,
        ...(this.cuts.get('searchBound')?.schedule === undefined ? { schedule: schedule() } : {}),
      });
  }

  /**
   * After each finished execution: the time limit, the memory guard and an interruption stop the
   * search here, where its frontier is consistent (a checkpoint saved now resumes it exactly).
   */
  private limits(): void {
    if (this.stopped) return;
    if (this.options.interrupted?.()) {
      this.stop('interrupted', `interrupted after ${this.executions} executions`);
      return;
    }
    if (Date.now() >= this.deadline) {
      this.stop('timeLimit', `stopped by the time limit of ${this.options.timeLimitMs} ms`);
      return;
    }
    if (--this.heapCheckIn > 0) return;
    this.heapCheckIn = HEAP_EVERY;
    // The heap's own figure: no system call, unlike process.memoryUsage() (which reads the RSS too).
    const heap = heapFigures();
    const used = heap.used;
    if (used >= this.heapLimit)
      this.stop(
        'memory',
        `the heap reached ${mib(used)} MiB of its ${mib(heap.limit)} MiB limit (memory guard at ${Math.round((this.options.memoryGuard ?? DEFAULT_MEMORY_GUARD) * 100)}%)`,
      );
  }

  /** Has the search hit a limit? (Then the strategy stops; `complete` says whether work was left.) */
  get exhausted(): boolean {
    return this.stopped || this.executions >= this.maxExecutions;
  }

  /** Records the violations an execution raised so far (call at its end, or at each step). */
  take<S>(ex: Execution<S>): void {
    for (const v of ex.violations) {
      const pre = v.length > 0 ? ex.evPreempt[v.length - 1]! : 0;
      this.offer(violationKey(v.kind, v.id, v.message), pre, () => {
        const report: ViolationReport = {
          kind: v.kind,
          id: v.id,
          message: v.message,
          schedule: encodeSchedule(ex.evThread, v.length, opsChecksum(ex.opStrings(v.length))),
          preemptions: pre,
          count: 1,
        };
        if (v.thread !== undefined) report.thread = v.thread;
        if (v.stack !== undefined) report.stack = v.stack;
        return report;
      });
    }
    ex.violations.length = 0;
  }

  /**
   * One occurrence of a violation (key, seen after `pre` preemptions): counted, and its report
   * (built only then) kept when it is the first of its key or needs fewer preemptions.
   */
  offer(key: string, pre: number, build: () => ViolationReport): void {
    const old = this.found.get(key);
    if (old) {
      old.count = (old.count ?? 1) + 1;
      if ((old.preemptions ?? 0) <= pre) return;
    }
    const report = build();
    report.count = old?.count ?? 1;
    this.found.set(key, report);
    if (
      this.options.stopAtFirst &&
      (this.options.stopWhen === undefined || this.options.stopWhen(this.violations))
    )
      this.stop(
        'stopAtFirst',
        this.options.stopWhen
          ? 'stopped once every expected violation was found'
          : 'stopped at the first violation',
      );
  }

  /** The report kept for a violation key, if any. */
  recorded(key: string): ViolationReport | undefined {
    return this.found.get(key);
  }

  /** Runs `report`, which reports the counterexample of the cut violation `key` (cuts.ts). */
  underCut(_key: string, report: () => void): void {
    report();
  }

  /** One finished execution. */
  executed<S>(ex: Execution<S>, deadlocked: boolean): void {
    if (ex.stepLimitHit || ex.boundHit) this.cutExecution(ex);
    this.counted(
      ex.len,
      deadlocked,
      ex.stepLimitHit || ex.boundHit,
      this.options.coverage ? hash64(ex.evThread.subarray(0, ex.len).join(',')) : undefined,
      ex.cycleHit,
    );
    this.take(ex);
    this.tick(ex.len);
  }

  /** The counts of one finished execution of `len` events (`cut`: stopped by a bound). */
  counted(
    len: number,
    deadlocked: boolean,
    cut: boolean,
    fingerprint: string | undefined,
    cycle = false,
  ): void {
    this.executions++;
    if (cycle) this.cycles++;
    if (fingerprint !== undefined) this.seen.add(fingerprint);
    if (deadlocked) this.deadlocks++;
    if (len > this.maxDepth) this.maxDepth = len;
    if (cut && this.cuts.size === 0) this.cut('maxSteps', 'an execution was cut short by a bound');
    this.limits();
  }

  tick(depth: number): void {
    const cb = this.options.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (now - this.lastProgress < (this.options.progressEveryMs ?? PROGRESS_EVERY_MS)) return;
    this.lastProgress = now;
    cb({
      ...(this.estimate ? { fractionDone: this.estimate() } : {}),
      executions: this.executions,
      events: this.events,
      depth,
      violations: this.found.size,
      elapsedMs: now - this.started,
    });
  }

  /** The counts and findings, for a checkpoint. */
  snapshot(): Pick<ExplorationCheckpoint, 'counts' | 'found'> {
    return {
      counts: {
        executions: this.executions,
        blocked: this.blocked,
        deadlocks: this.deadlocks,
        events: this.events,
        maxDepth: this.maxDepth,
        complete: this.complete,
        ...(this.cycles > 0 ? { cycles: this.cycles } : {}),
        ...(this.folded > 0 ? { folded: this.folded } : {}),
        ...(this.foldForgotten > 0 ? { foldForgotten: this.foldForgotten } : {}),
        ...(this.cuts.size > 0 ? { incomplete: this.incompleteness() } : {}),
        ...(this.cutStates >= 0 ? { cutStates: this.cutStates } : {}),
      },
      found: [...this.found.entries()].map(([k, v]) => [k, { ...v }]),
    };
  }

  /** Continues from a checkpoint's counts and findings. */
  restore(c: Pick<ExplorationCheckpoint, 'counts' | 'found'>): void {
    const { incomplete, ...counts } = c.counts;
    Object.assign(this, counts);
    this.cutAll(incomplete);
    for (const [k, v] of c.found) this.found.set(k, v);
  }

  addViolation(key: string, v: ViolationReport): void {
    if (!this.found.has(key)) this.found.set(key, v);
  }

  get violations(): ViolationReport[] {
    return [...this.found.values()];
  }

  result(): ExploreResult {
    return {
      executions: this.executions,
      blocked: this.blocked,
      deadlocks: this.deadlocks,
      complete: this.complete,
      incomplete: this.complete ? [] : this.incompleteness(),
      violations: this.violations,
      events: this.events,
      maxDepth: this.maxDepth,
      strategy: this.strategy,
      ...(this.cycles > 0 ? { cycles: this.cycles } : {}),
      ...(this.folded > 0 ? { folded: this.folded } : {}),
      ...(this.foldForgotten > 0 ? { foldForgotten: this.foldForgotten } : {}),
      ...(this.cutStates >= 0 ? { cutStates: this.cutStates } : {}),
      ...(this.options.coverage
        ? { coverage: { distinct: this.seen.size, fingerprints: [...this.seen] } }
        : {}),
    };
  }
}

/** Violations are the same when kind and id match (and, for generic ids, the message). */
export function violationKey(kind: string, id: string | undefined, message: string): string {
  const specific = kind === 'invariant' && id !== undefined && id !== 'INVARIANT';
  return `${kind}\0${id ?? ''}\0${specific ? '' : message}`;
}

function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
