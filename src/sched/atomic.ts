// Running model code to completion inside setup(): the sequential part of a scenario (open a
// device, mmap it, touch a page) before the explored threads start. Its operations apply at once,
// with no events and no interleaving; an operation that would block is a setup error.

import { OP_NAME, type Op, VOID } from './op.js';
import { currentHost } from './prim.js';
import type { Thread } from './program.js';

/** The thread index setup code runs as (lock owners, reader counts). Programs have fewer threads. */
export const SETUP_THREAD = 255;

interface Applicable {
  name: string;
  type: string;
  enabled(kind: number, t: number): boolean;
  apply(kind: number, t: number, arg: unknown): unknown;
}

/** A setup operation that would wait for something only a thread could do: setup never ends. */
export class SetupBlocks extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupBlocks';
  }
}

export function runAtomically<T>(thread: Thread<T>): T {
  const host = currentHost();
  if (!host?.inSetup) throw new Error('runAtomically() runs only inside setup()');
  let r = thread.next();
  while (!r.done) {
    const op = r.value as Op;
    const o = op.obj as unknown as Applicable;
    if (!o.enabled(op.kind, SETUP_THREAD)) {
      throw new SetupBlocks(`setup: ${OP_NAME[op.kind]} on ${o.type} ${o.name} would block`);
    }
    const res = o.apply(op.kind, SETUP_THREAD, op.arg);
    // A down_write queues first; its wait half, next, is the one that must be able to run.
    r = thread.next(res === undefined ? VOID : res);
  }
  return r.value;
}
