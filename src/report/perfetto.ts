// The counterexample as a Chrome trace-event (JSON) file, which ui.perfetto.dev and chrome://tracing
// open: one process (the scenario), one track per scenario thread, kernel-function slices from the
// call stacks, one short slice per scheduler event, instants for page-table / dma-buf / violation
// marks, and flow arrows for lock and completion hand-offs between threads.
//
// Time: event i starts at (i + 1) µs, as in the text trace (ftrace.ts), and lasts 0.4 µs; what
// happens between two events (marks, function entries and exits) is spread over the half
// microsecond before the next one, so that no two events of a track share a timestamp (Perfetto's
// JSON importer does not order ties). Timestamps are whole nanoseconds written in µs.

import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildTimeline, formatValue, markEvent, stepEvent, type TimelineItem } from './ftrace.js';
import type { Mark, RunRecord, TraceStep } from './record.js';

export interface ChromeTraceEvent {
  name: string;
  ph: 'B' | 'E' | 'X' | 'i' | 's' | 'f' | 'M';
  pid: number;
  tid?: number;
  /** Microseconds. */
  ts?: number;
  dur?: number;
  cat?: string;
  /** Instant scope: thread or global. */
  s?: 't' | 'g';
  /** Flow id. */
  id?: number;
  /** Flow end binding point: the enclosing slice. */
  bp?: 'e';
  args?: Record<string, string | number>;
}

export interface PerfettoTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
  metadata: Record<string, string>;
}

const PID = 1;
/** Length of an event's slice, ns. */
const EVENT_NS = 400;
/** Where inside an event's slice its flow arrows start or end, ns. */
const FLOW_AT_NS = 200;

const RELEASES = new Set(['unlock', 'up_read', 'up_write', 'complete', 'complete_all']);

/** Whether a step took the object: a lock, a successful trylock, a granted rwsem, a finished wait. */
export function acquires(step: TraceStep): boolean {
  switch (step.op) {
    case 'lock':
    case 'down_read':
    case 'down_write(wait)':
    case 'down_write_wait':
    case 'wait':
      return true;
    case 'down_write':
      return step.result !== 'queued';
    case 'trylock':
    case 'down_read_trylock':
    case 'down_write_trylock':
      return step.result === 'true' || step.result === '1';
    default:
      return false;
  }
}

export function releases(step: TraceStep): boolean {
  return RELEASES.has(step.op);
}

/**
 * Hand-offs: a release of an object whose next acquisition (by anyone) is by another thread. Each
 * release gives at most one; an acquisition may end several (two readers leaving before a writer).
 */
export function handoffs(steps: readonly TraceStep[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  const nextAcquire = new Map<string, number>();
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (releases(s)) {
      const j = nextAcquire.get(s.object);
      if (j !== undefined && steps[j]!.thread !== s.thread) out.push({ from: i, to: j });
    }
    if (acquires(s)) nextAcquire.set(s.object, i);
  }
  return out.sort((a, b) => a.from - b.from);
}

/** Text as it may appear in a name or an argument: one line, no control characters. */
function plain(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function markArgs(m: Mark, skip: readonly string[] = []): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.data)) if (!skip.includes(k)) args[k] = plain(formatValue(k, v));
  args.text = plain(m.text);
  return args;
}

const us = (ns: number): number => ns / 1000;

