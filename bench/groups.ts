// Where a search's executions go (docs/performance.md, "where the open cells spend their
// executions"): the executions of a dpor search grouped by what each thread did and saw (its events
// in order, each with the value it returned), and, inside a group, which conflicting pairs of events
// two executions order differently. Executions of one group differ only in orders that changed
// nothing any thread read. The invariant may still tell them apart (it looks at the states in
// between), so executions per group is an upper bound on what a better reduction could save, not a
// promise. Prints figures; asserts nothing.
//
//   node dist/bench/groups.js SCENARIO.yaml DESIGN [EXECUTIONS]     (default 10,000)
//
// Each execution the search ends is replayed once more with a trace, for the values; so this runs
// at about half the search's speed.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { designOf } from '../src/designs/design.js';
import { stepKind, stepsConflict } from '../src/report/race-diagram.js';
import { checkExploreOptions } from '../src/scenario/check.js';
import { loadScenarioFile } from '../src/scenario/load.js';
import { scenarioProgram } from '../src/scenario/program.js';
import type { Dependence } from '../src/sched/dependence.js';
import { dpor } from '../src/sched/dpor.js';
import { Execution } from '../src/sched/execution.js';
import { Lockdep } from '../src/sched/lockdep.js';
import { isReadLike } from '../src/sched/op.js';
import { DEFAULT_MAX_STEPS, type TraceEvent } from '../src/sched/program.js';

/** An event as the grouping sees it: a trace event (its thread, operation, object, slots, result). */
export type GroupEvent = Pick<TraceEvent, 'thread' | 'op' | 'object' | 'slots' | 'result'>;

/**
 * An event as its thread saw it. A writer's arrival at a busy rw_semaphore shows as `queued` in
 * traces; that is when it waited, not a value it got, so it is left out.
 */
const eventText = (e: GroupEvent): string =>
  `${e.op} ${e.object}${e.slots ? `[${e.slots[0]},${e.slots[1]})` : ''}${e.result !== undefined && e.result !== 'queued' ? ` = ${e.result}` : ''}`;

/** What each thread did and saw, thread by thread: equal keys, one group. */
export function groupKey(trace: readonly GroupEvent[]): string {
  const perThread = new Map<string, string[]>();
  for (const e of trace) {
    let l = perThread.get(e.thread);
    if (!l) perThread.set(e.thread, (l = []));
    l.push(eventText(e));
  }
  return [...perThread.keys()]
    .sort()
    .map((t) => `${t}: ${perThread.get(t)!.join(' ; ')}`)
    .join('\n');
}

/**
 * The pairs of events of two executions of one group (same threads, same events per thread) that
 * they order differently, as "x < y" in a's order: pairs on one object that conflict (overlapping
 * slots, not both read-like); when there is none, pairs of write-like events on different objects,
 * marked so, which the search orders only when the invariant reads both objects together
 * (`ordered`, from the search's visibility scopes: when it is given, only those pairs). A writer's
 * arrival at a semaphore is left out there: the invariants read who holds it, not who waits.
 * Distinct texts, in a's order.
 */
export function reorderedPairs(
  a: readonly GroupEvent[],
  b: readonly GroupEvent[],
  ordered?: (objectA: string, objectB: string) => boolean,
): string[] {
  const id = (trace: readonly GroupEvent[]): string[] => {
    const seen = new Map<string, number>();
    return trace.map((e) => {
      const k = seen.get(e.thread) ?? 0;
      seen.set(e.thread, k + 1);
      return `${e.thread}#${k}`;
    });
  };
  const ia = id(a);
  const posB = new Map(id(b).map((x, i) => [x, i]));
  const pairs = (sameObject: boolean): string[] => {
    const out = new Set<string>();
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      for (let j = i + 1; j < a.length; j++) {
        const y = a[j]!;
        if (x.thread === y.thread) continue;
        if (sameObject) {
          if (!stepsConflict(x, y)) continue;
        } else if (
          x.object === y.object ||
          isReadLike(stepKind(x.op)) ||
          isReadLike(stepKind(y.op)) ||
          x.op === 'down_write' ||
          y.op === 'down_write' ||
          (ordered !== undefined && !ordered(x.object, y.object))
        )
          continue;
        const pi = posB.get(ia[i]!);
        const pj = posB.get(ia[j]!);
        if (pi === undefined || pj === undefined || pi < pj) continue;
        out.add(
          sameObject
            ? `${x.thread} ${x.op} < ${y.thread} ${y.op} ${x.object}`
            : `${x.thread} ${x.op} ${x.object} < ${y.thread} ${y.op} ${y.object} (different objects)`,
        );
      }
    }
    return [...out];
  };
  const same = pairs(true);
  return same.length > 0 ? same : pairs(false);
}

