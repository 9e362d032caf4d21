/**
 * One run of one subject of one case, in a process of its own (forked by run.ts):
 *   node child.js <case> <subject> <params as JSON>
 * Works in a fresh temp directory that it removes afterwards, and replies over IPC with
 * `{ ok: true, measurement }` (peak RSS added) or `{ ok: false, error }`; run by hand (no IPC
 * channel), it prints the reply as JSON on stdout instead.
 */
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { LOGSTORE, SPENT_ENV, type Measurement, type Params } from './case.js';
import { findCase } from './cases/index.js';

/** `missing`: a peer's package is not installed (it is a devDependency), so the peer is skipped. */
export type ChildReply =
  { ok: true; measurement: Measurement } | { ok: false; error: string; missing?: boolean };

const [caseName = '', subject = '', paramsJson = '{}'] = process.argv.slice(2);
const send = (reply: ChildReply) =>
  new Promise<void>((resolve) => {
    if (process.send) process.send(reply, () => resolve());
    else process.stdout.write(`${JSON.stringify(reply)}\n`, () => resolve());
  });

const dir = mkdtempSync(join(tmpdir(), `logstore-bench-${caseName}-${subject}-`));
// An interrupted bench (Ctrl-C, or the runner gone) must not leave gigabytes in the temp dir.
const abandon = () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(130);
};
process.once('SIGINT', abandon).once('SIGTERM', abandon).once('disconnect', abandon);
try {
  const run = findCase(caseName)?.subjects[subject];
  if (run === undefined) throw new Error(`no subject ${subject} in case ${caseName}`);
  const measurement = await run(JSON.parse(paramsJson) as Params, dir);
  // maxRSS is in KiB and covers the whole process: setup and the timed section alike.
  measurement.peakRssBytes ??= process.resourceUsage().maxRSS * 1024;
  await send({ ok: true, measurement });
} catch (err) {
  const missing =
    subject !== LOGSTORE &&
    (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
    String((err as Error).message).startsWith('Cannot find package');
  await send({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err), missing });
  process.exitCode = 1;
} finally {
  removeOrSetAside(dir);
}
// A subject may leave handles open (a live reader, a timer); the reply is sent, so leave now.
process.exit();

/** Removes the run's directory, or moves it into the runner's SpentDirs for a keepFilesUntilEnd case. */
function removeOrSetAside(runDir: string): void {
  const spent = process.env[SPENT_ENV];
  if (spent && findCase(caseName)?.keepFilesUntilEnd) {
    try {
      renameSync(runDir, join(spent, basename(runDir)));
      return;
    } catch {
      // The runner's folder is gone (interrupted): remove it here after all.
    }
  }
  rmSync(runDir, { recursive: true, force: true });
}
