// The race diagram: one counterexample drawn the way kernel commit messages and review replies draw
// a race, one column per task, only the events the violation depends on, the rest folded into
// "...":
//
//     CPU0 (vmm)                          CPU1 (admin)
//     ----------                          ------------
//     vfio_pci_mmap_huge_fault()
//       down_read(&vdev->memory_lock)
//                                         vfio_basic_config_write()
//                                           down_write(&vdev->memory_lock)  <- waits
//
// Which events: walk back from the violating event through program order and through conflicting
// accesses by other threads (its happens-before cone); keep the violating event, the racing
// accesses in the cone (two threads, one object, overlapping slots, one of them a write: the
// explorer's own conflict rule, src/sched/op.ts `conflicts`), and the lock calls that enclose what
// is kept. docs/report.md ("The race diagram") says it for people.
//
// Pure and browser-safe: no node: imports (the playground renders it in a page).

import { DESIGNS, type DesignName, type DesignOptions, designOf } from '../designs/design.js';
import { kernelLockName } from '../kernel/lock-classes.js';
import { conflicts, K, OP_NAME } from '../sched/op.js';
import { buildTimeline } from './ftrace.js';
import type { Mark, RunRecord, TraceStep } from './record.js';
import { replayCommand } from './replay-command.js';

export interface RaceDiagramOptions {
  /**
   * Which violation to draw: its id (`MMIO_WHILE_DISABLED`), or the id and message a check
   * reported (said as it is when the replayed execution does not show it). Default: the first
   * violation recorded.
   */
  violation?: string | { id: string; message?: string };
  /** Total width (default 72, at least 40). */
  width?: number;
  /**
   * The design flags of the replay command (`--design v5.7 --option x=y`), as the command that
   * found the counterexample prints them. Default: `--design NAME` plus each option that differs
   * from the design's defaults, which replays the same execution whatever the file's design is.
   */
  designArgs?: string;
  /** Scenario sources up to this many lines are printed inline, longer ones by file name (25). */
  inlineScenarioLines?: number;
}

/** Narrowest side-by-side column; below it the tasks are drawn as staggered lanes. */
const COLUMN_MIN = 30;
/** Staggered lanes: the last lane keeps at least this width. */
const LANE_MIN = 36;
/** Deepest nesting of function headers. */
const MAX_DEPTH = 4;
/** Lanes start further apart than the deepest indentation in one (headers, events, wrapped lines). */
const STEP_MIN = 2 * MAX_DEPTH + 4;

/** A lock, completion or data access drawn in the diagram, or the wait a deadlock ends in. */
interface Row {
  thread: string;
  /** Where the row goes: a step's index, or between two steps (x.5) for a wait that began there. */
  key: number;
  /** The step, or -1 for a deadlock's pending acquisition (not an event of the record). */
  step: number;
  text: string;
  markers: string[];
  /** Meaningful kernel functions, outermost first (for the headers). */
  frames: string[];
}

// Trace names of the explorer's operation kinds (src/sched/op.ts), grouped as the diagram draws them.
const names = (from: number, to: number): Set<string> => new Set(OP_NAME.slice(from, to + 1));
const SYNC_OPS = names(K.LOCK, K.COMPLETE_ALL);
const DATA_OPS = names(K.READ, K.RMW);

/**
 * Model plumbing, not kernel functions: shared-state accessors and the layer between a scenario
 * operation and the kernel entry (fd and device look-ups; the uapi `sys_*` calls are plumbing too).
 * The history-era test leaves the same frames out.
 */
export const PLUMBING_FRAMES: readonly string[] = [
  'access',
  'change',
  'clear',
  'clear_leaf',
  'clear_tables',
  'insert_leaf',
  'populate',
  'read',
  'read_leaf',
  'read_is_leaf',
  'read_range',
  'set',
  'set_hw',
  'set_leaves',
  'set_runs',
  'set_table',
  'walk',
  'device_config_write',
  'device_ioctl',
  'device_of',
  'rw_through_buffer',
];
const PLUMBING = new Set(PLUMBING_FRAMES);

const meaningful = (frame: string): boolean =>
  !frame.startsWith('op:') && !frame.startsWith('sys_') && !PLUMBING.has(frame);

/** The kernel functions of a step worth a header, outermost first. */
function framesOf(step: TraceStep): string[] {
  return step.stack.filter(meaningful);
}

/**
 * The op kind (src/sched/op.ts `K`) of a step's printable op name. Names shared by several kinds
 * (`rmw`) give the first, which is not read-like: the conservative reading.
 */
export function stepKind(op: string): number {
  const k = OP_NAME.indexOf(op);
  return k >= 0 ? k : K.RMW;
}

/** The explorer's conflict rule on two recorded steps: one object, overlapping slots, not both read-like. */
export function stepsConflict(
  a: Pick<TraceStep, 'object' | 'op' | 'slots'>,
  b: Pick<TraceStep, 'object' | 'op' | 'slots'>,
): boolean {
  if (a.object !== b.object) return false;
  const [la, ha] = a.slots ?? [0, 0x7fffffff];
  const [lb, hb] = b.slots ?? [0, 0x7fffffff];
  return conflicts(0, stepKind(a.op), la, ha, 0, stepKind(b.op), lb, hb);
}

