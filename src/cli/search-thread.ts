// The thread `vdm check` runs its search on (one worker, no --workers), and `vdm compare` its
// comparison: singleSearch() or compareScenario() with the command's flags, progress and the result posted back, and the "stop now" flag the main thread
// sets on SIGINT or SIGTERM read after each execution (src/cli/scenario-commands.ts, searchOnThread).
// With `rows`, one of `vdm compare --workers N`'s threads: it explores the rows of the comparison
// it is sent ({ row }), one at a time, posting each row's result, until it is sent { end: true }.

import { parentPort, workerData } from 'node:worker_threads';
import { compareDesign, compareRuns, compareScenario } from '../scenario/check.js';
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
  /** Explore the comparison's rows the main thread sends (`vdm compare --workers N`). */
  rows?: boolean;
};
const stop = new Int32Array(data.stop);
const post = (m: SearchThreadMessage): void => parentPort!.postMessage(m);
const interrupted = (): boolean => Atomics.load(stop, 0) !== 0;
const fail = (e: unknown): void => {
  const err = e as Error;
  post({
    t: 'error',
    message: err.message,
    ...(err.stack ? { stack: err.stack } : {}),
    usage: e instanceof UsageError,
  });
};
if (data.rows) {
  // The main thread loaded the file already: it does not change under a comparison.
  const sc = loadScenarioFile(data.file);
  const runs = compareRuns(sc);
  const options = searchOptions(data.flags);
  parentPort!.on('message', (m: { row?: number; end?: boolean }) => {
    if (m.end || m.row === undefined) {
      parentPort!.close();
      return;
    }
    const row = m.row;
    try {
      const result = compareDesign(sc, runs[row]!, {
        ...options,
        onProgress: (progress) => post({ t: 'progress', progress, row }),
        interrupted,
      });
      post({ t: 'row', row, result });
    } catch (e) {
      fail(e);
    }
  });
} else
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
    fail(e);
  }
