// VFIO dma-buf export and revoke (docs/vfio-pci.md, "dma-buf"): every export errno, importers refused while
// revoked or when not revocable, a revoke that waits for importer DMA and unmaps, cleanup at close.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../../../src/designs/design.js';
import { type DmaBuf, dmaBufGet } from '../../../../src/kernel/dma-buf/dma-buf.js';
import {
  type Importer,
  importerAttach,
  importerDma,
  importerUnmap,
} from '../../../../src/kernel/dma-buf/importer.js';
import { closeFile, type File } from '../../../../src/kernel/fs/file.js';
import { PAGE_SIZE } from '../../../../src/kernel/mm/arch.js';
import { PCI_COMMAND_MEMORY } from '../../../../src/kernel/pci/pci.js';
import { vfioPciCommandWrite } from '../../../../src/kernel/vfio/pci/config.js';
import * as core from '../../../../src/kernel/vfio/pci/core.js';
import { vfioPciIoctlReset } from '../../../../src/kernel/vfio/pci/core.js';
import type { FeatureDmaBuf, VfioPciDmaBuf } from '../../../../src/kernel/vfio/pci/dmabuf.js';
import { vfioUnregisterGroupDev } from '../../../../src/kernel/vfio/vfio_main.js';
import { explore, runAtomically, type Thread } from '../../../../src/sched/index.js';
import { finals, runOnce } from '../../helpers/run.js';
import { exportFile, MiB, type Rig, rig } from './helpers.js';

type S = Rig & { buf?: DmaBuf; file?: File; imp?: Importer };
const exportWhole = (s: Rig, req: Partial<FeatureDmaBuf> = {}) =>
  exportFile(s.devs[0]!, { regionIndex: 0, ranges: [{ offset: 0, length: 2 * MiB }], ...req });

/** A rig with BAR0 exported and one revocable importer attached and mapped, in setup. */
function exported(o: { pinned?: boolean; ignoresMove?: boolean } = {}): S {
  const s: S = rig();
  const f = runAtomically(exportWhole(s)) as File;
  s.file = f;
  s.buf = dmaBufGet(f) as DmaBuf;
  s.imp = runAtomically(
    importerAttach('rdma', s.buf, { pinned: o.pinned ?? false, ignoresMove: o.ignoresMove ?? false }),
  ) as Importer;
  return s;
}

