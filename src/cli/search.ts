// What `vdm check` needs to run its search on one thread, kept apart from the command-line
// parsing so that the search thread (search-thread.ts) loads the model and nothing else: the
// flags as explore options, the design they name, the checkpoint to resume and the one to save,
// and singleSearch() itself. Bad flags raise UsageError (printed, exit 2).

import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { DESIGN_NAMES, type Design, type DesignOptions, designOf, OPTION_VALUES } from '../designs/design.js';
import type { CheckReport, CompareReport, CompareResult } from '../report/results.js';
import { checkScenario, durationMs } from '../scenario/check.js';
import { suggest } from '../scenario/errors.js';
import { loadScenarioFile, type Scenario } from '../scenario/load.js';
import type {
  DporCheckpoint,
  ExplorationCheckpoint,
  ExploreOptions,
  Progress,
  Strategy,
} from '../sched/program.js';
import type { SplitCheckpoint } from './parallel-check.js';
import { writeAtomically } from './write-atomically.js';

/** What `vdm check` is told on its command line. */
export type CheckFlags = DesignFlags &
  SearchFlags & {
    json?: boolean;
    functions?: boolean;
    perfetto?: string;
    report?: string;
    checkpoint?: string;
    checkpointEvery?: number;
    resume?: string;
    workers?: number;
    swarm?: number;
    queue?: string;
    queueSplit?: number;
    stopAtFirst?: boolean;
    timeLimit?: string;
    memoryGuard?: string;
  };

/** Raised for bad command-line input: printed, exit 2. */
export class UsageError extends Error {}

export interface DesignFlags {
  design?: string;
  option?: string[];
}

export interface SearchFlags {
  strategy?: Strategy;
  seed?: number;
  maxExecutions?: number;
  preemptionBound?: number;
  foldStates?: boolean;
}

/** --stop-at-first, --time-limit and --memory-guard as check options. */
export function limitOptions(o: { stopAtFirst?: boolean; timeLimit?: string; memoryGuard?: string }): {
  stopAtFirst?: boolean;
  timeLimitMs?: number;
  memoryGuard?: number;
} {
  const out: { stopAtFirst?: boolean; timeLimitMs?: number; memoryGuard?: number } = {};
  if (o.stopAtFirst) out.stopAtFirst = true;
  if (o.timeLimit !== undefined) {
    try {
      out.timeLimitMs = durationMs(/^\d+$/.test(o.timeLimit) ? Number(o.timeLimit) : o.timeLimit);
    } catch {
      throw new UsageError(`--time-limit ${o.timeLimit}: expected a duration such as 500ms, 30s, 2m or 1h`);
    }
  }
  if (o.memoryGuard !== undefined) {
    const f = Number(o.memoryGuard);
    if (!Number.isFinite(f) || f < 0 || f >= 1)
      throw new UsageError(
        `--memory-guard ${o.memoryGuard}: expected a fraction of the heap limit, 0 (off) to below 1`,
      );
    out.memoryGuard = f;
  }
  return out;
}

/**
 * A checkpoint written only if the search stops between executions (memory guard, time limit):
 * .vdm-checkpoint-NAME.json in the working directory.
 */
export function fallbackCheckpoint(
  file: string,
  identity: Record<string, unknown>,
): { path: string; written: boolean; sink: NonNullable<ExploreOptions['checkpoint']> } {
  const path = `.vdm-checkpoint-${basename(file).replace(/\.ya?ml$/, '')}.json`;
  const out = {
    path,
    written: false,
    sink: {
      save(c: ExplorationCheckpoint) {
        writeCheckpointFile(path, identity, c);
        out.written = true;
      },
    },
  };
  return out;
}

/** How singleSearch() is driven, beyond the command's flags. */
export interface SearchHooks {
  onProgress?: (p: Progress) => void;
  /** Asked after each execution: stop the search there (reason `interrupted`). */
  interrupted?: () => boolean;
  /** Stop after this many milliseconds and hand the frontier over instead of finishing (dpor, exhaustive). */
  handOverAfterMs?: number;
  /** Go on from this frontier (handed over by another thread) instead of --resume's. */
  from?: ExplorationCheckpoint;
  /** Time the search had already taken before `from` (for --time-limit and the report's time). */
  elapsedBeforeMs?: number;
}

/**
 * `vdm check`'s search on one thread: the scenario, its design and limits from the flags, the
 * checkpoint to resume and the one to save (the flags' or, when a limit or a signal stops a dpor
 * or exhaustive search without one, `.vdm-checkpoint-NAME.json`). Returns the report and where the
 * frontier was saved for that reason; or, when `handOverAfterMs` ran out first, the frontier to go
 * on from (`handOver`; the report is then partial and not to be shown).
 */
