// vdm: the command-line interface (commands and their options).

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { faultVsZap } from '../demo/fault-vs-zap.js';
import { formatTrace } from '../report/trace-text.js';
import { explore, replay } from '../sched/explore.js';
import type { ExploreResult, Strategy } from '../sched/program.js';
import { ScheduleError } from '../sched/schedule.js';
import { addHuntCommand } from './hunt-command.js';
import { addScenarioCommands, searchFlags, searchOptions } from './scenario-commands.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('vdm')
  .description('vfio-dmabuf-model: run, explore and check a model of VFIO BAR mapping and dma-buf revoke')
  .version(pkg.version)
  .showHelpAfterError()
  // Bad command-line input exits 2, as the CLI contract says (commander's own default is 1).
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

searchFlags(
  program
    .command('demo')
    .description(
      'explore the built-in example: a page fault racing a memory-disable under memory_lock (see docs/explorer.md)',
    )
    .option('--buggy', 'check memory decode before taking memory_lock (the explorer finds the race)'),
)
  .option('--schedule <s>', 'replay this schedule and print its trace instead of exploring')
  .option('--json', 'print the result as JSON')
  .action(
    (o: {
      buggy?: boolean;
      strategy?: Strategy;
      seed?: number;
      maxExecutions?: number;
      preemptionBound?: number;
      schedule?: string;
      json?: boolean;
    }) => {
      const prog = faultVsZap({ checkOutsideLock: o.buggy === true });
      const again = `vdm demo${o.buggy ? ' --buggy' : ''}`;
      if (o.schedule !== undefined) {
        let r: ReturnType<typeof replay>;
        try {
          r = replay(prog, o.schedule);
        } catch (e) {
          if (e instanceof ScheduleError) fail(`--schedule: ${e.message}`);
          throw e;
        }
        if (o.json) {
          print(JSON.stringify({ trace: r.trace, violations: r.violations }, null, 2));
        } else {
          print(formatTrace(r.trace));
          for (const v of r.violations) print(`\n${v.kind} ${v.id ?? ''}: ${v.message}`);
        }
        process.exitCode = r.violations.length > 0 ? 1 : 0;
        return;
      }
      const result = explore(prog, searchOptions(o));
      if (o.json) print(JSON.stringify({ program: prog.name, ...result }, null, 2));
      else print(summary(prog.name ?? 'demo', result, (v) => `${again} --schedule '${v}'`, prog));
      process.exitCode = result.violations.length > 0 ? 1 : 0;
    },
  );

function summary(
  name: string,
  r: ExploreResult,
  replayCommand: (schedule: string) => string,
  prog: ReturnType<typeof faultVsZap>,
): string {
  const lines = [
    `${name}: ${r.executions} executions (${r.strategy}), ${r.events} events, ${r.complete ? 'complete' : 'incomplete: a bound or limit cut the search'}`,
  ];
  if (r.violations.length === 0) {
    lines.push('no violation found');
    return lines.join('\n');
  }
  for (const v of r.violations) {
    lines.push('', `${v.kind} ${v.id ?? ''}: ${v.message}`);
    lines.push(`counterexample (${v.preemptions ?? 0} preemptions):`);
    lines.push(formatTrace(replay(prog, v.schedule).trace).replace(/^/gm, '  '));
    lines.push(`replay: ${replayCommand(v.schedule)}`);
  }
  return lines.join('\n');
}

function print(s: string): void {
  process.stdout.write(`${s}\n`);
}

function fail(message: string): never {
  process.stderr.write(`vdm: ${message}\n`);
  process.exit(2);
}

addScenarioCommands(program);
addHuntCommand(program);

// `vdm run x.yaml | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`vdm: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(3);
});
