// Where a hunt's jobs run beside this process: worker processes on this machine (the same kind of
// pool `vdm check --workers` uses: node's child_process.fork, so a worker that crashes cannot take
// the hunt with it) or `vdm worker` processes on other machines through the Redis queue.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobRunner } from './hunt.js';
import type { HuntJob, HuntJobResult } from './jobs.js';

/**
 * `workers` worker processes, each running one job at a time. A worker that dies (killed, out of
 * memory) fails the job it had and is replaced, so a long hunt loses that program, not the hunt.
 */
export function processPool(workers: number): JobRunner & { pids(): number[] } {
  const entry = fileURLToPath(new URL('./worker.js', import.meta.url));
  const idle: ChildProcess[] = [];
  const all = new Set<ChildProcess>();
  /** The job each busy worker has. */
  const busy = new Map<ChildProcess, { resolve: (r: HuntJobResult) => void; reject: (e: Error) => void }>();
  let closing = false;
  const spawnWorker = (): void => {
    const w = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    w.on('message', (m: { result?: HuntJobResult; error?: string }) => {
      const p = busy.get(w);
      if (!p) return;
      busy.delete(w);
      idle.push(w);
      if (m.error !== undefined) p.reject(new Error(`a hunt worker failed: ${m.error}`));
      else p.resolve(m.result!);
    });
    w.on('exit', (code, signal) => {
      all.delete(w);
      const p = busy.get(w);
      busy.delete(w);
      const i = idle.indexOf(w);
      if (i >= 0) idle.splice(i, 1);
      if (closing) return;
      p?.reject(new Error(`a hunt worker process died (${signal ?? `exit code ${code}`}) running this job`));
      spawnWorker();
    });
    all.add(w);
    idle.push(w);
  };
  for (let i = 0; i < workers; i++) spawnWorker();
  return {
    capacity: workers,
    run(job: HuntJob): Promise<HuntJobResult> {
      const w = idle.pop();
      if (!w) return Promise.reject(new Error('no idle hunt worker (more jobs than capacity)'));
      return new Promise((resolve, reject) => {
        busy.set(w, { resolve, reject });
        w.send({ id: 0, job });
      });
    },
    async close(): Promise<void> {
      closing = true;
      for (const w of all) if (w.connected) w.disconnect();
    },
    /** The worker processes' ids (for a test that kills one). */
    pids: () => [...all].map((w) => w.pid!),
  };
}

/** Jobs as BullMQ jobs on the Redis queue at `url`, `capacity` at a time (`vdm worker` runs them). */
export function queuePool(url: string, capacity: number): JobRunner {
  // BullMQ and its Redis client load only when a queue is asked for.
  const q = import('../cli/queue.js').then((m) => m.huntQueue(url));
  return { capacity, run: async (job) => (await q).run(job), close: async () => (await q).close() };
}
