// State folding on kernel scenarios (`check.foldStates`, `vdm check --fold-states`): the
// vma_list designs' fault and zap loops reach the same loop-head states in execution after
// execution; folding them ends those executions early. It must report what the unfolded search
// reports, and it completes searches the unfolded one does not finish. It is the default on those
// designs, off elsewhere; a caller or the file can say otherwise.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario, foldsByDefault } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { Execution } from '../../src/sched/execution.js';
import { hashGraph } from '../../src/sched/fingerprint.js';
import { Prim } from '../../src/sched/prim.js';
import type { ExplorationCheckpoint } from '../../src/sched/program.js';

const ids = (r: { violations: { invariant: string }[] }): string[] =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();

for (const [file, design] of [
  ['examples/reset-races-fault.yaml', 'v5.8'],
  ['examples/fork-huge-pmd-vs-command.yaml', 'v5.8'],
  ['examples/v5.8-load-store-vs-disable.yaml', 'v5.8'],
  ['examples/v5.8-uffd-stall-under-memory-lock.yaml', 'v6.9'],
] as const) {
  test(`${file} on ${design}: folded, the same verdict and violations as the full search`, () => {
    const sc = loadScenarioFile(file);
    const plain = checkScenario(sc, { design: designOf(design), foldStates: false });
    const folded = checkScenario(sc, { design: designOf(design), foldStates: true });
    assert.equal(plain.complete, true, JSON.stringify(plain.incomplete));
    assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
    assert.ok((folded.folded ?? 0) > 0);
    assert.equal(folded.verdict, plain.verdict);
    assert.deepEqual(ids(folded), ids(plain));
  });
}

test('v6.10-address-space on v5.13: the full search stops at its cap, the folded one completes', () => {
  const sc = loadScenarioFile('examples/v6.10-address-space.yaml');
  const plain = checkScenario(sc, { design: designOf('v5.13'), foldStates: false });
  assert.equal(plain.complete, false);
  const folded = checkScenario(sc, { design: designOf('v5.13'), foldStates: true, maxExecutions: 100000 });
  assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
  assert.ok((folded.folded ?? 0) > 0);
  assert.deepEqual(ids(folded), []);
  assert.ok(folded.executions < plain.executions, `${folded.executions} executions`);
});

test('pread-across-bars on v5.8: the full search stops at its cap, the folded one completes with the same violations', () => {
  const sc = loadScenarioFile('examples/pread-across-bars.yaml');
  const plain = checkScenario(sc, { design: designOf('v5.8'), foldStates: false });
  assert.equal(plain.complete, false);
  // A CPU access is counted in its caller's state by its outcome alone (resultOnly): a word copy
  // that faulted and retried leaves the copy where one that hit did.
  const folded = checkScenario(sc, { design: designOf('v5.8'), foldStates: true, maxExecutions: 100000 });
  assert.equal(folded.complete, true, JSON.stringify(folded.incomplete));
  assert.deepEqual(ids(folded), ids(plain));
  assert.deepEqual(ids(folded), ['DEADLOCK', 'LOCK_ORDER', 'MAPPING_AFTER_REVOKE', 'ZAP_COVERAGE']);
  assert.ok(folded.executions < plain.executions, `${folded.executions} executions`);
});

test('folding is the default on the vma_list designs only, and the caller or the file can turn it off', () => {
  const sc = loadScenarioFile('examples/pread-across-bars.yaml');
  assert.deepEqual(
    ['upstream', 'dmabuf-backed', 'v6.10', 'v6.9', 'v5.13', 'v5.8', 'v5.7'].filter((d) =>
      foldsByDefault(designOf(d)),
    ),
    ['v6.9', 'v5.13', 'v5.8'],
  );
  const byDefault = checkScenario(sc, { design: designOf('v5.8') });
  assert.equal(byDefault.complete, true, JSON.stringify(byDefault.incomplete));
  assert.ok((byDefault.folded ?? 0) > 0);
  const off = checkScenario(sc, { design: designOf('v5.8'), foldStates: false, maxExecutions: 50 });
  assert.equal(off.folded, undefined);
  const fileOff = checkScenario(
    { ...sc, check: { ...sc.check, foldStates: false, maxExecutions: 50 } },
    { design: designOf('v5.8') },
  );
  assert.equal(fileOff.folded, undefined);
  const upstream = checkScenario(sc, { design: designOf('upstream') });
  assert.equal(upstream.folded, undefined);
});

