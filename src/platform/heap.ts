// The JavaScript heap's use and limit, for the explorer's memory guard (sched/collector.ts): V8's
// own figures under Node. heap.browser.ts is the playground's.

import { getHeapStatistics } from 'node:v8';

export interface HeapFigures {
  used: number;
  limit: number;
}

export function heapFigures(): HeapFigures {
  const s = getHeapStatistics();
  return { used: s.used_heap_size, limit: s.heap_size_limit };
}
