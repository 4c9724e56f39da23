// Spreading a check over machines: the same tasks as `--workers` (exhaustive subtrees, or the runs
// of a swarm) as BullMQ jobs on Redis. `vdm worker --queue redis://HOST:PORT` on each machine takes
// jobs; `vdm check FILE --queue redis://HOST:PORT` adds them and gathers the results. A job carries
// the scenario's text, so workers need no shared files.

import { createHash } from 'node:crypto';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { type Design, designOf } from '../designs/design.js';
import { type HuntJob, type HuntJobResult, runHuntJob } from '../hunt/jobs.js';
import { parseScenario } from '../scenario/load.js';
import { scenarioProgram, type World } from '../scenario/program.js';
import type { Scenario } from '../scenario/resolve.js';
import { explore } from '../sched/explore.js';
import { exploreSubtree } from '../sched/parallel.js';
import type { ExploreOptions, Program } from '../sched/program.js';
import type { WorkerTask } from './worker.js';

const QUEUE = 'vdm-explore';

export interface QueueJob {
  /** The scenario file's text and name (for messages). */
  source: string;
  file: string;
  design: { name: string; options: Record<string, unknown> };
  options: ExploreOptions;
  task: WorkerTask;
}

/** A job of `vdm hunt --queue`: a generated program to evaluate, or one to shrink (its text inside). */
export interface QueueHuntJob {
  hunt: HuntJob;
}

/**
 * `vdm hunt --queue URL`: jobs go on the same queue as a check's, one at a time per call; the
 * connection is opened on the first and kept until close().
 */
export function huntQueue(url: string): {
  run(job: HuntJob): Promise<HuntJobResult>;
  close(): Promise<void>;
} {
  const connection = redisConnection(url);
  let open: { queue: Queue; events: QueueEvents } | undefined;
  let n = 0;
  const ready = async () => {
    if (!open) {
      open = { queue: new Queue(QUEUE, { connection }), events: new QueueEvents(QUEUE, { connection }) };
      open.queue.setMaxListeners(0);
      open.events.setMaxListeners(0);
      await open.events.waitUntilReady();
    }
    return open;
  };
  return {
    async run(job) {
      const { queue, events } = await ready();
      const j = await queue.add(`hunt #${++n}`, { hunt: job } satisfies QueueHuntJob, {
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 86400 },
      });
      return (await j.waitUntilFinished(events)) as HuntJobResult;
    },
    async close() {
      if (!open) return;
      await open.queue.close();
      await open.events.close();
    },
  };
}

/** BullMQ's connection options for a `redis://HOST:PORT` address. */
export function redisConnection(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${url}: expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' || !u.hostname) throw new Error(`--queue ${url}: expected redis://HOST:PORT`);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}

/** Adds one job per task and resolves with their results, in task order. */
export async function runOnQueue<R>(
  url: string,
  sc: Scenario,
  design: Design,
  options: ExploreOptions,
  tasks: WorkerTask[],
  onResult?: (r: R, done: number, index: number) => void,
): Promise<R[]> {
  const connection = redisConnection(url);
  const queue = new Queue(QUEUE, { connection });
  const events = new QueueEvents(QUEUE, { connection });
  // Each job waited for adds a listener: as many as there are tasks is expected, not a leak.
  queue.setMaxListeners(tasks.length + 16);
  events.setMaxListeners(tasks.length + 16);
  try {
    await events.waitUntilReady();
    const { onProgress: _drop, checkpoint: _c, ...plain } = options;
    const jobs = await queue.addBulk(
      tasks.map((task, i) => ({
        name: `${sc.name} #${i}`,
        data: {
          source: sc.source,
          file: sc.file,
          design: { name: design.name, options: { ...design.options } },
          options: plain,
          task,
        } satisfies QueueJob,
        opts: { removeOnComplete: { age: 3600 }, removeOnFail: { age: 86400 } },
      })),
    );
    let done = 0;
    return await Promise.all(
      jobs.map(async (j, i) => {
        const r = (await j.waitUntilFinished(events)) as R;
        onResult?.(r, ++done, i);
        return r;
      }),
    );
  } finally {
    await queue.close();
    await events.close();
  }
}

/** `vdm worker`: takes jobs until stopped; resolves when closed. */
export function startQueueWorker(url: string, concurrency: number): { close(): Promise<void> } {
  const programs = new Map<string, Program<World>>();
  const programOf = (job: QueueJob): Program<World> => {
    const key = createHash('sha256')
      .update(JSON.stringify([job.source, job.design]))
      .digest('hex');
    let p = programs.get(key);
    if (!p) {
      const sc = parseScenario(job.source, job.file);
      p = scenarioProgram(sc, { design: designOf(job.design.name, job.design.options) });
      programs.set(key, p);
    }
    return p;
  };
  const worker = new Worker(
    QUEUE,
    async (job) => {
      if ('hunt' in (job.data as object)) return runHuntJob((job.data as QueueHuntJob).hunt);
      const data = job.data as QueueJob;
      const program = programOf(data);
      if (data.task.kind === 'subtree') return exploreSubtree(program, data.options, data.task.subtree);
      if (data.task.kind === 'dpor') throw new Error('dpor executions do not go over the queue');
      return explore(program, { ...data.options, seed: data.task.seed, coverage: true });
    },
    { connection: redisConnection(url), concurrency },
  );
  return { close: () => worker.close() };
}