export function toPerfetto(record: RunRecord): PerfettoTrace {
  const tl = buildTimeline(record);
  // Perfetto tids are the text trace's pids, except setup's 0, which older trace processors merge
  // with tid 1: setup gets the first tid after the scenario threads (and still sorts first).
  const maxPid = Math.max(0, ...tl.threads.map((t) => t.pid));
  const tidOf = (thread: string): number => {
    const p = tl.pid.get(thread)!;
    return p === 0 ? maxPid + 1 : p;
  };

  const events: ChromeTraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: PID, args: { name: plain(record.scenario.name) } },
  ];
  for (const t of tl.threads) {
    const tid = tidOf(t.name);
    events.push({ name: 'thread_name', ph: 'M', pid: PID, tid, args: { name: plain(t.name) } });
    events.push({ name: 'thread_sort_index', ph: 'M', pid: PID, tid, args: { sort_index: t.pid } });
  }

  const flows = handoffs(record.steps);
  const flowsFrom = new Map<number, { id: number; to: number }[]>();
  const flowsTo = new Map<number, { id: number; from: number }[]>();
  flows.forEach((f, k) => {
    const id = k + 1;
    if (!flowsFrom.has(f.from)) flowsFrom.set(f.from, []);
    flowsFrom.get(f.from)!.push({ id, to: f.to });
    if (!flowsTo.has(f.to)) flowsTo.set(f.to, []);
    flowsTo.get(f.to)!.push({ id, from: f.from });
  });
  const flowName = (pos: number): string => `hand-off ${plain(record.steps[pos]!.object)}`;

  // Times: between-event items at slot*1000 + 500 ns onwards, spaced up to 50 ns apart; event i at
  // (i + 1) µs, or later if a crowded slot pushed past it.
  const perSlot = new Map<number, number>();
  for (const it of tl.items) if (it.t !== 'step') perSlot.set(it.slot, (perSlot.get(it.slot) ?? 0) + 1);
  let cursor = 0;
  let slot = -1;
  let base = 0;
  let spacing = 0;
  let j = 0;

  const timeOf = (it: TimelineItem): number => {
    if (it.t === 'step') {
      const start = Math.max((it.slot + 1) * 1000, cursor + 50);
      cursor = start + EVENT_NS;
      return start;
    }
    if (it.slot !== slot) {
      slot = it.slot;
      j = 0;
      base = Math.max(slot * 1000 + 500, cursor + 100);
      spacing = Math.max(1, Math.min(50, Math.floor(450 / perSlot.get(slot)!)));
    }
    const t = base + j++ * spacing;
    cursor = t;
    return t;
  };

  for (const it of tl.items) {
    const ns = timeOf(it);
    const tid = tidOf(it.thread);
    const at = { pid: PID, tid, ts: us(ns) };
    switch (it.t) {
      case 'step': {
        const s = it.step;
        const e = stepEvent(s);
        const args: Record<string, string> = { op: plain(s.op), object: plain(s.object) };
        if (s.result !== undefined) args.result = plain(s.result);
        if (s.site) args.site = plain(s.site);
        args.event = String(it.pos);
        if (s.stack.length > 0) args.stack = plain(s.stack.join(' > '));
        events.push({
          name: plain(`${e.name} ${s.object}`),
          cat: 'event',
          ph: 'X',
          ...at,
          dur: us(EVENT_NS),
          args,
        });
        let k = 0;
        for (const f of flowsTo.get(it.pos) ?? [])
          events.push({
            name: flowName(f.from),
            cat: 'lock',
            ph: 'f',
            bp: 'e',
            id: f.id,
            ...at,
            ts: us(ns + FLOW_AT_NS + k++),
          });
        for (const f of flowsFrom.get(it.pos) ?? [])
          events.push({
            name: flowName(it.pos),
            cat: 'lock',
            ph: 's',
            id: f.id,
            ...at,
            ts: us(ns + FLOW_AT_NS + k++),
          });
        break;
      }
      case 'enter': {
        const args: Record<string, string> = {};
        if (it.site) args.site = plain(it.site);
        events.push({
          name: plain(it.op ? it.name.slice(3) : it.name),
          cat: it.op ? 'op' : 'function',
          ph: 'B',
          ...at,
          args,
        });
        break;
      }
      case 'exit': {
        const e: ChromeTraceEvent = {
          name: plain(it.op ? it.name.slice(3) : it.name),
          cat: it.op ? 'op' : 'function',
          ph: 'E',
          ...at,
        };
        if (it.op && (it.unfinished || it.fromMark)) e.args = { outcome: 'unfinished' };
        else if (it.unfinished) e.args = { unfinished: 'true' };
        events.push(e);
        break;
      }
      case 'mark': {
        const m = it.mark;
        const op = plain(String(m.data.op ?? '?'));
        if (it.opens) {
          events.push({ name: op, cat: 'op', ph: 'B', ...at, args: markArgs(m) });
        } else if (it.closes) {
          events.push({ name: op, cat: 'op', ph: 'E', ...at, args: markArgs(m, ['op']) });
        } else {
          const e = markEvent(record, m);
          const violation = m.kind === 'violation';
          const name = violation ? `violation ${String(m.data.kind ?? '')}`.trim() : e.name;
          events.push({
            name: plain(name),
            cat: violation
              ? 'violation'
              : m.kind === 'revoke'
                ? 'dmabuf'
                : m.kind.startsWith('leaf')
                  ? 'pgtable'
                  : 'op',
            ph: 'i',
            s: violation ? 'g' : 't',
            ...at,
            args: { mark: m.kind, ...markArgs(m) },
          });
        }
        break;
      }
    }
  }

  return {
    traceEvents: events,
    displayTimeUnit: 'ns',
    metadata: {
      generator: 'vdm',
      scenario: plain(record.scenario.name),
      'scenario-file': plain(record.scenario.file),
      design: plain(record.design.name),
      schedule: plain(record.schedule),
      violations: plain(record.violations.map((v) => v.kind).join(', ')),
      'time-unit': 'event i starts at (i + 1) us',
    },
  };
}

/** The trace as JSON text, one event per line. */
export function perfettoJson(trace: PerfettoTrace): string {
  const body = trace.traceEvents.map((e) => JSON.stringify(e)).join(',\n');
  const rest = `"displayTimeUnit":${JSON.stringify(trace.displayTimeUnit)},"metadata":${JSON.stringify(trace.metadata)}`;
  return `{"traceEvents":[\n${body}\n],${rest}}\n`;
}

/** Write the trace to `file` atomically: a temporary file in the same directory, then a rename. */
export function writePerfetto(record: RunRecord, file: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, perfettoJson(toPerfetto(record)));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
