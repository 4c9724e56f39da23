// Lazy locks and reader sections: every outcome an exhaustive search of every interleaving reaches,
// dpor with lazy locks reaches too, on an rw_semaphore whose sections never wait (atomicSections,
// handled lazily: the kernel model's TLB window) with two reader sections and a writer's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Cell } from '../../src/sched/cell.js';
import { dpor } from '../../src/sched/dpor.js';
import { exhaustive } from '../../src/sched/exhaustive.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import type { Program, Thread } from '../../src/sched/program.js';
import { RwSem } from '../../src/sched/rwsem.js';

interface S {
  sem: RwSem;
  g: Cell<number>[];
  x: Cell<number>;
  log: Record<string, number[]>;
}

type Step =
  | { k: 'reader'; read: number; rmw: boolean }
  | { k: 'writer'; cell: number; value: number; after: boolean }
  | { k: 'plain'; write: boolean };

function program(threads: Step[][]): Program<S> {
  const body = (name: string, steps: Step[]) =>
    function* (s: S): Thread<void> {
      const log: number[] = [];
      s.log[name] = log;
      for (const st of steps) {
        if (st.k === 'reader') {
          yield* s.sem.downRead();
          log.push(yield* s.g[st.read]!.read());
          if (st.rmw) log.push(yield* s.x.rmw((v) => [v + 1, v]));
          yield* s.sem.upRead();
        } else if (st.k === 'writer') {
          yield* s.sem.downWrite();
          yield* s.g[st.cell]!.write(st.value);
          yield* s.sem.upWrite();
          if (st.after) yield* s.x.write(10 * st.value);
        } else if (st.write) yield* s.x.write(100);
        else log.push(yield* s.x.read());
      }
    };
  return {
    setup: () => ({
      sem: new RwSem('sem', { atomicSections: true }),
      g: [new Cell('g0', 0), new Cell('g1', 0)],
      x: new Cell('x', 0),
      log: {},
    }),
    threads: Object.fromEntries(threads.map((steps, i) => [`t${i}`, body(`t${i}`, steps)])),
  };
}

const outcome = (s: S): string => JSON.stringify([s.log, s.g.map((c) => c.value), s.x.value]);

function outcomes(p: Program<S>, search: 'lazy' | 'exhaustive'): Set<string> | null {
  const seen = new Set<string>();
  const col =
    search === 'lazy'
      ? dpor(p, { lazyLocks: true }, new Lockdep(), (ex) => seen.add(outcome(ex.state)))
      : exhaustive(p, { maxExecutions: 20_000 }, new Lockdep(), (ex) => {
          if (!ex.anyUnfinished()) seen.add(outcome(ex.state));
          return -1;
        });
  return col.complete ? seen : null;
}

test('a writer between two reader sections: the reader that read first can still take the count second', () => {
  // t0 writes g1 under the semaphore, then x; t1 reads g1 and increments x in a reader section;
  // t2 reads g0 and increments x in another. The outcome t1 read g1 = 0 (before t0's section) and
  // saw x = 1 (after t2's increment), with t0's write of x last, is reached only with t2's section
  // run inside t1's: before the fix the lazy search moved t0's section along with t2's whenever it
  // put t2's increment before t1's, and never found it.
  const p = program([
    [{ k: 'writer', cell: 1, value: 1, after: true }],
    [{ k: 'reader', read: 1, rmw: true }],
    [{ k: 'reader', read: 0, rmw: true }],
  ]);
  const all = outcomes(p, 'exhaustive')!;
  const lazy = outcomes(p, 'lazy')!;
  assert.ok(all.has(JSON.stringify([{ t0: [], t1: [0, 1], t2: [0, 0] }, [0, 1], 10])));
  assert.deepEqual([...lazy].sort(), [...all].sort());
});

test('random programs of readers and writers: lazy dpor reaches every outcome exhaustive search does', () => {
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ k: fc.constant('reader' as const), read: fc.integer({ min: 0, max: 1 }), rmw: fc.boolean() }),
    fc.record({
      k: fc.constant('writer' as const),
      cell: fc.integer({ min: 0, max: 1 }),
      value: fc.integer({ min: 1, max: 2 }),
      after: fc.boolean(),
    }),
    fc.record({ k: fc.constant('plain' as const), write: fc.boolean() }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.array(stepArb, { minLength: 1, maxLength: 2 }), { minLength: 2, maxLength: 3 }),
      (threads) => {
        const p = program(threads);
        const all = outcomes(p, 'exhaustive');
        fc.pre(all !== null);
        const lazy = outcomes(p, 'lazy');
        assert.ok(lazy !== null);
        assert.deepEqual(
          [...all!].filter((o) => !lazy.has(o)),
          [],
        );
      },
    ),
    { numRuns: Number(process.env.VDM_PROPERTY_RUNS ?? 300), seed: 17 },
  );
});
