// Scoped references (src/sched/refcount.ts): gets and puts of references a thread holds only for a
// while commute with each other as long as the long-lived references keep the count above zero,
// and are ordered like any read-modify-write once they do not. dpor reaches every outcome every
// interleaving reaches, in fewer executions.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dpor } from '../../src/sched/dpor.js';
import type { Execution } from '../../src/sched/execution.js';
import { exhaustive } from '../../src/sched/exhaustive.js';
import { Lockdep } from '../../src/sched/lockdep.js';
import type { Program, Thread } from '../../src/sched/program.js';
import { RefCount } from '../../src/sched/refcount.js';

interface S {
  rc: RefCount;
  /** What each thread saw: got (or not) a reference, was (or not) the last. */
  seen: Record<string, string>;
}

/** `pinners` threads each take a scoped reference and drop it; `dropBase`: another drops the initial one. */
function pins(pinners: number, dropBase: boolean): Program<S> {
  const threads: Program<S>['threads'] = {};
  for (let i = 0; i < pinners; i++) {
    threads[`p${i}`] = function* (s: S): Thread<void> {
      if (!(yield* s.rc.getScoped())) {
        s.seen[`p${i}`] = 'none';
        return;
      }
      s.seen[`p${i}`] = (yield* s.rc.putScoped()) ? 'last' : 'put';
    };
  }
  if (dropBase)
    threads.owner = function* (s: S): Thread<void> {
      s.seen.owner = (yield* s.rc.dec()) === 1 ? 'last' : 'put';
    };
  return { setup: () => ({ rc: new RefCount('rc', 1), seen: {} }), threads };
}

const outcome = (ex: Execution<S>): string =>
  Object.entries(ex.state.seen)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function outcomes(p: Program<S>, search: 'dpor' | 'exhaustive'): { seen: Set<string>; executions: number } {
  const seen = new Set<string>();
  const col =
    search === 'dpor'
      ? dpor(p, {}, new Lockdep(), (ex) => seen.add(outcome(ex)))
      : exhaustive(p, {}, new Lockdep(), (ex) => {
          if (!ex.anyUnfinished()) seen.add(outcome(ex));
          return -1;
        });
  assert.equal(col.complete, true);
  return { seen, executions: col.executions };
}

test('scoped gets and puts under a long-lived reference commute: one execution', () => {
  const d = outcomes(pins(3, false), 'dpor');
  assert.equal(d.executions, 1);
  assert.deepEqual([...d.seen], ['p0=put p1=put p2=put']);
  // Every interleaving reaches that outcome and no other.
  assert.deepEqual([...outcomes(pins(3, false), 'exhaustive').seen], [...d.seen]);
});

test('once the initial reference is dropped, the order of the scoped puts decides who is last', () => {
  for (const n of [1, 2, 3]) {
    const d = outcomes(pins(n, true), 'dpor');
    const e = outcomes(pins(n, true), 'exhaustive');
    assert.deepEqual([...d.seen].sort(), [...e.seen].sort(), `${n} pinners`);
    if (n > 1) assert.ok(d.executions < e.executions, `${n} pinners: ${d.executions} dpor executions`);
  }
  // Each pinner can be the last, or find the count at zero; so can the owner be last.
  const two = [...outcomes(pins(2, true), 'dpor').seen];
  assert.ok(two.includes('owner=put p0=last p1=put'));
  assert.ok(two.includes('owner=put p0=put p1=last'));
  assert.ok(two.includes('owner=last p0=none p1=none'));
  assert.ok(two.includes('owner=put p0=last p1=none'));
});

test('a scoped put without a scoped get of the same thread is a model error', () => {
  const p: Program<{ rc: RefCount }> = {
    setup: () => ({ rc: new RefCount('rc', 2) }),
    threads: {
      t: function* (s): Thread<void> {
        yield* s.rc.putScoped();
      },
    },
  };
  const col = dpor(p, {}, new Lockdep());
  assert.ok(col.violations.some((v) => /putScoped\(\) without a scoped reference/.test(v.message)));
});
