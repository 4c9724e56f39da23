// A hunt worker process (`vdm hunt --workers N`): runs the jobs the hunt sends, one at a time, and
// sends back each result (or the error that stopped it). Its coverage counters are its own, read
// and reset per program, so each result carries only what its program reached.

import { fileURLToPath } from 'node:url';
import { type HuntJob, runHuntJob } from './jobs.js';

if (process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  const reply = (m: unknown): void => {
    if (process.connected) process.send!(m); // the hunt may have ended (Ctrl-C) while this ran
  };
  process.on('message', (m: { id: number; job: HuntJob }) => {
    try {
      reply({ id: m.id, result: runHuntJob(m.job) });
    } catch (e) {
      reply({ id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
