// Property: on random small programs, dpor explores exactly one execution per Mazurkiewicz trace
// (none twice, none missed), and reaches the same final states, deadlocks and violations as
// exhaustive search.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dpor } from '../../src/sched/dpor.js';
import { explore } from '../../src/sched/index.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import { build, describe, specArb } from './helpers/random-program.js';
import { census, fingerprint } from './helpers/traces.js';

const RUNS = Number(process.env.VDM_PROPERTY_RUNS ?? 300);

test('dpor explores each Mazurkiewicz trace exactly once on random programs', () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      const program = build(spec);
      const c = census(program, describe, 5000);
      fc.pre(c !== null);
      if (c === null) return;
      const seen = new Set<string>();
      let duplicates = 0;
      const finals = new Set<string>();
      const col = dpor(program, {}, new Lockdep(), (ex) => {
        const f = fingerprint(ex);
        if (seen.has(f)) duplicates++;
        seen.add(f);
        if (!ex.anyUnfinished()) finals.add(describe(ex.state));
      });
      assert.equal(duplicates, 0, 'a trace was explored twice');
      assert.equal(col.blocked, 0, 'sleep-set blocked executions');
      const missing = [...c.fingerprints].filter((f) => !seen.has(f));
      assert.deepEqual(missing, [], 'traces dpor never explored');
      assert.equal(col.executions, c.traces);
      assert.deepEqual([...finals].sort(), [...c.finals].sort());
      assert.equal(col.deadlocks > 0, c.deadlocks > 0);
    }),
    { numRuns: RUNS, seed: Number(process.env.VDM_PROPERTY_SEED ?? 42) },
  );
});

test('dpor and exhaustive report the same violation kinds on random programs', () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      const program = build(spec);
      const e = explore(program, {
        strategy: 'exhaustive',
        maxExecutions: 20000,
        minimizePreemptions: false,
      });
      fc.pre(e.complete);
      const d = explore(program, { minimizePreemptions: false });
      const kinds = (r: typeof d) => [...new Set(r.violations.map((v) => `${v.kind}:${v.id}`))].sort();
      assert.deepEqual(kinds(d), kinds(e));
      assert.ok(d.complete);
    }),
    { numRuns: Math.ceil(RUNS / 3), seed: 7 },
  );
});
