// One program on one design (docs/hunt.md, "Signatures"): explored with dpor under the hunt's
// bounds, each violation named by its signature — the invariant id and the kernel functions of the
// step that broke it — so the same bug reached from many programs is counted once.

import type { Design } from '../designs/design.js';
import { PLUMBING_FRAMES } from '../report/race-diagram.js';
import type { RunRecord } from '../report/record.js';
import { checkExploreOptions, recordScenario, violationId } from '../scenario/check.js';
import { scenarioProgram } from '../scenario/program.js';
import type { Scenario } from '../scenario/resolve.js';
import { explore } from '../sched/explore.js';
import type { ViolationReport } from '../sched/program.js';
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
}

export interface Finding {
  signature: Signature;
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
    .replace(/0x[0-9a-f]+/gi, '#')
    .replace(/\b(gpu|dev|nic)\d+\b/g, 'dev')
    .replace(/\b(t|fd|m|ictx|io|imp|ctr|p)\d+\b/g, '$1')
    .replace(/\b\d+\b/g, '#');
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

/**
 * The signature of `v`, from the recorded execution that shows it. A lock-order cycle is its
 * locks; a deadlock the functions its threads wait in; any other violation the outermost kernel
 * function of the thread that broke the rule (the syscall's handler or the fault path) with the
 * message's shape — the innermost step where a check fires varies with the program around it.
 */
export function signatureOf(v: ViolationReport, record: RunRecord): Signature {
  const id = violationId(v);
  if (v.kind === 'lock-order') {
    // The message names where each lock was held and taken.
    const frames = [...v.message.matchAll(/(?:held|acquired) at (?:Object\.)?([\w$]+)/g)].map((m) =>
      kernelName(m[1]!),
    );
    return { id, frames, key: `${id} ${cycleOf(v.message) ?? messageShape(v.message)}` };
  }
  if (v.kind === 'deadlock') {
    const last = new Map<string, string[]>();
    for (const s of record.steps) last.set(s.thread, s.stack.filter(meaningful));
    const waiting = [...v.message.matchAll(/(\w[\w-]*) waits/g)].map((m) => m[1]!);
    const frames = [...new Set(waiting.map((t) => (last.get(t) ?? []).at(-1) ?? '?'))].sort();
    return { id, frames, key: `${id} ${frames.join(', ')}` };
  }
  const thread = v.thread ?? record.steps.at(-1)?.thread;
  const steps = record.steps.filter((s) => s.thread === thread);
  const frames = (steps.at(-1)?.stack ?? []).filter(meaningful);
  const outer = frames[0] ?? 'setup';
  return { id, frames, key: `${id} ${outer} | ${messageShape(v.message)}` };
}

/** Explores `sc` on `design` within `bounds`; each signature once, with its fewest preemptions. */
export function runProgram(sc: Scenario, design: Design, bounds: HuntBounds): ProgramRun {
  const started = Date.now();
  const options = checkExploreOptions(sc, {
    design,
    strategy: 'dpor',
    maxExecutions: bounds.maxExecutions,
    timeLimitMs: bounds.timeLimitMs,
  });
  options.maxSteps = bounds.maxSteps ?? HUNT_MAX_STEPS;
  const r = explore(scenarioProgram(sc, { design }), options);
  const ms = Date.now() - started;
  const byKey = new Map<string, Finding>();
  for (const v of r.violations) {
    // An execution cut by the step bound is a limit of the search, not something the kernel did.
    if (v.id === 'REPLAY_MISMATCH' || v.id === 'STEP_BOUND') continue;
    const record = recordScenario(sc, v.schedule, { design });
    const signature = signatureOf(v, record);
    const old = byKey.get(signature.key);
    const preemptions = v.preemptions ?? 0;
    if (old && old.preemptions <= preemptions) continue;
    byKey.set(signature.key, {
      signature,
      design: design.name,
      schedule: v.schedule,
      preemptions,
      message: v.message,
    });
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
