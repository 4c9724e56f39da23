// The playground's page: the scenario editor, the examples, the design and its options, Run and
// Compare, the progress line, and the results as the HTML report draws them (the worker renders
// them with report/html.ts). The state travels in the URL fragment (src/playground/fragment.ts).
//
// Everything from a scenario or a link is untrusted: it is shown with textContent, or inside HTML
// that the report's own functions built with escapeHtml; it never becomes code, and the page's
// Content-Security-Policy (index.html) lets nothing be loaded but the playground's own files.

import examples from 'vdm:examples';
import {
  DESIGN_NAMES,
  type DesignName,
  type DesignOptions,
  designOf,
  OPTION_VALUES,
} from '../src/designs/design.js';
import {
  decodeFragment,
  encodeFragment,
  type PlaygroundMode,
  type PlaygroundState,
} from '../src/playground/fragment.js';
import type { RunResponse } from '../src/playground/run.js';
import { cutShortNote } from '../src/report/cut-short.js';
import { formatIssue, type ScenarioIssue } from '../src/scenario/errors.js';
import { createEditor } from './editor.js';
import type { WorkerRequest } from './worker.js';

const DEFAULT_EXAMPLE = 'reset-races-fault.yaml';
const OWN = '';

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`#${id} is missing from index.html`);
  return e as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const exampleSelect = $<HTMLSelectElement>('example');
const designSelect = $<HTMLSelectElement>('design');
const optionsBox = $('options');
const runButton = $<HTMLButtonElement>('run');
const compareButton = $<HTMLButtonElement>('compare');
const stopButton = $<HTMLButtonElement>('stop');
const progress = $('progress');
const issuesBox = $('issues');
const notesBox = $('notes');
const linkField = $<HTMLInputElement>('link');

let file = DEFAULT_EXAMPLE;
let options: Partial<DesignOptions> = {};

// The editor's checker: the CLI's parser in a worker of its own, so it answers while a run goes on.
const lintWorker = new Worker('worker.js');
const pending = new Map<number, (issues: ScenarioIssue[]) => void>();
let lintId = 0;
lintWorker.addEventListener(
  'message',
  (e: MessageEvent<{ kind: 'lint'; id: number; issues: ScenarioIssue[] }>) => {
    pending.get(e.data.id)?.(e.data.issues);
    pending.delete(e.data.id);
  },
);
function lint(text: string): Promise<ScenarioIssue[]> {
  const id = ++lintId;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    lintWorker.postMessage({ kind: 'lint', id, text, file } satisfies WorkerRequest);
  });
}

const editor = createEditor($('editor'), lint, showIssues, () => run('check'));

function showIssues(issues: ScenarioIssue[]): void {
  issuesBox.replaceChildren(...issues.map((i) => el('li', formatIssue(i))));
  issuesBox.hidden = issues.length === 0;
}

function showNotes(notes: string[]): void {
  notesBox.replaceChildren(...notes.map((n) => el('li', n)));
  notesBox.hidden = notes.length === 0;
}

// Examples and designs.
for (const ex of examples) exampleSelect.append(new Option(ex.file, ex.file));
designSelect.append(new Option('as the scenario says', OWN));
for (const d of DESIGN_NAMES) designSelect.append(new Option(d, d));

function selectedDesign(): DesignName | undefined {
  return designSelect.value === OWN ? undefined : (designSelect.value as DesignName);
}

/** One select per option of the selected design, showing its value; a changed one is an override. */
function renderOptions(): void {
  const name = selectedDesign();
  optionsBox.replaceChildren();
  if (!name) {
    optionsBox.append(el('p', 'The scenario’s own design and options (its `design:` field).', 'note'));
    return;
  }
  const defaults = designOf(name).options;
  for (const [k, values] of Object.entries(OPTION_VALUES) as [keyof DesignOptions, readonly unknown[]][]) {
    const label = el('label');
    label.append(el('span', k));
    const sel = el('select');
    sel.name = k;
    for (const v of values) sel.append(new Option(String(v), String(v)));
    const current = k in options ? options[k] : defaults[k];
    sel.value = String(current);
    if (k in options) label.classList.add('changed');
    sel.addEventListener('change', () => {
      const v = values.find((x) => String(x) === sel.value);
      if (v === defaults[k]) delete options[k];
      else (options as Record<string, unknown>)[k] = v;
      label.classList.toggle('changed', k in options);
      updateLink(false);
    });
    label.append(sel);
    optionsBox.append(label);
  }
}

designSelect.addEventListener('change', () => {
  options = {};
  renderOptions();
  updateLink(false);
});

function loadExample(name: string): void {
  const ex = examples.find((x) => x.file === name);
  if (!ex) return;
  stopWorker();
  file = ex.file;
  exampleSelect.value = ex.file;
  editor.setText(ex.text);
  designSelect.value = OWN;
  options = {};
  renderOptions();
  clearResults();
}

exampleSelect.addEventListener('change', () => {
  loadExample(exampleSelect.value);
  updateLink(false);
});

function state(mode: PlaygroundMode, run: boolean): PlaygroundState {
  const d = selectedDesign();
  return { scenario: editor.text(), file, ...(d ? { design: d } : {}), options, mode, run };
}

/** The link field (and the address bar) carry the current scenario, design and options. */
function updateLink(run: boolean, mode: PlaygroundMode = 'check'): void {
  const fragment = encodeFragment(state(mode, run));
  history.replaceState(null, '', `#${fragment}`);
  linkField.value = location.href;
}

