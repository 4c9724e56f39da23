// The playground's Web Worker: runs a request (src/playground/run.ts: parse, check, compare, replay,
// render) off the page's thread, posting progress lines and then the result; or checks the editor's
// text (the CLI's parser) and answers with its issues. The page runs one worker for the editor and
// one per run, and ends a run by terminating its worker.

import { lintScenario, type RunRequest, runPlayground } from '../src/playground/run.js';

export type WorkerRequest =
  | ({ kind: 'run' } & RunRequest)
  | { kind: 'lint'; id: number; text: string; file: string };

const post = (m: unknown) => (self as unknown as { postMessage(m: unknown): void }).postMessage(m);

self.addEventListener('message', (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  if (m.kind === 'lint') post({ kind: 'lint', id: m.id, issues: lintScenario(m.text, m.file) });
  else post(runPlayground(m, (line) => post({ kind: 'progress', line })));
});
