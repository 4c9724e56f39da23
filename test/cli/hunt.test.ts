// `vdm hunt` on the command line: the output folder (shrunk findings that `vdm check` passes, a
// corpus, hunt.json), a resumed hunt that knows what it found before, the uAPI description, and
// clear errors for bad flags.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OP_NAMES } from '../../src/scenario/ops.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const vdm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const dir = mkdtempSync(join(tmpdir(), 'vdm-hunt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('vdm hunt', () => {
  test('writes shrunk findings that check, a corpus and hunt.json; exit 1 for new signatures', () => {
    const out = join(dir, 'h');
    const r = vdm('hunt', '--design', 'v5.8', '--programs', '40', '--max-executions', '100', '--out', out);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /vdm hunt on v5\.8 \(seed 1\): 40 programs/);
    assert.match(
      r.out,
      /\* LOCK_ORDER (recursive memory_lock|memory_lock -> mmap_lock -> vma_lock -> memory_lock)/,
    );
    const findings = readdirSync(join(out, 'findings'));
    assert.ok(findings.length > 0);
    for (const f of findings) {
      const text = readFileSync(join(out, 'findings', f), 'utf8');
      const replayLine = /^# replay: (.*)$/m.exec(text);
      const check = vdm('check', join(out, 'findings', f));
      assert.match(check.out, /verdict: pass/, `${f}\n${text}\n${check.out}${check.err}`);
      if (replayLine) {
        const [, , file, , schedule] = replayLine[1]!.split(' ');
        const rep = vdm('replay', file!, '--schedule', schedule!);
        assert.equal(rep.code, 1, `${f}: the replay shows the violation\n${rep.out}`);
      }
    }
    assert.ok(readdirSync(join(out, 'corpus')).length > 0);
    const summary = JSON.parse(readFileSync(join(out, 'hunt.json'), 'utf8'));
    assert.equal(summary.stats.programs, 40);
    assert.ok(summary.signatures.some((s: { key: string }) => s.key.startsWith('LOCK_ORDER')));
  });

  test('a hunt in the same folder resumes: the corpus first, known signatures not shrunk again', () => {
    const out = join(dir, 'h');
    const before = readdirSync(join(out, 'findings')).length;
    const r = vdm(
      'hunt',
      '--design',
      'v5.8',
      '--programs',
      '10',
      '--max-executions',
      '100',
      '--out',
      out,
      '--json',
    );
    const summary = JSON.parse(r.out);
    const known = summary.signatures.filter((s: { known: boolean }) => s.known);
    assert.ok(known.length > 0, 'what the first hunt found is known');
    assert.ok(known.every((s: { shrunk?: unknown }) => s.shrunk === undefined));
    assert.ok(readdirSync(join(out, 'findings')).length >= before);
    assert.equal(
      r.code,
      summary.signatures.some((s: { known: boolean; waitsForUser?: boolean }) => !s.known && !s.waitsForUser)
        ? 1
        : 0,
    );
  });

  test('a seed is the same hunt every time on one worker', () => {
    const run = (n: number) =>
      JSON.parse(
        vdm(
          'hunt',
          '--design',
          'v5.7',
          '--seed',
          '9',
          '--programs',
          '25',
          '--max-executions',
          '50',
          '--no-shrink',
          '--out',
          join(dir, `seed${n}`),
          '--json',
        ).out,
      );
    const [a, b] = [run(1), run(2)];
    const sigs = (x: { signatures: { key: string; firstProgram: number; programs: number }[] }) =>
      x.signatures.map((s) => [s.key, s.firstProgram, s.programs]);
    assert.deepEqual(sigs(a), sigs(b));
    for (const k of ['programs', 'executions', 'blocks', 'corpus'] as const)
      assert.equal(a.stats[k], b.stats[k], k);
  });

  test('--describe prints the uAPI description: every operation, from the operations table', () => {
    const r = vdm('hunt', '--describe');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, OP_NAMES.length);
    assert.ok(!r.out.includes('not hunted'));
  });

  test('bad flags are usage errors (exit 2) that name the flag', () => {
    const a = vdm('hunt', '--design', 'v5.9', '--out', join(dir, 'x'));
    assert.equal(a.code, 2);
    assert.match(a.err, /--design: unknown design "v5\.9" — did you mean `v[56]\.[89]`\?/);
    const b = vdm('hunt', '--time', '10 minutes');
    assert.equal(b.code, 2);
    assert.match(b.err, /--time: not a duration/);
    assert.ok(!existsSync(join(dir, 'x')), 'nothing is written for a refused command');
  });
});
