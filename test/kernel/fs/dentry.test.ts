// Files and dentries with two lifetimes (src/kernel/fs/file.ts): a file holds its dentry (f_path)
// and an O_PATH file holds the same dentry without holding the file; __fput() runs f_op->release,
// then dput(), then frees the struct file; the dentry's d_release runs when its own last reference
// goes. For a dma-buf the exporter's release is that d_release (drivers/dma-buf/dma-buf.c since
// 4ab59c3c638c): an O_PATH fd keeps the buffer, and VFIO's priv, after its file is freed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../../src/designs/design.js';
import type { DmaBuf } from '../../../src/kernel/dma-buf/dma-buf.js';
import {
  Dentry,
  FILE_FREED,
  File,
  fput,
  getFileActive,
  Inode,
  taskWorkRun,
} from '../../../src/kernel/fs/file.js';
import type { VfioPciDmaBuf } from '../../../src/kernel/vfio/pci/dmabuf.js';
import { Cell, explore, type Thread } from '../../../src/sched/index.js';
import { outcomeOf } from '../../../src/uapi/errno.js';
import {
  sysClose,
  sysDup,
  sysExport,
  sysImport,
  sysMmap,
  sysOpen,
  sysOpenPath,
  sysReset,
  sysRw,
  sysSend,
} from '../../../src/uapi/syscalls.js';
import { type Process, System } from '../../../src/uapi/system.js';
import { runOnce } from '../helpers/run.js';

const sys =
  (dmabufFileAnnulled = false) =>
  () =>
    new System({
      design: designOf('upstream', { dmabufFileAnnulled }),
      devices: [{ name: 'gpu0', bars: [{ index: 0, size: 16 * 1024, phys: 0x3800000000 }] }],
    });

/** A plain file with a dentry that records its release, for the VFS-only tests. */
function plainFile(released: string[]): File {
  const inode = new Inode('f');
  const dentry = new Dentry('f', inode, {
    name: 'test_dentry_ops',
    *release(): Thread<void> {
      released.push('d_release');
    },
  });
  return new File(
    'f',
    inode,
    {
      name: 'test_fops',
      *release() {
        released.push('f_op->release');
      },
    },
    undefined,
    {
      dentry,
    },
  );
}

/** The process's file at `fd` (plain data, for checks). */
const fileAt = (p: Process, fd: number): File => p.fds.get(fd)!;

describe('O_PATH holds the dentry, not the file', () => {
  test('open_path takes a dentry reference and leaves f_count alone; the file is freed at its last close, the dentry at the O_PATH close', () => {
    const events: string[] = [];
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const f = plainFile(events);
      const fd = yield* p.install(f);
      const opath = yield* sysOpenPath(p, fd, 'vmm.opath');
      const o = fileAt(p, opath);
      const afterOpen = [f.count.value, f.dentry.count.value, o.dentry === f.dentry, o.fmodePath, o.fop.name];
      yield* sysClose(p, fd);
      const afterClose = [f.count.value === FILE_FREED, f.dentry.count.value, f.dentry.killed, [...events]];
      yield* sysClose(p, opath);
      const afterOpathClose = [
        o.count.value === FILE_FREED,
        f.dentry.count.value,
        f.dentry.killed,
        [...events],
      ];
      return { afterOpen, afterClose, afterOpathClose };
    });
    assert.deepEqual(result.afterOpen, [1, 2, true, true, 'empty_fops']);
    assert.deepEqual(result.afterClose, [true, 1, false, ['f_op->release']]);
    assert.deepEqual(result.afterOpathClose, [true, 0, true, ['f_op->release', 'd_release']]);
  });

  test('without an O_PATH file, __fput() orders f_op->release, then d_release, then the free', () => {
    const events: string[] = [];
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const f = plainFile(events);
      const fd = yield* p.install(f);
      yield* sysClose(p, fd);
      return [[...events], f.dentry.killed, f.count.value];
    });
    assert.deepEqual(result, [['f_op->release', 'd_release'], true, FILE_FREED]);
  });

  test('the original file closed first or last: the dentry goes with the last of the two', () => {
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const f = plainFile([]);
      const fd = yield* p.install(f);
      const opath = yield* sysOpenPath(p, fd, 'vmm.opath');
      yield* sysClose(p, opath);
      const afterOpath = [f.dentry.killed, f.count.value];
      yield* sysClose(p, fd);
      return [afterOpath, [f.dentry.killed, f.count.value]];
    });
    assert.deepEqual(result, [
      [false, 1],
      [true, FILE_FREED],
    ]);
  });

  test('an O_PATH of an O_PATH fd holds the same dentry; of an fd that is not open: ENOENT', () => {
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const f = plainFile([]);
      const fd = yield* p.install(f);
      const a = yield* sysOpenPath(p, fd, 'vmm.a');
      const b = yield* sysOpenPath(p, a, 'vmm.b');
      return [
        fileAt(p, b).dentry === f.dentry,
        f.dentry.count.value,
        outcomeOf(yield* sysOpenPath(p, 99, 'x')),
      ];
    });
    assert.deepEqual(result, [true, 3, 'ENOENT']);
  });
});

