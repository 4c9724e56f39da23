// The thread `vdm check` runs its search on (one worker, no --workers), and `vdm compare` its
// comparison: singleSearch() or compareScenario() with the command's flags, progress and the result posted back, and the "stop now" flag the main thread
// sets on SIGINT or SIGTERM read after each execution (src/cli/scenario-commands.ts, searchOnThread).

import { parentPort, workerData } from 'node:worker_threads';
import { compareScenario } from '../scenario/check.js';
import { loadScenarioFile } from '../scenario/load.js';
import type { ExplorationCheckpoint } from '../sched/program.js';
import {
  type CheckFlags,
  type SearchThreadMessage,
  searchOptions,
  singleSearch,
  UsageError,
} from './search.js';

process.setSourceMapsEnabled(true);

const data = workerData as {
  file: string;
  flags: CheckFlags;
  stop: SharedArrayBuffer;
  /** The frontier the main thread handed over, and the time it had searched. */
  from?: ExplorationCheckpoint;
  elapsedBeforeMs: number;
  /** Compare every design (`vdm compare`) instead of one search. */
  compare?: boolean;
};
const stop = new Int32Array(data.stop);
const post = (m: SearchThreadMessage): void => parentPort!.postMessage(m);
const interrupted = (): boolean => Atomics.load(stop, 0) !== 0;
try {
  if (data.compare) {
    const report = compareScenario(loadScenarioFile(data.file), {
      ...searchOptions(data.flags),
      onDesign: (label) => post({ t: 'phase', label }),
      onProgress: (progress) => post({ t: 'progress', progress }),
      interrupted,
    });
    post({ t: 'compared', report });
  } else {
    const out = singleSearch(data.file, data.flags, {
      onProgress: (progress) => post({ t: 'progress', progress }),
      interrupted,
      ...(data.from ? { from: data.from } : {}),
      elapsedBeforeMs: data.elapsedBeforeMs,
    });
    post({ t: 'done', ...out });
  }
} catch (e) {
  const err = e as Error;
  post({
    t: 'error',
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    usage: e instanceof UsageError,
  });
}
