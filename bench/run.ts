/**
 * The benchmark runner: runs every case of cases/index.ts, each subject several times, each run
 * in a fresh child process (child.ts), then prints one table with medians, min–max, MB/s, peak
 * RSS and logstore's ratio against each peer measured in the same invocation.
 *
 *   node dist/bench/run.js [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE]
 *
 * Runs are interleaved (run 1 of every subject of a case, then run 2, ...) so that drift in the
 * machine's state (page cache, other load, thermal) falls on all subjects of a case alike.
 * `runBench` is also what `logstore bench` calls.
 */
import { fork } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchCase, SubjectName } from './case.js';
import type { ChildReply } from './child.js';
import { CASES, TODO_CASES } from './cases/index.js';
import { describeMachine, type Machine } from './machine.js';
import { summarize, type SubjectRuns } from './summary.js';
import { LEGEND, renderMarkdown, renderText, tableCells } from './table.js';
import { targetCells, targetRows } from './targets.js';

const USAGE = `usage: logstore bench [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE] [--merge FILE]
  --quick          smaller sizes and 3 runs (a few minutes)
  --runs N         runs per subject (default 5, or 3 with --quick; cases that write GiBs
                   per run cap it lower unless --runs is given)
  --case NAME      only cases whose name contains NAME
  --json FILE      write every run and summary as JSON
  --markdown FILE  write the table as Markdown (a full run without --case writes bench/RESULTS.md)
  --merge FILE     a --json file of an earlier run (same mode): its cases that this run did not
                   run are kept, so that a case rerun with --case replaces only its own rows
                   (a full-mode merge writes bench/RESULTS.md too)`;

/** What a --json file holds (and --merge reads back). */
interface ResultsJson {
  machine: Machine;
  quick: boolean;
  runs: number;
  wallSeconds: number;
  results: SubjectRuns[];
  /** Set when some cases were rerun and merged into an earlier run's results. */
  rerun?: Rerun;
}

export interface Rerun {
  date: string;
  /** 1-minute load average when the rerun began. */
  loadAverage: number;
  cases: string[];
}

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
  const runsOf = (c: BenchCase) =>
    opts.runsGiven
      ? opts.runs
      : Math.min(opts.runs, (opts.quick ? c.maxRuns?.quick : c.maxRuns?.full) ?? opts.runs);
  const progress = new Progress(cases.reduce((n, c) => n + Object.keys(c.subjects).length * runsOf(c), 0));
  const results: SubjectRuns[] = [];
  const started = Date.now();
  for (const c of cases) results.push(...(await runCase(c, opts.quick, runsOf(c), progress)));
  progress.done();
  const wallSeconds = (Date.now() - started) / 1000;

  let all = results;
  let shown = cases;
  let rerun: Rerun | undefined;
  let reported = machine;
  if (opts.merge !== undefined) {
    let earlier: ResultsJson;
    try {
      earlier = JSON.parse(readFileSync(opts.merge, 'utf8')) as ResultsJson;
    } catch (err) {
      process.stderr.write(`cannot read --merge ${opts.merge}: ${(err as Error).message}\n`);
      return 2;
    }
    if (earlier.quick !== opts.quick) {
      process.stderr.write(
        `--merge ${opts.merge} is a ${earlier.quick ? '--quick' : 'full'} run; this one is not\n`,
      );
      return 2;
    }
    const ran = new Set(cases.map((c) => c.name));
    all = [...earlier.results.filter((r) => !ran.has(r.case)), ...results];
    const order = (name: string) => CASES.findIndex((c) => c.name === name);
    all.sort((a, b) => order(a.case) - order(b.case));
    shown = CASES.filter((c) => all.some((r) => r.case === c.name));
    const earlierRerun = earlier.rerun?.cases.filter((c) => !ran.has(c)) ?? [];
    rerun = { date: machine.date, loadAverage: machine.loadAverage, cases: [...earlierRerun, ...ran] };
    reported = earlier.machine;
  }

  const summaries = summarize(all);
  const cells = tableCells(summaries, todos);
  const targets = targetRows(shown, summaries, opts.quick);
  const capped = cases.filter((c) => runsOf(c) !== opts.runs);
  process.stdout.write(
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `load ${machine.loadAverage}, ${opts.quick ? '--quick, ' : ''}${opts.runs} runs per subject` +
      `${capped.length > 0 ? ` (${capped.map((c) => `${c.name}: ${runsOf(c)}`).join(', ')})` : ''}, ` +
      `${wallSeconds.toFixed(0)} s\n\n` +
      `${renderText(cells)}\n\n${LEGEND.map((l) => `  ${l}`).join('\n')}\n` +
      (targets.length > 0 ? `\ntargets:\n${renderText(targetCells(targets))}\n` : ''),
  );

  if (opts.json !== undefined) {
    const json = {
      machine: reported,
      quick: opts.quick,
      runs: opts.runs,
      wallSeconds,
      ...(rerun ? { rerun } : {}),
      results: summaries,
      targets,
      todo: todos,
    };
    writeFileSync(opts.json, `${JSON.stringify(json, null, 2)}\n`);
  }
  for (const r of results.filter((r) => r.error !== undefined && !r.missing)) {
    process.stderr.write(`\n${r.case} · ${r.subject} failed:\n${r.error}\n`);
  }

  // The default RESULTS.md goes next to the bench sources, so only in a checkout that has them.
  const fullRun =
    (opts.case === undefined || opts.merge !== undefined) &&
    !opts.quick &&
    existsSync(dirname(DEFAULT_RESULTS_MD));
  const markdown = opts.markdown ?? (fullRun ? DEFAULT_RESULTS_MD : undefined);
  if (markdown !== undefined) {
    const runsShown = (c: BenchCase) =>
      all.find((r) => r.case === c.name && r.error === undefined)?.runs.length ?? runsOf(c);
    const described = [...shown.map((c) => ({ ...c, runs: runsShown(c) })), ...todos];
    writeFileSync(
      markdown,
      renderMarkdown(cells, reported, opts.quick, opts.runs, described, targetCells(targets), rerun),
    );
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
      merge: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const runs = values.runs === undefined ? (values.quick ? 3 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`Expected --runs to be an integer >= 1, got "${values.runs}"`);
  return {
    ...values,
    quick: values.quick ?? false,
    help: values.help ?? false,
    runs,
    runsGiven: values.runs !== undefined,
  };
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
