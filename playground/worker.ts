// The playground's Web Worker: runs a request (src/playground/run.ts: parse, check, compare, replay,
// render) off the page's thread, posting progress lines and then the result; or checks the editor's
// text (the CLI's parser) and answers with its issues. The page runs one worker for the editor and
// one per run, and ends a run by terminating its worker (which ends the workers it started).
//
// A comparison runs on several workers, as `vdm compare --workers N` does on threads: this worker
// checks the scenario and starts one worker per core (at most one per design), each exploring the
// next row of the comparison (`row` requests) until all are done; the rows go back in their order,
// so the matrix is the one a single worker draws.

import {
  compareRow,
  compareRowsToStart,
  lintScenario,
  type RunRequest,
  runPlayground,
  withCompareRows,
} from '../src/playground/run.js';
import type { CompareResult } from '../src/report/results.js';

export type WorkerRequest =
  | ({ kind: 'run' } & RunRequest)
  | { kind: 'lint'; id: number; text: string; file: string }
  | { kind: 'row'; text: string; file: string; row: number };

type RowMessage =
  | { kind: 'row'; row: number; result: CompareResult }
  | { kind: 'progress'; line: string }
  | { kind: 'error'; message: string };

const post = (m: unknown) => (self as unknown as { postMessage(m: unknown): void }).postMessage(m);
const cores = (): number =>
  (self as unknown as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;

self.addEventListener('message', (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  if (m.kind === 'lint') post({ kind: 'lint', id: m.id, issues: lintScenario(m.text, m.file) });
  else if (m.kind === 'row') {
    try {
      const result = compareRow(m.text, m.file, m.row, (line) => post({ kind: 'progress', line }));
      post({ kind: 'row', row: m.row, result } satisfies RowMessage);
    } catch (err) {
      post({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies RowMessage);
    }
  } else if (m.mode === 'compare' && cores() > 1 && typeof Worker !== 'undefined') comparePooled(m);
  else post(runPlayground(m, (line) => post({ kind: 'progress', line })));
});

/** A compare request: the check here, the comparison's rows on up to one worker per core. */
function comparePooled(req: RunRequest): void {
  const check = runPlayground({ ...req, mode: 'check' }, (line) => post({ kind: 'progress', line }));
  if (check.kind !== 'result') {
    post(check);
    return;
  }
  const { labels, order } = compareRowsToStart(req.text, req.file);
  const results: CompareResult[] = [];
  let next = 0;
  let done = 0;
  const pool: Worker[] = [];
  const end = (): void => {
    for (const w of pool) w.terminate();
  };
  const take = (w: Worker): void => {
    if (next >= order.length) return;
    const row = order[next++]!;
    post({ kind: 'progress', line: `${labels[row]}: starting (${done} of ${labels.length} designs done)` });
    w.postMessage({ kind: 'row', text: req.text, file: req.file, row } satisfies WorkerRequest);
  };
  const n = Math.max(1, Math.min(cores(), labels.length));
  for (let i = 0; i < n; i++) {
    const w = new Worker('worker.js');
    pool.push(w);
    w.addEventListener('message', (e: MessageEvent<RowMessage>) => {
      const r = e.data;
      if (r.kind === 'progress') post(r);
      else if (r.kind === 'error') {
        end();
        post({ kind: 'error', message: r.message });
      } else {
        results[r.row] = r.result;
        if (++done === labels.length) {
          end();
          post(withCompareRows(req, check, results));
        } else take(w);
      }
    });
    w.addEventListener('error', (e) => {
      end();
      post({ kind: 'error', message: `a compare worker failed: ${e.message}` });
    });
    take(w);
  }
}
