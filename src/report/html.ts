// The self-contained HTML report of `vdm report FILE -o OUT.html`: one HTML5 file with inline CSS
// and inline SVG, no script and no external reference of any kind (the Content-Security-Policy
// forbids loading anything), so it can be mailed, attached to a bug or opened offline. Sections:
// summary, scenario (the YAML source), memory map, counterexample (sequence diagram and step
// table), the design × invariant matrix when a comparison was run, statistics. Every string from
// the input is escaped with `escapeHtml`; the same input gives the same bytes (unless
// `generatedAt` is given). The SVGs are built in html-memory-map.ts and html-sequence.ts.

import { DESIGNS } from '../designs/design.js';
import { cutShortNote } from './cut-short.js';
import { renderMemoryMapSvg, renderMemoryMapTable } from './html-memory-map.js';
import { renderSequenceSvg, renderStepTable } from './html-sequence.js';
import { escapeHtml, formatCount, formatMs, shellQuote } from './html-text.js';
import { formatRaceDiagram } from './race-diagram.js';
import type { RunRecord } from './record.js';
import type { CheckReport, CheckViolation, CompareReport } from './results.js';

export { escapeHtml } from './html-text.js';

export interface HtmlReportInput {
  /** The scenario's name. */
  title: string;
  /** The scenario file's path. */
  file: string;
  /** The scenario's YAML text, shown verbatim. */
  source: string;
  /** The exploration's result on the scenario's design. */
  check: CheckReport;
  /** The counterexample replayed (the first violation's), or the default run when there is none. */
  record?: RunRecord;
  /** The design × invariant matrix, when computed. */
  compare?: CompareReport;
  /** Flags that recreate the design on a command line (`--design v5.7 --option ...`), for replay commands. */
  designArgs?: string;
  /** When the report was made; omit for reproducible output. */
  generatedAt?: string;
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/** The report's style sheet (the playground links the same rules from its own CSS file). */
export const REPORT_CSS = `
:root { color-scheme: light; --fg: #212529; --muted: #6c757d; --line: #dee2e6; --bg: #fff; --soft: #f8f9fa;
  --pass: #2b8a3e; --fail: #c92a2a; --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg);
  background: var(--bg); }
header.page { padding: 18px 28px 10px; border-bottom: 1px solid var(--line); background: var(--soft); }
header.page h1 { margin: 0 0 4px; font-size: 22px; }
header.page .sub { color: var(--muted); font-family: var(--mono); font-size: 13px; }
nav { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; }
nav a { color: #1864ab; text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { padding: 0 28px 28px; max-width: 1700px; }
section { margin-top: 26px; }
h2 { font-size: 18px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 16px 0 6px; }
p.note { color: var(--muted); margin: 6px 0; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
.verdict { display: inline-block; padding: 2px 12px; border-radius: 12px; color: #fff; font-weight: 700;
  letter-spacing: .04em; text-transform: uppercase; }
.verdict.pass { background: var(--pass); }
.verdict.fail { background: var(--fail); }
table.kv { border-collapse: collapse; }
table.kv th { text-align: left; font-weight: 600; padding: 3px 16px 3px 0; color: var(--muted); vertical-align: top;
  white-space: nowrap; }
table.kv td { padding: 3px 0; }
table.data { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
table.data th, table.data td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
table.data th { background: var(--soft); }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tr.zapped td { color: #c92a2a; }
table.steps { font-family: var(--mono); font-size: 12px; }
table.steps td.stack { color: var(--muted); }
table.steps tr.mark td { background: #fff9db; font-style: italic; }
table.steps tr.mark-violation td { background: #ffe3e3; color: #c92a2a; font-weight: 600; }
code.cmd { display: inline-block; background: var(--soft); border: 1px solid var(--line); border-radius: 4px;
  padding: 1px 6px; user-select: all; word-break: break-all; }
ul.reasons { margin: 4px 0; color: var(--fail); }
pre.race { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 10px 12px;
  overflow-x: auto; line-height: 1.35; width: max-content; max-width: 100%; }
pre.source { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 10px 12px;
  overflow-x: auto; counter-reset: line; line-height: 1.5; }
pre.source .ln { counter-increment: line; }
pre.source .ln::before { content: counter(line); display: inline-block; width: 3.2em; margin-right: 1em;
  color: #adb5bd; text-align: right; user-select: none; }
.scroll { overflow: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; max-height: 90vh; }
svg.diagram { display: block; font-family: var(--mono); }
svg text { fill: #212529; }
details { margin: 10px 0; }
details > summary { cursor: pointer; color: #1864ab; }
table.matrix td.cell { text-align: center; font-variant-numeric: tabular-nums; }
table.matrix td.hit { background: #ffc9c9; color: #a61e1e; font-weight: 700; }
table.matrix td.none { color: #adb5bd; }
table.matrix tr.current th { background: #e7f5ff; }
table.matrix td.error { color: var(--fail); }
.pass-text { color: var(--pass); font-weight: 600; }
.fail-text { color: var(--fail); font-weight: 600; }
footer { color: var(--muted); font-size: 12px; padding: 12px 28px 24px; border-top: 1px solid var(--line); }
/* memory map */
.mm-strong { font-weight: 700; }
svg text.mm-muted, svg text.sq-muted { fill: #6c757d; }
svg text.mm-head { fill: #495057; font-weight: 700; font-size: 12px; }
svg text.mm-zaptext { fill: #c92a2a; }
svg text.mm-revoked { fill: #862e9c; }
.mm-vma { fill: #f8f9fa; stroke: #868e96; }
.mm-vma.mm-gone { fill: #fff; stroke-dasharray: 4 3; }
.mm-dev { fill: #fcfcfd; stroke: #adb5bd; }
.mm-bar { fill: #fff; stroke: #ced4da; }
.mm-strip { fill: #e9ecef; stroke: #495057; }
.mm-strip.mm-ram { fill: #fff4e6; }
.mm-tie { fill: none; stroke: #adb5bd; }
/* sequence diagram */
.sq-strong { font-weight: 700; }
.sq-lane-head { fill: #e7f5ff; stroke: #1c7ed6; }
.sq-life { stroke: #ced4da; stroke-dasharray: 4 4; }
.sq-step { fill: #fff; stroke: #adb5bd; }
.sq-step.sq-sync { fill: #fff9db; stroke: #e67700; }
.sq-step.sq-run { fill: #f1f3f5; stroke: #868e96; stroke-dasharray: 3 2; }
svg text.sq-fn { fill: #1864ab; }
.sq-mark { fill: #f8f9fa; stroke: #adb5bd; }
.sq-op-begin, .sq-op-end { fill: #e6fcf5; stroke: #20c997; }
.sq-op-end.sq-failed { fill: #ffe3e3; stroke: #e03131; }
.sq-leaf-set { fill: #e7f5ff; stroke: #4dabf7; }
.sq-leaf-clear { fill: #fff5f5; stroke: #ff8787; stroke-dasharray: 4 2; }
.sq-revoke { fill: #f3d9fa; stroke: #ae3ec9; }
.sq-violation { fill: #ffe3e3; stroke: #e03131; stroke-width: 1.5; }
svg text.sq-violation-text { fill: #c92a2a; font-weight: 700; }
.sq-global { fill: #f1f3f5; stroke: #adb5bd; }
.sq-gap { fill: #f8f9fa; stroke: #ced4da; stroke-dasharray: 6 4; }
.sq-handoff { fill: none; stroke: #e67700; stroke-width: 1.6; }
svg text.sq-result { fill: #495057; }
.sq-head { position: sticky; top: 0; z-index: 1; background: rgba(255, 255, 255, 0.94);
  border-bottom: 1px solid var(--line); width: max-content; }
@media print { .scroll { max-height: none; overflow: visible; } }
`;

/** `vdm replay FILE --schedule 'S'`, quoted for a POSIX shell. */
export function replayCommand(file: string, schedule: string, designArgs = ''): string {
  const d = designArgs ? ` ${designArgs}` : '';
  return `vdm replay ${shellQuote(file)}${d} --schedule '${schedule.replace(/'/g, `'\\''`)}'`;
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}">\n<h2>${escapeHtml(title)}</h2>\n${body}\n</section>`;
}

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function optionValue(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
}

/**
 * A design and its options as a reader needs them: what sets this design apart from upstream (the
 * options its definition changes), what the scenario or the command line set for this run, and
 * every option folded away.
 */
function designText(name: string, options: Record<string, unknown>, fold = true): string {
  const own = (DESIGNS as Record<string, { options: object } | undefined>)[name]?.options as
    | Record<string, unknown>
    | undefined;
  const upstream = DESIGNS.upstream.options as unknown as Record<string, unknown>;
  const all = Object.entries(options).filter(([k]) => k !== 'name');
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const code = ([k, v]: [string, unknown]) => `<code>${escapeHtml(k)}: ${escapeHtml(optionValue(v))}</code>`;
  const set = own ? all.filter(([k, v]) => !same(v, own[k])) : all;
  const apart =
    own && name !== 'upstream'
      ? all.filter(([k]) => !same(own[k], upstream[k]) && !set.some(([s]) => s === k))
      : [];
  const parts: string[] = [];
  if (apart.length > 0) parts.push(`as upstream except ${apart.map(code).join(', ')}`);
  if (set.length > 0) parts.push(`set for this run: ${set.map(code).join(', ')}`);
  if (parts.length === 0) parts.push('<span class="note">its default options</span>');
  const folded =
    fold && all.length > 0
      ? ` <details class="options"><summary>all ${all.length} options</summary>${all.map(code).join(', ')}</details>`
      : '';
  return `<strong>${escapeHtml(name)}</strong> — ${parts.join('; ')}${folded}`;
}

function verdictBadge(v: 'pass' | 'fail'): string {
  return `<span class="verdict ${v === 'pass' ? 'pass' : 'fail'}">${v === 'pass' ? 'pass' : 'fail'}</span>`;
}

function violationsTable(file: string, violations: CheckViolation[], designArgs?: string): string {
  if (violations.length === 0) return '<p class="note">No violation found.</p>';
  const rows = violations.map(
    (v) =>
      `<tr><td><strong>${escapeHtml(v.invariant)}</strong><br><span class="note">${escapeHtml(v.kind)}</span></td>` +
      `<td>${escapeHtml(v.message)}${v.thread !== undefined ? `<br><span class="note">thread ${escapeHtml(v.thread)}</span>` : ''}</td>` +
      `<td class="num">${formatCount(v.count)}</td><td class="num">${formatCount(v.preemptions)}</td>` +
      `<td><code class="cmd">${escapeHtml(replayCommand(file, v.schedule, designArgs))}</code></td></tr>`,
  );
  return `<table class="data violations"><thead><tr><th>invariant</th><th>message</th><th class="num">executions</th><th class="num">preemptions</th><th>replay</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** Why a search is incomplete: each reason, how many executions it cut short, the first one's replay. */
function incompleteHtml(file: string, list: CheckReport['incomplete'] = [], designArgs?: string): string {
  if (list.length === 0) return '<span class="fail-text">(incomplete: a bound stopped the search)</span>';
  const items = list.map((i) => {
    const replay =
      i.schedule !== undefined
        ? `<br>the first: <code class="cmd">${escapeHtml(replayCommand(file, i.schedule, designArgs))}</code>`
        : '';
    return `<li><code>${escapeHtml(i.reason)}</code>: ${escapeHtml(i.detail + cutShortNote(i))}${replay}</li>`;
  });
  return `<span class="fail-text">(incomplete)</span><ul class="reasons">${items.join('')}</ul>`;
}

function summary(input: HtmlReportInput): string {
  const c = input.check;
  const expected =
    c.expected.length > 0
      ? c.expected.map((id) => `<code>${escapeHtml(id)}</code>`).join(', ')
      : 'no violation';
  const reasons =
    c.reasons.length > 0
      ? `<ul class="reasons">${c.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
      : '';
  return [
    kv([
      ['scenario', `<strong>${escapeHtml(input.title)}</strong>`],
      ['file', `<code>${escapeHtml(input.file)}</code>`],
      ['design', designText(c.design, c.designOptions)],
      ['verdict', `${verdictBadge(c.verdict)}${reasons}`],
      ['expected', expected],
      [
        'executions',
        `${formatCount(c.executions)} ${c.complete ? '(complete: every interleaving explored)' : incompleteHtml(input.file, c.incomplete, input.designArgs)}`,
      ],
      ['strategy', escapeHtml(c.strategy)],
      ['events', formatCount(c.events)],
      ['time', formatMs(c.elapsedMs)],
    ]),
    `<h3>Violations (${c.violations.length})</h3>`,
    violationsTable(input.file, c.violations, input.designArgs),
  ].join('\n');
}

function scenario(input: HtmlReportInput): string {
  const lines = input.source.replace(/\n$/, '').split('\n');
  return `<pre class="source">${lines.map((l) => `<span class="ln">${escapeHtml(l)}</span>`).join('\n')}</pre>`;
}

function noRecord(): string {
  return '<p class="note">No run record: the scenario was not replayed.</p>';
}

/** The memory map section's body: the map at the end of the run as an SVG, and as a table. */
export function renderMemoryMapSection(record: RunRecord | undefined): string {
  if (!record) return noRecord();
  const m = record.memory;
  const leaves = m.processes.reduce((n, p) => n + p.vmas.reduce((k, v) => k + v.leaves.length, 0), 0);
  return [
    `<p class="note">The memory at the end of the replayed run: ${m.processes.length} process${m.processes.length === 1 ? '' : 'es'}, ${formatCount(leaves)} present leaves, ${formatCount(m.zapped.length)} zapped, ${m.devices.length} device${m.devices.length === 1 ? '' : 's'}. Contiguous leaves are merged into one box per run; hover a box for details.</p>`,
    `<div class="scroll">${renderMemoryMapSvg(m)}</div>`,
    `<details><summary>The memory map as a table</summary>\n${renderMemoryMapTable(m)}\n</details>`,
  ].join('\n');
}

/**
 * The counterexample section's body: the violations the run shows, its replay command, the sequence
 * diagram and the step table.
 */
export function renderCounterexampleSection(
  input: Pick<HtmlReportInput, 'file' | 'record' | 'designArgs'>,
  /** Leave out the race diagram (the playground shows it in a panel of its own). */
  o: { raceDiagram?: boolean } = {},
): string {
  const record = input.record;
  if (!record) return noRecord();
  // The race diagram, as `vdm report --format text` prints it (one implementation for both).
  const race =
    o.raceDiagram !== false && record.violations.length > 0 && record.steps.length > 0
      ? `<p>As a race diagram, the way a commit message or a review reply draws it (<code>vdm report --format text</code>):</p>\n<pre class="race">${escapeHtml(
          formatRaceDiagram(record, {
            violation: { id: record.violations[0]!.id, message: record.violations[0]!.message },
            ...(input.designArgs ? { designArgs: input.designArgs } : {}),
          }),
        )}</pre>`
      : '';
  const intro =
    record.violations.length > 0
      ? `<p>The run of the first violation, ${formatCount(record.steps.length)} events. It shows:</p><ul>${record.violations
          .map(
            (v) =>
              `<li><strong>${escapeHtml(v.id)}</strong> <span class="note">(${escapeHtml(v.kind)}${v.thread !== undefined ? `, thread ${escapeHtml(v.thread)}` : ''})</span>: ${escapeHtml(v.message)}</li>`,
          )
          .join('')}</ul>`
      : `<p>No violation: this is the default run, ${formatCount(record.steps.length)} events.</p>`;
  return [
    intro,
    `<p>Replay: <code class="cmd">${escapeHtml(replayCommand(input.file, record.schedule, input.designArgs))}</code></p>`,
    ...(race ? [race] : []),
    `<p class="note">Design ${designText(record.design.name, record.design.options, false)}. One lane per thread, time going down; a yellow box is a lock operation, a grey dashed box several memory accesses in one function, an orange arrow a lock handed from one thread to another, a red band a violation. Hover for the full stack.</p>`,
    `<div class="scroll">${renderSequenceSvg(record)}</div>`,
    `<details><summary>The steps as a table (${formatCount(record.steps.length)} steps, ${formatCount(record.marks.length)} marks)</summary>\n${renderStepTable(record)}\n</details>`,
  ].join('\n');
}

/** The design × invariant matrix; the row of `current` (the checked design) is highlighted. */
export function renderMatrix(compare: CompareReport, current: string): string {
  const ids = compare.invariants;
  const head = `<tr><th>design</th>${ids.map((id) => `<th>${escapeHtml(id)}</th>`).join('')}<th class="num">executions</th><th>complete</th><th>verdict</th><th class="num">time</th></tr>`;
  const rows = compare.results.map((r) => {
    const cls = r.design === current ? ' class="current"' : '';
    const cells = r.error
      ? `<td class="error" colspan="${Math.max(1, ids.length)}">${escapeHtml(r.error)}</td>`
      : ids
          .map((id) => {
            const found = r.violations.includes(id);
            if (!found) return '<td class="cell none">—</td>';
            const s = r.shortest[id];
            const title = s
              ? `${s.message}\nshortest counterexample: ${s.events} events, schedule ${s.schedule} (design ${r.design})`
              : id;
            return `<td class="cell hit" title="${escapeHtml(title)}">${formatCount(r.counts[id] ?? 1)}</td>`;
          })
          .join('');
    return `<tr${cls}><th>${escapeHtml(r.design)}</th>${cells}<td class="num">${formatCount(r.executions)}</td><td>${r.complete ? 'yes' : '<span class="fail-text">no</span>'}</td><td>${verdictBadge(r.verdict)}</td><td class="num">${formatMs(r.elapsedMs)}</td></tr>`;
  });
  return [
    '<p class="note">Executions that showed each invariant violation, per design (— = none found). Hover a red cell for the shortest counterexample.</p>',
    `<div class="scroll"><table class="data matrix"><thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`,
  ].join('\n');
}

function statistics(c: CheckReport): string {
  const rate = c.elapsedMs > 0 ? `${formatCount(Math.round(c.events / (c.elapsedMs / 1000)))}` : '—';
  return kv([
    ['executions', formatCount(c.executions)],
    ['blocked', formatCount(c.blocked)],
    ['deadlocks', formatCount(c.deadlocks)],
    ['events', formatCount(c.events)],
    ['max depth', formatCount(c.maxDepth)],
    ['elapsed', formatMs(c.elapsedMs)],
    ['events/s', rate],
    ['complete', c.complete ? 'yes' : 'no'],
    ...(c.cycles ? ([['retry cycles stopped', formatCount(c.cycles)]] as [string, string][]) : []),
  ]);
}

/** The report as one self-contained HTML5 document. */
export function renderHtmlReport(input: HtmlReportInput): string {
  const sections: [string, string, string][] = [
    ['summary', 'Summary', summary(input)],
    ['scenario', 'Scenario', scenario(input)],
    ['memory-map', 'Memory map', renderMemoryMapSection(input.record)],
    [
      'counterexample',
      input.check.violations.length > 0 ? 'Counterexample' : 'Run',
      renderCounterexampleSection(input),
    ],
  ];
  if (input.compare)
    sections.push(['matrix', 'Designs × invariants', renderMatrix(input.compare, input.check.design)]);
  sections.push(['statistics', 'Statistics', statistics(input.check)]);
  const nav = sections.map(([id, title]) => `<a href="#${id}">${escapeHtml(title)}</a>`).join('');
  const generated = input.generatedAt !== undefined ? ` on ${escapeHtml(input.generatedAt)}` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(input.title)} — vdm report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="page">
<h1>${escapeHtml(input.title)} ${verdictBadge(input.check.verdict)}</h1>
<div class="sub">${escapeHtml(input.file)} · design ${escapeHtml(input.check.design)}</div>
<nav>${nav}</nav>
</header>
<main>
${sections.map(([id, title, body]) => section(id, title, body)).join('\n')}
</main>
<footer>Generated by vdm (vfio-dmabuf-model)${generated}.</footer>
</body>
</html>
`;
}
