// Test oracle: runs every interleaving of a program and counts its Mazurkiewicz traces, by
// fingerprinting each execution's dependency graph (per object, and per slot of an object with
// slots: the order of its write-like events and the set of read-like events between them, each
// event named by thread and position). Two events conflict exactly when they share a slot, so
// these sequences fix the order of every conflicting pair.

import { Execution } from '../../../src/sched/execution.js';
import type { Program } from '../../../src/sched/index.js';
import { Lockdep } from '../../../src/sched/lockdep.js';
import { ALL_HI, isReadLike } from '../../../src/sched/op.js';

export interface Census {
  interleavings: number;
  traces: number;
  /** Final-state descriptions (from `describe`) of executions where every thread returned. */
  finals: Set<string>;
  fingerprints: Set<string>;
  deadlocks: number;
}

/** Returns null when the program has more than `limit` interleavings. */
export function census<S>(
  program: Program<S>,
  describe: (s: S) => string = () => '',
  limit = 1e6,
): Census | null {
  const ex = new Execution(program, { clocks: false, lockdep: new Lockdep(), maxSteps: 100000 });
  const stack: { threads: number[]; next: number }[] = [];
  const fps = new Set<string>();
  const finals = new Set<string>();
  let interleavings = 0;
  let deadlocks = 0;
  for (;;) {
    ex.begin();
    for (const c of stack) ex.step(c.threads[c.next]!);
    for (;;) {
      const threads: number[] = [];
      for (let t = 0; t < ex.n; t++) if (ex.enabled(t)) threads.push(t);
      if (threads.length === 0) break;
      stack.push({ threads, next: 0 });
      ex.step(threads[0]!);
    }
    interleavings++;
    if (interleavings > limit) return null;
    if (ex.anyUnfinished()) deadlocks++;
    else finals.add(describe(ex.state));
    fps.add(fingerprint(ex));
    while (stack.length > 0 && stack[stack.length - 1]!.next + 1 >= stack[stack.length - 1]!.threads.length)
      stack.pop();
    if (stack.length === 0) break;
    stack[stack.length - 1]!.next++;
  }
  return { interleavings, traces: fps.size, finals, deadlocks, fingerprints: fps };
}

export function fingerprint<S>(ex: Execution<S>): string {
  const perObj = new Map<string, string[]>();
  const reads = new Map<string, string[]>();
  // An event on a whole object with slots (an rw_semaphore's down_read, say) touches every slot
  // the execution names on it.
  const top = new Map<number, number>();
  for (let i = 0; i < ex.len; i++) {
    const hi = ex.evHi[i]!;
    if (hi !== ALL_HI) top.set(ex.evObj[i]!, Math.max(top.get(ex.evObj[i]!) ?? 1, hi));
  }
  for (let i = 0; i < ex.len; i++) {
    const o = ex.evObj[i]!;
    const name = `${ex.evThread[i]}.${ex.evSeq[i]}`;
    const hi = ex.evHi[i] === ALL_HI ? (top.get(o) ?? 1) : ex.evHi[i]!;
    const slots = ex.hasSlots(o) ? range(ex.evLo[i]!, hi) : [0];
    for (const slot of slots) {
      const key = `${o}.${slot}`;
      if (!perObj.has(key)) perObj.set(key, []);
      if (!reads.has(key)) reads.set(key, []);
      if (isReadLike(ex.evKind[i]!)) reads.get(key)!.push(name);
      else {
        const rs = reads.get(key)!;
        if (rs.length > 0) perObj.get(key)!.push(`{${rs.sort().join(',')}}`);
        reads.set(key, []);
        perObj.get(key)!.push(name);
      }
    }
  }
  for (const [o, rs] of reads) if (rs.length > 0) perObj.get(o)!.push(`{${rs.sort().join(',')}}`);
  return [...perObj.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([o, seq]) => `${o}:${seq.join(' ')}`)
    .join('|');
}

function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let k = lo; k < hi; k++) out.push(k);
  return out;
}
