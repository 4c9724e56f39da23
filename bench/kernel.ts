// The kernel-scenario table of `npm run bench`: every examples/*.yaml and bench/scenarios/kernel/*.yaml
// on every design, each explored completely with dpor (the file's own maxExecutions ignored, its
// preemptionBound and maxSteps kept) in a fresh child process (bench/kernel-cell.ts) that is killed
// at a time limit. Then a small table of how the search grows per added faulting thread. Prints
// figures; asserts nothing.
//
// Standalone: node dist/bench/kernel.js [--limit SECONDS] [--filter REGEX] [--designs a,b]
//                                       [--dist DIR] [--json FILE] [--memory MiB]
//             node dist/bench/kernel.js --render FILE   (the tables of a --json file, measuring nothing)
// --dist loads the project from another build's dist/ (the scenario files are always this
// checkout's), so an older build can be measured with this script.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CellLine } from './kernel-cell.js';

export interface KernelBenchOptions {
  /** Seconds of search per cell before its process is killed (default 60, or $VDM_BENCH_KERNEL_LIMIT). */
  limitSeconds?: number;
  /** Only scenario files whose name (with or without .yaml) matches. */
  filter?: RegExp;
  /** Only these designs (default: every design the build exports, in its order). */
  designs?: readonly string[];
  /** The dist/ directory to load the project from (default: the one this script lives in). */
  dist?: string;
  /** Write every row, with the settings, as JSON to this file. */
  json?: string;
  /** The child's --max-old-space-size, in MiB (default 1024). */
  memoryMiB?: number;
  /** A --json file of an earlier run to set beside this one (default: the committed baseline). */
  before?: string;
}

/**
 * The run the before/after table compares against by default: the newest committed run (2026-12-05
 * evening, 20 s per cell; docs/performance.md). Earlier runs, for `--before`:
 * bench/results/kernel-after-rwsem-lazy-fix.json, kernel-after-region-layout.json,
 * kernel-before-issue-15.json (before the fidelity work) and kernel-before-2026-12-04.json (before
 * the speed work).
 */
export const BASELINE = 'bench/results/kernel-after-direct-cut.json';

/** finished: the search ran to its end (complete or cut by a bound of the file); limit: killed at the time limit. */
export type CellStatus = 'finished' | 'limit' | 'oom' | 'error' | 'crash';

export interface KernelRow {
  /** File name without .yaml. */
  scenario: string;
  /** Path relative to the checkout. */
  file: string;
  design: string;
  status: CellStatus;
  executions: number;
  events: number;
  /** dpor finished the search (false when a bound of the file cut it, or it was stopped). */
  complete: boolean;
  /** Time of the search (at the last progress line for a stopped cell). */
  ms: number;
  firstViolationMs: number | null;
  peakRssMiB: number;
  /** Distinct violation ids (only known for cells that finished). */
  violations: string[];
  /** Distinct violations found so far, for a cell that was stopped. */
  violationsSoFar?: number;
  /** error/crash: what went wrong. */
  message?: string;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../..');
const cellScript = join(here, 'kernel-cell.js');
const DEFAULT_LIMIT = 60;
const DEFAULT_MEMORY = 1024;
/** Start-up (imports, loading the scenario) allowed before the search's own time limit starts. */
const STARTUP_GRACE_MS = 30_000;

function scenarioFiles(filter: RegExp | undefined): { scenario: string; file: string }[] {
  const out: { scenario: string; file: string }[] = [];
  for (const dir of ['examples', 'bench/scenarios/kernel']) {
    const stems = readdirSync(join(root, dir))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    for (const scenario of stems) {
      const f = `${scenario}.yaml`;
      if (filter && !filter.test(scenario) && !filter.test(f)) continue;
      out.push({ scenario, file: `${dir}/${f}` });
    }
  }
  return out;
}

export interface CellRun {
  lines: CellLine[];
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  /** V8 reported running out of heap. */
  oom: boolean;
  stderr: string;
  /** The child's VmHWM as last read from /proc (0 where there is no /proc). */
  hwmMiB: number;
}

const HWM_EVERY_MS = 250;

/** A live process's peak resident set (VmHWM) in MiB, or 0 when it cannot be read. */
function peakRssOf(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs one cell (bench/kernel-cell.ts) in a child process for at most `limitMs` of search. */
export function runCell(
  dist: string,
  file: string,
  design: string,
  limitMs: number,
  memoryMiB: number,
): Promise<CellRun> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [`--max-old-space-size=${memoryMiB}`, cellScript, dist, join(root, file), design],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lines: CellLine[] = [];
    let out = '';
    let stderr = '';
    let killed = false;
    let oom = false;
    // The child reports its own peak RSS, but only between executions: the parent also reads the
    // kernel's high-water mark while the child lives (Linux), for cells killed or out of memory.
    let hwmMiB = 0;
    const poll = (): void => {
      if (child.pid !== undefined) hwmMiB = Math.max(hwmMiB, peakRssOf(child.pid));
    };
    const poller = setInterval(poll, HWM_EVERY_MS);
    const kill = (): void => {
      poll();
      killed = true;
      child.kill('SIGKILL');
    };
    let timer = setTimeout(kill, limitMs + STARTUP_GRACE_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl = out.indexOf('\n');
      while (nl >= 0) {
        const text = out.slice(0, nl);
        out = out.slice(nl + 1);
        nl = out.indexOf('\n');
        let l: CellLine;
        try {
          l = JSON.parse(text) as CellLine;
        } catch {
          continue;
        }
        lines.push(l);
        if (l.type === 'start') {
          clearTimeout(timer);
          timer = setTimeout(kill, limitMs);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-65536);
      if (!oom && isOom(stderr)) oom = true;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poller);
      done({ lines, code, signal, killed, oom, stderr, hwmMiB });
    });
  });
}

