// Random small programs for property tests: threads of reads, writes and read-modify-writes on a
// few cells and on slots of a table (a Cell with slots: events on disjoint slots do not conflict),
// with branches on the values read, properly nested critical sections under mutexes and
// rw_semaphores (in any order, so deadlocks happen), trylocks and completions.

import fc from 'fast-check';
import { Cell, Completion, Mutex, type Program, RwSem, type Thread } from '../../../src/sched/index.js';

export type Instr =
  | { op: 'read'; cell: number }
  | { op: 'write'; cell: number; add: number }
  | { op: 'inc'; cell: number }
  | { op: 'slot-read'; slot: number; width: number }
  | { op: 'slot-write'; slot: number; width: number; add: number }
  | { op: 'if-even'; body: Instr[] }
  | { op: 'locked'; lock: number; body: Instr[] }
  | { op: 'trylocked'; lock: number; body: Instr[] }
  | { op: 'read-locked'; sem: number; body: Instr[] }
  | { op: 'write-locked'; sem: number; body: Instr[] }
  | { op: 'complete'; c: number }
  | { op: 'wait'; c: number };

export interface Spec {
  cells: number;
  locks: number;
  sems: number;
  comps: number;
  threads: Instr[][];
  /** The rw_semaphores' sections never wait (LockOptions.atomicSections). */
  atomicSems?: boolean;
}

const leaf = (cells: number, comps: number): fc.Arbitrary<Instr> => {
  const options: fc.Arbitrary<Instr>[] = [
    fc.record({ op: fc.constant('read' as const), cell: fc.nat(cells - 1) }),
    fc.record({
      op: fc.constant('write' as const),
      cell: fc.nat(cells - 1),
      add: fc.integer({ min: 0, max: 2 }),
    }),
    fc.record({ op: fc.constant('inc' as const), cell: fc.nat(cells - 1) }),
    fc.record({
      op: fc.constant('slot-read' as const),
      slot: fc.nat(SLOTS - 1),
      width: fc.integer({ min: 1, max: 2 }),
    }),
    fc.record({
      op: fc.constant('slot-write' as const),
      slot: fc.nat(SLOTS - 1),
      width: fc.integer({ min: 1, max: 2 }),
      add: fc.integer({ min: 0, max: 2 }),
    }),
  ];
  if (comps > 0) {
    options.push(fc.record({ op: fc.constant('complete' as const), c: fc.nat(comps - 1) }));
    options.push(fc.record({ op: fc.constant('wait' as const), c: fc.nat(comps - 1) }));
  }
  return fc.oneof(...options);
};

const instr = (
  s: { cells: number; locks: number; sems: number; comps: number },
  depth: number,
): fc.Arbitrary<Instr> => {
  if (depth === 0) return leaf(s.cells, s.comps);
  const body = fc.array(instr(s, depth - 1), { minLength: 1, maxLength: 2 });
  const options: fc.Arbitrary<Instr>[] = [
    leaf(s.cells, s.comps),
    leaf(s.cells, s.comps),
    fc.record({ op: fc.constant('if-even' as const), body }),
  ];
  if (s.locks > 0) {
    options.push(fc.record({ op: fc.constant('locked' as const), lock: fc.nat(s.locks - 1), body }));
    options.push(fc.record({ op: fc.constant('trylocked' as const), lock: fc.nat(s.locks - 1), body }));
  }
  if (s.sems > 0) {
    options.push(fc.record({ op: fc.constant('read-locked' as const), sem: fc.nat(s.sems - 1), body }));
    options.push(fc.record({ op: fc.constant('write-locked' as const), sem: fc.nat(s.sems - 1), body }));
  }
  return fc.oneof(...options);
};

const programs = (sizes: {
  cells: fc.Arbitrary<number>;
  locks: fc.Arbitrary<number>;
  sems: fc.Arbitrary<number>;
  comps: fc.Arbitrary<number>;
  nThreads: fc.Arbitrary<number>;
  length: fc.Arbitrary<number>;
}): fc.Arbitrary<Spec> =>
  fc.record(sizes).chain((s) =>
    fc
      .array(fc.array(instr(s, 2), { minLength: 1, maxLength: s.length }), {
        minLength: s.nThreads,
        maxLength: s.nThreads,
      })
      .map((threads) => ({ cells: s.cells, locks: s.locks, sems: s.sems, comps: s.comps, threads })),
  );

