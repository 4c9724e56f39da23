// Every id of the catalog fires somewhere: for each invariant id (and the explorer's DEADLOCK,
// LOCK_ORDER, ERROR and EXPECT) an example in examples/ expects it on its own design, and the
// explorer really reports it there. An invariant no example can break is an invariant nobody has
// seen fail; the ids listed in MISSING have no example yet, each with the reason, and the test
// fails as soon as one gets an example (so the list only shrinks).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { INVARIANTS } from '../../src/invariants/catalog.js';
import { INVARIANT_IDS } from '../../src/invariants/system.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import type { Scenario } from '../../src/scenario/resolve.js';

/** Ids without an example, and why. */
const MISSING: Record<string, string> = {};

function rootAbove(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
const root = rootAbove(dirname(fileURLToPath(import.meta.url))) ?? rootAbove(process.cwd());
if (!root) throw new Error('no package.json above this file or the working directory');
const dir = join(root, 'examples');
interface Row {
  executions: number;
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  examples: Record<string, { design: string; own?: Row; results: Record<string, Row> }>;
};
const examples: [string, Scenario][] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => [f, loadScenarioFile(join(dir, f))]);

const checked = INVARIANTS.filter(
  (i) => i.by === 'invariant' || ['DEADLOCK', 'LOCK_ORDER', 'ERROR', 'EXPECT'].includes(i.id),
).map((i) => i.id);

test('the catalog lists every invariant id the checks can report, once', () => {
  const ids = INVARIANTS.filter((i) => i.by === 'invariant').map((i) => i.id);
  assert.deepEqual([...ids].sort(), [...INVARIANT_IDS].sort());
  assert.equal(new Set(INVARIANTS.map((i) => i.id)).size, INVARIANTS.length);
});

describe('every id fires in an example that expects it', () => {
  for (const id of checked) {
    const expecting = examples.filter(([, sc]) => sc.expect.violations.includes(id));
    if (id in MISSING) {
      test(`${id}: no example yet — ${MISSING[id]}`, () => {
        assert.deepEqual(
          expecting.map(([f]) => f),
          [],
          `${id} has an example now: remove it from MISSING`,
        );
      });
      continue;
    }
    // The cheapest example that expects it (by the executions the manifest records).
    const cheapest = [...expecting].sort((a, b) => cost(a[0]) - cost(b[0]))[0];
    test(`${id}: ${cheapest?.[0] ?? 'no example'}`, () => {
      assert.ok(cheapest, `no example expects ${id}`);
      const [file, sc] = cheapest;
      const r = checkScenario(sc, { stopAtFirst: true });
      const found = new Set(r.violations.map((v) => v.invariant));
      assert.ok(found.has(id), `${file} on ${sc.design.name}: found ${[...found].join(', ') || 'nothing'}`);
      assert.equal(r.verdict, 'pass', `${file}: its expectations hold`);
    });
  }
});

/** Executions on its own design, from examples/manifest.json (an example not in it yet: last). */
function cost(file: string): number {
  const e = manifest.examples[file];
  return (e?.own ?? e?.results[e.design])?.executions ?? Number.POSITIVE_INFINITY;
}
