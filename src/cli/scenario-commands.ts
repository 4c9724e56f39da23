// vdm run | check | compare | replay | report | list | schema: the scenario commands of the CLI
// (docs/cli.md). Bad input (a scenario error, an unknown design or option, a malformed
// schedule) prints a clear message and exits 2; `check` exits 0 when the scenario's `expect`
// holds and 1 when it does not.

import { readdirSync } from 'node:fs';
import { availableParallelism, constants as osConstants } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DESIGN_NAMES, DESIGNS, type Design, designOf, OPTION_VALUES } from '../designs/design.js';
import { INVARIANTS } from '../invariants/catalog.js';
import { kernelLockName } from '../kernel/lock-classes.js';
import { cutShortNote } from '../report/cut-short.js';
import { formatFtrace } from '../report/ftrace.js';
import { renderHtmlReport } from '../report/html.js';
import { lockGraphText } from '../report/lock-graph-text.js';
import { writePerfetto } from '../report/perfetto.js';
import { formatRaceDiagram } from '../report/race-diagram.js';
import type { RunRecord } from '../report/record.js';
import { designArgs, replayCommand, shellQuote } from '../report/replay-command.js';
import type { CheckReport, CompareReport, CompareResult } from '../report/results.js';
import {
  checkExploreOptions,
  checkReportOf,
  checkScenario,
  compareOrder,
  compareReport,
  compareRuns,
  compareScenario,
  recordScenario,
  runScenario,
} from '../scenario/check.js';
import { formatIssue, ScenarioError, suggest } from '../scenario/errors.js';
import { loadScenarioFile, type Scenario } from '../scenario/load.js';
import { scenarioProgram } from '../scenario/program.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { exploreLockGraph, type LockGraph } from '../sched/explore.js';
import type { ExplorationCheckpoint, ExploreResult, Incompleteness, Progress } from '../sched/program.js';
import { decodeSchedule, ScheduleError } from '../sched/schedule.js';
import {
  checkOnWorkers,
  dporOnWorkers,
  type ParallelDporStats,
  parallelDporText,
  type SplitCheckpoint,
  type SplitDurability,
  swarmOnWorkers,
} from './parallel-check.js';
import { type ProgressBar, progressBar } from './progress.js';
import { redisConnection, startQueueWorker } from './queue.js';
import {
  type CheckFlags,
  type DesignFlags,
  designFromFlags,
  limitOptions,
  readCheckpoint,
  type SearchFlags,
  type SearchThreadMessage,
  searchOptions,
  singleSearch,
  UsageError,
} from './search.js';
import { writeAtomically } from './write-atomically.js';

export { type CheckFlags, type SearchFlags, searchOptions, UsageError };

function count(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return Number(v);
  };
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function designFlags(c: Command): Command {
  return c
    .option('--design <name>', `run on this design instead of the file's (${DESIGN_NAMES.join(', ')})`)
    .option(
      '--option <key=value>',
      'set a design option (repeatable), e.g. --option closeOrder=disable-first',
      collect,
    );
}

export function searchFlags(c: Command): Command {
  return c
    .addOption(
      new Option('--strategy <s>', 'dpor | exhaustive | random | pct').choices([
        'dpor',
        'exhaustive',
        'random',
        'pct',
      ]),
    )
    .option('--seed <n>', 'seed for random and pct', count('--seed'))
    .option('--max-executions <n>', 'stop after this many executions', count('--max-executions'))
    .option('--preemption-bound <n>', 'most preemptions per execution', count('--preemption-bound'))
    .option(
      '--fold-states',
      'dpor: end executions at retry-loop heads in states a finished part of the search started from (docs/explorer.md "State folding"; default on the vma_list designs v5.8 to v6.9; one search: --workers is not used with it)',
    )
    .option('--no-fold-states', 'do not fold states, also on the designs where it is the default');
}

/** Why a search is incomplete, in words, for the human output. */
export function incompleteText(list: readonly Incompleteness[] | undefined): string {
  if (!list || list.length === 0) return 'a bound or limit cut the search';
  return list.map((i) => `${i.reason} (${i.detail}${cutShortNote(i)})`).join('; ');
}

/**
 * `vdm check --workers N` of a dpor search that folds states (the vma_list designs' default, the
 * file's `check.foldStates` or `--fold-states`): the folded search is one search, so it ran alone.
 */
function foldedAloneNote(workers: number): string {
  return `note: --workers ${workers} not used: state folding (on here: the design's default, the file's check.foldStates or --fold-states) folds one search, which ran on one thread; \`--no-fold-states --workers ${workers}\` spreads an unfolded dpor search over ${workers} threads instead, which can take far longer where retry loops undo each other (docs/explorer.md "State folding")`;
}

/** How long `vdm check` searches on the main thread before it hands the search to a thread of its own. */
const HAND_OVER_AFTER_MS = 2000;

/**
 * SIGINT and SIGTERM while `vdm check` searches: the first asks the search to stop at the end of
 * its current execution (the partial result is then printed as usual, `interrupted` the reason it
 * is incomplete, the frontier saved to resume from); a second ends the process at once. A search
 * on the main thread cannot hear a signal until it returns, so a long one runs on a thread of its
 * own (searchOnThread) and reads `flag`.
 */
class SignalStop {
  readonly flag = new Int32Array(new SharedArrayBuffer(4));
  signal: NodeJS.Signals | undefined;
  private readonly on = (sig: NodeJS.Signals): void => {
    if (this.signal) process.exit(128 + osConstants.signals[sig]);
    this.signal = sig;
    Atomics.store(this.flag, 0, 1);
    process.stderr.write(
      `\nvdm: ${sig}: stopping at the end of the current execution (again to quit at once)\n`,
    );
  };
  constructor() {
    process.on('SIGINT', this.on);
    process.on('SIGTERM', this.on);
  }
  get stopped(): boolean {
    return Atomics.load(this.flag, 0) !== 0;
  }
  release(): void {
    process.off('SIGINT', this.on);
    process.off('SIGTERM', this.on);
  }
}

