// The built-in demo and the README's example: the memory_lock protocol holds; checking decode
// outside the lock is caught.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { faultVsZap } from '../../src/demo/fault-vs-zap.js';
import { Cell, explore, type Program, RwSem, replay } from '../../src/index.js';

test('demo: fault and disable under memory_lock never leave a PTE on a disabled BAR', () => {
  const r = explore(faultVsZap());
  assert.deepEqual(r.violations, []);
  assert.equal(r.complete, true);
  // The fault's critical section before the disable's, or after it.
  assert.equal(r.executions, 2);
});

test('demo --buggy: the check outside the lock is found, with one preemption, and replays', () => {
  const p = faultVsZap({ checkOutsideLock: true });
  const r = explore(p);
  assert.equal(r.violations.length, 1);
  const v = r.violations[0]!;
  assert.equal(v.message, 'a PTE maps the BAR while memory decode is off');
  assert.equal(v.preemptions, 1);
  const rp = replay(p, v.schedule);
  assert.equal(rp.violation?.message, v.message);
  assert.deepEqual(
    rp.trace.map((e) => `${e.thread} ${e.op} ${e.object}`),
    [
      'fault read memory_enabled',
      'disable down_write memory_lock',
      'disable down_write(wait) memory_lock',
      'disable write pte',
      'disable write memory_enabled',
      'disable up_write memory_lock',
      'fault down_read memory_lock',
      'fault write pte',
    ],
  );
});

test("the README's example program behaves as the README says", () => {
  type World = { memoryLock: RwSem; enabled: Cell<boolean>; pte: Cell<boolean> };
  const program: Program<World> = {
    setup: () => ({
      memoryLock: new RwSem('memory_lock'),
      enabled: new Cell('enabled', true),
      pte: new Cell('pte', false),
    }),
    threads: {
      *fault(s) {
        yield* s.memoryLock.downRead();
        if (yield* s.enabled.read()) yield* s.pte.write(true);
        yield* s.memoryLock.upRead();
      },
      *disable(s) {
        yield* s.memoryLock.downWrite();
        yield* s.pte.write(false);
        yield* s.enabled.write(false);
        yield* s.memoryLock.upWrite();
      },
    },
    invariant: (s) => (s.pte.value && !s.enabled.value ? 'PTE maps a disabled BAR' : undefined),
  };
  const result = explore(program);
  assert.deepEqual(result.violations, []);
  assert.equal(result.complete, true);
});
