// Two retry loops that undo each other (a fault and a zap loop, reduced): the setter writes 1 to
// x and retries until it reads its own 1 back, then sets `done`; the clearer writes 0 each time it
// reads a 1 and stops when it reads 0. They can take turns for ever.

import { type Cell, loopEnd, loopHead, type Thread } from '../../../src/sched/index.js';

export function* tugSetter(x: Cell<number>, done: Cell<boolean>): Thread<void> {
  const inv = {};
  try {
    for (;;) {
      loopHead(inv);
      yield* x.write(1);
      if ((yield* x.read()) === 1) break;
    }
  } finally {
    loopEnd(inv);
  }
  yield* done.write(true);
}

/** `onPass` runs (plain code, between the read and the write) on each pass that clears x. */
export function* tugClearer(x: Cell<number>, onPass?: () => void): Thread<void> {
  const inv = {};
  try {
    for (;;) {
      loopHead(inv);
      if ((yield* x.read()) !== 1) return;
      onPass?.();
      yield* x.write(0);
    }
  } finally {
    loopEnd(inv);
  }
}