/** What a search thread ends with. */
type ThreadResult = Extract<SearchThreadMessage, { t: 'done' } | { t: 'compared' }>;

/**
 * `vdm compare --workers N`: the comparison's rows (compareRuns) explored on up to N search threads
 * at once, each thread taking the next row when it is done with one (rows differ in cost by
 * thousands of times), the results put back in row order: the report is the one a comparison on
 * one thread makes, `elapsedMs` aside. A signal stops the rows being explored (incomplete,
 * `interrupted`) and leaves the rest unexplored (`notExplored`).
 */
async function compareOnThreads(
  file: string,
  flags: SearchFlags,
  workers: number,
  stop: SignalStop,
  bar: ProgressBar,
): Promise<CompareReport> {
  const sc = loadScenarioFile(file);
  const runs = compareRuns(sc);
  const results: (CompareResult | undefined)[] = runs.map(() => undefined);
  const running = new Map<number, Progress>();
  // The longest designs first (compareOrder); the results go back by row.
  const order = compareOrder(runs);
  let next = 0;
  let finished = 0;
  const started = Date.now();
  // Counts of the rows done, and of those under way as last heard: the bar shows the sums.
  let doneExecutions = 0;
  let doneEvents = 0;
  let doneViolations = 0;
  const show = (): void => {
    const labels = [...running.keys()].map((r) => runs[r]!.label);
    bar.phase(`${finished}/${runs.length} designs done, exploring ${labels.join(', ') || '-'}`);
    let executions = doneExecutions;
    let events = doneEvents;
    let depth = 0;
    let violations = doneViolations;
    for (const p of running.values()) {
      executions += p.executions;
      events += p.events;
      depth = Math.max(depth, p.depth);
      violations += p.violations;
    }
    bar.update({ executions, events, depth, violations, elapsedMs: Date.now() - started });
  };
  const threads = Math.max(1, Math.min(workers, runs.length));
  await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(new URL('./search-thread.js', import.meta.url), {
            workerData: { file, flags, rows: true, elapsedBeforeMs: 0, stop: stop.flag.buffer },
          });
          let failed = false;
          /** The row this thread explores (-1: none). */
          let mine = -1;
          const take = (): void => {
            mine = -1;
            if (next < runs.length && !stop.stopped) {
              const row = order[next++]!;
              mine = row;
              running.set(row, { executions: 0, events: 0, depth: 0, violations: 0, elapsedMs: 0 });
              show();
              worker.postMessage({ row });
            } else worker.postMessage({ end: true });
          };
          worker.on('message', (m: SearchThreadMessage) => {
            if (m.t === 'progress' && m.row !== undefined) {
              running.set(m.row, m.progress);
              show();
            } else if (m.t === 'row') {
              results[m.row] = m.result;
              doneExecutions += m.result.executions;
              doneEvents += running.get(m.row)?.events ?? 0;
              doneViolations += Object.values(m.result.counts).reduce((a, b) => a + b, 0);
              running.delete(m.row);
              finished++;
              show();
              take();
            } else if (m.t === 'error') {
              failed = true;
              // The other threads stop at the end of their current execution.
              Atomics.store(stop.flag, 0, 1);
              reject(
                m.usage ? new UsageError(m.message) : Object.assign(new Error(m.message), { stack: m.stack }),
              );
              void worker.terminate();
            }
          });
          worker.once('error', (e) => {
            failed = true;
            Atomics.store(stop.flag, 0, 1);
            reject(e);
          });
          worker.once('exit', (code) => {
            if (failed) return;
            if (mine >= 0) reject(new Error(`a compare thread exited (code ${code}) before it was done`));
            else resolve();
          });
          take();
        }),
    ),
  );
  const notExplored = runs.filter((_, i) => results[i] === undefined).map((r) => r.label);
  return compareReport(sc, runs, results, notExplored);
}

/**
 * Runs search-thread.ts with `data` while this thread waits and hears signals (`stop`): progress
 * and phases go to the hooks, the result (or the thread's error) comes back.
 */
function onThread(
  data: Record<string, unknown>,
  stop: SignalStop,
  hooks: { onProgress: (p: Progress) => void; onPhase?: (label: string) => void },
): Promise<ThreadResult> {
  const worker = new Worker(new URL('./search-thread.js', import.meta.url), {
    workerData: { ...data, stop: stop.flag.buffer },
  });
  return new Promise((resolve, reject) => {
    let done = false;
    worker.on('message', (m: SearchThreadMessage) => {
      if (m.t === 'progress') hooks.onProgress(m.progress);
      else if (m.t === 'phase') hooks.onPhase?.(m.label);
      else if (m.t === 'error') {
        done = true;
        reject(m.usage ? new UsageError(m.message) : Object.assign(new Error(m.message), { stack: m.stack }));
      } else {
        done = true;
        resolve(m as ThreadResult);
      }
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!done) reject(new Error(`the search thread exited (code ${code}) before it was done`));
    });
  });
}

