/**
 * The benchmark runner: runs every case of cases/index.ts, each subject several times, each run
 * in a fresh child process (child.ts), then prints one table with medians, min–max, MB/s, peak
 * RSS and logstore's ratio against each peer measured in the same invocation.
 *
 *   node build/bench/run.js [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE]
 *
 * Runs are interleaved (run 1 of every subject of a case, then run 2, ...) so that drift in the
 * machine's state (page cache, other load, thermal) falls on all subjects of a case alike.
 * `runBench` is also what `logstore bench` calls.
 */
import { fork } from 'node:child_process';
import { existsSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchCase, SubjectName } from './case.js';
import type { ChildReply } from './child.js';
import { CASES, TODO_CASES } from './cases/index.js';
import { describeMachine } from './machine.js';
import { summarize, type SubjectRuns } from './summary.js';
import { LEGEND, renderMarkdown, renderText, tableCells } from './table.js';

const USAGE = `usage: logstore bench [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE]
  --quick          smaller sizes and 3 runs (a few minutes)
  --runs N         runs per subject (default 5, or 3 with --quick)
  --case NAME      only cases whose name contains NAME
  --json FILE      write every run and summary as JSON
  --markdown FILE  write the table as Markdown (a full run without --case writes bench/RESULTS.md)`;

/** A run that takes longer than this is killed and counted as failed. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_RESULTS_MD = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));

export async function runBench(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const selected = (name: string) => opts.case === undefined || name.includes(opts.case);
  const cases = CASES.filter((c) => selected(c.name));
  const todos = TODO_CASES.filter((t) => selected(t.name));
  if (cases.length === 0 && todos.length === 0) {
    process.stderr.write(`no case matches "${opts.case}"; cases: ${CASES.map((c) => c.name).join(', ')}\n`);
    return 2;
  }

  const machine = describeMachine();
  const progress = new Progress(cases.reduce((n, c) => n + Object.keys(c.subjects).length * opts.runs, 0));
  const results: SubjectRuns[] = [];
  for (const c of cases) results.push(...(await runCase(c, opts.quick, opts.runs, progress)));
  progress.done();

  const summaries = summarize(results);
  const cells = tableCells(summaries, todos);
  process.stdout.write(
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `${opts.quick ? '--quick, ' : ''}${opts.runs} runs per subject\n\n` +
      `${renderText(cells)}\n\n${LEGEND.map((l) => `  ${l}`).join('\n')}\n`,
  );

  if (opts.json !== undefined) {
    const json = { machine, quick: opts.quick, runs: opts.runs, results: summaries, todo: todos };
    writeFileSync(opts.json, `${JSON.stringify(json, null, 2)}\n`);
  }
  for (const r of results.filter((r) => r.error !== undefined && !r.missing)) {
    process.stderr.write(`\n${r.case} · ${r.subject} failed:\n${r.error}\n`);
  }

  // The default RESULTS.md goes next to the bench sources, so only in a checkout that has them.
  const fullRun = opts.case === undefined && !opts.quick && existsSync(dirname(DEFAULT_RESULTS_MD));
  const markdown = opts.markdown ?? (fullRun ? DEFAULT_RESULTS_MD : undefined);
  if (markdown !== undefined) {
    writeFileSync(markdown, renderMarkdown(cells, machine, opts.quick, opts.runs, [...cases, ...todos]));
    process.stderr.write(`wrote ${markdown}\n`);
  }
  return results.some((r) => r.error !== undefined && !r.missing) ? 1 : 0;
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      case: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const runs = values.runs === undefined ? (values.quick ? 3 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`Expected --runs to be an integer >= 1, got "${values.runs}"`);
  return { ...values, quick: values.quick ?? false, help: values.help ?? false, runs };
}

async function runCase(
  c: BenchCase,
  quick: boolean,
  runs: number,
  progress: Progress,
): Promise<SubjectRuns[]> {
  const params = quick ? c.sizes.quick : c.sizes.full;
  const subjects = Object.keys(c.subjects) as SubjectName[];
  const results = subjects.map((subject): SubjectRuns => ({
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

/** One status line on stderr, rewritten in place; silent when stderr is not a terminal. */
class Progress {
  private n = 0;
  constructor(private readonly total: number) {}

  step(label: string): void {
    this.n++;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K[${this.n}/${this.total}] ${label}`);
  }

  done(): void {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
  }
}

// Run directly (not imported by the CLI); realpath because Node resolves symlinks in import.meta.url.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await runBench(process.argv.slice(2));
}
