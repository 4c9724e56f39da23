// Side by side with Spin (issue: "beat Spin on the same model"): the revoke-vs-faults scenario of
// bench/spin/revoke.pml as a vdm program, explored by dpor, and — when `spin` and `gcc` are on the
// PATH (Debian's `spin` package; `npm run bench` installs it and gcc when missing) — by Spin with partial-order
// reduction, for N = 2..8 fault threads. Prints states/executions, seconds and the ratio, for dpor
// with the invariant checked at cuts (the program declares observedOnly), dpor ordering every
// observed write (the rule for invariants that read anything), and the state cache.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cell, explore, type Program, RwSem } from '../src/sched/index.js';

interface World {
  memoryLock: RwSem;
  revoked: Cell<boolean>;
  done: Cell<boolean>;
  pte: Cell<boolean>[];
}

/**
 * N faults, each: down_read(memory_lock); if not revoked, set its PTE; up_read. One revoke:
 * down_write; revoked = true; clear every PTE; up_write; done. Safety: done -> no PTE.
 */
export function revokeVsFaults(n: number): Program<World> {
  const threads: Program<World>['threads'] = {};
  for (let i = 0; i < n; i++) {
    threads[`fault${i}`] = function* (w: World) {
      yield* w.memoryLock.downRead();
      if (!(yield* w.revoked.read())) yield* w.pte[i]!.write(true);
      yield* w.memoryLock.upRead();
    };
  }
  threads.revoke = function* (w: World) {
    yield* w.memoryLock.downWrite();
    yield* w.revoked.write(true);
    for (const p of w.pte) yield* p.write(false);
    yield* w.memoryLock.upWrite();
    yield* w.done.write(true);
  };
  return {
    name: `revoke-vs-faults(${n})`,
    setup: () => ({
      memoryLock: new RwSem('memory_lock'),
      revoked: new Cell('revoked', false),
      done: new Cell('done', false),
      pte: Array.from({ length: n }, (_, i) => new Cell(`pte${i}`, false)),
    }),
    threads,
    // The property reads `done` and the PTEs, as the Promela ltl reads `done` and `npte`.
    observes: (w) => [w.done, ...w.pte],
    // ... and nothing else: dpor then checks it at every cut instead of ordering the PTE writes.
    observedOnly: true,
    invariant: (w) => (w.done.value && w.pte.some((p) => p.value) ? 'a PTE survived the revoke' : undefined),
  };
}

/** vdm sizes after one that took longer than this are skipped (estimated instead). */
const VDM_BUDGET_S = 5;

interface SpinRun {
  states: number;
  seconds: number;
  errors: number;
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function runSpin(n: number, dir: string): SpinRun | string {
  const pml = fileURLToPath(new URL('../../bench/spin/revoke.pml', import.meta.url));
  const gen = spawnSync('spin', ['-a', `-DN=${n}`, pml], { cwd: dir, encoding: 'utf8' });
  if (gen.status !== 0) return `spin -a failed: ${gen.stderr || gen.stdout}`;
  const cc = spawnSync('gcc', ['-O2', '-DMEMLIM=8192', '-o', 'pan', 'pan.c'], { cwd: dir, encoding: 'utf8' });
  if (cc.status !== 0) return `gcc failed: ${cc.stderr}`;
  // Best of three: a lone run on this VM varies by up to 2x.
  let seconds = Number.POSITIVE_INFINITY;
  let out = '';
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const pan = spawnSync('./pan', ['-a', '-m1000000'], { cwd: dir, encoding: 'utf8' });
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
    out = pan.stdout;
  }
  const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? Number.NaN);
  const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? Number.NaN);
  return { states, seconds, errors };
}

/** One size of the side-by-side: each column is absent when it was skipped or unavailable. */
export interface SpinRow {
  n: number;
  /** dpor checking the invariant at every cut (observedOnly): executions, states checked, s. */
  cuts?: { executions: number; states: number; seconds: number };
  /** dpor ordering every observed write instead (the general rule for any invariant). */
  ordered?: { executions: number; seconds: number };
  /** exhaustive search with the state cache: executions completed or cut, s. */
  cache?: { runs: number; seconds: number };
  spin?: SpinRun;
  /** Why Spin did not run at this size. */
  spinError?: string;
}

function timed<T>(f: () => T): [T, number] {
  const t0 = process.hrtime.bigint();
  const r = f();
  return [r, Number(process.hrtime.bigint() - t0) / 1e9];
}

