// Loading a scenario file: the file is checked (a regular file, at most MAX_SCENARIO_BYTES) and
// read, then parsed by parse.ts (parseScenario: YAML with positions, zod, operations, names), the
// one implementation the CLI and the playground in the browser share.

import { readFileSync, statSync } from 'node:fs';
import { ScenarioError } from './errors.js';
import { fileIssue, MAX_SCENARIO_BYTES, parseScenario } from './parse.js';
import type { Scenario } from './resolve.js';

export { MAX_ISSUES, MAX_SCENARIO_BYTES, parseScenario } from './parse.js';
export type { Scenario } from './resolve.js';

/** Reads and loads a scenario file; throws ScenarioError (never anything else) on bad input. */
export function loadScenarioFile(file: string): Scenario {
  let source: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ScenarioError([fileIssue(file, 'not a regular file')]);
    if (st.size > MAX_SCENARIO_BYTES) {
      throw new ScenarioError([
        fileIssue(file, `${st.size} bytes: scenarios are limited to ${MAX_SCENARIO_BYTES}`),
      ]);
    }
    source = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError([
      fileIssue(file, code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(e)})`),
    ]);
  }
  return parseScenario(source, file);
}
