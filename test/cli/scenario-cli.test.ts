// vdm check / run / replay / compare / report / list / schema: the CLI as docs/cli.md describes it —
// exit codes, the JSON shapes, replayable counterexamples, and bad input as exit 2 with
// file:line:column and no stack trace.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { mergeSwarm } from '../../src/cli/parallel-check.js';
import { DESIGN_NAMES, designOf } from '../../src/designs/design.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { explore } from '../../src/sched/index.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const vdm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const dir = mkdtempSync(join(tmpdir(), 'vdm-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function scenario(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const CONCURRENT_FAULTS = fileURLToPath(
  new URL('../../../examples/v5.8-concurrent-faults-bug.yaml', import.meta.url),
);

// A search of 27,515 executions on the proposal's design (three faults against a memory disable):
// what the tests of long runs (checkpoints, workers, progress) cut short.
const LONG_ON_DMABUF = fileURLToPath(new URL('../../../examples/faults-vs-disable.yaml', import.meta.url));

// A fault on a BAR mapping racing a device reset: kept upstream, broken on v5.7 (no zap at all).
const RESET = scenario(
  'reset.yaml',
  `name: reset races a fault
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, length: 16K, as: m }
threads:
  vmm:
    - load: { map: m, offset: 0x1000 }
  admin:
    - reset: { fd: dev, expect: ok }
expect: { violations: [] }
`,
);

describe('vdm check', () => {
  test('expect holds: exit 0; --json has the contract fields', () => {
    const r = vdm('check', RESET, '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.scenario, 'reset races a fault');
    assert.equal(j.design, 'upstream');
    assert.equal(j.verdict, 'pass');
    assert.equal(j.complete, true);
    assert.ok(j.executions > 1);
    assert.deepEqual(j.violations, []);
  });

  test('--design replaces the design: v5.7 breaks MMIO_WHILE_DISABLED, exit 1, and the schedule replays it', () => {
    const r = vdm('check', RESET, '--design', 'v5.7', '--json');
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.design, 'v5.7');
    assert.equal(j.verdict, 'fail');
    const v = j.violations.find((x: { invariant: string }) => x.invariant === 'MMIO_WHILE_DISABLED');
    assert.ok(v, r.out);
    assert.equal(typeof v.message, 'string');
    const rep = vdm('replay', RESET, '--design', 'v5.7', '--schedule', v.schedule, '--json');
    assert.equal(rep.code, 1);
    const rec = JSON.parse(rep.out);
    assert.ok(rec.violations.some((x: { id: string }) => x.id === 'MMIO_WHILE_DISABLED'));
    assert.ok(rec.steps.length > 0);
    // --functions (as documented) and --no-functions both work; function lines are the default.
    const plain = vdm('replay', RESET, '--design', 'v5.7', '--schedule', v.schedule);
    const withF = vdm('replay', RESET, '--design', 'v5.7', '--schedule', v.schedule, '--functions');
    const without = vdm('replay', RESET, '--design', 'v5.7', '--schedule', v.schedule, '--no-functions');
    assert.equal(withF.code, 1, withF.err);
    assert.equal(withF.out, plain.out);
    assert.match(withF.out, /funcgraph_entry/);
    assert.equal(without.code, 1, without.err);
    assert.doesNotMatch(without.out, /funcgraph_entry/);
    assert.match(without.out, /MMIO_WHILE_DISABLED/);
  });

  test('text output: the invariant, the counterexample trace with kernel functions, the replay command', () => {
    const r = vdm('check', RESET, '--design', 'v5.7');
    assert.equal(r.code, 1);
    assert.match(r.out, /MMIO_WHILE_DISABLED \(invariant/);
    assert.match(r.out, /counterexample \(\d+ preemptions?, \d+ events\)/);
    assert.match(r.out, /vmm-1 +\[000\]/);
    // v5.7's reset is pci_try_reset_function() alone: no memory_lock, no zap (the v5.8 fix added both).
    assert.match(r.out, /func=pci_try_reset_function/);
    assert.doesNotMatch(r.out, /memory_lock/);
    assert.match(r.out, /replay: vdm replay \S+ --design v5.7 --schedule \S+/);
    assert.match(r.out, /verdict: fail \(found MMIO_WHILE_DISABLED, not expected\)/);
  });

  test('--option flips a design option; a wrong one is exit 2 with a suggestion', () => {
    const bad = vdm('check', RESET, '--option', 'closeOrdr=disable-first');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /did you mean `closeOrder`/);
    assert.equal(vdm('check', RESET, '--option', 'closeOrder=sideways').code, 2);
    assert.equal(vdm('check', RESET, '--option', 'closeOrder=disable-first').code, 0);
    const d = vdm('check', RESET, '--design', 'upstrem');
    assert.equal(d.code, 2);
    assert.match(d.err, /did you mean `upstream`/);
  });

  test('bad scenario: exit 2, file:line:column: field, no stack trace, nothing else printed', () => {
    const f = scenario(
      'bad.yaml',
      `name: bad
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
threads:
  vmm:
    - mmapp: { fd: dev, length: 4K, as: m }
`,
    );
    const r = vdm('check', f);
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(
      r.err,
      new RegExp(
        `${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7:7: threads\\.vmm\\[0\\]\\.mmapp: unknown operation \`mmapp\` — did you mean \`mmap\`\\?`,
      ),
    );
    assert.doesNotMatch(r.err, /\n\s+at /);
    const missing = vdm('check', join(dir, 'nope.yaml'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /nope\.yaml: no such file/);
  });

  test('expect lists what must be found: pass when found, fail when not', () => {
    const f = scenario(
      'expect.yaml',
      readFileSync(RESET, 'utf8')
        .replace('expect: { violations: [] }', 'expect: { violations: [MMIO_WHILE_DISABLED] }')
        .replace('name: reset races a fault', 'name: expects a violation\ndesign: v5.7'),
    );
    assert.equal(vdm('check', f).code, 0);
    const r = vdm('check', f, '--design', 'upstream', '--json');
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.out).reasons, ['expected MMIO_WHILE_DISABLED, not found']);
  });
});

