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
  const lockdep = new Lockdep();
  return completeExploration(program, options, search(program, options, lockdep), lockdep);
}

/** The search a strategy makes, recording lock dependencies into `lockdep`. */
function search<S>(program: Program<S>, options: ExploreOptions, lockdep: Lockdep): Collector {
  checkOptions(options);
  const strategy = options.strategy ?? 'dpor';
  switch (strategy) {
    case 'dpor':
      return dpor(program, options, lockdep);
    case 'exhaustive':
      return exhaustive(program, options, lockdep);
    default:
      return randomized(program, options, lockdep, strategy);
  }
}

/** One lock dependency of a search's lock graph, as first made (explore's LockGraph). */
export interface LockDependency {
  /** Lock classes (a lockdep subclass as `class/N`) and how each was held or taken. */
  from: string;
  to: string;
  fromMode: string;
  toMode: string;
  /** The thread that took `to` while holding `from`, in the first execution that did. */
  thread: string;
  /** Where `from` was taken and where `to` was, in that execution (kernel function chains). */
  holdSite?: string;
  acquireSite?: string;
  /** The kernel functions active at each of the two acquisitions, outermost first. */
  holdStack?: string[];
  acquireStack?: string[];
  /** Replays that execution up to the acquisition (`vdm replay --schedule`); '' for a declared one. */
  schedule: string;
}

/** Every lock dependency a search saw, and the search's own result (`vdm lockdep`). */
export interface LockGraph {
  result: ExploreResult;
  /** Sorted by the two classes. */
  dependencies: LockDependency[];
  /** The graph's cycles (one shortest per strongly connected part; a self-loop is recursive locking), as dependencies in order. */
  cycles: LockDependency[][];
}

/**
 * Explores like explore() and keeps its lock graph: every edge "held -> taken" between lock classes
 * made in any execution (lockdep's graph over the whole search), each with the sites of its first
 * occurrence and a schedule that replays it. Cycles in it are the result's LOCK_ORDER violations.
 */
export function exploreLockGraph<S>(program: Program<S>, options: ExploreOptions = {}): LockGraph {
  const lockdep = new Lockdep();
  const result = completeExploration(program, options, search(program, options, lockdep), lockdep);
  const dependencies = lockdep
    .edges()
    .sort((a, b) => (a.from === b.from ? cmp(a.to, b.to) : cmp(a.from, b.from)))
    .map((e) => {
      const w = isDeclared(e) ? e : withSites(program, e, options.maxSteps);
      const d: LockDependency = {
        from: e.from,
        to: e.to,
        fromMode: e.fromMode,
        toMode: e.toMode,
        thread: e.thread,
        schedule: isDeclared(e)
          ? ''
          : encodeSchedule(e.schedule, e.schedule.length, checksumOf(program, e.schedule, options.maxSteps)),
      };
      if (w.holdSite) d.holdSite = w.holdSite;
      if (w.acquireSite) d.acquireSite = w.acquireSite;
      if (w.holdStack) d.holdStack = w.holdStack;
      if (w.acquireStack) d.acquireStack = w.acquireStack;
      return d;
    });
  const byEnds = new Map(dependencies.map((d) => [`${d.from}\0${d.to}`, d]));
  const cycles = lockdep.cycles().map((c) => c.edges.map((e) => byEnds.get(`${e.from}\0${e.to}`)!));
  return { result, dependencies, cycles };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
  declareChains(program, lockdep);
  // What follows the search runs within its time limit (and stops when it is interrupted).
  const limits: AfterSearch = { maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS, deadline: col.deadline };
  if (options.interrupted) limits.interrupted = options.interrupted;
  if (!(options.stopAtFirst && !options.stopWhen && col.violations.length > 0)) {
    for (const cycle of lockdep.cycles()) {
      // A cycle of declared dependencies alone is the rest of the kernel's, not this program's.
      if (cycle.edges.every(isDeclared)) continue;
      const edges = cycle.edges.map((e) => (isDeclared(e) ? e : withSites(program, e, options.maxSteps)));
      const message = describeCycle({ edges });
      col.addViolation(violationKey('lock-order', 'LOCK_ORDER', message), {
        kind: 'lock-order',
        id: 'LOCK_ORDER',
        message,
        schedule: cycleSchedule(program, edges, limits),
        count: 1,
      });
    }
  }
  const result = col.result();
  if (options.minimizePreemptions !== false)
    minimize(
      program,
      result.violations.filter((v) => v.kind !== 'lock-order'),
      limits,
    );
  return result;
}

/** The thread name of a dependency declared by Program.lockChains (made by no execution). */
const DECLARED = '(declared: lockChains)';

function isDeclared(e: Edge): boolean {
  return e.event < 0;
}

/** Adds the program's declared lock chains to lockdep's graph (edges made by no execution). */
function declareChains<S>(program: Program<S>, lockdep: Lockdep): void {
  for (const chain of program.lockChains ?? []) {
    for (let i = 0; i + 1 < chain.length; i++) {
      const from = chain[i]!;
      const to = chain[i + 1]!;
      if (lockdep.has(from, to)) continue;
      lockdep.add({
        from,
        to,
        fromMode: 'lock',
        toMode: 'lock',
        thread: DECLARED,
        event: -1,
        schedule: new Int32Array(0),
      });
    }
  }
}

/** The limits of the searches that follow a search: its step bound, its deadline, its interruption. */
interface AfterSearch {
  maxSteps: number;
  /** Date.now() time; POSITIVE_INFINITY without a time limit. */
  deadline: number;
  interrupted?: () => boolean;
}

