// One cell of the kernel-scenario bench (bench/kernel.ts): one scenario file on one design, explored
// completely with dpor, in a process of its own. Loads the project from a dist/ directory given on
// the command line (so an older build can be measured with this script) and prints JSON lines to
// stdout: `start` when the search begins, `progress` at most every 500 ms, then `done` (or `error`).
// The parent kills this process at its time limit and keeps the last progress line.
//
//   node kernel-cell.js DIST SCENARIO.yaml DESIGN

import { pathToFileURL } from 'node:url';

/** What the cell needs of the project, as any build since 2026-12-04 exports it. */
interface Violation {
  kind: string;
  id?: string;
}
interface Progress {
  executions: number;
  events: number;
  violations: number;
  elapsedMs: number;
}
interface Result {
  executions: number;
  events: number;
  complete: boolean;
  violations: Violation[];
}
interface ScenarioLike {
  check: { preemptionBound?: number; maxSteps?: number };
}
interface Modules {
  /** The options `vdm check` explores a scenario with (its `check:` block; lazy locks where the build has them). */
  checkExploreOptions(sc: ScenarioLike, o?: { design?: unknown }): Record<string, unknown>;
  loadScenarioFile(file: string): ScenarioLike;
  scenarioProgram(sc: ScenarioLike, o: { design: unknown }): unknown;
  explore(program: unknown, options: Record<string, unknown>): Result;
  designOf(name: string): unknown;
}

export type CellLine =
  | { type: 'start' }
  | {
      type: 'progress';
      executions: number;
      events: number;
      ms: number;
      firstViolationMs: number | null;
      peakRssMiB: number;
      /** Distinct violations found so far. */
      violations: number;
    }
  | {
      type: 'done';
      executions: number;
      events: number;
      complete: boolean;
      ms: number;
      firstViolationMs: number | null;
      peakRssMiB: number;
      violations: string[];
    }
  | { type: 'error'; phase: 'load' | 'explore'; message: string };

const PRINT_EVERY_MS = 500;
const SAMPLE_EVERY_MS = 100;

const print = (l: CellLine): void => {
  process.stdout.write(`${JSON.stringify(l)}\n`);
};

const MiB = (bytes: number): number => bytes / 2 ** 20;

/** The id a violation is reported under (as `vdm check` names them). */
function idOf(v: Violation): string {
  if (v.id !== undefined) return v.id;
  switch (v.kind) {
    case 'deadlock':
      return 'DEADLOCK';
    case 'lock-order':
      return 'LOCK_ORDER';
    default:
      return 'ERROR';
  }
}

async function load(dist: string): Promise<Modules> {
  const mod = (rel: string): Promise<Record<string, unknown>> =>
    import(pathToFileURL(`${dist}/src/${rel}`).href) as Promise<Record<string, unknown>>;
  const [l, p, e, d, c] = await Promise.all([
    mod('scenario/load.js'),
    mod('scenario/program.js'),
    mod('sched/explore.js'),
    mod('designs/design.js'),
    mod('scenario/check.js'),
  ]);
  return {
    checkExploreOptions: c.checkExploreOptions as Modules['checkExploreOptions'],
    loadScenarioFile: l.loadScenarioFile as Modules['loadScenarioFile'],
    scenarioProgram: p.scenarioProgram as Modules['scenarioProgram'],
    explore: e.explore as Modules['explore'],
    designOf: d.designOf as Modules['designOf'],
  };
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

async function main(): Promise<void> {
  const [dist, file, designName] = process.argv.slice(2);
  if (!dist || !file || !designName) {
    process.stderr.write('usage: node kernel-cell.js DIST SCENARIO.yaml DESIGN\n');
    process.exit(2);
  }
  const m = await load(dist);
  let program: unknown;
  let sc: ScenarioLike;
  try {
    sc = m.loadScenarioFile(file);
    program = m.scenarioProgram(sc, { design: m.designOf(designName) });
  } catch (e) {
    print({ type: 'error', phase: 'load', message: firstLine(e) });
    return;
  }

  let peakRss = process.memoryUsage().rss;
  let firstViolationMs: number | null = null;
  let lastSample = 0;
  let lastPrint = 0;
  const t0 = performance.now();
  // As `vdm check` explores it, but complete: no execution limit, dpor.
  const options: Record<string, unknown> = {
    // The cell's design decides the defaults that depend on it (state folding on the vma_list designs).
    ...m.checkExploreOptions(sc, { design: m.designOf(designName) }),
    strategy: 'dpor',
    minimizePreemptions: false,
    progressEveryMs: 0,
    onProgress(p: Progress): void {
      if (firstViolationMs === null && p.violations > 0) firstViolationMs = performance.now() - t0;
      const at = p.elapsedMs;
      if (at - lastSample < SAMPLE_EVERY_MS) return;
      lastSample = at;
      const rss = process.memoryUsage().rss;
      if (rss > peakRss) peakRss = rss;
      if (at - lastPrint < PRINT_EVERY_MS) return;
      lastPrint = at;
      print({
        type: 'progress',
        executions: p.executions,
        events: p.events,
        ms: performance.now() - t0,
        firstViolationMs,
        peakRssMiB: MiB(peakRss),
        violations: p.violations,
      });
    },
  };
  delete options.maxExecutions;

  print({ type: 'start' });
  let r: Result;
  try {
    r = m.explore(program, options);
  } catch (e) {
    print({ type: 'error', phase: 'explore', message: firstLine(e) });
    return;
  }
  const ms = performance.now() - t0;
  peakRss = Math.max(peakRss, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  print({
    type: 'done',
    executions: r.executions,
    events: r.events,
    complete: r.complete,
    ms,
    firstViolationMs,
    peakRssMiB: MiB(peakRss),
    violations: [...new Set(r.violations.map(idOf))].sort(),
  });
}

await main();
