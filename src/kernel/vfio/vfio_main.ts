// The VFIO device core (drivers/vfio/vfio_main.c, group.c, device_cdev.c): a vfio_device with its
// registration reference, its open count, and a per-device inode on the vfio pseudo-fs whose
// address_space every device fd shares, so unmap_mapping_range() on it reaches every BAR mmap of
// the device (docs/vfio-pci.md, "The VFIO device").

import { Cell } from '../../sched/cell.js';
import { Completion } from '../../sched/completion.js';
import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { RefCount } from '../../sched/refcount.js';
import { Violation } from '../../sched/violation.js';
import { File, Inode } from '../fs/file.js';
import type { VmAreaDesc, Vma } from '../mm/mm_types.js';

export interface VfioDeviceOps {
  name: string;
  /** ops->open_device(): the first open. 0 or -errno. */
  openDevice(dev: VfioDevice): Thread<number>;
  /** ops->close_device(): the last close. */
  closeDevice(dev: VfioDevice): Thread<void>;
  /** ops->mmap(). */
  mmap(dev: VfioDevice, vma: Vma): Thread<number>;
  /** The driver maps through f_op->mmap_prepare instead (the proposal). */
  usesMmapPrepare?(dev: VfioDevice): boolean;
  mmapPrepare?(dev: VfioDevice, desc: VmAreaDesc): Thread<number>;
  /** The v5 era's ops->open / ops->release: the driver serialises them itself (vfio-pci: reflck). */
  open?(dev: VfioDevice): Thread<number>;
  release?(dev: VfioDevice): Thread<void>;
}

export class VfioDevice {
  /** device->inode: its i_mapping is every device fd's f_mapping. */
  readonly inode: Inode;
  /**
   * dev_set->lock, held across open and close (one device per set in the model). In the v5 era
   * (before v5.15) the vfio core had no dev_set: vfio-pci serialised open and release on its
   * vdev->reflck->lock, which this is then (named and classed so).
   */
  readonly devSetLock: Mutex;
  /** device->open_count (protected by dev_set->lock). */
  readonly openCount: Cell<number>;
  /**
   * device->refcount: the registration, held by vfio_register_group_dev() and by users. A fault's
   * pin of the device (taken and dropped within the fault) is a scoped reference (RefCount).
   */
  readonly refcount: RefCount;
  /** device->comp: completed when the registration count reaches zero. */
  readonly comp: Completion;
  /** Set once vfio_unregister_group_dev() returned and the driver freed the device. */
  readonly freed: Cell<boolean>;
  /** The PCI device's struct device mutex (device_lock()), which the driver core holds across unbind. */
  readonly deviceLock: Mutex;
  /** dev->driver is set: vfio-pci (or its variant) is bound, until an unbind's remove returns. */
  readonly driverBound: Cell<boolean>;
  /** Driver-private state (the vfio_pci_core_device). */
  drv: unknown;

  constructor(
    readonly name: string,
    readonly ops: VfioDeviceOps,
    /** The VFIO core's generation (the design's coreEra). */
    readonly era: 'v5' | 'v6' = 'v6',
    /** Whether the driver's probe registered it (vfio_pci_core_register_device()). */
    registered = true,
  ) {
    this.inode = new Inode(`vfio:${name}`);
    this.devSetLock =
      era === 'v5'
        ? new Mutex(`${name}.reflck.lock`, { lockClass: 'reflck->lock' })
        : new Mutex(`${name}.dev_set.lock`, { lockClass: 'dev_set->lock' });
    this.openCount = new Cell(`${name}.open_count`, 0);
    // Registered from the start (vfio_register_group_dev), unless the probe failed: then every
    // open finds no registration (-ENODEV).
    this.refcount = new RefCount(`${name}.refcount`, registered ? 1 : 0);
    this.comp = new Completion(`${name}.comp`);
    this.freed = new Cell(`${name}.freed`, false);
    this.deviceLock = new Mutex(`${name}.device_lock`, { lockClass: 'device_lock' });
    this.driverBound = new Cell(`${name}.driver`, registered);
  }
}

// drivers/vfio/vfio_main.c: vfio_device_try_get_registration()
export function* vfioDeviceTryGetRegistration(dev: VfioDevice): Thread<boolean> {
  return yield* dev.refcount.incNotZero();
}

// drivers/vfio/vfio_main.c: vfio_device_put_registration()
export function* vfioDevicePutRegistration(dev: VfioDevice): Thread<void> {
  const old = yield* dev.refcount.dec();
  if (old <= 0) throw new Violation('REFCOUNT', `${dev.name}: registration reference count underflow`);
  if (old === 1) yield* dev.comp.complete();
}

// drivers/vfio/vfio_main.c: vfio_device_try_get_registration(), for a reference its caller drops
// with vfioDevicePutRegistrationScoped() before it returns (a fault's pin of the device).
export function* vfioDeviceTryGetRegistrationScoped(dev: VfioDevice): Thread<boolean> {
  return yield* dev.refcount.getScoped();
}

// drivers/vfio/vfio_main.c: vfio_device_put_registration() of a reference
// vfioDeviceTryGetRegistrationScoped() took in this thread (it cannot underflow).
export function* vfioDevicePutRegistrationScoped(dev: VfioDevice): Thread<void> {
  if (yield* dev.refcount.putScoped()) yield* dev.comp.complete();
}

