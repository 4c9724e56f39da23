// Regenerates examples/manifest.json: every example scenario checked on every design.
//
// Usage:  npm run build && node examples/generate-manifest.mjs
//         (VDM_DIST=/other/build node examples/generate-manifest.mjs to use another build of dist/)
//
// For each examples/*.yaml and each design of DESIGN_NAMES it records what
// checkScenario(sc, { design: designOf(name) }) reports: the verdict on the file's `expect` (written
// for the file's own design, so a `fail` on another design is data, not an error), the distinct
// violation ids, the number of executions and whether the exploration was complete. A file whose
// design carries options also gets `own`: the check on its design with those options. The file's
// own `check` settings (strategy, maxExecutions, preemptionBound) apply to every design; dpor and
// exhaustive are deterministic, so test/examples/manifest.test.ts asserts the same numbers.
// Read the summary it prints before accepting a new manifest: every `own` verdict should be pass.

import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(process.env.VDM_DIST ?? join(here, '..', 'dist'));
const load = async (p) => import(pathToFileURL(join(dist, p)).href);
const { loadScenarioFile } = await load('src/scenario/load.js');
const { checkScenario } = await load('src/scenario/check.js');
const { DESIGN_NAMES, designOf } = await load('src/designs/design.js');

/** One line per example: the story it tells (docs/examples.md has the longer version). */
const STORIES = {
  'proposal-v5-export-lock-deadlock.yaml':
    "the series up to v5 lists an mmap's dma-buf under memory_lock inside mmap_lock; nvgrace-gpu's read holds memory_lock across a faulting copy: DEADLOCK; exportLock none (after v5): none",
  'v6.19-rc-pinned-importer.yaml':
    'v6.19-rc1..rc7: VFIO had no .pin, so a pinned (non-ODP RDMA) importer attached and kept the BAR through a revoke; 61ceaf236115 (rc8) refuses it',
  'uffd-copy-wakes-fault.yaml':
    'a store to a missing page of a userfaultfd-registered mapping sleeps with mmap_lock dropped until UFFDIO_COPY fills it; nothing else waits',
  'v5.8-uffd-stall-under-memory-lock.yaml':
    "v5.8's pread holds memory_lock across a copy that a userfaultfd stalls: a queued disable and the handler's BAR fault close a DEADLOCK; v5.13 holds nothing",
  'v7.1-iommufd-unpin-without-resv.yaml':
    "v7.1's iopt_release_pages() unpins dma-buf pages without the reservation lock (ERROR); e745cd2c749e (v7.2) takes it",
  'v7.1-iommufd-release-vs-revoke.yaml':
    "v7.1's iopt_release_pages() destroys pages->mutex before detaching; a revoke's iopt_revoke_notify() locks it (USE_AFTER_FREE); f2d70dbd3dce (v7.2) detaches first",
  'v7.1-iommufd-access-pin-dmabuf.yaml':
    'v6.19-v7.1: an in-kernel access pin takes mmap_lock under a dma-buf pages->mutex (LOCK_ORDER with dma_resv_lockdep()); 5f3fc0ad9a41 (v7.2) refuses it',
  'ats-reset-vs-fault-lockdep.yaml':
    "v7.0+: VFIO_DEVICE_RESET of an ATS device takes &group->mutex under memory_lock; with the list's chain back to mmap_lock and a BAR fault: LOCK_ORDER",
  'ats-reset-vs-fault-no-ats.yaml':
    'the same reset and fault on a device without ATS: the IOMMU reset hooks return at once, no group->mutex, no cycle',
  'client-dmabuf-subrange.yaml':
    'a client holding only a dma-buf of a BAR slice cannot mmap it upstream (EINVAL); its importer DMA races a memory disable',
  'faults-vs-disable.yaml':
    'three vCPUs fault their own pages of one mapping while a fourth disables memory: their PTE-lock sections commute',
  'independent-devices.yaml':
    'two processes disable and close their own devices: nothing shared, so exactly one execution',
  'nvgrace-gpu-fault-vs-reset.yaml':
    'nvgrace-gpu: faults on its device memory race a memory disable and a reset; the readiness poll runs under memory_lock',
  'nvgrace-gpu-importer-before-ready.yaml':
    'nvgrace-gpu: a dma-buf importer DMAs into device memory after a reset before any readiness poll saw it ready',
  'nvgrace-gpu-pread-into-own-bar.yaml':
    "nvgrace-gpu: pread of device memory into the device's own mapping copies under memory_lock: lock-order cycle and deadlock",
  'nvgrace-gpu-pread-userfaultfd.yaml':
    'nvgrace-gpu: pread into a userfaultfd buffer holds memory_lock while user space sleeps; a handler touching the device deadlocks',
  'pread-across-bars.yaml':
    "pread from BAR0 into a mapping of BAR2 races a memory disable: the copy's fault takes memory_lock on its own",
  'selftest-map-bar-misaligned.yaml':
    'the kernel selftest map_bar_misaligned at its size: type1 MAP_DMA of a 4 MiB BAR mapping faults 1024 pages in one ioctl',
  'v5.7-1tib-bar.yaml':
    'v5.7 maps a 1 TiB BAR eagerly at mmap: page tables as runs cost what a 2 MiB BAR does',
  'v5.8-load-store-vs-disable.yaml':
    'v5.8: a load and a store race a memory disable on a 64 KiB BAR; stops once the three violations are found',
  'v5.8-pread-into-bar-64k.yaml':
    "v5.8: pread into a 64 KiB mapping of the device's own BAR: lock-order cycle and deadlock, stopping at the first",
  'importer-rules.yaml':
    'upstream refuses a non-revocable importer and accepts a pinned one; v6.19 did the reverse',
  'iommufd-map-file-revoke.yaml':
    "a NIC's DMA through an iommufd MAP_FILE of a GPU dma-buf races the GPU's memory disable: revoked synchronously",
  'mmap-bounds.yaml':
    'BAR mappings stay inside their BAR and translate by vma_to_pfn(); one page too many is EINVAL',
  'proposal-client-dmabuf.yaml':
    'the proposal: a client maps only a dma-buf of a BAR sub-range and touches it while the primary resets',
  'proposal-compat-p2p.yaml':
    "the proposal: compat MAP_DMA of a VFIO mmap imports its dma-buf, so a NIC's P2P DMA is revoked by the GPU's reset",
  'proposal-fault-without-device-pin.yaml':
    'the proposal with faultPinsDevice: false: a fault takes memory_lock of a device that close + unbind freed',
  'proposal-huge-gup-nospecial.yaml':
    'on an arch without PMD special bits no design maps a 2 MiB BAR with a huge leaf, so fast and slow GUP agree (EFAULT)',
  'proposal-permanent-revoke.yaml':
    "the proposal: a permanent revoke races the client's first touch of its dma-buf mapping",
  'proposal-unbind-vs-fault.yaml':
    "the proposal: a client's fault races the close of the device fd and the driver's unbind",
  'proposal-zap-coverage-gap.yaml':
    "the proposal's v4 as posted: a BAR1 device-fd mmap is out of the revoke zap's range and survives memory off",
  'reset-races-fault.yaml':
    'a fault races VFIO_DEVICE_RESET: no leaf after the zap, no access while in reset',
  'type1-map-dma-of-vfio-mmap.yaml':
    'MAP_DMA of a VFIO BAR mmap: EFAULT through iommufd compat; type1 maps it and never revokes it',
  'v5.7-eager-remap.yaml':
    'v5.7 populates BAR mappings at mmap and never zaps them: a load after memory off reaches the BAR',
  'v5.7-read-ignores-decode.yaml': 'v5.7 read() through the device fd does the I/O with memory decode off',
  'v5.8-concurrent-faults-bug.yaml':
    "v5.8: two faults on one VMA both io_remap_pfn_range() it; the second BUG()s on the first's PTEs",
  'v5.8-fault-vs-disable.yaml': 'v5.8: a fault fills a VMA that a concurrent zap already took off vma_list',
  'v5.8-pread-lock-order.yaml':
    "v5.8: pread into the device's own mapping holds memory_lock across the copy: lock-order cycle and deadlock",
  'v6.10-address-space.yaml':
    'v6.10: one address_space per device reaches parent and forked child mappings while memory is disabled',
  'v6.12-huge-fault-misaligned-pfn.yaml':
    "v6.12's huge_fault builds a PMD leaf from a pfn that is not 2 MiB-aligned: the block maps one page off",
  'v6.12-huge-fault-unaligned-address-oom.yaml':
    "v6.12's huge_fault without address rounding: an unaligned fault racing an aligned one in the block gets VM_FAULT_OOM",
  'v6.19-importer-rules.yaml':
    "importer-rules' expectations (upstream's) on v6.19, which took any P2P importer and refused pins: EXPECT",
  'v6.19-close-disables-before-cleanup.yaml':
    "v6.19's close disables the device before revoking its dma-bufs: importer DMA reaches a disabled BAR",
  'v6.19-command-off-vs-importer.yaml':
    "v6.19's revoke only notifies: after a memory disable the importer keeps its mapping and DMAs with decode off",
  'v6.19-revoke-only-notifies.yaml':
    "v6.19's revoke only notifies: importer DMA after a low-power entry's revoke returned",
  'fork-huge-pmd-vs-command.yaml':
    "fork's copy_huge_pmd() copies a stale snapshot of a special PMD that a memory disable zapped: the child keeps the BAR",
  'fork-huge-pmd-vs-command-recheck.yaml':
    'the same race with forkRechecksHugePmd (copy_huge_pmd re-reads the PMD under both locks): nothing found',
  'fork-huge-pmd-vs-reset-arm64.yaml':
    "arm64: fork's stale huge-PMD snapshot outlives a reset's zap; the child's load reaches the BAR in reset",
  'fork-huge-pmd-vs-reset-arm64-recheck.yaml':
    'the reset race on arm64 with forkRechecksHugePmd: nothing found',
  'fork-huge-pmd-vs-revoke.yaml':
    "the proposal: fork's stale huge-PMD snapshot of a mmapped dma-buf outlives its permanent revoke",
  'fork-huge-pmd-vs-revoke-recheck.yaml': 'the dma-buf revoke race with forkRechecksHugePmd: nothing found',
  'fork-huge-pmd-vs-close.yaml':
    'closing the device fd zaps nothing while a mapping holds the file: no race with fork',
  'gup-huge-pfnmap-nospecial.yaml':
    'without the arch guard an unmarked huge pfnmap leaf lets gup-fast pin BAR pages that slow GUP refuses',
  'v6.9-fork-unlisted-ptes.yaml':
    "v6.9's fork opens the child VMA before copying PTEs: the child maps the BAR off vma_list",
  'v7.1-rc-revoked-cleanup-underflow.yaml':
    "v7.1-rc1..rc3: memory off revokes a dma-buf, then the close's cleanup puts its kref again (fixed by c64a647c84f3)",
};

