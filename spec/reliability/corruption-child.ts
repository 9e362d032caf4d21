/**
 * A corruption worker (see runInWorkers in corruption.ts):
 * `node corruption-child.js '{"suite","bases","work","seed","from","to","only","cleanups"}'` runs cases
 * [from, to) of one suite — 'random' (corruption.ts, on the base stores in `bases`) or 'cleanup'
 * (cleanup-corruption.ts, on the base store `bases`) — printing `start <i>` before each case and
 * its result as one JSON line after it. If a case kills this process (a signal), the parent counts
 * it as a crash and starts a new worker after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCleanupCase, type Cleanup } from './cleanup-corruption.js';
import { runCase, type Bases } from './corruption.js';

function out(line: string): void {
  fs.writeSync(1, line + '\n');
}

const args = JSON.parse(process.argv[2]!) as {
  suite: 'random' | 'cleanup';
  bases: string;
  work: string;
  seed: number;
  from: number;
  to: number;
  only?: string;
  cleanups?: Cleanup[];
};
const run =
  args.suite === 'cleanup'
    ? (i: number) => runCleanupCase(args.bases, i, args.seed, args.work, args.cleanups)
    : await (async () => {
        const bases = JSON.parse(fs.readFileSync(path.join(args.bases, 'bases.json'), 'utf8')) as Bases;
        return (i: number) => runCase(bases, i, args.seed, args.work, args.only);
      })();
for (let i = args.from; i < args.to; i++) {
  out(`start ${i}`);
  out(JSON.stringify(await run(i)));
}
fs.rmSync(args.work, { recursive: true, force: true });
