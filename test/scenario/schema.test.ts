// The generated files about scenarios cannot go stale: schema/scenario.schema.json equals
// scenarioJsonSchema() and docs/scenarios.md equals scenarioReference(). The schema is a JSON
// Schema (draft 2020-12) that knows every operation, and every example validates against it.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseScenario } from '../../src/scenario/load.js';
import { OP_NAMES, OPS } from '../../src/scenario/ops.js';
import { type JsonSchema, REFERENCE_EXAMPLE, scenarioReference } from '../../src/scenario/reference.js';
import { scenarioJsonSchema } from '../../src/scenario/schema.js';

const REGENERATE =
  'run `npx tsc -p tsconfig.json && node scripts/gen-schema.mjs && node scripts/gen-scenario-docs.mjs`';
const SCHEMA_FILE = 'schema/scenario.schema.json';
const DOCS_FILE = 'docs/scenarios.md';

/**
 * A small validator for the keywords zod writes (no ajv): the paths where `v` breaks `s`.
 * Enough to tell a scenario that fits the schema from one that does not.
 */
function validate(s: JsonSchema, v: unknown, at = '$'): string[] {
  if (s.anyOf) {
    const each = s.anyOf.map((alt) => validate(alt, v, at));
    return each.some((e) => e.length === 0) ? [] : [`${at}: matches no alternative`, ...each.flat()];
  }
  const errors: string[] = [];
  if (s.enum && !s.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not in enum`);
  if (s.const !== undefined && s.const !== v) errors.push(`${at}: not ${JSON.stringify(s.const)}`);
  switch (s.type) {
    case undefined:
      break;
    case 'string':
      if (typeof v !== 'string') return [`${at}: not a string`];
      if (s.minLength !== undefined && v.length < s.minLength) errors.push(`${at}: too short`);
      if (s.pattern !== undefined && !new RegExp(s.pattern).test(v))
        errors.push(`${at}: does not match pattern`);
      break;
    case 'integer':
    case 'number':
      if (typeof v !== 'number' || (s.type === 'integer' && !Number.isInteger(v)))
        return [`${at}: not a ${s.type}`];
      if (s.minimum !== undefined && v < s.minimum) errors.push(`${at}: below ${s.minimum}`);
      if (s.maximum !== undefined && v > s.maximum) errors.push(`${at}: above ${s.maximum}`);
      break;
    case 'boolean':
      if (typeof v !== 'boolean') return [`${at}: not a boolean`];
      break;
    case 'array':
      if (!Array.isArray(v)) return [`${at}: not a list`];
      if (s.minItems !== undefined && v.length < s.minItems)
        errors.push(`${at}: fewer than ${s.minItems} items`);
      if (s.items) for (const [i, x] of v.entries()) errors.push(...validate(s.items, x, `${at}[${i}]`));
      break;
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return [`${at}: not a mapping`];
      const o = v as Record<string, unknown>;
      for (const k of s.required ?? []) if (!(k in o)) errors.push(`${at}: missing ${k}`);
      for (const [k, x] of Object.entries(o)) {
        const p = s.properties?.[k];
        if (s.propertyNames) errors.push(...validate(s.propertyNames, k, `${at}.${k} (key)`));
        if (p) errors.push(...validate(p, x, `${at}.${k}`));
        else if (s.additionalProperties === false) errors.push(`${at}: unknown key ${k}`);
        else if (typeof s.additionalProperties === 'object') {
          errors.push(...validate(s.additionalProperties, x, `${at}.${k}`));
        }
      }
      break;
    }
    default:
      errors.push(`${at}: the test's validator does not know type ${s.type}`);
  }
  return errors;
}

const committedSchema = (): string => readFileSync(SCHEMA_FILE, 'utf8');