test('the ids an execution has already reported are no part of its state; the kernel state is', () => {
  // Two executions that reach one kernel state, one of them having reported ZAP_COVERAGE on the
  // way, fold onto each other: what was reported decides only whether it is reported again.
  const program = scenarioProgram(loadScenarioFile('examples/faults-vs-disable.yaml'), {
    design: designOf('v5.8'),
  });
  const ex = new Execution(program, { clocks: false, lockdep: null, maxSteps: 1000, fold: true });
  ex.begin();
  const w = ex.state;
  const state = (): string =>
    hashGraph([program.sharedState!(w)], (o) => (o instanceof Prim ? o.stateFields() : undefined));
  const before = state();
  w.raised.add('ZAP_COVERAGE');
  assert.equal(state(), before);
  // A fault lists the mapping's VMA on the device: that is kernel state.
  const vma = w.procs.get('primary')!.proc!.mm.vmas[0]!;
  w.sys.devices.get('gpu0')!.vmaList.unshift(vma);
  assert.notEqual(state(), before);
});

test('a folded search stopped and resumed with its folding tables ends as one search (vdm check hands them to its search thread)', () => {
  const sc = loadScenarioFile('examples/v5.8-uffd-stall-under-memory-lock.yaml');
  const design = { design: designOf('v5.8') };
  const whole = checkScenario(sc, design);
  assert.ok((whole.folded ?? 0) > 0);
  const resumed = (withFolds: boolean, at: number) => {
    let saved: ExplorationCheckpoint | undefined;
    let n = 0;
    const part = checkScenario(sc, {
      ...design,
      interrupted: () => ++n >= at,
      // As the search thread gets it: a structured clone (Maps and typed arrays kept).
      checkpoint: { save: (c) => void (saved = structuredClone(c)), withFolds: () => withFolds },
    });
    assert.equal(part.executions, at);
    assert.equal(withFolds, saved !== undefined && 'folds' in saved && saved.folds !== undefined);
    return checkScenario(sc, { ...design, resume: saved! });
  };
  for (const at of [1, 500, whole.executions - 5]) {
    const rest = resumed(true, at);
    assert.equal(rest.executions, whole.executions, `stopped after ${at}`);
    assert.equal(rest.folded, whole.folded);
    assert.deepEqual(ids(rest), ids(whole));
  }
  // Asked for them only at the save made as the search stops, not at the periodic ones, and not
  // when the memory guard stops it (the heap is nearly full then).
  const asked: boolean[] = [];
  const ask =
    (into: boolean[]) =>
    (final: boolean): boolean => {
      into.push(final);
      return false;
    };
  let n = 0;
  checkScenario(sc, {
    ...design,
    interrupted: () => ++n >= 300,
    checkpoint: { everyExecutions: 100, save: () => {}, withFolds: ask(asked) },
  });
  assert.deepEqual(asked, [false, false, true]);
  const guarded: boolean[] = [];
  checkScenario(sc, {
    ...design,
    memoryGuard: 1e-9,
    checkpoint: { save: () => {}, withFolds: ask(guarded) },
  });
  assert.deepEqual(guarded, [false]);
  // Without them the resumed search starts folding afresh: sound, and longer.
  const fresh = resumed(false, 500);
  assert.deepEqual(ids(fresh), ids(whole));
  assert.ok(fresh.executions > whole.executions, `${fresh.executions} against ${whole.executions}`);
});
