// `vdm hunt`: generated programs, every interleaving, shrunk counterexamples (docs/hunt.md). The
// command reads and writes the output folder (a corpus of scenario files to resume from, one
// scenario file per shrunk finding, hunt.json), shows progress on a TTY and prints a final table.

import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DESIGN_NAMES } from '../designs/design.js';
import { type HuntResult, type HuntSignature, type HuntStats, hunt, short } from '../hunt/hunt.js';
import type { DesignRef } from '../hunt/jobs.js';
import { processPool, queuePool } from '../hunt/pool.js';
import { uapiText } from '../hunt/uapi.js';
import { replayCommand } from '../report/replay-command.js';
import { durationMs } from '../scenario/check.js';
import { designNameFlag, optionFlags, UsageError } from './search.js';
import { writeAtomically } from './write-atomically.js';

interface HuntFlags {
  design?: string;
  option?: string[];
  seed?: number;
  time?: string;
  programs?: number;
  out?: string;
  workers?: number;
  queue?: string;
  maxExecutions?: number;
  programTime?: string;
  shrink?: boolean;
  shrinkTime?: string;
  ignore?: string[];
  coverage?: boolean;
  json?: boolean;
  describe?: boolean;
}

/** What hunt.json holds: enough to resume (the signatures found) and to read the result. */
export interface HuntSummary {
  designs: string[];
  seed: number;
  stats: HuntStats;
  stoppedBecause: HuntResult['stoppedBecause'];
  lastFailure?: string;
  signatures: (Omit<HuntSignature, 'text' | 'shrunk'> & {
    ignored: boolean;
    shrunk?: Omit<NonNullable<HuntSignature['shrunk']>, 'text'> & { replay?: string };
  })[];
}

const positive = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return Number(v);
};
const duration = (name: string) => (v: string) => {
  try {
    durationMs(v);
    return v;
  } catch {
    throw new InvalidArgumentError(`${name}: not a duration: ${v} (say 500ms, 30s, 10m or 1h)`);
  }
};
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function addHuntCommand(program: Command): void {
  program
    .command('hunt')
    .description(
      'generate multi-threaded programs from the modelled uAPI, explore each, and shrink every new violation to a small scenario',
    )
    .option(
      '--design <name>',
      `the design to hunt on, or "all" to hunt differences between designs (default upstream)`,
    )
    .option('--option <key=value>', 'set a design option (repeatable)', collect)
    .option('--seed <n>', 'seed of the program generator (default 1)', positive('--seed'))
    .option('--time <duration>', 'how long to generate programs (default 1m)', duration('--time'))
    .option('--programs <n>', 'stop after this many programs', positive('--programs'))
    .option(
      '--out <dir>',
      'output folder: corpus/, findings/, hunt.json (default vdm-hunt); a hunt resumes from it',
    )
    .option(
      '--workers <n>',
      'programs at once, each on a worker process of its own (default 1)',
      positive('--workers'),
    )
    .option('--queue <url>', 'run programs as jobs on this Redis queue (vdm worker --queue URL takes them)')
    .option(
      '--max-executions <n>',
      'executions per program and design (default 200)',
      positive('--max-executions'),
    )
    .option(
      '--program-time <duration>',
      'time per program and design (default 2s)',
      duration('--program-time'),
    )
    .option('--no-shrink', 'do not shrink new signatures')
    .option(
      '--shrink-time <duration>',
      'time to shrink each new signature (default 30s)',
      duration('--shrink-time'),
    )
    .option('--ignore <text>', 'leave out signatures containing this text (repeatable)', collect)
    .option('--no-coverage', 'keep no corpus by coverage (every program is generated afresh)')
    .addOption(new Option('--json', 'print the summary (hunt.json) as JSON'))
    .option('--describe', 'print the uAPI description the hunter generates from, and exit')
    .action(async (f: HuntFlags) => {
      try {
        await runHunt(f);
      } catch (e) {
        if (e instanceof UsageError) {
          process.stderr.write(`vdm: ${e.message}\n`);
          process.exit(2);
        }
        throw e;
      }
    });
}

function designsOf(f: HuntFlags): DesignRef[] {
  const options = optionFlags(f.option);
  if (f.design === 'all') return DESIGN_NAMES.map((name) => ({ name, options: {} }));
  return [{ name: designNameFlag(f.design ?? 'upstream'), options }];
}