export const specArb: fc.Arbitrary<Spec> = programs({
  cells: fc.integer({ min: 1, max: 2 }),
  locks: fc.integer({ min: 0, max: 2 }),
  sems: fc.integer({ min: 0, max: 1 }),
  comps: fc.integer({ min: 0, max: 1 }),
  nThreads: fc.integer({ min: 2, max: 3 }),
  length: fc.constant(3),
});

/** Programs of up to four threads around one or two mutexes (for lock-aware reductions). */
export const lockSpecArb: fc.Arbitrary<Spec> = programs({
  cells: fc.integer({ min: 1, max: 2 }),
  locks: fc.integer({ min: 1, max: 2 }),
  sems: fc.constant(0),
  comps: fc.integer({ min: 0, max: 1 }),
  nThreads: fc.integer({ min: 2, max: 4 }),
  length: fc.constant(2),
});

/** Slots of the table every random program has. */
export const SLOTS = 4;

interface World {
  cells: Cell<number>[];
  table: Cell<number[]>;
  locks: Mutex[];
  sems: RwSem[];
  comps: Completion[];
  locals: number[];
}

export function build(spec: Spec): Program<World> {
  const threads: Record<string, (w: World) => Thread> = {};
  spec.threads.forEach((code, t) => {
    threads[`t${t}`] = function* (w) {
      yield* run(w, t, code);
    };
  });
  return {
    name: 'random',
    setup: () => ({
      cells: Array.from({ length: spec.cells }, (_, i) => new Cell(`x${i}`, 0)),
      table: new Cell('table', new Array<number>(SLOTS).fill(0), { slots: true }),
      locks: Array.from({ length: spec.locks }, (_, i) => new Mutex(`m${i}`)),
      sems: Array.from(
        { length: spec.sems },
        (_, i) => new RwSem(`s${i}`, { atomicSections: spec.atomicSems === true }),
      ),
      comps: Array.from({ length: spec.comps }, (_, i) => new Completion(`c${i}`)),
      locals: spec.threads.map(() => 0),
    }),
    threads,
  };
}

function* run(w: World, t: number, code: Instr[]): Thread<void> {
  for (const i of code) {
    switch (i.op) {
      case 'read':
        w.locals[t] = w.locals[t]! + (yield* w.cells[i.cell]!.read());
        break;
      case 'write':
        yield* w.cells[i.cell]!.write((w.locals[t]! + i.add) % 4);
        break;
      case 'inc':
        w.locals[t] = yield* w.cells[i.cell]!.rmw((v) => [(v + 1) % 4, v]);
        break;
      case 'slot-read': {
        const hi = Math.min(SLOTS, i.slot + i.width);
        const v = yield* w.table.readSlots(i.slot, hi);
        for (let k = i.slot; k < hi; k++) w.locals[t] = w.locals[t]! + v[k]!;
        break;
      }
      case 'slot-write': {
        const hi = Math.min(SLOTS, i.slot + i.width);
        const value = (w.locals[t]! + i.add) % 4;
        yield* w.table.rmwSlots(i.slot, hi, (a) => {
          for (let k = i.slot; k < hi; k++) a[k] = value;
          return [a, undefined];
        });
        break;
      }
      case 'if-even':
        if (w.locals[t]! % 2 === 0) yield* run(w, t, i.body);
        break;
      case 'locked':
        yield* w.locks[i.lock]!.lock();
        yield* run(w, t, i.body);
        yield* w.locks[i.lock]!.unlock();
        break;
      case 'trylocked':
        if (yield* w.locks[i.lock]!.tryLock()) {
          yield* run(w, t, i.body);
          yield* w.locks[i.lock]!.unlock();
        }
        break;
      case 'read-locked':
        yield* w.sems[i.sem]!.downRead();
        yield* run(w, t, i.body);
        yield* w.sems[i.sem]!.upRead();
        break;
      case 'write-locked':
        yield* w.sems[i.sem]!.downWrite();
        yield* run(w, t, i.body);
        yield* w.sems[i.sem]!.upWrite();
        break;
      case 'complete':
        yield* w.comps[i.c]!.complete();
        break;
      case 'wait':
        yield* w.comps[i.c]!.wait();
        break;
    }
  }
}

export function describe(w: World): string {
  return `${w.cells.map((c) => c.value).join(',')}/${w.table.value.join(',')}/${w.locals.join(',')}`;
}
