// Every kind of fd is an fd (device, dma-buf, iommufd, container): a scenario that passes the wrong
// kind where an operation expects an fd loads, and the operation returns the kernel's errno at run
// time. One test per operation that takes an fd.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseScenario } from '../../src/scenario/load.js';
import { threadOutcomes } from './helpers/outcomes.js';

const HEAD = `name: fd kinds
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: nic0
    bars: [ { index: 0, size: 16K, phys: 0x3900000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - open: { device: nic0, as: nic }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }
  - iommufd: { as: ictx }
  - ioas: { iommufd: ictx, as: ioas }
  - container: { fds: [nic], as: cont }
  - mmap: { fd: dev, region: 0, length: 4K, as: m }
threads:
  t:
`;

/** The outcome of each thread operation, in order, for the given operation lines. */
function outcomes(...ops: string[]): string[] {
  return threadOutcomes(HEAD + ops.map((o) => `    - ${o}\n`).join(''), 'fd-kinds.yaml');
}

/** The other kinds of fd, for an operation on `field`. */
const WRONG = ['buf', 'ictx', 'cont'];

describe('device ioctls on another kind of fd: ENOTTY (the file’s own ioctl does not know them)', () => {
  for (const [op, line] of [
    ['reset', (fd: string) => `reset: { fd: ${fd} }`],
    ['pm_entry', (fd: string) => `pm_entry: { fd: ${fd} }`],
    ['pm_exit', (fd: string) => `pm_exit: { fd: ${fd} }`],
    [
      'export',
      (fd: string) => `export: { fd: ${fd}, region: 0, ranges: [ { offset: 0, length: 4K } ], as: x${fd} }`,
    ],
    ['revoke', (fd: string) => `revoke: { fd: ${fd}, dmabuf: buf }`],
    ['memattr', (fd: string) => `memattr: { fd: ${fd}, dmabuf: buf, attr: wc }`],
    ['attach', (fd: string) => `attach: { fd: ${fd}, ioas: ioas }`],
    ['hot_reset', (fd: string) => `hot_reset: { fds: [${fd}] }`],
    ['container', (fd: string) => `container: { fds: [${fd}], as: c${fd} }`],
  ] as const) {
    test(op, () => {
      assert.deepEqual(outcomes(...WRONG.map(line)), ['ENOTTY', 'ENOTTY', 'ENOTTY']);
    });
  }
});

describe('config-space writes through another kind of fd: EINVAL (no write method)', () => {
  for (const [op, line] of [
    ['command', (fd: string) => `command: { fd: ${fd}, memory: false }`],
    ['power', (fd: string) => `power: { fd: ${fd}, state: D3hot }`],
    ['flr', (fd: string) => `flr: { fd: ${fd} }`],
    ['pread', (fd: string) => `pread: { fd: ${fd}, region: 0, length: 4 }`],
    ['pwrite', (fd: string) => `pwrite: { fd: ${fd}, region: 0, length: 4 }`],
  ] as const) {
    test(op, () => {
      assert.deepEqual(outcomes(...WRONG.map(line)), ['EINVAL', 'EINVAL', 'EINVAL']);
    });
  }

  test('hot_reset: a later fd that is not a device is EINVAL', () => {
    assert.deepEqual(outcomes('hot_reset: { fds: [dev, buf] }'), ['EINVAL']);
  });
});

describe('operations that take a specific kind of fd', () => {
  test('ioas on a device, dma-buf or container fd: ENOTTY, and the IOAS is not made', () => {
    assert.deepEqual(
      outcomes(
        'ioas: { iommufd: dev, as: i1 }',
        'ioas: { iommufd: buf, as: i2 }',
        'ioas: { iommufd: cont, as: i3 }',
        'unmap_iova: { ioas: i1, iova: 0, length: 4K }',
      ),
      ['ENOTTY', 'ENOTTY', 'ENOTTY', 'EBADF'],
    );
  });

  test('map_dma into a device or dma-buf fd: ENOTTY; into an iommufd without a compat IOAS: ENODEV', () => {
    assert.deepEqual(
      outcomes(
        'map_dma: { container: dev, map: m, iova: 0, length: 4K }',
        'map_dma: { container: buf, map: m, iova: 0, length: 4K }',
        'map_dma: { container: ictx, map: m, iova: 0, length: 4K }',
      ),
      ['ENOTTY', 'ENOTTY', 'ENODEV'],
    );
  });

  test('import and map_file of a file that is not a dma-buf: EINVAL (dma_buf_get())', () => {
    assert.deepEqual(
      outcomes(
        'import: { fd: dev, as: i1, revocable: true }',
        'import: { fd: ictx, as: i2, revocable: true }',
        'import: { fd: cont, as: i3, revocable: true }',
        'map_file: { ioas: ioas, fd: dev, iova: 0, length: 4K }',
        'map_file: { ioas: ioas, fd: cont, iova: 0, length: 4K }',
      ),
      ['EINVAL', 'EINVAL', 'EINVAL', 'EINVAL', 'EINVAL'],
    );
  });

  test('mmap of an iommufd (no vIOMMU region: ENXIO) and of a container (no mmap: ENODEV)', () => {
    assert.deepEqual(
      outcomes('mmap: { fd: ictx, length: 4K, as: x1 }', 'mmap: { fd: cont, length: 4K, as: x2 }'),
      ['ENXIO', 'ENODEV'],
    );
  });

  test('close, dup and send work on every kind of fd; a closed iommufd is EBADF', () => {
    assert.deepEqual(
      outcomes(
        'dup: { fd: ictx, as: i2 }',
        'ioas: { iommufd: i2, as: ioas2 }',
        'dup: { fd: cont, as: c2 }',
        'close: { fd: ictx }',
        'ioas: { iommufd: ictx, as: ioas3 }',
        'close: { fd: c2 }',
        'close: { fd: buf }',
      ),
      ['ok', 'ok', 'ok', 'ok', 'EBADF', 'ok', 'ok'],
    );
  });

  test('a mapping, an IOAS or an importer is not an fd: still a load error', () => {
    assert.throws(
      () => parseScenario(`${HEAD}    - reset: { fd: ioas }\n`, 'x.yaml'),
      /handle `ioas` is an IOAS, not an fd/,
    );
    assert.throws(
      () => parseScenario(`${HEAD}    - ioas: { iommufd: m, as: y }\n`, 'x.yaml'),
      /handle `m` is a mapping, not an iommufd/,
    );
  });
});
