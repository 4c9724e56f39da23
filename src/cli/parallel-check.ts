// `vdm check --workers N`: the exhaustive search split into subtrees (src/sched/parallel.ts),
// explored on N worker threads that take the next subtree as they finish one (so a slow subtree
// does not hold the others up), and merged into the result one search would give.

import { Worker } from 'node:worker_threads';
import type { Design } from '../designs/design.js';
import { scenarioProgram } from '../scenario/program.js';
import type { Scenario } from '../scenario/resolve.js';
import { mergeSubtrees, type SubtreeResult, splitExhaustive } from '../sched/parallel.js';
import type { ExploreOptions, ExploreResult, Progress } from '../sched/program.js';
import type { WorkerSetup } from './worker.js';

/** Subtrees per worker: enough that an uneven split still keeps every worker busy. */
const SUBTREES_PER_WORKER = 8;

export async function checkOnWorkers(
  sc: Scenario,
  design: Design,
  options: ExploreOptions,
  workers: number,
  onProgress?: (p: Progress) => void,
): Promise<ExploreResult> {
  const program = scenarioProgram(sc, { design });
  const { onProgress: _drop, ...plain } = options;
  const opts: ExploreOptions = { ...plain, strategy: 'exhaustive' };
  const subtrees = splitExhaustive(program, opts, workers * SUBTREES_PER_WORKER);
  const results: SubtreeResult[] = new Array(subtrees.length);
  const setup: WorkerSetup = {
    file: sc.file,
    design: { name: design.name, options: { ...design.options } },
    options: opts,
  };
  const started = Date.now();
  let next = 0;
  let done = 0;
  let executions = 0;
  const pool = Array.from({ length: Math.min(workers, subtrees.length) }, () => {
    const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
    return new Promise<void>((resolve, reject) => {
      const feed = (): void => {
        if (next >= subtrees.length) {
          void w.terminate().then(() => resolve());
          return;
        }
        const i = next++;
        w.once('message', (r: SubtreeResult) => {
          results[i] = r;
          done++;
          executions += r.snapshot.counts.executions;
          onProgress?.({
            executions,
            events: 0,
            depth: done,
            violations: 0,
            elapsedMs: Date.now() - started,
          });
          feed();
        });
        w.postMessage(subtrees[i]);
      };
      w.once('error', reject);
      feed();
    });
  });
  await Promise.all(pool);
  return mergeSubtrees(program, opts, results);
}
