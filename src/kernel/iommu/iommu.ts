// The IOMMU core's side of a PCI reset (drivers/iommu/iommu.c, v7.0 on): a device's IOMMU group
// with its mutex, and pci_dev_reset_iommu_prepare()/pci_dev_reset_iommu_done(), which the PCI reset
// methods call around the reset (docs/vfio-pci.md, "The PCI function").
//
// The model gives each PCI function a group of its own. Only the reset hooks take the group's
// mutex here: the other paths that take it in the kernel (attach and detach of domains, probe,
// the sysfs group type) are not modelled, so the mutex shows in the lock graph only where a reset
// of an ATS device takes it.

import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import type { PciDev } from '../pci/pci.js';

/**
 * struct iommu_group, the parts the reset hooks use: `group->mutex` (lockdep class
 * `&group->mutex`) and what the device's requester ID is attached to. During the reset of an ATS
 * device the RID sits on the group's blocking domain, and the domain it had stays recorded
 * (`group->domain`) so that done() can put it back. The attachment is plain data under the mutex;
 * nothing else in the model reads it (the device's DMA translates through its own domain,
 * src/kernel/iommufd/iommufd.ts), so it is state for tests, not a gate.
 */
export class IommuGroup {
  readonly mutex: Mutex;
  /** The domain the RID is attached to: the group's own (`domain`) or `blocking` during a reset. */
  attached: 'domain' | 'blocking' = 'domain';
  /** A reset is in progress (v7.0's group->resetting_domain; v7.1 keeps it per device, gdev->blocked). */
  resetting = false;

  constructor(readonly name: string) {
    this.mutex = new Mutex(`${name}.group.mutex`, { lockClass: 'group->mutex' });
  }
}

// drivers/iommu/iommu.c: pci_dev_reset_iommu_prepare()
/**
 * Returns 0 at once unless the device supports ATS and has an IOMMU (every device of the model
 * has one). Otherwise, with `group->mutex` held for the whole body: attach the RID to the group's
 * blocking domain (the IOMMU driver disables ATS, waits for ATS invalidations in flight and fences
 * new translation requests), keeping `group->domain` as it is, and mark the reset in progress.
 * (The PASID domains, detached the same way, are not modelled; nor is the refusal, -EBUSY, of
 * attaches that come during the reset.)
 */
export function* pciDevResetIommuPrepare(pdev: PciDev): Thread<number> {
  if (!pdev.ats) return 0;
  const group = pdev.iommuGroup;
  yield* group.mutex.lock();
  group.attached = 'blocking';
  group.resetting = true;
  yield* group.mutex.unlock();
  return 0;
}

// drivers/iommu/iommu.c: pci_dev_reset_iommu_done()
/**
 * Returns at once unless the device supports ATS and has an IOMMU. Otherwise, with `group->mutex`
 * held for the whole body: unless prepare() was bypassed, attach the RID back to `group->domain`
 * and mark the reset over.
 */
export function* pciDevResetIommuDone(pdev: PciDev): Thread<void> {
  if (!pdev.ats) return;
  const group = pdev.iommuGroup;
  yield* group.mutex.lock();
  if (group.resetting) {
    group.attached = 'domain';
    group.resetting = false;
  }
  yield* group.mutex.unlock();
}
