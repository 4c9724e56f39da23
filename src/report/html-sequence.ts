// The HTML report's sequence diagram: an inline SVG of a run record's steps, one lane (column) per
// thread, time going down, one row per step showing the operation, its object and result and the
// innermost kernel function. The record's marks (an operation's start and outcome, a leaf set or
// cleared, a revoke) are drawn in their thread's lane between the steps; violations are red bands
// across every lane. Lock hand-offs (a release by one thread, the next acquisition of the same lock
// by another) are arrows between lanes. Long traces stay readable: runs of plain memory accesses by
// one thread inside one function collapse into one row with a count, and past `maxRows` rows the
// middle of the trace is left out with a note (the step table below has every step).

import { escapeHtml, fitChars, formatCount, SVG_CHAR_W, SVG_FONT, svgText, truncate } from './html-text.js';
import type { Mark, RunRecord, TraceStep } from './record.js';

const RELEASE = new Set(['unlock', 'up_read', 'up_write']);
const ACQUIRE = new Set(['lock', 'down_read', 'down_write', 'down_write(wait)']);
const TRY_ACQUIRE = new Set(['trylock', 'down_read_trylock', 'down_write_trylock']);
const PLAIN = new Set(['read', 'write', 'rmw']);

function acquires(s: TraceStep): boolean {
  if (ACQUIRE.has(s.op)) return s.result !== 'queued';
  return TRY_ACQUIRE.has(s.op) && s.result === 'true';
}

/** The innermost kernel function at a step (the scenario operation `op:...` when nothing deeper). */
export function innermost(s: TraceStep): string {
  return s.stack[s.stack.length - 1] ?? '';
}

/** A lock passed between threads: `from` released it, `to` is the next step that acquired it. */
export interface Handoff {
  object: string;
  /** Positions in `steps`. */
  from: number;
  to: number;
}

/** Every release followed (at the next acquisition of the same object) by another thread's acquisition. */
export function findHandoffs(steps: readonly TraceStep[]): Handoff[] {
  const pending = new Map<string, number>();
  const out: Handoff[] = [];
  steps.forEach((s, i) => {
    if (RELEASE.has(s.op)) pending.set(s.object, i);
    else if (acquires(s)) {
      const from = pending.get(s.object);
      if (from !== undefined && steps[from]!.thread !== s.thread) out.push({ object: s.object, from, to: i });
      pending.delete(s.object);
    }
  });
  return out;
}

type Row =
  | { kind: 'steps'; thread: string; first: number; last: number }
  | { kind: 'marks'; marks: Mark[] }
  | { kind: 'band'; mark: Mark }
  | { kind: 'gap'; first: number; last: number; rows: number };

/** A mark drawn in its thread's lane; the others (violations, marks of no thread) span every lane. */
function inLane(m: Mark): boolean {
  return m.kind !== 'violation' && m.thread !== undefined;
}

/**
 * Steps and marks in time order. Runs of plain accesses by one thread in one function, with no mark
 * between them, collapse into one row; marks at the same point in different lanes share a row.
 */
function timeline(record: RunRecord, collapseMin: number): Row[] {
  const marks = record.marks
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.after - b.m.after || a.i - b.i)
    .map((x) => x.m);
  const rows: Row[] = [];
  const pushMark = (m: Mark) => {
    const last = rows[rows.length - 1];
    if (!inLane(m)) rows.push({ kind: 'band', mark: m });
    else if (
      last?.kind === 'marks' &&
      last.marks[0]!.after === m.after &&
      !last.marks.some((x) => x.thread === m.thread)
    ) {
      last.marks.push(m);
    } else rows.push({ kind: 'marks', marks: [m] });
  };
  const flushRun = (start: number, end: number) => {
    // steps[start..end] are plain accesses of one thread in one function.
    const thread = record.steps[start]!.thread;
    if (end - start + 1 >= collapseMin) rows.push({ kind: 'steps', thread, first: start, last: end });
    else for (let i = start; i <= end; i++) rows.push({ kind: 'steps', thread, first: i, last: i });
  };
  let k = 0;
  let runStart = -1;
  record.steps.forEach((s, i) => {
    const before = k;
    while (k < marks.length && marks[k]!.after <= s.index) k++;
    const prev = record.steps[i - 1];
    const joins =
      runStart >= 0 &&
      prev !== undefined &&
      k === before &&
      PLAIN.has(s.op) &&
      s.thread === prev.thread &&
      innermost(s) === innermost(prev);
    if (!joins && runStart >= 0) {
      flushRun(runStart, i - 1);
      runStart = -1;
    }
    for (let j = before; j < k; j++) pushMark(marks[j]!);
    if (!PLAIN.has(s.op)) rows.push({ kind: 'steps', thread: s.thread, first: i, last: i });
    else if (runStart < 0) runStart = i;
  });
  if (runStart >= 0) flushRun(runStart, record.steps.length - 1);
  for (; k < marks.length; k++) pushMark(marks[k]!);
  return rows;
}

