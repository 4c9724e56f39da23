// What every strategy reports: counts, violations (one per kind and id, with the schedule that
// shows it and the fewest preemptions seen), progress, and limits.

import type { Execution } from './execution.js';
import { hash64 } from './fingerprint.js';
import type {
  ExplorationCheckpoint,
  ExploreOptions,
  ExploreResult,
  Strategy,
  ViolationReport,
} from './program.js';
import { encodeSchedule, opsChecksum } from './schedule.js';

const PROGRESS_EVERY_MS = 200;

export class Collector {
  executions = 0;
  blocked = 0;
  deadlocks = 0;
  events = 0;
  maxDepth = 0;
  /** States checked at cuts (Program.observedOnly), -1 when the search does not check cuts. */
  cutStates = -1;
  complete = true;
  stopped = false;
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
  }

  /** Has the search hit a limit? (Then the strategy stops; `complete` says whether work was left.) */
  get exhausted(): boolean {
    return this.stopped || this.executions >= this.maxExecutions;
  }

  /** Records the violations an execution raised so far (call at its end, or at each step). */
  take<S>(ex: Execution<S>): void {
    for (const v of ex.violations) {
      const key = violationKey(v.kind, v.id, v.message);
      const pre = v.length > 0 ? ex.evPreempt[v.length - 1]! : 0;
      const old = this.found.get(key);
      if (old) {
        old.count = (old.count ?? 1) + 1;
        if ((old.preemptions ?? 0) <= pre) continue;
      }
      const report: ViolationReport = {
        kind: v.kind,
        id: v.id,
        message: v.message,
        schedule: encodeSchedule(ex.evThread, v.length, opsChecksum(ex.opStrings(v.length))),
        preemptions: pre,
        count: old?.count ?? 1,
      };
      if (v.thread !== undefined) report.thread = v.thread;
      if (v.stack !== undefined) report.stack = v.stack;
      this.found.set(key, report);
      if (this.options.stopAtFirst) this.stopped = true;
    }
    ex.violations.length = 0;
  }

  /** One finished execution. */
  executed<S>(ex: Execution<S>, deadlocked: boolean): void {
    this.executions++;
    if (this.options.coverage) this.seen.add(hash64(ex.evThread.subarray(0, ex.len).join(',')));
    if (deadlocked) this.deadlocks++;
    if (ex.len > this.maxDepth) this.maxDepth = ex.len;
    if (ex.stepLimitHit || ex.boundHit) this.complete = false;
    this.take(ex);
    this.tick(ex.len);
  }

  tick(depth: number): void {
    const cb = this.options.onProgress;
    if (!cb) return;
    const now = Date.now();
    if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
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
        ...(this.cutStates >= 0 ? { cutStates: this.cutStates } : {}),
      },
      found: [...this.found.entries()].map(([k, v]) => [k, { ...v }]),
    };
  }

  /** Continues from a checkpoint's counts and findings. */
  restore(c: Pick<ExplorationCheckpoint, 'counts' | 'found'>): void {
    Object.assign(this, c.counts);
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
      violations: this.violations,
      events: this.events,
      maxDepth: this.maxDepth,
      strategy: this.strategy,
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
