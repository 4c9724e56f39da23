// docs/findings.md quotes the explorer's counterexamples as `vdm replay FILE --schedule S` → `ID`
// (an invariant, or LOCK_ORDER: a lock-order cycle the replayed execution closes).
// Schedules are hashes of the model's events: a change to the model can move them. Each quoted
// command is replayed here and must still end in the invariant named beside it, so the page never
// hands a kernel developer a command that no longer shows what it says.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const page = readFileSync(`${root}docs/findings.md`, 'utf8');

/** `vdm replay FILE --schedule S` → `ID`, possibly across a line break. */
const QUOTE = /`vdm replay (\S+) --schedule (\S+)`\s*→\s*`([A-Z_]+)`/g;
const quotes = [...page.matchAll(QUOTE)].map((m) => ({ file: m[1]!, schedule: m[2]!, id: m[3]! }));

describe('docs/findings.md', () => {
  test('quotes a replay command for each finding', () => {
    assert.ok(quotes.length >= 6, `only ${quotes.length} replay commands found`);
    for (const section of page.split(/^## \d+\. /m).slice(1)) {
      assert.match(section, /`vdm replay /, `a finding without a replay command: ${section.slice(0, 60)}`);
    }
  });

  for (const q of quotes) {
    test(`${q.file} --schedule ${q.schedule} shows ${q.id}`, () => {
      const r = spawnSync(process.execPath, [main, 'replay', q.file, '--schedule', q.schedule], {
        cwd: root,
        encoding: 'utf8',
      });
      // replay exits 1 when the execution violates an invariant, 2 for bad input.
      assert.ok(r.status === 0 || r.status === 1, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^${q.id} \\((?:invariant|lock-order|deadlock)\\): `, 'm'),
        `no ${q.id} at the end of the replay`,
      );
    });
  }
});
