// What users read must be right: for every example, on its own design, one recorded execution (the
// first counterexample a short search finds, else the default run) is checked step by step against
// the model's source, not against the code that recorded it:
//
// - a step's stack is its own thread's: it begins with the operation that thread is in (from that
//   thread's op-begin and op-end marks), and names no other operation;
// - the innermost function is the one that issued the event: the step's `site` (file:line:col of the
//   call to the primitive) lies in a function of that name in the model's source (found with the
//   TypeScript parser, named the kernel's way); an event issued by the scenario interpreter itself
//   (a thread waiting for a handle, a fork waking its child) has no kernel function and its site is
//   in src/scenario/;
// - the text trace says the same: each event's `func=` is that function, the function-graph lines
//   open around each event exactly the thread's stack, and no line prints a value the kernel would
//   not (`[object Object]`, `{}`, `undefined`, `NaN`).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { formatFtrace } from '../../src/report/ftrace.js';
import type { RunRecord } from '../../src/report/record.js';
import { checkScenario, expectedOn, recordScenario, runScenario } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioDesign } from '../../src/scenario/program.js';

/** dist/ (this file runs as dist/test/report/attribution.test.js): sites name files under it. */
const DIST = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** The kernel's spelling of a model function's name, written out here independently of site.ts. */
function snake(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const prev = name[i - 1];
    const next = name[i + 1];
    const upper = c >= 'A' && c <= 'Z';
    if (upper && prev !== undefined) {
      const prevLowerOrDigit = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
      const prevUpper = prev >= 'A' && prev <= 'Z';
      const nextLower = next !== undefined && next >= 'a' && next <= 'z';
      if (prevLowerOrDigit || (prevUpper && nextLower)) out += '_';
    }
    out += c.toLowerCase();
  }
  return out;
}

const sources = new Map<string, ts.SourceFile>();
function sourceOf(file: string): ts.SourceFile {
  let sf = sources.get(file);
  if (!sf) {
    sf = ts.createSourceFile(
      file,
      readFileSync(file, 'utf8'),
      ts.ScriptTarget.Latest,
      true,
      ts.ScriptKind.JS,
    );
    sources.set(file, sf);
  }
  return sf;
}

/** The name a function-like node runs under (as a stack frame names it), or undefined for an anonymous one. */
function nameOf(n: ts.Node): string | undefined {
  if (
    (ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isFunctionExpression(n) ||
      ts.isGetAccessorDeclaration(n) ||
      ts.isSetAccessorDeclaration(n)) &&
    n.name &&
    (ts.isIdentifier(n.name) || ts.isPrivateIdentifier(n.name))
  )
    return n.name.text;
  if ((ts.isArrowFunction(n) || ts.isFunctionExpression(n)) && n.parent) {
    const p = n.parent;
    if (
      (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) &&
      ts.isIdentifier(p.name)
    )
      return p.name.text;
  }
  return undefined;
}

/** The named functions whose source contains (1-based) line:col of a file, innermost first. */
function functionsAt(file: string, line: number, col: number): string[] {
  const sf = sourceOf(file);
  const pos = sf.getPositionOfLineAndCharacter(line - 1, col - 1);
  const out: string[] = [];
  const visit = (n: ts.Node): void => {
    if (pos < n.getStart(sf) || pos >= n.getEnd()) return;
    if (ts.isFunctionLike(n)) {
      const name = nameOf(n);
      if (name !== undefined) out.unshift(name);
    }
    n.forEachChild(visit);
  };
  visit(sf);
  return out;
}

/**
 * Who calls whom in the model's kernel and uapi code, by kernel name: for each named function, the
 * names it calls (`f(`, `x.f(`); which functions are plain (not generators: a plain function that
 * returns a generator is off the stack when that generator runs); and which functions sit in
 * operation tables under which member (`fault: vfioPciMmapFault`, `{ open }`, `*release() {}`): a
 * call `vma.ops.fault(` reaches them.
 */
interface CallGraph {
  calls: Map<string, Set<string>>;
  plain: Set<string>;
  members: Map<string, Set<string>>;
}

