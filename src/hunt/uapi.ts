// The modelled uAPI as the hunter sees it (docs/hunt.md, "The uAPI description"): derived from the
// scenario operations' own table (src/scenario/ops.ts) — each argument's zod schema gives its type,
// `uses` the kind of handle it names, `creates` what `as` makes — so an operation added to the
// table is hunted with no second list to keep. Only what the schemas cannot say is named here: the
// value pools of a few argument roles (an address, a BAR index, an fd limit).

import type { z } from 'zod';
import { type HandleKind, OP_NAMES, OPS, type OpName } from '../scenario/ops.js';
import { size } from '../scenario/size.js';

/** What values an argument takes. */
export type ArgDomain =
  /** A handle of this kind that exists in the operation's process. */
  | { kind: 'handle'; handle: HandleKind }
  /** A list of such handles (hot_reset's and container's `fds`). */
  | { kind: 'handles'; handle: HandleKind }
  /** A new name for the handle the operation creates (`as`). */
  | { kind: 'new'; creates: HandleKind }
  /** A device of the machine (by name). */
  | { kind: 'device' }
  /** A process of the scenario (send's `to`). */
  | { kind: 'process' }
  /** Bytes: an address (`at`, `iova`), an offset (`offset`, `mapOffset`) or a length. */
  | { kind: 'size'; role: SizeRole }
  /** A whole number in [min, max]; `region` is a BAR index. */
  | { kind: 'int'; min: number; max: number; role: 'region' | 'count' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  /** A list of records (export's `ranges`). */
  | { kind: 'list'; item: readonly ArgDescription[] };

export type SizeRole = 'address' | 'offset' | 'length';

export interface ArgDescription {
  name: string;
  domain: ArgDomain;
  optional: boolean;
}

export interface OpDescription {
  name: OpName;
  kernel: string;
  args: readonly ArgDescription[];
  /** The handle kinds it consumes (each `uses` argument, required or not). */
  uses: readonly HandleKind[];
  /** The handle kind it creates, if any. */
  creates?: HandleKind;
}

/** Arguments whose values the schemas cannot tell apart from plain sizes or numbers. */
const ADDRESS_ARGS = new Set(['at', 'iova']);
const REGION_ARGS = new Set(['region']);

interface ZodDef {
  type: string;
  innerType?: z.ZodType;
  entries?: Record<string, string>;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}

const defOf = (s: z.ZodType): ZodDef => (s as unknown as { _zod: { def: ZodDef } })._zod.def;

/** The schema under optional()/default(), and whether the argument may be left out. */
function unwrap(s: z.ZodType): { schema: z.ZodType; optional: boolean } {
  let optional = false;
  let cur = s;
  for (let d = defOf(cur); d.type === 'optional' || d.type === 'default'; d = defOf(cur)) {
    optional = true;
    cur = d.innerType as z.ZodType;
  }
  return { schema: cur, optional };
}

/** An argument the description cannot type: the operation is left out of hunting (a test keeps this empty). */
export class UntypedArgument extends Error {}

function describeArg(
  op: string,
  name: string,
  schema: z.ZodType,
  uses: Record<string, HandleKind>,
  creates: HandleKind | undefined,
): ArgDescription {
  const { schema: s, optional } = unwrap(schema);
  const d = defOf(s);
  const arg = (domain: ArgDomain): ArgDescription => ({ name, domain, optional });
  if (s === size)
    return arg({
      kind: 'size',
      role: ADDRESS_ARGS.has(name) ? 'address' : /offset$/i.test(name) ? 'offset' : 'length',
    });
  switch (d.type) {
    case 'string':
      if (uses[name]) return arg({ kind: 'handle', handle: uses[name] });
      if (name === 'as' && creates) return arg({ kind: 'new', creates });
      if (name === 'device') return arg({ kind: 'device' });
      if (name === 'to') return arg({ kind: 'process' });
      break;
    case 'boolean':
      return arg({ kind: 'bool' });
    case 'enum':
      return arg({ kind: 'enum', values: Object.keys(d.entries ?? {}) });
    case 'number': {
      const n = s as unknown as { minValue: number | null; maxValue: number | null };
      return arg({
        kind: 'int',
        min: n.minValue ?? 0,
        max: n.maxValue ?? 2 ** 31,
        role: REGION_ARGS.has(name) ? 'region' : 'count',
      });
    }
    case 'array': {
      const el = unwrap(d.element as z.ZodType).schema;
      const ed = defOf(el);
      if (ed.type === 'string' && uses[name]) return arg({ kind: 'handles', handle: uses[name] });
      if (ed.type === 'object' && ed.shape) {
        const item = Object.entries(ed.shape).map(([k, v]) => describeArg(op, k, v, {}, undefined));
        return arg({ kind: 'list', item });
      }
      break;
    }
  }
  throw new UntypedArgument(`${op}.${name}: the hunter has no value domain for a ${d.type}`);
}

function describeOp(name: OpName): OpDescription {
  const spec = OPS[name];
  const args: ArgDescription[] = [];
  for (const [k, v] of Object.entries(spec.args.shape)) {
    if (k === 'expect') continue; // a generated program expects nothing: what happens is the finding
    args.push(describeArg(name, k, v as z.ZodType, spec.uses, spec.creates));
  }
  const d: OpDescription = { name, kernel: spec.kernel, args, uses: [...new Set(Object.values(spec.uses))] };
  if (spec.creates) d.creates = spec.creates;
  return d;
}

let cached: { ops: OpDescription[]; untyped: string[] } | undefined;

/** Every scenario operation the hunter can generate, and those it cannot (with why). */
export function describeUapi(): { ops: readonly OpDescription[]; untyped: readonly string[] } {
  if (cached) return cached;
  const ops: OpDescription[] = [];
  const untyped: string[] = [];
  for (const name of OP_NAMES) {
    try {
      ops.push(describeOp(name));
    } catch (e) {
      if (!(e instanceof UntypedArgument)) throw e;
      untyped.push(e.message);
    }
  }
  cached = { ops, untyped };
  return cached;
}

/** The description op by op, one line each: `vdm hunt --describe`. */
export function uapiText(): string {
  const show = (a: ArgDescription): string => {
    const d = a.domain;
    const t =
      d.kind === 'handle'
        ? d.handle
        : d.kind === 'handles'
          ? `[${d.handle}...]`
          : d.kind === 'new'
            ? `new ${d.creates}`
            : d.kind === 'size'
              ? d.role
              : d.kind === 'int'
                ? d.role === 'region'
                  ? 'BAR index'
                  : `${d.min}..${d.max}`
                : d.kind === 'enum'
                  ? d.values.join('|')
                  : d.kind === 'list'
                    ? `[{${d.item.map(show).join(', ')}}...]`
                    : d.kind;
    return `${a.name}${a.optional ? '?' : ''}: ${t}`;
  };
  const { ops, untyped } = describeUapi();
  const lines = ops.map(
    (o) => `${o.name}(${o.args.map(show).join(', ')})${o.creates ? ` -> ${o.creates}` : ''}   ${o.kernel}`,
  );
  for (const u of untyped) lines.push(`not hunted: ${u}`);
  return lines.join('\n');
}
