// Scenario errors are data: each names the file, line, column and field,
// and may carry the nearest valid spelling. They are formatted only at the edge (CLI, report).

import { closest, distance } from 'fastest-levenshtein';

export interface ScenarioIssue {
  file: string;
  /** 1-based; 0 when the problem is the file itself (unreadable, too large). */
  line: number;
  column: number;
  /** The field's path, `threads.vmm[2].load.offset` (empty for the whole file). */
  field: string;
  message: string;
  /** The nearest valid key or value, when the input looks like a misspelling of one. */
  suggestion?: string;
}

export class ScenarioError extends Error {
  constructor(readonly issues: ScenarioIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ScenarioError';
  }
}

/** `file:line:column: field: message (did you mean `x`?)`, as compilers print. */
export function formatIssue(i: ScenarioIssue): string {
  const at = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  const field = i.field ? `${i.field}: ` : '';
  const hint = i.suggestion !== undefined ? ` — did you mean \`${i.suggestion}\`?` : '';
  return `${at}: ${field}${i.message}${hint}`;
}

/** The candidate nearest to `input` if it is near enough to be a misspelling of it. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  // Suggestions are for typos among a scenario's own names; thousands of candidates make a hostile
  // file slow to reject (each suggestion is a distance to every candidate), so none are offered.
  if (candidates.length === 0 || candidates.length > 500 || input.length === 0) return undefined;
  const lower = candidates.find((c) => c.toLowerCase() === input.toLowerCase());
  if (lower) return lower;
  // A unique completion (`D3` -> `D3hot`) beats the nearest by edits (`D0`).
  const completions = candidates.filter((c) => c.toLowerCase().startsWith(input.toLowerCase()));
  if (input.length >= 2 && completions.length === 1) return completions[0];
  const best = closest(input, candidates as string[]);
  const d = distance(input, best);
  return d <= Math.max(1, Math.floor(Math.max(input.length, best.length) / 3)) ? best : undefined;
}
