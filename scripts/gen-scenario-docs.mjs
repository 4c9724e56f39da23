// Writes docs/scenarios.md, the scenario reference, from the compiled src/scenario/reference.ts
// (itself generated from the schema and the operation table): run after `tsc -p tsconfig.json`. A
// test fails when the committed file differs from what this writes.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { scenarioReference } from '../dist/src/scenario/reference.js';

const out = fileURLToPath(new URL('../docs/scenarios.md', import.meta.url));
writeFileSync(out, scenarioReference());
console.log(`wrote ${out}`);
