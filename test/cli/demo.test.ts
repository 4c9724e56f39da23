// vdm: --help, --version, the demo command, its exit codes, JSON and replay.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const vdm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

test('vdm --version prints the package version; --help lists the commands', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  assert.equal(vdm('--version').out.trim(), pkg.version);
  const help = vdm('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /Usage: vdm/);
  assert.match(help.out, /demo/);
});

test('vdm demo: no violation, exit 0', () => {
  const r = vdm('demo');
  assert.equal(r.code, 0);
  assert.match(r.out, /2 executions \(dpor\).*complete/);
  assert.match(r.out, /no violation found/);
});

test('vdm demo --buggy: the counterexample, its trace and the replay command; exit 1', () => {
  const r = vdm('demo', '--buggy');
  assert.equal(r.code, 1);
  assert.match(r.out, /invariant INVARIANT: a PTE maps the BAR while memory decode is off/);
  assert.match(r.out, /fault \[006\] down_read: memory_lock {2}@ .*src\/demo\/fault-vs-zap\.ts:\d+/);
  const cmd = /replay: vdm demo --buggy --schedule '([^']+)'/.exec(r.out);
  assert.ok(cmd);
  const again = vdm('demo', '--buggy', '--schedule', cmd[1]!);
  assert.equal(again.code, 1);
  assert.match(again.out, /fault \[007\] write: pte/);
});

test('vdm demo --json prints the ExploreResult', () => {
  const r = vdm('demo', '--buggy', '--json', '--strategy', 'exhaustive');
  const j = JSON.parse(r.out);
  assert.equal(j.strategy, 'exhaustive');
  assert.equal(j.complete, true);
  assert.equal(j.violations[0].kind, 'invariant');
  assert.equal(typeof j.violations[0].schedule, 'string');
});

test('bad input exits 2 with a message, never a stack trace', () => {
  for (const args of [
    ['demo', '--max-executions', 'x'],
    ['demo', '--strategy', 'bfs'],
    ['demo', '--schedule', 'a?'],
    ['nope'],
  ]) {
    const r = vdm(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    assert.ok(r.err.length > 0);
  }
});
