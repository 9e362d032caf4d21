/**
 * Whether a case's goal is met by a run's summary: one judgement shared by the targets summary
 * and the chart's caption, so that they can never disagree.
 */
import { LOGSTORE, type FigureGoal, type Goal } from './case.js';
import { median } from './stats.js';
import type { Summary } from './summary.js';

export interface Verdict {
  /** The figure the absolute part is judged on: the median, or the largest peak RSS in MiB. */
  value: number;
  met: boolean;
  /** The `vsPeers` parts that failed, e.g. "0.73× librdkafka-mock, needs >= 1×". */
  shortfalls: string[];
}

/** Judges `goal` on logstore's summary `ours`; a failed or missing figure is never met. */
export function judge(goal: Goal, ours: Summary): Verdict {
  const failed = ours.error !== undefined || Number.isNaN(ours.median);
  const value = goal.of === 'median' ? ours.median : ours.peakRssMiB;
  const shortfalls: string[] = [];
  for (const [peer, times] of Object.entries(goal.vsPeers ?? {})) {
    const ratio = ours.ratios[peer];
    if (ratio === undefined) shortfalls.push(`no figure for ${peer}`);
    else if (!(ratio >= times)) shortfalls.push(`${ratio.toFixed(2)}× ${peer}, needs >= ${times}×`);
  }
  const met =
    !failed &&
    (goal.atLeast === undefined || value >= goal.atLeast) &&
    (goal.below === undefined || value < goal.below) &&
    shortfalls.length === 0;
  return { value, met, shortfalls };
}

/** A `FigureGoal`'s verdict: the figure as the targets summary shows it, and whether it is met. */
export interface FigureVerdict {
  measured: string;
  /** The absolute figure's median, or the largest ratio of a growth goal (NaN: not measured). */
  value: number;
  met: boolean;
}

/** The median of the figure `name` over a summary's runs; NaN if any run failed or lacks it. */
export function figureMedian(s: Summary | undefined, name: string): number {
  if (s === undefined || s.error !== undefined || s.runs.length === 0) return NaN;
  const values = s.runs.map((m) => m.figures?.[name] ?? NaN);
  return values.every(Number.isFinite) ? median(values) : NaN;
}

/**
 * Judges `goal` of the case `caseName` on logstore's summaries of the same run (`summaries`
 * holds every case's): a figure that was not measured is never met.
 */
export function judgeFigure(goal: FigureGoal, caseName: string, summaries: Summary[]): FigureVerdict {
  const ours = ofLogstore(summaries, caseName);
  if ('figure' in goal) {
    const value = figureMedian(ours, goal.figure);
    if (Number.isNaN(value)) return { measured: `no ${goal.figure} figure`, value, met: false };
    const met =
      (goal.atLeast === undefined || value >= goal.atLeast) &&
      (goal.below === undefined || value < goal.below);
    return { measured: `${formatFigure(value)} ${goal.unit} (median)`, value, met };
  }
  const { figures, vsCase, atMost } = goal.growth;
  const base = ofLogstore(summaries, vsCase);
  const parts: string[] = [];
  let worst = 0;
  let measuredAll = true;
  for (const [label, name] of Object.entries(figures)) {
    const ratio = figureMedian(ours, name) / figureMedian(base, name);
    if (!Number.isFinite(ratio)) {
      measuredAll = false;
      parts.push(`${label} not measured`);
    } else {
      worst = Math.max(worst, ratio);
      parts.push(`${label} ${ratio.toFixed(2)}×`);
    }
  }
  const met = measuredAll && worst <= atMost;
  return { measured: `${parts.join(', ')} (of ${vsCase})`, value: measuredAll ? worst : NaN, met };
}

function ofLogstore(summaries: Summary[], caseName: string): Summary | undefined {
  return summaries.find((s) => s.case === caseName && s.subject === LOGSTORE);
}

/** Integers as they are; else three significant digits at most, no exponent: 0.577, 5.80, 986. */
function formatFigure(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toFixed(digits);
}
