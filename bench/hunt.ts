// npm run bench, last table: how many programs a minute `vdm hunt` explores, on one worker process
// and on two (v5.8, seed 1, shrinking off, the CLI's default bounds: 200 executions or 2 s per
// program), and how many the 10-minute hunt of the issue would then explore. Prints figures only.

import { hunt } from '../src/hunt/hunt.js';
import { processPool } from '../src/hunt/pool.js';

const SECONDS = 45;

export async function huntBench(): Promise<void> {
  console.log(
    `\nvdm hunt: programs explored in ${SECONDS} s (v5.8, seed 1, no shrinking; whole worker processes)\n`,
  );
  const rows: string[][] = [
    ['workers', 'programs', 'refused', 'executions', 'events', 'programs/min', 'in 10 min'],
  ];
  let one = 0;
  for (const workers of [1, 2]) {
    const r = await hunt(
      {
        designs: [{ name: 'v5.8' }],
        seed: 1,
        timeMs: SECONDS * 1000,
        bounds: { maxExecutions: 200, timeLimitMs: 2000 },
        shrink: false,
      },
      processPool(workers),
    );
    const perMin = (r.stats.programs * 60_000) / r.stats.elapsedMs;
    if (workers === 1) one = perMin;
    rows.push([
      String(workers),
      r.stats.programs.toLocaleString('en-US'),
      String(r.stats.refused),
      r.stats.executions.toLocaleString('en-US'),
      r.stats.events.toLocaleString('en-US'),
      `${Math.round(perMin)}${workers > 1 ? ` (${(perMin / one).toFixed(2)}x)` : ''}`,
      Math.round(perMin * 10).toLocaleString('en-US'),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const [k, r] of rows.entries()) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
