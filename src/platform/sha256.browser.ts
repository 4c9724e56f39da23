// The browser's sha256.ts (the playground's bundle): the same digest over @noble/hashes, a pure-JS,
// audited implementation, since node:crypto is not there and Web Crypto's digest is asynchronous.

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/** The hex SHA-256 of the strings, each followed by `separator`. */
export function sha256Hex(parts: Iterable<string>, separator: string): string {
  const h = sha256.create();
  const sep = utf8ToBytes(separator);
  for (const p of parts) h.update(utf8ToBytes(p)).update(sep);
  return bytesToHex(h.digest());
}
