// Shrinking a program that shows a signature to a smallest one that still does (docs/hunt.md,
// "Shrinking"): greedy, first improvement wins and the passes start again — fewer threads, fewer
// operations (threads', then the setup's), fewer devices and arguments, smaller values, the plainest
// machine. A candidate the scenario loader refuses (a handle used before anything makes it) is
// skipped without running it.

import { ScenarioError } from '../scenario/errors.js';
import { BAR_SIZES, sizePool } from './generate.js';
import { cloneProgram, type HuntProgram, loadProgram } from './program.js';
import { describeUapi } from './uapi.js';

export interface ShrinkBudget {
  /** Candidate programs run at most. */
  maxRuns: number;
  /** Date.now() past which no candidate is tried. */
  deadline: number;
}

export interface ShrinkResult {
  program: HuntProgram;
  /** Candidates run (loaded and explored). */
  runs: number;
  /** Candidates the loader refused. */
  refused: number;
  /** Whether a budget ended it before no candidate was left. */
  cut: boolean;
}

const OPS = new Map(describeUapi().ops.map((o) => [o.name, o]));

/** The candidates one step smaller than `p`, most reducing first. */
function* candidates(p: HuntProgram): Generator<HuntProgram> {
  for (let t = 0; t < p.threads.length && p.threads.length > 1; t++) {
    const q = cloneProgram(p);
    q.threads.splice(t, 1);
    yield q;
  }
  for (let t = 0; t < p.threads.length; t++) {
    for (let i = 0; i < p.threads[t]!.ops.length; i++) {
      const q = cloneProgram(p);
      q.threads[t]!.ops.splice(i, 1);
      q.threads = q.threads.filter((x) => x.ops.length > 0);
      if (q.threads.length > 0) yield q;
    }
  }
  for (let i = p.setup.length - 1; i >= 0; i--) {
    const q = cloneProgram(p);
    q.setup.splice(i, 1);
    yield q;
  }
  for (let d = 0; d < p.devices.length && p.devices.length > 1; d++) {
    const q = cloneProgram(p);
    q.devices.splice(d, 1);
    yield q;
  }
  for (const [proc, i] of p.processes.map((x, j) => [x, j] as const)) {
    if (i === 0 || p.threads.some((t) => t.process === proc)) continue;
    const q = cloneProgram(p);
    q.processes.splice(i, 1);
    yield q;
  }
  for (const d of p.devices.keys()) {
    for (const b of p.devices[d]!.bars.keys()) {
      if (p.devices[d]!.bars.length > 1) {
        const q = cloneProgram(p);
        q.devices[d]!.bars.splice(b, 1);
        yield q;
      }
      if (p.devices[d]!.bars[b]!.structPages) {
        const q = cloneProgram(p);
        q.devices[d]!.bars[b]!.structPages = false;
        yield q;
      }
      for (const s of BAR_SIZES) {
        if (s >= p.devices[d]!.bars[b]!.size) break;
        const q = cloneProgram(p);
        q.devices[d]!.bars[b]!.size = s;
        yield q;
      }
    }
  }
  const ops = (q: HuntProgram) => [...q.setup, ...q.threads.flatMap((t) => t.ops)];
  // Another handle of the same kind in place of one (then what made this one may go).
  const made = new Map<string, string[]>(); // kind -> names, in program order
  for (const o of ops(p)) {
    const kind = OPS.get(o.op)?.creates;
    if (kind && typeof o.args.as === 'string') made.set(kind, [...(made.get(kind) ?? []), o.args.as]);
  }
  for (const [k, o] of ops(p).entries()) {
    for (const a of OPS.get(o.op)?.args ?? []) {
      if (a.domain.kind !== 'handle' || typeof o.args[a.name] !== 'string') continue;
      for (const other of made.get(a.domain.handle) ?? []) {
        if (other === o.args[a.name]) break; // only handles made before it, in program order
        const q = cloneProgram(p);
        ops(q)[k]!.args[a.name] = other;
        yield q;
      }
    }
  }
  for (const [k, o] of ops(p).entries()) {
    for (const a of OPS.get(o.op)?.args ?? []) {
      if (!(a.name in o.args)) continue;
      if (a.optional && a.domain.kind !== 'new') {
        const q = cloneProgram(p);
        delete ops(q)[k]!.args[a.name];
        yield q;
      }
      const v = o.args[a.name];
      if (typeof v === 'number' && a.domain.kind === 'size' && a.domain.role !== 'address') {
        for (const s of sizePool(a.domain.role, p.devices)) {
          if (s >= v) break;
          const q = cloneProgram(p);
          ops(q)[k]!.args[a.name] = s;
          yield q;
        }
      }
      if (v === true && a.domain.kind === 'bool') {
        const q = cloneProgram(p);
        ops(q)[k]!.args[a.name] = false;
        yield q;
      }
      if (Array.isArray(v) && v.length > 1) {
        const q = cloneProgram(p);
        (ops(q)[k]!.args[a.name] as unknown[]).splice(1);
        yield q;
      }
    }
  }
  if (p.arch !== 'x86_64') yield { ...cloneProgram(p), arch: 'x86_64' };
  if (p.thp !== 'always') yield { ...cloneProgram(p), thp: 'always' };
}

/** The smallest program found that still `holds` (p itself must hold). */
export function shrinkProgram(
  p: HuntProgram,
  holds: (q: HuntProgram) => boolean,
  budget: ShrinkBudget,
): ShrinkResult {
  let cur = p;
  let runs = 0;
  let refused = 0;
  for (;;) {
    let better: HuntProgram | undefined;
    for (const q of candidates(cur)) {
      if (runs >= budget.maxRuns || Date.now() > budget.deadline)
        return { program: cur, runs, refused, cut: true };
      try {
        loadProgram(q, { name: 'shrink' });
      } catch (e) {
        if (!(e instanceof ScenarioError)) throw e;
        refused++;
        continue;
      }
      runs++;
      if (holds(q)) {
        better = q;
        break;
      }
    }
    if (!better) return { program: cur, runs, refused, cut: false };
    cur = better;
  }
}