/** Keeps the first third and the last two thirds of `max` rows, with one gap row between. */
function cap(rows: Row[], max: number): Row[] {
  if (rows.length <= max) return rows;
  const head = Math.floor(max / 3);
  const tail = max - head;
  const hidden = rows.slice(head, rows.length - tail);
  const stepRows = hidden.filter((r): r is Extract<Row, { kind: 'steps' }> => r.kind === 'steps');
  const first = stepRows[0]?.first ?? -1;
  const last = stepRows[stepRows.length - 1]?.last ?? -1;
  return [
    ...rows.slice(0, head),
    { kind: 'gap', first, last, rows: hidden.length },
    ...rows.slice(rows.length - tail),
  ];
}

/** Lanes in the order their threads first appear, steps and lane marks alike. */
function lanes(record: RunRecord): string[] {
  const names = new Set<string>();
  const marks = [...record.marks].filter(inLane).sort((a, b) => a.after - b.after);
  let k = 0;
  for (const s of record.steps) {
    while (k < marks.length && marks[k]!.after <= s.index) names.add(marks[k++]!.thread!);
    names.add(s.thread);
  }
  for (; k < marks.length; k++) names.add(marks[k]!.thread!);
  return [...names];
}

const IDX_W = 84;
const LANE_W = 300;
/** Step boxes leave this much room on each side of a lane, for the hand-off arrows. */
const INSET = 22;
const BOX_W = LANE_W - 2 * INSET;
const HEAD_H = 34;
const STEP_H = 36;
const MARK_H = 22;
const GAP_H = 30;
const PAD = 10;
const MARK_FONT = 10;

const MARK_GLYPH: Record<Mark['kind'], string> = {
  'op-begin': '▶',
  'op-end': '◀',
  'leaf-set': '+',
  'leaf-clear': '−',
  revoke: '⊘',
  violation: '✖',
};

export interface SequenceOptions {
  /** Rows drawn at most (default 360); the middle of a longer trace is left out. */
  maxRows?: number;
  /** Runs of at least this many plain accesses collapse into one row (default 3). */
  collapseMin?: number;
}

function opEndFailed(m: Mark): boolean {
  const expected = m.data.expected;
  return expected !== undefined && expected !== 'any' && String(expected) !== String(m.data.outcome);
}

function markTitle(m: Mark): string {
  const who = m.thread !== undefined ? ` · ${m.thread}` : '';
  return `<title>${escapeHtml(`after ${m.after} events · ${m.kind}${who}\n${m.text}`)}</title>`;
}

/**
 * The sequence diagram: a sticky <svg> of the lane headers, then the diagram's <svg>
 * (`#sequence-svg`), both as wide as the lanes.
 */
