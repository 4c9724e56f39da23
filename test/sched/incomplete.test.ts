// A search that does not cover the whole space says why: every bound or limit that cut it, with
// what it left out. And the limits a user sets (stop at the first violation, or once every expected
// one is found; a time limit; the memory guard) stop it where its frontier can be saved and resumed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeSwarm } from '../../src/cli/parallel-check.js';
import { dporInProcess } from '../../src/sched/dpor-parallel.js';
import { completeExploration, replay } from '../../src/sched/explore.js';
import {
  Cell,
  type ExplorationCheckpoint,
  type ExploreOptions,
  explore,
  type Incompleteness,
  type Program,
  SearchBound,
  type Thread,
  Violation,
} from '../../src/sched/index.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { exploreSubtree, mergeSubtrees, splitExhaustive } from '../../src/sched/parallel.js';

const quiet = { minimizePreemptions: false } as const;

/** n threads, each writing the same cell twice: (2n)! / 2^n orders, many traces. */
function writers(n: number): Program<{ x: Cell<number> }> {
  const threads: Program<{ x: Cell<number> }>['threads'] = {};
  for (let i = 0; i < n; i++) {
    threads[`t${i}`] = function* (s) {
      yield* s.x.write(i);
      yield* s.x.write(i + 10);
    };
  }
  return { setup: () => ({ x: new Cell('x', 0) }), threads };
}

const reasons = (r: { incomplete?: { reason: string }[] }) => (r.incomplete ?? []).map((i) => i.reason);

test('a complete search has no reasons; each bound that cuts one is named', () => {
  const full = explore(writers(2), quiet);
  assert.equal(full.complete, true);
  assert.deepEqual(full.incomplete, []);

  const capped = explore(writers(3), { ...quiet, maxExecutions: 5 });
  assert.equal(capped.complete, false);
  assert.deepEqual(reasons(capped), ['maxExecutions']);
  assert.match(capped.incomplete![0]!.detail, /maxExecutions = 5/);

  const bounded = explore(writers(3), { ...quiet, preemptionBound: 0 });
  assert.equal(bounded.complete, false);
  assert.deepEqual(reasons(bounded), ['preemptionBound']);
  for (const strategy of ['exhaustive', 'random'] as const) {
    const r = explore(writers(2), { ...quiet, strategy, preemptionBound: 0, maxExecutions: 50 });
    assert.ok(reasons(r).includes(strategy === 'random' ? 'sampling' : 'preemptionBound'), strategy);
  }
});

test('an execution cut by maxSteps or by a model bound makes the search incomplete, and says which', () => {
  const spinner: Program<{ x: Cell<number> }> = {
    setup: () => ({ x: new Cell('x', 0) }),
    threads: {
      *spin(s): Thread<void> {
        for (;;) yield* s.x.read();
      },
    },
  };
  const r = explore(spinner, { ...quiet, maxSteps: 50 });
  assert.equal(r.complete, false);
  assert.deepEqual(reasons(r), ['maxSteps']);
  assert.match(r.incomplete![0]!.detail, /maxSteps = 50/);

  const bounded: Program<{ x: Cell<number> }> = {
    setup: () => ({ x: new Cell('x', 0) }),
    threads: {
      *retry(s): Thread<void> {
        yield* s.x.read();
        throw new SearchBound('gave up after 4 retries');
      },
    },
  };
  const b = explore(bounded, quiet);
  assert.equal(b.complete, false);
  assert.deepEqual(reasons(b), ['searchBound']);
  assert.match(b.incomplete![0]!.detail, /retry: gave up after 4 retries/);
});

/** Two threads; one interleaving raises A, another B (and each in many executions). */
function twoBugs(): Program<{ x: Cell<number>; y: Cell<number> }> {
  return {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
    threads: {
      *a(s) {
        yield* s.x.write(1);
        yield* s.y.write(1);
      },
      *b(s) {
        const x = yield* s.x.read();
        const y = yield* s.y.read();
        if (x === 1 && y === 0) throw new Violation('A', 'x set, y not');
        if (x === 0 && y === 0) throw new Violation('B', 'neither set');
      },
    },
  };
}