test('vdm compare --json: one result per design with the contract fields', () => {
  const r = vdm('compare', RESET, '--json', '--max-executions', '400');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.scenario, 'reset races a fault');
  const names = j.results.map((x: { design: string }) => x.design);
  for (const d of ['upstream', 'v6.19', 'v6.12', 'v6.10', 'v6.9', 'v5.13', 'v5.8', 'v5.7'])
    assert.ok(names.includes(d), d);
  const byName = Object.fromEntries(j.results.map((x: { design: string }) => [x.design, x]));
  assert.deepEqual(byName.upstream.violations, []);
  assert.ok(byName['v5.7'].violations.includes('MMIO_WHILE_DISABLED'));
  for (const x of j.results) {
    assert.equal(typeof x.executions, 'number');
    assert.equal(typeof x.complete, 'boolean');
    assert.ok(Array.isArray(x.violations));
  }
});

describe('vdm compare --workers N', () => {
  // A file whose design sets options: its own row comes first, then every design.
  const OWN = fileURLToPath(new URL('../../../examples/dmabuf-opath-cleanup-annulled.yaml', import.meta.url));
  const withoutTimes = (out: string) => {
    const j = JSON.parse(out);
    for (const r of [j.own, ...j.results]) if (r) delete r.elapsedMs;
    return j;
  };

  test('explores the designs on several threads and reports what one thread reports', () => {
    const one = vdm('compare', OWN, '--json', '--workers', '1');
    assert.equal(one.code, 0, one.err);
    const base = withoutTimes(one.out);
    assert.ok(base.own, 'the file sets design options: an own row');
    for (const w of ['2', '3', '20']) {
      const r = vdm('compare', OWN, '--json', '--workers', w);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(withoutTimes(r.out), base, `--workers ${w}`);
    }
    const text1 = vdm('compare', RESET, '--workers', '1', '--max-executions', '300');
    const text2 = vdm('compare', RESET, '--workers', '2', '--max-executions', '300');
    assert.equal(text2.code, text1.code);
    assert.equal(text2.out, text1.out);
  });

  test('--workers 0 is bad input', () => {
    const r = vdm('compare', RESET, '--workers', '0');
    assert.equal(r.code, 2);
    assert.match(r.err, /--workers/);
  });

  test('SIGINT stops the designs under way and names the ones not explored', async () => {
    // Four faults, a disable and a reset: minutes on every design but v5.7.
    const long = fileURLToPath(
      new URL('../../../bench/scenarios/kernel/faults-4-reset.yaml', import.meta.url),
    );
    const child = spawn(
      process.execPath,
      [main, 'compare', long, '--json', '--workers', '2', '--max-executions', '1000000'],
      {
        env: { ...process.env, CI: 'true' },
      },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const j = JSON.parse(out);
    const rows: { design: string; complete: boolean; incomplete?: { reason: string }[] }[] = j.results;
    // Every design is either explored (complete, or cut by the signal) or named as not explored.
    const names = [...rows.map((r) => r.design), ...(j.notExplored ?? [])];
    assert.deepEqual([...names].sort(), [...DESIGN_NAMES].sort());
    assert.ok(j.notExplored.length > 0, 'designs left when the signal came');
    for (const r of rows)
      assert.ok(r.complete || r.incomplete?.some((i) => i.reason === 'interrupted'), r.design);
  });
});

test('vdm run prints the plain execution as an ftrace-style trace', () => {
  const r = vdm('run', RESET);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /# tracer: vdm/);
  assert.match(r.out, /op_begin: load map=m offset=0x1000/);
  assert.match(r.out, /op_end: reset = ok/);
  assert.match(r.out, /funcgraph_entry: +vfio_pci_ioctl_reset\(\) \{|vfio_pci_ioctl_reset\(\) \{/);
});

test('vdm replay: a schedule that does not fit is exit 2 with the reason', () => {
  const r = vdm('replay', RESET, '--schedule', 'zz');
  assert.equal(r.code, 2);
  assert.match(r.err, /--schedule does not fit/);
  assert.equal(vdm('replay', RESET, '--schedule', '!!').code, 2);
});

test('vdm run --perfetto writes a trace-event JSON file', () => {
  const out = join(dir, 'run.json');
  assert.equal(vdm('run', RESET, '--perfetto', out).code, 0);
  const j = JSON.parse(readFileSync(out, 'utf8'));
  assert.ok(Array.isArray(j.traceEvents) && j.traceEvents.length > 10);
});

test('vdm report --workers N: the matrix explored on threads is the one explored on one', () => {
  const html = (w: string) => {
    const out = join(dir, `r-workers-${w}.html`);
    const r = vdm('report', RESET, '-o', out, '--workers', w, '--max-executions', '300');
    assert.equal(r.code, 0, r.err);
    // Times, and rates made of them, are the only things that may differ.
    return readFileSync(out, 'utf8')
      .replace(/\d[\d,.]* (ms|s)</g, 'T $1<')
      .replace(/(events\/s<\/th>\s*<td>)[\d,]+/g, '$1R');
  };
  const one = html('1');
  assert.match(one, /v5\.7/);
  assert.equal(html('3'), one);
  assert.equal(vdm('report', RESET, '-o', join(dir, 'x.html'), '--workers', '0').code, 2);
});

test('vdm report writes one self-contained HTML file', () => {
  const out = join(dir, 'r.html');
  const r = vdm('report', RESET, '--design', 'v5.7', '-o', out, '--no-compare');
  assert.equal(r.code, 0, r.err);
  const html = readFileSync(out, 'utf8');
  for (const id of ['summary', 'scenario', 'memory-map', 'counterexample', 'statistics']) {
    assert.match(html, new RegExp(`<section id="${id}"`));
  }
  assert.match(html, /--design v5.7 --schedule/);
  assert.doesNotMatch(html, /<script src=|<link [^>]*href="http/);
  // A report of a search that a bound stopped says so, and names the bound.
  const cut = vdm(
    'report',
    RESET,
    '--design',
    'dmabuf-backed',
    '--max-executions',
    '3',
    '-o',
    out,
    '--no-compare',
  );
  assert.equal(cut.code, 0, cut.err);
  assert.match(
    cut.out,
    /3 executions, incomplete: maxExecutions \(stopped after maxExecutions = 3 executions\)/,
  );
});

test('vdm list designs | invariants | examples; a typo is exit 2', () => {
  const d = vdm('list', 'designs', '--json');
  assert.equal(d.code, 0);
  assert.ok(JSON.parse(d.out).designs.some((x: { name: string }) => x.name === 'v6.19'));
  const i = vdm('list', 'invariants');
  for (const id of ['MMIO_WHILE_DISABLED', 'ZAP_COVERAGE', 'DEADLOCK', 'EXPECT'])
    assert.match(i.out, new RegExp(id));
  const e = vdm('list', 'examples', '--json');
  assert.equal(e.code, 0);
  assert.ok(JSON.parse(e.out).examples.length >= 1);
  const bad = vdm('list', 'invariantz');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /did you mean `invariants`/);
});

test('off a terminal, a long exploration prints no progress (stderr stays empty)', () => {
  const env = { ...process.env };
  delete env.CI;
  const r = spawnSync(process.execPath, [main, 'check', RESET, '--design', 'dmabuf-backed'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('on a terminal, a long exploration shows a progress line (executions, rate, depth, violations, time; no share done)', () => {
  // script(1) gives the command a pseudo-terminal, as a user's shell would.
  const env = { ...process.env };
  delete env.CI;
  // A search of about a second (progress first shows after 200 ms, so a short one never draws).
  const cmd = `${process.execPath} ${main} check ${LONG_ON_DMABUF} --design dmabuf-backed --max-executions 5000 > /dev/null`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env });
  assert.equal(r.error, undefined, 'script(1) from util-linux is needed for this test');
  const screen = stripVTControlCharacters(r.stdout);
  assert.match(screen, /exploring \| \d+ executions \| \d+\/s \| depth \d+ \| violations \d+ \| [\d.]+s/);
  // The explorer's estimate of the share done is far off on kernel scenarios: not shown.
  assert.doesNotMatch(screen, /% done/);
});

test('vdm schema prints the JSON Schema of scenario files', () => {
  const r = vdm('schema');
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.ok(j.properties.threads);
});

/**
 * Runs vdm with `args` in the background, waits until the checkpoint file `ck` holds a checkpoint
 * for which `far` is true (giving up after 30 s), kills the run with SIGKILL, and returns that
 * checkpoint (the last one written before the kill).
 */
async function killAtCheckpoint(
  args: string[],
  ck: string,
  far: (c: { counts?: { executions: number }; split?: { results: unknown[] } }) => boolean,
): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [main, ...args], {
    stdio: 'ignore',
    env: { ...process.env, CI: 'true' },
  });
  for (let i = 0; i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      if (far(JSON.parse(readFileSync(ck, 'utf8')).checkpoint)) break;
    } catch {
      // not written yet (the file appears whole: written to a temporary name, then renamed)
    }
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(readFileSync(ck, 'utf8')).checkpoint;
}

test('a long check killed with SIGKILL resumes from its checkpoint and ends as an uninterrupted run', async () => {
  const scenarioFile = fileURLToPath(
    new URL('../../../examples/v6.19-command-off-vs-importer.yaml', import.meta.url),
  );
  const args = ['check', scenarioFile, '--strategy', 'exhaustive', '--max-executions', '1000000', '--json'];
  const whole = JSON.parse(vdm(...args).out);
  assert.equal(whole.complete, true);
  const ck = join(dir, 'run.ckpt');
  // Kill -9 once a checkpoint is some way into the search.
  const c = await killAtCheckpoint(
    [...args, '--checkpoint', ck, '--checkpoint-every', '2000'],
    ck,
    (c) => (c.counts?.executions ?? 0) >= 6000,
  );
  const saved = (c.counts as { executions: number }).executions;
  assert.ok(
    saved > 0 && saved < whole.executions,
    `killed mid-search (checkpoint at ${saved} of ${whole.executions})`,
  );
  const resumed = vdm(...args, '--resume', ck);
  assert.equal(resumed.code, whole.verdict === 'pass' ? 0 : 1, resumed.err);
  const r = JSON.parse(resumed.out);
  assert.equal(r.executions, whole.executions);
  assert.equal(r.complete, true);
  const ids = (x: { violations: { invariant: string; message: string }[] }) =>
    x.violations.map((v) => `${v.invariant}:${v.message}`).sort();
  assert.deepEqual(ids(r), ids(whole));
  // A checkpoint belongs to its scenario, design and strategy.
  const other = vdm(...args.slice(0, 2), '--design', 'upstream', '--strategy', 'exhaustive', '--resume', ck);
  assert.equal(other.code, 2);
  assert.match(other.err, /it was saved for design "v6.19"/);
  const wrong = vdm('check', scenarioFile, '--resume', ck);
  assert.equal(wrong.code, 2, 'an exhaustive checkpoint does not resume a dpor run');
  assert.match(wrong.err, /it was saved for strategy "exhaustive", this run has "dpor"/);
});

test('dpor (the default search) killed with SIGKILL resumes from its checkpoint and ends as an uninterrupted run', async () => {
  // The proposal's design on this scenario: hundreds of thousands of traces; the first 8,000 will do.
  const args = ['check', LONG_ON_DMABUF, '--design', 'dmabuf-backed', '--max-executions', '8000', '--json'];
  const whole = JSON.parse(vdm(...args).out);
  assert.equal(whole.executions, 8000);
  const ck = join(dir, 'dpor.ckpt');
  const c = await killAtCheckpoint(
    [...args, '--checkpoint', ck, '--checkpoint-every', '1000'],
    ck,
    (c) => (c.counts?.executions ?? 0) >= 3000,
  );
  assert.equal(c.strategy, 'dpor');
  const saved = (c.counts as { executions: number }).executions;
  assert.ok(saved > 0 && saved < 8000, `killed mid-search (checkpoint at ${saved})`);
  const resumed = vdm(...args, '--resume', ck);
  assert.equal(resumed.code, whole.verdict === 'pass' ? 0 : 1, resumed.err);
  const r = JSON.parse(resumed.out);
  assert.equal(r.executions, whole.executions);
  assert.equal(r.complete, whole.complete);
  const ids = (x: { violations: { invariant: string; message: string; count: number }[] }) =>
    x.violations.map((v) => `${v.invariant}:${v.message}:${v.count}`).sort();
  assert.deepEqual(ids(r), ids(whole));
});

test('a folded search killed with SIGKILL resumes from its checkpoint and its folding tables to the uninterrupted count', async () => {
  // v5.8 folds by default; the whole search is about 2,000 executions.
  const file = fileURLToPath(
    new URL('../../../examples/v5.8-uffd-stall-under-memory-lock.yaml', import.meta.url),
  );
  const args = ['check', file, '--json'];
  const whole = JSON.parse(vdm(...args).out);
  assert.equal(whole.complete, true);
  const ck = join(dir, 'folded-kill.ckpt');
  const c = await killAtCheckpoint(
    [...args, '--checkpoint', ck, '--checkpoint-every', '100'],
    ck,
    (x) => (x.counts?.executions ?? 0) >= 500,
  );
  const saved = (c.counts as { executions: number }).executions;
  assert.ok(saved > 0 && saved < whole.executions, `killed mid-search (checkpoint at ${saved})`);
  const resumed = vdm(...args, '--resume', ck);
  assert.equal(resumed.err, '', 'the tables beside the checkpoint were read');
  const r = JSON.parse(resumed.out);
  assert.equal(r.executions, whole.executions);
  assert.equal(r.folded, whole.folded);
});

test('--workers 2 on a design that folds by default runs the one folded search and says so; --no-fold-states spreads the unfolded one', () => {
  // faults-vs-disable's file runs on upstream; on v6.9 one worker folds by default.
  const args = ['check', LONG_ON_DMABUF, '--max-executions', '200'];
  const one = JSON.parse(vdm(...args, '--design', 'v6.9', '--json').out);
  delete one.elapsedMs;
  const two = vdm(...args, '--design', 'v6.9', '--workers', '2', '--json');
  assert.equal(two.code, 0, two.err);
  const r = JSON.parse(two.out);
  delete r.elapsedMs;
  assert.ok((one.folded ?? 0) > 0, 'the one search folds');
  assert.deepEqual(r, one, 'the folded search, as without --workers');
  assert.match(two.err, /note: --workers 2 not used: state folding/);
  const text = vdm(...args, '--design', 'v6.9', '--workers', '2');
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /^folded states: /m);
  assert.doesNotMatch(text.out, /dpor on 2 threads: /);
  assert.match(text.out, /note: --workers 2 not used: .*`--no-fold-states --workers 2`/);
  // Asked for explicitly, the same.
  const explicit = vdm(...args, '--design', 'v5.13', '--workers', '2', '--fold-states');
  assert.equal(explicit.code, 0, explicit.err);
  assert.match(explicit.out, /note: --workers 2 not used/);
  // Without folding the search is spread over the threads, and nothing is noted.
  for (const extra of [
    ['--design', 'v6.9', '--no-fold-states'],
    ['--design', 'upstream'],
    ['--design', 'v6.9', '--preemption-bound', '1'],
  ]) {
    const spread = vdm(...args, ...extra, '--workers', '2');
    assert.equal(spread.code, 0, spread.err);
    assert.match(spread.out, /dpor on 2 threads: /, extra.join(' '));
    assert.doesNotMatch(spread.out, /note: --workers 2 not used/);
  }
});

test('dpor on two workers killed with SIGKILL resumes, on two workers or one, to the uninterrupted report', async () => {
  const args = ['check', LONG_ON_DMABUF, '--design', 'dmabuf-backed', '--max-executions', '6000', '--json'];
  const whole = JSON.parse(vdm(...args).out);
  delete whole.elapsedMs;
  const ck = join(dir, 'parallel.ckpt');
  const c = await killAtCheckpoint(
    [...args, '--workers', '2', '--checkpoint', ck, '--checkpoint-every', '500'],
    ck,
    (c) => (c.counts?.executions ?? 0) >= 1500,
  );
  const saved = (c.counts as { executions: number }).executions;
  assert.ok(saved > 0 && saved < 6000, `killed mid-search (checkpoint at ${saved})`);
  for (const more of [['--workers', '2'], []]) {
    const resumed = vdm(...args, ...more, '--resume', ck);
    assert.equal(resumed.code, whole.verdict === 'pass' ? 0 : 1, resumed.err);
    const r = JSON.parse(resumed.out);
    delete r.elapsedMs;
    assert.deepEqual(r, whole, `resumed ${more.join(' ') || 'on one worker'}`);
  }
  // A dpor checkpoint is not an exhaustive split's.
  const ex = vdm(...args, '--strategy', 'exhaustive', '--workers', '2', '--resume', ck);
  assert.equal(ex.code, 2);
  assert.match(ex.err, /strategy/);
});

test('an exhaustive search split over workers, killed with SIGKILL, resumes its subtrees to the uninterrupted report', async () => {
  const workload = fileURLToPath(new URL('../../../bench/scenarios/workers.yaml', import.meta.url));
  const args = [
    'check',
    workload,
    '--strategy',
    'exhaustive',
    '--max-executions',
    '1000000',
    '--workers',
    '2',
    '--json',
  ];
  const whole = JSON.parse(vdm(...args).out);
  delete whole.elapsedMs;
  const ck = join(dir, 'split.ckpt');
  const finished = (c: { split?: { results: unknown[] } }) =>
    (c.split?.results ?? []).filter((x) => x !== null).length;
  const c = (await killAtCheckpoint(
    [...args, '--checkpoint', ck, '--checkpoint-every', '1'],
    ck,
    (c) => finished(c) >= 2,
  )) as {
    split: { results: unknown[] };
  };
  const done = finished(c);
  const left = c.split.results.length - done;
  assert.ok(done >= 2 && left > 0, `killed with ${left} of ${c.split.results.length} subtrees left`);
  const resumed = vdm(...args, '--resume', ck);
  assert.equal(resumed.code, whole.verdict === 'pass' ? 0 : 1, resumed.err);
  const r = JSON.parse(resumed.out);
  delete r.elapsedMs;
  assert.deepEqual(r, whole);
  // A split's checkpoint needs workers to resume.
  const one = vdm(...args.filter((a) => a !== '--workers' && a !== '2'), '--resume', ck);
  assert.equal(one.code, 2);
  assert.match(one.err, /resume it with --workers N/);
});

test('--workers 2 splits the exhaustive search over worker processes and reports what one worker reports', () => {
  const scenarioFile = fileURLToPath(
    new URL('../../../examples/v6.19-revoke-only-notifies.yaml', import.meta.url),
  );
  const args = ['check', scenarioFile, '--strategy', 'exhaustive', '--max-executions', '1000000', '--json'];
  const one = JSON.parse(vdm(...args).out);
  const two = vdm(...args, '--workers', '2');
  assert.equal(two.code, one.verdict === 'pass' ? 0 : 1, two.err);
  const r = JSON.parse(two.out);
  assert.equal(r.executions, one.executions);
  assert.equal(r.complete, true);
  assert.equal(r.deadlocks, one.deadlocks);
  const ids = (x: { violations: { invariant: string; message: string; count: number }[] }) =>
    x.violations.map((v) => `${v.invariant}:${v.message}:${v.count}`).sort();
  assert.deepEqual(ids(r), ids(one));
});

test('--workers 2 with dpor: the report of one worker, counterexamples included', () => {
  const args = ['check', LONG_ON_DMABUF, '--design', 'dmabuf-backed', '--max-executions', '1500', '--json'];
  const first = vdm(...args);
  const one = JSON.parse(first.out);
  const two = vdm(...args, '--workers', '2');
  assert.equal(two.code, first.code, two.err);
  const r = JSON.parse(two.out);
  delete r.elapsedMs;
  delete one.elapsedMs;
  assert.deepEqual(r, one);
  const text = vdm(...args.filter((a) => a !== '--json'), '--workers', '2');
  assert.match(
    text.out,
    /dpor on 2 threads: [\d,]+ executions ran ahead of their turn, [\d,]+ were run but not used/,
  );
  const q = vdm('check', CONCURRENT_FAULTS, '--workers', '2', '--queue', 'redis://127.0.0.1:1');
  assert.equal(q.code, 2);
  assert.match(q.err, /--queue needs --strategy exhaustive/);
  const rnd = vdm('check', CONCURRENT_FAULTS, '--workers', '2', '--strategy', 'random');
  assert.equal(rnd.code, 2);
  assert.match(rnd.err, /--swarm/);
});

test('--swarm K: seeded random runs over worker processes, merged with their coverage, as the same runs in one thread', () => {
  const r = vdm(
    'check',
    RESET,
    '--design',
    'v5.7',
    '--swarm',
    '4',
    '--workers',
    '2',
    '--max-executions',
    '50',
    '--json',
  );
  assert.equal(r.code, 1, r.err);
  const j = JSON.parse(r.out);
  // The same four runs, one after another in this process.
  const sc = loadScenarioFile(RESET);
  const program = scenarioProgram(sc, { design: designOf('v5.7') });
  const runs = [1, 2, 3, 4].map((seed) =>
    explore(program, { strategy: 'random', seed, maxExecutions: 50, coverage: true }),
  );
  const merged = mergeSwarm('random', runs);
  assert.equal(j.executions, 200);
  assert.equal(j.executions, merged.executions);
  assert.equal(j.complete, false);
  assert.deepEqual(j.coverage, { runs: 4, distinct: merged.coverage!.distinct });
  assert.ok(j.coverage.distinct > 1 && j.coverage.distinct <= 200);
  assert.deepEqual(
    j.violations.map((v: { invariant: string; count: number }) => `${v.invariant}:${v.count}`).sort(),
    merged.violations.map((v) => `${v.id}:${v.count}`).sort(),
  );
  assert.equal(vdm('check', RESET, '--swarm', '2', '--strategy', 'exhaustive').code, 2);
});

describe('vdm check: quick answers and honest limits', () => {
  const PREAD64 = fileURLToPath(new URL('../../../examples/v5.8-pread-into-bar-64k.yaml', import.meta.url));
  test('--stop-at-first stops once the expected violations are found, and says the search is incomplete', () => {
    const r = vdm('check', CONCURRENT_FAULTS, '--stop-at-first', '--json');
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { verdict: string; complete: boolean; incomplete: { reason: string }[] };
    assert.equal(j.verdict, 'pass');
    assert.equal(j.complete, false);
    assert.deepEqual(
      j.incomplete.map((i) => i.reason),
      ['stopAtFirst'],
    );
    const full = JSON.parse(vdm('check', CONCURRENT_FAULTS, '--json').out) as { executions: number };
    assert.ok(full.executions > (JSON.parse(r.out) as { executions: number }).executions);
  });

  test('a file with check.stopAtFirst: the text status line names the reason', () => {
    const f = scenario(
      'stop-at-first.yaml',
      readFileSync(CONCURRENT_FAULTS, 'utf8').replace(
        /^check:.*$/m,
        'check: { strategy: dpor, stopAtFirst: true }',
      ),
    );
    const r = vdm('check', f);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /incomplete: stopAtFirst \(stopped once every expected violation was found\)/);
  });

  test('a retry cycle (v5.8 fault against the zap loop): the search completes and the text says how often it stopped one', () => {
    const r = vdm('check', PREAD64);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^v5\.8 pread into a 64 KiB BAR mapping races a memory disable on v5\.8: \d+ executions \(dpor\), \d+ events, complete$/m,
    );
    assert.match(
      r.out,
      /^retry cycles: in \d+ executions a thread began a retry-loop iteration where it had already been/m,
    );
    const j = JSON.parse(vdm('check', PREAD64, '--json').out) as { complete: boolean; cycles?: number };
    assert.equal(j.complete, true);
    assert.ok((j.cycles ?? 0) > 0);
  });

  test('--fold-states: the search says how many executions it folded; it runs one dpor search only', () => {
    const file = fileURLToPath(new URL('../../../examples/v6.10-address-space.yaml', import.meta.url));
    const r = vdm('check', file, '--design', 'v5.13', '--max-executions', '100000', '--fold-states');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /: \d+ executions \(dpor\), \d+ events, complete$/m);
    assert.match(r.out, /^folded states: \d+ executions reached a retry-loop head/m);
    const j = JSON.parse(
      vdm('check', file, '--design', 'v5.13', '--max-executions', '100000', '--fold-states', '--json').out,
    ) as { complete: boolean; folded?: number };
    assert.equal(j.complete, true);
    assert.ok((j.folded ?? 0) > 0);
    const two = vdm('check', file, '--design', 'v5.13', '--fold-states', '--queue', 'redis://127.0.0.1:1');
    assert.equal(two.code, 2);
    assert.match(two.err, /--fold-states folds the states of one dpor search/);
    const ex = vdm('check', file, '--fold-states', '--strategy', 'exhaustive');
    assert.equal(ex.code, 2);
  });

  test('a search that retry loops keep long and a limit cuts: the text suggests a preemption bound', () => {
    const file = fileURLToPath(new URL('../../../examples/faults-vs-disable.yaml', import.meta.url));
    const cut = vdm('check', file, '--design', 'v6.9', '--max-executions', '400', '--no-fold-states');
    assert.equal(cut.code, 0, cut.err);
    assert.match(cut.out, /incomplete: maxExecutions/);
    assert.match(cut.out, /^retry cycles: in \d+ executions/m);
    assert.doesNotMatch(cut.out, /^folded states:/m);
    assert.match(
      cut.out,
      /^hint: retry loops that undo each other .*`--fold-states`.* `--preemption-bound 3`/m,
    );
    // Folded by default on v6.9: the hint says only what is left.
    const folded = vdm('check', file, '--design', 'v6.9', '--max-executions', '400');
    assert.match(folded.out, /^folded states: \d+ executions/m);
    assert.match(
      folded.out,
      /^hint: retry loops that undo each other .*folded as it is: `--preemption-bound 3`/m,
    );
    // Complete, or bounded already: no hint.
    assert.doesNotMatch(vdm('check', PREAD64).out, /^hint:/m);
    const bounded = vdm('check', file, '--design', 'v6.9', '--preemption-bound', '2');
    assert.match(bounded.out, /incomplete: preemptionBound/);
    assert.doesNotMatch(bounded.out, /^hint:/m);
  });

  test('--max-executions: the reason and the cap in --json', () => {
    const r = vdm('check', CONCURRENT_FAULTS, '--max-executions', '3', '--json');
    const j = JSON.parse(r.out) as { incomplete: { reason: string; detail: string }[] };
    assert.equal(j.incomplete[0]?.reason, 'maxExecutions');
    assert.match(j.incomplete[0]!.detail, /maxExecutions = 3/);
  });

  test('executions cut short by a step limit: how many, and a replay of the first, in the text, --json and the HTML report', () => {
    const file = scenario('reset-steps.yaml', `${readFileSync(RESET, 'utf8')}check: { maxSteps: 60 }\n`);
    const j = JSON.parse(vdm('check', file, '--json').out) as {
      executions: number;
      incomplete: { reason: string; count?: number; schedule?: string }[];
    };
    const cut = j.incomplete.find((i) => i.reason === 'maxSteps');
    assert.ok(cut && cut.count! >= 1 && cut.count! <= j.executions, JSON.stringify(j.incomplete));
    const text = vdm('check', file);
    assert.match(text.out, new RegExp(`incomplete: maxSteps \\(.*; ${cut.count} executions? cut short\\)`));
    const line = text.out
      .split('\n')
      .find((l) => l.startsWith('first execution maxSteps cut short: vdm replay '));
    assert.ok(line, text.out);
    assert.ok(line.includes(cut.schedule!), 'the replay is the JSON one');
    const rep = vdm('replay', file, '--schedule', cut.schedule!);
    assert.equal(rep.code, 0, rep.err);
    assert.match(
      rep.out,
      /op_end: load = unfinished/,
      'the replay stops where the step limit cut the execution',
    );
    const html = join(dir, 'steps.html');
    assert.equal(vdm('report', file, '-o', html).code, 0);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<code>maxSteps<\/code>: an execution ran past maxSteps = 60 events/);
    assert.ok(page.includes(cut.schedule!), 'the report gives the replay of the first cut execution');
  });

  test('bad --time-limit and --memory-guard values are exit 2 with the flag named', () => {
    const t = vdm('check', CONCURRENT_FAULTS, '--time-limit', 'soon');
    assert.equal(t.code, 2);
    assert.match(t.err, /--time-limit soon: expected a duration/);
    assert.doesNotMatch(t.err, /\n\s+at /);
    const m = vdm('check', CONCURRENT_FAULTS, '--memory-guard', '2');
    assert.equal(m.code, 2);
    assert.match(m.err, /--memory-guard 2: expected a fraction/);
  });

  test('vdm compare text: every design marked + gets its reasons', () => {
    const r = vdm('compare', CONCURRENT_FAULTS, '--max-executions', '5');
    const cut = r.out.split('incomplete (+):')[1] ?? '';
    assert.match(cut, /\n {2}upstream: maxExecutions \(stopped after maxExecutions = 5 executions\)/);
  });

  test('a bad check.timeLimit in a file is exit 2 naming the field', () => {
    const f = scenario(
      'bad-time.yaml',
      readFileSync(CONCURRENT_FAULTS, 'utf8').replace(
        /^check:.*$/m,
        'check: { strategy: dpor, timeLimit: soon }',
      ),
    );
    const r = vdm('check', f);
    assert.equal(r.code, 2);
    assert.match(r.err, /check\.timeLimit/);
  });
});

