// The proposal designs: dmabuf-backed step by step, shared-base, and each option reviewers argued
// about — the safe default keeps the invariants, the unsafe value is found by the explorer.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { designOf } from '../../src/designs/design.js';
import { isDmaBufFile } from '../../src/kernel/dma-buf/dma-buf.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../src/kernel/mm/mmap.js';
import type { VfioPciDmaBuf } from '../../src/kernel/vfio/pci/dmabuf.js';
import { type MmapBase, vfioPciDmaBufFindPfn } from '../../src/kernel/vfio/pci/dmabuf_mmap.js';
import { checkScenario, runScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';
import { sysAccess, sysExport, sysMemattr, sysMmap, sysOpen } from '../../src/uapi/syscalls.js';
import { System } from '../../src/uapi/system.js';
import { runOnce } from '../kernel/helpers/run.js';
import { mappedThroughDeviceFd } from './helpers.js';

const KiB = 1024;
const example = (name: string) =>
  parseScenario(
    readFileSync(fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url)), 'utf8'),
    `examples/${name}`,
  );
const ids = (r: { violations: { invariant: string }[] }) =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();
const dmabuf = (o: Record<string, unknown> = {}) => designOf('dmabuf-backed', o);

const DEV = `devices:
  - name: gpu0
    bars:
      - { index: 0, size: 16K, phys: 0x3800000000 }
      - { index: 1, size: 16K, phys: 0x3800010000 }
`;

/** One process: open, then mmap 16 KiB of BAR `region` through the device fd. */
const mapped = (design: ReturnType<typeof designOf>, region = 0) => mappedThroughDeviceFd(design, { region });

