/**
 * The targets summary: for each case with a performance target, the measured figure, the
 * ratio to the best peer (the fs-framing ceiling aside) and to the ceiling, and whether the
 * target is met (goal.ts: the absolute figure and any ratio to a named peer), with the command
 * that reproduces it; then a row for each of the case's further `goals` on its other figures.
 */
import { CEILING, LOGSTORE, type BenchCase, type Goal } from './case.js';
import { judge, judgeFigure } from './goal.js';
import { type Summary } from './summary.js';
import { figure } from './table.js';

export interface TargetRow {
  case: string;
  target: string;
  /** The figure the goal is judged on, formatted. */
  measured: string;
  value: number;
  /** logstore / best peer (> 1: ahead), and which peer; undefined without peers. */
  bestPeer?: { peer: string; ratio: number };
  /** logstore / fs-framing (> 1: ahead); undefined where the ceiling does not take part. */
  ceiling?: number;
  met: boolean | undefined;
  command: string;
}

export function targetRows(cases: BenchCase[], summaries: Summary[], quick: boolean): TargetRow[] {
  const rows: TargetRow[] = [];
  for (const c of cases) {
    const ours = summaries.find((s) => s.case === c.name && s.subject === LOGSTORE);
    if (ours === undefined) continue;
    const command = `node dist/bench/run.js${quick ? ' --quick' : ''} --case ${c.name}`;
    if (c.goal !== undefined && c.target !== undefined)
      rows.push(headlineRow(c, c.goal, c.target, ours, command));
    for (const goal of c.goals ?? []) {
      const { measured, value, met } = judgeFigure(goal, c.name, summaries);
      rows.push({ case: c.name, target: goal.target, measured, value, met, command });
    }
  }
  return rows;
}

/** The row of a case's headline goal (`goal`), with the ratios to its peers and the ceiling. */
function headlineRow(c: BenchCase, goal: Goal, target: string, ours: Summary, command: string): TargetRow {
  const failed = ours.error !== undefined || Number.isNaN(ours.median);
  const value = goal.of === 'median' ? ours.median : ours.peakRssMiB;
  const measured = failed
    ? 'FAILED'
    : goal.of === 'median'
      ? `${figure(c.unit, value)} (median)`
      : `${value.toFixed(0)} MiB peak RSS (largest run; ${figure(c.unit, ours.median)})`;
  let bestPeer: TargetRow['bestPeer'];
  for (const [peer, ratio] of Object.entries(ours.ratios)) {
    if (peer === CEILING || ratio === undefined) continue;
    if (bestPeer === undefined || ratio < bestPeer.ratio) bestPeer = { peer, ratio };
  }
  const { met } = judge(goal, ours);
  return {
    case: c.name,
    target,
    measured,
    value,
    ...(bestPeer ? { bestPeer } : {}),
    ...(ours.ratios[CEILING] !== undefined ? { ceiling: ours.ratios[CEILING] } : {}),
    met,
    command,
  };
}

export function targetCells(rows: TargetRow[]): string[][] {
  return [
    ['target', 'case', 'measured', 'vs best peer', 'vs ceiling', 'met', 'reproduce'],
    ...rows.map((r) => [
      r.target,
      r.case,
      r.measured,
      r.bestPeer ? `${r.bestPeer.ratio.toFixed(2)}× ${r.bestPeer.peer}` : '—',
      r.ceiling !== undefined ? `${r.ceiling.toFixed(2)}×` : '—',
      r.met ? 'yes' : 'NO',
      r.command,
    ]),
  ];
}
