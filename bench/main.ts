// npm run bench: explorer throughput on litmus programs. Prints figures and ratios; asserts nothing.

import os from 'node:os';
import * as L from '../src/demo/litmus.js';
import { explore, type Program, type Strategy } from '../src/sched/index.js';
import { huntBench } from './hunt.js';
import { kernelBench } from './kernel.js';
import { mmBench } from './mm.js';
import { scaleBench } from './scale.js';
import { spinBench } from './spin.js';

interface Row {
  program: string;
  strategy: Strategy;
  executions: number;
  complete: boolean;
  events: number;
  ms: number;
  blocked: number;
  peakMiB: number;
}

const EXHAUSTIVE_CAP = 400_000;

function run(p: Program<unknown>, strategy: Strategy): Row {
  global.gc?.();
  let peak = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const r = explore(p, {
    strategy,
    minimizePreemptions: false,
    ...(strategy === 'exhaustive' ? { maxExecutions: EXHAUSTIVE_CAP } : {}),
    onProgress: () => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    },
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return {
    program: p.name ?? '?',
    strategy,
    executions: r.executions,
    complete: r.complete,
    events: r.events,
    ms,
    blocked: r.blocked,
    peakMiB: peak / 2 ** 20,
  };
}

const P = (p: object): Program<unknown> => p as Program<unknown>;
const programs: { p: Program<unknown>; lockFree: boolean }[] = [
  { p: P(L.readers(8)), lockFree: true },
  { p: P(L.readers(15)), lockFree: true },
  { p: P(L.lastzero(8)), lockFree: true },
  { p: P(L.lastzero(14)), lockFree: true },
  { p: P(L.writers(3, 4)), lockFree: true },
  { p: P(L.racyIncrements(5)), lockFree: true },
  { p: P(L.independent(4, 3)), lockFree: true },
  { p: P(L.lockedIncrements(8)), lockFree: false },
  { p: P(L.philosophers(5)), lockFree: false },
  { p: P(L.rwCounter(2, 3)), lockFree: false },
  { p: P(L.completions(3, 2)), lockFree: false },
];

// Warm up the JIT so the first row is not penalised.
for (let i = 0; i < 3; i++) run(P(L.lastzero(8)), 'dpor');

const fmt = (n: number, d = 0): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const header = [
  'program',
  'strategy',
  'executions',
  'events',
  'ms',
  'Mevents/s',
  'exec/s',
  'exh/dpor',
  'blocked',
  'peak heap MiB',
];
const rows: string[][] = [];
let lockFreeEvents = 0;
let lockFreeMs = 0;
for (const { p, lockFree } of programs) {
  const d = run(p, 'dpor');
  const e = run(p, 'exhaustive');
  if (lockFree) {
    lockFreeEvents += d.events;
    lockFreeMs += d.ms;
  }
  for (const r of [d, e]) {
    rows.push([
      r.program,
      r.strategy,
      `${r.complete ? '' : '>='}${fmt(r.executions)}`,
      fmt(r.events),
      fmt(r.ms),
      fmt(r.events / r.ms / 1000, 2),
      fmt((r.executions / r.ms) * 1000),
      r.strategy === 'dpor' ? `${e.complete ? '' : '>='}${fmt(e.executions / d.executions, 1)}` : '',
      r.strategy === 'dpor' ? String(r.blocked) : '',
      fmt(r.peakMiB),
    ]);
  }
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(
  `explorer throughput on ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}, one core`,
);
console.log(`(exhaustive capped at ${fmt(EXHAUSTIVE_CAP)} executions; >= marks a capped count)\n`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log(
  `\ndpor on the lock-free programs: ${fmt(lockFreeEvents / lockFreeMs / 1000, 2)} million events/s overall`,
);

console.log('');
for (const l of mmBench()) console.log(l);
await scaleBench(spinBench());
console.log('');
await kernelBench();
await huntBench();