function isOom(stderr: string): boolean {
  return /heap out of memory|Reached heap limit|Allocation failed/.test(stderr);
}

function rowOf(scenario: string, file: string, design: string, run: CellRun): KernelRow {
  const base = { scenario, file, design };
  const last = <T extends CellLine['type']>(type: T): Extract<CellLine, { type: T }> | undefined =>
    [...run.lines].reverse().find((l) => l.type === type) as Extract<CellLine, { type: T }> | undefined;
  const d = last('done');
  if (d) {
    return {
      ...base,
      status: 'finished',
      executions: d.executions,
      events: d.events,
      complete: d.complete,
      ms: d.ms,
      firstViolationMs: d.firstViolationMs,
      peakRssMiB: Math.max(d.peakRssMiB, run.hwmMiB),
      violations: d.violations,
    };
  }
  const p = last('progress');
  const sofar = {
    executions: p?.executions ?? 0,
    events: p?.events ?? 0,
    complete: false,
    ms: p?.ms ?? 0,
    firstViolationMs: p?.firstViolationMs ?? null,
    peakRssMiB: Math.max(p?.peakRssMiB ?? 0, run.hwmMiB),
    violations: [],
    ...(p ? { violationsSoFar: p.violations } : {}),
  };
  const e = last('error');
  if (e) return { ...base, ...sofar, status: 'error', message: `${e.phase}: ${e.message}` };
  if (run.oom) return { ...base, ...sofar, status: 'oom' };
  if (run.killed) return { ...base, ...sofar, status: 'limit' };
  const tail = run.stderr.trim().split('\n').slice(-3).join(' | ');
  const how = run.signal ? `signal ${run.signal}` : `exit ${run.code}`;
  return { ...base, ...sofar, status: 'crash', message: tail ? `${how}: ${tail}` : how };
}

