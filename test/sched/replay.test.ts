// Schedules: printable, replayable event for event, and checked against the model.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as L from '../../src/demo/litmus.js';
import {
  Cell,
  decodeSchedule,
  encodeSchedule,
  explore,
  type Program,
  replay,
  ScheduleError,
} from '../../src/sched/index.js';

test('schedules encode runs of a thread compactly and decode back', () => {
  const threads = [0, 0, 0, 1, 1, 0, 27, 60, 60];
  const s = encodeSchedule(threads, threads.length);
  assert.equal(s, 'a3b2aB{60}2');
  assert.deepEqual(decodeSchedule(s).threads, threads);
  assert.deepEqual(decodeSchedule('ab:0123abcd'), { threads: [0, 1], checksum: '0123abcd' });
});

test('malformed schedules are refused with the position', () => {
  assert.throws(
    () => decodeSchedule('a2-b'),
    (e: unknown) => e instanceof ScheduleError && /position 2/.test(e.message),
  );
  assert.throws(() => decodeSchedule('ab:xyz'), /checksum/);
  assert.throws(() => decodeSchedule('a{x}'), /thread number/);
  assert.throws(() => replay(L.readers(2), 'a?'), ScheduleError);
});

test('every violation replays to the same violation', () => {
  const programs = [
    L.philosophers(3),
    L.racyIncrements(3),
    L.recursiveRead(),
    L.gatedInversion(),
  ] as Program<unknown>[];
  for (const p of programs) {
    const r = explore(p);
    assert.ok(r.violations.length > 0);
    for (const v of r.violations) {
      const rp = replay(p, v.schedule);
      assert.ok(
        rp.violations.some((x) => x.kind === v.kind && x.id === v.id),
        `${p.name}: ${v.kind} replays (got ${rp.violations.map((x) => x.kind).join(', ')})`,
      );
      assert.equal(rp.trace.length, decodeSchedule(v.schedule).threads.length);
    }
  }
});

test('a replay trace names threads, operations, objects, values and sites', () => {
  const r = explore(L.racyIncrements(2));
  const rp = replay(L.racyIncrements(2), r.violations[0]!.schedule);
  assert.deepEqual(
    rp.trace.map((e) => [e.thread, e.op, e.object]),
    [
      ['t0', 'read', 'c'],
      ['t1', 'read', 'c'],
      ['t1', 'write', 'c'],
      ['t0', 'write', 'c'],
    ],
  );
  assert.equal(rp.trace[0]!.result, '0');
  assert.equal(rp.state.c.value, 1);
});

test('a schedule that does not fit the program is a REPLAY_MISMATCH, not a crash', () => {
  const p = L.lockedIncrements(2);
  // t0 holds the lock after its first event: t1 cannot lock.
  const rp = replay(p, 'ab');
  assert.equal(rp.violation?.id, 'REPLAY_MISMATCH');
  assert.match(rp.violation?.message ?? '', /t1 cannot run here: it is blocked in lock m/);
  assert.equal(replay(p, 'z').violation?.id, 'REPLAY_MISMATCH');
  assert.match(replay(p, 'a5').violation?.message ?? '', /already returned/);
});

test('a nondeterministic model is caught by the schedule checksum', () => {
  let flip = 0;
  const p: Program<{ x: Cell<number>; y: Cell<number> }> = {
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0) }),
    threads: {
      a: function* (s) {
        // Touches a different cell on every run: state outside setup().
        yield* (flip++ % 2 === 0 ? s.x : s.y).write(1);
      },
    },
    final: () => 'stop here',
  };
  const v = explore(p, { minimizePreemptions: false }).violations[0]!;
  const rp = replay(p, v.schedule);
  assert.equal(rp.violation?.id, 'REPLAY_MISMATCH');
  assert.match(rp.violation?.message ?? '', /not deterministic/);
});

test('the default execution runs threads in order without preemption', () => {
  const rp = replay(L.lockedIncrements(2), 'a4b4');
  assert.deepEqual(rp.violations, []);
  assert.equal(rp.state.c.value, 2);
});
