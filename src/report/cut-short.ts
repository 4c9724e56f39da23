// How many executions a bound cut short, in words: the CLI's status line, the HTML report and
// the playground say it the same way.

import type { Incompleteness } from '../sched/program.js';

/** `; 3 executions cut short` for a reason that counts them (maxSteps, searchBound), else ''. */
export function cutShortNote(i: Incompleteness): string {
  if (i.count === undefined) return '';
  return `; ${i.count} execution${i.count === 1 ? '' : 's'} cut short`;
}
