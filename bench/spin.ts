// Side by side with Spin (issue: "beat Spin on the same model"): the revoke-vs-faults scenario of
// bench/spin/revoke.pml as a vdm program, explored by dpor, and — when `spin` and `gcc` are on the
// PATH (Debian's `spin` package; `npm run bench` installs nothing) — by Spin with partial-order
// reduction, for N = 2..8 fault threads. Prints states/executions, seconds and the ratio.

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
  const t0 = process.hrtime.bigint();
  const pan = spawnSync('./pan', ['-a', '-m1000000'], { cwd: dir, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = pan.stdout;
  const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? Number.NaN);
  const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? Number.NaN);
  return { states, seconds, errors };
}

export function spinBench(maxN = 8): void {
  const withSpin = have('spin') && have('gcc');
  console.log('\nSide by side with Spin: revoke vs N faults under memory_lock (bench/spin/revoke.pml)');
  if (!withSpin) console.log('(spin or gcc not on PATH: vdm only; `apt-get install spin` to compare)');
  const dir = mkdtempSync(join(tmpdir(), 'vdm-spin-'));
  const head = withSpin
    ? ' N   vdm executions   vdm s  cache runs  cache s    spin states   spin s   vdm/spin time'
    : ' N   vdm executions   vdm s  cache runs  cache s';
  console.log(head);
  let last = 0;
  let lastCached = 0;
  try {
    for (let n = 2; n <= maxN; n++) {
      let ours = Number.NaN;
      let line: string;
      if (last > VDM_BUDGET_S) {
        // Executions grow about N-fold per step here: the next size would take minutes.
        line = `${String(n).padStart(2)}  ${'(skipped)'.padStart(15)}  ${'>'.padStart(1)}${(last * n).toFixed(0).padStart(5)}`;
      } else {
        const t0 = process.hrtime.bigint();
        const r = explore(revokeVsFaults(n), { minimizePreemptions: false });
        ours = Number(process.hrtime.bigint() - t0) / 1e9;
        last = ours;
        if (r.violations.length > 0 || !r.complete) throw new Error(`vdm: unexpected result at N=${n}`);
        line = `${String(n).padStart(2)}  ${String(r.executions).padStart(15)}  ${ours.toFixed(3).padStart(6)}`;
      }
      // The state cache (stateful exhaustive search; sound here: all shared state is in Cells).
      if (lastCached <= VDM_BUDGET_S) {
        const t1 = process.hrtime.bigint();
        const c = explore(revokeVsFaults(n), {
          strategy: 'exhaustive',
          stateCache: true,
          minimizePreemptions: false,
        });
        lastCached = Number(process.hrtime.bigint() - t1) / 1e9;
        if (c.violations.length > 0 || !c.complete)
          throw new Error(`vdm (state cache): unexpected result at N=${n}`);
        line += `  ${String(c.blocked + c.executions).padStart(11)}  ${lastCached.toFixed(3).padStart(7)}`;
      } else line += `  ${'(skipped)'.padStart(11)}  ${''.padStart(7)}`;
      if (withSpin) {
        const s = runSpin(n, dir);
        if (typeof s === 'string') line += `   ${s.split('\n')[0]}`;
        else {
          if (s.errors !== 0) throw new Error(`spin found ${s.errors} errors at N=${n}`);
          const ratio = Number.isNaN(ours) ? '—' : (ours / s.seconds).toFixed(2);
          line += `  ${String(s.states).padStart(12)}  ${s.seconds.toFixed(3).padStart(7)}  ${ratio.padStart(14)}`;
        }
      }
      console.log(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