test('stopAtFirst stops at the first violation; with stopWhen, once every wanted one is found', () => {
  const all = explore(twoBugs(), quiet);
  assert.deepEqual(all.violations.map((v) => v.id).sort(), ['A', 'B']);

  const first = explore(twoBugs(), { ...quiet, stopAtFirst: true });
  assert.equal(first.violations.length, 1);
  assert.equal(first.complete, false);
  assert.deepEqual(reasons(first), ['stopAtFirst']);

  const both = explore(twoBugs(), {
    ...quiet,
    stopAtFirst: true,
    stopWhen: (found) => ['A', 'B'].every((id) => found.some((v) => v.id === id)),
  });
  assert.deepEqual(both.violations.map((v) => v.id).sort(), ['A', 'B']);
  assert.match(both.incomplete?.[0]?.detail ?? 'complete', /every expected|complete/);
});

test('a time limit and the memory guard stop a search between executions, and say so', () => {
  const timed = explore(writers(4), { ...quiet, timeLimitMs: 0 });
  assert.equal(timed.executions, 1, 'a limit already passed stops after the first execution');
  assert.deepEqual(reasons(timed), ['timeLimit']);

  // A guard far below what any heap uses trips at the first look at the heap.
  const guarded = explore(writers(4), { ...quiet, memoryGuard: 1e-9 });
  assert.equal(guarded.complete, false);
  assert.deepEqual(reasons(guarded), ['memory']);
  assert.match(guarded.incomplete![0]!.detail, /heap reached \d+ MiB of its \d+ MiB limit/);
  assert.ok(guarded.executions < explore(writers(4), quiet).executions);

  const off = explore(writers(3), { ...quiet, memoryGuard: 0 });
  assert.equal(off.complete, true);
});

for (const strategy of ['dpor', 'exhaustive'] as const) {
  test(`${strategy}: a search stopped between executions saves its frontier; resumed, it finishes as one run would`, () => {
    const whole = explore(writers(3), { ...quiet, strategy });
    let saved: ExplorationCheckpoint | undefined;
    let calls = 0;
    const opts: ExploreOptions = {
      ...quiet,
      strategy,
      // Stops after the 7th execution, as Ctrl-C or the memory guard would.
      interrupted: () => ++calls >= 7,
      checkpoint: {
        save: (c) => {
          saved = JSON.parse(JSON.stringify(c));
        },
      },
    };
    const part = explore(writers(3), opts);
    assert.deepEqual(reasons(part), ['interrupted']);
    assert.equal(part.executions, 7);
    assert.ok(saved, 'the frontier was saved when the search stopped');
    const rest = explore(writers(3), { ...quiet, strategy, resume: saved! });
    assert.equal(rest.complete, true);
    assert.deepEqual(rest.incomplete, []);
    assert.equal(rest.executions, whole.executions);
  });
}

test('the parallel dpor search reports the reasons its workers met', () => {
  const spinner: Program<{ x: Cell<number> }> = {
    setup: () => ({ x: new Cell('x', 0) }),
    threads: {
      *a(s): Thread<void> {
        yield* s.x.write(1);
      },
      *spin(s): Thread<void> {
        for (;;) yield* s.x.read();
      },
    },
  };
  const options = { ...quiet, maxSteps: 40 };
  const lockdep = new Lockdep();
  const coord = dporInProcess(spinner, options, lockdep, 2);
  const r = completeExploration(spinner, options, coord.col, lockdep);
  assert.equal(r.complete, false);
  assert.ok(reasons(r).includes('maxSteps'), JSON.stringify(r.incomplete));
});

/** b gives up (a model bound) when it reads x or y before they are written: some executions only. */
function givesUp(): Program<{ x: Cell<number>; y: Cell<number> }> {
  return {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
    threads: {
      *a(s) {
        yield* s.x.write(1);
      },
      *b(s) {
        const x = yield* s.x.read();
        const y = yield* s.y.read();
        if (x === 0 || y === 0) throw new SearchBound(`gave up at x=${x} y=${y}`);
      },
      *c(s) {
        yield* s.y.write(1);
      },
    },
  };
}

