// The uapi layer: operations as user space issues them, with the kernel's results as outcomes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { watchMmioWhileDisabled } from '../../src/invariants/mmio-while-disabled.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import { runAtomically } from '../../src/sched/index.js';
import { outcomeOf } from '../../src/uapi/errno.js';
import {
  sysAccess,
  sysAttach,
  sysClose,
  sysCommand,
  sysContainer,
  sysDirectIo,
  sysDma,
  sysExport,
  sysFork,
  sysGup,
  sysImport,
  sysImporterDma,
  sysImporterUnmap,
  sysIoasAlloc,
  sysIommufd,
  sysMapDma,
  sysMapFile,
  sysMmap,
  sysOpen,
  sysReset,
  sysRevoke,
  sysRw,
  sysSend,
} from '../../src/uapi/syscalls.js';
import { System } from '../../src/uapi/system.js';
import { finals, runOnce } from '../kernel/helpers/run.js';

const MiB = 2 ** 20;
const VA = 0x7f0000000000;
const sys = () => {
  const s = new System({
    devices: [
      { name: 'gpu0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000, structPages: true }] },
      { name: 'nic0', bars: [{ index: 0, size: 64 * 1024, phys: 0x3a00000000 }] },
    ],
  });
  watchMmioWhileDisabled(s.machine);
  return s;
};

test('the thread of the seed: a client given only a dma-buf of a BAR sub-range cannot mmap it upstream', () => {
  const { result } = runOnce(sys, function* (s) {
    const primary = s.spawn('primary');
    const client = s.spawn('client');
    const dev = yield* sysOpen(primary, 'gpu0');
    const buf = yield* sysExport(primary, dev, 0, [{ offset: MiB, length: MiB }]);
    const cfd = yield* sysSend(primary, buf, client);
    const m = yield* sysMmap(client, cfd, { offset: 0, length: MiB });
    return [dev, buf, cfd, outcomeOf(m as number)];
  });
  assert.deepEqual(result, [3, 4, 3, 'EINVAL']);
});

test('errnos as outcomes: bad fds, no device, no revoke feature upstream', () => {
  const { result } = runOnce(sys, function* (s) {
    const p = s.spawn('p');
    const dev = yield* sysOpen(p, 'gpu0');
    return [
      outcomeOf(yield* sysOpen(p, 'nope')),
      outcomeOf(yield* sysClose(p, 99)),
      outcomeOf(yield* sysReset(p, 99)),
      outcomeOf(yield* sysRevoke(p, dev, 4)),
      outcomeOf(yield* sysRw(p, dev, { region: 0, offset: 0, length: 8, write: false }, 'p')),
    ];
  });
  assert.deepEqual(result, ['ENODEV', 'EBADF', 'EBADF', 'ENOTTY', 'ok']);
});

test('mmap, load, GUP and O_DIRECT on a BAR mapping (struct pages, x86_64): GUP refuses', () => {
  const { result } = runOnce(sys, function* (s) {
    const p = s.spawn('p');
    const dev = yield* sysOpen(p, 'gpu0');
    const vma = (yield* sysMmap(p, dev, { region: 0, offset: 0, length: 4 * MiB, at: VA })) as Vma;
    return [
      yield* sysAccess(p, vma.start, false, 'p'),
      outcomeOf(yield* sysGup(p, VA, 1, { fast: true })),
      outcomeOf(yield* sysGup(p, VA, 1, { fast: false, longterm: true })),
      outcomeOf(yield* sysDirectIo(p, VA, 4096, 'p')),
    ];
  });
  assert.deepEqual(result, ['ok', 'EFAULT', 'EFAULT', 'EFAULT']);
});

test('fork copies the fd table and the BAR mapping; both processes fault from the same device', () => {
  const { result } = runOnce(sys, function* (s) {
    const p = s.spawn('p');
    const dev = yield* sysOpen(p, 'gpu0');
    yield* sysMmap(p, dev, { region: 0, offset: 0, length: 4 * MiB, at: VA });
    yield* sysAccess(p, VA, false, 'p');
    const c = yield* sysFork(p, 'c');
    const file = c.fds.get(dev)!;
    return [c.mm.pt.leafList().length, file.count.value, yield* sysAccess(c, VA + MiB, true, 'c')];
  });
  assert.deepEqual(result, [1, 4, 'ok']);
});

test('P2P through iommufd MAP_FILE and through type1 MAP_DMA; iommufd compat refuses', () => {
  const { result } = runOnce(sys, function* (s) {
    const p = s.spawn('vmm');
    const gpu = yield* sysOpen(p, 'gpu0');
    const nic = yield* sysOpen(p, 'nic0');
    const buf = yield* sysExport(p, gpu, 0, [{ offset: 0, length: 2 * MiB }]);
    const ictx = sysIommufd('iommufd0');
    const ioas = sysIoasAlloc(ictx, 'ioas0');
    const out = [
      outcomeOf(yield* sysAttach(p, nic, ioas)),
      outcomeOf(yield* sysMapFile(p, ioas, buf, 0x100000, 2 * MiB)),
    ];
    out.push(outcomeOf(yield* sysDma(p, 'nic0', 0x100000)));
    yield* sysMmap(p, gpu, { region: 0, offset: 0, length: 4 * MiB, at: VA });
    out.push(outcomeOf(yield* sysMapDma(p, ioas, VA, 0x400000, 4096)));
    const c = yield* sysContainer(p, 'container0', [nic]);
    if (typeof c === 'number') throw new Error('container');
    // struct-page BAR: type1's is_invalid_reserved_pfn() refuses it.
    out.push(outcomeOf(yield* sysMapDma(p, c, VA, 0x800000, 4096)));
    return out;
  });
  assert.deepEqual(result, ['ok', 'ok', 'ok', 'EFAULT', 'EFAULT']);
});

test('race through the uapi: an importer of a client process vs a reset in the primary', () => {
  type S = ReturnType<typeof sys> & { fd: number; buf: number; out: string[] };
  const { run, states } = finals<S>(
    {
      setup: () => {
        const s = sys() as S;
        const primary = s.spawn('primary');
        const client = s.spawn('client');
        s.fd = runAtomically(sysOpen(primary, 'gpu0'));
        const buf = runAtomically(sysExport(primary, s.fd, 0, [{ offset: 0, length: MiB }]));
        s.buf = runAtomically(sysSend(primary, buf, client));
        s.out = [];
        return s;
      },
      threads: {
        client: function* (s) {
          const client = s.processes.get('client')!;
          const imp = yield* sysImport(client, s.buf, 'rdma', { revocable: true });
          if (typeof imp === 'number') {
            s.out.push(outcomeOf(imp));
            return;
          }
          s.out.push(outcomeOf(yield* sysImporterDma(client, imp)));
          yield* sysImporterUnmap(imp);
        },
        admin: function* (s) {
          yield* sysCommand(s.processes.get('primary')!, s.fd, false);
        },
      },
    },
    (s) => s.out.join(','),
  );
  assert.deepEqual(run.violations, []);
  assert.deepEqual([...states].sort(), ['ENODEV', 'ok']);
});

test("pread into a user buffer that is another device's BAR mapping: P2P copy through the CPU", () => {
  const { state, result } = runOnce(sys, function* (s) {
    const p = s.spawn('p');
    const gpu = yield* sysOpen(p, 'gpu0');
    const nic = yield* sysOpen(p, 'nic0');
    const vma = (yield* sysMmap(p, nic, { region: 0, offset: 0, length: 64 * 1024, at: VA })) as Vma;
    return yield* sysRw(p, gpu, { region: 0, offset: 0, length: 16, write: false, buffer: vma.start }, 'p');
  });
  assert.equal(result, 16);
  assert.deepEqual(
    [...new Set(state.machine.accesses.map((a) => `${a.by}:${a.pfn.toString(16)}`))],
    ['kernel:3800000', 'cpu:3a00000'],
  );
});

test('race: export vs memory off — the buffer is revoked whichever comes first, never left live', () => {
  type S = ReturnType<typeof sys> & { fd: number; out: string[]; priv?: { revoked: boolean } };
  const { run, states } = finals<S>(
    {
      setup: () => {
        const s = sys() as S;
        s.fd = runAtomically(sysOpen(s.spawn('vmm'), 'gpu0'));
        s.out = [];
        return s;
      },
      threads: {
        exporter: function* (s) {
          const p = s.processes.get('vmm')!;
          const fd = yield* sysExport(p, s.fd, 0, [{ offset: 0, length: MiB }]);
          s.priv = (p.fds.get(fd)!.privateData as { priv: { revoked: boolean } }).priv;
        },
        admin: function* (s) {
          yield* sysCommand(s.processes.get('vmm')!, s.fd, false);
        },
      },
    },
    // At the end, whichever ran first: the disable revoked a live buffer, or the export saw
    // memory off and created it revoked.
    (s) => `revoked=${s.priv?.revoked}`,
  );
  assert.deepEqual(run.violations, []);
  assert.deepEqual([...states].sort(), ['revoked=true']);
});
