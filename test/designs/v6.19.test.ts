// The v6.19 design (dma-buf export as first shipped) against upstream (v7.1): the explorer
// re-finds what v7.1 fixed, on the same scenario.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESIGNS, type DesignName, designOf } from '../../src/designs/design.js';
import { watchSystem } from '../../src/invariants/system.js';
import type { Importer } from '../../src/kernel/dma-buf/importer.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile } from '../../src/scenario/load.js';
import { type Program, runAtomically } from '../../src/sched/index.js';
import {
  sysClose,
  sysCommand,
  sysExport,
  sysImport,
  sysImporterDma,
  sysImporterUnmap,
  sysOpen,
} from '../../src/uapi/syscalls.js';
import { type Process, System } from '../../src/uapi/system.js';
import { exploreSystem, runOnce } from '../kernel/helpers/run.js';

const MiB = 2 ** 20;
type S = System & { p: Process; fd: number; buf: number; imp: Importer };

function world(design: DesignName, o: { ignoresMove?: boolean } = {}): S {
  const s = new System({
    design: DESIGNS[design],
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000 }] }],
  }) as S;
  watchSystem(s);
  s.p = s.spawn('vmm');
  s.fd = runAtomically(sysOpen(s.p, 'gpu0'));
  s.buf = runAtomically(sysExport(s.p, s.fd, 0, [{ offset: 0, length: MiB }]));
  s.imp = runAtomically(
    sysImport(s.p, s.buf, 'rdma', { revocable: true, ignoresMove: o.ignoresMove ?? false }),
  ) as Importer;
  return s;
}

// Explored as `vdm check` explores (with every object visible instead, the close-vs-DMA search
// below ran 383,220 executions in a minute; like this, 63).
const run = (design: DesignName, threads: Program<S>['threads'], o: { ignoresMove?: boolean } = {}) =>
  exploreSystem(() => world(design, o), threads);
const ids = (r: ReturnType<typeof run>) => [...new Set(r.violations.map((v) => v.id))].sort();

describe('v6.19 vs upstream', () => {
  test('close vs importer DMA: v6.19 disables before cleanup, so DMA reaches a disabled BAR (CVE-2026-53322)', () => {
    const threads: Program<S>['threads'] = {
      rdma: function* (s) {
        yield* sysImporterDma(s.p, s.imp);
        yield* sysImporterUnmap(s.imp);
      },
      vmm: function* (s) {
        yield* sysClose(s.p, s.fd);
      },
    };
    assert.deepEqual(ids(run('v6.19', threads)), ['MMIO_WHILE_DISABLED']);
    assert.deepEqual(ids(run('upstream', threads)), []);
  });

  test('memory off vs importer DMA: v6.19 only notifies, so DMA can still reach the BAR after the revoke', () => {
    const threads: Program<S>['threads'] = {
      rdma: function* (s) {
        yield* sysImporterDma(s.p, s.imp);
        yield* sysImporterUnmap(s.imp);
      },
      admin: function* (s) {
        yield* sysCommand(s.p, s.fd, false);
      },
    };
    // The importer unmaps from its callback, but nothing waits for the DMA it had started.
    assert.deepEqual(ids(run('v6.19', threads)), ['MMIO_WHILE_DISABLED']);
    assert.deepEqual(ids(run('upstream', threads)), []);
    // An importer that defers its unmap (ignoresMove) also still holds its mapping after the
    // revoke returned on v6.19; upstream's revoke waits for that unmap.
    assert.deepEqual(ids(run('v6.19', threads, { ignoresMove: true })), [
      'MAPPING_AFTER_REVOKE',
      'MMIO_WHILE_DISABLED',
    ]);
    assert.deepEqual(ids(run('upstream', threads, { ignoresMove: true })), []);
  });

  test('importers: v6.19 takes a non-revocable importer but refuses a pinned one; upstream the reverse', () => {
    const attach = (design: DesignName) =>
      runOnce(
        () => world(design),
        function* (s) {
          const a = yield* sysImport(s.p, s.buf, 'legacy', { revocable: false });
          const b = yield* sysImport(s.p, s.buf, 'pinned', { revocable: true, pinned: true });
          return [typeof a === 'number' ? a : 'ok', typeof b === 'number' ? b : 'ok'];
        },
      ).result;
    assert.deepEqual(attach('v6.19'), ['ok', -95]);
    assert.deepEqual(attach('upstream'), [-95, 'ok']);
  });

  test('v6.19-rc1..rc7 (importers: any, before 61ceaf236115): a pinned importer attaches and keeps the BAR through a revoke', () => {
    const sc = loadScenarioFile('examples/v6.19-rc-pinned-importer.yaml');
    const found = (importers: 'any' | 'any-no-pin') => {
      const r = checkScenario(sc, { design: designOf('v6.19', { importers }) });
      assert.equal(r.complete, true);
      return [...new Set(r.violations.map((v) => v.invariant))].sort();
    };
    assert.deepEqual(found('any'), ['MAPPING_AFTER_REVOKE', 'MMIO_WHILE_DISABLED']);
    assert.deepEqual(found('any-no-pin'), []);
  });

  test('designs are chosen by name; options can be overridden; unknown ones are refused', () => {
    assert.equal(designOf('upstream').options.closeOrder, 'cleanup-first');
    assert.equal(designOf('upstream', { closeOrder: 'disable-first' }).options.closeOrder, 'disable-first');
    assert.throws(() => designOf('v9.9'), /unknown design "v9.9"/);
    assert.throws(() => designOf('upstream', { bogus: 1 } as never), /has no option "bogus"/);
  });
});
