// The hunt (docs/hunt.md): generate a program or mutate one of the corpus, explore it on each
// design, keep it when it reached model code no program before it did, name every violation by its
// signature, and shrink each new signature to a smallest program that still shows it. The loop
// keeps `runner.capacity` jobs in flight (one in this process, or one per worker); everything it
// decides — the random choices, the corpus, the signatures — is decided here, so a hunt on one
// worker with a program limit is the same hunt every time for a seed.

import { createHash } from 'node:crypto';
import { ScenarioError } from '../scenario/errors.js';
import { parseScenario } from '../scenario/load.js';
import { CoverageMap } from './coverage.js';
import { type GenerateOptions, generateProgram, mutateProgram } from './generate.js';
import {
  type DesignRef,
  dropCoverage,
  type EvaluateResult,
  type HuntJob,
  type HuntJobResult,
  runHuntJob,
  type ShrinkJobResult,
} from './jobs.js';
import { type HuntProgram, programOf, programSize, programText } from './program.js';
import { Rng } from './rng.js';
import type { HuntBounds } from './run.js';

export interface HuntOptions {
  /** One design, or several: then a signature one shows and another does not is a difference. */
  designs: DesignRef[];
  seed: number;
  /** Stop generating after this long (ms). */
  timeMs: number;
  /** Stop generating after this many programs. */
  maxPrograms?: number;
  bounds: HuntBounds;
  /** Read coverage to keep programs that reach new model code (default true). */
  coverage?: boolean;
  /** Shrink new signatures (default true), each within these. */
  shrink?: { maxRuns: number; timeMs: number } | false;
  generate?: GenerateOptions;
  /** Programs to start from (a corpus folder's files): evaluated first, then mutated. */
  corpus?: { text: string; file: string }[];
  /** Signature keys already found (a resumed hunt): reported again, not shrunk again. */
  known?: string[];
  /** Signatures to count but not shrink (--ignore). */
  leaveOut?: (key: string) => boolean;
  /** Called with each new corpus program and each shrunk signature, to write them out. */
  sink?: HuntSink;
  onProgress?: (s: HuntStats) => void;
  interrupted?: () => boolean;
}

export interface HuntSink {
  corpus(text: string, name: string): void;
  finding(sig: HuntSignature, text: string): string | undefined;
}

export interface HuntStats {
  programs: number;
  /** Programs the generator made that the scenario loader refused (never run). */
  refused: number;
  executions: number;
  events: number;
  /** Model blocks (functions and branches) reached so far. */
  blocks: number;
  corpus: number;
  signatures: number;
  shrinking: number;
  /** Jobs lost to a worker that died or failed (the last reason in HuntResult.lastFailure). */
  failed: number;
  elapsedMs: number;
}

export interface HuntSignature {
  key: string;
  id: string;
  frames: string[];
  message: string;
  /** Designs it was seen on (in the order of the hunt's designs). */
  designs: string[];
  /** Several designs: the first of the hunt's designs the program that showed it first did not show the id on. */
  absentOn?: string;
  firstMs: number;
  firstProgram: number;
  /** Programs that showed it. */
  programs: number;
  /** Found by an earlier hunt in the same folder. */
  known: boolean;
  /** A sleep the kernel does by design until user space acts (Signature.waitsForUser): not shrunk. */
  waitsForUser?: boolean;
  /** The program that showed it first. */
  text: string;
  shrunk?: {
    text: string;
    threads: number;
    ops: number;
    schedule?: string;
    preemptions?: number;
    runs: number;
    ms: number;
    /** A budget ended the shrink before no smaller candidate was left. */
    cut: boolean;
    file?: string;
  };
}

export interface HuntResult {
  stats: HuntStats;
  signatures: HuntSignature[];
  stoppedBecause: 'time' | 'programs' | 'interrupted';
  /** Why the last lost job was lost. */
  lastFailure?: string;
}

export interface JobRunner {
  /** Jobs at once. */
  readonly capacity: number;
  run(job: HuntJob): Promise<HuntJobResult>;
  close(): Promise<void>;
}

