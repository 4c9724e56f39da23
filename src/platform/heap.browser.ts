// The browser's heap.ts (the playground's bundle): Chromium's performance.memory where it exists;
// elsewhere the limit is unknown (infinite), so the memory guard never stops a search and the
// playground's bounds (maxExecutions, the scenario's time limit) are what end it.

import type { HeapFigures } from './heap.js';

export type { HeapFigures } from './heap.js';

interface ChromiumMemory {
  usedJSHeapSize: number;
  jsHeapSizeLimit: number;
}

export function heapFigures(): HeapFigures {
  const m = (globalThis.performance as unknown as { memory?: ChromiumMemory } | undefined)?.memory;
  if (!m || !(m.jsHeapSizeLimit > 0)) return { used: 0, limit: Number.POSITIVE_INFINITY };
  return { used: m.usedJSHeapSize, limit: m.jsHeapSizeLimit };
}
