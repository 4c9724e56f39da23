// The speed-and-scale summary of `npm run bench`: one table with the side by side with Spin, the
// state cache, checkpoints, worker processes, a swarm and (when redis-server is installed) the
// Redis queue, and the peak memory of a long search, each measured here and now. Prints figures;
// asserts only that the parallel and resumed runs found what the plain ones found.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOnWorkers, dporOnWorkers, swarmOnWorkers } from '../src/cli/parallel-check.js';
import { writeAtomically } from '../src/cli/write-atomically.js';
import { designOf } from '../src/designs/design.js';
import { loadScenarioFile } from '../src/scenario/load.js';
import { scenarioProgram } from '../src/scenario/program.js';
import { type DporJobResult, DporJobRunner } from '../src/sched/dpor-job.js';
import { ParallelDpor } from '../src/sched/dpor-parallel.js';
import {
  type ExplorationCheckpoint,
  type ExploreOptions,
  type ExploreResult,
  explore,
  type Program,
} from '../src/sched/index.js';
import { Lockdep } from '../src/sched/lockdep.js';
import { runCell } from './kernel.js';
import { revokeVsFaults, type SpinRow } from './spin.js';

interface Line {
  what: string;
  setup: string;
  figure: string;
  seconds: string;
  note: string;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = (rel: string): string => join(root, rel);

function timed<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

async function timedAsync<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

const same = (a: ExploreResult, b: ExploreResult): boolean =>
  a.executions === b.executions &&
  JSON.stringify(a.violations.map((v) => v.id).sort()) ===
    JSON.stringify(b.violations.map((v) => v.id).sort());

const s = (x: number): string => x.toFixed(2);
const n = (x: number): string => x.toLocaleString('en-US');

function spinLines(rows: SpinRow[]): Line[] {
  const out: Line[] = [];
  const last = [...rows].reverse().find((r) => r.cuts && r.spin);
  if (last?.cuts && last.spin) {
    out.push({
      what: 'Spin side by side',
      setup: `revoke vs ${last.n} faults, dpor + cut check`,
      figure: `${n(last.cuts.states)} states vs Spin's ${n(last.spin.states)}`,
      seconds: `${s(last.cuts.seconds)} / ${s(last.spin.seconds)}`,
      note: `vdm/Spin time ${(last.cuts.seconds / last.spin.seconds).toFixed(2)}`,
    });
  } else {
    const top = [...rows].reverse().find((r) => r.cuts);
    if (top?.cuts)
      out.push({
        what: 'Spin side by side',
        setup: `revoke vs ${top.n} faults, dpor + cut check`,
        figure: `${n(top.cuts.states)} states`,
        seconds: s(top.cuts.seconds),
        note: 'spin not installed',
      });
  }
  return out;
}

function cacheLine(): Line {
  // N = 3: plain exhaustive search of N = 4 runs past 2 million interleavings.
  const p = revokeVsFaults(3);
  const [plain, tp] = timed(() => explore(p, { strategy: 'exhaustive', minimizePreemptions: false }));
  const [cached, tc] = timed(() =>
    explore(p, { strategy: 'exhaustive', stateCache: true, minimizePreemptions: false }),
  );
  return {
    what: 'state cache',
    setup: 'revoke vs 3 faults, exhaustive',
    figure: `${n(cached.executions + cached.blocked)} runs vs ${n(plain.executions)}`,
    seconds: `${s(tc)} / ${s(tp)}`,
    note: `${(tp / tc).toFixed(2)}x`,
  };
}

function checkpointLine(dir: string): Line {
  const sc = loadScenarioFile(file('examples/v5.8-concurrent-faults-bug.yaml'));
  const program = scenarioProgram(sc, { design: designOf('dmabuf-backed', {}) });
  const base = { minimizePreemptions: false, maxExecutions: 15000 } as const;
  const path = join(dir, 'bench.ckpt');
  let saves = 0;
  const checkpointed = () =>
    explore(program, {
      ...base,
      checkpoint: {
        everyExecutions: 1000,
        save: (c: ExplorationCheckpoint) => {
          writeAtomically(path, JSON.stringify(c));
          saves++;
        },
      },
    });
  // Each twice, alternating, keeping the faster run: the first runs also warm the JIT up.
  const [plain, tp1] = timed(() => explore(program, base));
  const [withCk, tc1] = timed(checkpointed);
  const [, tp2] = timed(() => explore(program, base));
  saves = 0;
  const [, tc2] = timed(checkpointed);
  const tp = Math.min(tp1, tp2);
  const tc = Math.min(tc1, tc2);
  if (!same(plain, withCk)) throw new Error('bench: a checkpointed run differs from a plain one');
  const bytes = statSync(path).size;
  const saved = JSON.parse(readFileSync(path, 'utf8')) as ExplorationCheckpoint;
  const [resumed, tr] = timed(() => explore(program, { ...base, resume: saved }));
  if (!same(plain, resumed)) throw new Error('bench: a resumed run differs from a plain one');
  return {
    what: 'checkpoint (dpor)',
    setup: `v5.8-concurrent-faults-bug on dmabuf-backed, ${n(plain.executions)} executions`,
    figure: `${saves} saves of ${(bytes / 1024).toFixed(1)} KiB`,
    seconds: `${s(tc)} / ${s(tp)}`,
    note: `overhead ${(((tc - tp) / tp) * 100).toFixed(0)} %; resume from the last ${s(tr)} s`,
  };
}

/** Executions of the dpor figures (v5.8-concurrent-faults-bug on dmabuf-backed). */
const DPOR_EXECUTIONS = 20_000;

/**
 * How parallel the dpor search is, apart from this machine: the parallel search with p executors
 * in lock step, each running one execution per round, every result in before the next round (and
 * no executor going on by itself). Executions committed per round: p at best.
 */
function dporRounds<S>(program: Program<S>, options: ExploreOptions, p: number): number {
  const coord = new ParallelDpor(program, options, new Lockdep(), p);
  const runners = Array.from({ length: p }, () => new DporJobRunner(program, options, coord.cuts));
  let rounds = 0;
  while (!coord.done) {
    rounds++;
    const results: DporJobResult[] = [];
    for (let w = 0; w < p; w++) {
      const job = coord.jobsFor(w, 1)[0];
      if (job) runners[w]!.runAll(job, 0, (r) => results.push(r));
    }
    if (results.length === 0) throw new Error('bench: the parallel search has nothing to run');
    for (const r of results) coord.accept(r);
  }
  return coord.col.executions / rounds;
}

async function workerLines(): Promise<Line[]> {
  const sc = loadScenarioFile(file('bench/scenarios/workers.yaml'));
  const design = designOf(sc.design.name, sc.design.options);
  const opts = { strategy: 'exhaustive' as const, maxExecutions: 5_000_000, minimizePreemptions: false };
  const program = scenarioProgram(sc, { design });
  const [one, t1] = timed(() => explore(program, opts));
  const [two, t2] = await timedAsync(() => checkOnWorkers(sc, design, opts, { workers: 2 }));
  if (!same(one, two)) throw new Error('bench: --workers 2 differs from one search');
  const swarmSc = loadScenarioFile(file('examples/reset-races-fault.yaml'));
  const v57 = designOf('v5.7', {});
  const [swarm, ts] = await timedAsync(() =>
    swarmOnWorkers(swarmSc, v57, { strategy: 'random', maxExecutions: 200, seed: 1 }, 8, { workers: 2 }),
  );
  // dpor: the coordinator commits in the sequential order, so the result must equal one search's.
  const cf = loadScenarioFile(file('examples/v5.8-concurrent-faults-bug.yaml'));
  const dmabuf = designOf('dmabuf-backed', {});
  const dopts: ExploreOptions = {
    strategy: 'dpor',
    maxExecutions: DPOR_EXECUTIONS,
    minimizePreemptions: false,
  };
  const cfProgram = scenarioProgram(cf, { design: dmabuf });
  const [seq, td1] = timed(() => explore(cfProgram, dopts));
  const [par, td2] = await timedAsync(() => dporOnWorkers(cf, dmabuf, dopts, 2));
  if (JSON.stringify(seq) !== JSON.stringify(par))
    throw new Error('bench: dpor --workers 2 differs from one search');
  const rounds = [2, 4, 8].map((p) => `${p}: ${dporRounds(cfProgram, dopts, p).toFixed(2)}`).join(', ');
  return [
    {
      what: 'dpor --workers 2',
      setup: `v5.8-concurrent-faults-bug, dmabuf-backed, ${n(seq.executions)} executions`,
      figure: 'same executions, in order',
      seconds: `${s(td2)} / ${s(td1)}`,
      note: `${(td1 / td2).toFixed(2)}x on 2 threads`,
    },
    {
      what: 'dpor parallelism',
      setup: 'same search, unit-time executions',
      figure: `executions per round with P executors: ${rounds}`,
      seconds: '-',
      note: 'what the commit order leaves to run at once',
    },
    {
      what: '--workers 2',
      setup: `bench/scenarios/workers.yaml, exhaustive, ${n(one.executions)} executions`,
      figure: 'same executions and violations',
      seconds: `${s(t2)} / ${s(t1)}`,
      note: `${(t1 / t2).toFixed(2)}x on ${2} processes`,
    },
    {
      what: '--swarm 8',
      setup: 'reset-races-fault on v5.7, random, 200 each',
      figure: `${n(swarm.coverage?.distinct ?? 0)} distinct of ${n(swarm.executions)}`,
      seconds: s(ts),
      note: `violations: ${swarm.violations.map((v) => v.id).join(', ') || 'none'}`,
    },
  ];
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

async function queueLine(): Promise<Line> {
  const what = '--queue (Redis)';
  const setup = 'v6.19-revoke-only-notifies, exhaustive, 2 vdm workers';
  if (!have('redis-server') || !have('redis-cli'))
    return { what, setup, figure: '—', seconds: '—', note: 'redis-server not installed' };
  const port = 21000 + (process.pid % 20000);
  const url = `redis://127.0.0.1:${port}`;
  const children: ChildProcess[] = [];
  try {
    children.push(
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      ),
    );
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG')
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const main = file('dist/src/cli/main.js');
    for (let i = 0; i < 2; i++)
      children.push(spawn(process.execPath, [main, 'worker', '--queue', url], { stdio: 'ignore' }));
    const sc = loadScenarioFile(file('examples/v6.19-revoke-only-notifies.yaml'));
    const design = designOf(sc.design.name, sc.design.options);
    const opts = { strategy: 'exhaustive' as const, maxExecutions: 1_000_000, minimizePreemptions: false };
    const [local, tl] = timed(() => explore(scenarioProgram(sc, { design }), opts));
    const [remote, tr] = await timedAsync(() =>
      checkOnWorkers(sc, design, opts, { queue: url, subtrees: 16 }),
    );
    if (!same(local, remote)) throw new Error('bench: the queue run differs from one search');
    return {
      what,
      setup,
      figure: `${n(remote.executions)} executions, as local`,
      seconds: `${s(tr)} / ${s(tl)}`,
      note: 'Redis on loopback, 16 jobs',
    };
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

/**
 * Memory bounded by the search, not its history: a kernel scenario that runs past 30 s (four faults
 * against a disable and a reset: 269,664 executions, about two minutes) explored for 30 s in a
 * process of its own; its peak resident set after the first 3 s and at the end. dpor
 * keeps the current execution and its wakeup tree, so the peak should not grow with the
 * executions explored.
 */
async function memoryLine(): Promise<Line> {
  const file = 'bench/scenarios/kernel/faults-4-reset.yaml';
  const run = await runCell(join(root, 'dist'), file, 'upstream', 30_000, 1024);
  const progress = run.lines.filter((l) => l.type === 'progress');
  const early = progress.find((l) => l.ms >= 3000);
  const late = progress.at(-1);
  if (!early || !late || late === early) {
    return {
      what: 'memory, 10x longer',
      setup: file,
      figure: 'no progress reported',
      seconds: '-',
      note: '',
    };
  }
  return {
    what: 'memory, 10x longer',
    setup: 'faults-4-reset on upstream (30 s of ~2 min), dpor, one process',
    figure: `peak ${early.peakRssMiB.toFixed(0)} MiB after ${n(early.executions)} executions, ${late.peakRssMiB.toFixed(0)} MiB after ${n(late.executions)}`,
    seconds: `${s(early.ms / 1000)} / ${s(late.ms / 1000)}`,
    note: `${(late.executions / early.executions).toFixed(1)}x the executions, peak x${(late.peakRssMiB / early.peakRssMiB).toFixed(2)}`,
  };
}

/**
 * Loaded into a child before its own code: at exit it writes the CPU time the whole process used
 * (every thread: V8's garbage collector and compiler threads and any worker threads) to stderr.
 */
const CPU_REPORT = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@cpu ' + (u.user + u.system) + '\\n'); });",
)}`;

/** What a `vdm check` process took: wall-clock seconds and the CPU seconds of all its threads. */
interface CliTime {
  wall: number;
  cpu: number;
}

/** Runs `vdm check` with these arguments in a process of its own; its wall-clock and CPU seconds. */
function cliRun(args: string[]): Promise<CliTime> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(
      process.execPath,
      ['--import', CPU_REPORT, file('dist/src/cli/main.js'), 'check', ...args, '--json'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      // Worker threads load the hook too and may report first: the figure is for the whole
      // process, so the last (largest) one counts.
      let cpu = -1;
      for (const m of err.matchAll(/\n@cpu (\d+)\n/g)) cpu = Math.max(cpu, Number(m[1]));
      process.stderr.write(err.replace(/\n@cpu \d+\n/g, ''));
      // check exits 0 on pass, 1 on a failed verdict: either is a finished search.
      if (code !== 0 && code !== 1) reject(new Error(`bench: vdm check ${args.join(' ')} exited ${code}`));
      else if (cpu < 0) reject(new Error(`bench: vdm check ${args.join(' ')} did not report its CPU time`));
      else resolve({ wall, cpu: cpu / 1e6 });
    });
  });
}

/**
 * What two cores give this workload at best: the same bounded dpor search alone, then two copies of
 * it at once (separate processes, nothing shared), then one search with --workers 2. The first
 * ratio is the ceiling for any parallel search here. One search alone already keeps more than one
 * core busy part of the time (V8 collects garbage and compiles on threads of its own): its CPU
 * time over its wall-clock time says how many. Two copies share two cores, and the machine's
 * caches and memory bandwidth, so they do not run at twice one's rate.
 */
export async function ceilingLines(): Promise<Line[]> {
  const scen = 'bench/scenarios/kernel/faults-3-reset.yaml';
  const args = [file(scen), '--max-executions', '20000'];
  const alone = await cliRun(args);
  const t0 = process.hrtime.bigint();
  const copies = await Promise.all([cliRun(args), cliRun(args)]);
  const pair = Number(process.hrtime.bigint() - t0) / 1e9;
  const two = await cliRun([...args, '--workers', '2']);
  const setup = 'faults-3-reset on upstream, dpor, 20,000 executions, whole processes';
  const cores = alone.cpu / alone.wall;
  return [
    {
      what: 'one search alone',
      setup,
      figure: `${s(alone.cpu)} s of CPU in ${s(alone.wall)} s`,
      seconds: s(alone.wall),
      note: `${cores.toFixed(2)} cores busy on average (V8's GC and compiler threads beside the search's own)`,
    },
    {
      what: 'two searches at once',
      setup,
      figure: `two independent copies, ${s(copies[0]!.cpu + copies[1]!.cpu)} s of CPU`,
      seconds: `${s(pair)} / ${s(alone.wall)}`,
      note: `${((2 * alone.wall) / pair).toFixed(2)}x the throughput of one (the ceiling for 2 workers here)`,
    },
    {
      what: 'dpor --workers 2',
      setup,
      figure: `same executions, in order, ${s(two.cpu)} s of CPU`,
      seconds: `${s(two.wall)} / ${s(alone.wall)}`,
      note: `${(alone.wall / two.wall).toFixed(2)}x one worker`,
    },
  ];
}

/** Runs `vdm compare --json` with these arguments in a process of its own: its report, without times, and wall-clock seconds. */
function cliCompare(args: string[]): Promise<[string, number]> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [file('dist/src/cli/main.js'), 'compare', ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`bench: vdm compare ${args.join(' ')} exited ${code}`));
      else resolve([out.replace(/"elapsedMs": \d+/g, ''), Number(process.hrtime.bigint() - t0) / 1e9]);
    });
  });
}

/**
 * `vdm compare` on one thread and on two: the designs' searches are independent, so two threads
 * explore two designs at once; the report must be the same.
 */
export async function compareLine(): Promise<Line> {
  const scen = 'examples/faults-vs-disable.yaml';
  const args = [file(scen), '--max-executions', '2000'];
  const [one, t1] = await cliCompare([...args, '--workers', '1']);
  const [two, t2] = await cliCompare([...args, '--workers', '2']);
  if (one !== two) throw new Error('bench: vdm compare --workers 2 reported another matrix than --workers 1');
  return {
    what: 'compare --workers 2',
    setup: 'faults-vs-disable, 11 designs, 2,000 executions each at most',
    figure: 'same matrix',
    seconds: `${s(t2)} / ${s(t1)}`,
    note: `${(t1 / t2).toFixed(2)}x one thread`,
  };
}

/** Measures and prints the summary table. */
export async function scaleBench(spin: SpinRow[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vdm-scale-'));
  const lines: Line[] = [];
  try {
    lines.push(...spinLines(spin));
    lines.push(cacheLine());
    lines.push(checkpointLine(dir));
    lines.push(...(await workerLines()));
    lines.push(...(await ceilingLines()));
    lines.push(await compareLine());
    lines.push(await queueLine());
    lines.push(await memoryLine());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const head: Line = {
    what: 'speed and scale',
    setup: 'workload',
    figure: 'figure',
    seconds: 's (vs plain)',
    note: 'note',
  };
  const cols = ['what', 'setup', 'figure', 'seconds', 'note'] as const;
  const widths = cols.map((c) => Math.max(...[head, ...lines].map((l) => l[c].length)));
  const fmt = (l: Line): string =>
    cols
      .map((c, i) => l[c].padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log('');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}
