// The counterexample as an ftrace-style text trace, the way kernel engineers read `trace-cmd report`:
// one line per scheduler event and per mark, each with TASK-PID, CPU and a timestamp, plus
// `funcgraph_entry`/`funcgraph_exit` lines where a thread's kernel call stack changes, as the
// function_graph tracer prints them.
//
// Both this and the Perfetto export (perfetto.ts) render one `Timeline`: the record's events and
// marks merged into one ordered list, with the function entries and exits between them made
// explicit (see `buildTimeline`). Time is counted in events: event i happens at (i + 1) µs, and what
// happens between events (marks, entries, exits) is put in the "slot" after the event before it.

import type { Mark, RunRecord, TraceStep } from './record.js';

/** One thing on the timeline, in order. `slot` n is the gap after event n-1 (0 = before the first). */
export type TimelineItem =
  | {
      t: 'step';
      slot: number;
      thread: string;
      /** Position of the step in `record.steps` (its event number). */
      pos: number;
      step: TraceStep;
    }
  | {
      t: 'mark';
      slot: number;
      thread: string;
      mark: Mark;
      /** An op-begin that opened the thread's operation frame. */
      opens?: boolean;
      /** An op-end that closed the thread's operation frame. */
      closes?: boolean;
    }
  | {
      t: 'enter';
      slot: number;
      thread: string;
      /** The frame as it appears in `stack` (`op:load`, `handle_mm_fault`). */
      name: string;
      /** True for the scenario operation's `op:<name>` frame. */
      op: boolean;
      /** Function depth: how many function frames (not `op:` frames) are outside this one. */
      depth: number;
      /** Model source location of the first event issued with this frame innermost, if any. */
      site?: string;
    }
  | {
      t: 'exit';
      slot: number;
      thread: string;
      name: string;
      op: boolean;
      depth: number;
      /** The frame was opened by an op-begin mark (so its close is not the op's real end). */
      fromMark: boolean;
      /** Closed because the execution ended with the thread still inside it. */
      unfinished?: boolean;
    };

export interface Timeline {
  items: TimelineItem[];
  /** Threads in order of first appearance, with their pid (`setup` is 0, the others 1, 2, ...). */
  threads: { name: string; pid: number }[];
  pid: Map<string, number>;
  /** Number of events (`record.steps.length`); the last slot is `events`. */
  events: number;
}

interface OpenFrame {
  name: string;
  op: boolean;
  fromMark: boolean;
  enter: Extract<TimelineItem, { t: 'enter' }> | null;
}

const SETUP = 'setup';

const isOpFrame = (name: string): boolean => name.startsWith('op:');

/** The thread a mark belongs to: its own, else the violation's, else the thread that ran the event before it. */
function markThread(record: RunRecord, m: Mark): string {
  if (m.thread) return m.thread;
  if (m.kind === 'violation') {
    const v = record.violations.find((x) => x.id === m.data.id);
    if (v?.thread) return v.thread;
  }
  const prev = record.steps[Math.min(m.after, record.steps.length) - 1];
  return prev ? prev.thread : SETUP;
}

/**
 * Merge the record's steps and marks into one ordered list and make the call-stack changes explicit.
 *
 * Per thread, the open frames follow its steps' stacks: before a step, the frames that are not on its
 * stack are exited and its new frames entered (function_graph order). Frames that end after a
 * thread's step are exited eagerly, in the slot right after that step (the model runs a thread's code
 * from one event to its next yield at once), so the exits appear where the functions returned rather
 * than when the thread is next scheduled. The operation frame `op:<name>` is opened by the op-begin
 * mark and closed, after the functions inside it, by the op-end mark. Whatever is still open when
 * the execution ends is closed in the last slot (marked `unfinished`), so entries and exits balance.
 */
