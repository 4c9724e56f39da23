// Where a hunt's jobs run beside this process: worker processes on this machine (the same kind of
// pool `vdm check --workers` uses: node's child_process.fork, so a worker that crashes cannot take
// the hunt with it) or `vdm worker` processes on other machines through the Redis queue.

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobRunner } from './hunt.js';
import type { HuntJob, HuntJobResult } from './jobs.js';

/** `workers` worker processes, each running one job at a time. */
export function processPool(workers: number): JobRunner {
  const entry = fileURLToPath(new URL('./worker.js', import.meta.url));
  const idle: ChildProcess[] = [];
  const all: ChildProcess[] = [];
  const waiting = new Map<number, { resolve: (r: HuntJobResult) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let closing = false;
  for (let i = 0; i < workers; i++) {
    const w = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    w.on('message', (m: { id: number; result?: HuntJobResult; error?: string }) => {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      idle.push(w);
      if (m.error !== undefined) p.reject(new Error(`a hunt worker failed: ${m.error}`));
      else p.resolve(m.result!);
    });
    w.on('exit', (code) => {
      if (closing) return;
      for (const [, p] of waiting) p.reject(new Error(`a hunt worker process exited (code ${code})`));
      waiting.clear();
    });
    all.push(w);
    idle.push(w);
  }
  return {
    capacity: workers,
    run(job: HuntJob): Promise<HuntJobResult> {
      const w = idle.pop();
      if (!w) return Promise.reject(new Error('no idle hunt worker (more jobs than capacity)'));
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.send({ id, job });
      });
    },
    async close(): Promise<void> {
      closing = true;
      for (const w of all) if (w.connected) w.disconnect();
    },
  };
}

/** Jobs as BullMQ jobs on the Redis queue at `url`, `capacity` at a time (`vdm worker` runs them). */
export function queuePool(url: string, capacity: number): JobRunner {
  // BullMQ and its Redis client load only when a queue is asked for.
  const q = import('../cli/queue.js').then((m) => m.huntQueue(url));
  return { capacity, run: async (job) => (await q).run(job), close: async () => (await q).close() };
}
