// `vdm check --workers N`: the search on N worker processes, with the result one search gives.
// dpor (the default): the coordinator here commits executions in the sequential order while the
// workers run them ahead (src/sched/dpor-parallel.ts). exhaustive: the tree split into subtrees
// (src/sched/parallel.ts) that the workers take as they finish one (so a slow subtree does not
// hold the others up), merged at the end. The same subtrees go to `vdm worker` processes over a
// Redis queue with --queue.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Design } from '../designs/design.js';
import { scenarioProgram } from '../scenario/program.js';
import type { Scenario } from '../scenario/resolve.js';
import { violationKey } from '../sched/collector.js';
import { type DporJob, type DporJobResult, DporJobRunner } from '../sched/dpor-job.js';
import { CONTINUE_UP_TO, ParallelDpor } from '../sched/dpor-parallel.js';
import { completeExploration } from '../sched/explore.js';
import { Lockdep } from '../sched/lockdep.js';
import { mergeSubtrees, type Subtree, type SubtreeResult, splitExhaustive } from '../sched/parallel.js';
import type { ExploreOptions, ExploreResult, Incompleteness, Progress } from '../sched/program.js';
import { runOnQueue } from './queue.js';
import type { WorkerSetup, WorkerTask } from './worker.js';

/** Subtrees per worker: enough that an uneven split still keeps every worker busy. */
const SUBTREES_PER_WORKER = 8;

/**
 * Runs `tasks` on up to `workers` worker processes (node's child_process.fork of worker.js), each
 * taking the next task as it finishes one; the results come back in task order. Processes rather
 * than worker_threads: on this project's 2-core machine the same work split in two ran in 6.5 s as
 * two processes and 6.7-7.0 s as two threads of one process (docs/performance.md), and a worker
 * that crashes cannot take the coordinator with it.
 */
async function runPool<R>(
  setup: WorkerSetup,
  tasks: WorkerTask[],
  workers: number,
  onResult?: (r: R, done: number, index: number) => void,
): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  let next = 0;
  let done = 0;
  const children: ChildProcess[] = [];
  const pool = Array.from({ length: Math.min(workers, tasks.length) }, () => {
    const w = forkWorker();
    children.push(w);
    return new Promise<void>((resolve, reject) => {
      let finished = false;
      const feed = (): void => {
        if (next >= tasks.length) {
          finished = true;
          w.disconnect();
          resolve();
          return;
        }
        const i = next++;
        w.once('message', (r: R) => {
          results[i] = r;
          onResult?.(r, ++done, i);
          feed();
        });
        w.send({ task: tasks[i] });
      };
      w.once('error', reject);
      w.once('exit', (code) => {
        if (!finished) reject(new Error(`a worker process exited (code ${code}) before its work was done`));
      });
      w.send({ setup });
      feed();
    });
  });
  try {
    await Promise.all(pool);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill();
  }
  return results;
}

