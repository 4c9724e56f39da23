// A worker process of `vdm check --workers N` / `--swarm K`: it loads the scenario once, then runs
// what the main thread sends, one task at a time — an exhaustive subtree, or one seeded randomized
// exploration of a swarm — and sends back what to merge.

import { fileURLToPath } from 'node:url';
import { designOf } from '../designs/design.js';
import { loadScenarioFile } from '../scenario/load.js';
import { scenarioProgram } from '../scenario/program.js';
import { explore } from '../sched/explore.js';
import { exploreSubtree, type Subtree } from '../sched/parallel.js';
import type { ExploreOptions, Program } from '../sched/program.js';

export interface WorkerSetup {
  file: string;
  design: { name: string; options: Record<string, unknown> };
  options: ExploreOptions;
}

export type WorkerTask = { kind: 'subtree'; subtree: Subtree } | { kind: 'swarm'; seed: number };

/** Runs one task on the loaded program and returns what to merge. */
function runTask(program: Program<unknown>, setup: WorkerSetup, task: WorkerTask): unknown {
  if (task.kind === 'subtree') return exploreSubtree(program, setup.options, task.subtree);
  return explore(program, { ...setup.options, seed: task.seed, coverage: true });
}

function load(setup: WorkerSetup): Program<unknown> {
  return scenarioProgram(loadScenarioFile(setup.file), {
    design: designOf(setup.design.name, setup.design.options),
  }) as Program<unknown>;
}

// Only as the entry of a forked worker process (runPool): { setup } first, then { task } messages.
if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  let setup: WorkerSetup | undefined;
  let program: Program<unknown> | undefined;
  process.on('message', (m: { setup?: WorkerSetup; task?: WorkerTask }) => {
    if (m.setup) {
      setup = m.setup;
      program = load(setup);
    } else if (m.task && setup && program) process.send!(runTask(program, setup, m.task));
  });
  process.on('disconnect', () => process.exit(0));
}
