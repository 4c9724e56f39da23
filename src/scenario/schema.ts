// The shape of a scenario file (docs/scenarios.md), as zod schemas: the loader
// validates with them and the JSON Schema for editors is generated from them. Operation lists are
// checked one operation at a time by the loader (ops.ts), for precise messages.

import { z } from 'zod';
import { DESIGN_NAMES, DESIGNS, OPTION_VALUES } from '../designs/design.js';
import { INVARIANT_IDS } from '../invariants/system.js';
import { VFIO_PCI_DRIVER_NAMES } from '../kernel/vfio/pci/driver-names.js';
import { OPS } from './ops.js';
import { size } from './size.js';

/** The explorer's own checks, reported beside the invariants. */
export const EXPLORER_IDS = ['DEADLOCK', 'LOCK_ORDER', 'ERROR', 'EXPECT'] as const;
export const ALL_IDS = [...INVARIANT_IDS, ...EXPLORER_IDS] as const;

const name = z.string().min(1, { error: 'a name cannot be empty' });

/** Design options as a scenario spells them: each with the values it takes. */
function optionShape(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, values] of Object.entries(OPTION_VALUES)) {
    const v = values as readonly (string | boolean | number)[];
    shape[k] =
      typeof v[0] === 'boolean'
        ? z.boolean().optional()
        : typeof v[0] === 'number'
          ? z
              .union(
                v.map((x) => z.literal(x as number)) as unknown as [
                  z.ZodLiteral<number>,
                  z.ZodLiteral<number>,
                ],
              )
              .optional()
          : z.enum(v as [string, ...string[]]).optional();
  }
  return shape;
}

const designName = z.enum(DESIGN_NAMES as [string, ...string[]]);
export const designSchema = z.union([designName, z.strictObject({ name: designName, ...optionShape() })]);

const bar = z.strictObject({
  index: z.number().int().min(0).max(5),
  size,
  phys: size,
  structPages: z.boolean().optional(),
});

const device = z.strictObject({
  name,
  driver: z.enum(VFIO_PCI_DRIVER_NAMES).optional(),
  bars: z.array(bar).min(1),
  reset: z.boolean().optional(),
  noCommandMemory: z.boolean().optional(),
  ats: z.boolean().optional(),
});

const opList = z.array(z.unknown());

export const scenarioSchema = z.strictObject({
  name,
  description: z.string().optional(),
  machine: z
    .strictObject({
      arch: z.enum(['x86_64', 'arm64', 'x86_64-nospecial']).optional(),
      thp: z.enum(['always', 'madvise', 'never']).optional(),
      lockChains: z
        .array(z.array(z.string().min(1)).min(2, { error: 'a chain names at least two lock classes' }))
        .optional(),
    })
    .optional(),
  devices: z.array(device).min(1),
  design: designSchema.optional(),
  processes: z.record(name, z.array(name)).optional(),
  setup: opList.optional(),
  threads: z.record(name, opList),
  check: z
    .strictObject({
      strategy: z.enum(['dpor', 'exhaustive', 'random', 'pct']).optional(),
      invariants: z.union([z.literal('all'), z.array(z.enum(INVARIANT_IDS))]).optional(),
      maxExecutions: z.number().int().min(1).optional(),
      preemptionBound: z.number().int().min(0).optional(),
      seed: z.number().int().optional(),
      maxSteps: z.number().int().min(1).optional(),
      /** dpor: critical sections of the locks no invariant reads, explored in both orders only when they conflict (default true). */
      lazyLocks: z.boolean().optional(),
      /** dpor: fold the states met at retry-loop heads across executions (default false). */
      foldStates: z.boolean().optional(),
      /** Read-only critical sections (Mutex.lockReadOnly) overlap each other (default true). */
      readOnlySections: z.boolean().optional(),
      /** Stop once every expected violation is found (none expected: at the first violation). */
      stopAtFirst: z.boolean().optional(),
      /** Stop after this long: milliseconds, or a number with ms, s, m or h. */
      timeLimit: z
        .union([
          z.number().int().min(1),
          z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as 500ms, 30s, 2m or 1h'),
        ])
        .optional(),
    })
    .optional(),
  expect: z
    .strictObject({
      violations: z.array(z.enum(ALL_IDS)),
      /** Extension: the ids found must be exactly these (default: at least these). */
      exactly: z.boolean().optional(),
      /**
       * Per-design expectations: a design named here is judged by its own list ("this design has
       * the bug / does not"), any other by `violations`.
       */
      designs: z.partialRecord(designName, z.array(z.enum(ALL_IDS))).optional(),
    })
    .optional(),
});

export type RawScenario = z.infer<typeof scenarioSchema>;

/** The JSON Schema of a scenario file (schema/scenario.schema.json), for editor completion. */
export function scenarioJsonSchema(): Record<string, unknown> {
  // `process:` sits beside the operation's name, in setup only (a thread runs in its own process).
  const opItem = (setup: boolean) =>
    z.union(
      Object.entries(OPS).map(([k, s]) =>
        z.strictObject({ [k]: s.args, ...(setup ? { process: name.optional() } : {}) }).describe(s.doc),
      ) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]],
    );
  const withOps = scenarioSchema.extend({
    setup: z.array(opItem(true)).optional(),
    threads: z.record(name, z.array(opItem(false))),
  });
  const js = z.toJSONSchema(withOps, {
    io: 'input',
    unrepresentable: 'any',
    // zod leaves out the default of a transformed type (sizes): put it back.
    override: ({ zodSchema, jsonSchema }) => {
      const def = (zodSchema as { _zod: { def: { type: string; defaultValue?: unknown } } })._zod.def;
      if (def.type === 'default' && jsonSchema.default === undefined) jsonSchema.default = def.defaultValue;
    },
  }) as Record<string, unknown>;
  return {
    $id: 'https://vfio-dmabuf-model.invalid/scenario.schema.json',
    title: 'vfio-dmabuf-model scenario',
    description: `A scenario for vdm. Designs: ${Object.values(DESIGNS)
      .map((d) => d.name)
      .join(', ')}.`,
    ...js,
  };
}