/** Runs each job in this process, letting the event loop turn first (Ctrl-C, progress). */
export const inProcess: JobRunner = {
  capacity: 1,
  run: async (job) => {
    await new Promise((r) => setImmediate(r));
    dropCoverage();
    return runHuntJob(job);
  },
  close: async () => {},
};

/** A short stable name for a text (corpus and finding files). */
export const short = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** Share of programs generated afresh once the corpus has some (the rest are mutations). */
const FRESH = 0.3;

export async function hunt(o: HuntOptions, runner: JobRunner = inProcess): Promise<HuntResult> {
  const started = Date.now();
  const rng = new Rng(o.seed);
  const coverage = o.coverage !== false;
  const seen = new CoverageMap();
  const corpus: HuntProgram[] = [];
  const sigs = new Map<string, HuntSignature>();
  const known = new Set(o.known ?? []);
  const shrinkQueue: HuntJob[] = [];
  const resume = [...(o.corpus ?? [])];
  const stats: HuntStats = {
    programs: 0,
    refused: 0,
    executions: 0,
    events: 0,
    blocks: 0,
    corpus: 0,
    signatures: 0,
    shrinking: 0,
    failed: 0,
    elapsedMs: 0,
  };
  let stopped: HuntResult['stoppedBecause'] | undefined;
  let lastFailure: string | undefined;
  let issued = 0;

  const designNames = o.designs.map((d) => d.name);
  const refOf = (name: string): DesignRef => o.designs.find((d) => d.name === name)!;

  const nextProgram = (): { text: string; program: HuntProgram } | undefined => {
    while (resume.length > 0) {
      const c = resume.shift()!;
      try {
        // As a program: no expectations, no design or check of its own (any scenario file can seed a hunt).
        const program = programOf(parseScenario(c.text, c.file));
        return { text: programText(program, { name: `corpus ${c.file}` }), program };
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        stats.refused++;
      }
    }
    for (let tries = 0; tries < 50; tries++) {
      const p =
        corpus.length === 0 || rng.chance(FRESH)
          ? generateProgram(rng, o.generate)
          : mutateProgram(rng.pick(corpus), rng).program;
      const text = programText(p, { name: `hunt program ${issued + 1} (seed ${o.seed})` });
      try {
        parseScenario(text, '<hunt>');
        return { text, program: p };
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        stats.refused++;
      }
    }
    return undefined;
  };

  const onEvaluate = (r: EvaluateResult, text: string, program: HuntProgram, index: number): void => {
    stats.programs++;
    for (const run of r.runs) {
      stats.executions += run.executions;
      stats.events += run.events;
    }
    const fresh = seen.add(r.coverage);
    stats.blocks = seen.blocks;
    if (fresh > 0 || (!coverage && corpus.length < 64)) {
      corpus.push(program);
      stats.corpus = corpus.length;
      o.sink?.corpus(text, short(text));
    }
    const idsOn = new Map(
      r.runs.map((run) => [run.design, new Set(run.findings.map((f) => f.signature.id))]),
    );
    for (const run of r.runs) {
      for (const f of run.findings) {
        const old = sigs.get(f.signature.key);
        if (old) {
          old.programs++;
          if (!old.designs.includes(run.design)) {
            old.designs.push(run.design);
            old.designs.sort((a, b) => designNames.indexOf(a) - designNames.indexOf(b));
          }
          continue;
        }
        const absentOn = designNames.find((d) => !idsOn.get(d)?.has(f.signature.id));
        const sig: HuntSignature = {
          key: f.signature.key,
          id: f.signature.id,
          frames: f.signature.frames,
          message: f.message,
          designs: [run.design],
          firstMs: Date.now() - started,
          firstProgram: index,
          programs: 1,
          known: known.has(f.signature.key),
          text,
        };
        if (absentOn && designNames.length > 1) sig.absentOn = absentOn;
        if (f.signature.waitsForUser) sig.waitsForUser = true;
        sigs.set(sig.key, sig);
        stats.signatures = sigs.size;
        if (o.shrink !== false && !sig.known && !sig.waitsForUser && !o.leaveOut?.(sig.key)) {
          shrinkQueue.push({
            kind: 'shrink',
            text,
            target: {
              key: sig.key,
              id: sig.id,
              design: refOf(run.design),
              absentOn: sig.absentOn ? [refOf(sig.absentOn)] : [],
            },
            bounds: o.bounds,
            maxRuns: o.shrink?.maxRuns ?? 300,
            timeMs: o.shrink?.timeMs ?? 30_000,
          });
        }
      }
    }
  };

  const onShrink = (r: ShrinkJobResult): void => {
    const sig = sigs.get(r.key);
    if (!sig) return;
    const size = programSize(r.program);
    const design = sig.designs[0]!;
    const ref = refOf(design);
    const check: Record<string, unknown> = { strategy: 'dpor', maxExecutions: o.bounds.maxExecutions };
    if (r.finding) check.preemptionBound = r.finding.preemptions;
    const text = programText(r.program, {
      name: sig.key.length > 120 ? `${sig.key.slice(0, 119)}…` : sig.key,
      description: `Found by vdm hunt (seed ${o.seed}) on ${design}${sig.absentOn ? `, not on ${sig.absentOn}` : ''} after ${(sig.firstMs / 1000).toFixed(1)} s, program ${sig.firstProgram}; shrunk in ${r.runs} runs. ${sig.message.split('\n')[0]}`,
      design: ref.options && Object.keys(ref.options).length > 0 ? { name: design, ...ref.options } : design,
      check,
      // A crash of the model is no violation id: the file is the program that makes vdm fail.
      ...(sig.id === 'CRASH' ? {} : { expect: { violations: [sig.id] } }),
    });
    sig.shrunk = { text, threads: size.threads, ops: size.ops, runs: r.runs, ms: r.ms, cut: r.cut };
    if (r.finding) {
      sig.shrunk.schedule = r.finding.schedule;
      sig.shrunk.preemptions = r.finding.preemptions;
    }
    const file = o.sink?.finding(sig, text);
    if (file) sig.shrunk.file = file;
  };

  const inflight = new Set<Promise<void>>();
  const launch = (job: HuntJob, done: (r: HuntJobResult) => void, failed: () => void): void => {
    // A job whose worker died (or threw) is lost, not the hunt: counted and said.
    const p: Promise<void> = runner.run(job).then(done, (e: unknown) => {
      stats.failed++;
      lastFailure = e instanceof Error ? e.message : String(e);
      failed();
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const stopReason = (): HuntResult['stoppedBecause'] | undefined => {
    if (o.interrupted?.()) return 'interrupted';
    if (o.maxPrograms !== undefined && issued >= o.maxPrograms) return 'programs';
    if (Date.now() - started >= o.timeMs) return 'time';
    return undefined;
  };

  try {
    for (;;) {
      stopped ??= stopReason();
      if (stopped === 'interrupted' && inflight.size === 0) break;
      while (inflight.size < runner.capacity) {
        if (stopped === 'interrupted') break;
        const sj = shrinkQueue.shift();
        if (sj) {
          stats.shrinking++;
          launch(
            sj,
            (r) => {
              stats.shrinking--;
              onShrink(r as ShrinkJobResult);
            },
            () => {
              stats.shrinking--;
            },
          );
          continue;
        }
        if (stopped) break;
        const next = nextProgram();
        if (!next) break;
        const index = ++issued;
        const job: HuntJob = {
          kind: 'evaluate',
          text: next.text,
          designs: o.designs,
          bounds: o.bounds,
          coverage,
        };
        launch(
          job,
          (r) => onEvaluate(r as EvaluateResult, next.text, next.program, index),
          () => {},
        );
        stopped ??= stopReason();
      }
      if (inflight.size === 0) {
        if (stopped || shrinkQueue.length === 0) break;
        continue;
      }
      await Promise.race(inflight);
      stats.elapsedMs = Date.now() - started;
      o.onProgress?.({ ...stats });
    }
    await Promise.all(inflight);
  } finally {
    await runner.close();
  }
  stats.elapsedMs = Date.now() - started;
  return {
    stats,
    signatures: [...sigs.values()],
    stoppedBecause: stopped ?? 'time',
    ...(lastFailure !== undefined ? { lastFailure } : {}),
  };
}
