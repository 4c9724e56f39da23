// State folding (ExploreOptions.foldStates, src/sched/dpor.ts): an execution that reaches a
// retry-loop head in a state whose first visit's subtree is explored ends there, after the races
// of what ran below that visit with the events before are reversed. The search must find what the
// unfolded search finds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cell, explore, type Program, type Thread } from '../../src/sched/index.js';
import { tugClearer, tugSetter } from './helpers/tug.js';

interface S {
  x: Cell<number>;
  y: Cell<number>;
  aDone: Cell<boolean>;
}

/**
 * A sets x and retries until it reads its own 1 back; B clears x each time it sees a 1 and stops
 * when it reads 0; C writes y twice, which B and A never read, so B's and A's rounds reach the same
 * loop-head states in several executions (C before, between or after them). `bad` is a violation
 * reachable only after a round: A finished, x cleared, and y already 2.
 */
function tugWithBystander(): Program<S> {
  const a = (s: S): Thread<void> => tugSetter(s.x, s.aDone);
  const b = (s: S): Thread<void> => tugClearer(s.x);
  const c = function* (s: S): Thread<void> {
    yield* s.y.write(1);
    yield* s.y.write(2);
  };
  return {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0), aDone: new Cell('aDone', false) }),
    threads: { a, b, c },
    sharedState: () => ({}),
    invariant: (s) =>
      s.aDone.value && s.x.value === 0 && s.y.value === 2 ? 'x cleared after A finished, y at 2' : undefined,
  };
}

test('folding ends executions at loop-head states already explored and finds the same violation', () => {
  const plain = explore(tugWithBystander(), { strategy: 'dpor', maxSteps: 80 });
  const folded = explore(tugWithBystander(), { strategy: 'dpor', maxSteps: 80, foldStates: true });
  assert.equal(plain.complete, true, JSON.stringify(plain.incomplete));
  assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
  assert.equal(plain.folded, undefined);
  assert.ok((folded.folded ?? 0) > 0, 'some execution reached an explored loop-head state');
  assert.deepEqual(
    folded.violations.map((v) => v.message),
    plain.violations.map((v) => v.message),
  );
  assert.deepEqual(
    plain.violations.map((v) => v.message),
    ['x cleared after A finished, y at 2'],
  );
});

test('folding needs one sequential dpor search without a preemption bound: otherwise it is off', () => {
  const bounded = explore(tugWithBystander(), {
    strategy: 'dpor',
    maxSteps: 80,
    foldStates: true,
    preemptionBound: 2,
  });
  assert.equal(bounded.folded, undefined);
  const exhaustive = explore(tugWithBystander(), { strategy: 'exhaustive', maxSteps: 80, foldStates: true });
  assert.equal(exhaustive.folded, undefined);
});
