// Text traces, one event per line in the style of ftrace: `thread [event] op: object = result  @site`.

import type { TraceEvent } from '../sched/program.js';

export function formatTrace(trace: readonly TraceEvent[]): string {
  const width = Math.max(6, ...trace.map((e) => e.thread.length));
  return trace
    .map((e, i) => {
      const result = e.result !== undefined ? ` = ${e.result}` : '';
      const site = e.site ? `  @ ${e.site}` : '';
      return `${e.thread.padStart(width)} [${String(i).padStart(3, '0')}] ${e.op}: ${e.object}${result}${site}`;
    })
    .join('\n');
}
