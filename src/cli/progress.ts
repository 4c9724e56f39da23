// The progress bar of a long exploration: on a TTY only (stderr), quiet otherwise. The size of a
// search is not known in advance, so the bar shows counts and rates, never a share done: the
// explorer's Knuth estimate (Progress.fractionDone) was measured far off on kernel scenarios
// (docs/cli.md, "Progress"), and a wrong estimate is worse than none.

import cliProgress from 'cli-progress';
import type { Progress } from '../sched/program.js';

export interface ProgressBar {
  update(p: Progress): void;
  /** A new phase (compare: the design being explored). */
  phase(label: string): void;
  stop(): void;
}

const quiet: ProgressBar = { update() {}, phase() {}, stop() {} };

/** A bar on stderr when it is a terminal and CI is not set; otherwise nothing. */
export function progressBar(enabled = process.stderr.isTTY === true && !process.env.CI): ProgressBar {
  if (!enabled) return quiet;
  let label = 'exploring';
  let started = false;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        '{label} | {executions} executions | {rate}/s | depth {depth} | violations {violations} | {elapsed}s',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  return {
    update(p) {
      const payload = {
        label,
        executions: p.executions,
        rate: Math.round(p.executions / Math.max(0.001, p.elapsedMs / 1000)),
        depth: p.depth,
        violations: p.violations,
        elapsed: (p.elapsedMs / 1000).toFixed(1),
      };
      if (!started) {
        bar.start(0, 0, payload);
        started = true;
      } else bar.update(0, payload);
    },
    phase(l) {
      label = l;
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
