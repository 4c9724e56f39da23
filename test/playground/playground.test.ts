// The playground's pure parts under Node (the browser test covers the page): the worker's run gives
// what the CLI gives (the same issues with line:column, the report's own matrix and panels), links
// round-trip and drop what is not real, completion offers the schema's keys and values, the
// browser's SHA-256 gives the schedule checksums Node's does, and the bundle refuses node: imports.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { sha256Hex as browserSha256Hex } from '../../src/platform/sha256.browser.js';
import { sha256Hex } from '../../src/platform/sha256.js';
import { decodeFragment, encodeFragment } from '../../src/playground/fragment.js';
import {
  compareRow,
  compareRowsToStart,
  designArgs,
  lintScenario,
  runPlayground,
  withCompareRows,
} from '../../src/playground/run.js';
import { completeAt, type SchemaNode } from '../../src/playground/schema-complete.js';
import { renderMatrix } from '../../src/report/html.js';
import { compareScenario } from '../../src/scenario/check.js';
import { formatIssue, ScenarioError } from '../../src/scenario/errors.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { opsChecksum } from '../../src/sched/schedule.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXAMPLE = 'reset-races-fault.yaml';
const exampleFile = join(ROOT, 'examples', EXAMPLE);
const exampleText = readFileSync(exampleFile, 'utf8');
const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'scenario.schema.json'), 'utf8')) as SchemaNode;

