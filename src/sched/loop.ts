// Retry loops that two threads can take turns in for ever.
//
// Some kernel paths retry until the state lets them through, and another thread's retry loop can
// undo each attempt: a page fault re-maps a BAR page, a zap loop unmaps it again, the access faults
// again. Under a fair scheduler one of them gets through; a stateless search, which tries every
// schedule, would go round forever (the model's retry bounds stop it and the search then calls
// itself incomplete). Model code marks the top of each iteration of such a loop with loopHead();
// the executor (execution.ts) stops the thread when that iteration begins in a state the same
// execution was already in — the same shared objects and plain shared data, every other thread
// that ran in between back at the same place of the same loop iteration as then. Whatever the
// execution could do from here it could do from that earlier point, whose continuations the
// search explores in their own right, so the rest adds nothing: docs/explorer.md "Retry cycles".

import { currentHost } from './prim.js';
import type { Thread } from './program.js';

/**
 * Marks the top of one iteration of a retry loop, called from model code. `invocation` is an
 * object created once per call of the function that loops (the same for each of its iterations);
 * the rules for the caller:
 * - the next thing the thread does after loopHead() is yield an operation (no plain data changes
 *   between them);
 * - at the top of an iteration the loop's own local state is fixed by the invocation (a retry
 *   counter that only feeds a model bound is allowed: it changes nothing the iteration does).
 */
export function loopHead(invocation: object): void {
  currentHost()?.loopHead?.(invocation);
}

/**
 * How many iterations model code lets a retry loop run before it stops the thread with a
 * SearchBound (a bound of the model, not a bug). Where the executor compares states at loop heads
 * (the program has Program.sharedState) a loop that goes round for ever repeats a state, since the
 * states are finitely many, and is stopped there as a retry cycle; the bound is then only a
 * backstop for loops whose state cannot be compared, and must sit far above the rounds a cycle can
 * take to close (three faults and a zap loop on v5.8 take more than 40). Where nothing is compared,
 * the bound is all that ends such a loop, and a low one keeps each execution short.
 */
export function retryBound(): number {
  return currentHost()?.comparesStates === true ? RETRY_BOUND : RETRY_BOUND_UNCOMPARED;
}

/** retryBound() where the executor compares states. */
export const RETRY_BOUND = 1000;
/** retryBound() where it does not. */
export const RETRY_BOUND_UNCOMPARED = 40;

/** Marks the end of a retry loop's invocation (every way out of it: call it in a `finally`). */
export function loopEnd(invocation: object): void {
  currentHost()?.loopEnd?.(invocation);
}

/**
 * Runs `body`, a call whose only effect on its caller's local state is the value it returns: no
 * callback into the caller, no change to caller-owned data that is not shared state. State folding
 * (docs/explorer.md) then counts the call in its thread's local state by that value alone, not by
 * every event inside it: a CPU access that faulted twice before it went through leaves its caller
 * where one that hit at once does. A call that throws counts by all its events. The value counts
 * by content when it is plain data, by its `foldCode` number when it has one (an identity that is
 * the same in every execution for the same object: a page table's, Table.foldCode); any other
 * object leaves the thread's state unknown (not folded while the thread runs). Without state
 * folding it is `body` itself.
 */
export function resultOnly<T>(body: Thread<T>): Thread<T> {
  const mark = currentHost()?.callEnter?.() ?? -1;
  return mark < 0 ? body : counted(body, mark);
}

function* counted<T>(body: Thread<T>, mark: number): Thread<T> {
  let ok = false;
  let value: T | undefined;
  try {
    value = yield* body;
    ok = true;
    return value;
  } finally {
    currentHost()?.callExit?.(mark, ok, value);
  }
}