describe('schema/scenario.schema.json', () => {
  test('is what scenarioJsonSchema() generates', () => {
    const want = `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`;
    assert.ok(committedSchema() === want, `${SCHEMA_FILE} is stale: ${REGENERATE}`);
  });

  test('is a draft 2020-12 JSON Schema of a mapping with name, devices and threads', () => {
    const s = JSON.parse(committedSchema()) as JsonSchema & { $id?: string; title?: string };
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.type, 'object');
    assert.equal(s.additionalProperties, false, 'unknown top-level keys are errors');
    assert.deepEqual(s.required, ['name', 'devices', 'threads']);
    assert.ok(s.properties?.threads && s.properties.setup && s.properties.devices && s.properties.design);
    assert.ok(s.$id && s.title);
  });

  test('knows every operation, in setup and in threads, with its doc and required arguments', () => {
    const s = JSON.parse(committedSchema()) as JsonSchema;
    const threadOps = (s.properties!.threads!.additionalProperties as JsonSchema).items!.anyOf!;
    const setupOps = s.properties!.setup!.items!.anyOf!;
    for (const [where, variants] of [
      ['threads', threadOps],
      ['setup', setupOps],
    ] as const) {
      const names = variants.map((v) => Object.keys(v.properties ?? {}).find((k) => k !== 'process'));
      assert.deepEqual(names, OP_NAMES, `${where}: one alternative per operation, in order`);
      for (const v of variants) {
        const name = v.required![0] as keyof typeof OPS;
        assert.equal(v.description, OPS[name].doc);
        assert.equal(v.additionalProperties, false);
        const args = v.properties![name]!;
        assert.equal(args.additionalProperties, false, `${name}: unknown arguments are errors`);
        const required = Object.entries(OPS[name].args.shape)
          .filter(
            ([, z]) => !(z as { safeParse(x: unknown): { success: boolean } }).safeParse(undefined).success,
          )
          .map(([k]) => k);
        assert.deepEqual(args.required ?? [], required, `${name}: required arguments`);
        // `process:` sits beside the operation, in setup only.
        assert.equal('process' in (v.properties ?? {}), where === 'setup', `${where} ${name}: process`);
      }
    }
  });

  test('sizes take bytes, hex or a unit, and defaults are shown', () => {
    const s = JSON.parse(committedSchema()) as JsonSchema;
    const mmap = s.properties!.setup!.items!.anyOf!.find((v) => v.properties?.mmap)!.properties!.mmap!;
    const offset = mmap.properties!.offset! as JsonSchema & { default?: unknown };
    assert.equal(offset.default, 0);
    for (const ok of [0, 4096, '4K', '2m', '1G', '0x1000'])
      assert.deepEqual(validate(offset, ok), [], String(ok));
    for (const bad of [-1, 1.5, '2X', '1.5M', 'x'])
      assert.notDeepEqual(validate(offset, bad), [], String(bad));
  });

  test('every example validates against it', () => {
    const s = JSON.parse(committedSchema()) as JsonSchema;
    const files = readdirSync('examples').filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length > 0);
    for (const f of files) {
      const doc = parse(readFileSync(join('examples', f), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(validate(s, doc), [], `examples/${f}`);
      for (const k of s.required!) assert.ok(k in doc, `examples/${f}: ${k}`);
    }
  });

  test('and a broken scenario does not (the validator above is not a no-op)', () => {
    const s = JSON.parse(committedSchema()) as JsonSchema;
    const good = parse(readFileSync('examples/reset-races-fault.yaml', 'utf8')) as Record<string, unknown>;
    assert.deepEqual(validate(s, good), []);
    const broken = [
      { ...good, thread: good.threads },
      { ...good, name: undefined },
      { ...good, threads: { vmm: [{ mmapp: { map: 'm' } }] } },
      { ...good, threads: { vmm: [{ load: { map: 'm', offest: 0 } }] } },
      { ...good, threads: { vmm: [{ load: { map: 'm' }, process: 'p' }] } },
      { ...good, machine: { thp: 'alwys' } },
      { ...good, design: 'upstreem' },
      { ...good, design: { name: 'v6.19', closeOrdr: 'cleanup-first' } },
      { ...good, devices: [{ name: 'gpu0', bars: [{ index: 0, size: '2X', phys: 0 }] }] },
      { ...good, expect: { violations: ['MAPING_AFTER_REVOKE'] } },
    ].map((d) => JSON.parse(JSON.stringify(d)));
    for (const d of broken) assert.notDeepEqual(validate(s, d), [], JSON.stringify(d));
  });
});

describe('docs/scenarios.md', () => {
  test('is what scenarioReference() generates', () => {
    const committed = readFileSync(DOCS_FILE, 'utf8');
    assert.ok(committed === scenarioReference(), `${DOCS_FILE} is stale: ${REGENERATE}`);
  });

  test('documents every operation with its kernel entry', () => {
    const md = scenarioReference();
    for (const name of OP_NAMES) {
      assert.ok(md.includes(`\n### ${name}\n\n${OPS[name].doc}\n`), name);
      assert.ok(md.includes(`Kernel: \`${OPS[name].kernel}\`.`), name);
    }
  });

  test('its example loads, and the defaults it states are the loader’s', () => {
    const sc = parseScenario(REFERENCE_EXAMPLE, 'docs/scenarios.md');
    assert.equal(sc.name, 'reset races a fault');
    assert.ok(scenarioReference().includes(REFERENCE_EXAMPLE.trimEnd()));
    const bare = parseScenario(
      'name: t\ndevices: [ { name: d, bars: [ { index: 0, size: 4K, phys: 0x1000 } ] } ]\nthreads: { a: [] }\n',
    );
    const md = scenarioReference();
    const defaultOf = (key: string): string => {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
      assert.ok(row, key);
      return row.split(' | ')[3]!;
    };
    assert.equal(defaultOf('arch'), `\`${bare.machine.arch}\``);
    assert.equal(defaultOf('thp'), `\`${bare.machine.thp}\``);
    assert.equal(defaultOf('design'), `\`${bare.design.name}\``);
    assert.equal(defaultOf('exactly'), `\`${bare.expect.exactly}\``);
    assert.equal(defaultOf('structPages'), `\`${bare.devices[0]!.bars[0]!.structPages}\``);
    assert.match(defaultOf('processes'), new RegExp(`\`${bare.processes[0]!.name}\``));
    assert.deepEqual(bare.expect.violations, []);
    assert.equal(defaultOf('expect'), '`{ violations: [] }`');
  });
});