export function buildTimeline(record: RunRecord): Timeline {
  const steps = record.steps;
  const n = steps.length;
  const items: TimelineItem[] = [];
  const pid = new Map<string, number>();
  const threads: { name: string; pid: number }[] = [];
  let nextPid = 1;
  const see = (thread: string): void => {
    if (pid.has(thread)) return;
    const p = thread === SETUP ? 0 : nextPid++;
    pid.set(thread, p);
    threads.push({ name: thread, pid: p });
  };

  // Marks by slot, in record order within a slot.
  const bySlot: Mark[][] = Array.from({ length: n + 1 }, () => []);
  for (const m of record.marks) bySlot[Math.max(0, Math.min(n, Math.trunc(m.after)))]!.push(m);

  // For each step, the position of the same thread's next step (-1 if none).
  const nextOfThread = new Array<number>(n).fill(-1);
  const last = new Map<string, number>();
  for (let i = n - 1; i >= 0; i--) {
    const t = steps[i]!.thread;
    nextOfThread[i] = last.get(t) ?? -1;
    last.set(t, i);
  }

  const open = new Map<string, OpenFrame[]>();
  const framesOf = (thread: string): OpenFrame[] => {
    let f = open.get(thread);
    if (!f) open.set(thread, (f = []));
    return f;
  };
  const fnDepth = (frames: readonly { name: string }[], upTo: number): number => {
    let d = 0;
    for (let k = 0; k < upTo; k++) if (!isOpFrame(frames[k]!.name)) d++;
    return d;
  };
  const exitDownTo = (thread: string, keep: number, slot: number, unfinished = false): void => {
    const frames = framesOf(thread);
    while (frames.length > keep) {
      const f = frames.pop()!;
      see(thread);
      items.push({
        t: 'exit',
        slot,
        thread,
        name: f.name,
        op: f.op,
        depth: fnDepth(frames, frames.length),
        fromMark: f.fromMark,
        ...(unfinished ? { unfinished: true } : {}),
      });
    }
  };
  /** The stack a step asks for, read under a mark-opened op frame when the stack has no `op:` root. */
  const effective = (frames: readonly OpenFrame[], stack: readonly string[]): readonly string[] => {
    const root = frames[0];
    if (root?.fromMark && !(stack.length > 0 && isOpFrame(stack[0]!))) return [root.name, ...stack];
    return stack;
  };
  const commonPrefix = (frames: readonly OpenFrame[], target: readonly string[]): number => {
    let k = 0;
    while (k < frames.length && k < target.length && frames[k]!.name === target[k]) k++;
    return k;
  };

  for (let s = 0; s <= n; s++) {
    // 1. Marks in this slot.
    for (const m of bySlot[s]!) {
      const thread = markThread(record, m);
      see(thread);
      if (m.kind === 'op-begin') {
        exitDownTo(thread, 0, s, true);
        items.push({ t: 'mark', slot: s, thread, mark: m, opens: true });
        framesOf(thread).push({
          name: `op:${String(m.data.op ?? '')}`,
          op: true,
          fromMark: true,
          enter: null,
        });
      } else if (m.kind === 'op-end') {
        const frames = framesOf(thread);
        const root = frames[0];
        const closes = !!root?.op;
        exitDownTo(thread, closes ? 1 : 0, s);
        if (closes) frames.pop();
        items.push({ t: 'mark', slot: s, thread, mark: m, ...(closes ? { closes: true } : {}) });
      } else {
        items.push({ t: 'mark', slot: s, thread, mark: m });
      }
    }
    // 2. Eager exits for the thread that ran the previous event: the frames its next step is not in.
    if (s > 0) {
      const prev = steps[s - 1]!;
      const frames = framesOf(prev.thread);
      const nx = nextOfThread[s - 1]!;
      const target = nx >= 0 ? effective(frames, steps[nx]!.stack) : [];
      let keep = commonPrefix(frames, target);
      if (keep === 0 && frames[0]?.fromMark) keep = 1; // only op-end (or the next op-begin) ends an op
      exitDownTo(prev.thread, keep, s);
    }
    if (s === n) break;
    // 3. The step, after entering (and exiting) what its stack says.
    const step = steps[s]!;
    see(step.thread);
    const frames = framesOf(step.thread);
    const target = step.stack.length > 0 ? effective(frames, step.stack) : frames.map((f) => f.name);
    const keep = commonPrefix(frames, target);
    exitDownTo(step.thread, keep, s, keep === 0 && !!frames[0]?.fromMark);
    for (let k = keep; k < target.length; k++) {
      const name = target[k]!;
      const enter: Extract<TimelineItem, { t: 'enter' }> = {
        t: 'enter',
        slot: s,
        thread: step.thread,
        name,
        op: isOpFrame(name),
        depth: fnDepth(frames, frames.length),
      };
      items.push(enter);
      frames.push({ name, op: enter.op, fromMark: false, enter });
    }
    // The innermost frame's site is where this step was issued.
    const inner = frames[frames.length - 1];
    if (inner?.enter && inner.enter.site === undefined && step.site) inner.enter.site = step.site;
    items.push({ t: 'step', slot: s, thread: step.thread, pos: s, step });
  }
  // 4. Close what is still open, in pid order.
  for (const { name } of threads) exitDownTo(name, 0, n, true);
  return { items, threads, pid, events: n };
}