export function renderSequenceSvg(record: RunRecord, opts: SequenceOptions = {}): string {
  const rows = cap(timeline(record, opts.collapseMin ?? 3), opts.maxRows ?? 360);
  const threads = lanes(record);
  const laneX = (t: string) => IDX_W + threads.indexOf(t) * LANE_W;
  const width = IDX_W + Math.max(1, threads.length) * LANE_W + PAD;
  const out: string[] = [];
  const arrows: string[] = [];
  const rowAt = new Map<number, number>();
  let y = 6;

  for (const r of rows) {
    if (r.kind === 'gap') {
      const what =
        r.first >= 0 ? `steps #${record.steps[r.first]!.index}–#${record.steps[r.last]!.index}` : 'marks';
      out.push(
        `<rect x="4" y="${y + 4}" width="${width - 8}" height="${GAP_H - 8}" class="sq-gap"/>`,
        svgText(
          width / 2,
          y + 19,
          `⋯ ${formatCount(r.rows)} rows not drawn (${what}): see the step table below ⋯`,
          {
            anchor: 'middle',
            cls: 'sq-muted',
          },
        ),
      );
      y += GAP_H;
    } else if (r.kind === 'band') {
      const m = r.mark;
      const cls = m.kind === 'violation' ? 'sq-violation' : 'sq-global';
      out.push(
        `<g class="mark mark-${m.kind}">${markTitle(m)}<rect x="4" y="${y + 2}" width="${width - 8}" height="${MARK_H - 2}" rx="3" class="${cls}"/>`,
        svgText(8, y + 15, `@${m.after}`, { cls: 'sq-muted' }),
        svgText(
          IDX_W + INSET,
          y + 15,
          `${MARK_GLYPH[m.kind]} ${m.thread !== undefined ? `${m.thread}: ` : ''}${m.text}`,
          {
            cls: `${cls}-text`,
            width: width - IDX_W - INSET - 10,
          },
        ),
        '</g>',
      );
      y += MARK_H;
    } else if (r.kind === 'marks') {
      for (const m of r.marks) {
        const x = laneX(m.thread!);
        const failed = m.kind === 'op-end' && opEndFailed(m);
        out.push(
          `<g class="mark mark-${m.kind}">${markTitle(m)}<rect x="${x + 8}" y="${y + 2}" width="${LANE_W - 16}" height="${MARK_H - 4}" rx="8" class="sq-mark sq-${m.kind}${failed ? ' sq-failed' : ''}"/>`,
          svgText(x + 16, y + 14, `${MARK_GLYPH[m.kind]} ${m.text}`, { width: LANE_W - 32, size: MARK_FONT }),
          '</g>',
        );
      }
      y += MARK_H;
    } else {
      out.push(stepRow(record, r, laneX(r.thread), y));
      if (r.first === r.last) rowAt.set(r.first, y + STEP_H / 2);
      y += STEP_H;
    }
  }

  for (const h of findHandoffs(record.steps)) {
    const y1 = rowAt.get(h.from);
    const y2 = rowAt.get(h.to);
    if (y1 === undefined || y2 === undefined) continue;
    const from = record.steps[h.from]!;
    const to = record.steps[h.to]!;
    const xa = laneX(from.thread);
    const xb = laneX(to.thread);
    const right = xb > xa;
    const x1 = right ? xa + LANE_W - INSET : xa + INSET;
    const x2 = right ? xb + INSET : xb + LANE_W - INSET;
    const bend = right ? 36 : -36;
    arrows.push(
      `<g class="handoff"><title>${escapeHtml(`${h.object}: released by ${from.thread} (#${from.index}), acquired by ${to.thread} (#${to.index})`)}</title>`,
      `<path d="M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}" class="sq-handoff" marker-end="url(#sq-arrow)"/>`,
      '</g>',
    );
  }

  const height = y + 8;
  const lifelines = threads.map((_, i) => {
    const x = IDX_W + i * LANE_W + LANE_W / 2;
    return `<line x1="${x}" y1="0" x2="${x}" y2="${height}" class="sq-life"/>`;
  });
  const head = threads.map((t, i) => {
    const x = IDX_W + i * LANE_W;
    return [
      `<rect x="${x + 8}" y="4" width="${LANE_W - 16}" height="${HEAD_H - 8}" rx="4" class="sq-lane-head"/>`,
      svgText(x + LANE_W / 2, 21, t, { anchor: 'middle', cls: 'sq-strong', width: LANE_W - 28 }),
    ].join('');
  });
  return [
    `<div class="sq-head"><svg class="diagram" width="${width}" height="${HEAD_H}" viewBox="0 0 ${width} ${HEAD_H}" font-size="${SVG_FONT}" aria-hidden="true">`,
    svgText(8, 21, 'event', { cls: 'sq-muted' }),
    ...head,
    '</svg></div>',
    `<svg id="sequence-svg" class="diagram" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="sequence diagram" font-size="${SVG_FONT}">`,
    '<defs><marker id="sq-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#e67700"/></marker></defs>',
    ...lifelines,
    ...out,
    ...arrows,
    '</svg>',
  ].join('\n');
}

/** One row of steps: a single step, or a collapsed run of plain accesses with its count. */
function stepRow(record: RunRecord, r: Extract<Row, { kind: 'steps' }>, x: number, y: number): string {
  const first = record.steps[r.first]!;
  const last = record.steps[r.last]!;
  const count = r.last - r.first + 1;
  const fn = innermost(first);
  const said = (s: TraceStep) => `${s.op} ${s.object}${s.result !== undefined ? ` = ${s.result}` : ''}`;
  let line1: string;
  let result = '';
  let tip: string;
  let cls = 'sq-step';
  if (count === 1) {
    line1 = `${first.op} ${first.object}`;
    result = first.result !== undefined ? `= ${truncate(first.result, 16)}` : '';
    tip = `#${first.index} ${first.thread}: ${said(first)}\n${first.stack.join(' → ')}${first.site ? `\n${first.site}` : ''}`;
    if (!PLAIN.has(first.op)) cls += ' sq-sync';
  } else {
    const run = record.steps.slice(r.first, r.last + 1);
    const objects = [...new Set(run.map((s) => s.object))];
    const prefix = `×${count} ${[...new Set(run.map((s) => s.op))].join('/')} `;
    const suffix = objects.length > 1 ? ` +${objects.length - 1}` : '';
    line1 = `${prefix}${truncate(objects[0]!, fitChars(BOX_W - 12) - prefix.length - suffix.length)}${suffix}`;
    const listed = run.slice(0, 40).map(said);
    tip = `#${first.index}–#${last.index} ${first.thread}: ${count} steps in ${fn}\n${listed.join('\n')}${count > 40 ? '\n…' : ''}`;
    cls += ' sq-run';
  }
  const bx = x + INSET;
  const fnW = BOX_W - 12 - (result ? (result.length + 1) * SVG_CHAR_W : 0);
  return [
    `<g class="step" data-step="${first.index}"><title>${escapeHtml(tip)}</title>`,
    svgText(8, y + 22, count === 1 ? `#${first.index}` : `#${first.index}–${last.index}`, {
      cls: 'sq-muted',
      width: IDX_W - 10,
    }),
    `<rect x="${bx}" y="${y + 2}" width="${BOX_W}" height="${STEP_H - 4}" rx="3" class="${cls}"/>`,
    svgText(bx + 6, y + 16, line1, { width: BOX_W - 12 }),
    svgText(bx + 6, y + 29, fn, { cls: 'sq-fn', width: fnW }),
    result ? svgText(bx + BOX_W - 6, y + 29, result, { cls: 'sq-result', anchor: 'end' }) : '',
    '</g>',
  ].join('');
}

/** Every step and mark as a plain table, for the `<details>` under the diagram. */
export function renderStepTable(record: RunRecord, maxSteps = 5000): string {
  const marks = [...record.marks]
    .map((m, i) => ({ m, i }))
    .sort((a, b) => a.m.after - b.m.after || a.i - b.i);
  const rows: string[] = [];
  let k = 0;
  const markRow = (m: Mark) =>
    `<tr class="mark mark-${m.kind}"><td>@${m.after}</td><td>${escapeHtml(m.thread ?? '')}</td><td colspan="6">${escapeHtml(`${m.kind}: ${m.text}`)}</td></tr>`;
  const shown = record.steps.slice(0, maxSteps);
  for (const s of shown) {
    while (k < marks.length && marks[k]!.m.after <= s.index) rows.push(markRow(marks[k++]!.m));
    rows.push(
      `<tr><td>${s.index}</td><td>${escapeHtml(s.thread)}</td><td>${escapeHtml(s.op)}</td><td>${escapeHtml(s.object)}</td><td>${escapeHtml(s.result ?? '')}</td><td>${escapeHtml(innermost(s))}</td><td class="stack">${escapeHtml(s.stack.join(' → '))}</td><td>${escapeHtml(s.site ?? '')}</td></tr>`,
    );
  }
  if (shown.length < record.steps.length) {
    rows.push(
      `<tr><td colspan="8">… ${formatCount(record.steps.length - shown.length)} more steps not listed (replay the schedule for the full trace)</td></tr>`,
    );
  } else {
    for (; k < marks.length; k++) rows.push(markRow(marks[k]!.m));
  }
  return [
    '<table class="data steps"><thead><tr><th>#</th><th>thread</th><th>op</th><th>object</th><th>result</th><th>function</th><th>stack</th><th>site</th></tr></thead><tbody>',
    rows.join('\n'),
    '</tbody></table>',
  ].join('\n');
}
