// The parallel dpor search (src/sched/dpor-parallel.ts) gives the sequential search's result:
// the same executions in the same order, the same counts, violations and counterexamples, however
// many workers run it and in whatever order their results come back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { revokeVsFaults } from '../../bench/spin.js';
import * as L from '../../src/demo/litmus.js';
import { designOf } from '../../src/designs/design.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { dpor } from '../../src/sched/dpor.js';
import { dporInProcess } from '../../src/sched/dpor-parallel.js';
import { completeExploration } from '../../src/sched/explore.js';
import type { ExploreOptions, ExploreResult, Program } from '../../src/sched/index.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import type { DporCheckpoint, ExplorationCheckpoint } from '../../src/sched/program.js';
import { build, specArb } from './helpers/random-program.js';

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);

interface Run {
  result: ExploreResult;
  order: string[];
  /** The progress estimate after each execution. */
  progress: string[];
  /** Results run but not used (hedged copies, withdrawn continuations). */
  unused?: number;
}

/** The options with an onProgress after every execution, recording the estimate. */
function watched(options: ExploreOptions, progress: string[]): ExploreOptions {
  return {
    ...options,
    progressEveryMs: 0,
    onProgress: (p) => progress.push(`${p.executions}:${p.fractionDone?.toFixed(12)}`),
  };
}

function sequential<S>(program: Program<S>, options: ExploreOptions): Run {
  const lockdep = new Lockdep();
  const order: string[] = [];
  const progress: string[] = [];
  const col = dpor(program, watched(options, progress), lockdep, (ex) =>
    order.push(ex.evThread.subarray(0, ex.len).join(',')),
  );
  return { result: completeExploration(program, options, col, lockdep), order, progress };
}

function parallel<S>(
  program: Program<S>,
  options: ExploreOptions,
  workers: number,
  seed: number,
  cont?: number,
): Run {
  const lockdep = new Lockdep();
  const order: string[] = [];
  const progress: string[] = [];
  const coord = dporInProcess(
    program,
    watched(options, progress),
    lockdep,
    workers,
    seed,
    (t) => order.push(t.join(',')),
    cont,
  );
  assert.equal(coord.rerun, 0, 'no execution had to run again');
  return {
    result: completeExploration(program, options, coord.col, lockdep),
    order,
    progress,
    unused: coord.received - coord.committed,
  };
}

/** Parallel runs with several worker counts, result orders and continuation limits, against one sequential run. */
function same<S>(program: Program<S>, options: ExploreOptions = {}): ExploreResult {
  const o: ExploreOptions = { minimizePreemptions: false, ...options };
  const want = sequential(program, o);
  for (const [workers, seed, cont] of [
    [1, 1, 64],
    [2, 1, 64],
    [3, 2, 0],
    [5, 3, 64],
    [2, 4, 1],
  ] as const) {
    const got = parallel(program, o, workers, seed, cont);
    assert.deepEqual(got.result, want.result, `workers ${workers}, seed ${seed}, continuations ${cont}`);
    assert.deepEqual(got.order, want.order, `the same executions in the same order (workers ${workers})`);
    assert.deepEqual(got.progress, want.progress, 'the same progress estimates');
  }
  return want.result;
}

test('litmus programs: the same executions, in the same order, as one search', () => {
  assert.equal(same(L.readers(3)).executions, 8);
  assert.equal(same(L.lastzero(5)).executions, 64);
  assert.equal(same(L.storeBuffering()).executions, 3);
  assert.equal(same(L.racyIncrements(3)).executions, 36);
  assert.equal(same(L.writers(3, 2)).executions, 90);
  same(L.lockedIncrements(4));
  same(L.rwCounter(2, 2));
  same(L.completions(2, 2));
});

test('deadlocks, lock-order cycles and recursive reads come out the same', () => {
  const r = same(L.philosophers(3));
  assert.equal(r.deadlocks, 1);
  assert.ok(r.violations.some((v) => v.kind === 'lock-order'));
  same(L.gatedInversion());
  same(L.recursiveRead());
});

test('limits and options: preemption bound, stop at first, execution limit, coverage', () => {
  same(L.lastzero(3), { preemptionBound: 1 });
  const first = same(L.racyIncrements(3), { stopAtFirst: true });
  assert.equal(first.complete, false);
  const capped = same(L.lastzero(5), { maxExecutions: 20 });
  assert.equal(capped.executions, 20);
  same(L.writers(2, 2), { coverage: true });
});

test('invariants checked at cuts (observedOnly): the same states and violations', () => {
  const ok = same(revokeVsFaults(3));
  assert.equal(ok.executions, 8);
  assert.ok((ok.cutStates ?? 0) > 8);
  const p = revokeVsFaults(3);
  p.threads.revoke = function* (w) {
    yield* w.revoked.write(true);
    for (const q of w.pte) yield* q.write(false);
    yield* w.done.write(true);
  };
  assert.equal(same(p).violations.length, 1);
});