function forkWorker(): ChildProcess {
  const entry = fileURLToPath(new URL('./worker.js', import.meta.url));
  return fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

/** Jobs sent ahead to each worker thread, so that it does not wait for the coordinator. */
const DPOR_PIPELINE = 2;
/** How long the coordinator blocks waiting for a result before it lets thread events through. */
const WAIT_MS = 20;

/**
 * dpor on `workers` executors: this thread, which is also the coordinator, and workers - 1 worker
 * threads. An execution takes a fraction of a millisecond, about what a message takes to cross
 * threads and be answered, so the coordinator does not wait on its event loop: it runs executions
 * itself (their results are committed without a crossing) and between them collects the worker
 * threads' results synchronously (receiveMessageOnPort). When it has nothing nearer to run it runs
 * the execution the commit waits for as well (ParallelDpor.hedge), and blocks on a shared counter
 * the workers bump (Atomics.wait) only when even that is out. Each worker keeps DPOR_PIPELINE jobs
 * queued.
 */
export async function dporOnWorkers(
  sc: Scenario,
  design: Design,
  options: ExploreOptions,
  workers: number,
  onStats?: (s: ParallelDporStats) => void,
): Promise<ExploreResult> {
  const program = scenarioProgram(sc, { design });
  // Workers need the search's bounds only: progress, checkpoints and the resumed frontier stay here.
  const { onProgress: _p, checkpoint: _c, resume: _r, ...plain } = options;
  const lockdep = new Lockdep();
  const coord = new ParallelDpor(program, options, lockdep, workers);
  const own = new DporJobRunner(program, options, coord.cuts);
  const setup: WorkerSetup = {
    file: sc.file,
    design: { name: design.name, options: { ...design.options } },
    options: plain,
  };
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const threads: { worker: Worker; results: MessagePort; queued: number; failed?: unknown }[] = [];
  for (let w = 1; w < workers; w++) {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { vdmWorker: true } });
    const t = { worker, results: port1, queued: 0 } as (typeof threads)[number];
    worker.once('error', (e) => {
      t.failed = e;
    });
    worker.once('exit', (code) => {
      t.failed ??= new Error(`a worker thread exited (code ${code}) before the search was done`);
    });
    worker.postMessage({ setup, results: port2, signal }, [port2]);
    threads.push(t);
  }
  const mine: DporJob[] = [];
  /** Collects the worker threads' results and tops up their queues. */
  const service = (): void => {
    for (const t of threads) {
      for (let m = receiveMessageOnPort(t.results); m; m = receiveMessageOnPort(t.results)) {
        const r = m.message as DporJobResult | { error: string };
        if ('error' in r) throw new Error(r.error);
        if (!r.cont) t.queued--;
        coord.accept(r);
      }
      if (t.failed && !coord.done) throw t.failed;
    }
    if (coord.done) return;
    // The nearest execution for this thread (it runs without a crossing), then fill the queues.
    if (mine.length === 0) mine.push(...coord.jobsFor(0, 1));
    for (let w = 0; w < threads.length; w++) {
      const t = threads[w]!;
      for (const job of coord.jobsFor(w + 1, DPOR_PIPELINE - t.queued)) {
        t.queued++;
        t.worker.postMessage({ task: { kind: 'dpor', job } satisfies WorkerTask });
      }
    }
  };
  let sent: DporJobResult | undefined;
  try {
    for (;;) {
      // Read before collecting: a result sent after this wakes the wait below at once.
      const seen = Atomics.load(signal, 0);
      service();
      if (coord.done) break;
      // Nothing nearer to do: run the execution the commit waits for too, rather than wait for it.
      const job = mine.shift() ?? coord.hedge(0) ?? undefined;
      if (job) {
        // This thread goes on with its own next execution only while it is the one the commit
        // waits for; between executions it keeps serving the worker threads.
        own.runAll(
          job,
          CONTINUE_UP_TO,
          (r) => {
            sent = r;
            coord.accept(r);
          },
          () => {
            const r = sent!;
            if (coord.lastCommitted === r.id && !coord.done) {
              service();
              return true;
            }
            coord.withdraw(r);
            return false;
          },
        );
        continue;
      }
      if (threads.every((t) => t.queued === 0))
        throw new Error(`parallel dpor: nothing to run and the search is not done (${coord.describe()})`);
      // Nothing to run here: wait for a result, letting thread events (errors, exits) through now and then.
      if (Atomics.wait(signal, 0, seen, WAIT_MS) === 'timed-out') await new Promise((r) => setImmediate(r));
    }
  } finally {
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
  onStats?.({
    executors: workers,
    ahead: coord.speculated,
    unused: coord.received - coord.committed,
    rerun: coord.rerun,
  });
  return completeExploration(program, options, coord.col, lockdep);
}

/** How a parallel dpor search went (the text report prints it). */
export interface ParallelDporStats {
  executors: number;
  /** Executions whose result was in before their turn came. */
  ahead: number;
  /** Executions run but not used: the second copy of one run twice, or past the end. */
  unused: number;
  /** Executions run again because their inputs had changed by their turn. */
  rerun: number;
}

/** The line the text report adds for a parallel dpor search. */
export function parallelDporText(s: ParallelDporStats): string {
  return `dpor on ${s.executors} threads: ${s.ahead.toLocaleString('en-US')} executions ran ahead of their turn, ${s.unused.toLocaleString('en-US')} were run but not used${s.rerun > 0 ? `, ${s.rerun} ran again` : ''}`;
}

/** Where tasks run: N local worker processes, or the jobs of a Redis queue (`vdm worker` processes). */
export type Runners = { workers: number } | { queue: string; subtrees: number };

function run<R>(
  runners: Runners,
  sc: Scenario,
  setup: WorkerSetup,
  design: Design,
  tasks: WorkerTask[],
  onResult: (r: R, done: number, index: number) => void,
): Promise<R[]> {
  return 'queue' in runners
    ? runOnQueue<R>(runners.queue, sc, design, setup.options, tasks, onResult)
    : runPool<R>(setup, tasks, runners.workers, onResult);
}

/**
 * A split exhaustive search's frontier: its subtrees and the results of those done (a subtree
 * being explored when the run stopped is explored again from its start on resume; the merge does
 * not depend on the order subtrees finish in, so the result is the uninterrupted one).
 */
export interface SplitCheckpoint {
  version: 1;
  strategy: 'exhaustive';
  split: { subtrees: Subtree[]; results: (SubtreeResult | null)[] };
}

/** Saving and resuming a split search (`vdm check --workers N --strategy exhaustive --checkpoint`). */
export interface SplitDurability {
  checkpoint?: { everyExecutions?: number; everyMs?: number; save(c: SplitCheckpoint): void };
  resume?: SplitCheckpoint;
}