const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Lays rows out in columns; `left` columns are padded on the right, the others on the left. */
function table(header: string[], rows: string[][], left: Set<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function timeCell(r: KernelRow, limitSeconds: number): string {
  switch (r.status) {
    case 'finished':
      return fmt(r.ms / 1000, 2);
    case 'limit':
      return `>${limitSeconds} s`;
    case 'oom':
      return 'OOM';
    case 'error':
      return `error: ${r.message!.length > 60 ? `${r.message!.slice(0, 57)}...` : r.message}`;
    case 'crash':
      return `crash (${r.message!.split(':')[0]})`;
  }
}

function violationsCell(r: KernelRow): string {
  if (r.status === 'finished') return r.violations.join(', ') || '-';
  if (r.status === 'error') return '';
  return r.violationsSoFar ? `${r.violationsSoFar} found so far` : '';
}

function mainTable(rows: KernelRow[], limitSeconds: number): string[] {
  const header = [
    'scenario',
    'design',
    'executions',
    'events',
    'Mevents/s',
    'exec/s',
    'peak RSS MiB',
    'first violation s',
    'complete s',
    'violations',
  ];
  const body = rows.map((r) => {
    const ran = r.status !== 'error' && r.ms > 0;
    const lower = r.complete ? '' : '>=';
    return [
      r.scenario,
      r.design,
      r.status === 'error' ? '' : `${lower}${fmt(r.executions)}`,
      r.status === 'error' ? '' : `${lower}${fmt(r.events)}`,
      ran ? fmt(r.events / r.ms / 1000, 2) : '',
      ran ? fmt((r.executions / r.ms) * 1000) : '',
      r.status === 'error' ? '' : fmt(r.peakRssMiB),
      r.firstViolationMs === null ? '-' : fmt(r.firstViolationMs / 1000, 2),
      timeCell(r, limitSeconds),
      violationsCell(r),
    ];
  });
  return table(header, body, new Set([0, 1, 9]));
}

function summary(rows: KernelRow[], limitSeconds: number, allDesigns: readonly string[]): string[] {
  const done = rows.filter((r) => r.status === 'finished');
  const events = done.reduce((a, r) => a + r.events, 0);
  const seconds = done.reduce((a, r) => a + r.ms, 0) / 1000;
  const stopped = rows.filter((r) => r.status === 'limit');
  const big = rows.filter((r) => r.peakRssMiB > 1024).length;
  const count = (s: CellStatus): number => rows.filter((r) => r.status === s).length;
  const out = [
    done.length === 0
      ? 'events/s: no cell finished'
      : `events/s over the ${done.length} cells that finished: ${fmt(events / seconds / 1e6, 2)} million ` +
        `(${fmt(events)} events in ${fmt(seconds, 1)} s)`,
    `over the time limit (${limitSeconds} s): ${stopped.length} cells; over 1 GiB RSS: ${big} cells; ` +
      `out of memory: ${count('oom')}; errors: ${count('error')}; crashed: ${count('crash')}`,
  ];
  // The cells stopped at the limit are all "the slowest": list them by scenario, then the ten
  // slowest of the others.
  if (stopped.length > 0) {
    out.push(`over the time limit, by scenario:`);
    const byScenario = new Map<string, string[]>();
    for (const r of stopped) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r.design]);
    const width = Math.max(...[...byScenario.keys()].map((k) => k.length));
    for (const [scenario, designs] of byScenario) {
      const of = new Set(rows.filter((r) => r.scenario === scenario).map((r) => r.design));
      const others = allDesigns.filter((d) => of.has(d) && !designs.includes(d));
      const which =
        others.length === 0
          ? `all ${designs.length} designs`
          : designs.length <= others.length
            ? designs.join(', ')
            : `${designs.length} designs, all but ${others.join(', ')}`;
      out.push(`  ${scenario.padEnd(width)}  ${which}`);
    }
  }
  const slowest = rows
    .filter((r) => r.status !== 'error' && r.status !== 'limit')
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10);
  out.push(stopped.length > 0 ? 'ten slowest of the other cells:' : 'ten slowest cells:');
  const body = slowest.map((r) => [
    `  ${r.scenario}`,
    r.design,
    r.status === 'finished' ? `${fmt(r.ms / 1000, 2)} s` : timeCell(r, limitSeconds),
    `${r.complete ? '' : '>='}${fmt(r.executions)} executions`,
  ]);
  if (body.length > 0) {
    const widths = [0, 1, 2, 3].map((i) => Math.max(...body.map((b) => b[i]!.length)));
    for (const b of body)
      out.push(
        [
          b[0]!.padEnd(widths[0]!),
          b[1]!.padEnd(widths[1]!),
          b[2]!.padStart(widths[2]!),
          b[3]!.padStart(widths[3]!),
        ]
          .join('  ')
          .trimEnd(),
      );
  }
  return out;
}

/** executions(r) / executions(prev), with >= or <= where one of the two searches did not finish. */
function ratio(r: KernelRow, prev: KernelRow): string {
  if (!r.complete && !prev.complete) return '?';
  const x = fmt(r.executions / prev.executions, 1);
  return r.complete ? (prev.complete ? x : `<=${x}`) : `>=${x}`;
}

const GROWTH_N = [1, 2, 3, 4];