describe('dmabuf-backed, step by step', () => {
  test('step 1: mmap_prepare backs a device-fd mmap with a one-range dma-buf that owns the device file', () => {
    const { file, vma, s } = mapped(dmabuf({ step: 1 }));
    assert.ok(vma.file && isDmaBufFile(vma.file), 'vm_file is a dma-buf');
    assert.equal(vma.file.name, 'dmabuf:gpu0/BAR0');
    const priv = vma.privateData as VfioPciDmaBuf;
    assert.deepEqual(priv.physVec, [{ paddr: 0x3800000000, len: 16 * KiB }]);
    assert.equal(priv.vfile, file, 'the buffer holds the device file');
    assert.equal(file.count.value, 2, 'the fd and the buffer');
    assert.equal(s.devices.get('gpu0')!.dmabufs.length, 1);
  });

  test('step 1: an mmap that fails after mmap_prepare releases the buffer and the device file exactly once', () => {
    for (const inject of ['prealloc', 'mapped'] as const) {
      const { result } = runOnce(
        () =>
          new System({
            design: dmabuf({ mmapHook: 'mmap_prepare' }),
            devices: [{ name: 'gpu0', bars: [{ index: 0, size: 16 * KiB, phys: 0x3800000000 }] }],
          }),
        function* (s) {
          const p = s.spawn('p');
          const fd = yield* sysOpen(p, 'gpu0');
          const file = p.fds.get(fd)!;
          const r = yield* doMmap(p.mm, { file, len: 16 * KiB, offset: 0, inject });
          const vdev = s.devices.get('gpu0')!;
          return {
            r,
            count: file.count.value,
            bufs: vdev.dmabufs.length,
            reg: vdev.vdev.refcount.value,
            vmas: p.mm.vmas.length,
          };
        },
      );
      assert.deepEqual(result, { r: -12, count: 1, bufs: 0, reg: 2, vmas: 0 }, inject);
    }
  });

  test('step 2: find_pfn walks aliasing, out-of-order ranges; a huge block only inside one aligned range', () => {
    const MiB = 2 ** 20;
    const base: MmapBase = {
      vdev: null,
      physVec: [
        { paddr: 0x3800200000, len: 2 * MiB },
        { paddr: 0x3800000000, len: 4 * KiB },
        { paddr: 0x3800200000, len: 2 * MiB }, // the first range again: aliases are allowed
      ],
      size: 4 * MiB + 4 * KiB,
      vmaPgoffAdjust: 0,
      dmabuf: null,
      revoked: false,
    };
    const vma = { start: 0x40000000, end: 0x40000000 + base.size, pgoff: 0 } as Vma;
    assert.equal(vfioPciDmaBufFindPfn(base, vma, 0x40000000, 0), 0x3800200);
    assert.equal(vfioPciDmaBufFindPfn(base, vma, 0x40000000 + 2 * MiB, 0), 0x3800000);
    assert.equal(vfioPciDmaBufFindPfn(base, vma, 0x40000000 + 2 * MiB + 4 * KiB, 0), 0x3800200);
    assert.equal(vfioPciDmaBufFindPfn(base, vma, 0x40000000 + 5, 9), 0x3800200, 'a PMD inside range 0');
    assert.equal(
      vfioPciDmaBufFindPfn(base, vma, 0x40000000 + 2 * MiB, 9),
      -34,
      'a PMD across ranges: ERANGE',
    );
    assert.equal(vfioPciDmaBufFindPfn(base, vma, vma.end, 0), -14, 'past the VMA: EFAULT');
  });

  test('step 3: faults honour the buffer revoke state (step 2 does not)', () => {
    for (const [step, want] of [
      [2, 'ok'],
      [3, 'sigbus'],
    ] as const) {
      const { result } = runOnce(
        () =>
          new System({
            design: dmabuf({ step }),
            devices: [{ name: 'gpu0', bars: [{ index: 0, size: 16 * KiB, phys: 0x3800000000 }] }],
          }),
        function* (s) {
          const p = s.spawn('p');
          const fd = yield* sysOpen(p, 'gpu0');
          const vma = (yield* doMmap(p.mm, { file: p.fds.get(fd)!, len: 16 * KiB, offset: 0 })) as Vma;
          // The buffer is revoked while memory decode stays on (as a permanent revoke, or a
          // runtime resume that leaves buffers revoked, would leave it), under resv as the kernel
          // changes it (the word is guarded by resv: Cell.guardedBy).
          const priv = vma.privateData as VfioPciDmaBuf;
          yield* priv.dmabuf!.resv.lock.lock();
          yield* priv.revokedWord.write(true);
          yield* priv.dmabuf!.resv.lock.unlock();
          return yield* sysAccess(p, vma.start, false, 'p');
        },
      );
      assert.equal(result, want, `step ${step}`);
    }
  });

  test('step 4: the VMA lives in the buffer own address_space, not the device inode (step 3: the device inode)', () => {
    const at3 = mapped(dmabuf({ step: 3 }));
    const at4 = mapped(dmabuf({ step: 4 }));
    const inode3 = at3.s.devices.get('gpu0')!.vdev.inode.mapping;
    const inode4 = at4.s.devices.get('gpu0')!.vdev.inode.mapping;
    assert.ok(inode3.contains(at3.vma));
    assert.ok(!inode4.contains(at4.vma));
    assert.ok(at4.vma.file!.mapping.contains(at4.vma));
    assert.equal(at4.vma.pgoff, 0, 'vm_pgoff normalised to the buffer offset (the fix)');
    const posted = mapped(dmabuf({ normalizePgoff: false }), 1);
    assert.equal(posted.vma.pgoff, 2 ** 28, 'as posted: the region encoding stays');
  });

  test('step 5: a dma-buf fd can be mmapped (step 4: EINVAL, as upstream)', () => {
    const src = (step: number) =>
      `name: dma-buf mmap\n${DEV}design: { name: dmabuf-backed, step: ${step} }\nsetup:\n  - open: { device: gpu0, as: dev }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 4K, length: 8K } ], as: buf }\nthreads:\n  t:\n    - mmap: { fd: buf, offset: 0, length: 8K, as: m }\n    - load: { map: m, offset: 0x1000, expect: ok }\n`;
    const outcomes = (step: number) =>
      runScenario(parseScenario(src(step), 's.yaml'))
        .marks.filter((m) => m.kind === 'op-end' && m.thread === 't')
        .map((m) => m.data.outcome);
    assert.deepEqual(outcomes(5), ['ok', 'ok']);
    assert.deepEqual(outcomes(4), ['EINVAL', 'sigsegv']);
  });
});