function callGraph(): CallGraph {
  const g: CallGraph = { calls: new Map(), plain: new Set(), members: new Map() };
  const member = (m: string, fn: string): void => {
    const k = snake(m);
    if (!g.members.has(k)) g.members.set(k, new Set());
    g.members.get(k)!.add(snake(fn));
  };
  const index = (file: string): void => {
    const sf = sourceOf(file);
    const open: Set<string>[] = [];
    const visit = (n: ts.Node): void => {
      let pushed = false;
      if (ts.isFunctionLike(n)) {
        const name = nameOf(n);
        if (name !== undefined) {
          const k = snake(name);
          if (!g.calls.has(k)) g.calls.set(k, new Set());
          open.push(g.calls.get(k)!);
          pushed = true;
          const gen = (n as ts.FunctionLikeDeclarationBase).asteriskToken !== undefined;
          if (!gen) g.plain.add(k);
          if (ts.isMethodDeclaration(n) && ts.isObjectLiteralExpression(n.parent)) member(name, name);
        }
      }
      // A member's value: a function, or an expression choosing one (`a ? (vmf) => f(vmf) : g`).
      if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name)) {
        const m = n.name.text;
        const refs = (e: ts.Node): void => {
          if (ts.isIdentifier(e)) member(m, e.text);
          e.forEachChild(refs);
        };
        refs(n.initializer);
      }
      if (ts.isShorthandPropertyAssignment(n)) member(n.name.text, n.name.text);
      if (ts.isCallExpression(n) && open.length > 0) {
        const c = n.expression;
        const callee = ts.isIdentifier(c)
          ? c.text
          : ts.isPropertyAccessExpression(c)
            ? c.name.text
            : undefined;
        if (callee !== undefined) open[open.length - 1]!.add(snake(callee));
      }
      n.forEachChild(visit);
      if (pushed) open.pop();
    };
    visit(sf);
  };
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.js')) index(p);
    }
  };
  walk(`${DIST}src/kernel`);
  walk(`${DIST}src/uapi`);
  return g;
}

/**
 * Can a frame of function `a` be right outside one of `b`: does `a` call `b`, directly or through
 * what leaves no frame of its own while `b` runs: an operation table's member, a plain function
 * that returns `b`'s generator (a few such steps at most)?
 */
function canCall(g: CallGraph, a: string, b: string): boolean {
  const next = (x: string): Set<string> => {
    const out = new Set<string>();
    for (const c of g.calls.get(x) ?? []) {
      out.add(c);
      for (const t of g.members.get(c) ?? []) out.add(t);
    }
    return out;
  };
  let frontier = next(a);
  for (let depth = 0; depth < 3; depth++) {
    if (frontier.has(b)) return true;
    const more = new Set<string>();
    for (const x of frontier) if (g.plain.has(x) && x !== a) for (const y of next(x)) more.add(y);
    frontier = more;
  }
  return false;
}

/**
 * The system calls each scenario operation makes (src/scenario/program.ts: the `case`s of call(),
 * plus what runOp() calls around every operation, the return to user space): the outermost kernel
 * function of an event in operation `op` is one of them.
 */
function syscallsByOp(): Map<string, Set<string>> {
  const sf = sourceOf(`${DIST}src/scenario/program.js`);
  const byOp = new Map<string, Set<string>>();
  const always = new Set<string>();
  const sysCalls = (n: ts.Node, into: Set<string>): void => {
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      ts.isIdentifier(n.expression.expression) &&
      n.expression.expression.text === 'sys'
    )
      into.add(snake(n.expression.name.text));
    n.forEachChild((c) => sysCalls(c, into));
  };
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionDeclaration(n) && n.name?.text === 'runOp') sysCalls(n, always);
    if (ts.isFunctionDeclaration(n) && n.name?.text === 'call') {
      const sw = n.body?.statements.find(ts.isSwitchStatement);
      assert.ok(sw, 'call() has no switch');
      let labels: string[] = [];
      for (const clause of sw.caseBlock.clauses) {
        if (ts.isCaseClause(clause) && ts.isStringLiteral(clause.expression))
          labels.push(clause.expression.text);
        if (clause.statements.length === 0) continue;
        const found = new Set<string>();
        for (const st of clause.statements) sysCalls(st, found);
        for (const l of labels) byOp.set(l, found);
        labels = [];
      }
    }
    n.forEachChild(visit);
  };
  visit(sf);
  assert.ok(always.size > 0 && byOp.size > 10, 'the scenario interpreter was not understood');
  for (const set of byOp.values()) for (const x of always) set.add(x);
  return byOp;
}

