// State folding across retry cycles (src/sched/dpor.ts: foldAt, foldCycle, foldComplete). A loop
// head where a retry cycle stops its thread is the state with that thread stopped, not the one
// with it running; and a finished state whose subtree went round a retry cycle back to a state
// above it can go on to whatever that state can, so its record is completed with that state's
// operations once that state's subtree is done. Both are checked on the tug of war, and the folded
// search is compared with the plain one on random tugs whose iterations also touch other cells.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { foldTestHooks } from '../../src/sched/dpor.js';
import { DEAD } from '../../src/sched/execution.js';
import {
  Cell,
  type ExploreOptions,
  explore,
  loopEnd,
  loopHead,
  type Program,
  type Thread,
} from '../../src/sched/index.js';
import { tugClearer, tugSetter } from './helpers/tug.js';

interface S {
  x: Cell<number>;
  y: Cell<number>;
  aDone: Cell<boolean>;
}

/** The tug of war (A sets x until it reads its own 1, B clears it) and C writing y twice. */
function tug(): Program<S> {
  return {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0), aDone: new Cell('aDone', false) }),
    threads: {
      a: (s: S) => tugSetter(s.x, s.aDone),
      b: (s: S) => tugClearer(s.x),
      c: function* (s: S): Thread<void> {
        yield* s.y.write(1);
        yield* s.y.write(2);
      },
    },
    sharedState: () => ({}),
    invariant: (s) =>
      s.aDone.value && s.x.value === 0 && s.y.value === 2 ? 'x cleared after A finished, y at 2' : undefined,
  };
}

const OPTS: ExploreOptions = { strategy: 'dpor', maxSteps: 80 };

/** The packed summary's operations as "t,o,k,lo,hi" strings, with their follow masks. */
function opsOf(ops: Int32Array, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < ops.length; i += 8 + n + ops[i + 7]!)
    out.set(`${ops[i]},${ops[i + 1]},${ops[i + 2]},${ops[i + 3]},${ops[i + 4]}`, ops[i + 5]!);
  return out;
}

test('a loop head where a retry cycle stops its thread is recorded as the state with that thread stopped', () => {
  const stops: { key: string; stopped: number }[] = [];
  let others = 0;
  foldTestHooks.onRecord = (key, stopped) => {
    if (stopped >= 0) stops.push({ key, stopped });
    else others++;
  };
  let folded: ReturnType<typeof explore>;
  try {
    folded = explore(tug(), { ...OPTS, foldStates: true });
  } finally {
    foldTestHooks.onRecord = undefined;
  }
  const plain = explore(tug(), OPTS);
  assert.equal(folded.complete, true);
  assert.ok(stops.length > 0, 'some retry cycle stopped a thread at a recorded loop head');
  assert.ok(others > 0);
  for (const { key, stopped } of stops) {
    // The key: the shared state's hash, then one part per thread (its status, and its local state
    // while it runs). The stopped thread runs nothing below this head: its part is its status.
    const parts = key.split('|');
    assert.equal(parts.length, 1 + 3, key);
    assert.equal(parts[1 + stopped], String(DEAD), `thread ${stopped} stopped at ${key}`);
  }
  assert.deepEqual(
    folded.violations.map((v) => v.message),
    plain.violations.map((v) => v.message),
  );
});

test('a finished state whose subtree went round a retry cycle is completed with the operations of the state it led back to', () => {
  const completions: {
    before: Map<string, number>;
    root: Map<string, number>;
    after: Map<string, number>;
  }[] = [];
  foldTestHooks.onComplete = (before, rootOps, after, n) =>
    completions.push({ before: opsOf(before, n), root: opsOf(rootOps, n), after: opsOf(after, n) });
  try {
    const r = explore(tug(), { ...OPTS, foldStates: true });
    assert.equal(r.complete, true);
  } finally {
    foldTestHooks.onComplete = undefined;
  }
  assert.ok(completions.length > 0, 'some finished state led back to a state above it');
  let gained = 0;
  for (const { before, root, after } of completions) {
    for (const op of before.keys()) assert.ok(after.has(op), `kept its own ${op}`);
    for (const op of root.keys()) {
      assert.ok(after.has(op), `gained the root's ${op}`);
      if (!before.has(op)) {
        gained++;
        // Of the root's operations it knows only that they come after it: it claims no order.
        assert.equal(after.get(op), 0, `no followed thread for ${op}`);
      }
    }
  }
  assert.ok(gained > 0, 'some completed record gained operations it had not run below itself');
});

// ---- Random tugs whose loop iterations touch other cells ----

