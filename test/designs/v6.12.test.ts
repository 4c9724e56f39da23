// The v6.12 design (huge_fault as first shipped, f9e54c3a2f5b) against upstream.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESIGNS, type DesignName } from '../../src/designs/design.js';
import { checkSystem, watchSystem } from '../../src/invariants/system.js';
import { explore, runAtomically } from '../../src/sched/index.js';
import { outcomeOf } from '../../src/uapi/errno.js';
import { sysAccess, sysCommand, sysExport, sysMmap, sysOpen } from '../../src/uapi/syscalls.js';
import { type Process, System } from '../../src/uapi/system.js';
import { runOnce } from '../kernel/helpers/run.js';

const MiB = 2 ** 20;
const VA = 0x7f0000000000;
type S = System & { p: Process; fd: number };

function world(design: DesignName, mapOffset: number): S {
  const s = new System({
    design: DESIGNS[design],
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: 8 * MiB, phys: 0x3800000000 }] }],
  }) as S;
  watchSystem(s);
  s.p = s.spawn('vmm');
  s.fd = runAtomically(sysOpen(s.p, 'gpu0'));
  runAtomically(sysMmap(s.p, s.fd, { region: 0, offset: mapOffset, length: 4 * MiB, at: VA }));
  return s;
}

const leaves = (s: S) =>
  s.p.mm.pt
    .leafList()
    .map((l) => `${l.level}@${(l.base - VA).toString(16)}`)
    .join(',');

describe('v6.12 vs upstream', () => {
  test('a BAR mapped 4 KiB into the BAR at a 2 MiB-aligned VA: v6.12 builds a PMD leaf from a misaligned pfn', () => {
    const run = (d: DesignName) =>
      explore({
        setup: () => world(d, 4096),
        threads: {
          cpu: function* (s) {
            yield* sysAccess(s.p, VA, false, 'cpu');
          },
        },
        invariant: (s) => checkSystem(s),
      });
    const v = run('v6.12').violations.find((x) => x.id === 'HUGE_LEAF');
    assert.ok(v);
    assert.match(v.message, /pmd leaf at 0x7f0000000000 maps unaligned pfn 0x3800001/);
    assert.deepEqual(run('upstream').violations, []);
  });

  test('v6.12 does not round the fault address: a fault inside a block falls back to a PTE', () => {
    const touch = (d: DesignName) =>
      leaves(
        runOnce(
          () => world(d, 0),
          function* (s) {
            yield* sysAccess(s.p, VA + 5 * 4096, false, 'cpu');
          },
        ).state,
      );
    assert.equal(touch('v6.12'), 'pte@5000');
    assert.equal(touch('upstream'), 'pmd@0');
  });

  test('v6.12 has no dma-buf export: the feature is unknown (-ENOTTY)', () => {
    const { result } = runOnce(
      () => world('v6.12', 0),
      function* (s) {
        return outcomeOf(yield* sysExport(s.p, s.fd, 0, [{ offset: 0, length: MiB }]));
      },
    );
    assert.equal(result, 'ENOTTY');
  });
});

describe('v6.10', () => {
  test('no huge_fault: an aligned BAR mapping still gets PTEs, and memory off still zaps them', () => {
    const { state, result } = runOnce(
      () => world('v6.10', 0),
      function* (s) {
        yield* sysAccess(s.p, VA, false, 'cpu');
        const before = leaves(s);
        yield* sysCommand(s.p, s.fd, false);
        return [before, leaves(s), yield* sysAccess(s.p, VA, false, 'cpu')];
      },
    );
    assert.deepEqual(result, ['pte@0', '', 'sigbus']);
    assert.equal(leaves(state), '');
  });
});
