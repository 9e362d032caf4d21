/**
 * Running the cases: each subject of each case several times, each run in a fresh child process
 * (child.ts). Runs are interleaved (run 1 of every subject of a case, then run 2, ...) so that
 * drift in the machine's state (page cache, other load, thermal) falls on all subjects of a case
 * alike. A case whose requirements are missing here (requirements.ts) is skipped, not run.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPENT_ENV, type BenchCase, type SubjectName } from './case.js';
import type { ChildReply } from './child.js';
import { whyNotHere } from './requirements.js';
import type { SubjectRuns } from './summary.js';
import type { SkippedCase } from './table.js';

/** A run that takes longer than this is killed and counted as failed. */
const RUN_TIMEOUT_MS = 10 * 60_000;

export interface Executed {
  results: SubjectRuns[];
  /** Wall time per case, children and their setup included. */
  caseSeconds: Record<string, number>;
  skipped: SkippedCase[];
}

export async function runCases(
  cases: BenchCase[],
  quick: boolean,
  runsOf: (c: BenchCase) => number,
): Promise<Executed> {
  const skipped: SkippedCase[] = [];
  const runnable = cases.filter((c) => {
    const reason = whyNotHere(c);
    if (reason !== undefined) skipped.push({ case: c.name, reason });
    return reason === undefined;
  });
  const progress = new Progress(runnable.reduce((n, c) => n + Object.keys(c.subjects).length * runsOf(c), 0));
  const results: SubjectRuns[] = [];
  const caseSeconds: Record<string, number> = {};
  const spent = runnable.some((c) => c.keepFilesUntilEnd) ? new SpentDirs() : null;
  try {
    for (const c of runnable) {
      const started = Date.now();
      results.push(...(await runCase(c, quick, runsOf(c), progress)));
      caseSeconds[c.name] = (Date.now() - started) / 1000;
    }
  } finally {
    spent?.remove();
  }
  progress.done();
  return { results, caseSeconds, skipped };
}

/**
 * Where the children of `keepFilesUntilEnd` cases move their run directories (its path in
 * $SPENT_ENV), removed when the runner is done or interrupted.
 */
class SpentDirs {
  private readonly dir = mkdtempSync(join(tmpdir(), 'logstore-bench-spent-'));
  private readonly interrupted = () => {
    this.remove();
    process.exit(130);
  };

  constructor() {
    process.env[SPENT_ENV] = this.dir;
    process.once('SIGINT', this.interrupted).once('SIGTERM', this.interrupted);
  }

  remove(): void {
    process.off('SIGINT', this.interrupted).off('SIGTERM', this.interrupted);
    delete process.env[SPENT_ENV];
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function runCase(
  c: BenchCase,
  quick: boolean,
  runs: number,
  progress: Progress,
): Promise<SubjectRuns[]> {
  const params = quick ? c.sizes.quick : c.sizes.full;
  const results = Object.keys(c.subjects).map((subject): SubjectRuns => ({
    case: c.name,
    unit: c.unit,
    subject,
    params,
    runs: [],
  }));
  for (let run = 1; run <= runs; run++) {
    for (const r of results) {
      progress.step(`${c.name} · ${r.subject} · run ${run}/${runs}`);
      // A subject that failed once is not run again: its figure would not be shown anyway.
      if (r.error !== undefined) continue;
      const reply = await runChild(c.name, r.subject, params);
      if (reply.ok) {
        r.runs.push(reply.measurement);
      } else {
        r.error = reply.error;
        r.missing = reply.missing === true;
      }
    }
  }
  return results;
}

/** Forks child.ts for one run; never rejects: a crash or timeout becomes `{ ok: false }`. */
function runChild(caseName: string, subject: SubjectName, params: object): Promise<ChildReply> {
  return new Promise((resolve) => {
    const child = fork(new URL('./child.js', import.meta.url), [caseName, subject, JSON.stringify(params)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let reply: ChildReply | undefined;
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('message', (m) => (reply = m as ChildReply));
    const timer = setTimeout(() => {
      reply ??= { ok: false, error: `timed out after ${RUN_TIMEOUT_MS / 1000} s` };
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        reply ?? { ok: false, error: `child exited (${signal ?? code}) without a result\n${stderr.trim()}` },
      );
    });
  });
}

/**
 * One status line on stderr, rewritten in place, with the time so far; silent when stderr is not
 * a terminal, so that a piped or logged run prints only its results.
 */
class Progress {
  private n = 0;
  private readonly started = Date.now();
  constructor(private readonly total: number) {}

  step(label: string): void {
    this.n++;
    if (!process.stderr.isTTY) return;
    const s = Math.round((Date.now() - this.started) / 1000);
    const clock = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    process.stderr.write(`\r\x1b[K[${this.n}/${this.total} ${clock}] ${label}`);
  }

  done(): void {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }
}