/** singleSearch() on a search thread, going on from `from` when the main thread handed it over. */
async function searchOnThread(
  file: string,
  o: CheckFlags,
  onProgress: (p: Progress) => void,
  stop: SignalStop,
  from?: ExplorationCheckpoint,
  elapsedBeforeMs = 0,
): Promise<{ report: CheckReport; frontier?: string }> {
  const m = await onThread({ file, flags: o, from, elapsedBeforeMs }, stop, { onProgress });
  if (m.t !== 'done') throw new Error('the search thread compared instead of searching');
  return m.frontier ? { report: m.report, frontier: m.frontier } : { report: m.report };
}

/** A --queue address, or exit 2. */
function checkedQueue(url: string): string {
  try {
    redisConnection(url);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return url;
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

function checkText(
  r: CheckReport,
  sc: Scenario,
  f: DesignFlags & { functions?: boolean },
  design?: Design,
): string {
  const lines: string[] = [];
  const status = r.complete ? 'complete' : `incomplete: ${incompleteText(r.incomplete)}`;
  lines.push(
    `${r.scenario} on ${r.design}: ${r.executions} executions (${r.strategy}), ${r.events} events, ${status}`,
  );
  if (r.cycles)
    lines.push(
      `retry cycles: in ${r.cycles} execution${r.cycles === 1 ? '' : 's'} a thread began a retry-loop iteration where it had already been (another thread undid each attempt); it was stopped there, its continuation explored from the first time (docs/explorer.md "Retry cycles")`,
    );
  if (r.folded)
    lines.push(
      `folded states: ${r.folded} execution${r.folded === 1 ? '' : 's'} reached a retry-loop head in a state a finished part of the search had started from, and ended there once the races of what ran from it with what came before were reversed${r.foldForgotten ? `; ${r.foldForgotten} finished states were forgotten to keep the table within its memory (reaching one again explores on)` : ''} (docs/explorer.md "State folding")`,
    );
  const cutShort = r.incomplete?.some((i) => i.reason === 'timeLimit' || i.reason === 'maxExecutions');
  if (r.cycles && cutShort && r.strategy === 'dpor')
    lines.push(
      r.folded
        ? 'hint: retry loops that undo each other (the cycles above) make this search long, folded as it is: `--preemption-bound 3` explores every execution with at most 3 preemptions and reports the search as bounded (docs/performance.md, "where the vma_list executions go")'
        : 'hint: retry loops that undo each other (the cycles above) make this search long: each round they go round is a new set of executions. `--fold-states` (one worker; the default on the v5.8 to v6.9 designs) ends an execution where a finished part of the search already started from its state (there searches often complete in seconds); `--preemption-bound 3` explores every execution with at most 3 preemptions and reports the search as bounded (docs/performance.md, "where the vma_list executions go")',
    );
  for (const i of r.incomplete ?? [])
    if (i.schedule !== undefined)
      lines.push(`first execution ${i.reason} cut short: ${replayCommand(sc.file, i.schedule, f)}`);
  for (const w of r.warnings ?? []) lines.push(`warning: ${w}`);
  if (r.violations.length === 0) lines.push('no violation found');
  // One counterexample per invariant: the first (fewest preemptions) reported for it.
  const shown = new Set<string>();
  for (const v of r.violations) {
    lines.push(
      '',
      `${v.invariant} (${v.kind}, ${v.count} execution${v.count === 1 ? '' : 's'}): ${v.message}`,
    );
    if (shown.has(v.invariant)) {
      lines.push(`replay: ${replayCommand(sc.file, v.schedule, f)}`);
      continue;
    }
    shown.add(v.invariant);
    const rec = recordScenario(sc, v.schedule, design ? { design } : {});
    lines.push(`counterexample (${v.preemptions} preemptions, ${rec.steps.length} events):`);
    lines.push(formatFtrace(rec, { functions: f.functions === true }).replace(/^/gm, '  '));
    lines.push(`replay: ${replayCommand(sc.file, v.schedule, f)}`);
  }
  lines.push('', `verdict: ${r.verdict}${r.reasons.length ? ` (${r.reasons.join('; ')})` : ''}`);
  return lines.join('\n');
}

/**
 * The race diagram of the first counterexample of each invariant a check found, by invariant id
 * (`check --report text`, `report --format text`).
 */
function raceDiagrams(r: CheckReport, sc: Scenario, f: DesignFlags, design?: Design): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of r.violations) {
    if (out[v.invariant] !== undefined) continue;
    const rec = recordScenario(sc, v.schedule, design ? { design } : {});
    out[v.invariant] = formatRaceDiagram(rec, {
      violation: { id: v.invariant, message: v.message },
      designArgs: designArgs(f),
    });
  }
  return out;
}

/** The text of several race diagrams, one after another. */
function diagramsText(d: Record<string, string>): string {
  return Object.entries(d)
    .map(([id, text]) => `race diagram: ${id}\n\n${text.replace(/\n$/, '')}`)
    .join('\n\n');
}

/** --report / --format values. */
function reportFormat(flag: string, allowed: readonly string[]): (v: string) => string {
  return (v: string) => {
    if (!allowed.includes(v))
      throw new InvalidArgumentError(`${flag}: expected ${allowed.join(' or ')}, got ${v}`);
    return v;
  };
}

/** The output flags of the commands that print one execution (run, replay). */
function traceFlags(c: Command): Command {
  return c
    .option('--json', 'print the execution as JSON')
    .option('--functions', 'with kernel function entry/exit lines (the default)')
    .option('--no-functions', 'one line per event, without function entry/exit lines')
    .option('--perfetto <file>', 'also write the execution as a Perfetto / Chrome trace');
}

/** Prints one execution as the trace flags ask; exit 1 when it shows a violation. */
function printRecord(rec: RunRecord, o: { json?: boolean; functions?: boolean; perfetto?: string }): void {
  if (o.perfetto) writePerfetto(rec, o.perfetto);
  // --functions and --no-functions are both accepted; entries and exits are shown unless turned off.
  print(o.json ? JSON.stringify(rec, null, 2) : recordText(rec, o.functions !== false));
  process.exitCode = rec.violations.length > 0 ? 1 : 0;
}

