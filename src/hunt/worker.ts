// A hunt worker process (`vdm hunt --workers N`): runs the jobs the hunt sends, one at a time, and
// sends back each result (or the error that stopped it). Its coverage counters are its own, read
// and reset per program, so each result carries only what its program reached.

import { fileURLToPath } from 'node:url';
import { type HuntJob, runHuntJob } from './jobs.js';

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.on('message', (m: { id: number; job: HuntJob }) => {
    try {
      process.send!({ id: m.id, result: runHuntJob(m.job) });
    } catch (e) {
      process.send!({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
