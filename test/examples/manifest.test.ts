// The examples library (examples/*.yaml) against its manifest (examples/manifest.json, written by
// examples/generate-manifest.mjs): the manifest lists exactly the examples present, and every
// example, checked on every design, gives the verdict, violation ids, completeness and number of
// executions the manifest records (dpor and exhaustive are deterministic).

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DESIGN_NAMES, designOf } from '../../src/designs/design.js';
import type { CheckReport } from '../../src/report/results.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';

interface Result {
  verdict: 'pass' | 'fail';
  violations: string[];
  executions: number;
  complete: boolean;
}

interface Entry {
  name: string;
  design: string;
  story: string;
  expected: string[];
  options?: Record<string, unknown>;
  results: Record<string, Result>;
  own?: Result;
}

interface Manifest {
  designs: string[];
  examples: Record<string, Entry>;
}

/** The repository root: the first directory above `from` that holds package.json. */
function rootAbove(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

// From this file (dist/test/examples/ in a build inside the repository); a build elsewhere is run
// from the repository, so the working directory is the fallback.
const root = rootAbove(dirname(fileURLToPath(import.meta.url))) ?? rootAbove(process.cwd());
if (!root) throw new Error('test/examples: no package.json above this file or the working directory');
const dir = join(root, 'examples');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

const summary = (r: CheckReport): Result => ({
  verdict: r.verdict,
  violations: [...new Set(r.violations.map((v) => v.invariant))].sort(),
  executions: r.executions,
  complete: r.complete,
});

test('the manifest lists exactly the examples present, each on every design', () => {
  assert.deepEqual(Object.keys(manifest.examples).sort(), files);
  assert.deepEqual(manifest.designs, [...DESIGN_NAMES]);
  for (const [file, e] of Object.entries(manifest.examples)) {
    assert.deepEqual(Object.keys(e.results), [...DESIGN_NAMES], file);
    assert.ok(e.story.length > 0, `${file}: a story`);
  }
});

for (const file of files) {
  const entry = manifest.examples[file];
  describe(file, () => {
    if (!entry) {
      test('is in the manifest (run examples/generate-manifest.mjs)', () =>
        assert.fail(`${file} is missing`));
      return;
    }
    const sc = loadScenarioFile(join(dir, file));
    test('its own design and expectations are the manifest', () => {
      assert.equal(sc.design.name, entry.design);
      assert.deepEqual(sc.expect.violations, entry.expected);
      assert.equal(Object.keys(sc.design.options).length > 0, entry.own !== undefined);
    });
    for (const d of DESIGN_NAMES) {
      const want = entry.results[d];
      test(`on ${d}${d === entry.design && !entry.own ? ' (its own design)' : ''}`, () => {
        assert.ok(want, `no manifest row for ${d}`);
        assert.deepEqual(summary(checkScenario(sc, { design: designOf(d) })), want);
      });
    }
    if (entry.own) {
      const want = entry.own;
      test(`on its own design ${entry.design} with ${JSON.stringify(entry.options)}`, () => {
        assert.deepEqual(summary(checkScenario(sc)), want);
        assert.equal(want.verdict, 'pass');
      });
    } else {
      test('passes on its own design', () => {
        assert.equal(entry.results[entry.design]?.verdict, 'pass');
      });
    }
  });
}
