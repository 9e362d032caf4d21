/**
 * A corruption worker (see corruption.ts): `node corruption-child.js '{"bases","work","seed","from","to"}'`
 * runs cases [from, to) on the base stores built by the parent, printing `start <i>` before each
 * case and its CaseResult as one JSON line after it. If a case kills this process (a signal), the
 * parent counts it as a crash and starts a new worker after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCase, type Bases } from './corruption.js';

function out(line: string): void {
  fs.writeSync(1, line + '\n');
}

const args = JSON.parse(process.argv[2]!) as {
  bases: string;
  work: string;
  seed: number;
  from: number;
  to: number;
  only?: string;
};
const bases = JSON.parse(fs.readFileSync(path.join(args.bases, 'bases.json'), 'utf8')) as Bases;
for (let i = args.from; i < args.to; i++) {
  out(`start ${i}`);
  out(JSON.stringify(await runCase(bases, i, args.seed, args.work, args.only)));
}
fs.rmSync(args.work, { recursive: true, force: true });