// drivers/vfio/vfio.c (v5.7 to v5.14): vfio_device_put() — the v5 era's reference drop (a kref
// whose release wakes vfio_del_group_dev()).
function* vfioDevicePut(dev: VfioDevice): Thread<void> {
  const old = yield* dev.refcount.dec();
  if (old <= 0) throw new Violation('REFCOUNT', `${dev.name}: device reference count underflow`);
  if (old === 1) yield* dev.comp.complete();
}

// drivers/vfio/vfio.c (v5.7 to v5.14): vfio_device_get_from_name() — a reference to a device still
// registered (the v5 era's open path).
function* vfioDeviceGetFromName(dev: VfioDevice): Thread<boolean> {
  return yield* dev.refcount.incNotZero();
}

/**
 * drivers/vfio/vfio.c (v5.7 to v5.14): vfio_del_group_dev() — the v5 era's unregister: drop the
 * device's own reference and wait until every user has dropped theirs.
 */
function* vfioDelGroupDev(dev: VfioDevice): Thread<void> {
  yield* vfioDevicePut(dev);
  yield* dev.comp.wait();
  yield* dev.freed.write(true);
}

/** model-only: the unregister of the device's era (vfio_unregister_group_dev, or v5's vfio_del_group_dev). */
export function vfioUnregister(dev: VfioDevice): Thread<void> {
  return dev.era === 'v5' ? vfioDelGroupDev(dev) : vfioUnregisterGroupDev(dev);
}

/**
 * drivers/vfio/vfio_main.c: vfio_unregister_group_dev() — drop the registration and wait until
 * every user has dropped theirs: open fds (through their open device) and every exported dma-buf
 * (each holds a registration until its cleanup or release).
 */
export function* vfioUnregisterGroupDev(dev: VfioDevice): Thread<void> {
  yield* vfioDevicePutRegistration(dev);
  yield* dev.comp.wait();
  // The driver's remove path then frees the device (vfio_put_device()).
  yield* dev.freed.write(true);
}

/**
 * drivers/vfio/group.c: vfio_device_open_file() (the cdev path is the same for what the model
 * needs): under dev_set->lock, the first open calls ops->open_device; the new file's f_mapping is
 * the device inode's address_space. Returns the file or -errno.
 */
export function* vfioDeviceOpenFile(dev: VfioDevice): Thread<File | number> {
  if (dev.era === 'v5' && dev.ops.open) {
    // drivers/vfio/vfio.c (v5.7 to v5.14): vfio_group_get_device_fd() — a device reference, then
    // ops->open (vfio-pci takes its reflck->lock itself).
    if (!(yield* vfioDeviceGetFromName(dev))) return -19;
    const err = yield* dev.ops.open(dev);
    if (err !== 0) {
      yield* vfioDevicePut(dev);
      return err;
    }
  } else {
    // The fd holds a registration (vfio_device_try_get_registration() in the open path).
    if (!(yield* vfioDeviceTryGetRegistration(dev))) return -19;
    yield* dev.devSetLock.lock();
    const n = yield* dev.openCount.read();
    if (n === 0) {
      const err = yield* dev.ops.openDevice(dev);
      if (err !== 0) {
        yield* dev.devSetLock.unlock();
        yield* vfioDevicePutRegistration(dev);
        return err;
      }
    }
    yield* dev.openCount.write(n + 1);
    yield* dev.devSetLock.unlock();
  }
  const prepare = dev.ops.usesMmapPrepare?.(dev) === true && dev.ops.mmapPrepare !== undefined;
  const file = new File(`${dev.name}.fd`, dev.inode, {
    name: 'vfio_device_fops',
    // drivers/vfio/vfio_main.c: vfio_device_fops_mmap() (or, converted, its mmap_prepare)
    ...(prepare
      ? { mmapPrepare: (desc: VmAreaDesc) => dev.ops.mmapPrepare!(dev, desc) }
      : { mmap: (_f: File, vma: Vma) => dev.ops.mmap(dev, vma) }),
    // drivers/vfio/vfio_main.c: vfio_device_fops_release() -> vfio_device_close(); v5 era:
    // drivers/vfio/vfio.c: vfio_device_fops_release() -> ops->release, then vfio_device_put()
    release: () => (dev.era === 'v5' && dev.ops.release ? vfioDeviceFopsRelease(dev) : vfioDeviceClose(dev)),
  });
  file.privateData = dev;
  return file;
}

// drivers/vfio/vfio_main.c: vfio_device_close() -> vfio_df_close() -> ops->close_device on the last
function* vfioDeviceClose(dev: VfioDevice): Thread<void> {
  yield* dev.devSetLock.lock();
  const n = yield* dev.openCount.read();
  if (n === 1) yield* dev.ops.closeDevice(dev);
  yield* dev.openCount.write(n - 1);
  yield* dev.devSetLock.unlock();
  yield* vfioDevicePutRegistration(dev);
}

// drivers/vfio/vfio.c (v5.7 to v5.14): vfio_device_fops_release() — ops->release (vfio-pci's
// vfio_pci_release(), under its reflck->lock), then the file's device reference is dropped.
function* vfioDeviceFopsRelease(dev: VfioDevice): Thread<void> {
  yield* dev.ops.release!(dev);
  yield* vfioDevicePut(dev);
}
