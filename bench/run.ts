/**
 * The benchmark runner: runs every case of cases/index.ts (execute.ts), then prints one table with
 * medians, min–max, MB/s, peak RSS and logstore's ratio against each peer measured in the same
 * invocation, and writes what was asked: JSON, Markdown, one SVG chart per case, a comparison
 * with an earlier run. It can also redraw all of that from a --json file without running
 * (`--from`), or set runs on several Node versions side by side (`--by-node`).
 *
 *   node dist/bench/run.js [--quick] [--case NAME] [--json FILE] [--markdown FILE] ... (USAGE)
 *
 * `runBench` is also what `logstore bench` calls.
 */
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { colorsFor } from '../lib/cli/output.js';
import { renderByNodeMarkdown, renderByNodeText } from './by-node.js';
import type { BenchCase } from './case.js';
import { CASES, TODO_CASES } from './cases/index.js';
import { renderChart } from './chart.js';
import { compareNotes, compareSummaries, renderComparison } from './compare.js';
import { runCases } from './execute.js';
import { describeMachine } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { nodeMajor, readResults, type ResultsJson } from './results-json.js';
import { summarize, type SubjectRuns, type Summary } from './summary.js';
import { LEGEND, renderText, tableCells } from './table.js';
import { targetCells, targetRows } from './targets.js';

const USAGE = `usage: logstore bench [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE]
                      [--charts DIR] [--merge FILE] [--compare FILE] [--from FILE]
       logstore bench --by-node FILE... [--markdown FILE]
  --quick          smaller sizes, 3 runs per subject; it prints what it took: on 2 cores,
                   about 3 minutes when quiet, 16 at load average 22, and about 2 more for
                   the codecs cases added since (the full run: several times that)
  --runs N         runs per subject (default 5, or 3 with --quick; cases that write GiBs
                   per run cap it lower unless --runs is given)
  --case NAME      only cases whose name contains NAME
  --json FILE      write every run, the summaries and the machine (Node version included)
  --markdown FILE  write the results as Markdown, with a chart per case in charts/ beside it
                   (a full run without --case writes bench/RESULTS.md and bench/charts/)
  --charts DIR     write one SVG chart per case into DIR (default: charts/ beside --markdown)
  --merge FILE     a --json file of an earlier run (same mode and Node): its cases that this
                   run did not run are kept, so that a case rerun with --case replaces only
                   its own rows (a full-mode merge writes bench/RESULTS.md too)
  --compare FILE   after the table, each median and peak RSS against that earlier --json run:
                   now/before, percent, and REGRESSED / improved where the earlier figure lies
                   outside this run's min–max (red / green on a terminal)
  --from FILE      run nothing: take the results from a --json file (to redraw its table,
                   Markdown and charts, or to --compare two files)
  --by-node        run nothing: set the --json files given (one per Node major, all full or
                   all --quick) side by side, a column per Node major; printed, or written
                   with --markdown`;

const DEFAULT_RESULTS_MD = fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url));
/** The name `--by-node --markdown` is given for the side-by-side of the Node majors, beside RESULTS.md. */
const BY_NODE_MD = 'RESULTS-by-node.md';

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
  try {
    if (opts.byNode) return byNode(opts.files, opts.markdown);
    const selected = (name: string) => opts.case === undefined || name.includes(opts.case);
    const gathered = opts.from !== undefined ? fromFile(opts.from, selected) : await measure(opts, selected);
    if (typeof gathered === 'number') return gathered;
    return report(gathered, opts);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
}

type Options = ReturnType<typeof parseOptions>;

/** What a run (or a --json file) gives the outputs. */
interface Gathered {
  json: ResultsJson;
  /** The cases in the results (or skipped), in list order, with the runs each actually did. */
  shown: (BenchCase & { runs?: number })[];
  /** Failures of this invocation's runs, for stderr and the exit code. */
  failed: SubjectRuns[];
  /** A line on what the figures are, above the table. */
  headline: string;
  /** Where the default RESULTS.md may be written (a full, unfiltered or merged run). */
  fullRun: boolean;
}

