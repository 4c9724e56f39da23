// Running a scenario: explore it on a design and judge the result against its `expect`
// (checkScenario), on every design (compareScenario), one execution (runScenario), and one
// schedule replayed with everything a report shows (recordScenario).

import { DESIGN_NAMES, type Design, type DesignName, designOf } from '../designs/design.js';
import type { RunRecord, TraceStep } from '../report/record.js';
import type { CheckReport, CheckViolation, CompareReport, CompareResult } from '../report/results.js';
import { defaultSchedule, explore, replay } from '../sched/explore.js';
import type { ExploreOptions, ExploreResult, Progress, ViolationReport } from '../sched/program.js';
import { decodeSchedule } from '../sched/schedule.js';
import { argsText, scenarioDesign, scenarioProgram, type World } from './program.js';
import { memoryMap } from './recorder.js';
import type { Scenario } from './resolve.js';
import { ALL_IDS } from './schema.js';

export interface CheckOptions {
  design?: Design;
  strategy?: ExploreOptions['strategy'];
  maxExecutions?: number;
  preemptionBound?: number;
  seed?: number;
  /** dpor: lazy locks (default: the scenario's `check.lazyLocks`, else on). */
  lazyLocks?: boolean;
  /** dpor: state folding (default: the scenario's `check.foldStates`, else foldsByDefault(design)). */
  foldStates?: boolean;
  /** Stop once every expected violation is found (none expected: at the first). Default: `check.stopAtFirst`. */
  stopAtFirst?: boolean;
  /** Stop after this many ms (default: `check.timeLimit`). */
  timeLimitMs?: number;
  /** The heap fraction at which the search stops (ExploreOptions.memoryGuard). */
  memoryGuard?: number;
  /** Stop at the end of the current execution once this is true (Ctrl-C). */
  interrupted?: () => boolean;
  onProgress?: (p: Progress) => void;
  /** Save the frontier (exhaustive) every so often / continue from one. */
  checkpoint?: ExploreOptions['checkpoint'];
  resume?: ExploreOptions['resume'];
}

/** The id a violation is reported under: the invariant's, or the explorer's own. */
export function violationId(v: ViolationReport): string {
  if (v.id === 'EXPECT') return 'EXPECT';
  switch (v.kind) {
    case 'deadlock':
      return 'DEADLOCK';
    case 'lock-order':
      return 'LOCK_ORDER';
    case 'error':
      return 'ERROR';
    default:
      return v.id ?? 'ERROR';
  }
}

/**
 * Whether a check folds states (docs/explorer.md "State folding") when neither the caller nor the
 * file says: on the vma_list designs (v5.8 to v6.9), where a fault and the zap loop take turns and
 * the same loop-head states come back execution after execution, folding ends searches that
 * otherwise run for minutes; elsewhere it mostly costs executions, so it is off.
 */
export function foldsByDefault(design: Design): boolean {
  return design.options.mmapScheme === 'vma-list';
}

function exploreOptions(sc: Scenario, o: CheckOptions, design: Design): ExploreOptions {
  const c = sc.check;
  const e: ExploreOptions = {};
  const strategy = o.strategy ?? c.strategy;
  if (strategy) e.strategy = strategy;
  const max = o.maxExecutions ?? c.maxExecutions;
  if (max !== undefined) e.maxExecutions = max;
  const pb = o.preemptionBound ?? c.preemptionBound;
  if (pb !== undefined) e.preemptionBound = pb;
  const seed = o.seed ?? c.seed;
  if (seed !== undefined) e.seed = seed;
  if (c.maxSteps !== undefined) e.maxSteps = c.maxSteps;
  e.lazyLocks = o.lazyLocks ?? c.lazyLocks ?? true;
  if (o.foldStates ?? c.foldStates ?? foldsByDefault(design)) e.foldStates = true;
  if (o.stopAtFirst ?? c.stopAtFirst) {
    e.stopAtFirst = true;
    const want = expectedOn(sc, o.design?.name ?? sc.design.name);
    // Lock-order cycles are found from lockdep's graph at the end: not something to wait for.
    const during = want.filter((id) => id !== 'LOCK_ORDER');
    if (want.length > 0)
      e.stopWhen = (found) => during.every((id) => found.some((v) => violationId(v) === id));
  }
  const limit = o.timeLimitMs ?? (c.timeLimit !== undefined ? durationMs(c.timeLimit) : undefined);
  if (limit !== undefined) e.timeLimitMs = limit;
  if (o.memoryGuard !== undefined) e.memoryGuard = o.memoryGuard;
  if (o.interrupted) e.interrupted = o.interrupted;
  if (o.onProgress) e.onProgress = o.onProgress;
  if (o.checkpoint) e.checkpoint = o.checkpoint;
  if (o.resume) e.resume = o.resume;
  return e;
}

