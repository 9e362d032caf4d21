/**
 * The code samples of README.md: every ```ts block, with the ```text block that follows it (if
 * any, within two lines) as what it must print. Used by readme.spec.ts, which runs them, and by
 * packaging/published-types.spec.ts, which compiles them against the packed package.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is dist/spec/readme-samples.js). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface Sample {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  /** The section heading the sample is under. */
  section: string;
  code: string;
  /** What it prints, exactly (with a final newline), when the README says so. */
  expected?: string;
}

export function readmeSamples(file = path.join(ROOT, 'README.md')): Sample[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const samples: Sample[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('#')) section = line.replace(/^#+\s*/, '');
    if (line.startsWith('```') && line !== '```ts') {
      i = closingFence(lines, i); // skip other blocks whole: a "#" inside is no heading
      continue;
    }
    if (line !== '```ts') continue;
    const end = closingFence(lines, i);
    const sample: Sample = { line: i + 1, section, code: lines.slice(i + 1, end).join('\n') + '\n' };
    for (let k = end + 1; k <= end + 3 && k < lines.length; k++) {
      if (lines[k] !== '```text') continue;
      const textEnd = closingFence(lines, k);
      sample.expected = lines.slice(k + 1, textEnd).join('\n') + '\n';
      break;
    }
    samples.push(sample);
    i = end;
  }
  return samples;
}

function closingFence(lines: string[], open: number): number {
  for (let k = open + 1; k < lines.length; k++) if (lines[k] === '```') return k;
  throw new Error(`README.md: the code block at line ${open + 1} is not closed`);
}
