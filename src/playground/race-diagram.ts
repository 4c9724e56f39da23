// The counterexample's text panel in the playground: the one place that chooses what it shows.
// With a violation, the race diagram (report/race-diagram.ts, as `vdm report --format text` and
// `vdm check --report text` print it); a run without one has no race to draw, so the panel shows
// its ftrace-style trace instead (report/ftrace.ts, as `vdm replay` prints it without the function
// graph), headed as a trace.

import { formatFtrace } from '../report/ftrace.js';
import { formatRaceDiagram } from '../report/race-diagram.js';
import type { RunRecord } from '../report/record.js';

export interface RaceDiagramText {
  /** The panel's heading. */
  heading: string;
  /** Plain text, shown in a <pre> as text (never as HTML). */
  text: string;
}

/**
 * What the counterexample's text panel shows for `record`; `violation` is the one the check
 * reported first (the record's first one when absent).
 */
export function raceDiagramText(
  record: RunRecord,
  violation?: { id: string; message?: string },
): RaceDiagramText {
  if (record.violations.length > 0 || violation) {
    return { heading: 'Race diagram', text: formatRaceDiagram(record, violation ? { violation } : {}) };
  }
  return {
    heading: 'Trace (no violation: nothing to draw a race of)',
    text: formatFtrace(record, { functions: false }),
  };
}
