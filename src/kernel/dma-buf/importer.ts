// A generic dma-buf importer — the RDMA or GPU side of the protocol (docs/vfio-pci.md, "dma-buf"): it
// attaches dynamically (revocable: with invalidate_mappings; or not), optionally pins, maps, does
// DMA under a fence, and unmaps when told. A revocable importer behaves like the kernel's own
// (iommufd's iopt_revoke_notify(), RDMA's umem invalidation): its invalidate_mappings callback,
// called by the exporter with the reservation lock held, unmaps the attachment there and then. An
// importer made with `ignoresMove` is the misbehaving one: its callback only marks the mapping
// invalid and the unmap waits for the importer's own thread (`importerUnmap`); an exporter that
// waits for the unmap (v7.1's revoke) then waits until that thread runs, or for ever.

import { Cell } from '../../sched/cell.js';
import type { Thread } from '../../sched/program.js';
import type { Machine } from '../machine.js';
import {
  type DmaBuf,
  type DmaBufAttachment,
  dmaBufDetach,
  dmaBufDynamicAttach,
  dmaBufMapAttachment,
  dmaBufPin,
  dmaBufUnmapAttachment,
  dmaBufUnpin,
  dmaFenceSignal,
  dmaResvAddFence,
  ENODEV,
  newFence,
  type PhysVec,
} from './dma-buf.js';

export const EFAULT = -14;

export interface ImporterOptions {
  /** Provides invalidate_mappings (dma_buf_attach_revocable()). Default true. */
  revocable?: boolean;
  /** A static importer: dma_buf_attach() with no importer ops at all (so no peer2peer either). */
  static?: boolean;
  /** Pins the buffer after attaching (dma_buf_pin()). */
  pinned?: boolean;
  /**
   * A misbehaving importer: its invalidate_mappings callback does not unmap (only marks the
   * mapping invalid); the unmap comes only from an explicit importerUnmap. Default false.
   */
  ignoresMove?: boolean;
}

export class Importer {
  at: DmaBufAttachment | null = null;
  /**
   * The current mapping, changed under resv: the invariants read it (an importer mapping left
   * after a revoke), so a change is an event (mapping.write); the importer reads it under resv (plain).
   */
  readonly mapping: Cell<PhysVec[] | null>;
  /** invalidate_mappings was called since the last map (plain data, under resv). */
  invalidated = false;
  constructor(
    readonly name: string,
    readonly buf: DmaBuf,
    readonly options: ImporterOptions,
  ) {
    this.mapping = new Cell<PhysVec[] | null>(`${buf.name}.importer.${name}.sgt`, null, {
      show: (v) => (v ? 'mapped' : 'none'),
    });
  }

  get sgt(): PhysVec[] | null {
    return this.mapping.value;
  }
}

// model-only: an importer driver's attach: dma_buf_dynamic_attach(), dma_buf_pin() if it pins, dma_buf_map_attachment().
/** Attach, pin if asked, and map. Returns the importer or -errno (nothing left attached). */
export function* importerAttach(
  name: string,
  buf: DmaBuf,
  o: ImporterOptions = {},
): Thread<Importer | number> {
  const imp = new Importer(name, buf, o);
  const ops = {
    allowPeer2peer: true,
    ...(o.revocable === false
      ? {}
      : {
          *invalidateMappings(at: DmaBufAttachment): Thread<void> {
            imp.invalidated = true;
            // The kernel's revocable importers unmap in the callback (resv is held by the caller).
            if (!o.ignoresMove) yield* importerUnmapLocked(imp, at);
          },
        }),
  };
  const at = yield* dmaBufDynamicAttach(buf, o.static ? undefined : ops, imp);
  if (typeof at === 'number') return at;
  imp.at = at;
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  let err = 0;
  if (o.pinned) err = yield* dmaBufPin(at);
  if (err === 0) {
    const sgt = yield* dmaBufMapAttachment(at);
    if (typeof sgt === 'number') err = sgt;
    else yield* imp.mapping.write(sgt);
  }
  if (err !== 0 && o.pinned) yield* dmaBufUnpin(at);
  yield* buf.resv.lock.unlock();
  if (err !== 0) {
    yield* dmaBufDetach(at);
    imp.at = null;
    return err;
  }
  return imp;
}

// model-only: the importer's device doing DMA through its mapping, under a fence on the buffer's resv.
/**
 * DMA through the current mapping: under resv, a fence is added (the exporter's wait covers it);
 * then the device reads the first page of every range; then the fence is signalled. -ENODEV when
 * the mapping is gone or invalidated (a real importer would remap first).
 */
export function* importerDma(machine: Machine, imp: Importer): Thread<number> {
  const buf = imp.buf;
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  if (!imp.sgt || imp.invalidated) {
    yield* buf.resv.lock.unlock();
    return ENODEV;
  }
  const sgt = imp.sgt;
  const fence = newFence(`${imp.name}.fence`);
  dmaResvAddFence(buf, fence);
  yield* buf.resv.lock.unlock();
  try {
    for (const r of sgt) {
      yield* machine.access({
        by: 'dma',
        thread: imp.name,
        write: false,
        pfn: Math.floor(r.paddr / 4096),
        via: `${buf.name} mapping`,
      });
    }
  } finally {
    yield* dmaFenceSignal(fence);
  }
  return 0;
}

// model-only: the importer's unmap with the reservation lock held — dma_buf_unmap_attachment()
// of its mapping (and dma_buf_unpin() if it pinned), as an importer driver does.
function* importerUnmapLocked(imp: Importer, at: DmaBufAttachment): Thread<void> {
  const sgt = imp.sgt;
  if (sgt) {
    // The importer stops using the mapping (its DMA quiesced), then hands it back: the exporter's
    // unmap may wake a revoke that waits for it, which finds the importer holding nothing.
    yield* imp.mapping.write(null);
    yield* dmaBufUnmapAttachment(at, sgt);
    if (imp.options.pinned) yield* dmaBufUnpin(at);
  }
}

// model-only: an importer driver unmapping its attachment when done (or, with ignoresMove, when
// its own thread gets round to reacting to invalidate_mappings): the unlocked entry.
export function* importerUnmap(imp: Importer): Thread<number> {
  const at = imp.at;
  if (!at) return EFAULT;
  const buf = imp.buf;
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  yield* importerUnmapLocked(imp, at);
  yield* buf.resv.lock.unlock();
  return 0;
}