// Running.
let worker: Worker | undefined;

function stopWorker(): void {
  worker?.terminate();
  worker = undefined;
  runButton.disabled = false;
  compareButton.disabled = false;
  stopButton.disabled = true;
}

stopButton.addEventListener('click', () => {
  stopWorker();
  progress.textContent = 'stopped';
});

function run(mode: PlaygroundMode): void {
  stopWorker();
  updateLink(true, mode);
  const d = selectedDesign();
  const req: WorkerRequest = {
    kind: 'run',
    text: editor.text(),
    file,
    ...(d ? { design: d } : {}),
    options,
    mode,
  };
  runButton.disabled = true;
  compareButton.disabled = true;
  stopButton.disabled = false;
  progress.textContent = mode === 'compare' ? 'comparing every design…' : 'checking…';
  const w = new Worker('worker.js');
  worker = w;
  w.addEventListener('message', (e: MessageEvent<RunResponse | { kind: 'progress'; line: string }>) => {
    const m = e.data;
    if (m.kind === 'progress') {
      progress.textContent = m.line;
      return;
    }
    stopWorker();
    if (m.kind === 'issues') {
      showIssues(m.issues);
      progress.textContent = `the scenario has ${m.issues.length} error${m.issues.length === 1 ? '' : 's'}`;
    } else if (m.kind === 'error') {
      progress.textContent = `failed: ${m.message}`;
    } else {
      showResult(m);
    }
  });
  w.addEventListener('error', (e) => {
    stopWorker();
    progress.textContent = `the worker failed: ${e.message}`;
  });
  w.postMessage(req);
}

runButton.addEventListener('click', () => run('check'));
compareButton.addEventListener('click', () => run('compare'));

// Results.
const results = $('results');

function clearResults(): void {
  results.hidden = true;
  progress.textContent = '';
}

/** HTML built by the report's own functions (report/html.ts), which escape every input string. */
function setReportHtml(target: HTMLElement, html: string): void {
  target.innerHTML = html;
}

function showResult(r: Extract<RunResponse, { kind: 'result' }>): void {
  const c = r.check;
  progress.textContent = `done: ${c.design}, ${c.executions} executions${c.complete ? '' : ' (incomplete)'}, ${c.violations.length} violation${c.violations.length === 1 ? '' : 's'}, ${(c.elapsedMs / 1000).toFixed(1)} s${r.compare ? ` · compared ${r.compare.results.length + (r.compare.own ? 1 : 0)} designs` : ''}`;
  $('results-title').textContent = r.title;
  const verdict = $('verdict');
  verdict.textContent = c.verdict;
  verdict.className = `verdict ${c.verdict}`;
  const summary = $('summary');
  const rows: [string, string][] = [
    ['design', c.design],
    ['executions', `${c.executions} (${c.complete ? 'complete' : 'incomplete'}, ${c.strategy})`],
    ['expected', c.expected.length > 0 ? c.expected.join(', ') : 'no violation'],
    ['found', c.violations.length > 0 ? c.violations.map((v) => v.invariant).join(', ') : 'no violation'],
    ...c.reasons.map((x): [string, string] => ['verdict', x]),
    ...(c.incomplete ?? []).map((x): [string, string] => [
      'incomplete',
      `${x.reason}: ${x.detail}${cutShortNote(x)}`,
    ]),
    ...(c.warnings ?? []).map((x): [string, string] => ['warning', x]),
  ];
  const table = el('table', undefined, 'kv');
  for (const [k, v] of rows) {
    const tr = el('tr');
    tr.append(el('th', k), el('td', v));
    table.append(tr);
  }
  const list = el('ul', undefined, 'violations');
  for (const v of c.violations) {
    const li = el('li');
    li.append(el('strong', v.invariant), document.createTextNode(`: ${v.message}`));
    list.append(li);
  }
  summary.replaceChildren(table, list);
  $('matrix-section').hidden = !r.matrixHtml;
  setReportHtml($('matrix'), r.matrixHtml ?? '');
  $('counterexample-title').textContent = r.violation ? 'Counterexample' : 'Run';
  $('race-heading').textContent = r.raceDiagram.heading;
  $('race-diagram').textContent = r.raceDiagram.text;
  setReportHtml($('counterexample'), r.counterexampleHtml);
  setReportHtml($('memory-map'), r.memoryMapHtml);
  results.hidden = false;
}

// Opening: the link's scenario (and run it when the link says so), else the default example.
function openFromLocation(): void {
  const { state: s, notes } = decodeFragment(location.hash);
  stopWorker();
  showNotes(notes);
  if (!s) {
    loadExample(DEFAULT_EXAMPLE);
    return;
  }
  file = s.file;
  exampleSelect.value = examples.some((x) => x.file === s.file && x.text === s.scenario) ? s.file : '';
  editor.setText(s.scenario);
  designSelect.value = s.design ?? OWN;
  options = { ...s.options };
  renderOptions();
  clearResults();
  linkField.value = location.href;
  if (s.run) run(s.mode);
}

$('copy-link').addEventListener('click', () => {
  updateLink(true);
  linkField.select();
  void navigator.clipboard?.writeText(linkField.value).catch(() => {});
});

window.addEventListener('hashchange', openFromLocation);
openFromLocation();