describe('get_file_active()', () => {
  test('a constant pointer: a live file gets a reference, a released one (count 0) null, a freed one USE_AFTER_FREE', () => {
    const { result } = runOnce(sys(), function* () {
      const f = new File('f', new Inode('f'), { name: 'test_fops' });
      const live = yield* getFileActive(f);
      const count = f.count.value;
      yield* fput(f);
      yield* fput(f);
      yield* taskWorkRun(); // the return to user space: __fput()
      return [live === f, count, f.count.value];
    });
    assert.deepEqual(result, [true, 2, FILE_FREED]);
    const r = explore({
      setup: () => {
        const f = new File('f', new Inode('f'), { name: 'test_fops' });
        return { f };
      },
      threads: {
        t: function* (s: { f: File }) {
          yield* s.f.count.write(0);
          assert.equal(yield* getFileActive(s.f), null);
          yield* s.f.count.write(FILE_FREED);
          yield* getFileActive(s.f);
        },
      },
    });
    assert.deepEqual(
      r.violations.map((v) => v.id),
      ['USE_AFTER_FREE'],
    );
  });

  test('a pointer that is cleared before the free: NULL is skipped, and a file freed after the load is no error (RCU, SLAB_TYPESAFE_BY_RCU)', () => {
    const r = explore({
      setup: () => {
        const f = new File('f', new Inode('f'), { name: 'test_fops' });
        return { f, ptr: new Cell<File | null>('f.ptr', f) };
      },
      threads: {
        walker: function* (s: { f: File; ptr: Cell<File | null> }) {
          const got = yield* getFileActive(s.ptr);
          if (got) yield* fput(got);
        },
        release: function* (s: { f: File; ptr: Cell<File | null> }) {
          // a release that clears the pointer, then the free (what the annul fix does)
          const old = yield* s.f.count.rmw((c) => [c - 1, c]);
          if (old === 1) {
            yield* s.ptr.write(null);
            yield* s.f.count.write(FILE_FREED);
          }
        },
      },
    });
    assert.ok(r.complete);
    assert.deepEqual(r.violations, []);
    assert.ok(r.executions >= 3, `${r.executions} executions`);
  });
});

