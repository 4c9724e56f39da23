// GUP_CONSISTENCY (src/invariants/gup-consistency.ts): it fires where gup-fast would take a page
// that slow GUP refuses, or where a page reference was taken through a pfnmap, and stays silent
// where the arch marks the leaf special.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkGupConsistency } from '../../src/invariants/gup-consistency.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';
import { explore, runAtomically } from '../../src/sched/index.js';
import { sysAccess, sysMmap, sysOpen } from '../../src/uapi/syscalls.js';
import { System } from '../../src/uapi/system.js';

const EXAMPLE = 'examples/gup-huge-pfnmap-nospecial.yaml';
const MiB = 2 ** 20;
const VA = 0x7f0000200000;
const PFN = 0x3800000000 / 4096;

/** The example's scenario with its machine line and design replaced. */
function variant(arch: string, guard: boolean) {
  const src = readFileSync(EXAMPLE, 'utf8')
    .replace(/^machine: .*$/m, `machine: { arch: ${arch}, thp: always }`)
    .replace(/^design: .*$/m, `design: { name: upstream, hugeFaultArchGuard: ${guard} }`)
    .replace(/^expect: .*$/m, 'expect: { violations: [] }')
    // Only the fault and slow GUP: what O_DIRECT returns differs between the variants.
    .replace(/^ {4}- direct_io: .*\n/m, '');
  return parseScenario(src, EXAMPLE);
}

const ids = (sc: ReturnType<typeof parseScenario>): string[] =>
  [...new Set(checkScenario(sc).violations.map((v) => v.invariant))].sort();

/** A system with one 2 MiB BAR whose pfns have struct pages, mapped and touched (one leaf). */
function touched(arch: 'x86_64' | 'x86_64-nospecial', guard: boolean): System {
  const s = new System({
    arch,
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: 2 * MiB, phys: 0x3800000000, structPages: true }] }],
    design: designOf('upstream', { hugeFaultArchGuard: guard }),
  });
  const p = s.spawn('vmm');
  const fd = runAtomically(sysOpen(p, 'gpu0'));
  runAtomically(sysMmap(p, fd, { region: 0, offset: 0, length: 2 * MiB, at: VA }));
  runAtomically(sysAccess(p, VA, false, 'setup'));
  return s;
}
/** Runs f where runAtomically() may run (a program's setup) and returns what it returned. */
function inSetup<T>(f: () => T): T {
  let out: T | undefined;
  explore({
    setup: () => {
      out = f();
      return {};
    },
    threads: { idle: function* () {} },
  });
  return out as T;
}

const check = (s: System): string[] => {
  const out: string[] = [];
  checkGupConsistency(s, (_id, m) => out.push(m));
  return out;
};

describe('GUP_CONSISTENCY', () => {
  test('fires on the example: an unmarked huge pfnmap leaf over struct pages (x86_64-nospecial)', () => {
    const r = checkScenario(parseScenario(readFileSync(EXAMPLE, 'utf8'), EXAMPLE));
    const v = r.violations.find((x) => x.invariant === 'GUP_CONSISTENCY');
    assert.ok(v, 'GUP_CONSISTENCY found');
    assert.match(v.message, /gup-fast takes page 0x3800000, slow GUP fails with -EFAULT/);
  });

  test('silent where the leaf is special or the arch guard keeps the mapping small', () => {
    assert.ok(ids(variant('x86_64-nospecial', false)).includes('GUP_CONSISTENCY'));
    assert.deepEqual(ids(variant('x86_64', false)), []);
    assert.deepEqual(ids(variant('arm64', false)), []);
    assert.deepEqual(ids(variant('x86_64-nospecial', true)), []);
  });

  test('compares the two paths on the state, without a GUP call', () => {
    const m = inSetup(() => check(touched('x86_64-nospecial', false)));
    assert.equal(m.length, 1);
    assert.match(m[0]!, /pmd leaf not marked special/);
    assert.deepEqual(
      inSetup(() => check(touched('x86_64', false))),
      [],
    );
  });

  test('flags a reference on a BAR page, however it was taken', () => {
    const [before, m] = inSetup(() => {
      const s = touched('x86_64', true);
      const clean = check(s);
      const range = s.machine.phys.lookup(PFN)!;
      runAtomically(
        range.counts.rmw((m) => {
          const n = new Map(m);
          n.set(PFN + 1, { refs: 1, pins: 0, longterm: 0 });
          return [n, undefined];
        }),
      );
      return [clean, check(s)];
    });
    assert.deepEqual(before, []);
    assert.equal(m.length, 1);
    assert.match(m[0]!, /page 0x3800001 of gpu0\/BAR0 holds 1 reference/);
  });
});