function growthTable(rows: KernelRow[], limitSeconds: number): string[] {
  const find = (scenario: string): KernelRow | undefined =>
    rows.find((r) => r.scenario === scenario && r.design === 'upstream');
  const families = [
    { label: 'faults-N', name: (n: number) => `faults-${n}` },
    { label: 'faults-N-reset', name: (n: number) => `faults-${n}-reset` },
  ];
  if (!GROWTH_N.some((n) => families.some((f) => find(f.name(n)))))
    return ['(growth per added faulting thread: no faults-N row on upstream in this run)'];
  const header = ['faulting threads'];
  for (const f of families) header.push(`${f.label} executions`, 's', 'x prev');
  const body = GROWTH_N.map((n) => {
    const cells = [String(n)];
    for (const f of families) {
      const r = find(f.name(n));
      const prev = find(f.name(n - 1));
      if (!r || r.status === 'error') {
        cells.push(r ? 'error' : '', '', '');
        continue;
      }
      cells.push(
        `${r.complete ? '' : '>='}${fmt(r.executions)}`,
        r.status === 'finished' ? fmt(r.ms / 1000, 2) : timeCell(r, limitSeconds),
        prev && prev.status !== 'error' && prev.executions > 0 ? ratio(r, prev) : '',
      );
    }
    return cells;
  });
  return [
    'growth per added faulting thread (bench/scenarios/kernel/faults-N[-reset].yaml, upstream; ' +
      'N threads each fault one page while admin disables memory, -reset adds a reset)',
    '',
    ...table(header, body, new Set()),
  ];
}

/** Measures every scenario × design cell, prints the tables, returns the rows. */
export async function kernelBench(opts: KernelBenchOptions = {}): Promise<KernelRow[]> {
  const envLimit = Number(process.env.VDM_BENCH_KERNEL_LIMIT);
  const limitSeconds = opts.limitSeconds ?? (envLimit > 0 ? envLimit : DEFAULT_LIMIT);
  const memoryMiB = opts.memoryMiB ?? DEFAULT_MEMORY;
  const dist = resolve(opts.dist ?? resolve(here, '..'));
  const designMod = (await import(pathToFileURL(join(dist, 'src/designs/design.js')).href)) as {
    DESIGN_NAMES: readonly string[];
  };
  const all = designMod.DESIGN_NAMES;
  const designs = opts.designs ?? all;
  const unknown = designs.filter((d) => !all.includes(d));
  if (unknown.length > 0)
    throw new Error(`kernel bench: unknown design(s) ${unknown.join(', ')}: expected ${all.join(', ')}`);
  const files = scenarioFiles(opts.filter);
  const cells = files.flatMap((f) => designs.map((design) => ({ ...f, design })));
  const tty = process.stderr.isTTY === true;
  const rows: KernelRow[] = [];
  for (const [k, c] of cells.entries()) {
    if (tty) process.stderr.write(`\r\x1b[Kcell ${k + 1}/${cells.length}: ${c.scenario} ${c.design}`);
    const run = await runCell(dist, c.file, c.design, limitSeconds * 1000, memoryMiB);
    rows.push(rowOf(c.scenario, c.file, c.design, run));
  }
  if (tty) process.stderr.write('\r\x1b[K');
  const meta: KernelMeta = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? null,
    node: process.version,
    dist,
    limitSeconds,
    memoryMiB,
    designs,
    filter: opts.filter?.source ?? null,
  };
  console.log(render(meta, rows).join('\n'));
  const before = loadRun(resolve(root, opts.before ?? BASELINE));
  if (before) console.log(['', ...beforeAfter(before, { meta, rows })].join('\n'));
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  return rows;
}

function loadRun(file: string): { meta: KernelMeta; rows: KernelRow[] } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { meta: KernelMeta; rows: KernelRow[] };
  } catch {
    return undefined;
  }
}

/** The executions, time and peak RSS of a cell, as a before/after column. */
function cellText(r: KernelRow, limitSeconds: number): string {
  const n = `${r.status === 'finished' ? '' : '>='}${fmt(r.executions)}`;
  return `${n} in ${timeCell(r, limitSeconds)}${r.status === 'finished' ? ' s' : ''}, ${fmt(r.peakRssMiB)} MiB`;
}