test('a bad scenario gives the issues the CLI prints for the same file, with line and column', () => {
  const bad = exampleText
    .replace('strategy: dpor', 'strateg: dpor')
    .replace('offset: 0x1000', 'ofset: 0x1000');
  const dir = mkdtempSync(join(tmpdir(), 'vdm-pg-'));
  try {
    const file = join(dir, EXAMPLE);
    writeFileSync(file, bad);
    let cli: string[] = [];
    try {
      loadScenarioFile(file);
    } catch (e) {
      assert.ok(e instanceof ScenarioError);
      cli = e.issues.map((i) => formatIssue({ ...i, file: EXAMPLE }));
    }
    const r = runPlayground({ text: bad, file: EXAMPLE, options: {}, mode: 'check' });
    assert.equal(r.kind, 'issues');
    const shown = r.kind === 'issues' ? r.issues.map(formatIssue) : [];
    assert.deepEqual(shown, cli);
    assert.deepEqual(lintScenario(bad, EXAMPLE).map(formatIssue), cli);
    assert.ok(
      shown.some((m) => /^reset-races-fault\.yaml:19:\d+: check\.strateg: unknown key/.test(m)),
      shown.join('\n'),
    );
    assert.deepEqual(lintScenario(exampleText, EXAMPLE), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a run on a design shows its violation; compare renders the matrix as the HTML report does', () => {
  const r = runPlayground({ text: exampleText, file: EXAMPLE, design: 'v5.7', options: {}, mode: 'compare' });
  assert.equal(r.kind, 'result');
  if (r.kind !== 'result') return;
  assert.equal(r.check.design, 'v5.7');
  assert.deepEqual([...new Set(r.check.violations.map((v) => v.invariant))], ['MMIO_WHILE_DISABLED']);
  assert.ok(r.violation);
  assert.match(r.counterexampleHtml, /<svg[^>]*id="sequence-svg"/);
  assert.match(r.counterexampleHtml, /vdm replay reset-races-fault\.yaml --design v5\.7 --schedule/);
  assert.match(r.memoryMapHtml, /id="memory-map-svg"/);
  // The matrix is the report's, row for row (times aside).
  const sc = loadScenarioFile(exampleFile);
  const direct = compareScenario(sc);
  const strip = (h: string) => h.replace(/<td class="num">[\d.]+ m?s<\/td>/g, '');
  assert.equal(strip(r.matrixHtml!), strip(renderMatrix(direct, 'v5.7')));
  assert.match(r.matrixHtml!, /<tr class="current"><th>v5\.7<\/th>/);
});

test('a comparison explored row by row (the workers of a pooled compare) answers what one worker answers', () => {
  // A file with design options: its own row first.
  const file = 'dmabuf-opath-cleanup-annulled.yaml';
  const text = readFileSync(join(ROOT, 'examples', file), 'utf8');
  const req = { text, file, options: {}, mode: 'compare' as const };
  const whole = runPlayground(req);
  const { labels, order } = compareRowsToStart(text, file);
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    labels.map((_, i) => i),
  );
  assert.equal(order[0], labels.indexOf('v5.8'), 'the design that usually takes longest starts first');
  // Rows explored in the order a pool starts them, put back by row.
  const rows: ReturnType<typeof compareRow>[] = [];
  for (const i of order) rows[i] = compareRow(text, file, i);
  const pooled = withCompareRows(req, runPlayground({ ...req, mode: 'check' }), rows);
  assert.equal(whole.kind, 'result');
  assert.equal(pooled.kind, 'result');
  if (whole.kind !== 'result' || pooled.kind !== 'result') return;
  const times = (h: string) => h.replace(/<td class="num">[\d.]+ m?s<\/td>/g, '');
  assert.equal(times(pooled.matrixHtml!), times(whole.matrixHtml!));
  const noTimes = (c: typeof whole.compare) =>
    JSON.parse(JSON.stringify(c), (k, v) => (k === 'elapsedMs' ? undefined : v));
  assert.deepEqual(noTimes(pooled.compare), noTimes(whole.compare));
  assert.ok(whole.compare?.own, 'the own row is there');
  assert.throws(() => compareRow(text, file, labels.length), /no row/);
});

test('the text panel is the race diagram of the violation; a run without one shows its trace', () => {
  const r = runPlayground({ text: exampleText, file: EXAMPLE, design: 'v5.7', options: {}, mode: 'check' });
  assert.equal(r.kind, 'result');
  if (r.kind !== 'result') return;
  assert.equal(r.raceDiagram.heading, 'Race diagram');
  const lines = r.raceDiagram.text.split('\n');
  assert.match(lines[0]!, /^CPU0 \(vmm\) +CPU1 \(admin\)$/);
  // The racing pair: the reset's write of the device state, then the load's read of it.
  const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
  assert.ok(at('rmw gpu0.hw') > 0 && at('rmw gpu0.hw') < at('read gpu0.hw'), r.raceDiagram.text);
  assert.match(r.raceDiagram.text, /<- MMIO_WHILE_DISABLED/);
  assert.match(r.raceDiagram.text, /replay: vdm replay reset-races-fault\.yaml --design v5\.7/);

  const clean = runPlayground({ text: exampleText, file: EXAMPLE, options: {}, mode: 'check' });
  assert.equal(clean.kind, 'result');
  if (clean.kind !== 'result') return;
  assert.equal(clean.violation, false);
  assert.match(clean.raceDiagram.heading, /^Trace/);
  assert.match(clean.raceDiagram.text, /^# tracer: vdm {2}scenario: reset races a fault {2}design: upstream/);
});

test('a link round-trips; a design, option or file name that is not real is dropped and said so', () => {
  const state = {
    scenario: exampleText,
    file: EXAMPLE,
    design: 'v6.19' as const,
    options: { closeOrder: 'disable-first' as const, step: 3 as const },
    mode: 'compare' as const,
    run: true,
  };
  const f = encodeFragment(state);
  assert.deepEqual(decodeFragment(`#${f}`), { state, notes: [] });
  assert.equal(designArgs(state), '--design v6.19 --option closeOrder=disable-first --option step=3');

  const hostile = f.replace('d=v6.19', 'd=%3Cscript%3E').replace(`f=${EXAMPLE}`, 'f=%22%3E%3Cimg%3E.yaml');
  const d = decodeFragment(hostile);
  assert.equal(d.state?.design, undefined);
  assert.deepEqual(d.state?.options, {});
  assert.equal(d.state?.file, 'scenario.yaml');
  assert.equal(d.notes.length, 2);
  const badOption = decodeFragment(f.replace('step%3D3', 'step%3D9').replace('closeOrder', 'nope'));
  assert.deepEqual(badOption.state?.options, {});
  assert.deepEqual(badOption.notes, [
    'the link sets a design option that does not exist, or a value it does not take',
  ]);
  assert.deepEqual(decodeFragment('#s=%%%'), { notes: ['the link’s scenario could not be decompressed'] });
  assert.deepEqual(decodeFragment(''), { notes: [] });
});

test('completion offers the keys and values the schema allows where the cursor is', () => {
  const at = (marked: string) => {
    const pos = marked.indexOf('|');
    const r = completeAt(schema, marked.replace('|', ''), pos);
    return r ? r.options.map((o) => o.label) : [];
  };
  assert.deepEqual(at(exampleText.replace('strategy: dpor', 'strategy: d|')), [
    'dpor',
    'exhaustive',
    'random',
    'pct',
  ]);
  assert.deepEqual(at(exampleText.replace('thp: always', 'thp: |')), ['always', 'madvise', 'never']);
  const ops = at(exampleText.replace('    - load:  { map: m, offset: 0x1000 }', '    - lo|'));
  assert.ok(ops.includes('load') && ops.includes('reset') && ops.includes('mmap'), ops.join(' '));
  assert.deepEqual(at(exampleText.replace('{ map: m, offset: 0x1000 }', '{ map: m, off| }')).sort(), [
    'expect',
    'offset',
  ]);
  assert.ok(at(exampleText.replace('violations: []', 'violations: [MM|]')).includes('MMIO_WHILE_DISABLED'));
  assert.ok(at(exampleText.replace('design: upstream', 'design: v5|')).includes('v5.7'));
  // Keys already present are not offered again.
  const top = at(exampleText.replace('description:', 'd|:'));
  assert.ok(
    top.includes('description') && !top.includes('devices') && !top.includes('threads'),
    top.join(' '),
  );
});

test('the browser SHA-256 gives the same digests, so schedule checksums match the CLI’s', () => {
  const samples = [
    [],
    [''],
    ['a'],
    ['lock mm.mmap_lock', 'write gpu0.bar0 0x1000'],
    ['ü€😀', 'x'.repeat(5000)],
  ];
  for (const s of samples) assert.equal(browserSha256Hex(s, '\n'), sha256Hex(s, '\n'));
  // The checksum is the first 8 hex digits of SHA-256 over the operations, each ending in a newline.
  assert.equal(opsChecksum(['a', 'b']), '911169dd');
});

test('the playground build refuses any Node built-in', async () => {
  const { noNode } = await import(pathToFileURL(join(ROOT, 'scripts', 'build-playground.mjs')).href);
  const dir = mkdtempSync(join(tmpdir(), 'vdm-pg-'));
  try {
    const entry = join(dir, 'entry.js');
    writeFileSync(entry, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    await assert.rejects(
      build({
        entryPoints: [entry],
        bundle: true,
        write: false,
        platform: 'browser',
        logLevel: 'silent',
        plugins: [noNode],
      }),
      /node:fs is a Node built-in: the playground runs in a browser/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