export async function checkOnWorkers(
  sc: Scenario,
  design: Design,
  options: ExploreOptions,
  runners: Runners,
  onProgress?: (p: Progress) => void,
  durable: SplitDurability = {},
): Promise<ExploreResult> {
  const program = scenarioProgram(sc, { design });
  const { onProgress: _drop, checkpoint: _c, resume: _r, ...plain } = options;
  const opts: ExploreOptions = { ...plain, strategy: 'exhaustive' };
  const target = 'queue' in runners ? runners.subtrees : runners.workers * SUBTREES_PER_WORKER;
  const subtrees = durable.resume?.split.subtrees ?? splitExhaustive(program, opts, target);
  const results: (SubtreeResult | null)[] = durable.resume?.split.results ?? subtrees.map(() => null);
  const pending = subtrees.flatMap((_, i) => (results[i] === null ? [i] : []));
  const setup: WorkerSetup = {
    file: sc.file,
    design: { name: design.name, options: { ...design.options } },
    options: opts,
  };
  const started = Date.now();
  let executions = 0;
  for (const r of results) if (r) executions += r.snapshot.counts.executions;
  const ck = durable.checkpoint;
  let lastSaved = Date.now();
  let savedAt = executions;
  await run<SubtreeResult>(
    runners,
    sc,
    setup,
    design,
    pending.map((i) => ({ kind: 'subtree', subtree: subtrees[i]! })),
    (r, done, k) => {
      results[pending[k]!] = r;
      executions += r.snapshot.counts.executions;
      onProgress?.({ executions, events: 0, depth: done, violations: 0, elapsedMs: Date.now() - started });
      if (
        ck &&
        ((ck.everyExecutions !== undefined && executions - savedAt >= ck.everyExecutions) ||
          (ck.everyMs !== undefined && Date.now() - lastSaved >= ck.everyMs))
      ) {
        ck.save({ version: 1, strategy: 'exhaustive', split: { subtrees, results } });
        lastSaved = Date.now();
        savedAt = executions;
      }
    },
  );
  return mergeSubtrees(program, opts, results as SubtreeResult[]);
}

/**
 * A swarm: `runs` randomized explorations (the options' strategy, random by default; seeds
 * seed, seed+1, ...) spread over worker processes, merged: executions added up, each violation once
 * with its fewest-preemption counterexample, and the distinct executions seen across all runs.
 */
export async function swarmOnWorkers(
  sc: Scenario,
  design: Design,
  options: ExploreOptions,
  runs: number,
  runners: Runners,
  onProgress?: (p: Progress) => void,
): Promise<ExploreResult> {
  const { onProgress: _drop, ...plain } = options;
  const strategy = plain.strategy === 'pct' ? 'pct' : 'random';
  const first = plain.seed ?? 1;
  const setup: WorkerSetup = {
    file: sc.file,
    design: { name: design.name, options: { ...design.options } },
    options: { ...plain, strategy },
  };
  const started = Date.now();
  let executions = 0;
  const results = await run<ExploreResult>(
    runners,
    sc,
    setup,
    design,
    Array.from({ length: runs }, (_, i) => ({ kind: 'swarm', seed: first + i })),
    (r, done) => {
      executions += r.executions;
      onProgress?.({ executions, events: 0, depth: done, violations: 0, elapsedMs: Date.now() - started });
    },
  );
  return mergeSwarm(strategy, results);
}

/** The union of a swarm's results (independent of the order the runs finished in). */
export function mergeSwarm(strategy: ExploreResult['strategy'], results: ExploreResult[]): ExploreResult {
  const found = new Map<string, ExploreResult['violations'][number]>();
  const seen = new Set<string>();
  const out: ExploreResult = {
    executions: 0,
    blocked: 0,
    deadlocks: 0,
    complete: false,
    incomplete: [
      { reason: 'sampling', detail: `a swarm of ${results.length} ${strategy} runs samples executions` },
    ],
    violations: [],
    events: 0,
    maxDepth: 0,
    strategy,
  };
  for (const r of results) {
    out.executions += r.executions;
    out.blocked += r.blocked;
    out.deadlocks += r.deadlocks;
    out.events += r.events;
    out.maxDepth = Math.max(out.maxDepth, r.maxDepth);
    for (const f of r.coverage?.fingerprints ?? []) seen.add(f);
    for (const v of r.violations) {
      const key = violationKey(v.kind, v.id, v.message);
      const old = found.get(key);
      const count = (old?.count ?? 0) + (v.count ?? 1);
      const pv = v.preemptions ?? 0;
      const po = old?.preemptions ?? 0;
      if (!old || pv < po || (pv === po && v.schedule.length < old.schedule.length))
        found.set(key, { ...v, count });
      else old.count = count;
    }
  }
  out.violations = [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  out.coverage = { distinct: seen.size, fingerprints: [...seen] };
  // What else cut the runs (a step limit, a model bound): counts added up, the first run's replay.
  const cuts = new Map<string, Incompleteness>();
  for (const r of results)
    for (const i of r.incomplete ?? []) {
      if (i.reason !== 'maxSteps' && i.reason !== 'searchBound') continue;
      const old = cuts.get(i.reason);
      if (!old) cuts.set(i.reason, { ...i });
      else if (i.count !== undefined) old.count = (old.count ?? 0) + i.count;
    }
  out.incomplete!.push(...cuts.values());
  return out;
}