/** Each cell of `after` beside the same cell of `before`: executions, time, peak memory. */
export function beforeAfter(
  before: { meta: KernelMeta; rows: KernelRow[] },
  after: { meta: KernelMeta; rows: KernelRow[] },
): string[] {
  const old = new Map(before.rows.map((r) => [`${r.scenario}\0${r.design}`, r]));
  const rows: string[][] = [];
  for (const r of after.rows) {
    const b = old.get(`${r.scenario}\0${r.design}`);
    if (!b) continue;
    const speed =
      b.status === 'finished' && r.status === 'finished' && r.ms > 0
        ? `${fmt(b.ms / r.ms, 1)}x`
        : b.status !== 'finished' && r.status === 'finished'
          ? `>${fmt((before.meta.limitSeconds * 1000) / Math.max(r.ms, 1), 0)}x`
          : '-';
    rows.push([
      r.scenario,
      r.design,
      cellText(b, before.meta.limitSeconds),
      cellText(r, after.meta.limitSeconds),
      speed,
      r.complete ? 'complete' : r.status === 'finished' ? 'cut by the file' : 'not finished',
    ]);
  }
  if (rows.length === 0) return ['(before/after: no cell of this run is in the earlier one)'];
  return [
    `before (${before.meta.date.slice(0, 10)}, ${before.meta.limitSeconds} s per cell) and after ` +
      `(this run, ${after.meta.limitSeconds} s per cell): executions in seconds, peak RSS`,
    '',
    ...table(
      ['scenario', 'design', 'before', 'after', 'speed-up', 'after is'],
      rows,
      new Set([0, 1, 2, 3, 5]),
    ),
  ];
}

/** The settings of a run, saved beside its rows by --json. */
export interface KernelMeta {
  date: string;
  cpu: string | null;
  node: string;
  dist: string;
  limitSeconds: number;
  memoryMiB: number;
  designs: readonly string[];
  filter: string | null;
}

/** The tables of a run: the cells, the summary and the growth table. */
export function render(meta: KernelMeta, rows: KernelRow[]): string[] {
  const scenarios = new Set(rows.map((r) => r.scenario)).size;
  return [
    `kernel scenarios on ${meta.cpu ?? 'unknown CPU'}, node ${meta.node}: ` +
      `dpor, complete search, one process per cell`,
    `(${scenarios} scenarios x ${meta.designs.length} designs; killed after ${meta.limitSeconds} s of search, ` +
      `${meta.memoryMiB} MiB heap; >= marks a count of a search that did not finish; project from ${meta.dist})`,
    '',
    ...mainTable(rows, meta.limitSeconds),
    '',
    ...summary(rows, meta.limitSeconds, meta.designs),
    '',
    ...growthTable(rows, meta.limitSeconds),
  ];
}

function parseArgs(argv: string[]): KernelBenchOptions & { render?: string } {
  const o: KernelBenchOptions & { render?: string } = {};
  const usage =
    'usage: node dist/bench/kernel.js [--limit SECONDS] [--filter REGEX] [--designs a,b,c] [--dist DIR] ' +
    '[--json FILE] [--memory MiB] [--before FILE]\n       node dist/bench/kernel.js --render FILE [--before FILE]   (print the tables of a --json file again)';
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '-h' || flag === '--help') {
      console.log(usage);
      process.exit(0);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${usage}`);
    const num = (): number => {
      const n = Number(value);
      if (!(n > 0)) throw new Error(`${flag}: expected a positive number, got "${value}"`);
      return n;
    };
    switch (flag) {
      case '--limit':
        o.limitSeconds = num();
        break;
      case '--filter':
        o.filter = new RegExp(value);
        break;
      case '--designs':
        o.designs = value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        break;
      case '--dist':
        o.dist = value;
        break;
      case '--json':
        o.json = value;
        break;
      case '--memory':
        o.memoryMiB = Math.round(num());
        break;
      case '--render':
        o.render = value;
        break;
      case '--before':
        o.before = value;
        break;
      default:
        throw new Error(`unknown option ${flag}\n${usage}`);
    }
  }
  return o;
}

const isMain = (() => {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  try {
    const o = parseArgs(process.argv.slice(2));
    if (o.render !== undefined) {
      const saved = JSON.parse(readFileSync(o.render, 'utf8')) as { meta: KernelMeta; rows: KernelRow[] };
      console.log(render(saved.meta, saved.rows).join('\n'));
      const before = o.before ? loadRun(o.before) : undefined;
      if (before) console.log(['', ...beforeAfter(before, saved)].join('\n'));
    } else await kernelBench(o);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
