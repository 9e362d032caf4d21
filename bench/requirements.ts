/**
 * Whether a case can run on this machine: the programs it names in `requires` are on PATH and its
 * `skipUnless` hook has no objection. A case that cannot run is skipped with the reason (shown in
 * the table, the JSON and RESULTS.md) rather than failing every run.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { BenchCase } from './case.js';

export function whyNotHere(c: BenchCase, path = process.env.PATH ?? ''): string | undefined {
  const missing = (c.requires ?? []).filter((program) => findProgram(program, path) === undefined);
  if (missing.length > 0) return `needs ${missing.join(', ')} on PATH`;
  return c.skipUnless?.();
}

/** The first executable file named `program` in the directories of `path`. */
export function findProgram(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, program);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not there, or not executable: look further along PATH.
    }
  }
  return undefined;
}