describe('vdm compare: its own default cap', () => {
  test('a design cut by the default cap is named as such; a cap the user set is not', async () => {
    const { compareScenario } = await import('../../src/scenario/check.js');
    const { compareText } = await import('../../src/cli/scenario-commands.js');
    const sc = loadScenarioFile(RESET);
    const c = compareScenario(sc, { designs: ['dmabuf-backed', 'v5.7'], defaultCap: 5 });
    const cut = c.results.find((r) => r.design === 'dmabuf-backed')!;
    assert.equal(cut.complete, false);
    assert.equal(cut.cappedAt, 5);
    // v5.7 finishes under the cap: nothing to say about it.
    assert.equal(c.results.find((r) => r.design === 'v5.7')!.cappedAt, undefined);
    const text = compareText(c, RESET);
    assert.match(
      text,
      /compare stops each design after 5 executions unless told otherwise; this design was cut/,
    );
    assert.match(text, /vdm check .*reset\.yaml --design NAME` searches one to the end/);
    for (const line of text.split('\n'))
      assert.equal(line, line.trimEnd(), `trailing spaces: ${JSON.stringify(line)}`);
    // The user's own --max-executions is not compare's cap.
    const mine = compareScenario(sc, { designs: ['dmabuf-backed'], maxExecutions: 5 });
    assert.equal(mine.results[0]!.complete, false);
    assert.equal(mine.results[0]!.cappedAt, undefined);
    assert.doesNotMatch(compareText(mine, RESET), /unless told otherwise/);
  });
});

describe('vdm check: Ctrl-C and SIGTERM', () => {
  // About two minutes of search (four faults against a disable and a reset): long enough to stop.
  const long = fileURLToPath(new URL('../../../bench/scenarios/kernel/faults-4-reset.yaml', import.meta.url));

  /** Starts a check that would run for minutes; sends `sig` once it has saved its first checkpoint. */
  async function interrupt(sig: NodeJS.Signals, ck: string, json: boolean) {
    const args = [
      'check',
      long,
      '--max-executions',
      '1000000',
      '--checkpoint',
      ck,
      '--checkpoint-every',
      '1',
    ];
    const child = spawn(process.execPath, [main, ...args, ...(json ? ['--json'] : [])], {
      env: { ...process.env, CI: 'true' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 1200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      try {
        JSON.parse(readFileSync(ck, 'utf8'));
        break;
      } catch {
        // not written yet
      }
    }
    child.kill(sig);
    return { code: await exited, out, err, args };
  }

  test('SIGINT prints the partial result, names the checkpoint, exits 130; the checkpoint resumes', async () => {
    const ck = join(dir, 'int.ckpt');
    const r = await interrupt('SIGINT', ck, false);
    assert.equal(r.code, 130, r.err);
    assert.match(
      r.out,
      /\d+ executions \(dpor\), \d+ events, incomplete: .*interrupted \(interrupted after \d+ executions\)/,
    );
    assert.match(r.out, /verdict: /);
    assert.match(r.err, /SIGINT: stopping at the end of the current execution/);
    assert.ok(
      r.err.includes(`its frontier is in ${ck}: go on with \`vdm check ${long} --resume ${ck}\``),
      r.err,
    );
    const done = Number(/(\d+) executions \(dpor\)/.exec(r.out)![1]);
    const resumed = vdm('check', long, '--max-executions', String(done + 5), '--resume', ck, '--json');
    assert.notEqual(resumed.code, 2, resumed.err);
    assert.equal(JSON.parse(resumed.out).executions, done + 5);
  });

  test('SIGTERM with --json prints the partial JSON result and exits 143', async () => {
    const r = await interrupt('SIGTERM', join(dir, 'term.ckpt'), true);
    assert.equal(r.code, 143, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.complete, false);
    assert.ok(j.incomplete.some((i: { reason: string }) => i.reason === 'interrupted'));
    assert.ok(j.executions > 0);
  });

  test('a folded search stopped by its time limit writes its folding tables beside the checkpoint; resumed, it ends as one search', () => {
    const file = fileURLToPath(
      new URL('../../../examples/v5.8-uffd-stall-under-memory-lock.yaml', import.meta.url),
    );
    const count = (r: { out: string }) => JSON.parse(r.out) as { executions: number; complete: boolean };
    const whole = count(vdm('check', file, '--json'));
    const ck = join(dir, 'folded.ckpt');
    const part = count(vdm('check', file, '--time-limit', '500ms', '--checkpoint', ck, '--json'));
    assert.equal(part.complete, false);
    assert.ok(part.executions < whole.executions);
    assert.ok(readFileSync(`${ck}.folds`).length > 0, 'the tables are written beside it');
    const rest = vdm('check', file, '--resume', ck, '--json');
    assert.equal(rest.err, '');
    assert.equal(count(rest).executions, whole.executions, 'the executions of one search');
    // Without them (deleted, or another save's): a warning, and a search that folds afresh.
    rmSync(`${ck}.folds`);
    const fresh = vdm('check', file, '--resume', ck, '--json');
    assert.match(
      fresh.err,
      /the folding tables in .*folded\.ckpt\.folds cannot be used \(ENOENT.*the search folds afresh/,
    );
    assert.equal(count(fresh).complete, true);
  });

  test('a search handed from the main thread to the search thread ends as one that was not', async () => {
    const { singleSearch } = await import('../../src/cli/search.js');
    // The second is folded (v5.8's default): its folding tables go over with the frontier.
    // Handed over after its first execution, or (the folded one, about 2 s in all) part way: the
    // folding tables then hold enough that a search without them runs more executions.
    for (const [name, ms] of [
      ['v6.19-command-off-vs-importer.yaml', 0],
      ['v5.8-uffd-stall-under-memory-lock.yaml', 300],
    ] as const) {
      const file = fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
      const whole = singleSearch(file, {}).report;
      // Hand over, then go on from the frontier (a structured clone, as the search thread gets
      // it), as `vdm check` does.
      const first = singleSearch(file, {}, { handOverAfterMs: ms });
      assert.ok(first.handOver, 'handed over');
      const rest = singleSearch(file, {}, { from: structuredClone(first.handOver!) }).report;
      assert.equal(rest.executions, whole.executions, name);
      assert.equal(rest.folded, whole.folded, name);
      assert.equal(rest.complete, whole.complete);
      // Events count replays too: a folded search that stopped at a folded state goes on in place
      // where one handed over replays that execution's prefix, so only the unfolded one's match.
      if (!whole.folded) assert.equal(rest.events, whole.events);
      const ids = (x: typeof whole) =>
        x.violations.map((v) => `${v.invariant}:${v.count}:${v.schedule}`).sort();
      assert.deepEqual(ids(rest), ids(whole));
    }
  });
});

test('an interrupted compare keeps the designs it explored and names those it did not', async () => {
  const { compareScenario } = await import('../../src/scenario/check.js');
  const { compareText } = await import('../../src/cli/scenario-commands.js');
  const sc = loadScenarioFile(RESET);
  let designs = 0;
  // Interrupted once the second design is under way: it ends incomplete, the rest are not run.
  const c = compareScenario(sc, {
    designs: ['v5.7', 'upstream', 'v5.8', 'v6.19'],
    onDesign: () => {
      designs++;
    },
    interrupted: () => designs >= 2,
  });
  assert.deepEqual(
    c.results.map((r) => r.design),
    ['v5.7', 'upstream'],
  );
  assert.ok(c.results[1]!.incomplete?.some((i) => i.reason === 'interrupted'));
  assert.deepEqual(c.notExplored, ['v5.8', 'v6.19']);
  const text = compareText(c, RESET);
  assert.match(text, /interrupted: not explored: v5\.8, v6\.19/);
  assert.match(text, /upstream: interrupted \(interrupted after \d+ executions\)/);
});