// --- Rendering -------------------------------------------------------------------------------------

/** Tracepoint spelling of the model's operation names. */
const TRACEPOINT: Record<string, string> = {
  lock: 'mutex_lock',
  unlock: 'mutex_unlock',
  trylock: 'mutex_trylock',
  'down_write(wait)': 'down_write_wait',
  wait: 'wait_for_completion',
};

export function tracepointName(op: string): string {
  return TRACEPOINT[op] ?? (op.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'event');
}

/** Key naming the object an operation works on: `lock=`, `completion=` or `obj=`. */
export function objectKey(op: string): string {
  if (/^(lock|unlock|trylock|down_|up_)/.test(op)) return 'lock';
  if (/^(wait|complete)/.test(op)) return 'completion';
  return 'obj';
}

/** Keys whose numeric values are addresses, frame numbers or sizes: printed in hex. */
const HEX_KEYS = new Set([
  'va',
  'pfn',
  'offset',
  'addr',
  'paddr',
  'phys',
  'pgoff',
  'iova',
  'start',
  'end',
  'len',
  'size',
]);

export function formatValue(key: string, v: string | number | boolean): string {
  if (typeof v === 'number')
    return HEX_KEYS.has(key) && Number.isInteger(v) && v >= 0 ? `0x${v.toString(16)}` : String(v);
  return String(v);
}

function kv(key: string, v: string | number | boolean): string {
  const s = formatValue(key, v);
  return `${key}=${s === '' || /[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
}

/** `k=v` pairs for a mark's data, `first` keys in that order, then the rest, skipping `skip`. */
function pairs(
  data: Mark['data'],
  first: readonly string[],
  skip: readonly string[],
  rename: Record<string, string> = {},
) {
  const out: string[] = [];
  const done = new Set(skip);
  for (const k of first) {
    if (data[k] === undefined || done.has(k)) continue;
    out.push(kv(rename[k] ?? k, data[k]!));
    done.add(k);
  }
  for (const k of Object.keys(data)) {
    if (done.has(k)) continue;
    // An op-begin's `args` is already `k=v ...` text.
    out.push(k === 'args' && typeof data[k] === 'string' ? (data[k] as string) : kv(k, data[k]!));
  }
  return out.filter((p) => p !== '').join(' ');
}

/** The level of a leaf mark: `pte`, `pmd` or `pud`. */
function leafLevel(m: Mark): string {
  const l = String(m.data.level ?? 'pte');
  return /^(pte|pmd|pud)$/.test(l) ? l : 'pte';
}

/** A mark's event name and its fields, as in the text trace (shared with the Perfetto export). */
export function markEvent(record: RunRecord, m: Mark): { name: string; body: string } {
  const d = m.data;
  switch (m.kind) {
    case 'op-begin': {
      const rest = pairs(d, [], ['op']);
      return { name: 'op_begin', body: `${String(d.op ?? '?')}${rest ? ` ${rest}` : ''}` };
    }
    case 'op-end': {
      const expected = d.expected !== undefined ? ` expected=${String(d.expected)}` : '';
      const rest = pairs(d, [], ['op', 'outcome', 'expected']);
      return {
        name: 'op_end',
        body: `${String(d.op ?? '?')} = ${String(d.outcome ?? '?')}${expected}${rest ? ` ${rest}` : ''}`,
      };
    }
    case 'leaf-set':
    case 'leaf-clear':
      return {
        name: `${leafLevel(m)}_${m.kind === 'leaf-set' ? 'set' : 'clear'}`,
        body: pairs(d, ['process', 'va', 'pfn', 'level'], [], { process: 'mm' }),
      };
    case 'revoke':
      return { name: 'dma_buf_revoke', body: pairs(d, ['dmabuf', 'state'], []) };
    case 'violation': {
      const kind = String(d.kind ?? 'VIOLATION');
      const v = record.violations.find((x) => x.id === d.id);
      let msg = v?.message ?? m.text;
      if (msg.startsWith(`${kind}: `)) msg = msg.slice(kind.length + 2);
      const id = d.id !== undefined ? ` ${kv('id', d.id)}` : '';
      return { name: 'violation', body: `${kind}: ${msg}${id}` };
    }
    default:
      return { name: tracepointName(String(m.kind)), body: m.text };
  }
}

/** A step's event name and fields, as in the text trace. */
export function stepEvent(step: TraceStep): { name: string; body: string } {
  const result = step.result !== undefined ? ` = ${step.result}` : '';
  return { name: tracepointName(step.op), body: `${kv(objectKey(step.op), step.object)}${result}` };
}

/** Seconds with 6 decimals for a time in µs. */
function seconds(us: number): string {
  return `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
}

