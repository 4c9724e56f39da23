// iommufd MAP_FILE of a VFIO dma-buf and its revoke; VFIO type1 MAP_DMA of a BAR address and the
// window it leaves; iommufd compat's refusal (docs/vfio-pci.md, "iommufd and type1").

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DmaBuf, dmaBufGet } from '../../src/kernel/dma-buf/dma-buf.js';
import type { File } from '../../src/kernel/fs/file.js';
import {
  Ioas,
  IommuDomain,
  iommuDma,
  iommufdAttach,
  iommufdIoasMapFile,
  iommufdIoasUnmap,
} from '../../src/kernel/iommufd/iommufd.js';
import { PCI_COMMAND_MEMORY } from '../../src/kernel/pci/pci.js';
import { vfioPciCommandWrite } from '../../src/kernel/vfio/pci/config.js';
import { vfioPciIoctlReset } from '../../src/kernel/vfio/pci/core.js';
import { iommufdCompatMapDma, Type1Container, type1MapDma } from '../../src/kernel/vfio/vfio_iommu_type1.js';
import { explore, runAtomically } from '../../src/sched/index.js';
import { finals, runOnce } from './helpers/run.js';
import { exportFile, MiB, type Rig, rig, VA } from './vfio/pci/helpers.js';

const IOVA = 0x100000000;
type S = Rig & { ioas: Ioas; nic: IommuDomain; buf?: DmaBuf; file?: File };

/** gpu0 exports BAR0; a NIC's domain is attached to an IOAS (set up without events). */
function setup(o: { map?: boolean } = {}): S {
  const s = { ...rig(), ioas: new Ioas('ioas0'), nic: new IommuDomain('nic0') } as S;
  s.file = runAtomically(
    exportFile(s.devs[0]!, { regionIndex: 0, ranges: [{ offset: 0, length: 2 * MiB }] }),
  ) as File;
  s.buf = dmaBufGet(s.file) as DmaBuf;
  runAtomically(iommufdAttach(s.ioas, s.nic));
  if (o.map) runAtomically(iommufdIoasMapFile(s.ioas, s.file, IOVA, 2 * MiB));
  return s;
}

describe('IOMMU_IOAS_MAP_FILE of a VFIO dma-buf', () => {
  test('maps the BAR range into every attached domain: the NIC reaches the GPU BAR (P2P)', () => {
    const { state, result } = runOnce(
      () => setup(),
      function* (s) {
        const r = yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 2 * MiB);
        return [r, yield* iommuDma(s.machine, s.nic, IOVA + 0x1000, 'nic')];
      },
    );
    assert.deepEqual(result, [0, 0]);
    assert.equal(state.machine.accesses.at(-1)?.pfn, 0x3800000000 / 4096 + 1);
  });

  test('errnos: length 0, past the buffer, a multi-range buffer, a revoked buffer', () => {
    const { result } = runOnce(
      () => setup(),
      function* (s) {
        const multi = (yield* exportFile(s.devs[0]!, {
          regionIndex: 0,
          ranges: [
            { offset: 0, length: MiB },
            { offset: 2 * MiB, length: MiB },
          ],
        })) as File;
        const out = [
          yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 0),
          yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 4 * MiB),
          yield* iommufdIoasMapFile(s.ioas, multi, IOVA, MiB),
        ];
        yield* vfioPciCommandWrite(s.devs[0]!, 0);
        out.push(yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 2 * MiB));
        return out;
      },
    );
    assert.deepEqual(result, [-22, -22, -95, -19]);
  });

  test('revoke unmaps every domain synchronously and for good: unrevoke does not restore it', () => {
    const { result } = runOnce(
      () => setup({ map: true }),
      function* (s) {
        const d = s.devs[0]!;
        const out = [yield* iommuDma(s.machine, s.nic, IOVA, 'nic')];
        yield* vfioPciCommandWrite(d, 0);
        out.push(yield* iommuDma(s.machine, s.nic, IOVA, 'nic'));
        yield* vfioPciCommandWrite(d, PCI_COMMAND_MEMORY);
        out.push(yield* iommuDma(s.machine, s.nic, IOVA, 'nic'));
        // Unmap and map again: works now that the buffer is unrevoked.
        out.push(yield* iommufdIoasUnmap(s.ioas, IOVA, 2 * MiB));
        out.push(yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 2 * MiB));
        out.push(yield* iommuDma(s.machine, s.nic, IOVA, 'nic'));
        return out;
      },
    );
    assert.deepEqual(result, [0, -14, -14, 0, 0, 0]);
  });

  test('race: device DMA and MAP_FILE vs reset — never a DMA to a BAR that does not decode', () => {
    const { run, states } = finals<S>(
      {
        setup: () => setup(),
        threads: {
          vmm: function* (s) {
            s.out[0] = yield* iommufdIoasMapFile(s.ioas, s.file!, IOVA, 2 * MiB);
            s.out[1] = yield* iommuDma(s.machine, s.nic, IOVA, 'nic');
          },
          admin: function* (s) {
            yield* vfioPciIoctlReset(s.devs[0]!);
          },
        },
      },
      (s) => s.out.join(','),
    );
    assert.deepEqual(run.violations, []);
    assert.ok(states.has('0,0'), 'map and DMA after the reset');
    assert.ok(states.has('0,-14'), 'mapped before the reset: revoked for good');
    assert.ok(states.has('-19,-14'), 'MAP_FILE during the reset: refused');
  });
});

describe('VFIO type1 MAP_DMA of a BAR address', () => {
  function type1(): S & { c: Type1Container } {
    const s = {
      ...rig({ map: [[0, 0, 4 * MiB, VA]] }),
      ioas: new Ioas('unused'),
      nic: new IommuDomain('nic0'),
    } as S;
    const c = new Type1Container('container0');
    c.domains.push(s.nic);
    return { ...s, c };
  }

  test('works (follow_fault_pfn faults the BAR in), but the IOMMU mapping survives the zap: DMA then hits a disabled BAR', () => {
    const r = explore({
      setup: type1,
      threads: {
        vmm: function* (s) {
          const m = yield* type1MapDma(s.c, s.mm, VA, IOVA, 2 * 4096);
          if (m !== 0) throw new Error(`MAP_DMA failed: ${m}`);
          yield* vfioPciCommandWrite(s.devs[0]!, 0); // zaps the CPU mapping, not the IOMMU one
          yield* iommuDma(s.machine, s.nic, IOVA, 'nic');
        },
      },
    });
    const v = r.violations.find((x) => x.id === 'MMIO_WHILE_DISABLED');
    assert.ok(v, 'the type1 window (kernel rule 15) is shown, not hidden');
    assert.match(v.message, /dma \(nic\) wrote gpu0 BAR0 .* while memory decode is off/);
  });

  test('iommufd compat refuses MAP_DMA of a BAR address with -EFAULT', () => {
    const { result } = runOnce(type1, function* (s) {
      return yield* iommufdCompatMapDma([s.nic], s.mm, VA, IOVA, 2 * 4096);
    });
    assert.equal(result, -14);
  });
});
