/**
 * `--compare old.json`: each figure of this run against the same figure of an earlier run (its
 * --json file), as a ratio (now / before) and a percentage. The figures are each subject's
 * median and its peak RSS.
 *
 * A change counts as a regression (or an improvement) only when it is larger than this run's own
 * noise: the earlier median lies outside the min–max of this run's runs, on the worse (or better)
 * side. Anything inside that spread is marked as such, however large its percentage: with 3–5
 * runs on a shared machine, a smaller difference is not evidence. Nor is a change under
 * `FLOOR_PERCENT`: runs can agree more closely than the figure means (peak RSS of three runs is
 * often equal to the MiB), and a 0.3% change beyond such a spread is not worth a red line.
 */
import type { Unit } from './case.js';
import type { ResultsJson } from './results-json.js';
import type { Summary } from './summary.js';
import { figure, renderText } from './table.js';

export type Verdict = 'regressed' | 'improved' | 'within spread';

/** Changes smaller than this many percent are never marked, whatever the spread. */
export const FLOOR_PERCENT = 2;

export interface Change {
  case: string;
  subject: string;
  figure: 'median' | 'peak RSS';
  unit: Unit;
  before: number;
  now: number;
  /** now / before. */
  ratio: number;
  /** (now / before - 1) × 100. */
  percent: number;
  /** This run's smallest and largest value of the figure over its runs. */
  spread: [number, number];
  verdict: Verdict;
  /** Set when the case ran at other sizes in the earlier run (e.g. --quick against full). */
  sizesDiffer?: boolean;
}

export function compareSummaries(before: Summary[], now: Summary[]): Change[] {
  const changes: Change[] = [];
  for (const n of now) {
    const b = before.find((s) => s.case === n.case && s.subject === n.subject);
    if (b === undefined || !measured(b) || !measured(n)) continue;
    const sizesDiffer = JSON.stringify(b.params) !== JSON.stringify(n.params);
    const common = {
      case: n.case,
      subject: n.subject,
      unit: n.unit,
      ...(sizesDiffer ? { sizesDiffer } : {}),
    };
    changes.push({
      ...common,
      figure: 'median',
      ...judge(b.median, n.median, [n.min, n.max], n.unit === 'rec/s'),
    });
    const rss = n.runs.map((m) => (m.peakRssBytes ?? 0) / 2 ** 20);
    if (b.peakRssMiB > 0 && n.peakRssMiB > 0) {
      changes.push({
        ...common,
        figure: 'peak RSS',
        ...judge(b.peakRssMiB, n.peakRssMiB, [Math.min(...rss), Math.max(...rss)], false),
      });
    }
  }
  return changes;
}

function judge(
  before: number,
  now: number,
  spread: [number, number],
  higherIsBetter: boolean,
): Pick<Change, 'before' | 'now' | 'ratio' | 'percent' | 'spread' | 'verdict'> {
  const ratio = now / before;
  const worse = higherIsBetter ? now < before : now > before;
  const percent = (ratio - 1) * 100;
  const outside = (before < spread[0] || before > spread[1]) && Math.abs(percent) >= FLOOR_PERCENT;
  const verdict: Verdict = !outside ? 'within spread' : worse ? 'regressed' : 'improved';
  return { before, now, ratio, percent, spread, verdict };
}

function measured(s: Summary): boolean {
  return s.error === undefined && !Number.isNaN(s.median);
}

/** Differences between the runs that make their figures less comparable, one line each. */
export function compareNotes(before: ResultsJson, now: ResultsJson, changes: Change[]): string[] {
  const notes: string[] = [];
  const [b, n] = [before.machine, now.machine];
  if (before.quick !== now.quick)
    notes.push(
      `the earlier run was ${before.quick ? '--quick' : 'full'}, this one ${now.quick ? '--quick' : 'full'}`,
    );
  if (b.node !== n.node) notes.push(`Node ${b.node} then, ${n.node} now`);
  if (b.cpu !== n.cpu || b.cores !== n.cores)
    notes.push(`machine: ${b.cpu}, ${b.cores} cores then; ${n.cpu}, ${n.cores} cores now`);
  const resized = [...new Set(changes.filter((c) => c.sizesDiffer).map((c) => c.case))];
  if (resized.length > 0) notes.push(`other sizes than before: ${resized.join(', ')}`);
  const key = (s: Summary) => `${s.case} · ${s.subject}`;
  const missing = (from: Summary[], to: Summary[]) =>
    from.filter((s) => !to.some((t) => key(t) === key(s))).map(key);
  const gone = missing(before.results, now.results);
  const added = missing(now.results, before.results);
  if (added.length > 0) notes.push(`not in the earlier run: ${added.join(', ')}`);
  if (gone.length > 0 && now.rerun === undefined && before.results.length > 0)
    notes.push(`not in this run: ${gone.join(', ')}`);
  return notes;
}

export const MARKERS: Record<Verdict, string> = {
  regressed: 'REGRESSED',
  improved: 'improved',
  'within spread': '~',
};

export const COMPARE_LEGEND =
  'now/before and change compare medians (peak RSS: largest run). REGRESSED / improved: the ' +
  "earlier figure lies outside this run's min–max, on the worse / better side, and the change is " +
  `at least ${FLOOR_PERCENT}%; ~: within this run's own spread (or smaller), so not a measured change.`;

/**
 * The comparison as a text table. `paint` colours a whole row by verdict (red for regressions,
 * green for improvements) on a terminal; piped, the markers alone carry it.
 */
export function renderComparison(
  changes: Change[],
  notes: string[],
  paint: { red(s: string): string; green(s: string): string } = { red: (s) => s, green: (s) => s },
): string {
  const value = (c: Change, v: number) => (c.figure === 'median' ? figure(c.unit, v) : `${v.toFixed(0)} MiB`);
  const cells = [
    ['case', 'subject', 'figure', 'before', 'now', 'now/before', 'change', 'verdict'],
    ...changes.map((c) => [
      c.case,
      c.subject,
      c.figure,
      value(c, c.before),
      value(c, c.now),
      `${c.ratio.toFixed(2)}×`,
      `${c.percent >= 0 ? '+' : '−'}${Math.abs(c.percent).toFixed(1)}%`,
      MARKERS[c.verdict] + (c.sizesDiffer ? ' (other sizes)' : ''),
    ]),
  ];
  const lines = renderText(cells, 3).split('\n');
  const body = lines.slice(2).map((line, i) => {
    const verdict = changes[i]!.verdict;
    return verdict === 'regressed' ? paint.red(line) : verdict === 'improved' ? paint.green(line) : line;
  });
  return [...notes.map((n) => `note: ${n}`), ...lines.slice(0, 2), ...body, '', COMPARE_LEGEND].join('\n');
}