/** Runs every column for N = 2..maxN; a column that took over VDM_BUDGET_S stops growing. */
export function spinRows(maxN = 8): { rows: SpinRow[]; withSpin: boolean } {
  const withSpin = have('spin') && have('gcc');
  const dir = mkdtempSync(join(tmpdir(), 'vdm-spin-'));
  const rows: SpinRow[] = [];
  let lastCuts = 0;
  let lastOrdered = 0;
  let lastCache = 0;
  try {
    for (let n = 2; n <= maxN; n++) {
      const row: SpinRow = { n };
      if (lastCuts <= VDM_BUDGET_S) {
        // Best of three, as for Spin.
        let [r, s] = timed(() => explore(revokeVsFaults(n), { minimizePreemptions: false }));
        for (let i = 0; i < 2 && s < VDM_BUDGET_S / 5; i++) {
          const [r2, s2] = timed(() => explore(revokeVsFaults(n), { minimizePreemptions: false }));
          if (s2 < s) [r, s] = [r2, s2];
        }
        if (r.violations.length > 0 || !r.complete) throw new Error(`vdm: unexpected result at N=${n}`);
        row.cuts = { executions: r.executions, states: r.cutStates ?? 0, seconds: s };
        lastCuts = s;
      }
      if (lastOrdered <= VDM_BUDGET_S) {
        const p = { ...revokeVsFaults(n), observedOnly: false };
        const [r, s] = timed(() => explore(p, { minimizePreemptions: false }));
        if (r.violations.length > 0 || !r.complete) throw new Error(`vdm: unexpected result at N=${n}`);
        row.ordered = { executions: r.executions, seconds: s };
        lastOrdered = s;
      }
      // The state cache (stateful exhaustive search; sound here: all shared state is in Cells).
      if (lastCache <= VDM_BUDGET_S) {
        const [c, s] = timed(() =>
          explore(revokeVsFaults(n), {
            strategy: 'exhaustive',
            stateCache: true,
            minimizePreemptions: false,
          }),
        );
        if (c.violations.length > 0 || !c.complete)
          throw new Error(`vdm (state cache): unexpected result at N=${n}`);
        row.cache = { runs: c.blocked + c.executions, seconds: s };
        lastCache = s;
      }
      if (withSpin) {
        const s = runSpin(n, dir);
        if (typeof s === 'string') row.spinError = s.split('\n')[0]!;
        else {
          if (s.errors !== 0) throw new Error(`spin found ${s.errors} errors at N=${n}`);
          row.spin = s;
        }
      }
      rows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, withSpin };
}

const num = (v: number | undefined, w: number, d = 0): string =>
  (v === undefined ? '—' : d > 0 ? v.toFixed(d) : String(v)).padStart(w);

/** The side-by-side table, one line per N (and the growth of each time per added thread). */
export function spinTable(rows: SpinRow[], withSpin: boolean): string[] {
  const out: string[] = [];
  out.push('Side by side with Spin: revoke vs N faults under memory_lock (bench/spin/revoke.pml)');
  if (!withSpin)
    out.push('(spin or gcc not on PATH: vdm only; `bash scripts/system-deps.sh bench` installs them)');
  out.push(
    ' N  dpor+cuts: executions     states        s  |  dpor ordered: executions        s  |  cache runs        s' +
      (withSpin ? '  |  spin states   spin s  |  vdm/spin time' : ''),
  );
  for (const r of rows) {
    let line =
      `${String(r.n).padStart(2)}  ${num(r.cuts?.executions, 21)}  ${num(r.cuts?.states, 9)}  ${num(r.cuts?.seconds, 7, 3)}` +
      `  |  ${num(r.ordered?.executions, 23)}  ${num(r.ordered?.seconds, 7, 3)}` +
      `  |  ${num(r.cache?.runs, 10)}  ${num(r.cache?.seconds, 7, 3)}`;
    if (withSpin) {
      if (r.spin) {
        const ratio = r.cuts ? (r.cuts.seconds / r.spin.seconds).toFixed(2) : '—';
        line += `  |  ${num(r.spin.states, 11)}  ${num(r.spin.seconds, 7, 3)}  |  ${ratio.padStart(13)}`;
      } else line += `  |  ${r.spinError ?? ''}`;
    }
    out.push(line);
  }
  const grow = (f: (r: SpinRow) => number | undefined): string => {
    const last = rows.filter((r) => f(r) !== undefined).slice(-3);
    if (last.length < 2) return '—';
    const ratios = last.slice(1).map((r, i) => f(r)! / f(last[i]!)!);
    return ratios.map((x) => `${x.toFixed(1)}×`).join(', ');
  };
  out.push(
    `per added thread (last sizes): dpor+cuts time ${grow((r) => r.cuts?.seconds)}, states ${grow((r) => r.cuts?.states)}` +
      (withSpin ? `; spin time ${grow((r) => r.spin?.seconds)}, states ${grow((r) => r.spin?.states)}` : ''),
  );
  return out;
}

export function spinBench(maxN = Number(process.env.VDM_BENCH_SPIN_MAX ?? 8)): SpinRow[] {
  const { rows, withSpin } = spinRows(maxN);
  console.log('');
  for (const l of spinTable(rows, withSpin)) console.log(l);
  return rows;
}
