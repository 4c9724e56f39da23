// The counterexample's text panel in the playground: the one place that chooses what it shows.
// The race diagram (src/report/race-diagram.ts, formatRaceDiagram) is not on main yet; until it is,
// this returns the run's ftrace-style text trace (report/ftrace.ts, as `vdm trace --format ftrace`
// prints it), headed "trace" so the page does not call it a race diagram.

import { formatFtrace } from '../report/ftrace.js';
import type { RunRecord } from '../report/record.js';

export interface RaceDiagramText {
  /** The panel's heading. */
  heading: string;
  /** Plain text, shown in a <pre> as text (never as HTML). */
  text: string;
}

/** What the counterexample's text panel shows for `record`. */
export function raceDiagramText(record: RunRecord): RaceDiagramText {
  return { heading: 'Trace (ftrace format)', text: formatFtrace(record, { functions: false }) };
}
