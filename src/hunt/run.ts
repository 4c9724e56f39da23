// One program on one design (docs/hunt.md, "Signatures"): explored with dpor under the hunt's
// bounds, each violation named by its signature — the invariant id and the kernel functions of the
// step that broke it — so the same bug reached from many programs is counted once.

import type { Design } from '../designs/design.js';
import { PLUMBING_FRAMES } from '../report/race-diagram.js';
import type { RunRecord } from '../report/record.js';
import { checkExploreOptions, violationId } from '../scenario/check.js';
import { scenarioProgram } from '../scenario/program.js';
import type { Scenario } from '../scenario/resolve.js';
import { explore, replay } from '../sched/explore.js';
import type { ViolationReport } from '../sched/program.js';
import { decodeSchedule } from '../sched/schedule.js';
import { kernelName } from '../sched/site.js';

export interface HuntBounds {
  /** Executions per program and design. */
  maxExecutions: number;
  /** Milliseconds per program and design. */
  timeLimitMs: number;
  /** Events per execution; past it the execution is cut (a bound, not a finding). Default 20,000. */
  maxSteps?: number;
}

/** Events per execution in a hunt unless HuntBounds.maxSteps says otherwise. */
export const HUNT_MAX_STEPS = 20_000;

export interface Signature {
  id: string;
  /** Kernel functions of the violating step, outermost first (for DEADLOCK: each waiter's). */
  frames: string[];
  /** What two findings of one bug share: id, frames and (ERROR) the message's shape. */
  key: string;
  /**
   * A DEADLOCK in which every stuck thread sleeps until user space does its part: an unbind waiting
   * for the device's users to close it (the kernel asks them through the driver's request
   * callback), a fault on userfaultfd memory waiting for its handler's UFFDIO_COPY. The kernel
   * sleeps there by design; the program never does the part.
   */
  waitsForUser?: boolean;
}

/**
 * Whether every thread of a deadlock sleeps, directly or through the locks and handles it waits
 * for, on a completion only user space can complete (Signature.waitsForUser). The explorer's
 * message lists each waiter as `T waits in OP on KIND NAME (holders)`.
 */
export function waitsForUser(message: string): boolean {
  const waiters = message
    .replace(/^deadlock: /, '')
    .split(/;\s*(?=\S+ waits in )/)
    .map((part) => /^(\S+) waits in \S+ on (\w+) (.+?) \((.*)\)$/.exec(part))
    .filter((w): w is RegExpExecArray => w !== null);
  if (waiters.length === 0) return false;
  const user = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [, thread, kind, name, holders] of waiters) {
      if (user.has(thread!)) continue;
      const onUser = kind === 'completion' && USER_WAIT.test(name!);
      // The interpreter's own waits (a handle or process another thread makes) and locks follow
      // the threads they wait for.
      const heldBy = [...holders!.matchAll(/held by ([\w-]+)|read-held by ([\w, -]+?)(?:;|$)/g)].flatMap(
        (m) => (m[1] ?? m[2] ?? '').split(/,\s*/).filter(Boolean),
      );
      // Only the driver core's device_lock is held across such a sleep by design (unbind holds it
      // while the driver's remove waits for the users); any other lock held there is a finding
      // (v5.8's memory_lock across a pread's userfault).
      const onUsers = /\.device_lock$/.test(name!) && heldBy.length > 0 && heldBy.every((h) => user.has(h));
      const onOthers = kind === 'completion' && /^(handle|proc) /.test(name!) && user.size > 0;
      if (onUser || onUsers || onOthers) {
        user.add(thread!);
        changed = true;
      }
    }
  }
  return waiters.every((w) => user.has(w[1]!));
}

/** Completions only a user-space action completes: a device's last user letting go, a userfault's handler. */
const USER_WAIT = /(\.comp|\.fault_wqh@\w+)$/;

export interface Finding {
  signature: Signature;
  kind: ViolationReport['kind'];
  /** The thread that broke the rule, when one did. */
  thread?: string;
  design: string;
  schedule: string;
  preemptions: number;
  message: string;
}

export interface ProgramRun {
  design: string;
  executions: number;
  events: number;
  complete: boolean;
  ms: number;
  /** One per signature. */
  findings: Finding[];
}

