// The scenario editor: CodeMirror 6 with YAML highlighting, completion from the scenario's JSON
// Schema (src/playground/schema-complete.ts) and the errors of the CLI's own parser
// (scenario/parse.ts, run in a worker so the page stays small and responsive) as diagnostics at
// their line and column.

import {
  autocompletion,
  type Completion as CmCompletion,
  type CompletionContext,
  closeBrackets,
  completionKeymap,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { type Diagnostic, linter, lintGutter } from '@codemirror/lint';
import { EditorState, type Text } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import schema from '../schema/scenario.schema.json' with { type: 'json' };
import { completeAt, type SchemaNode } from '../src/playground/schema-complete.js';
import type { ScenarioIssue } from '../src/scenario/errors.js';

/** An issue's place in the document: its line and column, else the whole first line. */
function range(doc: Text, i: ScenarioIssue): { from: number; to: number } {
  if (i.line < 1 || i.line > doc.lines) return { from: 0, to: doc.line(1).to };
  const line = doc.line(i.line);
  const from = Math.min(line.to, line.from + Math.max(0, i.column - 1));
  const word = /^[^\s:,{}[\]]*/.exec(doc.sliceString(from, line.to))![0];
  return { from, to: from + Math.max(word.length, from < line.to ? 1 : 0) };
}

function schemaCompletion(ctx: CompletionContext) {
  const word = ctx.matchBefore(/[\w.-]*/);
  if (!ctx.explicit && (!word || word.from === word.to)) {
    // Open by itself after `key: ` and `- ` too, where a value or an operation's name comes next.
    const before = ctx.state.sliceDoc(Math.max(0, ctx.pos - 2), ctx.pos);
    if (before !== ': ' && before !== '- ') return null;
  }
  const r = completeAt(schema as unknown as SchemaNode, ctx.state.doc.toString(), ctx.pos);
  if (!r) return null;
  const options: CmCompletion[] = r.options.map((o) => ({
    label: o.label,
    type: o.kind === 'key' ? 'property' : 'enum',
    ...(o.detail ? { detail: o.detail } : {}),
    ...(o.kind === 'key' ? { apply: `${o.label}: ` } : {}),
  }));
  return { from: r.from, options, validFor: /^[\w.-]*$/ };
}

export interface ScenarioEditor {
  view: EditorView;
  text(): string;
  setText(text: string): void;
}

/**
 * The editor in `parent`. `check` gives the text's issues (the CLI's parser, in a worker);
 * `onIssues` hears them each time the text is checked (after typing stops); Ctrl-Enter calls `onRun`.
 */
export function createEditor(
  parent: HTMLElement,
  check: (text: string) => Promise<ScenarioIssue[]>,
  onIssues: (issues: ScenarioIssue[]) => void,
  onRun: () => void,
): ScenarioEditor {
  const lint = linter(
    async (view): Promise<Diagnostic[]> => {
      const doc = view.state.doc;
      const issues = await check(doc.toString());
      onIssues(issues);
      return issues.map((i) => ({
        ...range(doc, i),
        severity: 'error',
        message: `${i.line > 0 ? `${i.line}:${i.column}: ` : ''}${i.field ? `${i.field}: ` : ''}${i.message}${i.suggestion !== undefined ? ` — did you mean \`${i.suggestion}\`?` : ''}`,
      }));
    },
    { delay: 300 },
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: '',
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        yaml(),
        autocompletion({ override: [schemaCompletion] }),
        lint,
        lintGutter(),
        EditorState.tabSize.of(2),
        keymap.of([
          // Ctrl-Enter (Cmd-Enter) runs, as in most playgrounds.
          {
            key: 'Mod-Enter',
            run: () => {
              onRun();
              return true;
            },
          },
          indentWithTab,
          ...defaultKeymap,
          ...historyKeymap,
          ...completionKeymap,
        ]),
        // CodeMirror adds its style sheet as a <style> element: index.html's Content-Security-Policy
        // allows style elements carrying this nonce (no scenario text can make an element at all).
        EditorView.cspNonce.of('vdm-playground-codemirror'),
        EditorView.contentAttributes.of({ 'aria-label': 'scenario (YAML)' }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text: string) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
  };
}