let syscalls: Map<string, Set<string>> | undefined;

let graph: CallGraph | undefined;

/** `Class.method (src/kernel/x.js:12:34)` or `src/kernel/x.js:12:34`: the file and position. */
function parseSite(site: string): { file: string; line: number; col: number } {
  const m = /(?:\(|^)((?:src|test|bench)\/[^():]+\.js):(\d+):(\d+)\)?$/.exec(site);
  assert.ok(m, `site without a project file position: ${site}`);
  return { file: m[1]!, line: Number(m[2]), col: Number(m[3]) };
}

/** One execution of the example on its own design: a counterexample if a short search finds one. */
function recordOf(file: string): { rec: RunRecord; which: string } {
  const sc = loadScenarioFile(file);
  const design = scenarioDesign(sc);
  if (expectedOn(sc, design.name).length > 0) {
    const r = checkScenario(sc, { design, stopAtFirst: true, maxExecutions: 200 });
    const v = r.violations[0];
    const rec = v && recordScenario(sc, v.schedule, { design });
    // (A violation of the setup's state shows before any event: the default run has some.)
    if (rec && rec.steps.length > 0) return { rec, which: `counterexample ${v.invariant}` };
  }
  return { rec: runScenario(sc, { design }), which: 'default run' };
}

const ODD = /\[object Object\]|= \{\}|\bundefined\b|\bNaN\b/;
const STEP_LINE = /^ *(\S+)-\d+ {2}\[\d{3}\] +\d+\.\d{6}: (\w+): (?:lock|obj|completion)=/;
const LINE = /^ *(\S+)-\d+ {2}\[\d{3}\] +\d+\.\d{6}: (\w+): (.*)$/;

function checkRecord(name: string, rec: RunRecord): { kernel: number; interpreter: number } {
  assert.equal(rec.replayError, undefined, `${name}: replay failed: ${rec.replayError}`);
  // The operation each thread is in before each event, from its own marks.
  const marks = rec.marks.filter((m) => (m.kind === 'op-begin' || m.kind === 'op-end') && m.thread);
  let mi = 0;
  const inOp = new Map<string, string>();
  let kernel = 0;
  let interpreter = 0;
  for (const step of rec.steps) {
    while (mi < marks.length && marks[mi]!.after <= step.index) {
      const m = marks[mi++]!;
      if (m.kind === 'op-begin') inOp.set(m.thread!, `op:${String(m.data.op)}`);
      else inOp.delete(m.thread!);
    }
    const where = `${name}: event ${step.index} (${step.thread} ${step.op} ${step.object}, stack ${step.stack.join(' > ')})`;
    const op = inOp.get(step.thread);
    const ops = step.stack.filter((f) => f.startsWith('op:'));
    if (op) {
      assert.equal(step.stack[0], op, `${where}: the stack does not begin with its thread's operation ${op}`);
      assert.equal(ops.length, 1, `${where}: more than one operation on one thread's stack`);
    } else assert.equal(ops.length, 0, `${where}: an operation on the stack of a thread that is in none`);
    assert.ok(step.site, `${where}: no site`);
    const site = parseSite(step.site);
    const inner = step.stack[step.stack.length - 1];
    if (inner === undefined || inner.startsWith('op:')) {
      // No kernel function: the scenario interpreter issued it.
      assert.match(
        site.file,
        /^src\/scenario\//,
        `${where}: no kernel function, yet issued from ${step.site}`,
      );
      interpreter++;
      continue;
    }
    const fns = functionsAt(`${DIST}${site.file}`, site.line, site.col);
    assert.ok(fns.length > 0, `${where}: ${step.site} is in no named function`);
    assert.equal(snake(fns[0]!), inner, `${where}: issued in ${fns[0]} (${step.site}), not in ${inner}`);
    // The frames outside it are its callers, each called by the one before.
    graph ??= callGraph();
    syscalls ??= syscallsByOp();
    const fns2 = step.stack.filter((f) => !f.startsWith('op:'));
    const made = syscalls.get(op!.slice(3));
    assert.ok(
      made?.has(fns2[0]!),
      `${where}: ${op} makes no system call ${fns2[0]} (it makes ${[...(made ?? [])].join(', ')})`,
    );
    for (let j = 1; j < fns2.length; j++)
      assert.ok(canCall(graph, fns2[j - 1]!, fns2[j]!), `${where}: ${fns2[j - 1]} does not call ${fns2[j]}`);
    kernel++;
  }
  return { kernel, interpreter };
}

