// The hunter's two kinds of work, as plain data in and out so that they run alike in this process,
// on worker processes and on the Redis queue: evaluate a program (explore it on each design, read
// its coverage) and shrink a program to the smallest that still shows a signature.

import { type Design, designOf } from '../designs/design.js';
import { recordScenario } from '../scenario/check.js';
import { ScenarioError } from '../scenario/errors.js';
import { parseScenario } from '../scenario/load.js';
import type { Scenario } from '../scenario/resolve.js';
import { BlockCoverage, type FunctionCoverage } from './coverage.js';
import { type HuntProgram, loadProgram, programOf } from './program.js';
import { type Finding, framesOf, type HuntBounds, type ProgramRun, runProgram } from './run.js';
import { shrinkProgram } from './shrink.js';

export interface DesignRef {
  name: string;
  options?: Record<string, unknown>;
}

export interface EvaluateJob {
  kind: 'evaluate';
  /** The program as a scenario file. */
  text: string;
  designs: DesignRef[];
  bounds: HuntBounds;
  coverage: boolean;
}

export interface EvaluateResult {
  kind: 'evaluate';
  runs: ProgramRun[];
  /** The model functions the program ran, with the blocks in them it did not (empty without coverage). */
  coverage: FunctionCoverage[];
}

/** What a shrink must keep: the signature on `design`, and (a difference) no `id` on `absentOn`. */
export interface ShrinkTarget {
  key: string;
  id: string;
  design: DesignRef;
  absentOn: DesignRef[];
}

export interface ShrinkJob {
  kind: 'shrink';
  text: string;
  target: ShrinkTarget;
  bounds: HuntBounds;
  maxRuns: number;
  timeMs: number;
}

export interface ShrinkJobResult {
  kind: 'shrink';
  key: string;
  program: HuntProgram;
  /** The finding on the shrunk program (its schedule replays it). */
  finding?: Finding;
  runs: number;
  refused: number;
  cut: boolean;
  ms: number;
}

export type HuntJob = EvaluateJob | ShrinkJob;
export type HuntJobResult = EvaluateResult | ShrinkJobResult;

const coverage = new BlockCoverage();

const designOfRef = (d: DesignRef): Design => designOf(d.name, d.options ?? {});

/** Signature keys whose kernel functions this process has already looked up. */
const framed = new Set<string>();

/** Fills in a finding's kernel functions (one replay with stacks) the first time its signature is seen here. */
function withFrames(sc: Scenario, d: DesignRef, f: Finding, always = false): void {
  if ((!always && framed.has(f.signature.key)) || !f.schedule || f.signature.frames.length > 0) return;
  framed.add(f.signature.key);
  f.signature.frames = framesOf(f, recordScenario(sc, f.schedule, { design: designOfRef(d) }), f.thread);
}

export function evaluate(job: EvaluateJob): EvaluateResult {
  const sc = parseScenario(job.text, '<hunt>');
  if (job.coverage) coverage.start();
  const runs = job.designs.map((d) => runProgram(sc, designOfRef(d), job.bounds));
  const reached = job.coverage ? coverage.take() : [];
  // Looked up after the coverage is read, and its own blocks dropped: what a program reached must
  // not depend on which signatures this process has seen before (a seed is one hunt).
  job.designs.forEach((d, i) => {
    for (const f of runs[i]!.findings) withFrames(sc, d, f);
  });
  coverage.take();
  return { kind: 'evaluate', runs, coverage: reached };
}

/** Does `p` still show the target? */
export function showsTarget(
  p: HuntProgram,
  t: ShrinkTarget,
  bounds: HuntBounds,
  minimize = false,
): Finding | undefined {
  let sc: ReturnType<typeof loadProgram>;
  try {
    sc = loadProgram(p, { name: 'shrink' });
  } catch (e) {
    if (e instanceof ScenarioError) return undefined;
    throw e;
  }
  const f = runProgram(sc, designOfRef(t.design), bounds, minimize).findings.find(
    (x) => x.signature.key === t.key,
  );
  if (!f) return undefined;
  for (const d of t.absentOn)
    if (runProgram(sc, designOfRef(d), bounds).findings.some((x) => x.signature.id === t.id))
      return undefined;
  return f;
}

export function shrink(job: ShrinkJob): ShrinkJobResult {
  const started = Date.now();
  const p = programOf(parseScenario(job.text, '<hunt>'));
  const r = shrinkProgram(p, (q) => showsTarget(q, job.target, job.bounds) !== undefined, {
    maxRuns: job.maxRuns,
    deadline: started + job.timeMs,
  });
  // The shrunk program's counterexample with its fewest preemptions: the file's bound.
  const finding = showsTarget(r.program, job.target, job.bounds, true);
  if (finding) withFrames(loadProgram(r.program, { name: 'shrunk' }), job.target.design, finding, true);
  coverage.take(); // what the shrink reached is not the next program's coverage
  const out: ShrinkJobResult = {
    kind: 'shrink',
    key: job.target.key,
    program: r.program,
    runs: r.runs,
    refused: r.refused,
    cut: r.cut,
    ms: Date.now() - started,
  };
  if (finding) out.finding = finding;
  return out;
}

/**
 * Drops the coverage counted since the last job: for a caller that runs model code of its own
 * between jobs (the in-process runner, whose loop loads each program's scenario, designs
 * included). A worker process runs nothing else between jobs.
 */
export function dropCoverage(): void {
  coverage.take();
}

export function runHuntJob(job: HuntJob): HuntJobResult {
  return job.kind === 'evaluate' ? evaluate(job) : shrink(job);
}