export function formatFtrace(record: RunRecord, o: { functions?: boolean } = {}): string {
  const functions = o.functions ?? true;
  const tl = buildTimeline(record);
  const taskOf = (thread: string): string => `${thread}-${tl.pid.get(thread)}`;
  const cpuOf = (thread: string): string => String(Math.max(0, tl.pid.get(thread)! - 1)).padStart(3, '0');
  const W = Math.max(16, ...tl.threads.map((t) => taskOf(t.name).length));
  const TW = 12;

  const head = `#${'TASK-PID'.padStart(W - 1)}  ${'CPU#'.padEnd(5)} ${'TIMESTAMP'.padStart(TW)}  FUNCTION`;
  const pipes = Array.from(head, () => ' ');
  pipes[0] = '#';
  for (const [label, at] of [
    ['TASK-PID', 3],
    ['TASK-PID', 5],
    ['CPU#', 1],
    ['TIMESTAMP', 4],
    ['FUNCTION', 3],
  ] as const)
    pipes[head.indexOf(label) + at] = '|';
  const lines = [
    `# tracer: vdm  scenario: ${record.scenario.name}  design: ${record.design.name}  schedule: ${record.schedule}`,
    '#',
    head,
    pipes.join('').trimEnd(),
  ];

  const line = (thread: string, us: number, name: string, body: string): void => {
    lines.push(
      `${taskOf(thread).padStart(W)}  [${cpuOf(thread)}] ${seconds(us).padStart(TW)}: ${name}: ${body}`,
    );
  };
  for (const it of tl.items) {
    const us = it.t === 'step' ? it.slot + 1 : it.slot;
    switch (it.t) {
      case 'step': {
        const e = stepEvent(it.step);
        const inner = it.step.stack[it.step.stack.length - 1];
        line(it.thread, us, e.name, `${e.body}${!functions && inner ? ` func=${inner}` : ''}`);
        break;
      }
      case 'mark': {
        const e = markEvent(record, it.mark);
        line(it.thread, us, e.name, e.body);
        break;
      }
      case 'enter':
        if (it.op) line(it.thread, us, 'op_begin', it.name.slice(3));
        else if (functions) line(it.thread, us, 'funcgraph_entry', `${'  '.repeat(it.depth)}${it.name}() {`);
        break;
      case 'exit':
        if (it.op) {
          if (it.unfinished || it.fromMark) line(it.thread, us, 'op_end', `${it.name.slice(3)} = unfinished`);
          else line(it.thread, us, 'op_end', it.name.slice(3));
        } else if (functions) {
          const tail = it.unfinished ? `${it.name}, unfinished` : it.name;
          line(it.thread, us, 'funcgraph_exit', `${'  '.repeat(it.depth)}} /* ${tail} */`);
        }
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}
