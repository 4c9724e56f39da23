// A folded state's race step reverses a race with an operation that ran below the state it folds
// onto, by a sequence that ends with the operation's thread's pending operation: the events of
// other threads that came before that operation below the state are not in it (Seq.truncated).
// A thread that is not in such a sequence and commutes with what is in it may well conflict with
// what was left out, so it is no weak initial of it: neither a sleeper that covers the sequence
// nor a branch to walk it down. Found with state folding at every event (an experiment, not an
// option) on test/sched/fold-differential.test.ts's programs: a thread asleep at the root with
// its write of x commuted with the truncated [read of v0 by thread c], so it covered it; the whole
// reversal went on with c's write of its visible result, which conflicts with the write of x, and
// the search lost every schedule that starts with c.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { K } from '../../src/sched/op.js';
import { insertBranch, Node, Seq } from '../../src/sched/wakeup.js';

// Objects 0 (x), 1 (y), 2 (z); two operations conflict when on one object and one writes.
const dependent = (oa: number, ka: number, _la: number, _ha: number, ob: number, kb: number): boolean =>
  oa === ob && (ka === K.WRITE || kb === K.WRITE);

test('a thread absent from a truncated sequence is no weak initial of it; present, it is as before', () => {
  const v = new Seq(dependent);
  v.push(2, 1, K.READ, 0, 1); // thread 2 reads y
  // Thread 0 would write x: it commutes with everything in v.
  assert.equal(v.weakInitial(0, 0, K.WRITE, 0, 1), -1);
  v.truncated = true;
  assert.equal(v.weakInitial(0, 0, K.WRITE, 0, 1), -2);
  // Thread 2 is in it, its first event first: a weak initial either way.
  assert.equal(v.weakInitial(2, 1, K.READ, 0, 1), 0);
});

test('a sleeper absent from a truncated sequence does not cover it: the branch is added', () => {
  const full = new Node();
  full.sleep(0, 0, K.WRITE, 0, 1);
  const v = new Seq(dependent);
  v.push(2, 1, K.READ, 0, 1);
  insertBranch(full, v);
  assert.equal(full.pending, false, 'a whole sequence: the sleeping writer covers it');

  const cut = new Node();
  cut.sleep(0, 0, K.WRITE, 0, 1);
  v.reset();
  v.push(2, 1, K.READ, 0, 1);
  v.truncated = true;
  insertBranch(cut, v);
  assert.equal(cut.pending, true);
  assert.equal(cut.take().thread, 2);
});

test('a truncated sequence is not walked down a branch of a thread it leaves out', () => {
  const node = new Node();
  const v = new Seq(dependent);
  v.push(0, 0, K.WRITE, 0, 1); // a branch of thread 0 (writes x) is there already
  insertBranch(node, v);
  v.reset();
  v.push(2, 1, K.READ, 0, 1);
  v.truncated = true;
  insertBranch(node, v);
  // Not hung below thread 0's branch (that would run the write of x first): a branch of its own.
  assert.deepEqual(
    node.wut.map((w) => w.thread),
    [0, 2],
  );
  assert.deepEqual(node.wut[0]!.children, []);
});

test('with what it left out known, a thread absent from a truncated sequence that commutes with all of it is a weak initial', () => {
  // The race step knows the operations below the state it folds onto and which threads' events
  // there came before the raced operation (dpor.ts, SumOp.maxC): what the cut left out is among
  // those threads' operations. Thread 2's reversal [2 reads y] left out thread 1's write of z.
  const v = new Seq(dependent);
  v.push(2, 1, K.READ, 0, 1);
  v.truncated = true;
  v.leftOut = Int32Array.from([1, 2, K.WRITE, 0, 1, 2, 1, K.READ, 0, 1, 3, 0, K.WRITE, 0, 1]);
  v.leftThreads = (1 << 1) | (1 << 2);
  // Thread 0 writes x: nothing in the sequence or left out of it touches x (thread 3's write of x
  // is below the state too, but did not come before the raced operation).
  assert.equal(v.weakInitial(0, 0, K.WRITE, 0, 1), -1);
  // Thread 0 reading z conflicts with thread 1's write of z, left out of the sequence.
  assert.equal(v.weakInitial(0, 2, K.READ, 0, 1), -2);
  // Thread 1 has events in the whole reversal that are not in the sequence: never absent from it.
  assert.equal(v.weakInitial(1, 0, K.WRITE, 0, 1), -2);
  // Not known: no absent thread is a weak initial.
  v.leftOut = null;
  assert.equal(v.weakInitial(0, 0, K.WRITE, 0, 1), -2);
});

test('a sleeper that commutes with a truncated sequence and with what it left out covers it', () => {
  const node = new Node();
  node.sleep(0, 0, K.WRITE, 0, 1);
  const v = new Seq(dependent);
  v.push(2, 1, K.READ, 0, 1);
  v.truncated = true;
  v.leftOut = Int32Array.from([1, 2, K.WRITE, 0, 1]);
  v.leftThreads = (1 << 1) | (1 << 2);
  insertBranch(node, v);
  assert.equal(node.pending, false);
  const other = new Node();
  other.sleep(0, 2, K.WRITE, 0, 1); // writes z, as thread 1 did below the state
  v.reset();
  v.push(2, 1, K.READ, 0, 1);
  insertBranch(other, v);
  assert.equal(other.pending, true);
  assert.equal(other.take().thread, 2);
});