function recordText(rec: RunRecord, functions: boolean): string {
  const out = [formatFtrace(rec, { functions })];
  for (const v of rec.violations) out.push('', `${v.id} (${v.kind}): ${v.message}`);
  if (rec.violations.length === 0) out.push('', 'no violation in this execution');
  if (rec.bound !== undefined)
    out.push(
      `stopped by a model bound (searchBound): ${rec.bound}; a search counts this execution as cut short, not as a violation`,
    );
  return out.join('\n');
}

/** `vdm compare`'s text: the matrix, why a row is incomplete, the shortest counterexamples. */
export function compareText(c: CompareReport, file: string): string {
  const all = c.own ? [c.own, ...c.results] : c.results;
  const ids = c.invariants.filter((id) => all.some((r) => r.violations.includes(id)));
  const head = ['design', 'executions', ...ids, 'verdict'];
  const rows = all.map((r) => [
    r.design,
    `${r.executions}${r.complete ? '' : '+'}`,
    ...ids.map((id) => (r.counts[id] ? String(r.counts[id]) : '—')),
    r.verdict,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((x, i) => x.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const lines = [`${c.scenario}: invariants violated per design (counts are executions; + = incomplete)`, ''];
  lines.push(fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt));
  if (ids.length === 0)
    lines.push(
      '',
      c.notExplored?.length
        ? 'no design explored so far violates any invariant in this scenario'
        : 'no design violates any invariant in this scenario',
    );
  if (c.own) lines.push('', `first row: the file's own design options; the others: each design's defaults`);
  if (c.notExplored?.length) lines.push('', `interrupted: not explored: ${c.notExplored.join(', ')}`);
  const cut = all.filter((r) => !r.complete);
  if (cut.length > 0) {
    lines.push('', 'incomplete (+):');
    for (const r of cut) lines.push(`  ${r.design}: ${incompleteText(r.incomplete)}`);
    const capped = cut.filter((r) => r.cappedAt !== undefined);
    if (capped.length > 0) {
      lines.push(
        '',
        `compare stops each design after ${capped[0]!.cappedAt} executions unless told otherwise; ${capped.length === 1 ? 'this design was' : 'these designs were'} cut by that cap,`,
        `not by the scenario: \`vdm check ${shellQuote(file)} --design NAME\` searches one to the end,`,
        '`--max-executions N` raises the cap here.',
      );
    }
  }
  for (const r of all) {
    for (const [id, s] of Object.entries(r.shortest)) {
      lines.push('', `${r.design} ${id} (shortest, ${s.events} events): ${s.message}`);
      lines.push(
        `  replay: vdm replay ${shellQuote(file)}${r === c.own ? '' : ` --design ${r.design}`} --schedule ${shellQuote(s.schedule)}`,
      );
    }
  }
  return lines.join('\n');
}

/** The repository's examples folder (beside dist/). */
function examplesDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples');
}

function schedule(s: string): string {
  try {
    decodeSchedule(s);
  } catch (e) {
    if (e instanceof ScheduleError) throw new UsageError(`--schedule: ${e.message}`);
    throw e;
  }
  return s;
}

/** Runs a command body, turning bad input into exit 2 with a message. */
/** guarded() for an async command body. */
function guardedAsync<A extends unknown[]>(body: (...a: A) => Promise<void>): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      await body(...a);
    } catch (e) {
      guarded(() => {
        throw e;
      })();
    }
  };
}