interface Step {
  read: boolean;
  cell: number;
  value: number;
}

interface Spec {
  aBody: Step[];
  aAfter: Step[];
  bBody: Step[];
  bAfter: Step[];
  c: Step[];
}

interface W {
  x: Cell<number>;
  done: Cell<boolean>;
  cells: Cell<number>[];
  seen: Cell<string>[];
}

const stepArb: fc.Arbitrary<Step> = fc.record({
  read: fc.boolean(),
  cell: fc.nat(1),
  value: fc.integer({ min: 1, max: 2 }),
});

const specArb: fc.Arbitrary<Spec> = fc.record({
  aBody: fc.array(stepArb, { minLength: 1, maxLength: 1 }),
  aAfter: fc.array(stepArb, { maxLength: 1 }),
  bBody: fc.array(stepArb, { maxLength: 1 }),
  bAfter: fc.array(stepArb, { maxLength: 1 }),
  c: fc.array(stepArb, { minLength: 1, maxLength: 2 }),
});

function* run(s: W, list: readonly Step[], out: number[]): Thread<void> {
  for (const st of list) {
    const c = s.cells[st.cell]!;
    if (st.read) out.push(yield* c.read());
    else yield* c.write(st.value);
  }
}

/**
 * A: each iteration runs its body (what it reads is the iteration's own), writes 1 to x and reads
 * it back, and leaves the loop on its own 1; B: each iteration runs its body and reads x, leaving
 * on anything but 1, else clears it. Writes write constants, so an iteration that changes nothing
 * leaves the state as it found it. Each thread publishes what it read (in the last iteration, and
 * after the loop) in a cell of its own.
 */
function randomTug(spec: Spec, visited: Set<string>): Program<W> {
  return {
    setup: () => ({
      x: new Cell('x', 0),
      done: new Cell('done', false),
      cells: [0, 1].map((i) => new Cell(`v${i}`, 0)),
      seen: ['a', 'b', 'c'].map((n) => new Cell(`seen_${n}`, '')),
    }),
    threads: {
      a: function* (s: W): Thread<void> {
        const inv = {};
        let last: number[] = [];
        try {
          for (;;) {
            loopHead(inv);
            const it: number[] = [];
            yield* run(s, spec.aBody, it);
            yield* s.x.write(1);
            const v = yield* s.x.read();
            last = it;
            if (v === 1) break;
          }
        } finally {
          loopEnd(inv);
        }
        yield* s.done.write(true);
        yield* run(s, spec.aAfter, last);
        yield* s.seen[0]!.write(last.join(','));
      },
      b: function* (s: W): Thread<void> {
        const inv = {};
        let last: number[] = [];
        try {
          for (;;) {
            loopHead(inv);
            const it: number[] = [];
            yield* run(s, spec.bBody, it);
            const v = yield* s.x.read();
            last = it;
            if (v !== 1) break;
            yield* s.x.write(0);
          }
        } finally {
          loopEnd(inv);
        }
        yield* run(s, spec.bAfter, last);
        yield* s.seen[1]!.write(last.join(','));
      },
      c: function* (s: W): Thread<void> {
        const out: number[] = [];
        yield* run(s, spec.c, out);
        yield* s.seen[2]!.write(out.join(','));
      },
    },
    sharedState: () => ({}),
    invariant: (s) => {
      visited.add(
        [s.x.value, s.done.value, ...s.cells.map((c) => c.value), ...s.seen.map((c) => c.value)].join('/'),
      );
      return undefined;
    },
  };
}

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);

test('property: on tugs whose iterations touch other cells, folding visits every state of the cells the plain search visits', () => {
  let compared = 0;
  fc.assert(
    fc.property(specArb, (spec) => {
      const opts: ExploreOptions = { strategy: 'dpor', maxSteps: 150, maxExecutions: 3000 };
      const plainSeen = new Set<string>();
      const plain = explore(randomTug(spec, plainSeen), opts);
      if (!plain.complete) return true;
      const foldSeen = new Set<string>();
      const folded = explore(randomTug(spec, foldSeen), { ...opts, foldStates: true });
      if (!folded.complete) return true;
      compared++;
      const lost = [...plainSeen].filter((x) => !foldSeen.has(x));
      assert.deepEqual(lost, [], `lost states of the cells on ${JSON.stringify(spec)}`);
      return true;
    }),
    { numRuns: Math.max(1, Math.round(RUNS / 10)), seed: Number(process.env.VDM_PROPERTY_SEED ?? 3) },
  );
  assert.ok(compared > 0, 'some program completed both ways');
});