test('random programs: the parallel search equals the sequential one', () => {
  fc.assert(
    fc.property(
      specArb,
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 1000 }),
      (spec, workers, seed) => {
        const program = build(spec);
        const o: ExploreOptions = { minimizePreemptions: false, maxExecutions: 3000 };
        const want = sequential(program, o);
        const got = parallel(program, o, workers, seed);
        assert.deepEqual(got.result, want.result);
        assert.deepEqual(got.order, want.order);
      },
    ),
    { numRuns: Math.max(20, Math.floor(RUNS / 3)) },
  );
});

test('kernel scenarios: object numbering, visibility and keyed objects travel between workers', () => {
  let unused = 0;
  for (const [file, design, max] of [
    ['examples/faults-vs-disable.yaml', 'dmabuf-backed', 600],
    ['examples/v5.8-pread-lock-order.yaml', 'v5.8', 400],
    ['examples/v6.19-close-disables-before-cleanup.yaml', 'v6.19', 400],
  ] as const) {
    const program = scenarioProgram(loadScenarioFile(file), { design: designOf(design, {}) });
    const o: ExploreOptions = { minimizePreemptions: false, maxExecutions: max };
    const want = sequential(program, o);
    const got = parallel(program, o, 3, 11);
    assert.deepEqual(got.result, want.result, file);
    assert.deepEqual(got.order, want.order, file);
    unused += got.unused ?? 0;
  }
  assert.ok(unused > 0, 'some executions were run twice (hedged) or withdrawn, and their copies ignored');
});

test('the progress estimate: within (0, 1] after every execution, 1 after the last', () => {
  for (const program of [
    L.lastzero(5),
    L.readers(4),
    L.philosophers(3),
    L.writers(3, 2),
  ] as Program<unknown>[]) {
    const { progress, result } = sequential(program, { minimizePreemptions: false });
    assert.equal(progress.length, result.executions);
    const f = progress.map((x) => Number(x.split(':')[1]));
    assert.ok(f.every((x) => x > 0 && x <= 1));
    assert.equal(f.at(-1), 1);
  }
});

test('checkpoints: the parallel search saves what the sequential one saves, and either resumes from either', () => {
  const programs: [string, Program<unknown>][] = [
    ['lastzero(5)', L.lastzero(5) as Program<unknown>],
    ['philosophers(3)', L.philosophers(3) as Program<unknown>],
    [
      // Resumed from a parallel search's checkpoint, a hedged job once ran before the job that
      // carried the checkpoint's object numbering, with its own (one blocked execution).
      'faults-vs-disable',
      scenarioProgram(loadScenarioFile('examples/faults-vs-disable.yaml'), {
        design: designOf('dmabuf-backed', {}),
      }) as Program<unknown>,
    ],
  ];
  for (const [name, program] of programs) {
    const o: ExploreOptions = { minimizePreemptions: false, maxExecutions: 400 };
    const whole = sequential(program, o);
    const saves = (run: (ck: ExploreOptions) => void): ExplorationCheckpoint[] => {
      const out: ExplorationCheckpoint[] = [];
      const every = Math.max(2, Math.floor(whole.result.executions / 8));
      run({
        ...o,
        checkpoint: { everyExecutions: every, save: (c) => out.push(JSON.parse(JSON.stringify(c))) },
      });
      return out;
    };
    const bySeq = saves((opts) => dpor(program, opts, new Lockdep()));
    const byPar = saves((opts) => dporInProcess(program, opts, new Lockdep(), 3, 5));
    assert.ok(bySeq.length >= 2, name);
    assert.equal(byPar.length, bySeq.length, `${name}: a checkpoint at the same executions`);
    // The same frontier, up to how objects are numbered.
    const shape = (c: ExplorationCheckpoint) => {
      const d = c as DporCheckpoint;
      return [d.prefix, d.counts, d.nodes.map((n) => [n.sleep.length, n.wut.length])];
    };
    assert.deepEqual(byPar.map(shape), bySeq.map(shape), name);
    for (const c of [bySeq[Math.floor(bySeq.length / 2)]!, byPar[Math.floor(byPar.length / 2)]!]) {
      const sq = sequential(program, { ...o, resume: c });
      assert.deepEqual(sq.result, whole.result, `${name}: resumed on one worker`);
      assert.deepEqual(sq.order, whole.order.slice(whole.order.length - sq.order.length), name);
      const par = parallel(program, { ...o, resume: c }, 2, 9);
      assert.deepEqual(par.result, whole.result, `${name}: resumed on two workers`);
      assert.deepEqual(par.order, sq.order, name);
    }
  }
});