// --- Lock names ------------------------------------------------------------------------------------

/** Model lock objects by the end of their name: the lock class, and how the kernel spells it. */
const LOCK_NAMES: [RegExp, string, string?][] = [
  [/^(?:mm\.)?(.+)\.mmap_lock$/, 'mmap_lock'],
  [/^(?:mm\.)?(.+)\.tlb$/, 'tlb_shootdown', 'TLB shootdown'],
  [/^(?:mm\.)?(.+)\.page_table_lock$/, 'page_table_lock'],
  [/^(?:mm\.)?(.+)\.pmd_lock@(\w+)$/, 'pmd_lock', 'pmd_lockptr(mm, pmd)'],
  [/^(?:mm\.)?(.+)\.ptl@(\w+)$/, 'ptl', 'pte_lockptr(mm, pmd)'],
  [/^(.+)\.i_mmap_rwsem$/, 'i_mmap_rwsem'],
  [/^(?:vdev\.)?(.+)\.memory_lock$/, 'memory_lock'],
  [/^(?:vdev\.)?(.+)\.vma_lock$/, 'vma_lock'],
  [/^(?:vdev\.)?(.+)\.dmabuf_lock$/, 'dmabuf_lock'],
  [/^(.+)\.dev_set\.lock$/, 'dev_set->lock'],
  [/^(.+)\.reflck\.lock$/, 'reflck->lock'],
  [/^(.+)\.iopt_pages\.mutex$/, 'iopt_pages_dmabuf_mutex'],
  [/^(.+)\.resv$/, 'reservation_ww_class_mutex', 'dmabuf->resv'],
  [/^(.+)\.iotlb$/, 'iotlb_sync', 'IOTLB sync'],
  [/^(.+)\.iova_rwsem$/, 'iova_rwsem'],
  [/^(.+)\.access\.ioas_lock$/, 'ioas_lock'],
  [/^(.+)\.iommu_lock$/, 'iommu->lock'],
  [/^(.+)\.group\.mutex$/, 'group->mutex'],
  [/^(.+)\.remap_lock$/, 'remap_lock'],
];

/** The model's stand-ins for waits the kernel does without a lock (an IPI, an IOMMU flush). */
const MODEL_ONLY = new Set(['tlb_shootdown', 'iotlb_sync']);

/** Spinlocks the model keeps as mutexes: `spin_lock()` in the kernel. */
const SPIN = new Set(['page_table_lock', 'pmd_lock', 'ptl']);

interface LockName {
  cls: string;
  /** The kernel expression (`&vdev->memory_lock`). */
  expr: string;
  /** Which one (`gpu0`, `primary`), shown when one class has several instances in the diagram. */
  instance: string;
}

function lockName(object: string): LockName {
  for (const [re, cls, spelled] of LOCK_NAMES) {
    const m = re.exec(object);
    if (!m) continue;
    return { cls, expr: spelled ?? kernelLockName(cls), instance: m[1]! };
  }
  return { cls: object, expr: object, instance: '' };
}

/**
 * The lock's expression, naming its instance when the diagram has several of its class: in place
 * of the struct (`&gpu1->memory_lock`, `pte_lockptr(child, pmd)`), else after it.
 */