/** The corpus files of an earlier hunt in `dir` and the signatures it found. */
function previous(dir: string): { corpus: { text: string; file: string }[]; known: string[] } {
  const corpusDir = join(dir, 'corpus');
  const corpus = existsSync(corpusDir)
    ? readdirSync(corpusDir)
        .filter((n) => n.endsWith('.yaml'))
        .sort()
        .map((n) => ({ file: join(corpusDir, n), text: readFileSync(join(corpusDir, n), 'utf8') }))
    : [];
  let known: string[] = [];
  const summary = join(dir, 'hunt.json');
  if (existsSync(summary)) {
    try {
      known = (JSON.parse(readFileSync(summary, 'utf8')) as HuntSummary).signatures.map((s) => s.key);
    } catch (e) {
      throw new UsageError(`--out ${dir}: hunt.json is not a hunt summary (${(e as Error).message})`);
    }
  }
  return { corpus, known };
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 60);

async function runHunt(f: HuntFlags): Promise<void> {
  if (f.describe) {
    process.stdout.write(`${uapiText()}\n`);
    return;
  }
  const designs = designsOf(f);
  const out = f.out ?? 'vdm-hunt';
  const prev = previous(out);
  mkdirSync(join(out, 'corpus'), { recursive: true });
  mkdirSync(join(out, 'findings'), { recursive: true });
  const ignore = f.ignore ?? [];
  const ignored = (key: string): boolean => ignore.some((t) => key.includes(t));
  const seed = f.seed ?? 1;
  const workers = f.workers ?? 1;
  // Programs run on worker processes even with one: this process stays free for Ctrl-C and the
  // progress line, and a worker's coverage counters see only the model (this process has loaded
  // the CLI, whose code V8 would count and report with every program's coverage: measured 3.5x
  // slower in this process).
  const runner = f.queue ? queuePool(f.queue, workers) : processPool(workers);
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bar = progress();
  const result = await hunt(
    {
      designs,
      seed,
      timeMs: durationMs(f.time ?? '1m'),
      ...(f.programs !== undefined ? { maxPrograms: f.programs } : {}),
      bounds: {
        maxExecutions: f.maxExecutions ?? 200,
        timeLimitMs: durationMs(f.programTime ?? '2s'),
      },
      coverage: f.coverage !== false,
      shrink: f.shrink === false ? false : { maxRuns: 400, timeMs: durationMs(f.shrinkTime ?? '30s') },
      corpus: prev.corpus,
      known: prev.known,
      leaveOut: ignored,
      sink: {
        corpus: (text, name) => writeAtomically(join(out, 'corpus', `${name}.yaml`), text),
        finding: (sig, text) => {
          if (ignored(sig.key)) return undefined;
          const file = join(
            out,
            'findings',
            `${sig.id}-${safe(sig.frames[0] ?? 'setup')}-${short(sig.key)}.yaml`,
          );
          const replay = sig.shrunk?.schedule
            ? `# replay: ${replayCommand(file, sig.shrunk.schedule, '')}\n`
            : '';
          writeAtomically(file, `${replay}${text}`);
          return file;
        },
      },
      onProgress: (s) => bar.update(s),
      interrupted: () => interrupted,
    },
    runner,
  );
  bar.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const summary = summaryOf(result, designs, seed, ignored);
  writeAtomically(join(out, 'hunt.json'), `${JSON.stringify(summary, null, 2)}\n`);
  if (f.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stdout.write(huntText(summary, out, workers));
  const fresh = summary.signatures.filter((s) => !s.known && !s.ignored && !s.waitsForUser);
  process.exitCode = interrupted ? 130 : fresh.length > 0 ? 1 : 0;
}

export function summaryOf(
  r: HuntResult,
  designs: DesignRef[],
  seed: number,
  ignored: (key: string) => boolean,
): HuntSummary {
  return {
    designs: designs.map((d) => d.name),
    seed,
    stats: r.stats,
    stoppedBecause: r.stoppedBecause,
    ...(r.lastFailure !== undefined ? { lastFailure: r.lastFailure } : {}),
    signatures: r.signatures.map((s) => {
      const { text: _t, shrunk, ...rest } = s;
      const out: HuntSummary['signatures'][number] = { ...rest, ignored: ignored(s.key) };
      if (shrunk) {
        const { text: _s, ...sh } = shrunk;
        out.shrunk = sh.file && sh.schedule ? { ...sh, replay: replayCommand(sh.file, sh.schedule, '') } : sh;
      }
      return out;
    }),
  };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The final table. */
export function huntText(s: HuntSummary, out: string, workers: number): string {
  const st = s.stats;
  const perMin = st.elapsedMs > 0 ? Math.round((st.programs * 60_000) / st.elapsedMs) : st.programs;
  const lines = [
    `vdm hunt on ${s.designs.length === 1 ? s.designs[0] : `${s.designs.length} designs`} (seed ${s.seed}): ${st.programs} programs in ${secs(st.elapsedMs)} on ${workers} worker${workers === 1 ? '' : 's'} (${perMin} programs/min), ${st.executions.toLocaleString('en-US')} executions, ${st.blocks} model blocks reached, corpus ${st.corpus}; stopped: ${s.stoppedBecause}`,
  ];
  if (st.refused > 0)
    lines.push(`(${st.refused} generated programs refused by the scenario loader, not run)`);
  if (st.failed > 0)
    lines.push(
      `(${st.failed} job${st.failed === 1 ? '' : 's'} lost to a failed worker; the last: ${s.lastFailure ?? '?'})`,
    );
  const shown = s.signatures.filter((x) => !x.ignored && !x.waitsForUser);
  const userWaits = s.signatures.filter((x) => !x.ignored && x.waitsForUser);
  if (shown.length === 0) lines.push('', 'no violation found');
  else {
    lines.push('', 'signature  (first found; programs; shrunk to)');
    for (const x of shown) {
      const where =
        s.designs.length > 1
          ? ` on ${x.designs.join(', ')}${x.absentOn ? `, not on ${x.absentOn}` : ''}`
          : '';
      const shrunk = x.shrunk
        ? `${x.shrunk.threads} thread${x.shrunk.threads === 1 ? '' : 's'}, ${x.shrunk.ops} ops${x.shrunk.cut ? ' (shrink cut by its budget)' : ''}`
        : x.known
          ? 'found by an earlier hunt'
          : 'not shrunk';
      lines.push(
        `${x.known ? '  ' : '* '}${x.key}${where}`,
        `    ${secs(x.firstMs)}, program ${x.firstProgram}; ${x.programs} program${x.programs === 1 ? '' : 's'}; ${shrunk}`,
      );
      if (x.shrunk?.file) lines.push(`    ${x.shrunk.file}`);
      if (x.shrunk?.replay) lines.push(`    ${x.shrunk.replay}`);
    }
    const fresh = shown.filter((x) => !x.known).length;
    lines.push(
      '',
      `${fresh} new signature${fresh === 1 ? '' : 's'} (*)${shown.length > fresh ? `, ${shown.length - fresh} found before` : ''}; corpus and findings in ${out}/`,
    );
  }
  if (userWaits.length > 0) {
    // Listed in full in hunt.json; the most frequent few here.
    const top = [...userWaits].sort((a, b) => b.programs - a.programs).slice(0, 3);
    const programs = userWaits.reduce((n, x) => n + x.programs, 0);
    lines.push(
      '',
      `${userWaits.length} signature${userWaits.length === 1 ? '' : 's'} (${programs} program${programs === 1 ? '' : 's'}) are sleeps the kernel does by design until user space acts — an unbind waiting for the device's users, a userfault for its handler — not shrunk (all in hunt.json), most often:`,
      ...top.map((x) => `  ${x.key} (${x.programs} program${x.programs === 1 ? '' : 's'})`),
    );
  }
  const hidden = s.signatures.filter((x) => x.ignored).length;
  if (hidden > 0) lines.push(`${hidden} signature${hidden === 1 ? '' : 's'} left out by --ignore`);
  return `${lines.join('\n')}\n`;
}

function progress(enabled = process.stderr.isTTY === true && !process.env.CI): {
  update(s: HuntStats): void;
  stop(): void;
} {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        'hunting | {programs} programs | {rate}/min | {executions} executions | {blocks} blocks | corpus {corpus} | signatures {signatures} | {elapsed}s',
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(s) {
      const payload = {
        ...s,
        rate: Math.round((s.programs * 60_000) / Math.max(1, s.elapsedMs)),
        elapsed: (s.elapsedMs / 1000).toFixed(0),
      };
      if (!started) bar.start(0, 0, payload);
      else bar.update(0, payload);
      started = true;
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