function guarded<A extends unknown[]>(body: (...a: A) => void): (...a: A) => void {
  return (...a: A) => {
    try {
      body(...a);
    } catch (e) {
      if (e instanceof ScenarioError) {
        for (const i of e.issues) process.stderr.write(`${formatIssue(i)}\n`);
        process.exit(2);
      }
      if (e instanceof UsageError) {
        process.stderr.write(`vdm: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
  };
}

export function addScenarioCommands(program: Command): void {
  searchFlags(
    designFlags(
      program
        .command('check')
        .description('explore every interleaving of a scenario and judge the result against its `expect`')
        .argument('<file>', 'scenario file (YAML)'),
    ),
  )
    .option('--json', 'print the result as JSON (the CLI contract)')
    .option('--functions', 'show kernel function entry/exit in counterexample traces')
    .option('--perfetto <file>', 'write the first counterexample as a Perfetto / Chrome trace')
    .option(
      '--report <format>',
      'text: after the result, the race diagram of the first counterexample of each invariant (with --json: raceDiagrams)',
      reportFormat('--report', ['text']),
    )
    .option(
      '--checkpoint <file>',
      'save the search frontier to this file as it goes (dpor or exhaustive); a folded search also writes its folding tables to <file>.folds',
    )
    .option(
      '--checkpoint-every <n>',
      'executions between checkpoints (default 1000; also every 10 s)',
      count('--checkpoint-every'),
    )
    .option('--resume <file>', 'continue the search a --checkpoint file saved')
    .option(
      '--stop-at-first',
      'stop once every expected violation is found (none expected: at the first violation); the search is then incomplete',
    )
    .option(
      '--time-limit <duration>',
      'stop after this long (500ms, 30s, 2m, 1h); the search is then incomplete',
    )
    .option(
      '--memory-guard <fraction>',
      'stop, saving a checkpoint, once the heap passes this fraction of its limit (default 0.85; 0: off)',
    )
    .option(
      '--workers <n>',
      "share the search out over this many executors, with one worker's report: dpor on worker threads (a folded dpor search runs on one), exhaustive search split over processes, or a swarm's runs (docs/cli.md)",
      count('--workers'),
    )
    .option(
      '--queue <url>',
      'spread the tasks as jobs on a Redis queue (redis://HOST:PORT) for `vdm worker`s',
    )
    .option(
      '--queue-split <n>',
      'subtrees to split an exhaustive search into for --queue (default 32)',
      count('--queue-split'),
    )
    .option(
      '--swarm <runs>',
      'run this many seeded random (or pct) explorations over the workers',
      count('--swarm'),
    )
    .action(
      guardedAsync(async (file: string, o: CheckFlags) => {
        const limits = limitOptions(o);
        const sc = loadScenarioFile(file);
        const design = designFromFlags(sc, o);
        const used = design ?? designOf(sc.design.name, sc.design.options);
        const strategy = o.strategy ?? sc.check.strategy ?? 'dpor';
        if ((o.checkpoint || o.resume) && strategy !== 'exhaustive' && strategy !== 'dpor') {
          throw new UsageError(
            '--checkpoint and --resume need --strategy dpor or exhaustive (random and pct runs are cheap to repeat with their seed)',
          );
        }
        const identity = { scenario: sc.name, design: used.name, options: used.options, strategy };
        // Checked here; the folding tables are read by the one search that folds (singleSearch).
        const resume = o.resume ? readCheckpoint(o.resume, identity, false) : undefined;
        const checkpoint = o.checkpoint;
        if (o.swarm !== undefined) {
          if (strategy !== 'random' && strategy !== 'pct' && o.strategy !== undefined) {
            throw new UsageError('--swarm runs random or pct explorations (--strategy random|pct)');
          }
          if (o.swarm < 1) throw new UsageError('--swarm needs at least one run');
          const workersN = o.workers ?? Math.max(1, availableParallelism());
          const runners = o.queue
            ? { queue: checkedQueue(o.queue), subtrees: o.queueSplit ?? 32 }
            : { workers: workersN };
          const bar = progressBar();
          const started = Date.now();
          let result: ExploreResult;
          try {
            const opts = checkExploreOptions(sc, {
              ...searchOptions(o),
              strategy: strategy === 'pct' ? 'pct' : 'random',
              design: used,
            });
            result = await swarmOnWorkers(sc, used, opts, o.swarm, runners, (p) => bar.update(p));
          } finally {
            bar.stop();
          }
          const rep: CheckReport = {
            ...checkReportOf(sc, used, result, Date.now() - started),
            coverage: { runs: o.swarm, distinct: result.coverage?.distinct ?? 0 },
          };
          const swarmDiagrams = o.report ? raceDiagrams(rep, sc, o, design) : undefined;
          print(
            o.json
              ? JSON.stringify(swarmDiagrams ? { ...rep, raceDiagrams: swarmDiagrams } : rep, null, 2)
              : `${checkText(rep, sc, o, design)}\nswarm: ${o.swarm} runs on ${o.queue ? `the queue ${o.queue}` : `${workersN} workers`}, ${rep.coverage!.distinct} distinct executions of ${rep.executions}${swarmDiagrams && rep.violations.length > 0 ? `\n\n${diagramsText(swarmDiagrams)}` : ''}`,
          );
          process.exitCode = rep.verdict === 'pass' ? 0 : 1;
          return;
        }
        const workers = o.workers ?? 1;
        const parallel = workers > 1 || o.queue !== undefined;
        if (parallel && strategy !== 'exhaustive' && strategy !== 'dpor') {
          throw new UsageError(
            `--workers and --queue share out a dpor or exhaustive search; ${strategy} runs spread over workers with --swarm`,
          );
        }
        if (o.foldStates && (o.queue !== undefined || strategy !== 'dpor')) {
          throw new UsageError(
            '--fold-states folds the states of one dpor search: use --strategy dpor without --queue',
          );
        }
        if (o.queue !== undefined && strategy !== 'exhaustive') {
          throw new UsageError(
            '--queue needs --strategy exhaustive: a dpor search hands out one execution at a time, too fine for a queue (use --workers)',
          );
        }
        if (o.queue !== undefined && (checkpoint || resume)) {
          throw new UsageError('--checkpoint and --resume do not combine with --queue yet');
        }
        // A folded dpor search is one search (its folding tables are built by each execution for
        // the next): --workers does not split it; it runs as without them, and says so. The
        // unfolded search that several threads could share is often far longer on the designs
        // that fold by default (--no-fold-states asks for it).
        const asked = checkExploreOptions(sc, { ...searchOptions(o), ...limits, strategy, design: used });
        // (A preemption bound turns folding off: dpor.ts.)
        const foldedAlone =
          workers > 1 &&
          o.queue === undefined &&
          strategy === 'dpor' &&
          asked.foldStates === true &&
          asked.preemptionBound === undefined;
        // An exhaustive search split over workers saves its subtrees; one search (and dpor on any
        // number of workers) its frontier. Each resumes its own kind.
        const split = parallel && strategy === 'exhaustive';
        if (resume && 'split' in resume !== split) {
          throw new UsageError(
            `--resume ${o.resume}: ${'split' in resume ? 'saved by an exhaustive search split over workers: resume it with --workers N' : 'saved by a search on one worker: resume it without --workers'}`,
          );
        }
        const save = (c: ExplorationCheckpoint | SplitCheckpoint) =>
          writeAtomically(checkpoint!, `${JSON.stringify({ ...identity, checkpoint: c })}\n`);
        const every = { everyExecutions: o.checkpointEvery ?? 1000, everyMs: 10_000 };
        // The frontier saved as it goes, or the one to go on from: the same file for one worker or many.
        const durable = {
          ...(resume && !('split' in resume) ? { resume } : {}),
          ...(checkpoint ? { checkpoint: { ...every, save } } : {}),
        };
        const durableSplit: SplitDurability = {
          ...(resume && 'split' in resume ? { resume } : {}),
          ...(checkpoint ? { checkpoint: { ...every, save } } : {}),
        };
        const bar = progressBar();
        let r: CheckReport;
        let stats: ParallelDporStats | undefined;
        let stoppedBy: NodeJS.Signals | undefined;
        if (foldedAlone && o.json) process.stderr.write(`vdm: ${foldedAloneNote(workers)}\n`);
        try {
          if (parallel && !foldedAlone) {
            const started = Date.now();
            const opts = asked;
            const runners = o.queue
              ? { queue: checkedQueue(o.queue), subtrees: o.queueSplit ?? 32 }
              : { workers };
            const result =
              strategy === 'dpor'
                ? await dporOnWorkers(
                    sc,
                    used,
                    { ...opts, ...durable, onProgress: (p) => bar.update(p) },
                    workers,
                    (st) => {
                      stats = st;
                    },
                  )
                : await checkOnWorkers(sc, used, opts, runners, (p) => bar.update(p), durableSplit);
            r = checkReportOf(sc, used, result, Date.now() - started);
          } else {
            // A dpor or exhaustive search runs here for its first two seconds; one that needs
            // longer goes on from its frontier (and a folded one with its folding tables) on a
            // thread of its own, so that Ctrl-C and SIGTERM reach this thread while it runs (a
            // search running on this one cannot hear them).
            const begun = Date.now();
            const durableSearch = strategy === 'dpor' || strategy === 'exhaustive';
            const stop = new SignalStop();
            let out: { report: CheckReport; frontier?: string };
            try {
              const first = durableSearch
                ? singleSearch(file, o, {
                    onProgress: (p) => bar.update(p),
                    handOverAfterMs: HAND_OVER_AFTER_MS,
                  })
                : undefined;
              // A signal that came while the main thread searched is heard now: the thread, if
              // one is needed, stops after its first execution.
              await new Promise((resolve) => setImmediate(resolve));
              out =
                first && !first.handOver
                  ? first
                  : await searchOnThread(
                      file,
                      o,
                      (p) => bar.update(p),
                      stop,
                      first?.handOver,
                      Date.now() - begun,
                    );
            } finally {
              stop.release();
            }
            r = out.report;
            // The signal counts if it cut the search (one that came as it ended changes nothing).
            if (r.incomplete?.some((i) => i.reason === 'interrupted')) stoppedBy = stop.signal;
            const frontier = out.frontier ?? (stoppedBy && durableSearch ? checkpoint : undefined);
            if (frontier && !o.json)
              process.stderr.write(
                `vdm: the search stopped early; its frontier is in ${frontier}: go on with \`vdm check ${file} --resume ${frontier}\`\n`,
              );
          }
        } finally {
          bar.stop();
        }
        if (o.perfetto && r.violations[0]) {
          writePerfetto(recordScenario(sc, r.violations[0].schedule, design ? { design } : {}), o.perfetto);
        }
        const diagrams = o.report ? raceDiagrams(r, sc, o, design) : undefined;
        print(
          o.json
            ? JSON.stringify(diagrams ? { ...r, raceDiagrams: diagrams } : r, null, 2)
            : `${checkText(r, sc, o, design)}${stats ? `\n${parallelDporText(stats)}` : ''}${foldedAlone ? `\n${foldedAloneNote(workers)}` : ''}${diagrams && r.violations.length > 0 ? `\n\n${diagramsText(diagrams)}` : ''}`,
        );
        // Stopped by a signal: the partial result is printed, and the exit status says why (128 + n).
        process.exitCode = stoppedBy ? 128 + osConstants.signals[stoppedBy] : r.verdict === 'pass' ? 0 : 1;
      }),
    );

  traceFlags(
    designFlags(
      program
        .command('run')
        .description('run one execution (threads one after another, as written) and print its trace')
        .argument('<file>', 'scenario file (YAML)'),
    ),
  ).action(
    guarded((file: string, o: DesignFlags & { json?: boolean; functions?: boolean; perfetto?: string }) => {
      const sc = loadScenarioFile(file);
      const design = designFromFlags(sc, o);
      const rec = runScenario(sc, design ? { design } : {});
      printRecord(rec, o);
    }),
  );

  traceFlags(
    designFlags(
      program
        .command('replay')
        .description('replay one schedule (from check, compare or a report) and print its trace')
        .argument('<file>', 'scenario file (YAML)'),
    ),
  )
    .requiredOption('--schedule <s>', 'the schedule to replay')
    .action(
      guarded(
        (
          file: string,
          o: DesignFlags & { schedule: string; json?: boolean; functions?: boolean; perfetto?: string },
        ) => {
          const sc = loadScenarioFile(file);
          const design = designFromFlags(sc, o);
          const rec = recordScenario(sc, schedule(o.schedule), design ? { design } : {});
          if (rec.replayError) {
            throw new UsageError(
              `--schedule does not fit ${file} on ${rec.design.name}: ${rec.replayError} (made with another --design, or before the file changed?)`,
            );
          }
          printRecord(rec, o);
        },
      ),
    );

  searchFlags(
    program
      .command('compare')
      .description('run a scenario on every design and print the design × invariant matrix')
      .argument('<file>', 'scenario file (YAML)'),
  )
    .option('--json', 'print the result as JSON (the CLI contract)')
    .option(
      '--workers <n>',
      'explore this many designs at once, each on a thread of its own (default: one per core); the report is the same',
      count('--workers'),
    )
    .action(
      guardedAsync(async (file: string, o: SearchFlags & { json?: boolean; workers?: number }) => {
        const rows = compareRuns(loadScenarioFile(file)).length;
        if (o.workers !== undefined && o.workers < 1)
          throw new UsageError('--workers needs at least one thread');
        const workers = Math.min(rows, o.workers ?? Math.max(1, availableParallelism()));
        const bar = progressBar();
        // On search threads, so that Ctrl-C and SIGTERM reach this one: the partial matrix is printed.
        const stop = new SignalStop();
        let c: CompareReport;
        try {
          if (workers > 1) c = await compareOnThreads(file, o, workers, stop, bar);
          else {
            const m = await onThread({ file, flags: o, compare: true, elapsedBeforeMs: 0 }, stop, {
              onProgress: (p) => bar.update(p),
              onPhase: (d) => bar.phase(d),
            });
            if (m.t !== 'compared') throw new Error('the search thread searched instead of comparing');
            c = m.report;
          }
        } finally {
          stop.release();
          bar.stop();
        }
        print(o.json ? JSON.stringify(c, null, 2) : compareText(c, file));
        const cut =
          c.notExplored !== undefined ||
          [c.own, ...c.results].some((r) => r?.incomplete?.some((i) => i.reason === 'interrupted'));
        if (cut && stop.signal) process.exitCode = 128 + osConstants.signals[stop.signal];
      }),
    );

  searchFlags(
    designFlags(
      program
        .command('lockdep')
        .description(
          'explore a scenario and print its lock graph: the lock classes (kernel names), every dependency any execution made, and any circular dependency',
        )
        .argument('<file>', 'scenario file (YAML)'),
    ),
  )
    .option('--json', 'print the graph as JSON')
    .action(
      guarded((file: string, o: DesignFlags & SearchFlags & { json?: boolean }) => {
        const sc = loadScenarioFile(file);
        const design = designFromFlags(sc, o) ?? designOf(sc.design.name, sc.design.options);
        // The whole graph: a search that stops at the first violation would leave edges out.
        const {
          stopAtFirst: _s,
          stopWhen: _w,
          ...options
        } = checkExploreOptions(sc, {
          ...searchOptions(o),
          design,
        });
        const bar = progressBar();
        let g: LockGraph;
        try {
          g = exploreLockGraph(scenarioProgram(sc, { design }), {
            ...options,
            onProgress: (p) => bar.update(p),
          });
        } finally {
          bar.stop();
        }
        if (o.json) {
          const { result, ...graph } = g;
          print(
            JSON.stringify(
              {
                scenario: sc.name,
                design: design.name,
                executions: result.executions,
                complete: result.complete,
                ...(result.incomplete?.length ? { incomplete: result.incomplete } : {}),
                dependencies: graph.dependencies.map((d) => ({
                  ...d,
                  fromKernel: kernelLockName(d.from),
                  toKernel: kernelLockName(d.to),
                })),
                cycles: graph.cycles.map((c) => c.map((d) => `${d.from} -> ${d.to}`)),
              },
              null,
              2,
            ),
          );
        } else {
          const r = g.result;
          const status = r.complete ? 'complete' : `incomplete: ${incompleteText(r.incomplete)}`;
          print(
            lockGraphText(
              g,
              `${sc.name} on ${design.name}: ${r.executions} executions (${options.strategy ?? 'dpor'}), ${status}`,
              (schedule) => replayCommand(sc.file, schedule, o),
            ),
          );
        }
        process.exitCode = g.cycles.length > 0 ? 1 : 0;
      }),
    );

  searchFlags(
    designFlags(
      program
        .command('report')
        .description(
          'explore a scenario and write one self-contained HTML report, or print the race diagram of each counterexample (--format text)',
        )
        .argument('<file>', 'scenario file (YAML)'),
    ),
  )
    .option('-o, --output <file>', 'the file to write (needed for html; text goes to stdout without it)')
    .option(
      '--format <format>',
      'html (default) or text: the race diagrams',
      reportFormat('--format', ['html', 'text']),
    )
    .option('--no-compare', 'leave out the design × invariant matrix (it explores every design)')
    .option('--schedule <s>', 'show this execution instead of the first counterexample')
    .option(
      '--workers <n>',
      "explore this many of the matrix's designs at once, each on a thread of its own (default: one per core)",
      count('--workers'),
    )
    .action(
      guardedAsync(
        async (
          file: string,
          o: DesignFlags &
            SearchFlags & {
              output?: string;
              compare: boolean;
              schedule?: string;
              format?: string;
              workers?: number;
            },
        ) => {
          const text = o.format === 'text';
          if (!text && o.output === undefined)
            throw new UsageError('report: -o FILE is needed for the HTML report (or --format text)');
          const sc = loadScenarioFile(file);
          const design = designFromFlags(sc, o);
          const search = searchOptions(o);
          const bar = progressBar();
          let check: CheckReport;
          let compare: CompareReport | undefined;
          try {
            check = checkScenario(sc, {
              ...search,
              ...(design ? { design } : {}),
              onProgress: (p) => bar.update(p),
            });
            if (o.compare && !text) {
              if (o.workers !== undefined && o.workers < 1)
                throw new UsageError('--workers needs at least one thread');
              const workers = Math.min(
                compareRuns(sc).length,
                o.workers ?? Math.max(1, availableParallelism()),
              );
              if (workers > 1) {
                // The designs on threads of their own; a signal then stops them, and no report is written.
                const stop = new SignalStop();
                try {
                  compare = await compareOnThreads(file, o, workers, stop, bar);
                } finally {
                  stop.release();
                }
                if (stop.signal) {
                  bar.stop();
                  process.stderr.write(`vdm: ${stop.signal}: no report written\n`);
                  process.exitCode = 128 + osConstants.signals[stop.signal];
                  return;
                }
              } else
                compare = compareScenario(sc, {
                  ...search,
                  onDesign: (d) => bar.phase(d),
                  onProgress: (p) => bar.update(p),
                });
            }
          } finally {
            bar.stop();
          }
          const summary = `${check.verdict}, ${check.violations.length} violation(s), ${check.executions} executions${check.complete ? '' : `, incomplete: ${incompleteText(check.incomplete)}`}`;
          if (text) {
            // One diagram per invariant found (or of the --schedule given), as check --report text.
            let body: string;
            if (o.schedule !== undefined) {
              const rec = recordScenario(sc, schedule(o.schedule), design ? { design } : {});
              if (rec.replayError) {
                throw new UsageError(
                  `--schedule does not fit ${file} on ${rec.design.name}: ${rec.replayError} (made with another --design, or before the file changed?)`,
                );
              }
              body = formatRaceDiagram(rec, { designArgs: designArgs(o) }).replace(/\n$/, '');
            } else if (check.violations.length > 0) {
              body = diagramsText(raceDiagrams(check, sc, o, design));
            } else {
              body = `${check.scenario} on ${check.design}: no violation found, no race to draw (${summary})`;
            }
            if (o.output !== undefined) {
              writeAtomically(o.output, `${body}\n`);
              print(`wrote ${o.output}: ${summary}`);
            } else print(body);
            return;
          }
          const sched = o.schedule !== undefined ? schedule(o.schedule) : check.violations[0]?.schedule;
          const record =
            sched !== undefined
              ? recordScenario(sc, sched, design ? { design } : {})
              : runScenario(sc, design ? { design } : {});
          const html = renderHtmlReport({
            title: sc.name,
            file: sc.file,
            source: sc.source,
            check,
            record,
            designArgs: designArgs(o),
            // The file's own design options (when it sets any) as the matrix's first row.
            ...(compare
              ? {
                  compare: {
                    ...compare,
                    results: compare.own ? [compare.own, ...compare.results] : compare.results,
                  },
                }
              : {}),
          });
          writeAtomically(o.output!, html);
          print(`wrote ${o.output}: ${summary}`);
        },
      ),
    );

  program
    .command('list')
    .description('print what exists: designs, invariants or examples')
    .argument('<what>', 'designs | invariants | examples')
    .option('--json', 'print as JSON')
    .action(
      guarded((what: string, o: { json?: boolean }) => {
        const kinds = ['designs', 'invariants', 'examples'];
        if (!kinds.includes(what)) {
          const s = suggest(what, kinds);
          throw new UsageError(
            `list: unknown "${what}"${s ? ` — did you mean \`${s}\`?` : ''} (designs, invariants, examples)`,
          );
        }
        if (what === 'designs') {
          const list = DESIGN_NAMES.map((n) => ({
            name: n,
            summary: DESIGNS[n].summary,
            options: DESIGNS[n].options,
          }));
          if (o.json) print(JSON.stringify({ designs: list, optionValues: OPTION_VALUES }, null, 2));
          else {
            for (const d of list) print(`${d.name.padEnd(10)} ${d.summary}`);
            print("\noptions (--option key=value, or beside `name` in a scenario's design):");
            for (const [k, v] of Object.entries(OPTION_VALUES))
              print(`  ${k}: ${(v as readonly unknown[]).join(' | ')}`);
          }
        } else if (what === 'invariants') {
          if (o.json) print(JSON.stringify({ invariants: INVARIANTS }, null, 2));
          else for (const i of INVARIANTS) print(`${i.id.padEnd(21)} ${i.summary}`);
        } else {
          const dir = examplesDir();
          let files: string[] = [];
          try {
            files = readdirSync(dir)
              .filter((f) => f.endsWith('.yaml'))
              .sort();
          } catch {
            throw new UsageError(`list examples: no examples folder at ${dir}`);
          }
          const list = files.map((f) => {
            const path = join(dir, f);
            try {
              const sc = loadScenarioFile(path);
              return {
                file: relative(process.cwd(), path),
                name: sc.name,
                design: sc.design.name,
                expect: sc.expect.violations,
                ...(sc.expect.designs ? { expectByDesign: sc.expect.designs } : {}),
              };
            } catch (e) {
              return {
                file: relative(process.cwd(), path),
                name: '?',
                design: '?',
                expect: [],
                error: String(e),
              };
            }
          });
          if (o.json) print(JSON.stringify({ examples: list }, null, 2));
          else
            for (const x of list) {
              const exp = x.expect.length ? x.expect.join(', ') : 'no violation';
              print(`${x.file}  [${x.design}; expects ${exp}]  ${x.name}`);
            }
        }
      }),
    );

  program
    .command('worker')
    .description('take exploration jobs from a Redis queue (what `vdm check --queue` adds) until stopped')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT')
    .option('--concurrency <n>', 'jobs at once (default 1)', count('--concurrency'))
    .action(
      guarded((o: { queue: string; concurrency?: number }) => {
        const w = startQueueWorker(checkedQueue(o.queue), o.concurrency ?? 1);
        process.stderr.write(`vdm worker: taking jobs from ${o.queue} (stop with Ctrl-C)\n`);
        const stop = (): void => {
          void w.close().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );

  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editor completion)')
    .action(() => print(JSON.stringify(scenarioJsonSchema(), null, 2)));
}