/**
 * Options for one bounded search after the search, or undefined when the time is up (then the
 * report keeps what the search found).
 */
function boundedSearch(limits: AfterSearch, preemptionBound: number): ExploreOptions | undefined {
  const o: ExploreOptions = { preemptionBound, maxExecutions: MINIMIZE_BUDGET, maxSteps: limits.maxSteps };
  if (limits.deadline !== Number.POSITIVE_INFINITY) {
    const left = limits.deadline - Date.now();
    if (left <= 0) return undefined;
    o.timeLimitMs = left;
  }
  if (limits.interrupted) {
    if (limits.interrupted()) return undefined;
    o.interrupted = limits.interrupted;
  }
  return o;
}

/**
 * Looks for the same violations under rising preemption bounds, as CHESS does, within the search's
 * time limit: a violation takes the schedule of its first execution (in depth-first order) under
 * the lowest bound that shows it; when the time runs out it keeps the schedule the search found.
 * One bounded search per bound serves every violation still needing fewer preemptions than its
 * own, so a search that found many violations does not run the same bounded search for each.
 */
function minimize<S>(program: Program<S>, violations: ViolationReport[], limits: AfterSearch): void {
  const left = new Map<string, ViolationReport>();
  for (const v of violations)
    if ((v.preemptions ?? 0) > 0) left.set(violationKey(v.kind, v.id, v.message), v);
  for (let b = 0; left.size > 0; b++) {
    // Only those found with more than b preemptions: a schedule with b would have fewer.
    for (const [k, v] of left) if ((v.preemptions ?? 0) <= b) left.delete(k);
    if (left.size === 0) return;
    const o = boundedSearch(limits, b);
    if (o === undefined) return;
    exhaustive(program, o, new Lockdep(), (ex) => {
      for (const r of ex.violations) {
        const key = violationKey(r.kind, r.id, r.message);
        const v = left.get(key);
        if (!v) continue;
        v.schedule = encodeSchedule(ex.evThread, r.length, opsChecksum(ex.opStrings(r.length)));
        v.preemptions = b;
        left.delete(key);
      }
      // Ends the search once every violation it looked for has its schedule.
      return left.size === 0 ? ex.len : -1;
    });
  }
}

/**
 * A schedule for a lock-order cycle: one execution that makes every edge of it, when a bounded
 * search finds one (then replaying it shows the cycle); else the execution of the edge found last.
 */
function cycleSchedule<S>(program: Program<S>, all: Edge[], limits: AfterSearch): string {
  const edges = all.filter((e) => !isDeclared(e));
  const ld = new Lockdep();
  for (let b = 0; b <= 2; b++) {
    const o = boundedSearch(limits, b);
    if (o === undefined) break;
    const col = exhaustive(
      program,
      o,
      ld,
      (ex) => (edges.every((e) => ld.has(e.from, e.to)) ? ex.len : -1),
      () => ld.clear(),
    );
    if (col.hit) return encodeSchedule(col.hit.threads, col.hit.threads.length, col.hit.checksum);
  }
  const last = edges.reduce((a, e) => (e.schedule.length > a.schedule.length ? e : a));
  return encodeSchedule(
    last.schedule,
    last.schedule.length,
    checksumOf(program, last.schedule, limits.maxSteps),
  );
}

/** Runs a schedule with sites captured, to fill in where an edge's two locks were taken. */
function withSites<S>(program: Program<S>, e: Edge, maxSteps?: number): Edge {
  const ld = new Lockdep();
  const ex = runSchedule(program, e.schedule, { lockdep: ld, captureSites: true, maxSteps });
  if (ex.isOver() && ex.len === e.schedule.length) ex.finish();
  const found = ld.get(e.from, e.to);
  if (!found) return e;
  const w: Edge = { ...e };
  if (found.holdSite) w.holdSite = found.holdSite;
  if (found.acquireSite) w.acquireSite = found.acquireSite;
  if (found.holdStack) w.holdStack = found.holdStack;
  if (found.acquireStack) w.acquireStack = found.acquireStack;
  return w;
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
 * Replays one execution event for event, with the program's declared lock chains in its lockdep
 * graph. A schedule that does not fit the program (a thread that
 * cannot run at its turn, or a checksum that differs: the model behaved differently) is reported as
 * an `error` violation with id REPLAY_MISMATCH.
 */
export function replay<S>(
  program: Program<S>,
  schedule: string,
  /** `trace: false`: no sites, stacks or trace (the state and the violations only, at search speed). */
  o: { trace?: boolean } = {},
): ReplayResult<S> {
  const decoded = decodeSchedule(schedule);
  const replayLockdep = new Lockdep();
  const trace = o.trace !== false;
  const ex = new Execution(program, {
    clocks: false,
    lockdep: replayLockdep,
    maxSteps: Math.max(DEFAULT_MAX_STEPS, decoded.threads.length + 1),
    captureSites: trace,
    recordTrace: trace,
  });
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
  ex.begin();
  // What the state after the setup already breaks (a schedule of no events replays exactly that).
  collect();
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
  // The program's declared chains (lockChains) count here as in the search, so that the replay of
  // a LOCK_ORDER counterexample shows the cycle it closes; a cycle of declared edges alone is not
  // the program's.
  declareChains(program, replayLockdep);
  for (const cycle of replayLockdep.cycles()) {
    if (cycle.edges.every(isDeclared)) continue;
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
  if (ex.boundHit) out.bound = ex.boundMessage;
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