describe('VFIO_DEVICE_FEATURE_DMA_BUF', () => {
  test('every validation in order, with its errno', () => {
    const { result } = runOnce(
      () => rig(),
      function* (s) {
        const r = (req: Partial<FeatureDmaBuf>) => exportWhole(s, req);
        const out: (number | string)[] = [];
        for (const req of [
          { ranges: [] },
          { flags: 1 },
          { regionIndex: 6 },
          { ranges: [{ offset: 0, length: 0 }] },
          { ranges: [{ offset: 100, length: PAGE_SIZE }] },
          { regionIndex: 1 },
          { ranges: [{ offset: 2 * MiB, length: 4 * MiB }] },
          {
            ranges: [
              { offset: MiB, length: MiB },
              { offset: 0, length: 2 * MiB },
            ],
          },
        ] as Partial<FeatureDmaBuf>[]) {
          const x = yield* r(req);
          out.push(typeof x === 'number' ? x : 'fd');
        }
        return out;
      },
    );
    assert.deepEqual(result, [-22, -22, -19, -22, -22, -22, -22, 'fd']);
  });

  test('a buffer exported while decode is off starts revoked: attach is -ENODEV', () => {
    const { result } = runOnce(
      () => rig(),
      function* (s) {
        yield* vfioPciCommandWrite(s.devs[0]!, 0);
        const f = (yield* exportWhole(s)) as File;
        const buf = dmaBufGet(f) as DmaBuf;
        return [(buf.priv as VfioPciDmaBuf).revoked, yield* importerAttach('rdma', buf)];
      },
    );
    assert.deepEqual(result, [true, -19]);
  });

  test('only revocable P2P importers may attach', () => {
    const { result } = runOnce(
      () => rig(),
      function* (s) {
        const buf = dmaBufGet((yield* exportWhole(s)) as File) as DmaBuf;
        return [
          yield* importerAttach('legacy', buf, { revocable: false }),
          yield* importerAttach('static', buf, { static: true }),
        ];
      },
    );
    assert.deepEqual(result, [-95, -95]);
  });

  test('attach checks in the kernel order: peer2peer, then revoked, then revocable', () => {
    // vfio_pci_dma_buf_attach(): -EOPNOTSUPP without peer2peer, -ENODEV while revoked, and only
    // then -EOPNOTSUPP for an importer without invalidate_mappings (v7.1).
    const { result } = runOnce(
      () => rig(),
      function* (s) {
        yield* vfioPciCommandWrite(s.devs[0]!, 0);
        const buf = dmaBufGet((yield* exportWhole(s)) as File) as DmaBuf;
        const revoked = [
          yield* importerAttach('static', buf, { static: true }),
          yield* importerAttach('legacy', buf, { revocable: false }),
          yield* importerAttach('rdma', buf),
        ];
        yield* vfioPciCommandWrite(s.devs[0]!, PCI_COMMAND_MEMORY);
        const live = [
          yield* importerAttach('static', buf, { static: true }),
          yield* importerAttach('legacy', buf, { revocable: false }),
          typeof (yield* importerAttach('rdma', buf)),
        ];
        return [...revoked, ...live];
      },
    );
    assert.deepEqual(result, [-95, -19, -19, -95, -95, 'object']);
  });

  test('v6.19 takes any P2P importer: a non-revocable one attaches while live, -ENODEV while revoked', () => {
    const { result } = runOnce(
      () => rig({ design: designOf('v6.19') }),
      function* (s) {
        const buf = dmaBufGet((yield* exportWhole(s)) as File) as DmaBuf;
        const live = typeof (yield* importerAttach('legacy', buf, { revocable: false }));
        yield* vfioPciCommandWrite(s.devs[0]!, 0);
        return [live, yield* importerAttach('legacy2', buf, { revocable: false })];
      },
    );
    assert.deepEqual(result, ['object', -19]);
  });

  test('revoke and unrevoke: the importer is invalidated, must unmap, and can map again after', () => {
    const { result } = runOnce(
      () => exported(),
      function* (s): Thread<unknown> {
        const d = s.devs[0]!;
        const priv = s.buf!.priv as VfioPciDmaBuf;
        // The importer unmaps before the revoke would wait for it (one thread: unmap first).
        yield* importerUnmap(s.imp!);
        yield* vfioPciCommandWrite(d, 0);
        const whileOff = [priv.revoked, yield* importerAttach('again', s.buf!)];
        yield* vfioPciCommandWrite(d, PCI_COMMAND_MEMORY);
        const again = yield* importerAttach('again', s.buf!);
        return [...whileOff, priv.revoked, typeof again];
      },
    );
    assert.deepEqual(result, [true, -19, false, 'object']);
  });
});