/** A duration from a scenario or the command line: milliseconds, or a number with ms, s, m or h. */
export function durationMs(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d.trim());
  if (!m) throw new RangeError(`not a duration: ${d} (say 500ms, 30s, 2m or 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * What a design is expected to show: its entry in `expect.designs` when the scenario has one, else
 * `expect.violations`.
 */
export function expectedOn(sc: Scenario, design: string | undefined): readonly string[] {
  const own = design === undefined ? undefined : sc.expect.designs?.[design as DesignName];
  return own ?? sc.expect.violations;
}

/**
 * The verdict on `expect` for a design: every expected id found; none other (when `exactly`, or
 * when none is expected).
 */
export function judge(
  sc: Scenario,
  found: readonly string[],
  design?: string,
): { verdict: 'pass' | 'fail'; reasons: string[] } {
  const reasons: string[] = [];
  const want = expectedOn(sc, design);
  for (const id of want) if (!found.includes(id)) reasons.push(`expected ${id}, not found`);
  if (want.length === 0 || sc.expect.exactly) {
    for (const id of found) if (!want.includes(id)) reasons.push(`found ${id}, not expected`);
  }
  return { verdict: reasons.length === 0 ? 'pass' : 'fail', reasons };
}

function toCheckViolation(v: ViolationReport): CheckViolation {
  const c: CheckViolation = {
    invariant: violationId(v),
    message: v.message,
    schedule: v.schedule,
    kind: v.id === 'EXPECT' ? 'expect' : v.kind,
    count: v.count ?? 1,
    preemptions: v.preemptions ?? 0,
  };
  if (v.thread !== undefined) c.thread = v.thread;
  return c;
}

function distinctIds(r: ExploreResult): string[] {
  return [...new Set(r.violations.map(violationId))];
}

export function checkScenario(sc: Scenario, o: CheckOptions = {}): CheckReport {
  const design = scenarioDesign(sc, o.design ? { design: o.design } : {});
  const started = Date.now();
  const r = explore(scenarioProgram(sc, { design }), exploreOptions(sc, o, design));
  return checkReportOf(sc, design, r, Date.now() - started);
}

/**
 * Setup operations that returned something other than `ok` without an `expect:` (CheckReport
 * warnings): setup is the same in every execution, so one run of the default schedule shows them
 * whichever way (workers, queue, swarm) the search itself ran.
 */
export function setupWarnings(sc: Scenario, design: Design): string[] {
  const program = scenarioProgram(sc, { design });
  defaultSchedule(program, sc.check.maxSteps);
  return [...program.setupWarnings];
}

/** The explore options a check uses (the scenario's `check:` block, overridden by `o`). */
export function checkExploreOptions(sc: Scenario, o: CheckOptions = {}): ExploreOptions {
  return exploreOptions(sc, o, scenarioDesign(sc, o.design ? { design: o.design } : {}));
}

/** The CLI contract's report of an exploration of `sc` on `design`. */
export function checkReportOf(
  sc: Scenario,
  design: Design,
  r: ExploreResult,
  elapsedMs: number,
): CheckReport {
  const { verdict, reasons } = judge(sc, distinctIds(r), design.name);
  const warnings = setupWarnings(sc, design);
  return {
    scenario: sc.name,
    design: design.name,
    verdict,
    executions: r.executions,
    complete: r.complete,
    violations: r.violations.map(toCheckViolation),
    incomplete: r.incomplete ?? [],
    file: sc.file,
    designOptions: { ...design.options },
    strategy: r.strategy,
    blocked: r.blocked,
    deadlocks: r.deadlocks,
    events: r.events,
    maxDepth: r.maxDepth,
    elapsedMs,
    expected: [...expectedOn(sc, design.name)],
    reasons,
    ...(r.cycles ? { cycles: r.cycles } : {}),
    ...(r.folded ? { folded: r.folded } : {}),
    ...(r.foldForgotten ? { foldForgotten: r.foldForgotten } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

/**
 * Executions per design in `compare` when neither the command line nor the scenario's `check`
 * sets a limit: one design's space can be far larger than another's (the vma_list era populates
 * whole VMAs under several locks), and a matrix should arrive in seconds; a capped cell is
 * reported incomplete.
 */
export const COMPARE_DEFAULT_MAX_EXECUTIONS = 20000;

/** Options of a comparison (compareScenario, compareDesign). */
export type CompareOptions = Omit<CheckOptions, 'design'> & {
  designs?: readonly string[];
  onDesign?: (name: string) => void;
  /** The per-design cap when neither the caller nor the file sets one (COMPARE_DEFAULT_MAX_EXECUTIONS). */
  defaultCap?: number;
};

/** One row of a comparison: its label (the design's name, or the file's own design with its options) and design. */
export interface CompareRun {
  label: string;
  design: Design;
}

/**
 * The rows a comparison explores, in order: first the file's own design with its options when the
 * file sets any, then every design (or `designs`) with its defaults.
 */
export function compareRuns(sc: Scenario, designs?: readonly string[]): CompareRun[] {
  const runs: CompareRun[] = (designs ?? DESIGN_NAMES).map((name) => ({
    label: name,
    design: designOf(name),
  }));
  if (Object.keys(sc.design.options).length > 0) {
    const own = designOf(sc.design.name, sc.design.options);
    const opts = Object.entries(sc.design.options)
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(', ');
    runs.unshift({ label: `${own.name} {${opts}}`, design: own });
  }
  return runs;
}

/** Designs whose searches usually take longest, longest first (compareOrder starts them first). */
const HEAVY_FIRST: readonly string[] = ['v5.8', 'dmabuf-backed', 'v6.9', 'v5.13', 'shared-base'];

/**
 * The order in which a comparison on several threads starts its rows (indices into `runs`): the
 * designs whose searches are usually the longest first (the example manifest's largest totals:
 * dmabuf-backed, and the vma_list designs, whose retry loops make executions long), so that a long
 * one does not start last and run alone; the others in row order. The report keeps row order.
 */
export function compareOrder(runs: readonly CompareRun[]): number[] {
  const rank = (r: CompareRun): number => {
    const w = HEAVY_FIRST.indexOf(r.design.name);
    return w < 0 ? HEAVY_FIRST.length : w;
  };
  return runs
    .map((r, i) => ({ i, w: rank(r) }))
    .sort((a, b) => a.w - b.w || a.i - b.i)
    .map((x) => x.i);
}

/** One row of a comparison: the scenario explored on the run's design (compareScenario's rows). */
export function compareDesign(sc: Scenario, run: CompareRun, o: CompareOptions = {}): CompareResult {
  const cap = o.defaultCap ?? COMPARE_DEFAULT_MAX_EXECUTIONS;
  const { label: name, design } = run;
  const started = Date.now();
  const eo = exploreOptions(sc, o, design);
  const defaultCap = eo.maxExecutions === undefined;
  eo.maxExecutions ??= cap;
  const r = explore(scenarioProgram(sc, { design }), eo);
  const cutByCap =
    defaultCap && !r.complete && (r.incomplete ?? []).some((i) => i.reason === 'maxExecutions');
  const ids = distinctIds(r);
  const counts: Record<string, number> = {};
  const shortest: CompareResult['shortest'] = {};
  for (const v of r.violations) {
    const id = violationId(v);
    counts[id] = (counts[id] ?? 0) + (v.count ?? 1);
    const events = decodeSchedule(v.schedule).threads.length;
    const old = shortest[id];
    if (!old || events < old.events) shortest[id] = { schedule: v.schedule, events, message: v.message };
  }
  return {
    design: name,
    executions: r.executions,
    complete: r.complete,
    violations: ids,
    incomplete: r.incomplete ?? [],
    counts,
    shortest,
    verdict: judge(sc, ids, design.name).verdict,
    elapsedMs: Date.now() - started,
    ...(cutByCap ? { cappedAt: cap } : {}),
  };
}

/**
 * The report of a comparison from its rows' results, in `runs` order (`results[i]` is `runs[i]`'s,
 * undefined for a row not explored) and the labels of the rows not explored (interrupted).
 */
export function compareReport(
  sc: Scenario,
  runs: readonly CompareRun[],
  results: readonly (CompareResult | undefined)[],
  notExplored: readonly string[] = [],
): CompareReport {
  const done: CompareResult[] = [];
  let own: CompareResult | undefined;
  const hasOwn = runs.length > 0 && Object.keys(sc.design.options).length > 0;
  for (let i = 0; i < runs.length; i++) {
    const r = results[i];
    if (r === undefined) continue;
    if (hasOwn && i === 0) own = r;
    else done.push(r);
  }
  const seen = new Set([...(own ? [own] : []), ...done].flatMap((r) => r.violations));
  const invariants = ALL_IDS.filter((id) => seen.has(id) || isInvariant(id));
  const stopped = notExplored.length > 0 ? { notExplored: [...notExplored] } : {};
  return { scenario: sc.name, results: done, ...(own ? { own } : {}), invariants, ...stopped };
}

/** The scenario on every design, each with its default options, one after the other. */
export function compareScenario(sc: Scenario, o: CompareOptions = {}): CompareReport {
  const runs = compareRuns(sc, o.designs);
  const results: (CompareResult | undefined)[] = [];
  const notExplored: string[] = [];
  for (const run of runs) {
    if (o.interrupted?.()) {
      notExplored.push(run.label);
      results.push(undefined);
      continue;
    }
    o.onDesign?.(run.label);
    results.push(compareDesign(sc, run, o));
  }
  return compareReport(sc, runs, results, notExplored);
}

const isInvariant = (id: string): boolean => !['DEADLOCK', 'LOCK_ORDER', 'ERROR', 'EXPECT'].includes(id);

/**
 * One execution: each thread runs as far as it can before the next one starts (the explorer's
 * first schedule), with its trace recorded. This is `vdm run`.
 */
export function runScenario(sc: Scenario, o: { design?: Design } = {}): RunRecord {
  const design = scenarioDesign(sc, o);
  const schedule = defaultSchedule(scenarioProgram(sc, { design }), sc.check.maxSteps);
  return recordScenario(sc, schedule, { design });
}

/** Replays `schedule` with marks, stacks and the final memory map: what every report renders. */
export function recordScenario(sc: Scenario, schedule: string, o: { design?: Design } = {}): RunRecord {
  const design = scenarioDesign(sc, o);
  const rep = replay(scenarioProgram(sc, { design, record: true }), schedule);
  const w: World = rep.state;
  const marks = w.marks ?? [];
  // The op frame of each step: the thread's op-begin mark in force at that event.
  const current = new Map<string, string>();
  const opMarks = marks.filter((m) => m.kind === 'op-begin' || m.kind === 'op-end');
  let mi = 0;
  const steps: TraceStep[] = rep.trace.map((e, index) => {
    while (mi < opMarks.length && opMarks[mi]!.after <= index) {
      const m = opMarks[mi++]!;
      if (m.thread === undefined) continue;
      if (m.kind === 'op-begin') current.set(m.thread, `op:${m.data.op}`);
      else current.delete(m.thread);
    }
    const op = current.get(e.thread);
    const step: TraceStep = {
      index,
      thread: e.thread,
      op: e.op,
      object: e.object,
      stack: [...(op ? [op] : []), ...(e.stack ?? [])],
    };
    if (e.result !== undefined) step.result = e.result;
    if (e.site !== undefined) step.site = e.site;
    if (e.slots !== undefined) step.slots = e.slots;
    return step;
  });
  for (const v of rep.violations) {
    marks.push({
      after: decodeSchedule(v.schedule).threads.length,
      ...(v.thread !== undefined ? { thread: v.thread } : {}),
      kind: 'violation',
      text: `${violationId(v)}: ${v.message}`,
      data: { kind: v.kind, id: violationId(v) },
    });
  }
  marks.sort((a, b) => a.after - b.after);
  const mismatch = rep.violations.find((v) => v.id === 'REPLAY_MISMATCH');
  return {
    ...(mismatch ? { replayError: mismatch.message } : {}),
    scenario: { name: sc.name, file: sc.file, source: sc.source },
    design: { name: design.name, options: { ...design.options } },
    schedule,
    steps,
    marks,
    memory: memoryMap(w, w.recorder?.zapped ?? []),
    violations: rep.violations.map((v) => ({
      kind: v.id === 'EXPECT' ? 'expect' : v.kind,
      id: violationId(v),
      message: v.message,
      ...(v.thread !== undefined ? { thread: v.thread } : {}),
    })),
    ...(rep.bound !== undefined ? { bound: rep.bound } : {}),
  };
}

export { argsText };