const PLUMBING = new Set(PLUMBING_FRAMES);
const meaningful = (f: string): boolean => !f.startsWith('op:') && !f.startsWith('sys_') && !PLUMBING.has(f);

/** The message with what varies between programs of one bug (addresses, names, counts) blanked. */
export function messageShape(message: string): string {
  return (message.split('\n')[0] ?? '')
    .replace(/^[\w.-]+: /, '')
    .replace(/0x[0-9a-f]+|@[0-9a-f]+\b/gi, (m) => (m.startsWith('@') ? '@#' : '#'))
    .replace(/\b(gpu|dev|nic)\d+\b/g, 'dev')
    .replace(/\b(t|fd|m|ictx|io|imp|ctr|p)\d+\b/g, '$1')
    .replace(/\b\d+\b/g, '#');
}

/** The functions a LOCK_ORDER message names: where each lock of the cycle was held and taken. */
function lockOrderFrames(message: string): string[] {
  return [...message.matchAll(/(?:held|acquired) at (?:Object\.)?([\w$]+)/g)].map((m) => kernelName(m[1]!));
}

/** A lock-order cycle `A -> B -> C -> A` started at its least lock, so one cycle has one spelling. */
function cycleOf(message: string): string | undefined {
  const m = /lock order inversion: (.+)$/m.exec(message);
  if (m) {
    const locks = m[1]!.split(' -> ').slice(0, -1);
    const i = locks.indexOf([...locks].sort()[0]!);
    const r = [...locks.slice(i), ...locks.slice(0, i)];
    return [...r, r[0]].join(' -> ');
  }
  const rec = /acquires (\S+) .*while already holding it/.exec(message);
  return rec ? `recursive ${rec[1]}` : undefined;
}

/** Where a violation happened: the scenario operation each thread was in when it was reported. */
export interface ViolationPlace {
  /** The thread that broke the rule (the violating event's), if any. */
  thread?: string;
  /** Thread -> the operation it was in, or had last finished (absent: it had not started one). */
  ops: ReadonlyMap<string, string>;
}

/**
 * The signature of `v`. A lock-order cycle is its locks; a deadlock what its threads wait on; any
 * other violation the operation of the thread that broke the rule (the syscall or the access the
 * bug is in) with the message's shape — the innermost step where a check fires varies with the
 * program around it. Frames (kernel functions) are filled in for display by `withFrames`.
 */
export function signatureOf(v: ViolationReport, at: ViolationPlace): Signature {
  const id = violationId(v);
  if (v.kind === 'lock-order') {
    // The message names where each lock was held and taken.
    const frames = lockOrderFrames(v.message);
    return { id, frames, key: `${id} ${cycleOf(v.message) ?? messageShape(v.message)}` };
  }
  if (v.kind === 'deadlock') {
    // What each thread waits on, in thread order neither name nor number: sorted.
    const parts = v.message
      .replace(/^deadlock: /, '')
      .split(/;\s*(?=\S+ waits in )/)
      .map((part) =>
        messageShape(part.replace(/^\S+ waits/, 't waits').replace(/(held by |queued: )[\w, -]+/g, '$1t')),
      )
      .sort();
    const sig: Signature = { id, frames: [], key: `${id} ${[...new Set(parts)].join('; ')}` };
    if (waitsForUser(v.message)) sig.waitsForUser = true;
    return sig;
  }
  const op = (at.thread !== undefined ? at.ops.get(at.thread) : undefined) ?? 'setup';
  const sig: Signature = { id, frames: [], key: `${id} ${op} | ${messageShape(v.message)}` };
  // A setup step that sleeps on such a completion (nothing runs beside setup to wake it).
  const setupWait = /on completion (\S+) would block/.exec(v.message);
  if (id === 'DEADLOCK' && setupWait && USER_WAIT.test(setupWait[1]!)) sig.waitsForUser = true;
  return sig;
}

/** The kernel functions of the violating step, outermost first, from a recorded execution. */
export function framesOf(
  v: Pick<ViolationReport, 'kind' | 'message'>,
  record: RunRecord,
  thread?: string,
): string[] {
  if (v.kind === 'lock-order') return lockOrderFrames(v.message);
  if (v.kind === 'deadlock') {
    const out: string[] = [];
    for (const t of [...v.message.matchAll(/(\w[\w-]*) waits/g)].map((m) => m[1]!)) {
      const steps = record.steps.filter((s) => s.thread === t);
      const f = (steps.at(-1)?.stack ?? []).filter(meaningful).at(-1);
      if (f && !out.includes(f)) out.push(f);
    }
    return out;
  }
  const steps = record.steps.filter((s) => s.thread === (thread ?? record.steps.at(-1)?.thread));
  return (steps.at(-1)?.stack ?? []).filter(meaningful);
}

