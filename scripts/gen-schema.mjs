// Writes schema/scenario.schema.json, the JSON Schema of scenario files (for editor completion),
// from the compiled src/scenario/schema.ts: run after `tsc -p tsconfig.json`. A test fails when the
// committed file differs from what this writes.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchema } from '../dist/src/scenario/schema.js';

const out = fileURLToPath(new URL('../schema/scenario.schema.json', import.meta.url));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
