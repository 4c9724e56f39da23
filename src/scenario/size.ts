// Sizes and addresses in scenario files: a number of bytes, hex (`0x3800000000`), or a count with a
// binary unit (`4K`, `2M`, `1G`, `64k`, `1.5M` is refused: sizes are whole bytes).

import { z } from 'zod';

const UNIT: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** The accepted spellings, for messages and the JSON Schema. */
export const SIZE_PATTERN = '^(0[xX][0-9a-fA-F]+|[0-9]+[kKmMgGtT]?)$';
const SIZE_RE = new RegExp(SIZE_PATTERN);

/** Bytes for a size spelling, or undefined when it is not one (or not a safe integer). */
export function parseSize(v: unknown): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && SIZE_RE.test(v.trim())) {
    const s = v.trim();
    if (/^0x/i.test(s)) n = Number.parseInt(s.slice(2), 16);
    else {
      const unit = /[a-z]$/i.test(s) ? s.slice(-1).toUpperCase() : '';
      n = Number.parseInt(unit ? s.slice(0, -1) : s, 10) * UNIT[unit]!;
    }
  } else return undefined;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const sizeError = (iss: { input?: unknown }) =>
  `expected a size or address: bytes, hex such as 0x1000, or 4K / 2M / 1G; got ${show(iss.input)}`;

/** A zod schema for a size: validates the spelling, yields bytes. */
export const size = z
  .union([z.number().int().min(0), z.string().regex(SIZE_RE, { error: sizeError })], { error: sizeError })
  .transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({ code: 'custom', message: `${show(v)} is not a whole number of bytes below 2^53` });
      return z.NEVER;
    }
    return n;
  });

/** A short, safe rendering of a user value for messages. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
