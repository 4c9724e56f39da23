// explore() and replay(): the sched contract's entry points.

import { type Collector, violationKey } from './collector.js';
import { dpor } from './dpor.js';
import { Execution } from './execution.js';
import { exhaustive } from './exhaustive.js';
import { describeCycle, type Edge, Lockdep } from './lockdep.js';
import type { ExploreOptions, ExploreResult, Program, ReplayResult, ViolationReport } from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';
import { randomized } from './randomized.js';
import { decodeSchedule, encodeSchedule, opsChecksum } from './schedule.js';

const STRATEGIES = ['dpor', 'exhaustive', 'random', 'pct'] as const;
/** Executions tried per preemption bound when looking for a simpler counterexample. */
const MINIMIZE_BUDGET = 2000;

export function explore<S>(program: Program<S>, options: ExploreOptions = {}): ExploreResult {
  checkOptions(options);
  const strategy = options.strategy ?? 'dpor';
  const lockdep = new Lockdep();
  let col: Collector;
  switch (strategy) {
    case 'dpor':
      col = dpor(program, options, lockdep);
      break;
    case 'exhaustive':
      col = exhaustive(program, options, lockdep);
      break;
    default:
      col = randomized(program, options, lockdep, strategy);
  }
  return completeExploration(program, options, col, lockdep);
}

/**
 * The end of every search: lock-order cycles from lockdep's graph become violations (with a
 * schedule that shows them), and counterexamples are searched again for fewer preemptions.
 */
export function completeExploration<S>(
  program: Program<S>,
  options: ExploreOptions,
  col: Collector,
  lockdep: Lockdep,
): ExploreResult {
  if (!(options.stopAtFirst && !options.stopWhen && col.violations.length > 0)) {
    for (const cycle of lockdep.cycles()) {
      const edges = cycle.edges.map((e) => withSites(program, e, options.maxSteps));
      const message = describeCycle({ edges });
      col.addViolation(violationKey('lock-order', 'LOCK_ORDER', message), {
        kind: 'lock-order',
        id: 'LOCK_ORDER',
        message,
        schedule: cycleSchedule(program, edges, options.maxSteps),
        count: 1,
      });
    }
  }
  const result = col.result();
  if (options.minimizePreemptions !== false) {
    for (const v of result.violations) if (v.kind !== 'lock-order') minimize(program, v, options);
  }
  return result;
}

/** Looks for the same violation under rising preemption bounds, as CHESS does. */
function minimize<S>(program: Program<S>, v: ViolationReport, options: ExploreOptions): void {
  const target = violationKey(v.kind, v.id, v.message);
  for (let b = 0; b < (v.preemptions ?? 0); b++) {
    const col = exhaustive(
      program,
      { preemptionBound: b, maxExecutions: MINIMIZE_BUDGET, maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS },
      new Lockdep(),
      (ex) => {
        for (const r of ex.violations) if (violationKey(r.kind, r.id, r.message) === target) return r.length;
        return -1;
      },
    );
    if (col.hit) {
      v.schedule = encodeSchedule(col.hit.threads, col.hit.threads.length, col.hit.checksum);
      v.preemptions = b;
      return;
    }
  }
}

/**
 * A schedule for a lock-order cycle: one execution that makes every edge of it, when a bounded
 * search finds one (then replaying it shows the cycle); else the execution of the edge found last.
 */
function cycleSchedule<S>(program: Program<S>, edges: Edge[], maxSteps?: number): string {
  const ld = new Lockdep();
  for (let b = 0; b <= 2; b++) {
    const col = exhaustive(
      program,
      { preemptionBound: b, maxExecutions: MINIMIZE_BUDGET, maxSteps: maxSteps ?? DEFAULT_MAX_STEPS },
      ld,
      (ex) => (edges.every((e) => ld.has(e.from, e.to)) ? ex.len : -1),
      () => ld.clear(),
    );
    if (col.hit) return encodeSchedule(col.hit.threads, col.hit.threads.length, col.hit.checksum);
  }
  const last = edges.reduce((a, e) => (e.schedule.length > a.schedule.length ? e : a));
  return encodeSchedule(last.schedule, last.schedule.length, checksumOf(program, last.schedule, maxSteps));
}

/** Runs a schedule with sites captured, to fill in where an edge's two locks were taken. */
function withSites<S>(program: Program<S>, e: Edge, maxSteps?: number): Edge {
  const ld = new Lockdep();
  const ex = runSchedule(program, e.schedule, { lockdep: ld, captureSites: true, maxSteps });
  if (ex.isOver() && ex.len === e.schedule.length) ex.finish();
  const found = ld.get(e.from, e.to);
  return found ? { ...e, holdSite: found.holdSite, acquireSite: found.acquireSite } : e;
}

function checksumOf<S>(program: Program<S>, threads: ArrayLike<number>, maxSteps?: number): string {
  const ex = runSchedule(program, threads, { maxSteps });
  return opsChecksum(ex.opStrings());
}

interface RunOptions {
  lockdep?: Lockdep;
  captureSites?: boolean;
  recordTrace?: boolean;
  maxSteps?: number | undefined;
}

