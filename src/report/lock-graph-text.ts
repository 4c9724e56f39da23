// `vdm lockdep`'s text: the lock classes a search saw, every dependency between them with where it
// was first made, and any circular dependency as lockdep prints one — under the kernel's class
// names (src/kernel/lock-classes.ts).

import { kernelLockName } from '../kernel/lock-classes.js';
import type { LockGraph } from '../sched/explore.js';

/** How to say a lock was held or taken, as lockdep's usage letters would (read, write, exclusive). */
function mode(m: string): string {
  return m === 'read' ? 'read' : m === 'write' ? 'write' : 'lock';
}

/**
 * The report. `replay(schedule)` is the command line that replays an execution (the caller knows
 * the file and design flags).
 */
export function lockGraphText(g: LockGraph, head: string, replay: (schedule: string) => string): string {
  const lines: string[] = [head];
  const classes = new Set<string>();
  for (const d of g.dependencies) {
    classes.add(d.from);
    classes.add(d.to);
  }
  const named = [...classes]
    .map((c) => [kernelLockName(c), c] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  lines.push('', `lock classes held while another was taken (${named.length}):`);
  for (const [k, c] of named) lines.push(`  ${k}${k === c ? '' : `   [model: ${c}]`}`);
  if (named.length === 0) lines.push('  (none: no execution took a lock while holding another)');
  lines.push('', `dependencies (${g.dependencies.length}), held -> taken, each as first seen:`);
  for (const d of g.dependencies) {
    lines.push(
      `  ${kernelLockName(d.from)} (${mode(d.fromMode)}) -> ${kernelLockName(d.to)} (${mode(d.toMode)})`,
    );
    if (d.schedule === '') {
      lines.push(
        "      declared: the design's lock order or the machine's lockChains (made elsewhere in the kernel)",
      );
      continue;
    }
    lines.push(`      by ${d.thread}`);
    lines.push(...where('held in ', d.holdStack, d.holdSite, '        '));
    lines.push(...where('taken in', d.acquireStack, d.acquireSite, '        '));
    lines.push(`      replay: ${replay(d.schedule)}`);
  }
  lines.push('');
  if (g.cycles.length === 0) lines.push('no circular locking dependency');
  for (const cycle of g.cycles) {
    const first = cycle[0]!;
    if (cycle.length === 1) {
      lines.push(
        '============================================',
        'WARNING: possible recursive locking detected',
        '--------------------------------------------',
        `${first.thread} is trying to acquire ${kernelLockName(first.to)} (${mode(first.toMode)})`,
        ...where('', first.acquireStack, first.acquireSite, '  '),
        `but it already holds it (${mode(first.fromMode)}), taken`,
        ...where('', first.holdStack, first.holdSite, '  '),
        `replay: ${replay(first.schedule)}`,
        '',
      );
      continue;
    }
    const chain = [...cycle.map((d) => kernelLockName(d.from)), kernelLockName(first.from)];
    lines.push(
      '======================================================',
      'WARNING: possible circular locking dependency detected',
      '------------------------------------------------------',
      `the existing dependency chain: ${chain.join(' --> ')}`,
      '',
    );
    for (const d of cycle) {
      if (d.schedule === '') {
        lines.push(
          `-> #${cycle.indexOf(d)} ${kernelLockName(d.to)} after ${kernelLockName(d.from)}: declared (made elsewhere in the kernel)`,
        );
        continue;
      }
      lines.push(
        `-> #${cycle.indexOf(d)} ${kernelLockName(d.to)} (${mode(d.toMode)}) taken by ${d.thread} while holding ${kernelLockName(d.from)} (${mode(d.fromMode)})`,
      );
      lines.push(...where('held in ', d.holdStack, d.holdSite, '       '));
      lines.push(...where('taken in', d.acquireStack, d.acquireSite, '       '));
      lines.push(`       replay: ${replay(d.schedule)}`);
    }
    lines.push('');
  }
  return lines.join('\n').replace(/\n+$/, '');
}

/** Where a lock was taken: the kernel function chain (outermost first), then the model's source line. */
function where(
  label: string,
  stack: string[] | undefined,
  site: string | undefined,
  indent: string,
): string[] {
  const out: string[] = [];
  const head = label ? `${label} ` : '';
  if (stack?.length)
    out.push(`${indent}${head}${stack.map((f) => (f.startsWith('op:') ? f : `${f}()`)).join(' > ')}`);
  if (site) out.push(`${indent}${' '.repeat(head.length)}(model: ${site})`);
  return out;
}
