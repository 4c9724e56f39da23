// A worker thread of `vdm check --workers N`: it loads the scenario once, then explores the
// subtrees the main thread sends, one at a time, and sends back what to merge.

import { parentPort, workerData } from 'node:worker_threads';
import { designOf } from '../designs/design.js';
import { loadScenarioFile } from '../scenario/load.js';
import { scenarioProgram } from '../scenario/program.js';
import { exploreSubtree, type Subtree } from '../sched/parallel.js';
import type { ExploreOptions } from '../sched/program.js';

export interface WorkerSetup {
  file: string;
  design: { name: string; options: Record<string, unknown> };
  options: ExploreOptions;
}

const setup = workerData as WorkerSetup;
const program = scenarioProgram(loadScenarioFile(setup.file), {
  design: designOf(setup.design.name, setup.design.options),
});
parentPort!.on('message', (subtree: Subtree) => {
  parentPort!.postMessage(exploreSubtree(program, setup.options, subtree));
});