export interface GroupsReport {
  executions: number;
  complete: boolean;
  groups: number;
  /** Executions of the largest groups, largest first (at most 10). */
  largest: number[];
  /** How two executions of a group differ (reorderedPairs of the group's first and each later one, up to 5 per group), by count. */
  differences: [string, number][];
}

/** Runs the scenario's dpor search on `design` for up to `maxExecutions` and groups what it ran. */
export function groupExecutions(file: string, design: string, maxExecutions: number): GroupsReport {
  const sc = loadScenarioFile(file);
  const d = designOf(design);
  const options = checkExploreOptions(sc, { design: d, maxExecutions, stopAtFirst: false });
  const replayer = new Execution(scenarioProgram(sc, { design: d }), {
    clocks: false,
    lockdep: null,
    maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
    recordTrace: true,
  });
  const groups = new Map<string, { first: GroupEvent[]; n: number }>();
  // Object name -> visibility scope (-1: the invariant does not read it), as the search numbered them.
  const scopes = new Map<string, number>();
  // The search's dependence relation (one Execution serves the whole search).
  let dep: Dependence | undefined;
  const ordered = (x: string, y: string): boolean => {
    const sx = scopes.get(x) ?? -1;
    const sy = scopes.get(y) ?? -1;
    return sx >= 0 && sy >= 0 && dep?.related(sx, sy) === true;
  };
  const differences = new Map<string, number>();
  let executions = 0;
  const col = dpor(scenarioProgram(sc, { design: d }), options, new Lockdep(), (ex) => {
    executions++;
    dep = ex.dep;
    for (let id = 0; id < ex.objNames.length; id++) {
      const name = ex.objNames[id];
      if (name !== undefined) scopes.set(name, ex.dep.scopeOf(id));
    }
    replayer.begin();
    for (let i = 0; i < ex.len; i++) replayer.step(ex.evThread[i]!);
    const trace: GroupEvent[] = replayer.trace.map((e) => ({
      thread: e.thread,
      op: e.op,
      object: e.object,
      slots: e.slots,
      result: e.result,
    }));
    const key = groupKey(trace);
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: trace, n: 1 });
      return;
    }
    g.n++;
    if (g.n > 6) return;
    const diff = reorderedPairs(g.first, trace, ordered).slice(0, 6).join(' | ');
    differences.set(diff, (differences.get(diff) ?? 0) + 1);
  });
  const result = col.result();
  return {
    executions,
    complete: result.complete,
    groups: groups.size,
    largest: [...groups.values()]
      .map((g) => g.n)
      .sort((x, y) => y - x)
      .slice(0, 10),
    differences: [...differences].sort((x, y) => y[1] - x[1]),
  };
}

function main(argv: string[]): number {
  const [file, design, max] = argv;
  const maxExecutions = max === undefined ? 10_000 : Number(max);
  if (!file || !design || !Number.isInteger(maxExecutions) || maxExecutions < 1) {
    process.stderr.write('usage: node dist/bench/groups.js SCENARIO.yaml DESIGN [EXECUTIONS]\n');
    return 2;
  }
  let r: GroupsReport;
  try {
    r = groupExecutions(file, design, maxExecutions);
  } catch (e) {
    process.stderr.write(`groups: ${(e as Error).message}\n`);
    return 2;
  }
  const per = r.groups === 0 ? 0 : r.executions / r.groups;
  process.stdout.write(
    `${file} on ${design}: ${r.executions.toLocaleString('en-US')} executions (${r.complete ? 'the whole search' : 'stopped there'}), ` +
      `${r.groups.toLocaleString('en-US')} groups, ${per.toFixed(2)} executions per group; largest groups: ${r.largest.join(' ')}\n`,
  );
  if (r.differences.length > 0) {
    process.stdout.write('What two executions of one group order differently (count, pairs):\n');
    for (const [d, n] of r.differences.slice(0, 12))
      process.stdout.write(`${String(n).padStart(7)}  ${d === '' ? '(no conflicting pair)' : d}\n`);
  }
  return 0;
}

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url)))
  process.exitCode = main(process.argv.slice(2));
