// The thread `vdm check` runs its search on (one worker, no --workers): singleSearch() with the
// command's flags, progress and the result posted back, and the "stop now" flag the main thread
// sets on SIGINT or SIGTERM read after each execution (src/cli/scenario-commands.ts, searchOnThread).

import { parentPort, workerData } from 'node:worker_threads';
import type { ExplorationCheckpoint } from '../sched/program.js';
import { type CheckFlags, type SearchThreadMessage, singleSearch, UsageError } from './search.js';

process.setSourceMapsEnabled(true);

const data = workerData as {
  file: string;
  flags: CheckFlags;
  stop: SharedArrayBuffer;
  /** The frontier the main thread handed over, and the time it had searched. */
  from?: ExplorationCheckpoint;
  elapsedBeforeMs: number;
};
const stop = new Int32Array(data.stop);
const post = (m: SearchThreadMessage): void => parentPort!.postMessage(m);
try {
  const out = singleSearch(data.file, data.flags, {
    onProgress: (progress) => post({ t: 'progress', progress }),
    interrupted: () => Atomics.load(stop, 0) !== 0,
    ...(data.from ? { from: data.from } : {}),
    elapsedBeforeMs: data.elapsedBeforeMs,
  });
  post({ t: 'done', ...out });
} catch (e) {
  const err = e as Error;
  post({
    t: 'error',
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    usage: e instanceof UsageError,
  });
}