const boundCut = (r: { incomplete?: Incompleteness[] }) =>
  r.incomplete?.find((i) => i.reason === 'searchBound');

test('a bound that cuts executions short says how many, and replays the first one', () => {
  const d = explore(givesUp(), quiet);
  // dpor: one execution per trace; three of the four (x and y read before or after their write) give up.
  assert.equal(d.executions, 4);
  assert.equal(boundCut(d)?.count, 3);
  const e = explore(givesUp(), { ...quiet, strategy: 'exhaustive' });
  // Exhaustive: 12 interleavings; the 3 that get through read y last, after both writes, and x
  // after a's write (a, b's x, c in the 3 orders with a before the read).
  assert.equal(e.executions, 12);
  assert.equal(boundCut(e)?.count, 9);
  for (const r of [d, e]) {
    const first = boundCut(r)!;
    const rep = replay(givesUp(), first.schedule!);
    assert.match(
      rep.bound ?? '',
      /^b: gave up at x=1 y=0$/,
      'the schedule replays an execution the bound stopped',
    );
    assert.equal(rep.violations.length, 0, 'the replay fits the program');
  }
  // The first execution of the search's order: dpor and exhaustive both start with threads as written.
  assert.equal(boundCut(d)!.schedule, boundCut(e)!.schedule);

  const steps = explore(
    {
      setup: () => ({ x: new Cell('x', 0) }),
      threads: {
        *a(s: { x: Cell<number> }): Thread<void> {
          yield* s.x.write(1);
        },
        *spin(s: { x: Cell<number> }): Thread<void> {
          for (;;) yield* s.x.read();
        },
      },
    },
    { ...quiet, maxSteps: 20 },
  );
  const cut = steps.incomplete!.find((i) => i.reason === 'maxSteps')!;
  assert.equal(cut.count, steps.executions, 'every execution spins past the step limit');
  assert.ok(cut.schedule, 'with a schedule to replay');
});

test('counts of cut executions add up across workers, subtrees and a resumed search, as one search counts them', () => {
  const program = givesUp();
  const one = explore(program, quiet);
  const lockdep = new Lockdep();
  for (const workers of [2, 3]) {
    const coord = dporInProcess(program, quiet, lockdep, workers);
    const par = completeExploration(program, quiet, coord.col, lockdep);
    assert.deepEqual(boundCut(par), boundCut(one), `${workers} workers`);
  }

  const ex = { ...quiet, strategy: 'exhaustive' as const };
  const whole = explore(program, ex);
  const merged = mergeSubtrees(
    program,
    ex,
    splitExhaustive(program, ex, 4).map((s) => JSON.parse(JSON.stringify(exploreSubtree(program, ex, s)))),
  );
  assert.deepEqual(boundCut(merged), boundCut(whole), 'split into subtrees and merged');

  for (const strategy of ['dpor', 'exhaustive'] as const) {
    const full = strategy === 'dpor' ? one : whole;
    let saved: ExplorationCheckpoint | undefined;
    let calls = 0;
    const part = explore(program, {
      ...quiet,
      strategy,
      interrupted: () => ++calls >= 3,
      checkpoint: { save: (c) => void (saved = JSON.parse(JSON.stringify(c))) },
    });
    assert.ok(boundCut(part)!.count! < boundCut(full)!.count!, `${strategy}: stopped part way`);
    const rest = explore(program, { ...quiet, strategy, resume: saved! });
    assert.deepEqual(boundCut(rest), boundCut(full), `${strategy}: resumed`);
  }

  // A swarm of random runs: their counts added up, the first run's replay.
  const runs = [1, 2, 3].map((seed) =>
    explore(program, { ...quiet, strategy: 'random', seed, maxExecutions: 20 }),
  );
  const swarm = mergeSwarm('random', runs);
  assert.equal(
    boundCut(swarm)?.count,
    runs.reduce((n, r) => n + boundCut(r)!.count!, 0),
  );
  assert.equal(boundCut(swarm)?.schedule, boundCut(runs[0]!)!.schedule);
  assert.ok(reasons(swarm).includes('sampling'));
});
