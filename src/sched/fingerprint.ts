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

/**
 * An exact encoding of everything reachable from `roots`, for comparing two states of one
 * execution: every object by its class and own enumerable fields in order, to any depth; an object
 * met again (shared, or in a cycle) as a back reference to its first visit, so two encodings are
 * equal only if the graphs are the same shape with the same data. Functions encode as `fn` (what
 * a closure captured is not seen). `fields` picks an object's fields to encode (all own
 * enumerable ones when it returns undefined): sched objects leave out identity and configuration.
 */
export function encodeGraph(
  roots: readonly unknown[],
  fields: (o: object) => readonly string[] | undefined,
): string {
  const seen = new Map<object, number>();
  // One growing string (V8 builds it as a rope): no array of pieces to join.
  let out = '';
  const visit = (v: unknown): void => {
    switch (typeof v) {
      case 'undefined':
        out += 'u,';
        return;
      case 'number':
      case 'boolean':
      case 'bigint':
        out += `${v},`;
        return;
      case 'string':
        // Length-prefixed: no escaping needed to keep two encodings apart.
        out += `${v.length}"${v},`;
        return;
      case 'function':
        out += 'f,';
        return;
      case 'symbol':
        out += `${v.toString()},`;
        return;
    }
    if (v === null) {
      out += 'n,';
      return;
    }
    const o = v as object;
    const ref = seen.get(o);
    if (ref !== undefined) {
      out += `^${ref},`;
      return;
    }
    seen.set(o, seen.size);
    if (Array.isArray(o)) {
      out += `[${o.length}`;
      for (let i = 0; i < o.length; i++) visit(o[i]);
      out += '],';
      return;
    }
    if (o instanceof Map) {
      out += `M${o.size}`;
      for (const [k, x] of o) {
        visit(k);
        visit(x);
      }
      out += '},';
      return;
    }
    if (o instanceof Set) {
      out += `S${o.size}`;
      for (const x of o) visit(x);
      out += '},';
      return;
    }
    if (ArrayBuffer.isView(o)) {
      out += `${o.constructor.name}(${Array.prototype.join.call(o, ',')}),`;
      return;
    }
    if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef || o instanceof Promise) {
      // Not enumerable: two such objects are told apart by identity only.
      out += `${o.constructor.name}#${seen.get(o)},`;
      return;
    }
    const rec = o as Record<string, unknown>;
    out += `${o.constructor?.name ?? ''}{`;
    const keys = fields(o) ?? Object.keys(rec);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      out += `${k}:`;
      visit(rec[k]);
    }
    out += '},';
  };
  for (const r of roots) {
    visit(r);
    out += '|';
  }
  return out;
}
