// Fingerprints of an execution's state, for the explorer's optional state cache: the shared state
// (every object's value or lock state) and each thread's local state. Model code is deterministic,
// so a thread's local state is a function of the results its events returned: a running hash of
// them stands for it. Two states with the same fingerprint are the same state — provided all
// shared state lives in sched objects (see ExploreOptions.stateCache).

/** 64-bit FNV-1a over a string, as two 32-bit lanes; 16 hex digits. */
export function hash64(s: string, seedLo = 0x811c9dc5, seedHi = 0x01000193): string {
  let lo = seedLo >>> 0;
  let hi = seedHi >>> 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    lo = Math.imul(lo ^ c, 0x01000193) >>> 0;
    hi = Math.imul(hi ^ c ^ (lo >>> 13), 0x01000193) >>> 0;
  }
  return lo.toString(16).padStart(8, '0') + hi.toString(16).padStart(8, '0');
}

/** A 32-bit running hash: folds `s` into `h`. */
export function foldHash(h: number, s: string): number {
  let x = (h ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return x;
}

/**
 * A stable encoding of a value: primitives as themselves, arrays and plain objects by content
 * (keys sorted), Maps and Sets by entries, other objects by their own enumerable data fields.
 * Depth-limited (objects deeper than 6 levels are encoded by their constructor name only).
 */
export function encodeValue(v: unknown, depth = 0): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'undefined':
      return 'u';
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'string':
      return JSON.stringify(v);
    case 'function':
      return 'fn';
    case 'symbol':
      return v.toString();
  }
  if (depth > 6) return `<${(v as object).constructor?.name ?? 'object'}>`;
  if (Array.isArray(v)) return `[${v.map((x) => encodeValue(x, depth + 1)).join(',')}]`;
  if (v instanceof Map) {
    const parts = [...v.entries()].map(
      ([k, x]) => `${encodeValue(k, depth + 1)}:${encodeValue(x, depth + 1)}`,
    );
    parts.sort();
    return `M{${parts.join(',')}}`;
  }
  if (v instanceof Set) {
    const parts = [...v].map((x) => encodeValue(x, depth + 1));
    parts.sort();
    return `S{${parts.join(',')}}`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${k}:${encodeValue(o[k], depth + 1)}`).join(',')}}`;
}

/** String hashes (strings are keys and names, met again and again): the engine hashes the key. */
const STRING_HASH = new Map<string, number>();

function stringHash(s: string): number {
  let h = STRING_HASH.get(s);
  if (h === undefined) {
    h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ s.length, 0x9e3779b1);
    if (s.length <= 64 && STRING_HASH.size < 1 << 16) STRING_HASH.set(s, h);
  }
  return h;
}

/**
 * A 64-bit hash (two 32-bit lanes) of everything reachable from `roots`, for comparing two states
 * of one execution: every object by its class and own enumerable fields in order, to any depth; an
 * object met again (shared, or in a cycle) as a back reference to its first visit, so equal graphs
 * (same shape, same data) hash alike, and two different ones alike with odds of about 2^-64 per
 * comparison (hash compaction, as the state cache's). Functions hash as one constant (what a
 * closure captured is not seen). `fields` picks an object's fields (all own enumerable ones when it
 * returns undefined): sched objects leave out identity and configuration. Allocates nothing but
 * the visited map.
 */
export function hashGraph(
  roots: readonly unknown[],
  fields: (o: object) => readonly string[] | undefined,
): string {
  const seen = new Map<object, number>();
  // The lanes are kept as signed 32-bit integers (`| 0`), which the engine stores unboxed; unsigned
  // ones (`>>> 0`) of 2^31 and above would be a heap number for every store into these captured
  // variables. The bits are the same: they become unsigned only when printed.
  let a = 0x811c9dc5 | 0;
  let b = 0x01000193;
  const mix = (x: number): void => {
    a = Math.imul(a ^ x, 0x01000193);
    b = (Math.imul(b ^ x, 0x5bd1e995) + (a >>> 7)) | 0;
  };
  const num = (v: number): void => {
    if (Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
      mix(v | 0);
      mix(Math.floor(v / 4294967296) | 0);
    } else mix(stringHash(String(v)));
  };
  const visit = (v: unknown): void => {
    switch (typeof v) {
      case 'undefined':
        mix(1);
        return;
      case 'number':
        mix(2);
        num(v);
        return;
      case 'boolean':
        mix(v ? 3 : 4);
        return;
      case 'bigint':
        mix(5);
        mix(stringHash(v.toString()));
        return;
      case 'string':
        mix(6);
        mix(stringHash(v));
        return;
      case 'function':
        mix(7);
        return;
      case 'symbol':
        mix(8);
        mix(stringHash(v.toString()));
        return;
    }
    if (v === null) {
      mix(9);
      return;
    }
    const o = v as object;
    const ref = seen.get(o);
    if (ref !== undefined) {
      mix(10);
      mix(ref);
      return;
    }
    seen.set(o, seen.size);
    if (Array.isArray(o)) {
      mix(11);
      mix(o.length);
      for (let i = 0; i < o.length; i++) visit(o[i]);
      return;
    }
    if (o instanceof Map) {
      mix(12);
      mix(o.size);
      for (const [k, x] of o) {
        visit(k);
        visit(x);
      }
      return;
    }
    if (o instanceof Set) {
      mix(13);
      mix(o.size);
      for (const x of o) visit(x);
      return;
    }
    if (ArrayBuffer.isView(o)) {
      mix(14);
      mix(stringHash(o.constructor.name));
      const arr = o as unknown as ArrayLike<number>;
      mix(arr.length);
      for (let i = 0; i < arr.length; i++) num(Number(arr[i]));
      return;
    }
    if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef || o instanceof Promise) {
      // Not enumerable: told apart by identity only.
      mix(15);
      mix(seen.get(o)!);
      return;
    }
    const rec = o as Record<string, unknown>;
    mix(16);
    mix(stringHash(o.constructor?.name ?? ''));
    const keys = fields(o) ?? Object.keys(rec);
    mix(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      mix(stringHash(k));
      visit(rec[k]);
    }
  };
  for (const r of roots) {
    visit(r);
    mix(17);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}