function lockExpr(n: LockName, multi: ReadonlySet<string>): string {
  if (!multi.has(n.cls) || !n.instance) return n.expr;
  if (/^&\w+->/.test(n.expr)) return n.expr.replace(/^&\w+->/, `&${n.instance}->`);
  if (/\(mm,/.test(n.expr)) return n.expr.replace(/\(mm,/, `(${n.instance},`);
  return `${n.expr} [${n.instance}]`;
}

/** The kernel's call for a lock operation on a lock of class `cls`. */
function lockCall(op: string, cls: string): string {
  const spin = SPIN.has(cls);
  const resv = cls === 'reservation_ww_class_mutex';
  switch (op) {
    case 'lock':
      return spin ? 'spin_lock' : resv ? 'dma_resv_lock' : 'mutex_lock';
    case 'unlock':
      return spin ? 'spin_unlock' : resv ? 'dma_resv_unlock' : 'mutex_unlock';
    case 'trylock':
      return spin ? 'spin_trylock' : resv ? 'dma_resv_trylock' : 'mutex_trylock';
    case 'down_write(wait)':
      return 'down_write';
    case 'wait':
      return 'wait_for_completion';
    default:
      return op;
  }
}

// --- Text helpers ----------------------------------------------------------------------------------

const ASCII: Record<string, string> = {
  '\u2192': '->',
  '\u2190': '<-',
  '\u2014': '--',
  '\u2013': '-',
  '\u00d7': 'x',
  '\u2026': '...',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u2265': '>=',
  '\u2264': '<=',
  '\u2260': '!=',
  '\u2212': '-',
};

/** ASCII only, no tabs: what a mail client or a commit message keeps. */
export function asciiOnly(s: string): string {
  return s
    .replace(/\t/g, '  ')
    .replace(/[^\x20-\x7e\n]/g, (c) => ASCII[c] ?? '?')
    .replace(/[ ]+$/gm, '');
}

/** A recorded value, shorter: JSON objects without the quotes around keys and plain strings. */
function shortValue(v: string): string {
  let s = v;
  if (s.startsWith('"') && s.endsWith('"')) {
    try {
      s = String(JSON.parse(s));
    } catch {
      // keep it as it is
    }
  }
  return s.replace(/"([A-Za-z_][\w.]*)"/g, '$1').replace(/,(?=\S)/g, ', ');
}

/** Break `text` into lines of at most `width`, at spaces where it can; later lines start with `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let rest = asciiOnly(text);
  let first = true;
  while (rest.length > 0) {
    const room = first ? width : width - indent.length;
    const lead = first ? '' : indent;
    if (rest.length <= room) {
      out.push(lead + rest);
      break;
    }
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= room / 3) {
      // No space to break at: after a `_`, `,` or `(` in an identifier or a value, else anywhere.
      const at = Math.max(...['_', ',', '('].map((c) => rest.lastIndexOf(c, room - 1)));
      cut = at > room / 3 ? at + 1 : room;
    }
    out.push(lead + rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    first = false;
  }
  return out.length > 0 ? out : [''];
}

// --- Choosing the events ---------------------------------------------------------------------------

interface Hold {
  object: string;
  acquire: number;
  release: number;
}

/** Does the step take a lock (a successful trylock included)? */
function isAcquire(s: TraceStep): boolean {
  return (
    s.op === 'lock' ||
    s.op === 'down_read' ||
    s.op === 'down_write(wait)' ||
    (/trylock$/.test(s.op) && s.result === 'true')
  );
}

/** Per step, the locks its thread holds when it runs (acquired before it, not yet released). */
function holdsAt(steps: readonly TraceStep[]): Hold[][] {
  const held = new Map<string, Hold[]>();
  const at: Hold[][] = [];
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    let list = held.get(s.thread);
    if (!list) held.set(s.thread, (list = []));
    at.push([...list]);
    if (isAcquire(s)) list.push({ object: s.object, acquire: i, release: -1 });
    else if (s.op === 'unlock' || s.op === 'up_read' || s.op === 'up_write') {
      for (let k = list.length - 1; k >= 0; k--) {
        if (list[k]!.object !== s.object) continue;
        list[k]!.release = i;
        list.splice(k, 1);
        break;
      }
    }
  }
  return at;
}

/**
 * Where a thread's lock call began to wait, or undefined when it did not: the first moment after the
 * thread's previous event (the model runs a thread up to its next operation at once) at which another
 * thread held the lock in a way that excludes this call (a writer, or for down_read also a queued
 * writer; for a mutex, any holder). The result is a row key (between two events).
 */
function waitStart(steps: readonly TraceStep[], i: number): number | undefined {
  const s = steps[i]!;
  if (s.op !== 'lock' && s.op !== 'down_read') return undefined;
  let prev = -1;
  for (let k = i - 1; k >= 0; k--)
    if (steps[k]!.thread === s.thread) {
      prev = k;
      break;
    }
  let writer: string | undefined;
  const readers = new Map<string, number>();
  const queued = new Set<string>();
  const excluded = (): boolean =>
    (writer !== undefined && writer !== s.thread) ||
    (s.op === 'down_read' && [...queued].some((t) => t !== s.thread));
  for (let q = 0; q < i; q++) {
    if (q > prev && excluded()) return q - 0.5;
    const e = steps[q]!;
    if (e.object !== s.object) continue;
    switch (e.op) {
      case 'lock':
      case 'down_write(wait)':
        writer = e.thread;
        queued.delete(e.thread);
        break;
      case 'trylock':
      case 'down_write_trylock':
        if (e.result === 'true') writer = e.thread;
        break;
      case 'down_write':
        queued.add(e.thread);
        break;
      case 'unlock':
      case 'up_write':
        writer = undefined;
        break;
      case 'down_read':
        readers.set(e.thread, (readers.get(e.thread) ?? 0) + 1);
        break;
      case 'down_read_trylock':
        if (e.result === 'true') readers.set(e.thread, (readers.get(e.thread) ?? 0) + 1);
        break;
      case 'up_read':
        readers.set(e.thread, (readers.get(e.thread) ?? 1) - 1);
        break;
    }
  }
  return undefined;
}

/** The violation to draw and the events it is about. */
interface Target {
  id: string;
  kind: string;
  message: string;
  /** Its mark (where the explorer reported it). */
  after: number;
  /** The violating events (a deadlock has one per waiting thread). */
  seeds: number[];
  /** A deadlock's waits, which are not events: thread -> op and object. */
  pending: { thread: string; op: string; object: string }[];
  /** Edges of a lock-order cycle this execution does not make (lockdep saw them elsewhere). */
  elsewhere: string[];
}

function target(record: RunRecord, want?: string): Target | undefined {
  const marks = record.marks.filter((m) => m.kind === 'violation');
  const mark: Mark | undefined = want ? marks.find((m) => m.data.id === want) : marks[0];
  const v = mark
    ? record.violations.find((x) => x.id === mark.data.id)
    : want
      ? record.violations.find((x) => x.id === want)
      : record.violations[0];
  if (!v) return undefined;
  const steps = record.steps;
  const after = mark ? Math.min(mark.after, steps.length) : steps.length;
  const thread = v.thread ?? (typeof mark?.thread === 'string' ? mark.thread : undefined);
  /** The last event before `before` (of thread `t`, or any) that `ok` accepts, else the last one. */
  const lastOf = (t: string | undefined, before: number, ok: (s: TraceStep) => boolean): number => {
    let fallback = -1;
    for (let k = before - 1; k >= 0; k--) {
      const s = steps[k]!;
      if (t !== undefined && s.thread !== t) continue;
      if (fallback < 0) fallback = k;
      if (ok(s)) return k;
    }
    return fallback;
  };
  const any = (): boolean => true;
  const pending: Target['pending'] = [];
  const elsewhere: string[] = [];
  const seeds: number[] = [];
  if (v.kind === 'deadlock') {
    const re = /(\S+) waits in (\S+) on (?:mutex|rwsem|completion) (\S+)/g;
    for (let m = re.exec(v.message); m; m = re.exec(v.message)) {
      pending.push({ thread: m[1]!, op: m[2]!, object: m[3]! });
      const k = lastOf(m[1]!, after, any);
      if (k >= 0) seeds.push(k);
    }
  }
  const cycle = v.kind === 'lock-order' ? /^lock order inversion: (.+)$/m.exec(v.message) : null;
  if (cycle) {
    // A cycle of lock classes: for each of its edges A -> B the model's threads made, the last
    // acquisition of a B by a thread holding an A.
    const classes = cycle[1]!.split(' -> ').map((c) => c.trim().replace(/\/\d+$/, ''));
    const holds = holdsAt(steps);
    for (let e = 0; e + 1 < classes.length; e++) {
      let made = false;
      for (let k = after - 1; k >= 0 && !made; k--) {
        const s = steps[k]!;
        if (!isAcquire(s) || lockName(s.object).cls !== classes[e + 1]) continue;
        if (!holds[k]!.some((h) => lockName(h.object).cls === classes[e])) continue;
        if (!seeds.includes(k)) seeds.push(k);
        made = true;
      }
      if (!made) elsewhere.push(`${classes[e]} -> ${classes[e + 1]}`);
    }
  }
  if (seeds.length === 0 && after > 0) {
    // An invariant is checked where the model allows it (after a critical section, at an
    // operation's end), so the event that broke it is the thread's last access to shared data
    // (any thread's last write when the report names none); a lock-order report or an error is
    // about the thread's last event itself.
    const invariant = v.kind !== 'lock-order' && v.kind !== 'deadlock' && v.kind !== 'error';
    const k = invariant
      ? lastOf(thread, after, (s) => DATA_OPS.has(s.op) && (thread !== undefined || s.op !== 'read'))
      : lastOf(thread, after, any);
    seeds.push(k >= 0 ? k : after - 1);
  }
  return { id: v.id, kind: v.kind, message: v.message, after, seeds, pending, elsewhere };
}

/**
 * The events the diagram shows: the violating ones, the racing accesses of their happens-before
 * cone, and the lock calls around what is kept.
 */
function chooseSteps(record: RunRecord, t: Target): Set<number> {
  const steps = record.steps.slice(0, Math.max(t.after, ...t.seeds.map((s) => s + 1)));
  const n = steps.length;
  // Steps of each object, in order, for the backward search of conflicts.
  const byObject = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const o = steps[i]!.object;
    let l = byObject.get(o);
    if (!l) byObject.set(o, (l = []));
    l.push(i);
  }
  const position = new Map<number, number>();
  for (const l of byObject.values()) for (let k = 0; k < l.length; k++) position.set(l[k]!, k);
  /** For each other thread, its last event before `i` that conflicts with `i` (data only: `dataOnly`). */
  const conflictsBefore = (i: number, dataOnly: boolean): number[] => {
    const e = steps[i]!;
    const list = byObject.get(e.object)!;
    const found = new Map<string, number>();
    for (let k = position.get(i)! - 1; k >= 0; k--) {
      const j = list[k]!;
      const d = steps[j]!;
      if (d.thread === e.thread || found.has(d.thread)) continue;
      if (dataOnly && !DATA_OPS.has(d.op)) continue;
      if (stepsConflict(d, e)) found.set(d.thread, j);
    }
    return [...found.values()];
  };
  const prevOfThread = new Array<number>(n).fill(-1);
  const last = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const th = steps[i]!.thread;
    prevOfThread[i] = last.get(th) ?? -1;
    last.set(th, i);
  }
  // The cone: everything that happens before a violating event.
  const cone = new Set<number>();
  const work = [...t.seeds];
  while (work.length > 0) {
    const i = work.pop()!;
    if (i < 0 || cone.has(i)) continue;
    cone.add(i);
    work.push(prevOfThread[i]!);
    for (const j of conflictsBefore(i, false)) work.push(j);
  }
  const keep = new Set<number>(t.seeds);
  // The racing accesses: data accesses of the cone that conflict with one by another thread.
  // Deadlocks and lock-order reports are about locks: their diagrams are the lock calls.
  if (t.kind !== 'deadlock' && t.kind !== 'lock-order') {
    for (const i of cone) {
      if (!DATA_OPS.has(steps[i]!.op)) continue;
      for (const j of conflictsBefore(i, true)) {
        if (!cone.has(j)) continue;
        keep.add(i);
        keep.add(j);
      }
    }
  }
  // The lock calls around every kept event (and, for a down_write, its arrival with its wait).
  const holds = holdsAt(record.steps);
  for (const i of [...keep]) {
    for (const h of holds[i] ?? []) {
      // The TLB-shootdown and IOTLB-sync "locks" are the model's waits, not kernel locks.
      if (MODEL_ONLY.has(lockName(h.object).cls)) continue;
      keep.add(h.acquire);
      if (h.release >= 0) keep.add(h.release);
    }
  }
  for (const i of [...keep]) {
    const s = record.steps[i]!;
    if (s.op === 'down_write(wait)') {
      for (let k = i - 1; k >= 0; k--) {
        const a = record.steps[k]!;
        if (a.thread === s.thread && a.object === s.object && a.op === 'down_write') {
          keep.add(k);
          break;
        }
      }
    }
  }
  return keep;
}

