/**
 * Whether a case's goal is met by a run's summary: one judgement shared by the targets summary
 * and the chart's caption, so that they can never disagree.
 */
import type { Goal } from './case.js';
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