const summary = (r) => ({
  verdict: r.verdict,
  violations: [...new Set(r.violations.map((v) => v.invariant))].sort(),
  executions: r.executions,
  complete: r.complete,
});

const files = readdirSync(here)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const examples = {};
const rows = [];
for (const file of files) {
  const sc = loadScenarioFile(join(here, file));
  const story = STORIES[file];
  if (!story) console.warn(`${file}: no story in STORIES, using its name`);
  const entry = {
    name: sc.name,
    design: sc.design.name,
    story: story ?? sc.name,
    expected: [...sc.expect.violations],
    results: {},
  };
  if (sc.expect.designs) entry.expectedByDesign = { ...sc.expect.designs };
  if (Object.keys(sc.design.options).length > 0) entry.options = { ...sc.design.options };
  const t0 = Date.now();
  for (const d of DESIGN_NAMES) entry.results[d] = summary(checkScenario(sc, { design: designOf(d) }));
  if (entry.options) entry.own = summary(checkScenario(sc));
  examples[file] = entry;
  const own = entry.own ?? entry.results[sc.design.name];
  rows.push(
    `${own.verdict === 'pass' ? ' ' : '!'} ${file.padEnd(44)} ${String(Date.now() - t0).padStart(6)} ms  ` +
      DESIGN_NAMES.map((d) => `${d}:${entry.results[d].verdict === 'pass' ? 'P' : 'F'}`).join(' '),
  );
}
const manifest = {
  generatedBy: 'examples/generate-manifest.mjs',
  designs: [...DESIGN_NAMES],
  examples,
};
writeFileSync(join(here, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(rows.join('\n'));
const bad = rows.filter((r) => r.startsWith('!'));
console.log(
  `${files.length} examples; ${bad.length} fail on their own design${bad.length ? ' (marked !)' : ''}`,
);