export function singleSearch(
  file: string,
  o: CheckFlags,
  hooks: SearchHooks = {},
): { report: CheckReport; frontier?: string; handOver?: ExplorationCheckpoint } {
  const started = Date.now();
  const before = hooks.elapsedBeforeMs ?? 0;
  const limits = limitOptions(o);
  if (limits.timeLimitMs !== undefined) limits.timeLimitMs = Math.max(1, limits.timeLimitMs - before);
  const sc = loadScenarioFile(file);
  const design = designFromFlags(sc, o);
  const used = design ?? designOf(sc.design.name, sc.design.options);
  const strategy = o.strategy ?? sc.check.strategy ?? 'dpor';
  const identity = { scenario: sc.name, design: used.name, options: used.options, strategy };
  let resume: ExplorationCheckpoint | undefined = hooks.from;
  if (!resume && o.resume) {
    const c = readCheckpoint(o.resume, identity);
    if ('split' in c) throw new UsageError(`--resume ${o.resume}: saved by a search split over workers`);
    resume = c;
  }
  const durable = strategy === 'dpor' || strategy === 'exhaustive';
  const checkpoint = o.checkpoint;
  const fallback = !checkpoint && durable ? fallbackCheckpoint(file, identity) : undefined;
  // Handing over: the frontier the search saves when it stops is kept, not written as a fallback.
  let handingOver = false;
  let handOver: ExplorationCheckpoint | undefined;
  const write = checkpoint
    ? (c: ExplorationCheckpoint) => writeCheckpointFile(checkpoint, identity, c)
    : undefined;
  const save = (c: ExplorationCheckpoint): void => {
    // Handing over, the folding tables go to the thread that takes over (a structured clone); the
    // thread writes them with its own checkpoint if it stops early.
    if (handingOver) handOver = c;
    const onDisk = handingOver ? withoutFolds(c) : c;
    if (write) write(onDisk);
    else if (!handingOver) fallback?.sink.save(onDisk);
  };
  const handOverAt =
    hooks.handOverAfterMs !== undefined && durable ? started + hooks.handOverAfterMs : undefined;
  const interrupted =
    hooks.interrupted || handOverAt !== undefined
      ? () => {
          if (hooks.interrupted?.()) return true;
          if (handOverAt !== undefined && Date.now() >= handOverAt) handingOver = true;
          return handingOver;
        }
      : undefined;
  const report = checkScenario(sc, {
    ...(design ? { design } : {}),
    ...searchOptions(o),
    ...limits,
    ...(resume ? { resume } : {}),
    ...(durable
      ? {
          checkpoint: {
            ...(write ? { everyExecutions: o.checkpointEvery ?? 1000, everyMs: 10_000 } : {}),
            save,
            // Handed over, a folded search goes on with its tables: it ends as one search would.
            // Stopped early (time limit, signal), it writes them beside the checkpoint, so that
            // --resume goes on as the search would have; and at the periodic saves of
            // --checkpoint too while they are small (what a SIGKILL leaves).
            withFolds: (final: boolean, bytes: number) =>
              handingOver || final || (write !== undefined && bytes <= PERIODIC_FOLDS_MAX_BYTES),
          },
        }
      : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(interrupted ? { interrupted } : {}),
  });
  report.elapsedMs += before;
  if (handOver && report.incomplete?.some((i) => i.reason === 'interrupted')) return { report, handOver };
  return { report, ...(fallback?.written ? { frontier: fallback.path } : {}) };
}

/**
 * The largest folding tables --checkpoint writes at its periodic saves (every 1,000 executions and
 * 10 s): larger ones only when the search stops early.
 */
const PERIODIC_FOLDS_MAX_BYTES = 16 * 2 ** 20;

/** A checkpoint without its folding tables (what the JSON file holds). */
function withoutFolds(c: ExplorationCheckpoint): ExplorationCheckpoint {
  if (c.strategy !== 'dpor' || c.folds === undefined) return c;
  const { folds: _folds, ...plain } = c;
  return plain;
}

/**
 * Writes a checkpoint file (JSON). A folded dpor search's tables, when the checkpoint carries them,
 * go beside it in PATH.folds (v8.serialize: Maps and typed arrays), written first, and the JSON
 * names that file and an id the reader checks, so that tables left by another save are never used.
 */
export function writeCheckpointFile(
  path: string,
  identity: Record<string, unknown>,
  c: ExplorationCheckpoint,
): void {
  if (c.strategy === 'dpor' && c.folds !== undefined) {
    const side = `${path}.folds`;
    const id = `${c.counts.executions}-${Date.now()}-${process.pid}`;
    writeAtomically(side, serialize({ id, folds: c.folds }));
    const folds = { file: basename(side), id };
    writeAtomically(path, `${JSON.stringify({ ...identity, checkpoint: withoutFolds(c), folds })}\n`);
    return;
  }
  writeAtomically(path, `${JSON.stringify({ ...identity, checkpoint: c })}\n`);
}

/**
 * The folding tables a checkpoint file names (writeCheckpointFile), or undefined with a warning on
 * stderr when they cannot be read: the search then folds afresh (sound, but longer).
 */
function readFolds(file: string, ref: unknown): DporCheckpoint['folds'] {
  if (typeof ref !== 'object' || ref === null) return undefined;
  const { file: name, id } = ref as { file?: unknown; id?: unknown };
  if (typeof name !== 'string' || typeof id !== 'string') return undefined;
  const side = join(dirname(file), name);
  try {
    const data = deserialize(readFileSync(side)) as { id?: unknown; folds?: DporCheckpoint['folds'] };
    if (data.id !== id || !(data.folds?.done instanceof Map)) throw new Error('it belongs to another save');
    return data.folds;
  } catch (e) {
    process.stderr.write(
      `vdm: --resume ${file}: the folding tables in ${side} cannot be used (${(e as Error).message}); the search folds afresh, which is sound but longer\n`,
    );
    return undefined;
  }
}

/** The search flags as explore options (only those given). */
export function searchOptions(
  o: SearchFlags,
): Pick<ExploreOptions, 'strategy' | 'seed' | 'maxExecutions' | 'preemptionBound' | 'foldStates'> {
  return {
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.maxExecutions !== undefined ? { maxExecutions: o.maxExecutions } : {}),
    ...(o.preemptionBound !== undefined ? { preemptionBound: o.preemptionBound } : {}),
    ...(o.foldStates !== undefined ? { foldStates: o.foldStates } : {}),
  };
}

