// Schedules as short printable strings.
//
// A schedule lists which thread ran at each event, run-length encoded: thread 0 is `a`, 1 is `b`,
// ..., 25 is `z`, 26..51 are `A`..`Z`, and any thread may be written `{N}`; a count follows when a
// thread runs more than one event in a row. `a3b2a` = a a a b b a. An optional `:` and 8 hex digits
// is a checksum of the operations the execution performed, so a replay can tell when the model
// behaved differently (nondeterminism in model code) rather than silently run something else.

import { sha256Hex } from '../platform/sha256.js';

export interface DecodedSchedule {
  threads: number[];
  checksum?: string;
}

export class ScheduleError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

function threadCode(t: number): string {
  if (t < 26) return String.fromCharCode(97 + t);
  if (t < 52) return String.fromCharCode(65 + t - 26);
  return `{${t}}`;
}

export function encodeSchedule(threads: ArrayLike<number>, length: number, checksum?: string): string {
  let out = '';
  let i = 0;
  while (i < length) {
    const t = threads[i]!;
    let j = i + 1;
    while (j < length && threads[j] === t) j++;
    out += threadCode(t);
    if (j - i > 1) out += String(j - i);
    i = j;
  }
  return checksum ? `${out}:${checksum}` : out;
}

export function decodeSchedule(s: string): DecodedSchedule {
  const text = s.trim();
  const colon = text.indexOf(':');
  const body = colon >= 0 ? text.slice(0, colon) : text;
  const checksum = colon >= 0 ? text.slice(colon + 1) : undefined;
  if (checksum !== undefined && !/^[0-9a-f]{8}$/.test(checksum)) {
    throw new ScheduleError(`bad checksum "${checksum}": expected 8 hex digits after ':'`, colon + 1);
  }
  const threads: number[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body.charCodeAt(i);
    let t: number;
    if (c >= 97 && c <= 122) {
      t = c - 97;
      i++;
    } else if (c >= 65 && c <= 90) {
      t = c - 65 + 26;
      i++;
    } else if (c === 123) {
      const close = body.indexOf('}', i);
      const n = close > i ? body.slice(i + 1, close) : '';
      if (!/^\d+$/.test(n)) throw new ScheduleError(`bad thread number at position ${i}`, i);
      t = Number(n);
      i = close + 1;
    } else {
      throw new ScheduleError(`unexpected '${body[i]}' at position ${i}: expected a thread letter`, i);
    }
    let j = i;
    while (j < body.length && body.charCodeAt(j) >= 48 && body.charCodeAt(j) <= 57) j++;
    const count = j > i ? Number(body.slice(i, j)) : 1;
    if (count < 1 || !Number.isSafeInteger(count)) throw new ScheduleError(`bad count at position ${i}`, i);
    for (let k = 0; k < count; k++) threads.push(t);
    i = j;
  }
  return checksum === undefined ? { threads } : { threads, checksum };
}

/** Checksum of an execution's operations: object names and operation kinds, in order. */
export function opsChecksum(ops: Iterable<string>): string {
  return sha256Hex(ops, '\n').slice(0, 8);
}