/** Runs the given threads in order; stops early at a thread that cannot run. */
function runSchedule<S>(program: Program<S>, threads: ArrayLike<number>, o: RunOptions): Execution<S> {
  const ex = new Execution(program, {
    clocks: false,
    lockdep: o.lockdep ?? null,
    maxSteps: o.maxSteps ?? DEFAULT_MAX_STEPS,
    captureSites: o.captureSites ?? false,
    recordTrace: o.recordTrace ?? false,
  });
  ex.begin();
  for (let i = 0; i < threads.length; i++) {
    const t = threads[i]!;
    if (t >= ex.n || !ex.enabled(t)) break;
    ex.step(t);
  }
  return ex;
}

/**
 * Replays one execution event for event. A schedule that does not fit the program (a thread that
 * cannot run at its turn, or a checksum that differs: the model behaved differently) is reported as
 * an `error` violation with id REPLAY_MISMATCH.
 */
export function replay<S>(program: Program<S>, schedule: string): ReplayResult<S> {
  const decoded = decodeSchedule(schedule);
  const replayLockdep = new Lockdep();
  const ex = new Execution(program, {
    clocks: false,
    lockdep: replayLockdep,
    maxSteps: Math.max(DEFAULT_MAX_STEPS, decoded.threads.length + 1),
    captureSites: true,
    recordTrace: true,
  });
  ex.begin();
  const reports: ViolationReport[] = [];
  const collect = (): void => {
    for (const r of ex.violations) {
      const v: ViolationReport = {
        kind: r.kind,
        id: r.id,
        message: r.message,
        schedule: encodeSchedule(ex.evThread, r.length),
      };
      if (r.thread !== undefined) v.thread = r.thread;
      if (r.stack !== undefined) v.stack = r.stack;
      reports.push(v);
    }
    ex.violations.length = 0;
  };
  let mismatch: string | undefined;
  for (let i = 0; i < decoded.threads.length; i++) {
    const t = decoded.threads[i]!;
    if (t >= ex.n) {
      mismatch = `event ${i}: the program has no thread number ${t} (it has ${ex.n})`;
      break;
    }
    if (!ex.enabled(t)) {
      const why = ex.status[t] !== 0 ? 'has already returned' : `is blocked in ${ex.pendingOp(t)}`;
      mismatch = `event ${i}: thread ${ex.names[t]} cannot run here: it ${why}`;
      break;
    }
    ex.step(t);
    collect();
  }
  if (!mismatch && decoded.checksum && opsChecksum(ex.opStrings()) !== decoded.checksum) {
    mismatch = `the replayed operations differ from the recorded run (checksum ${opsChecksum(ex.opStrings())}, expected ${decoded.checksum}): the model is not deterministic, or it changed`;
  }
  if (!mismatch && ex.isOver()) {
    ex.finish();
    collect();
  }
  for (const cycle of replayLockdep.cycles()) {
    reports.push({
      kind: 'lock-order',
      id: 'LOCK_ORDER',
      message: describeCycle(cycle),
      schedule: encodeSchedule(ex.evThread, ex.len),
    });
  }
  if (mismatch) {
    reports.push({
      kind: 'error',
      id: 'REPLAY_MISMATCH',
      message: mismatch,
      schedule: encodeSchedule(ex.evThread, ex.len),
    });
  }
  const atEnd = reports.filter((r) => decodeSchedule(r.schedule).threads.length === ex.len);
  const events = atEnd.filter((r) => r.kind !== 'lock-order');
  const violation = events[events.length - 1] ?? atEnd[0] ?? reports[0];
  const out: ReplayResult<S> = { state: ex.state, trace: ex.trace, violations: reports };
  if (violation) out.violation = violation;
  return out;
}

function checkOptions(o: ExploreOptions): void {
  if (o.strategy !== undefined && !STRATEGIES.includes(o.strategy)) {
    throw new TypeError(`unknown strategy "${o.strategy}": expected one of ${STRATEGIES.join(', ')}`);
  }
  const s = o.strategy ?? 'dpor';
  if ((o.checkpoint || o.resume) && s !== 'exhaustive' && s !== 'dpor') {
    throw new TypeError('checkpoint and resume need strategy "dpor" or "exhaustive"');
  }
  if (o.resume && o.resume.strategy !== s) {
    throw new TypeError(`cannot resume a ${o.resume.strategy} checkpoint with strategy "${s}"`);
  }
  if (o.stateCache && (o.strategy ?? 'dpor') !== 'exhaustive') {
    throw new TypeError('option stateCache needs strategy "exhaustive"');
  }
  for (const k of ['preemptionBound', 'maxExecutions', 'maxSteps', 'seed', 'pctDepth'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
      throw new TypeError(`option ${k} must be a non-negative integer, got ${String(v)}`);
    }
  }
}

/**
 * The schedule of the plainest execution: the running thread goes on while it can, then the
 * lowest-numbered enabled thread takes over (threads run one after another, as written).
 */
export function defaultSchedule<S>(program: Program<S>, maxSteps = DEFAULT_MAX_STEPS): string {
  const ex = new Execution(program, { clocks: false, maxSteps, lockdep: null });
  ex.begin();
  let t = 0;
  while (!ex.isOver() && ex.len < maxSteps) {
    if (!ex.enabled(t)) {
      let u = 0;
      while (u < ex.n && !ex.enabled(u)) u++;
      if (u === ex.n) break;
      t = u;
    }
    ex.step(t);
  }
  return encodeSchedule(ex.evThread, ex.len, opsChecksum(ex.opStrings()));
}