describe('races with importers', () => {
  test('importer DMA vs memory off: the revoke waits for the fence and the unmap; no DMA hits a disabled BAR', () => {
    const { run, states } = finals<S>(
      {
        setup: () => exported(),
        threads: {
          importer: function* (s) {
            s.out[0] = yield* importerDma(s.machine, s.imp!);
            // The driver's reaction to invalidate_mappings (or simply being done): unmap.
            yield* importerUnmap(s.imp!);
          },
          admin: function* (s) {
            yield* vfioPciCommandWrite(s.devs[0]!, 0);
          },
        },
      },
      (s) => `dma=${s.out[0]} revoked=${(s.buf!.priv as VfioPciDmaBuf).revoked}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['dma=-19 revoked=true', 'dma=0 revoked=true']);
  });

  test('importer DMA against a reset: the revocable importer unmaps from its callback, no deadlock', () => {
    // The kernel's revocable importers (iopt_revoke_notify(), RDMA's invalidation) unmap when told
    // to: the revoke's wait for the unmap is satisfied without any explicit importer_unmap.
    const { run, states } = finals<S>(
      {
        setup: () => exported(),
        threads: {
          importer: function* (s) {
            s.out[0] = yield* importerDma(s.machine, s.imp!);
          },
          admin: function* (s) {
            s.out[1] = yield* vfioPciIoctlReset(s.devs[0]!);
          },
        },
      },
      (s) =>
        `dma=${s.out[0]} reset=${s.out[1]} mapped=${s.imp!.sgt !== null} revoked=${(s.buf!.priv as VfioPciDmaBuf).revoked}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), [
      'dma=-19 reset=0 mapped=false revoked=false',
      'dma=0 reset=0 mapped=false revoked=false',
    ]);
  });

  test('a reset alone, with a revocable importer that never calls importer_unmap, completes', () => {
    const { result, state } = runOnce(
      () => exported(),
      function* (s) {
        return yield* vfioPciIoctlReset(s.devs[0]!);
      },
    );
    assert.equal(result, 0);
    assert.equal(state.imp!.sgt, null);
    assert.equal(state.imp!.invalidated, true);
  });

  test('an importer that ignores move (ignoresMove) and never unmaps blocks the revoke forever: a deadlock the explorer reports', () => {
    const r = explore({
      setup: () => exported({ ignoresMove: true }),
      threads: {
        admin: function* (s) {
          yield* vfioPciIoctlReset(s.devs[0]!);
        },
      },
    });
    const d = r.violations.find((v) => v.kind === 'deadlock');
    assert.ok(d);
    assert.match(d.message, /admin waits in wait on completion gpu0\.dmabuf\.comp/);
  });

  test('close vs importer: cleanup revokes for good before the device is disabled', () => {
    const { run, states } = finals<S>(
      {
        setup: () => exported(),
        threads: {
          importer: function* (s) {
            s.out[0] = yield* importerDma(s.machine, s.imp!);
            yield* importerUnmap(s.imp!);
          },
          vmm: function* (s) {
            yield* closeFile(s.fds[0]!);
          },
        },
      },
      (s) => {
        const priv = s.buf!.priv as VfioPciDmaBuf;
        return `dma=${s.out[0]} vdev=${priv.vdev === null ? 'null' : 'set'} decoding=${s.devs[0]!.pdev.decoding}`;
      },
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), [
      'dma=-19 vdev=null decoding=false',
      'dma=0 vdev=null decoding=false',
    ]);
  });
});

describe('runtime PM and unregister', () => {
  test('an eventfd-driven runtime resume leaves the dma-bufs revoked while CPU faults work again', () => {
    const { result } = runOnce(
      () => exported(),
      function* (s): Thread<unknown> {
        const d = s.devs[0]!;
        const { vfioPciRuntimePmEntry, vfioPciRuntimeSuspend, vfioPciRuntimeResume } = core;
        yield* importerUnmap(s.imp!);
        yield* vfioPciRuntimePmEntry(d);
        yield* vfioPciRuntimeSuspend(d);
        yield* vfioPciRuntimeResume(d, true);
        const priv = s.buf!.priv as VfioPciDmaBuf;
        return [priv.revoked, d.pmRuntimeEngaged.value, yield* importerAttach('again', s.buf!)];
      },
    );
    assert.deepEqual(result, [true, false, -19]);
  });

  test('unregister waits for every registration: a live dma-buf holds one until close cleans it up', () => {
    const { run, states } = finals<S>(
      {
        setup: () => exported(),
        threads: {
          unbind: function* (s) {
            yield* vfioUnregisterGroupDev(s.devs[0]!.vdev);
            s.out[0] = 'unregistered';
          },
          vmm: function* (s) {
            yield* importerUnmap(s.imp!);
            yield* closeFile(s.fds[0]!);
          },
        },
      },
      (s) => `${s.out[0]} refcount=${s.devs[0]!.vdev.refcount.value}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states], ['unregistered refcount=0']);
  });
});
