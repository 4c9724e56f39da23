// A worker thread of `vdm check --workers N` / `--swarm K`: it loads the scenario once, then runs
// what the main thread sends, one task at a time — an exhaustive subtree, or one seeded randomized
// exploration of a swarm — and sends back what to merge.

import { parentPort, workerData } from 'node:worker_threads';
import { designOf } from '../designs/design.js';
import { loadScenarioFile } from '../scenario/load.js';
import { scenarioProgram } from '../scenario/program.js';
import { explore } from '../sched/explore.js';
import { exploreSubtree, type Subtree } from '../sched/parallel.js';
import type { ExploreOptions } from '../sched/program.js';

export interface WorkerSetup {
  file: string;
  design: { name: string; options: Record<string, unknown> };
  options: ExploreOptions;
}

export type WorkerTask = { kind: 'subtree'; subtree: Subtree } | { kind: 'swarm'; seed: number };

const setup = workerData as WorkerSetup;
const program = scenarioProgram(loadScenarioFile(setup.file), {
  design: designOf(setup.design.name, setup.design.options),
});
parentPort!.on('message', (task: WorkerTask) => {
  if (task.kind === 'subtree') parentPort!.postMessage(exploreSubtree(program, setup.options, task.subtree));
  else parentPort!.postMessage(explore(program, { ...setup.options, seed: task.seed, coverage: true }));
});