test('memattr: WC applies to future mmaps of the buffer, not to existing ones; ENOTTY upstream', () => {
  const src = (design: string) =>
    `name: memattr\n${DEV}design: ${design}\nsetup:\n  - open: { device: gpu0, as: dev }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 8K } ], as: buf }\n  - mmap: { fd: buf, offset: 0, length: 8K, as: before }\nthreads:\n  t:\n    - memattr: { fd: dev, dmabuf: buf, attr: wc }\n    - mmap: { fd: buf, offset: 0, length: 8K, as: after }\n`;
  const rec = runScenario(parseScenario(src('dmabuf-backed'), 'm.yaml'));
  const outcomes = rec.marks
    .filter((m) => m.kind === 'op-end' && m.thread === 't')
    .map((m) => m.data.outcome);
  assert.deepEqual(outcomes, ['ok', 'ok']);
  const vmas = rec.memory.processes[0]!.vmas;
  assert.equal(vmas.length, 2);
  const up = runScenario(parseScenario(src('upstream'), 'm.yaml'));
  assert.equal(up.marks.find((m) => m.kind === 'op-end' && m.data.op === 'memattr')?.data.outcome, 'ENOTTY');
});

test('memattr sets the page protection of later mappings only', () => {
  const { result } = runOnce(
    () =>
      new System({
        design: dmabuf(),
        devices: [{ name: 'gpu0', bars: [{ index: 0, size: 16 * KiB, phys: 0x3800000000 }] }],
      }),
    function* (s) {
      const p = s.spawn('p');
      const dev = yield* sysOpen(p, 'gpu0');
      const buf = (yield* sysExport(p, dev, 0, [{ offset: 0, length: 8 * KiB }])) as number;
      const a = (yield* sysMmap(p, buf, { offset: 0, length: 8 * KiB })) as Vma;
      const r = yield* sysMemattr(p, dev, buf, 'wc');
      const b = (yield* sysMmap(p, buf, { offset: 0, length: 8 * KiB })) as Vma;
      return [r, a.pageProt, b.pageProt];
    },
  );
  assert.deepEqual(result, [0, 'uc', 'wc']);
});

describe('revoke states', () => {
  test('permanent vs temporary revoke vs unrevoke: PERM is absorbing, TEMP -> PERM is allowed once', () => {
    const sc = parseScenario(
      `name: states\n${DEV}design: dmabuf-backed\nsetup:\n  - open: { device: gpu0, as: dev }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 16K } ], as: buf }\n  - mmap: { fd: buf, offset: 0, length: 16K, as: m }\nthreads:\n  t:\n    - command: { fd: dev, memory: false }\n    - load: { map: m, expect: sigbus }\n    - revoke: { fd: dev, dmabuf: buf, expect: ok }\n    - command: { fd: dev, memory: true }\n    - load: { map: m, expect: sigbus }\n    - revoke: { fd: dev, dmabuf: buf, expect: EBADFD }\n    - revoke: { fd: dev, dmabuf: dev, expect: ENODEV }\n`,
      's.yaml',
    );
    const r = checkScenario(sc);
    assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
    // Without the permanent revoke, memory on unrevokes and the load works again.
    const temp = parseScenario(
      sc.source
        .replace('    - revoke: { fd: dev, dmabuf: buf, expect: ok }\n', '')
        .replace(
          / {4}- load: \{ map: m, expect: sigbus \}\n {4}- revoke: \{ fd: dev, dmabuf: buf, expect: EBADFD \}/,
          '    - load: { map: m, expect: ok }\n    - revoke: { fd: dev, dmabuf: buf, expect: ok }',
        ),
      't.yaml',
    );
    assert.equal(checkScenario(temp).verdict, 'pass', JSON.stringify(checkScenario(temp).violations));
  });

  test('upstream has no permanent revoke: ENOTTY', () => {
    const r = checkScenario(example('proposal-permanent-revoke.yaml'), { design: designOf('upstream') });
    assert.ok(r.violations.some((v) => v.invariant === 'EXPECT' && /ENOTTY/.test(v.message)));
  });
});

