// SHA-256 of a sequence of strings, as lowercase hex: the schedule checksum's hash (schedule.ts).
// Node's crypto here; sha256.browser.ts is the same function over @noble/hashes, which the
// playground's bundle uses instead (scripts/build-playground.mjs swaps any `X.browser.ts` in for
// `X.ts`). test/playground/platform.test.ts checks that both give the same digests.

import { createHash } from 'node:crypto';

/** The hex SHA-256 of the strings, each followed by `separator`. */
export function sha256Hex(parts: Iterable<string>, separator: string): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update(separator);
  return h.digest('hex');
}
