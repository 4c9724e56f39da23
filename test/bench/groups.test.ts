// bench/groups.ts: how executions are grouped by what each thread did and saw, and how two
// executions of a group are told apart (docs/performance.md, "where the open cells spend their
// executions").

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type GroupEvent, groupExecutions, groupKey, reorderedPairs } from '../../bench/groups.js';

const ev = (
  thread: string,
  op: string,
  object: string,
  result?: string,
  slots?: [number, number],
): GroupEvent => ({
  thread,
  op,
  object,
  result,
  slots,
});

describe('bench/groups', () => {
  // Two sections of one lock that touch different cells, in both orders.
  const aFirst = [
    ev('a', 'lock', 'm'),
    ev('a', 'write', 'x', '1'),
    ev('a', 'unlock', 'm'),
    ev('b', 'lock', 'm'),
    ev('b', 'write', 'y', '2'),
    ev('b', 'unlock', 'm'),
  ];
  const bFirst = [...aFirst.slice(3), ...aFirst.slice(0, 3)];

  test('one group when every thread did and saw the same, whatever the interleaving', () => {
    assert.equal(groupKey(aFirst), groupKey(bFirst));
  });

  test('another group when a thread saw another value, or waited only', () => {
    const other = aFirst.map((e) => (e.object === 'x' ? { ...e, result: '3' } : e));
    assert.notEqual(groupKey(aFirst), groupKey(other));
    // A writer that queued behind a reader saw nothing else: `queued` is when, not what.
    const queued = [ev('a', 'down_write', 's', 'queued', [1, 2])];
    assert.equal(groupKey(queued), groupKey([ev('a', 'down_write', 's', undefined, [1, 2])]));
  });

  test('the pairs two executions order differently: conflicting ones on one object', () => {
    assert.deepEqual(reorderedPairs(aFirst, bFirst), [
      'a lock < b lock m',
      'a lock < b unlock m',
      'a unlock < b lock m',
      'a unlock < b unlock m',
    ]);
    assert.deepEqual(reorderedPairs(aFirst, aFirst), []);
  });

  test('reads commute, disjoint slots do not conflict; writes on different objects are the fallback', () => {
    const reads = [ev('a', 'read', 'x', '0'), ev('b', 'read', 'x', '0')];
    assert.deepEqual(reorderedPairs(reads, [reads[1]!, reads[0]!]), []);
    const slots = [ev('a', 'write', 't', undefined, [0, 1]), ev('b', 'write', 't', undefined, [1, 2])];
    const swapped = [slots[1]!, slots[0]!];
    // No conflicting pair on one object: the write-like pairs on different objects are named.
    assert.deepEqual(reorderedPairs(slots, swapped), []);
    const two = [ev('a', 'write', 'x'), ev('b', 'rmw', 'y')];
    assert.deepEqual(reorderedPairs(two, [two[1]!, two[0]!]), ['a write x < b rmw y (different objects)']);
    // Given the search's visibility, only pairs the invariant reads together are named.
    assert.deepEqual(
      reorderedPairs(two, [two[1]!, two[0]!], () => false),
      [],
    );
    assert.deepEqual(
      reorderedPairs(two, [two[1]!, two[0]!], (x, y) => x === 'x' && y === 'y'),
      ['a write x < b rmw y (different objects)'],
    );
  });

  test('a scenario: a complete search with one execution per group reports so', () => {
    const r = groupExecutions('examples/faults-vs-disable.yaml', 'upstream', 100_000);
    assert.equal(r.complete, true);
    assert.equal(r.executions, r.groups);
    assert.deepEqual(r.differences, []);
    assert.ok(r.executions > 100, `${r.executions} executions`);
  });
});