describe('a dma-buf lives until both its file and its dentry are gone', () => {
  /** priv of the device's only buffer (plain data). */
  const bufOf = (s: System): DmaBuf => (s.devices.get('gpu0')!.dmabufs[0] as VfioPciDmaBuf).dmabuf;

  test('closing the dma-buf fd frees its file; the exporter release waits for the O_PATH close', () => {
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const dev = yield* sysOpen(p, 'gpu0');
      const vdev = s.devices.get('gpu0')!;
      const registrations = vdev.vdev.refcount.value;
      const buf = yield* sysExport(p, dev, 0, [{ offset: 0, length: 4096 }]);
      const dmabuf = bufOf(s);
      const priv = dmabuf.priv as VfioPciDmaBuf;
      const opath = yield* sysOpenPath(p, buf, 'vmm.opath');
      yield* sysClose(p, buf);
      const afterBufClose = {
        fileFreed: dmabuf.file.count.value === FILE_FREED,
        released: dmabuf.released,
        privFreed: priv.freed,
        listed: vdev.dmabufs.includes(priv),
        dentry: dmabuf.file.dentry.count.value,
      };
      yield* sysClose(p, opath);
      const afterOpathClose = {
        released: dmabuf.released,
        privFreed: priv.freed,
        listed: vdev.dmabufs.includes(priv),
        registrationPut: vdev.vdev.refcount.value === registrations,
      };
      return { afterBufClose, afterOpathClose };
    });
    assert.deepEqual(result.afterBufClose, {
      fileFreed: true,
      released: false,
      privFreed: false,
      listed: true,
      dentry: 1,
    });
    assert.deepEqual(result.afterOpathClose, {
      released: true,
      privFreed: true,
      listed: false,
      registrationPut: true,
    });
  });

  test('without O_PATH the buffer is released with its file, as before', () => {
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const dev = yield* sysOpen(p, 'gpu0');
      const buf = yield* sysExport(p, dev, 0, [{ offset: 0, length: 4096 }]);
      const dmabuf = bufOf(s);
      yield* sysClose(p, buf);
      return [dmabuf.released, (dmabuf.priv as VfioPciDmaBuf).freed, s.devices.get('gpu0')!.dmabufs.length];
    });
    assert.deepEqual(result, [true, true, 0]);
  });

  const closeDeviceAfterOpath = (annulled: boolean) =>
    explore({
      setup: sys(annulled),
      threads: {
        vmm: function* (s: System) {
          const p = s.spawn('vmm');
          const dev = yield* sysOpen(p, 'gpu0');
          const buf = yield* sysExport(p, dev, 0, [{ offset: 0, length: 4096 }]);
          const opath = yield* sysOpenPath(p, buf, 'vmm.opath');
          yield* sysClose(p, buf);
          yield* sysClose(p, dev);
          yield* sysClose(p, opath);
        },
      },
    });

  test('the device close walks the listed buffer: USE_AFTER_FREE of its file (get_file_active) on mainline', () => {
    const r = closeDeviceAfterOpath(false);
    assert.deepEqual(
      r.violations.map((v) => v.id),
      ['USE_AFTER_FREE'],
    );
    assert.match(r.violations[0]!.message, /get_file_active\(\) on gpu0\.dmabuf/);
  });

  test('with dmabufFileAnnulled the walks skip it and the O_PATH close releases it', () => {
    const r = closeDeviceAfterOpath(true);
    assert.deepEqual(r.violations, []);
  });
});

describe('an O_PATH fd is an fd only to close, dup, send and open_path', () => {
  test('mmap, pread, a device ioctl, an export through it, import: EBADF; dup, send, close: ok', () => {
    const { result } = runOnce(sys(), function* (s) {
      const p = s.spawn('vmm');
      const q = s.spawn('peer');
      const dev = yield* sysOpen(p, 'gpu0');
      const buf = yield* sysExport(p, dev, 0, [{ offset: 0, length: 4096 }]);
      const odev = yield* sysOpenPath(p, dev, 'vmm.odev');
      const obuf = yield* sysOpenPath(p, buf, 'vmm.obuf');
      const out = [
        yield* sysMmap(p, odev, { region: 0, offset: 0, length: 4096 }),
        yield* sysMmap(p, obuf, { offset: 0, length: 4096 }),
        yield* sysRw(p, odev, { region: 0, offset: 0, length: 4, write: false }, 'vmm'),
        yield* sysReset(p, odev),
        yield* sysExport(p, odev, 0, [{ offset: 0, length: 4096 }]),
        yield* sysImport(p, obuf, 'imp', { revocable: true }),
        yield* sysDup(p, obuf),
        yield* sysSend(p, odev, q),
        yield* sysClose(p, obuf),
      ].map((r) => outcomeOf(r as number));
      return out;
    });
    assert.deepEqual(result, ['EBADF', 'EBADF', 'EBADF', 'EBADF', 'EBADF', 'EBADF', 'ok', 'ok', 'ok']);
  });
});