/** Where `v` happened, from a replay of its schedule without stacks (at search speed). */
export function placeOf(sc: Scenario, design: Design, v: ViolationReport): ViolationPlace {
  const program = scenarioProgram(sc, { design, record: true });
  const rep = replay(program, v.schedule, { trace: false });
  const ops = new Map<string, string>();
  for (const m of rep.state.marks ?? []) {
    if (m.thread === undefined || m.thread === 'setup') continue;
    // The op the thread is in, or the one it last finished (a check can fire just after it).
    if (m.kind === 'op-begin') ops.set(m.thread, `op:${String(m.data.op)}`);
  }
  const events = decodeSchedule(v.schedule).threads;
  const names = Object.keys(program.threads);
  const last = events.length > 0 ? names[events[events.length - 1]!] : undefined;
  const thread = v.thread ?? last;
  return thread !== undefined ? { thread, ops } : { ops };
}

/** The model's functions on an exception's stack, innermost first. */
function crashFrames(e: Error): string[] {
  return [...(e.stack ?? '').matchAll(/at (?:Object\.|\w+\.)?([\w$]+) \(.*?[/\\]src[/\\]/g)]
    .map((m) => kernelName(m[1]!))
    .slice(0, 3);
}

/** Explores `sc` on `design` within `bounds`; each signature once, with its fewest preemptions. */
export function runProgram(
  sc: Scenario,
  design: Design,
  bounds: HuntBounds,
  /** Search each counterexample again for its fewest preemptions (a shrunk program's; a hunt's programs skip it: it is unbounded by the time limit). */
  minimize = false,
): ProgramRun {
  const started = Date.now();
  const options = checkExploreOptions(sc, {
    design,
    strategy: 'dpor',
    maxExecutions: bounds.maxExecutions,
    timeLimitMs: bounds.timeLimitMs,
  });
  options.maxSteps = bounds.maxSteps ?? HUNT_MAX_STEPS;
  options.minimizePreemptions = minimize;
  let r: ReturnType<typeof explore>;
  try {
    r = explore(scenarioProgram(sc, { design }), options);
  } catch (e) {
    // The model itself failed on a program the loader accepted: a bug of vdm, kept as a finding
    // (CRASH) with the program that shows it, and the hunt goes on.
    const message = e instanceof Error ? e.message : String(e);
    const frames = e instanceof Error ? crashFrames(e) : [];
    return {
      design: design.name,
      executions: 0,
      events: 0,
      complete: false,
      ms: Date.now() - started,
      findings: [
        {
          signature: { id: 'CRASH', frames, key: `CRASH ${frames[0] ?? '?'} | ${messageShape(message)}` },
          kind: 'error',
          design: design.name,
          schedule: '',
          preemptions: 0,
          message: `the model failed: ${message}`,
        },
      ],
    };
  }
  const ms = Date.now() - started;
  const byKey = new Map<string, Finding>();
  for (const v of r.violations) {
    // An execution cut by the step bound is a limit of the search, not something the kernel did.
    if (v.id === 'REPLAY_MISMATCH' || v.id === 'STEP_BOUND') continue;
    const at = v.kind === 'lock-order' ? { ops: new Map<string, string>() } : placeOf(sc, design, v);
    const signature = signatureOf(v, at);
    const old = byKey.get(signature.key);
    const preemptions = v.preemptions ?? 0;
    if (old && old.preemptions <= preemptions) continue;
    const f: Finding = {
      signature,
      kind: v.kind,
      design: design.name,
      schedule: v.schedule,
      preemptions,
      message: v.message,
    };
    if (at.thread !== undefined) f.thread = at.thread;
    byKey.set(signature.key, f);
  }
  return {
    design: design.name,
    executions: r.executions,
    events: r.events,
    complete: r.complete,
    ms,
    findings: [...byKey.values()],
  };
}