async function measure(opts: Options, selected: (name: string) => boolean): Promise<Gathered | number> {
  const cases = CASES.filter((c) => selected(c.name));
  const todos = TODO_CASES.filter((t) => selected(t.name));
  if (cases.length === 0 && todos.length === 0) {
    process.stderr.write(`no case matches "${opts.case}"; cases: ${CASES.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  const earlier = opts.merge === undefined ? undefined : readResults(opts.merge);
  const machine = describeMachine();
  if (earlier !== undefined) {
    if (earlier.quick !== opts.quick)
      throw new Error(
        `--merge ${opts.merge} is a ${earlier.quick ? '--quick' : 'full'} run; this one is not`,
      );
    if (nodeMajor(earlier.machine.node) !== nodeMajor(machine.node))
      throw new Error(
        `--merge ${opts.merge} ran on Node ${earlier.machine.node}, this run on ${machine.node}`,
      );
  }

  const runsOf = (c: BenchCase) =>
    opts.runsGiven
      ? opts.runs
      : Math.min(opts.runs, (opts.quick ? c.maxRuns?.quick : c.maxRuns?.full) ?? opts.runs);
  const started = Date.now();
  const ran = await runCases(cases, opts.quick, runsOf);
  const wallSeconds = (Date.now() - started) / 1000;
  const loadAverageAfter = describeMachine().loadAverage;

  let all = ran.results;
  let { caseSeconds, skipped } = ran;
  let json: Omit<ResultsJson, 'results' | 'targets'> = {
    machine,
    quick: opts.quick,
    runs: opts.runs,
    wallSeconds,
    caseSeconds,
    loadAverageAfter,
    todo: todos,
    skipped,
  };
  if (earlier !== undefined) {
    const redone = new Set(cases.map((c) => c.name));
    const kept = (name: string) => !redone.has(name);
    all = [...earlier.results.filter((r) => kept(r.case)), ...all];
    const order = (name: string) => CASES.findIndex((c) => c.name === name);
    all.sort((a, b) => order(a.case) - order(b.case));
    caseSeconds = { ...earlier.caseSeconds, ...caseSeconds };
    skipped = [...(earlier.skipped ?? []).filter((k) => kept(k.case)), ...skipped];
    const rerun = {
      date: machine.date,
      loadAverage: machine.loadAverage,
      cases: [...(earlier.rerun?.cases.filter(kept) ?? []), ...redone],
    };
    // The figures are the earlier run's but for the cases rerun: describe that run (its machine,
    // runs, time and load); the rerun's own date and load are in `rerun`.
    const { loadAverageAfter: _thisRun, ...rest } = json;
    json = {
      ...rest,
      machine: earlier.machine,
      runs: earlier.runs,
      wallSeconds: earlier.wallSeconds,
      caseSeconds,
      skipped,
      rerun,
      ...(earlier.loadAverageAfter !== undefined ? { loadAverageAfter: earlier.loadAverageAfter } : {}),
    };
  }
  const summaries = summarize(all);
  const capped = cases.filter((c) => runsOf(c) !== opts.runs);
  return {
    json: { ...json, results: summaries, targets: [] },
    shown: shownCases(
      summaries,
      skipped.map((k) => k.case),
    ),
    failed: ran.results.filter((r) => r.error !== undefined && !r.missing),
    headline:
      `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `load ${machine.loadAverage} (${loadAverageAfter} at the end), ${opts.quick ? '--quick, ' : ''}${opts.runs} runs per subject` +
      `${capped.length > 0 ? ` (${capped.map((c) => `${c.name}: ${runsOf(c)}`).join(', ')})` : ''}, ` +
      `${wallSeconds.toFixed(0)} s`,
    fullRun: (opts.case === undefined || earlier !== undefined) && !opts.quick,
  };
}

function fromFile(file: string, selected: (name: string) => boolean): Gathered {
  const loaded = readResults(file);
  const summaries = summarize(loaded.results.filter((r) => selected(r.case)));
  const skipped = (loaded.skipped ?? []).filter((k) => selected(k.case));
  const m = loaded.machine;
  return {
    json: {
      ...loaded,
      results: summaries,
      skipped,
      todo: (loaded.todo ?? []).filter((t) => selected(t.name)),
    },
    shown: shownCases(
      summaries,
      skipped.map((k) => k.case),
    ),
    failed: [],
    headline:
      `from ${file}: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, load ${m.loadAverage}, ` +
      `${m.date}, ${loaded.quick ? '--quick, ' : ''}${loaded.runs} runs per subject, ${loaded.wallSeconds.toFixed(0)} s`,
    fullRun: false,
  };
}

/** The cases of the list that have results (or were skipped), each with the runs it did. */
function shownCases(summaries: Summary[], skipped: string[]): (BenchCase & { runs?: number })[] {
  return CASES.filter((c) => skipped.includes(c.name) || summaries.some((s) => s.case === c.name)).map(
    (c) => {
      const runs = summaries.find((s) => s.case === c.name && s.error === undefined)?.runs.length;
      return runs === undefined ? c : { ...c, runs };
    },
  );
}

function report(g: Gathered, opts: Options): number {
  const { json } = g;
  const summaries = json.results;
  const skipped = json.skipped ?? [];
  const todos = json.todo ?? [];
  const cells = tableCells(summaries, todos, skipped);
  const targets = targetRows(g.shown, summaries, json.quick);
  json.targets = targets;
  process.stdout.write(
    `${g.headline}\n\n${renderText(cells)}\n\n${LEGEND.map((l) => `  ${l}`).join('\n')}\n` +
      (targets.length > 0 ? `\ntargets:\n${renderText(targetCells(targets))}\n` : ''),
  );
  if (opts.compare !== undefined) {
    const before = readResults(opts.compare);
    const changes = compareSummaries(summarize(before.results), summaries);
    const notes = compareNotes(before, json, changes);
    process.stdout.write(
      `\ncompared with ${opts.compare} (${before.machine.date}):\n` +
        `${renderComparison(changes, notes, colorsFor(process.stdout))}\n`,
    );
  }

  if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(json, null, 2)}\n`);
  for (const r of g.failed) process.stderr.write(`\n${r.case} · ${r.subject} failed:\n${r.error}\n`);

  // The default RESULTS.md goes next to the bench sources, so only in a checkout that has them.
  const markdown =
    opts.markdown ?? (g.fullRun && existsSync(dirname(DEFAULT_RESULTS_MD)) ? DEFAULT_RESULTS_MD : undefined);
  const chartDir = opts.charts ?? (markdown !== undefined ? join(dirname(markdown), 'charts') : undefined);
  const charts = chartDir === undefined ? [] : writeCharts(chartDir, g.shown, json);
  if (chartDir !== undefined) process.stderr.write(`wrote ${charts.length} charts in ${chartDir}\n`);
  if (markdown !== undefined) {
    writeFileSync(
      markdown,
      renderMarkdown({
        cells,
        targets: targetCells(targets),
        machine: json.machine,
        quick: json.quick,
        runs: json.runs,
        ...(json.rerun ? { rerun: json.rerun } : { wallSeconds: json.wallSeconds }),
        ...(json.loadAverageAfter !== undefined ? { loadAverageAfter: json.loadAverageAfter } : {}),
        ...(existsSync(join(dirname(markdown), BY_NODE_MD)) ? { byNode: BY_NODE_MD } : {}),
        cases: [
          ...g.shown.map((c) => {
            const reason = skipped.find((k) => k.case === c.name)?.reason;
            return { ...c, ...(reason !== undefined ? { skipped: reason } : {}) };
          }),
          ...todos,
        ],
        charts: charts.map((file) => ({
          case: file.case,
          path: relative(dirname(markdown), file.path).split(sep).join('/'),
        })),
      }),
    );
    process.stderr.write(`wrote ${markdown}\n`);
  }
  return g.failed.length > 0 ? 1 : 0;
}

/** One SVG per case that has figures; returns the files written. */
function writeCharts(dir: string, shown: BenchCase[], json: ResultsJson): { case: string; path: string }[] {
  mkdirSync(dir, { recursive: true });
  const written: { case: string; path: string }[] = [];
  for (const c of shown) {
    const summaries = json.results.filter((s) => s.case === c.name);
    if (summaries.length === 0) continue;
    const path = join(dir, `${c.name}.svg`);
    const { machine, quick, loadAverageAfter } = json;
    writeFileSync(
      path,
      renderChart({
        bench: c,
        summaries,
        machine,
        quick,
        ...(loadAverageAfter !== undefined ? { loadAverageAfter } : {}),
      }),
    );
    written.push({ case: c.name, path });
  }
  return written;
}

function byNode(files: string[], markdown: string | undefined): number {
  const runs = files.map((file) => ({ file, json: readResults(file) }));
  if (markdown === undefined) {
    process.stdout.write(`${renderByNodeText(runs)}\n`);
  } else {
    writeFileSync(markdown, renderByNodeMarkdown(runs));
    process.stderr.write(`wrote ${markdown}\n`);
  }
  return 0;
}

function parseOptions(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      case: { type: 'string' },
      json: { type: 'string' },
      markdown: { type: 'string' },
      charts: { type: 'string' },
      merge: { type: 'string' },
      compare: { type: 'string' },
      from: { type: 'string' },
      'by-node': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const byNode = values['by-node'] ?? false;
  if (byNode && positionals.length === 0)
    throw new Error('--by-node needs the --json files to set side by side');
  if (!byNode && positionals.length > 0) throw new Error(`Unexpected argument "${positionals[0]}"`);
  if (values.from !== undefined && values.merge !== undefined)
    throw new Error('--from runs nothing to --merge');
  const runs = values.runs === undefined ? (values.quick ? 3 : 5) : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`Expected --runs to be an integer >= 1, got "${values.runs}"`);
  return {
    ...values,
    quick: values.quick ?? false,
    help: values.help ?? false,
    byNode,
    files: positionals,
    runs,
    runsGiven: values.runs !== undefined,
  };
}

// Run directly (not imported by the CLI); realpath because Node resolves symlinks in import.meta.url.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await runBench(process.argv.slice(2));
}
