// The race diagrams on the README's first screen and in docs/report.md are what the tool prints today, not a copy that
// drifted: the command it shows is run and its output compared with the README's block.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test("the README's race diagram is the output of the command it shows", () => {
  const readme = readFileSync(`${repo}README.md`, 'utf8');
  const m = /```\n\$ vdm (report [^\n]+)\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'a ```-block starting with `$ vdm report ...` in the README');
  const args = m[1]!.split(' ');
  const r = spawnSync(process.execPath, [main, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(m[2], r.stdout);
  // It comes before the tour: the first screen.
  assert.ok(readme.indexOf(m[0]) < readme.indexOf('## A five-minute tour'));
});
