/**
 * One run of one subject of one case, in a process of its own (forked by run.ts):
 *   node child.js <case> <subject> <params as JSON>
 * Works in a fresh temp directory that it removes afterwards, and replies over IPC with
 * `{ ok: true, measurement }` (peak RSS added) or `{ ok: false, error }`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Measurement, Params, SubjectName } from './case.js';
import { findCase } from './cases/index.js';

export type ChildReply = { ok: true; measurement: Measurement } | { ok: false; error: string };

const [caseName = '', subject = '', paramsJson = '{}'] = process.argv.slice(2);
const send = (reply: ChildReply) =>
  new Promise<void>((resolve) => (process.send ? process.send(reply, () => resolve()) : resolve()));

const dir = mkdtempSync(join(tmpdir(), `logstore-bench-${caseName}-${subject}-`));
try {
  const run = findCase(caseName)?.subjects[subject as SubjectName];
  if (run === undefined) throw new Error(`no subject ${subject} in case ${caseName}`);
  const measurement = await run(JSON.parse(paramsJson) as Params, dir);
  // maxRSS is in KiB and covers the whole process: setup and the timed section alike.
  measurement.peakRssBytes ??= process.resourceUsage().maxRSS * 1024;
  await send({ ok: true, measurement });
} catch (err) {
  await send({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
// A subject may leave handles open (a live reader, a timer); the reply is sent, so leave now.
process.exit();