// --- Rendering -------------------------------------------------------------------------------------

/** The design as the diagram's footer and default replay flags say it: name and non-default options. */
function designSummary(record: RunRecord): { text: string; args: string } {
  const name = record.design.name;
  const options = record.design.options;
  if (!(name in DESIGNS)) return { text: name, args: '' };
  const revision = options.revision;
  let base: Record<string, unknown>;
  try {
    base = designOf(
      name as DesignName,
      typeof revision === 'string' ? ({ revision } as Partial<DesignOptions>) : {},
    ).options as unknown as Record<string, unknown>;
  } catch {
    base = DESIGNS[name as DesignName].options as unknown as Record<string, unknown>;
  }
  const plain = DESIGNS[name as DesignName].options as unknown as Record<string, unknown>;
  const changed: string[] = [];
  if (revision !== undefined && revision !== plain.revision) changed.push(`revision=${String(revision)}`);
  for (const [k, v] of Object.entries(options)) {
    if (k === 'revision') continue;
    if (JSON.stringify(base[k]) !== JSON.stringify(v)) changed.push(`${k}=${String(v)}`);
  }
  return {
    text: changed.length > 0 ? `${name} (${changed.join(', ')})` : `${name} (its default options)`,
    args: [`--design ${name}`, ...changed.map((c) => `--option ${c}`)].join(' '),
  };
}

