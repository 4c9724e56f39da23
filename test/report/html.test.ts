// The HTML report as text: its sections, that it references nothing outside itself, that every
// string from the input is escaped, that big mappings and long traces stay small, that the same
// input gives the same bytes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type HtmlReportInput, renderHtmlReport, replayCommand } from '../../src/report/html.js';
import { leafRuns, renderMemoryMapSvg } from '../../src/report/html-memory-map.js';
import { findHandoffs, renderSequenceSvg } from '../../src/report/html-sequence.js';
import { escapeHtml } from '../../src/report/html-text.js';
import type { LeafView, RunRecord, TraceStep } from '../../src/report/record.js';
import {
  ALERT,
  FILE,
  HOSTILE,
  makeCheck,
  makeCompare,
  makeInput,
  makeRecord,
  PTE_RUN,
  PWN_IMG,
  PWN_SCRIPT,
  QUOTES,
} from './html-fixture.js';

const SECTIONS = ['summary', 'scenario', 'memory-map', 'counterexample', 'matrix', 'statistics'];

/** The HTML of one `<section id=...>`. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}">`);
  assert.ok(start >= 0, `section ${id} missing`);
  return html.slice(start, html.indexOf('</section>', start));
}

const URL_ATTRIBUTES = new Set([
  'src',
  'href',
  'xlink:href',
  'action',
  'formaction',
  'poster',
  'srcset',
  'data',
]);

/** Every attribute of every tag, [name, value], parsed in order so quoted values are skipped whole. */
function attributes(html: string): [string, string][] {
  const out: [string, string][] = [];
  const tag = /<[a-zA-Z][\w:-]*((?:\s+[^\s=>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g;
  const tags = [...html.matchAll(tag)];
  assert.equal(tags.length, count(html, '<') - count(html, '</') - count(html, '<!'), 'every tag parsed');
  for (const [, body] of tags) {
    for (const m of body!.matchAll(/([^\s=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      out.push([m[1]!.toLowerCase(), (m[2] ?? '').replace(/^["']|["']$/g, '')]);
    }
  }
  return out;
}

function count(html: string, needle: string): number {
  return html.split(needle).length - 1;
}

test('every section is there, each with its heading; the matrix only with a comparison', () => {
  const html = renderHtmlReport(makeInput({ compare: true }));
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  for (const id of SECTIONS)
    assert.match(section(html, id), new RegExp(`^<section id="${id}">\\n<h2>[^<]+</h2>`));
  assert.equal(count(html, '<section '), SECTIONS.length);
  assert.match(section(html, 'summary'), /class="verdict fail">fail</);
  assert.match(section(html, 'statistics'), /events\/s<\/th><td>173,687</);

  const without = renderHtmlReport(makeInput());
  assert.equal(without.includes('id="matrix"'), false);
  assert.equal(without.includes('href="#matrix"'), false);
  for (const id of SECTIONS.filter((s) => s !== 'matrix')) section(without, id);
});

test('the page loads nothing: a strict CSP, no URL in any src or href, no script, no external CSS', () => {
  for (const input of [makeInput({ compare: true }), makeInput({ compare: true, hostile: true })]) {
    const html = renderHtmlReport(input);
    assert.ok(
      html.includes(
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">`,
      ),
    );
    const refs = attributes(html).filter(([name]) => URL_ATTRIBUTES.has(name));
    assert.ok(refs.length > 0, 'the navigation links are found');
    for (const [name, value] of refs)
      assert.match(value, /^#[\w-]+$/, `only in-page references: ${name}=${value}`);
    for (const [, ref] of html.matchAll(/url\(([^)]*)\)/g)) assert.match(ref!, /^#[\w-]+$/);
    assert.doesNotMatch(html, /https?:|\/\/[\w.-]+\.\w|@import|<link|<script|<img|<iframe|<object|<embed/i);
  }
});

test('hostile strings in the name, source, messages, thread and object names are escaped everywhere', () => {
  const input = makeInput({ compare: true, hostile: true });
  const html = renderHtmlReport(input);
  for (const s of HOSTILE) assert.equal(html.includes(s), false, `unescaped: ${s}`);
  assert.equal(html.includes('"&\''), false);

  const escaped = (s: string) => escapeHtml(s);
  assert.ok(html.includes(`<title>${escaped(input.title)} — vdm report</title>`));
  assert.ok(section(html, 'summary').includes(escaped(input.title)));
  // The source verbatim, escaped, line by line.
  const pre = section(html, 'scenario');
  for (const line of input.source.trimEnd().split('\n'))
    assert.ok(pre.includes(`<span class="ln">${escaped(line)}</span>`));
  assert.ok(pre.includes(escaped(PWN_SCRIPT)) && pre.includes(escaped(PWN_IMG)));
  // A violation message, in the summary and in the counterexample's list.
  assert.ok(section(html, 'summary').includes(escaped(input.check.violations[0]!.message)));
  assert.ok(section(html, 'counterexample').includes(escaped(input.record!.violations[0]!.message)));
  // A thread name and an object name, in the step table (whole) and the diagram (maybe cut).
  const guest = input.record!.steps.find((s) => s.thread.startsWith('guest'))!.thread;
  const object = input.record!.steps.find((s) => s.object.includes('<script>'))!.object;
  const ce = section(html, 'counterexample');
  assert.ok(ce.includes(`<td>${escaped(guest)}</td>`));
  assert.ok(ce.includes(`<td>${escaped(object)}</td>`));
  assert.ok(ce.includes(escaped(guest.slice(0, 12))), 'the lane header names the thread');
  // A design option's value.
  assert.ok(section(html, 'summary').includes(`revokeCheckLock: ${escaped(QUOTES)}`));
  // Attribute values: the matrix's hover text.
  assert.ok(
    section(html, 'matrix').includes(
      `title="PMD 0x7f00c0000000 still maps a revoked range ${escaped(QUOTES)}`,
    ),
  );
  assert.equal(
    escapeHtml(`${ALERT}${QUOTES}`),
    '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;&#39;&lt;&gt;',
  );
});

test('contiguous PTEs are merged: 600 leaves are one box, not 600', () => {
  const html = renderHtmlReport(makeInput());
  const map = section(html, 'memory-map');
  assert.equal(count(map, `data-level="pte" data-count="${PTE_RUN}"`), 1);
  const boxes = count(map, '<g class="leaf-run');
  assert.ok(boxes > 5 && boxes < 20, `${boxes} leaf boxes`);
  assert.ok(map.includes('PTE ×600  0x7f0100000000–0x7f0100258000'));
  assert.ok(map.includes('PUD ×1  0x7f0000000000–0x7f0040000000'));
  assert.ok(map.includes('PMD ×2  0x7f0080000000–0x7f0080400000'));
  // Zapped leaves are drawn dashed and red, with the legend saying so.
  assert.equal(count(map, '<g class="leaf-run mm-zapped"'), 2);
  assert.ok(map.includes('zapped (cleared during the run)'));
  assert.ok(map.includes('marker-end="url(#mm-arrow-zap)"'));
  assert.ok(map.includes('dma-buf gpu0.dmabuf1: revoked'));
  assert.ok(map.includes('BAR0  0xfe000000–0xff000000'));
});

test('leaf runs: merged only when level, size, virtual and physical addresses all continue', () => {
  const pte = (va: number, pfn: number): LeafView => ({ level: 'pte', va, size: 4096, pfn });
  const base = 0x7f0000000000;
  const gib = Array.from({ length: 262144 }, (_, i) => pte(base + i * 4096, 0x3800000 + i));
  assert.deepEqual(leafRuns(gib), [
    {
      level: 'pte',
      va: base,
      end: base + 2 ** 30,
      pfn: 0x3800000,
      count: 262144,
      leafSize: 4096,
      zapped: false,
    },
  ]);
  const runs = leafRuns([
    pte(base + 0x2000, 0x150), // pfn jumps: a new run
    pte(base, 0x100),
    pte(base + 0x1000, 0x101),
    pte(base + 0x4000, 0x151), // va jumps: a new run
    { level: 'pmd', va: base + 0x200000, size: 0x200000, pfn: 0x200 },
  ]);
  assert.deepEqual(
    runs.map((r) => [r.level, r.count, r.va - base]),
    [
      ['pmd', 1, 0x200000],
      ['pte', 2, 0],
      ['pte', 1, 0x2000],
      ['pte', 1, 0x4000],
    ],
  );
  // A leaf zapped twice (faulted back in between) counts once, with both times.
  const zapped = leafRuns(
    [
      { ...pte(base, 0x100), after: 9 },
      { ...pte(base + 0x1000, 0x101), after: 10 },
      { ...pte(base, 0x100), after: 30 },
    ],
    true,
  );
  assert.deepEqual(zapped, [
    {
      level: 'pte',
      va: base,
      end: base + 0x2000,
      pfn: 0x100,
      count: 2,
      leafSize: 4096,
      zapped: true,
      after: [9, 30],
    },
  ]);
});

test('the memory map stays drawable with no process, no leaf, several devices', () => {
  const empty = renderMemoryMapSvg({ processes: [], devices: [], zapped: [] });
  assert.match(empty, /width="\d+" height="\d+"/);
  assert.ok(empty.includes('no processes') && empty.includes('no devices'));
  const record = makeRecord();
  const devices = [0, 1, 2, 3].map((i) => ({
    name: `dev${i}`,
    bars: [{ index: 0, phys: 0xe0000000 + i * 0x1000000, size: 0x1000000, structPages: i % 2 === 0 }],
    dmabufs: [],
    state: 'decode off',
  }));
  const svg = renderMemoryMapSvg({
    processes: [{ name: 'p', vmas: [{ ...record.memory.processes[0]!.vmas[0]!, leaves: [] }] }],
    devices,
    zapped: [],
  });
  assert.ok(svg.includes('no leaves'));
  assert.equal(count(svg, 'class="mm-bar"'), 4);
  const height = Number(/height="(\d+)"/.exec(svg)![1]);
  assert.ok(height > 4 * 76, `${height}`);
  // No record at all: the sections say so.
  const input = makeInput();
  delete input.record;
  const html = renderHtmlReport(input);
  assert.ok(section(html, 'memory-map').includes('No run record'));
  assert.ok(section(html, 'counterexample').includes('No run record'));
});

test('the sequence diagram: lanes, marks, hand-off arrows, violations', () => {
  const record = makeRecord();
  assert.deepEqual(
    findHandoffs(record.steps).map((h) => [
      h.object,
      record.steps[h.from]!.thread,
      record.steps[h.to]!.thread,
    ]),
    [
      ['gpu0.memory_lock', 'vmm', 'admin'],
      ['gpu0.dmabufs.lock', 'admin', 'guest'],
    ],
  );
  const svg = renderSequenceSvg(record);
  assert.equal(count(svg, '<g class="handoff">'), 2);
  for (const lane of ['setup', 'vmm', 'admin', 'guest']) assert.ok(svg.includes(`>${lane}</text>`), lane);
  for (const kind of ['op-begin', 'op-end', 'leaf-set', 'leaf-clear', 'revoke', 'violation']) {
    assert.ok(svg.includes(`<g class="mark mark-${kind}">`), kind);
  }
  assert.equal(count(svg, 'class="sq-violation"'), 1);
  assert.ok(svg.includes('sq-op-end sq-failed'), 'an outcome other than expected is marked');
  assert.ok(svg.includes('>vfio_pci_mmap_huge_fault</text>'), 'the innermost kernel function');
  // Steps #7-#9 are three reads by vmm in vmf_insert_pfn_pmd: one row.
  assert.ok(svg.includes('>#7–9</text>'));
  assert.ok(svg.includes('>down_write gpu0.memory_lock</text>') && svg.includes('>= queued</text>'));
});

function longRecord(n: number): RunRecord {
  const record = makeRecord();
  const steps: TraceStep[] = [];
  for (let i = 0; i < n; i++) {
    const thread = ['vmm', 'admin', 'guest'][Math.floor(i / 7) % 3]!;
    const op = i % 7 === 0 ? 'lock' : i % 7 === 6 ? 'unlock' : 'read';
    steps.push({
      index: i,
      thread,
      op,
      object: op === 'read' ? `pte[${i}]` : 'big.lock',
      stack: ['op:load', `f${i % 7 < 3}`],
    });
  }
  return {
    ...record,
    steps,
    marks: [{ after: n, thread: 'vmm', kind: 'violation', text: 'at the end', data: {} }],
  };
}

test('a long trace is collapsed and capped, its end (the violation) still drawn', () => {
  const record = longRecord(6000);
  const svg = renderSequenceSvg(record);
  const rows = count(svg, '<g class="step"');
  assert.ok(rows <= 360, `${rows} rows`);
  assert.match(svg, /rows not drawn \(steps #\d+–#\d+\): see the step table below/);
  assert.ok(svg.includes('at the end'));
  assert.ok(svg.includes('×3 read pte['), 'runs of reads in one function are one row');
  const input = makeInput();
  input.record = record;
  const html = renderHtmlReport(input);
  assert.ok(html.length < 4_000_000, `${html.length} bytes`);
  assert.ok(html.includes('1,000 more steps not listed'));
});

test('violations name the exact replay command, quoted for the shell', () => {
  assert.equal(replayCommand(FILE, 'a4b2:5e1f'), `vdm replay ${FILE} --schedule 'a4b2:5e1f'`);
  assert.equal(replayCommand('my dir/x.yaml', "a'b"), `vdm replay 'my dir/x.yaml' --schedule 'a'\\''b'`);
  const input = makeInput();
  const summary = section(renderHtmlReport(input), 'summary');
  for (const v of input.check.violations) {
    assert.ok(summary.includes(escapeHtml(replayCommand(FILE, v.schedule))), v.invariant);
    assert.ok(summary.includes(`<strong>${v.invariant}</strong>`));
  }
  assert.ok(summary.includes('<td class="num">212</td><td class="num">2</td>'));
});

test('the matrix: designs × the comparison invariants, counts in red cells, — elsewhere, errors said', () => {
  const input = makeInput({ compare: true });
  const matrix = section(renderHtmlReport(input), 'matrix');
  const compare = makeCompare();
  for (const id of compare.invariants) assert.ok(matrix.includes(`<th>${id}</th>`));
  assert.equal(count(matrix, '<td class="cell hit"'), 2);
  assert.equal(count(matrix, '<td class="cell none">—</td>'), 4 + 2);
  assert.match(
    matrix,
    /<td class="cell hit" title="PMD 0x7f00c0000000 still maps[^"]*a4b2a5b\{1\}a3b10c3b4c3a3b:5e1f0c2a[^"]*">212<\/td>/,
  );
  assert.ok(matrix.includes('<tr class="current"><th>dmabuf-backed</th>'));
  assert.ok(matrix.includes('v6.12 has no dma-buf export'));
});

test('the same input gives the same bytes; generatedAt is the only thing that changes them', () => {
  const a = renderHtmlReport(makeInput({ compare: true, hostile: true }));
  const b = renderHtmlReport(makeInput({ compare: true, hostile: true }));
  assert.equal(a, b);
  const input: HtmlReportInput = {
    ...makeInput({ compare: true, hostile: true }),
    generatedAt: '2025-01-02T03:04:05Z',
  };
  const c = renderHtmlReport(input);
  assert.notEqual(a, c);
  assert.ok(c.includes('2025-01-02T03:04:05Z'));
  assert.equal(c.replace(' on 2025-01-02T03:04:05Z', ''), a);
  // Statistics without time do not divide by zero.
  const check = { ...makeCheck(), elapsedMs: 0 };
  assert.match(section(renderHtmlReport({ ...makeInput(), check }), 'statistics'), /events\/s<\/th><td>—</);
});

test('the design line shows what sets the design apart from upstream and what the run set; all options folded', async () => {
  const { DESIGNS, designOf } = await import('../../src/designs/design.js');
  const summaryOf = (name: string, options: Record<string, unknown>) => {
    const input = makeInput();
    input.check = { ...input.check, design: name, designOptions: options };
    return section(renderHtmlReport(input), 'summary');
  };
  const up = summaryOf('upstream', { ...DESIGNS.upstream.options });
  assert.match(up, /<strong>upstream<\/strong> — <span class="note">its default options<\/span>/);
  const v58 = summaryOf('v5.8', { ...DESIGNS['v5.8'].options });
  const line = v58.slice(v58.indexOf('<strong>v5.8</strong>'), v58.indexOf('<details class="options">'));
  assert.match(line, /as upstream except .*<code>mmapScheme: vma-list<\/code>/);
  // An option v5.8 shares with upstream is not in the line, only in the folded list.
  assert.doesNotMatch(line, /closeOrder/);
  assert.match(v58, /<summary>all \d+ options<\/summary>.*<code>closeOrder: cleanup-first<\/code>/);
  // An option the scenario set is said to be set for this run.
  const set = summaryOf('dmabuf-backed', { ...designOf('dmabuf-backed', { exportLock: 'none' }).options });
  assert.match(set, /set for this run: <code>exportLock: none<\/code>/);
});

test('the counterexample section carries the race diagram, as `vdm report --format text` draws it', async () => {
  const { formatRaceDiagram } = await import('../../src/report/race-diagram.js');
  const input = makeInput();
  const ce = section(renderHtmlReport(input), 'counterexample');
  const rec = input.record!;
  const text = formatRaceDiagram(rec, {
    violation: { id: rec.violations[0]!.id, message: rec.violations[0]!.message },
  });
  assert.ok(ce.includes(`<pre class="race">${escapeHtml(text)}</pre>`));
  // Hostile names stay text inside it.
  const hostile = section(renderHtmlReport(makeInput({ hostile: true })), 'counterexample');
  const pre = hostile.slice(
    hostile.indexOf('<pre class="race">'),
    hostile.indexOf('</pre>', hostile.indexOf('<pre class="race">')),
  );
  assert.ok(pre.length > 0);
  assert.doesNotMatch(pre.slice('<pre class="race">'.length), /<(?!\/pre)/);
});
