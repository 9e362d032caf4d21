#!/usr/bin/env node
// Prints the slowest spec files of a mocha run from the JSON lines the summary reporter writes
// with LOGSTORE_SPEC_TIMES=<file>:
//
//   LOGSTORE_SPEC_TIMES=/tmp/times.jsonl npx mocha
//   node scripts/spec-times.js /tmp/times.jsonl [how many, default 20]
//
// One line per file (its describe blocks summed): wall seconds, CPU seconds of the mocha process
// and of the child processes it waited for, tests. Wall far above CPU means the file waits
// (timers, children, the disk); the total line shows how much of the run that is.
import fs from 'node:fs';

const [file, count = '20'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/spec-times.js TIMES.jsonl [N]');
  process.exit(2);
}
const byFile = new Map();
for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const t = JSON.parse(line);
  // From dist/spec/ on: the same name whichever clone the run was in.
  const name = t.file.replace(/^.*?(?=dist[\\/]spec[\\/])/, '');
  const sum = byFile.get(name) ?? { name, tests: 0, wallMs: 0, cpuMs: 0, childCpuMs: 0 };
  sum.tests += t.tests;
  sum.wallMs += t.wallMs;
  sum.cpuMs += t.cpuMs ?? 0;
  sum.childCpuMs += t.childCpuMs ?? 0;
  byFile.set(name, sum);
}
const files = [...byFile.values()].sort((a, b) => b.wallMs - a.wallMs);
const s = (ms) => (ms / 1000).toFixed(1).padStart(7);
console.log(`${'wall s'.padStart(7)} ${'cpu s'.padStart(7)} ${'child s'.padStart(7)} tests  file`);
for (const f of files.slice(0, Number(count))) {
  console.log(`${s(f.wallMs)} ${s(f.cpuMs)} ${s(f.childCpuMs)} ${String(f.tests).padStart(5)}  ${f.name}`);
}
const total = files.reduce(
  (t, f) => ({
    wallMs: t.wallMs + f.wallMs,
    cpuMs: t.cpuMs + f.cpuMs,
    childCpuMs: t.childCpuMs + f.childCpuMs,
    tests: t.tests + f.tests,
  }),
  { wallMs: 0, cpuMs: 0, childCpuMs: 0, tests: 0 },
);
console.log(
  `${s(total.wallMs)} ${s(total.cpuMs)} ${s(total.childCpuMs)} ${String(total.tests).padStart(5)}  all ${files.length} files`,
);