/**
 * A shell command in lines of at most `width`, continued with a backslash: between words the next
 * line is indented, inside a word too long for a line it starts in the first column (the shell
 * joins backslash-newline with nothing).
 */
function wrapCommand(cmd: string, width: number): string[] {
  if (cmd.length <= width) return [cmd];
  // A flag and its value stay together.
  const words: string[] = [];
  for (const w of cmd.split(' ')) {
    const prev = words[words.length - 1];
    const glue = prev !== undefined && ((/^--/.test(prev) && !/^--/.test(w)) || /^(replay:|vdm)$/.test(prev));
    if (glue) words[words.length - 1] = `${prev} ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    const cand = cur ? `${cur} ${w}` : w;
    if (cand.length + 2 <= width || !cur) {
      cur = cand;
      continue;
    }
    lines.push(`${cur} \\`);
    cur = `  ${w}`;
  }
  lines.push(cur);
  // A word longer than a line: split it where the shell joins it back (backslash-newline, or a
  // closed and reopened quote).
  const out: string[] = [];
  for (const line of lines) {
    let rest = line;
    while (rest.length > width) {
      const quoted = /'[^']*$/.test(rest.slice(0, width - 2));
      const cut = width - (quoted ? 3 : 2);
      out.push(`${rest.slice(0, cut)}${quoted ? "'" : ''}\\`);
      rest = `${quoted ? "'" : ''}${rest.slice(cut)}`;
    }
    out.push(rest);
  }
  return out;
}

const leafCache = new WeakMap<RunRecord, Map<number, Mark[]>>();

/**
 * The page-table write behind each leaf mark: the recorder notes a leaf set or cleared when the
 * page-table lock is dropped, so a mark goes with the last page-table write of its process by the
 * thread that ran the event before it.
 */
function leafMarks(record: RunRecord): Map<number, Mark[]> {
  const known = leafCache.get(record);
  if (known) return known;
  const out = new Map<number, Mark[]>();
  const steps = record.steps;
  for (const m of record.marks) {
    if (m.kind !== 'leaf-set' && m.kind !== 'leaf-clear') continue;
    const end = Math.min(m.after, steps.length);
    const thread = m.thread ?? steps[end - 1]?.thread;
    for (let k = end - 1; k >= 0; k--) {
      const s = steps[k]!;
      if (s.thread !== thread || (s.op !== 'write' && s.op !== 'rmw')) continue;
      const pt = /^(?:mm\.)?(.+)\.pt@\w+$/.exec(s.object);
      if (!pt || pt[1] !== String(m.data.process)) continue;
      let l = out.get(k);
      if (!l) out.set(k, (l = []));
      l.push(m);
      break;
    }
  }
  leafCache.set(record, out);
  return out;
}

/** A step's line: the lock call in kernel spelling, or the access and what it read or wrote. */
function stepText(record: RunRecord, i: number, multi: Set<string>): string {
  const s = record.steps[i]!;
  if (SYNC_OPS.has(s.op)) {
    const n = lockName(s.object);
    const result = /trylock$/.test(s.op) && s.result !== undefined ? ` = ${s.result}` : '';
    return `${lockCall(s.op, n.cls)}(${lockExpr(n, multi)})${result}`;
  }
  // Page-table leaves set or cleared by this event; several of one kind and level as one run.
  const hex = (v: unknown): string => (typeof v === 'number' ? `0x${v.toString(16)}` : String(v));
  const groups = new Map<string, Mark[]>();
  for (const m of leafMarks(record).get(i) ?? []) {
    const key = `${m.kind} ${String(m.data.level ?? 'pte')} ${String(m.data.process)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(m);
  }
  const leaves = [...groups.values()].map((g) => {
    const m = g[0]!;
    const level = String(m.data.level ?? 'pte');
    const proc = multi.has('mm') ? ` [${String(m.data.process)}]` : '';
    const what = g.length > 1 ? `${g.length} ${level}s from ${hex(m.data.va)}` : `${level} ${hex(m.data.va)}`;
    const pfn = g.length > 1 ? `${hex(m.data.pfn)}..` : hex(m.data.pfn);
    return m.kind === 'leaf-set' ? `set ${what} -> pfn ${pfn}${proc}` : `clear ${what} (pfn ${pfn})${proc}`;
  });
  const pt = /^(?:mm\.)?(.+)\.pt@\w+$/.exec(s.object);
  if (pt) {
    const proc = multi.has('mm') ? ` [${pt[1]}]` : '';
    if (leaves.length > 0) return leaves.join('; ');
    if (s.op === 'read' && s.result !== undefined) return `read ${shortValue(s.result)}${proc}`;
    return `${s.op} page table${proc}`;
  }
  const value = s.result !== undefined ? ` = ${shortValue(s.result)}` : '';
  return `${s.op} ${s.object}${value}${leaves.length ? `: ${leaves.join('; ')}` : ''}`;
}

/**
 * The race diagram of one counterexample: columns, one per task that takes part, the events the
 * violation depends on with their kernel functions, the rest folded into "...", then the
 * violation, the design, the scenario and the command that replays it. At most `width` (72)
 * columns, ASCII, no tabs, no trailing spaces.
 */
export function formatRaceDiagram(record: RunRecord, opts: RaceDiagramOptions = {}): string {
  const W = Math.max(40, Math.trunc(opts.width ?? 72));
  const want = typeof opts.violation === 'string' ? { id: opts.violation } : opts.violation;
  // A violation of the state the setup leaves is there before any task runs: nothing raced.
  const t = record.steps.length === 0 ? undefined : target(record, want?.id);
  const out: string[] = [];
  if (t) {
    out.push(...diagram(record, t, W));
    if (t.elsewhere.length > 0)
      out.push(
        '',
        ...wrap(
          `not drawn: ${t.elsewhere.join(', ')} (made in another execution of the search, or declared by the machine's lockChains)`,
          W,
          '  ',
        ),
      );
  } else if (want === undefined) {
    out.push(...wrap(`no violation in this execution of ${record.scenario.name}`, W, '  '));
  } else {
    out.push(
      ...wrap(
        record.steps.length === 0
          ? `no race to draw: the setup alone leaves a state that breaks ${want.id}, before any task runs`
          : `no race to draw: this execution does not show ${want.id}`,
        W,
        '  ',
      ),
    );
  }
  out.push('');
  if (t) out.push(...wrap(`${t.id}: ${t.message.split('\n')[0]}`, W, '  '));
  else if (want?.message) out.push(...wrap(`${want.id}: ${want.message.split('\n')[0]}`, W, '  '));
  const design = designSummary(record);
  out.push(...wrap(`design: ${design.text}`, W, '  '));
  const source = record.scenario.source.replace(/\s+$/, '');
  const lines = source.split('\n');
  const inline = opts.inlineScenarioLines ?? 25;
  const fits = lines.every((l) => asciiOnly(l).length <= W - 2);
  if (source && lines.length <= inline && fits) {
    out.push(`scenario (${record.scenario.file}):`);
    for (const l of lines) out.push(`  ${l}`);
  } else {
    out.push(...wrap(`scenario: ${record.scenario.file} (${record.scenario.name})`, W, '  '));
  }
  const cmd = replayCommand(record.scenario.file, record.schedule, opts.designArgs ?? design.args);
  out.push(...wrapCommand(`replay: ${cmd}`, W));
  return `${asciiOnly(out.join('\n'))}\n`;
}

function diagram(record: RunRecord, t: Target, W: number): string[] {
  const keep = chooseSteps(record, t);
  const steps = record.steps;
  // Which lock classes (and processes) have several instances in the diagram: those show which.
  const multi = new Set<string>();
  const instances = new Map<string, Set<string>>();
  const note = (cls: string, inst: string) => {
    let s = instances.get(cls);
    if (!s) instances.set(cls, (s = new Set()));
    s.add(inst);
    if (s.size > 1) multi.add(cls);
  };
  for (const i of keep) {
    const s = steps[i]!;
    if (SYNC_OPS.has(s.op)) {
      const n = lockName(s.object);
      note(n.cls, n.instance);
    }
    const pt = /^(?:mm\.)?(.+)\.pt@\w+$/.exec(s.object);
    if (pt) note('mm', pt[1]!);
  }
  for (const p of t.pending) {
    const n = lockName(p.object);
    note(n.cls, n.instance);
  }
  const seeds = new Set(t.seeds);
  const rows: Row[] = [];
  for (const i of [...keep].sort((a, b) => a - b)) {
    const s = steps[i]!;
    // A down_write that did not have to queue and its wait are one call: draw the arrival only.
    if (s.op === 'down_write(wait)' && !seeds.has(i)) {
      let arrival: TraceStep | undefined;
      for (let q = i - 1; q >= 0 && !arrival; q--) {
        const a = steps[q]!;
        if (a.thread === s.thread && a.object === s.object && a.op === 'down_write') arrival = a;
      }
      if (arrival && arrival.result !== 'queued') continue;
    }
    const markers: string[] = [];
    const wait = waitStart(steps, i);
    if (wait !== undefined || (s.op === 'down_write' && s.result === 'queued')) markers.push('waits');
    let text = stepText(record, i, multi);
    if (s.op === 'down_write(wait)') text = `/* gets ${lockExpr(lockName(s.object), multi)} */`;
    if (seeds.has(i) && t.pending.length === 0) markers.push(t.id);
    rows.push({
      thread: s.thread,
      key: wait ?? i,
      step: i,
      text,
      markers,
      frames: framesOf(s),
    });
  }
  // A deadlock's waits: the calls that never return (not events of the record); a queued
  // down_write is already drawn, waiting.
  for (const p of t.pending) {
    if (p.op === 'down_write(wait)') {
      const arrival = [...rows]
        .reverse()
        .find(
          (r) =>
            r.step >= 0 &&
            steps[r.step]!.thread === p.thread &&
            steps[r.step]!.object === p.object &&
            steps[r.step]!.op === 'down_write',
        );
      if (arrival) {
        arrival.markers.push(t.id);
        continue;
      }
    }
    const n = lockName(p.object);
    let lastFrames: string[] = [];
    for (let k = steps.length - 1; k >= 0; k--)
      if (steps[k]!.thread === p.thread) {
        lastFrames = framesOf(steps[k]!);
        break;
      }
    rows.push({
      thread: p.thread,
      key: steps.length,
      step: -1,
      text: `${lockCall(p.op, n.cls)}(${lockExpr(n, multi)})`,
      markers: ['waits', t.id],
      frames: lastFrames,
    });
  }
  rows.sort((a, b) => a.key - b.key || a.step - b.step);

  // Columns: the threads that take part, in the order the trace numbers them (setup first).
  const tl = buildTimeline(record);
  const taking = new Set(rows.map((r) => r.thread));
  const threads = tl.threads.map((x) => x.name).filter((x) => taking.has(x));
  for (const r of rows) if (!threads.includes(r.thread)) threads.push(r.thread);
  const label = (th: string): string => {
    const pid = tl.pid.get(th);
    return th === 'setup' || pid === undefined ? th : `CPU${Math.max(0, pid - 1)} (${th})`;
  };

  // The layout: side-by-side columns when each gets at least COLUMN_MIN characters; else
  // staggered lanes (lane c starts c * step further right and runs to the right margin, so each
  // event still sits under its task's header); else, with very many tasks, one line per event
  // tagged with its task.
  const gutter = 2;
  const k = Math.max(1, threads.length);
  const colW = Math.floor((W - gutter * (k - 1)) / k);
  const step = k > 1 ? Math.floor((W - LANE_MIN) / (k - 1)) : W;
  const mode: 'columns' | 'lanes' | 'tagged' =
    colW >= COLUMN_MIN ? 'columns' : step >= STEP_MIN ? 'lanes' : 'tagged';
  const tagW = Math.min(12, Math.max(...threads.map((th) => th.length)));
  const startOf = (th: string): number => {
    const c = threads.indexOf(th);
    return mode === 'columns' ? c * (colW + gutter) : mode === 'lanes' ? c * step : tagW + 3;
  };
  const widthOf = (th: string): number => (mode === 'columns' ? colW : W - startOf(th));

  // Per task: the lines of each row, with function headers and "..." where steps were left out.
  const chains = new Map<string, string[]>();
  const lastShown = new Map<string, number>();
  const cells: { thread: string; lines: string[]; tail: string }[] = [];
  for (const r of rows) {
    const lines: string[] = [];
    const prev = lastShown.get(r.thread);
    const skipped =
      r.step >= 0
        ? steps.slice((prev ?? -1) + 1, r.step).some((s) => s.thread === r.thread)
        : prev !== undefined && steps.slice(prev + 1).some((s) => s.thread === r.thread);
    if (skipped) lines.push(`${'  '.repeat(Math.min((chains.get(r.thread) ?? []).length, MAX_DEPTH))}...`);
    if (r.step >= 0) lastShown.set(r.thread, r.step);
    // Headers: the innermost kernel function when it changes, nested under the ones still open.
    const M = r.frames;
    let chain = chains.get(r.thread) ?? [];
    let pos = 0;
    let keepN = 0;
    for (const f of chain) {
      const at = M.indexOf(f, pos);
      if (at < 0) break;
      pos = at + 1;
      keepN++;
    }
    chain = chain.slice(0, keepN);
    if (M.length > 0) {
      if (chain.length === 0 && M[0] !== M[M.length - 1]) {
        chain.push(M[0]!);
        heads(lines, chain);
      }
      const inner = M[M.length - 1]!;
      if (chain[chain.length - 1] !== inner) {
        if (chain.length >= MAX_DEPTH) chain.pop();
        chain.push(inner);
        heads(lines, chain);
      }
    }
    chains.set(r.thread, chain);
    lines.push('  '.repeat(Math.min(chain.length, MAX_DEPTH)) + r.text);
    // Anything longer than its column goes on, two spaces further in, on the next lines.
    const width = widthOf(r.thread);
    const fitted: string[] = [];
    for (const l of lines) {
      const lead = /^ */.exec(l)![0];
      fitted.push(...wrap(l.slice(lead.length), width - lead.length, '  ').map((x) => lead + x));
    }
    cells.push({ thread: r.thread, lines: fitted, tail: r.markers.map((m) => `<- ${m}`).join(' ') });
  }

  const out: string[] = [];
  const labels = threads.map((th) => asciiOnly(label(th)));
  if (mode === 'columns') {
    const head = labels.map((h) => h.slice(0, colW));
    out.push(head.map((h) => h.padEnd(colW + gutter)).join(''));
    out.push(head.map((h) => '-'.repeat(h.length).padEnd(colW + gutter)).join(''));
  } else if (mode === 'lanes') {
    if (labels.every((l, c) => c === k - 1 || l.length < step))
      out.push(labels.map((l) => l.padEnd(step)).join(''));
    else
      for (let c = 0; c < k; c++)
        out.push(' '.repeat(startOf(threads[c]!)) + labels[c]!.slice(0, W - startOf(threads[c]!)));
    out.push(threads.map((_, c) => '-'.repeat(Math.min(labels[c]!.length, step - 1)).padEnd(step)).join(''));
  } else {
    out.push(...wrap(`tasks: ${labels.join(', ')}`, W, '  '), '');
  }
  for (const c of cells) {
    const start = startOf(c.thread);
    const lead = mode === 'tagged' ? `${c.thread.slice(0, tagW).padEnd(tagW)} | ` : ' '.repeat(start);
    const lines = c.lines.map((l) => lead + l);
    if (c.tail) {
      // The markers go after the event's last line, or right-aligned on a line of their own.
      const lastLine = lines[lines.length - 1]!;
      if (lastLine.length + 2 + c.tail.length <= W) lines[lines.length - 1] = `${lastLine}  ${c.tail}`;
      else {
        const right = mode === 'columns' ? Math.min(start + colW, W) : W;
        const pad = ' '.repeat(Math.max(0, right - c.tail.length));
        lines.push(
          mode === 'tagged'
            ? `${lead}${' '.repeat(Math.max(0, W - lead.length - c.tail.length))}${c.tail}`
            : `${pad}${c.tail}`,
        );
      }
    }
    out.push(...lines);
  }
  return out.map((l) => l.trimEnd());
}

/** Appends the header of the innermost entry of `chain`, indented by its depth. */
function heads(lines: string[], chain: readonly string[]): void {
  const depth = Math.min(chain.length - 1, MAX_DEPTH);
  lines.push(`${'  '.repeat(depth)}${chain[chain.length - 1]}()`);
}
