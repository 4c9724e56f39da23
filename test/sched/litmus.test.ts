// Litmus programs with known Mazurkiewicz trace counts: dpor runs exactly one execution per trace,
// exhaustive runs every interleaving, and both reach the same final states and violations.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as L from '../../src/demo/litmus.js';
import { type ExploreResult, explore, type Program } from '../../src/sched/index.js';
import { census } from './helpers/traces.js';

const { factorial } = L;
const multinomial = (k: number, m: number): number => factorial(k * m) / factorial(m) ** k;

/** Litmus programs have different state types; the tests treat them alike. */
const P = (p: object): Program<unknown> => p as Program<unknown>;

function kinds(r: ExploreResult): string[] {
  return [...new Set(r.violations.map((v) => `${v.kind}:${v.id}`))].sort();
}

interface Case {
  program: Program<unknown>;
  traces: number;
  interleavings?: number;
}

const cases: Case[] = [
  { program: P(L.readers(1)), traces: 2 },
  { program: P(L.readers(4)), traces: 2 ** 4, interleavings: factorial(5) },
  { program: P(L.readers(8)), traces: 2 ** 8 },
  { program: P(L.storeBuffering()), traces: 3, interleavings: 6 },
  { program: P(L.lockedIncrements(2)), traces: 2 },
  { program: P(L.lockedIncrements(4)), traces: factorial(4) },
  { program: P(L.lockedIncrements(6)), traces: factorial(6) },
  { program: P(L.writers(2, 3)), traces: multinomial(2, 3), interleavings: multinomial(2, 3) },
  { program: P(L.writers(3, 2)), traces: multinomial(3, 2), interleavings: multinomial(3, 2) },
  { program: P(L.independent(3, 3)), traces: 1, interleavings: multinomial(3, 3) },
  { program: P(L.racyIncrements(2)), traces: 4, interleavings: 6 },
];

describe('trace counts', () => {
  for (const c of cases) {
    test(`${c.program.name}: dpor runs ${c.traces} executions`, () => {
      const r = explore(c.program);
      assert.equal(r.executions, c.traces);
      assert.equal(r.blocked, 0);
      assert.equal(r.complete, true);
    });
    if (c.interleavings !== undefined) {
      test(`${c.program.name}: exhaustive runs all ${c.interleavings} interleavings`, () => {
        const r = explore(c.program, { strategy: 'exhaustive' });
        assert.equal(r.executions, c.interleavings);
        assert.equal(r.complete, true);
      });
    }
  }

  // Programs whose trace count we take from the independent oracle (every interleaving,
  // fingerprinted by its dependency graph) rather than a closed form.
  const oracle: Program<unknown>[] = [
    L.lastzero(3),
    L.lastzero(4),
    L.philosophers(3),
    L.philosophers(4),
    L.orderedPhilosophers(3),
    L.recursiveRead(),
    L.rwCounter(2, 2),
    L.rwCounter(1, 3),
    L.completions(2, 2),
    L.completions(2, 1),
    L.gatedInversion(),
  ].map(P);
  for (const p of oracle) {
    test(`${p.name}: dpor executions equal the number of traces`, () => {
      const c = census(p);
      assert.ok(c);
      const r = explore(p);
      assert.equal(r.executions, c.traces);
      assert.equal(r.blocked, 0);
      const e = explore(p, { strategy: 'exhaustive' });
      assert.equal(e.executions, c.interleavings);
    });
  }
});

describe('dpor and exhaustive agree', () => {
  const programs: Program<unknown>[] = [
    L.storeBuffering(),
    L.racyIncrements(3),
    L.lockedIncrements(3),
    L.philosophers(3),
    L.gatedInversion(),
    L.recursiveRead(),
    L.rwCounter(2, 2),
    L.completions(2, 1),
  ].map(P);
  for (const p of programs) {
    test(`${p.name}: same violations`, () => {
      const d = explore(p);
      const e = explore(p, { strategy: 'exhaustive' });
      assert.deepEqual(kinds(d), kinds(e));
      assert.equal(d.deadlocks > 0, e.deadlocks > 0);
    });
  }

  test('store buffering: both reads 0 is unreachable, the other three outcomes are reached', () => {
    const outcomes = new Set<string>();
    const p = L.storeBuffering();
    const wrapped = { ...p, final: (s: { r: number[] }) => void outcomes.add(s.r.join('')) };
    explore(wrapped);
    assert.deepEqual([...outcomes].sort(), ['01', '10', '11']);
    assert.deepEqual(kinds(explore(p)), []);
  });

  test('locked increments never lose an update; racy ones do', () => {
    assert.deepEqual(kinds(explore(L.lockedIncrements(4))), []);
    const r = explore(L.racyIncrements(3));
    assert.deepEqual(kinds(r), ['final:FINAL']);
    assert.match(r.violations[0]!.message, /lost update/);
  });
});
