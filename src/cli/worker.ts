// A worker process of `vdm check --workers N` / `--swarm K`: it loads the scenario once, then runs
// what the main process sends, one task at a time — an exhaustive subtree, one seeded randomized
// exploration of a swarm, or one execution of a parallel dpor search — and sends back the result.

import { fileURLToPath } from 'node:url';
import { isMainThread, type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { designOf } from '../designs/design.js';
import { loadScenarioFile } from '../scenario/load.js';
import { scenarioProgram } from '../scenario/program.js';
import { usesCuts } from '../sched/dpor.js';
import { type DporJob, DporJobRunner } from '../sched/dpor-job.js';
import { CONTINUE_UP_TO } from '../sched/dpor-parallel.js';
import { explore } from '../sched/explore.js';
import { exploreSubtree, type Subtree } from '../sched/parallel.js';
import type { ExploreOptions, Program } from '../sched/program.js';

export interface WorkerSetup {
  file: string;
  design: { name: string; options: Record<string, unknown> };
  options: ExploreOptions;
}

export type WorkerTask =
  | { kind: 'subtree'; subtree: Subtree }
  | { kind: 'swarm'; seed: number }
  | { kind: 'dpor'; job: DporJob };

let runner: DporJobRunner<unknown> | undefined;

/** Runs one task on the loaded program and sends back what to merge. */
function runTask(
  program: Program<unknown>,
  setup: WorkerSetup,
  task: WorkerTask,
  send: (r: unknown) => void,
): void {
  if (task.kind === 'subtree') send(exploreSubtree(program, setup.options, task.subtree));
  else if (task.kind === 'dpor') {
    // Several results: the job's, then those of the executions the worker went on to by itself.
    runner ??= new DporJobRunner(program, setup.options, usesCuts(program, setup.options));
    runner.runAll(task.job, CONTINUE_UP_TO, send);
  } else send(explore(program, { ...setup.options, seed: task.seed, coverage: true }));
}

/** Serves { setup } then { task } messages. */
function serve(
  on: (f: (m: { setup?: WorkerSetup; task?: WorkerTask }) => void) => void,
  send: (r: unknown) => void,
): void {
  let setup: WorkerSetup | undefined;
  let program: Program<unknown> | undefined;
  on((m) => {
    if (m.setup) {
      setup = m.setup;
      program = load(setup);
    } else if (m.task && setup && program) runTask(program, setup, m.task, send);
  });
}

function load(setup: WorkerSetup): Program<unknown> {
  return scenarioProgram(loadScenarioFile(setup.file), {
    design: designOf(setup.design.name, setup.design.options),
  }) as Program<unknown>;
}

// As the entry of a forked worker process (runPool), or of a worker thread (dpor's pool).
if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  serve(
    (f) => process.on('message', f),
    (r) => process.send!(r),
  );
  process.on('disconnect', () => process.exit(0));
} else if (!isMainThread && parentPort && (workerData as { vdmWorker?: boolean } | null)?.vdmWorker) {
  // dpor's worker threads: results go to a port the coordinator reads synchronously, and a shared
  // counter wakes it when it waits (dporOnWorkers).
  const port = parentPort;
  let results: MessagePort | undefined;
  let signal: Int32Array | undefined;
  const send = (r: unknown): void => {
    results!.postMessage(r);
    Atomics.add(signal!, 0, 1);
    Atomics.notify(signal!, 0);
  };
  serve(
    (f) =>
      port.on(
        'message',
        (m: { setup?: WorkerSetup; task?: WorkerTask; results?: MessagePort; signal?: Int32Array }) => {
          if (m.results) {
            results = m.results;
            signal = m.signal;
          }
          try {
            f(m);
          } catch (e) {
            send({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
          }
        },
      ),
    send,
  );
}
