// Writing a file so that a reader (or a run resumed after a kill) never sees half of it: a
// temporary file beside it, then a rename over it.

import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function writeAtomically(file: string, text: string | Uint8Array): void {
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