/** The design the flags ask for, or undefined to use the file's. */
export function designFromFlags(sc: Scenario, f: DesignFlags): Design | undefined {
  if (f.design === undefined && !f.option?.length) return undefined;
  const name = designNameFlag(f.design ?? sc.design.name);
  // --design replaces the file's design and its options; --option alone adds to the file's.
  const options: Record<string, unknown> = f.design === undefined ? { ...sc.design.options } : {};
  Object.assign(options, optionFlags(f.option));
  return designOf(name, options as Partial<DesignOptions>);
}

/** A --design value checked against the designs (UsageError with a suggestion otherwise). */
export function designNameFlag(name: string): string {
  if (!(DESIGN_NAMES as readonly string[]).includes(name)) {
    const s = suggest(name, DESIGN_NAMES);
    throw new UsageError(
      `--design: unknown design "${name}"${s ? ` — did you mean \`${s}\`?` : ''} (designs: ${DESIGN_NAMES.join(', ')})`,
    );
  }
  return name;
}

/** --option key=value flags as design options, each checked against the values it takes. */
export function optionFlags(option: string[] | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const kv of option ?? []) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(kv);
    if (!m) throw new UsageError(`--option ${kv}: expected key=value`);
    const [, k, raw] = m as unknown as [string, string, string];
    const values = (OPTION_VALUES as Record<string, readonly unknown[]>)[k];
    if (!values) {
      const s = suggest(k, Object.keys(OPTION_VALUES));
      throw new UsageError(
        `--option: design option "${k}" does not exist${s ? ` — did you mean \`${s}\`?` : ''}`,
      );
    }
    const v = raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : raw;
    if (!values.includes(v))
      throw new UsageError(`--option ${k}: expected one of ${values.join(', ')}, got ${raw}`);
    options[k] = v;
  }
  return options;
}

/**
 * A --checkpoint file, checked against the run it is to continue; with `folds`, a folded search's
 * tables beside it too (only the search that folds needs them).
 */
export function readCheckpoint(
  file: string,
  identity: Record<string, unknown>,
  folds = true,
): ExplorationCheckpoint | SplitCheckpoint {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--resume ${file}: cannot read it as a checkpoint (${(e as Error).message})`);
  }
  for (const [k, v] of Object.entries(identity)) {
    if (JSON.stringify(data[k]) !== JSON.stringify(v)) {
      throw new UsageError(
        `--resume ${file}: it was saved for ${k} ${JSON.stringify(data[k])}, this run has ${JSON.stringify(v)}`,
      );
    }
  }
  const c = data.checkpoint as ExplorationCheckpoint | SplitCheckpoint | undefined;
  const shaped =
    c?.version === 1 &&
    ('split' in c
      ? Array.isArray(c.split?.subtrees) && Array.isArray(c.split.results)
      : c.strategy === 'exhaustive'
        ? Array.isArray(c.stack)
        : c.strategy === 'dpor' &&
          Array.isArray(c.prefix) &&
          Array.isArray(c.nodes) &&
          Array.isArray(c.next));
  if (!shaped) throw new UsageError(`--resume ${file}: not a vdm checkpoint`);
  if (folds && c.strategy === 'dpor' && data.folds !== undefined) {
    const tables = readFolds(file, data.folds);
    if (tables) c.folds = tables;
  }
  return c;
}

/** What the search thread posts back. */
export type SearchThreadMessage =
  | { t: 'progress'; progress: Progress; row?: number }
  | { t: 'row'; row: number; result: CompareResult }
  | { t: 'phase'; label: string }
  | { t: 'done'; report: CheckReport; frontier?: string }
  | { t: 'compared'; report: CompareReport }
  | { t: 'error'; message: string; stack?: string; usage: boolean };