function checkText(name: string, rec: RunRecord): void {
  const short = formatFtrace(rec, { functions: false });
  const full = formatFtrace(rec, { functions: true });
  for (const text of [short, full])
    for (const line of text.split('\n'))
      assert.doesNotMatch(line, ODD, `${name}: a trace line prints what the kernel would not: ${line}`);

  // func= on each event is its innermost frame.
  const stepLines = short.split('\n').filter((l) => STEP_LINE.test(l));
  assert.equal(stepLines.length, rec.steps.length, `${name}: one text line per event`);
  stepLines.forEach((l, i) => {
    const inner = rec.steps[i]!.stack[rec.steps[i]!.stack.length - 1];
    const func = / func=(\S+)$/.exec(l)?.[1];
    assert.equal(func, inner, `${name}: event ${i}: ${l}`);
  });

  // The function graph open around each event of a thread is that event's stack (functions only).
  const open = new Map<string, string[]>();
  let i = 0;
  for (const l of full.split('\n')) {
    const m = LINE.exec(l);
    if (!m) continue;
    const [, task, event, body] = m;
    const frames = open.get(task!) ?? [];
    open.set(task!, frames);
    if (event === 'funcgraph_entry') {
      const f = /^\s*(\S+)\(\) \{$/.exec(body!);
      assert.ok(f, `${name}: ${l}`);
      frames.push(f[1]!);
    } else if (event === 'funcgraph_exit') {
      const f = /^\s*\} \/\* (\S+?)(?:, unfinished)? \*\/$/.exec(body!);
      assert.ok(f, `${name}: ${l}`);
      assert.equal(frames.pop(), f[1], `${name}: exit of a function not entered last: ${l}`);
    } else if (STEP_LINE.test(l)) {
      const step = rec.steps[i++]!;
      assert.equal(`${step.thread}`, task!.replace(/-\d+$/, ''), `${name}: ${l}`);
      assert.deepEqual(
        frames,
        step.stack.filter((f) => !f.startsWith('op:')),
        `${name}: event ${step.index}: the function graph around ${l.trim()} is not its stack`,
      );
    }
  }
  assert.equal(i, rec.steps.length);
  for (const [task, frames] of open) assert.deepEqual(frames, [], `${name}: ${task} left functions open`);
}

const files = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('there are examples to check', () => {
  assert.ok(files.length >= 50, `only ${files.length} examples`);
});

let kernelSteps = 0;
let interpreterSteps = 0;
for (const f of files) {
  test(`${f}: every event is attributed to the function that issued it, on its own thread`, () => {
    const { rec, which } = recordOf(`${EXAMPLES}${f}`);
    assert.ok(rec.steps.length > 0, `${f}: ${which} has no events`);
    const n = checkRecord(`${f} (${which})`, rec);
    kernelSteps += n.kernel;
    interpreterSteps += n.interpreter;
    checkText(`${f} (${which})`, rec);
  });
}

test("most events are the kernel's, a few the interpreter's", () => {
  assert.ok(kernelSteps > 1000, `${kernelSteps} kernel events`);
  assert.ok(interpreterSteps < kernelSteps / 10, `${interpreterSteps} interpreter events`);
});