describe('the stories, on the proposal and elsewhere', () => {
  test('a client given only a dma-buf maps it on dmabuf-backed and shared-base; upstream refuses (EINVAL)', () => {
    const sc = example('proposal-client-dmabuf.yaml');
    assert.equal(checkScenario(sc).verdict, 'pass');
    assert.equal(checkScenario(sc, { design: designOf('shared-base') }).verdict, 'pass');
    const up = checkScenario(sc, { design: designOf('upstream') });
    assert.deepEqual(ids(up), ['EXPECT']);
    assert.match(up.violations[0]!.message, /mmap .* returned EINVAL/);
  });

  test('compat MAP_DMA of a VFIO mmap imports its dma-buf and survives a reset race; upstream is EFAULT', () => {
    const sc = example('proposal-compat-p2p.yaml');
    const r = checkScenario(sc);
    assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
    assert.ok(r.complete);
    assert.match(
      checkScenario(sc, { design: designOf('upstream') }).violations[0]!.message,
      /map_dma .* EFAULT/,
    );
  });

  test('fault vs dma-buf cleanup with the device fd closed and the driver unbound: no use of a freed device', () => {
    const sc = example('proposal-unbind-vs-fault.yaml');
    const r = checkScenario(sc);
    assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
    assert.ok(r.complete);
  });

  test('the v4 coverage gap: found as posted (the default revision), gone with the fix', () => {
    const sc = example('proposal-zap-coverage-gap.yaml');
    const posted = checkScenario(sc);
    assert.equal(posted.verdict, 'pass');
    assert.ok(ids(posted).includes('ZAP_COVERAGE'));
    assert.deepEqual(ids(checkScenario(sc, { design: dmabuf() })), ids(posted));
    assert.deepEqual(ids(checkScenario(sc, { design: dmabuf({ normalizePgoff: true }) })), []);
  });
});

describe('unsafe options are found', () => {
  const flip = (file: string, o: Record<string, unknown>) =>
    ids(checkScenario(example(file), { design: dmabuf(o) }));

  test('revokeCheck: resv only — a PTE installed after the revoke', () => {
    assert.deepEqual(flip('proposal-permanent-revoke.yaml', {}), []);
    assert.ok(
      flip('proposal-permanent-revoke.yaml', { revokeCheck: 'resv' }).includes('MAPPING_AFTER_REVOKE'),
    );
  });

  test('faultPinsDevice: false, or revokeCheck: memory_lock — the fault reaches a freed device', () => {
    assert.ok(flip('proposal-unbind-vs-fault.yaml', { faultPinsDevice: false }).includes('USE_AFTER_FREE'));
    assert.ok(
      flip('proposal-unbind-vs-fault.yaml', { revokeCheck: 'memory_lock' }).includes('USE_AFTER_FREE'),
    );
  });

  test('mmapHook: mapped — the VMA stays filed under the device file, out of the buffer zap', () => {
    const sc = parseScenario(
      `name: mapped hook\n${DEV}design: dmabuf-backed\nsetup:\n  - open: { device: gpu0, as: dev }\n  - mmap: { fd: dev, region: 0, length: 16K, as: m }\nthreads:\n  vmm:\n    - load: { map: m, offset: 0x1000 }\n  admin:\n    - reset: { fd: dev }\n`,
      'h.yaml',
    );
    assert.deepEqual(ids(checkScenario(sc)), []);
    assert.ok(ids(checkScenario(sc, { design: dmabuf({ mmapHook: 'mapped' }) })).includes('ZAP_COVERAGE'));
  });

  test('addressSpace: shared and resetZap: before-d0 keep the invariants (a cost, not a bug)', () => {
    assert.deepEqual(flip('proposal-client-dmabuf.yaml', { addressSpace: 'shared' }), []);
    assert.deepEqual(flip('proposal-client-dmabuf.yaml', { resetZap: 'before-d0' }), []);
  });
});

describe('shared-base', () => {
  test('one address_space: revoking a dma-buf zaps the device-fd mapping too, which refaults', () => {
    const sc = parseScenario(
      `name: shared zap\n${DEV}design: shared-base\nsetup:\n  - open: { device: gpu0, as: dev }\n  - mmap: { fd: dev, region: 0, length: 16K, as: whole }\n  - load: { map: whole, offset: 0x1000, expect: ok }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }\n  - mmap: { fd: buf, offset: 0, length: 4K, as: part }\nthreads:\n  t:\n    - revoke: { fd: dev, dmabuf: buf, expect: ok }\n    - load: { map: part, expect: sigbus }\n    - load: { map: whole, offset: 0x1000, expect: ok }\n`,
      'sb.yaml',
    );
    const rec = runScenario(sc);
    assert.deepEqual(rec.violations, []);
    const cleared = rec.marks.filter((m) => m.kind === 'leaf-clear' && m.thread !== 'setup');
    assert.ok(
      cleared.some((m) => m.data.va === 0x7f0000002000),
      'the device-fd leaf was zapped by the buffer revoke',
    );
    assert.equal(checkScenario(sc).verdict, 'pass');
  });
});
