// A generic dma-buf importer — the RDMA or GPU side of the protocol (KERNEL.md §3.3-3.4): it
// attaches dynamically (revocable: with invalidate_mappings; or not), optionally pins, maps, does
// DMA under a fence, and unmaps when told. Its invalidate_mappings only marks the mapping invalid;
// the unmap comes from the importer's own thread (`importerUnmap`), as a driver's work item would.

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
}

export class Importer {
  at: DmaBufAttachment | null = null;
  /** The current mapping (plain data, changed under resv). */
  sgt: PhysVec[] | null = null;
  /** invalidate_mappings was called since the last map (plain data, under resv). */
  invalidated = false;
  constructor(
    readonly name: string,
    readonly buf: DmaBuf,
    readonly options: ImporterOptions,
  ) {}
}

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
          *invalidateMappings(): Thread<void> {
            imp.invalidated = true;
          },
        }),
  };
  const at = yield* dmaBufDynamicAttach(buf, o.static ? undefined : ops, imp);
  if (typeof at === 'number') return at;
  imp.at = at;
  yield* buf.resv.lock.lock();
  let err = 0;
  if (o.pinned) err = yield* dmaBufPin(at);
  if (err === 0) {
    const sgt = yield* dmaBufMapAttachment(at);
    if (typeof sgt === 'number') err = sgt;
    else imp.sgt = sgt;
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

/**
 * DMA through the current mapping: under resv, a fence is added (the exporter's wait covers it);
 * then the device reads the first page of every range; then the fence is signalled. -ENODEV when
 * the mapping is gone or invalidated (a real importer would remap first).
 */
export function* importerDma(machine: Machine, imp: Importer): Thread<number> {
  const buf = imp.buf;
  yield* buf.resv.lock.lock();
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

/** Unmap (and unpin) under resv: what the importer does when told to, or when done. */
export function* importerUnmap(imp: Importer): Thread<number> {
  const at = imp.at;
  if (!at) return EFAULT;
  const buf = imp.buf;
  yield* buf.resv.lock.lock();
  if (imp.sgt) {
    yield* dmaBufUnmapAttachment(at, imp.sgt);
    imp.sgt = null;
    if (imp.options.pinned) yield* dmaBufUnpin(at);
  }
  yield* buf.resv.lock.unlock();
  return 0;
}
