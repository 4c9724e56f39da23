// What the playground's Web Worker does with a request: the scenario parsed by the CLI's own
// parser (scenario/parse.ts), checked on the chosen design (and compared across every design), the
// first counterexample replayed, and the results rendered by the HTML report's own functions
// (report/html.ts) into strings the page inserts. Everything here is pure: no DOM, no node: module,
// so the worker bundles it and the tests run it under Node.

import { DESIGN_NAMES, type DesignName, type DesignOptions, designOf } from '../designs/design.js';
import { renderCounterexampleSection, renderMatrix, renderMemoryMapSection } from '../report/html.js';
import type { CheckReport, CompareReport, CompareResult } from '../report/results.js';
import {
  checkScenario,
  compareDesign,
  compareOrder,
  compareReport,
  compareRuns,
  compareScenario,
  recordScenario,
  runScenario,
} from '../scenario/check.js';
import { ScenarioError, type ScenarioIssue } from '../scenario/errors.js';
import { parseScenario } from '../scenario/parse.js';
import type { Progress } from '../sched/program.js';
import type { PlaygroundMode } from './fragment.js';
import { type RaceDiagramText, raceDiagramText } from './race-diagram.js';

export interface RunRequest {
  text: string;
  file: string;
  /** Absent: the scenario's own design. */
  design?: DesignName;
  options: Partial<DesignOptions>;
  mode: PlaygroundMode;
}

export type RunResponse =
  | { kind: 'issues'; issues: ScenarioIssue[] }
  | {
      kind: 'result';
      title: string;
      check: CheckReport;
      compare?: CompareReport;
      /** report/html.ts's matrix, when compared. */
      matrixHtml?: string;
      /** report/html.ts's counterexample and memory map sections. */
      counterexampleHtml: string;
      memoryMapHtml: string;
      raceDiagram: RaceDiagramText;
      /** The replayed schedule, and whether it is a violation's. */
      schedule: string;
      violation: boolean;
    }
  | { kind: 'error'; message: string };

/** `--design v5.7 --option a=b`, as the report's replay commands take it. */
export function designArgs(req: Pick<RunRequest, 'design' | 'options'>): string {
  if (!req.design) return '';
  return [
    `--design ${req.design}`,
    ...Object.entries(req.options).map(([k, v]) => `--option ${k}=${String(v)}`),
  ].join(' ');
}

/** One progress line: the design, executions, events, violations, time. */
export function progressLine(design: string, p: Progress): string {
  const pct = p.fractionDone !== undefined ? ` (~${Math.round(p.fractionDone * 100)}%)` : '';
  return `${design}: ${p.executions} executions${pct}, ${p.events} events, ${p.violations} violation${p.violations === 1 ? '' : 's'}, ${(p.elapsedMs / 1000).toFixed(1)} s`;
}

/** The scenario's problems (none when it loads), as the CLI reports them: the editor's diagnostics. */
export function lintScenario(text: string, file: string): ScenarioIssue[] {
  try {
    parseScenario(text, file);
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.issues;
    return [{ file, line: 0, column: 0, field: '', message: e instanceof Error ? e.message : String(e) }];
  }
}

export function runPlayground(req: RunRequest, onProgress: (line: string) => void = () => {}): RunResponse {
  let sc: ReturnType<typeof parseScenario>;
  try {
    sc = parseScenario(req.text, req.file);
  } catch (e) {
    if (e instanceof ScenarioError) return { kind: 'issues', issues: e.issues };
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
  try {
    const design = req.design ? designOf(req.design, req.options) : undefined;
    const label = design?.name ?? sc.design.name;
    const check = checkScenario(sc, {
      ...(design ? { design } : {}),
      onProgress: (p) => onProgress(progressLine(label, p)),
    });
    let compare: CompareReport | undefined;
    if (req.mode === 'compare') {
      let current = '';
      let n = 0;
      // Every design, and first the file's own options when it sets any (compareScenario's rows).
      const total = DESIGN_NAMES.length + (Object.keys(sc.design.options).length > 0 ? 1 : 0);
      compare = compareScenario(sc, {
        onDesign: (d) => {
          current = d;
          onProgress(`${d}: starting (design ${++n} of ${total})`);
        },
        onProgress: (p) => onProgress(progressLine(current, p)),
      });
    }
    const first = check.violations[0];
    const record = first
      ? recordScenario(sc, first.schedule, design ? { design } : {})
      : runScenario(sc, design ? { design } : {});
    const args = designArgs(req);
    const response: RunResponse = {
      kind: 'result',
      title: sc.name,
      check,
      counterexampleHtml: renderCounterexampleSection(
        { file: req.file, record, designArgs: args },
        { raceDiagram: false },
      ),
      memoryMapHtml: renderMemoryMapSection(record),
      raceDiagram: raceDiagramText(record, first && { id: first.invariant, message: first.message }),
      schedule: record.schedule,
      violation: first !== undefined,
    };
    if (compare) withMatrix(response, compare);
    return response;
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) };
  }
}

/** Adds a comparison and its matrix (as `vdm report` draws it) to a run's response. */
function withMatrix(response: Extract<RunResponse, { kind: 'result' }>, compare: CompareReport): void {
  // As `vdm report`: the file's own design options (when it sets any) as the matrix's first row.
  const rows = compare.own ? [compare.own, ...compare.results] : compare.results;
  response.compare = compare;
  response.matrixHtml = renderMatrix({ ...compare, results: rows }, response.check.design);
}

// A comparison on several Web Workers (playground/worker.ts), as `vdm compare --workers N` on
// threads: the page's worker runs the check, others explore the comparison's rows, each taking the
// next when it is done with one, and the rows go back in their order.

/** The labels of the rows a comparison of the scenario explores, in the order to start them (compareOrder). */
export function compareRowsToStart(text: string, file: string): { labels: string[]; order: number[] } {
  const runs = compareRuns(parseScenario(text, file));
  return { labels: runs.map((r) => r.label), order: compareOrder(runs) };
}

/** One row of the comparison (compareRuns' index `row`), explored as compareScenario explores it. */
export function compareRow(
  text: string,
  file: string,
  row: number,
  onProgress: (line: string) => void = () => {},
): CompareResult {
  const sc = parseScenario(text, file);
  const run = compareRuns(sc)[row];
  if (!run) throw new RangeError(`no row ${row} in the comparison of ${file}`);
  return compareDesign(sc, run, { onProgress: (p) => onProgress(progressLine(run.label, p)) });
}

/** A check's response (mode `check`) with the comparison whose rows were explored apart added: what mode `compare` answers. */
export function withCompareRows(
  req: RunRequest,
  response: RunResponse,
  results: readonly CompareResult[],
): RunResponse {
  if (response.kind !== 'result') return response;
  const sc = parseScenario(req.text, req.file);
  withMatrix(response, compareReport(sc, compareRuns(sc), results));
  return response;
}
