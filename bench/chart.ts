/**
 * One SVG chart per case: a horizontal bar per subject (logstore first, the fs-framing ceiling
 * last) at its median, a line across it from the min to the max of its runs, the figure and
 * logstore's ratio beside it, the target as a dashed line where the target is on the headline
 * figure, and a caption naming the Node version, CPU, core count and date.
 *
 * The file stands alone: no script, no web font, no linked file, so it shows the same in a
 * browser, in an <img> on a repository page and in an image viewer. The scale is linear from 0
 * (bars start at zero so that their lengths compare), its end a round number at or above the
 * largest max and the target.
 */
import { CEILING, LOGSTORE, type Goal, type Unit } from './case.js';
import { judge } from './goal.js';
import type { Machine } from './machine.js';
import type { Summary } from './summary.js';
import { figure, number } from './table.js';

export interface ChartInput {
  bench: { name: string; measures: string; unit: Unit; target?: string; goal?: Goal };
  /** This case's rows (any order: logstore is drawn first, the ceiling last). */
  summaries: Summary[];
  machine: Machine;
  quick: boolean;
  /** The load average when the run ended, if known (`machine.loadAverage` is at its start). */
  loadAverageAfter?: number;
}

/** Geometry in px, exported so that specs can check bar lengths against the figures. */
export const LAYOUT = {
  width: 760,
  /** Subject names, right-aligned, end here; the plot starts at `plotLeft`. */
  plotLeft: 160,
  /** Room to the right of the plot for the longest value label. */
  plotWidth: 390,
  rowHeight: 30,
  barHeight: 16,
} as const;

const COLORS = {
  logstore: '#1f6feb',
  peer: '#8c959f',
  ceilingFill: '#eaeef2',
  ceilingStroke: '#57606a',
  whisker: '#24292f',
  target: '#cf222e',
  grid: '#d8dee4',
  text: '#24292f',
  muted: '#57606a',
};

/** A target more than this many times the largest figure is not drawn on the scale. */
export const OFF_SCALE = 3;

const AXIS_TITLE: Record<Unit, string> = {
  'rec/s': 'records per second (higher is better)',
  latency: 'p99 latency of each run, ms (lower is better)',
  ms: 'milliseconds (lower is better)',
};

export function renderChart({ bench, summaries, machine, quick, loadAverageAfter }: ChartInput): string {
  const rows = ordered(summaries);
  const ok = rows.filter((s) => s.error === undefined && !Number.isNaN(s.median));
  const target = bench.goal?.of === 'median' ? (bench.goal.atLeast ?? bench.goal.below) : undefined;
  const dataTop = Math.max(0, ...ok.map((s) => Math.max(s.median, s.max)));
  // A target far beyond every figure (a loaded machine, a quick run) would squash the bars into
  // slivers: then the scale fits the figures and the target is named at the edge instead.
  const offScale = target !== undefined && target > dataTop * OFF_SCALE;
  const lineTarget = offScale ? undefined : target;
  const scale = axis(Math.max(dataTop, lineTarget ?? 0));
  const x = (v: number) => LAYOUT.plotLeft + (v / scale.max) * LAYOUT.plotWidth;
  const ours = rows.find((s) => s.subject === LOGSTORE);

  const out: string[] = [];
  let y = 26;
  out.push(text(16, y, bench.name, { size: 16, weight: 'bold' }));
  for (const line of wrap(bench.measures, 110)) out.push(text(16, (y += 18), line, { size: 12 }));
  const verdict = targetLine(bench, ours);
  if (verdict !== undefined) out.push(text(16, (y += 18), verdict, { size: 12, fill: COLORS.muted }));

  const plotTop = y + 26;
  const plotBottom = plotTop + rows.length * LAYOUT.rowHeight;
  for (const tick of scale.ticks) {
    const tx = px(x(tick));
    out.push(line(tx, plotTop, tx, plotBottom, { stroke: COLORS.grid }));
    out.push(text(tx, plotBottom + 16, tickLabel(bench.unit, tick), { size: 11, anchor: 'middle' }));
  }
  // Drawn before the bars and labels, which cover it where they cross it.
  if (lineTarget !== undefined) {
    const tx = px(x(lineTarget));
    out.push(line(tx, plotTop - 8, tx, plotBottom, { stroke: COLORS.target, width: 2, dash: '6 4' }));
    out.push(
      text(tx, plotTop - 12, `target ${bench.target ?? ''}`.trim(), {
        size: 11,
        anchor: 'middle',
        fill: COLORS.target,
      }),
    );
  }
  if (offScale) {
    out.push(
      text(LAYOUT.plotLeft + LAYOUT.plotWidth, plotTop - 12, `target ${bench.target ?? ''} off the scale →`, {
        size: 11,
        anchor: 'end',
        fill: COLORS.target,
      }),
    );
  }
  out.push(
    line(LAYOUT.plotLeft, plotBottom, LAYOUT.plotLeft + LAYOUT.plotWidth, plotBottom, {
      stroke: COLORS.muted,
    }),
  );
  out.push(
    text(LAYOUT.plotLeft + LAYOUT.plotWidth / 2, plotBottom + 34, AXIS_TITLE[bench.unit], {
      size: 12,
      anchor: 'middle',
    }),
  );

  rows.forEach((s, i) => {
    const top = plotTop + i * LAYOUT.rowHeight;
    const mid = top + LAYOUT.rowHeight / 2;
    const label = s.subject === CEILING ? `${s.subject} (ceiling)` : s.subject;
    out.push(
      text(LAYOUT.plotLeft - 10, mid + 4, label, {
        size: 12,
        anchor: 'end',
        weight: s.subject === LOGSTORE ? 'bold' : undefined,
      }),
    );
    if (s.error !== undefined || Number.isNaN(s.median)) {
      const why = s.missing
        ? 'not installed'
        : `failed: ${(s.error ?? 'no runs').split('\n')[0]!.slice(0, 60)}`;
      out.push(text(LAYOUT.plotLeft + 6, mid + 4, why, { size: 12, fill: COLORS.target }));
      return;
    }
    out.push(bar(s, x(0), top + (LAYOUT.rowHeight - LAYOUT.barHeight) / 2, x(s.median) - x(0), bench.unit));
    const [lo, hi] = [px(x(s.min)), px(x(s.max))];
    out.push(line(lo, mid, hi, mid, { stroke: COLORS.whisker, width: 1.5 }));
    for (const end of [lo, hi])
      out.push(line(end, mid - 5, end, mid + 5, { stroke: COLORS.whisker, width: 1.5 }));
    const ratio = ours?.ratios[s.subject];
    const value =
      figure(bench.unit, s.median) + (ratio === undefined ? '' : ` · logstore ${ratio.toFixed(2)}×`);
    const labelX = Math.max(x(s.median), hi) + 8;
    // A white ground under the label: readable where it crosses a grid line or the target line.
    const ground = value.length * (s.subject === LOGSTORE ? 7.2 : 6.6) + 6;
    out.push(
      `<rect x="${px(labelX - 3)}" y="${px(mid - 9)}" width="${px(ground)}" height="16" fill="#ffffff" fill-opacity="0.9"/>`,
    );
    out.push(text(labelX, mid + 4, value, { size: 12, weight: s.subject === LOGSTORE ? 'bold' : undefined }));
  });

  let captionY = plotBottom + 58;
  for (const c of caption(machine, quick, ours?.runs.length ?? 0, loadAverageAfter).flatMap((l) =>
    wrap(l, 120),
  )) {
    out.push(text(16, captionY, c, { size: 11, fill: COLORS.muted }));
    captionY += 15;
  }

  const height = captionY + 4;
  const title = `${bench.name}: ${rows.map((s) => s.subject).join(', ')}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LAYOUT.width}" height="${height}" ` +
      `viewBox="0 0 ${LAYOUT.width} ${height}" font-family="Helvetica, Arial, sans-serif" role="img">`,
    `<title>${escape(title)}</title>`,
    `<rect width="${LAYOUT.width}" height="${height}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The caption: what the figures were measured on (Node, CPU, cores, date) and how (runs, mode,
 * the load when the run began: on a shared machine the figures are only as good as that).
 */
export function caption(machine: Machine, quick: boolean, runs: number, loadAverageAfter?: number): string[] {
  return [
    `Node ${machine.node} · ${machine.cpu} · ${machine.cores} cores · ${machine.memoryGiB} GiB · ` +
      `${machine.date.slice(0, 10)}`,
    `${quick ? '--quick (smaller sizes), ' : ''}median of ${runs} run${runs === 1 ? '' : 's'} per subject, ` +
      `each in a fresh process; load average ${machine.loadAverage} when the run began` +
      (loadAverageAfter === undefined ? '' : `, ${loadAverageAfter} when it ended`),
  ];
}

/** Where the case has a target: the target, the figure it is judged on, and whether it is met. */
function targetLine(bench: ChartInput['bench'], ours: Summary | undefined): string | undefined {
  const { goal, target } = bench;
  if (goal === undefined || target === undefined) return undefined;
  if (ours === undefined || ours.error !== undefined || Number.isNaN(ours.median))
    return `target ${target}: no figure`;
  const { value, met, shortfalls } = judge(goal, ours);
  const measured =
    goal.of === 'median'
      ? `median ${figure(bench.unit, value)}`
      : `peak RSS ${value.toFixed(0)} MiB (largest run)`;
  const why = shortfalls.length > 0 ? ` (${shortfalls.join(', ')})` : '';
  return `target ${target}: ${measured}, ${met ? 'met' : 'NOT met'}${why}`;
}

/** logstore first, the ceiling last, the other peers in between in the order given. */
function ordered(summaries: Summary[]): Summary[] {
  const rank = (s: Summary) => (s.subject === LOGSTORE ? 0 : s.subject === CEILING ? 2 : 1);
  return [...summaries].sort((a, b) => rank(a) - rank(b));
}

/**
 * The axis: from 0 to the smallest multiple of a round step (1, 2 or 5 × 10^k, about five
 * steps) at or above `top`.
 */
export function axis(top: number): { max: number; ticks: number[] } {
  if (!(top > 0) || !Number.isFinite(top)) return { max: 1, ticks: [0, 0.5, 1] };
  const rough = top / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const steps = Math.ceil(top / step - 1e-9);
  // Multiplying (not adding) keeps 0.1 * 3 from drifting into 0.30000000000000004 in a label.
  const ticks = Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
  return { max: ticks[ticks.length - 1]!, ticks };
}

/** An axis label: 2.5M, 500k, 0.25, 40 (no more digits than the step needs). */
export function tickLabel(unit: Unit, v: number): string {
  const short = (n: number) => String(Number(n.toPrecision(6)));
  if (unit === 'rec/s' && v >= 1e6) return `${short(v / 1e6)}M`;
  if (unit === 'rec/s' && v >= 1e3) return `${short(v / 1e3)}k`;
  return short(v);
}

function bar(s: Summary, left: number, top: number, width: number, unit: Unit): string {
  const style =
    s.subject === LOGSTORE
      ? `fill="${COLORS.logstore}"`
      : s.subject === CEILING
        ? `fill="${COLORS.ceilingFill}" stroke="${COLORS.ceilingStroke}" stroke-dasharray="4 3"`
        : `fill="${COLORS.peer}"`;
  const tip =
    `${s.subject}: median ${figure(unit, s.median)}, min ${number(unit, s.min)}, max ${number(unit, s.max)} ` +
    `over ${s.runs.length} runs`;
  return (
    `<rect class="bar" data-subject="${escape(s.subject)}" x="${px(left)}" y="${px(top)}" ` +
    `width="${px(width)}" height="${LAYOUT.barHeight}" ${style}><title>${escape(tip)}</title></rect>`
  );
}

function line(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  o: { stroke: string; width?: number; dash?: string },
): string {
  return (
    `<line x1="${px(x1)}" y1="${px(y1)}" x2="${px(x2)}" y2="${px(y2)}" stroke="${o.stroke}"` +
    `${o.width !== undefined ? ` stroke-width="${o.width}"` : ''}` +
    `${o.dash !== undefined ? ` stroke-dasharray="${o.dash}"` : ''}/>`
  );
}

function text(
  x: number,
  y: number,
  content: string,
  o: { size: number; anchor?: 'middle' | 'end'; weight?: 'bold'; fill?: string },
): string {
  return (
    `<text x="${px(x)}" y="${px(y)}" font-size="${o.size}" fill="${o.fill ?? COLORS.text}"` +
    `${o.anchor !== undefined ? ` text-anchor="${o.anchor}"` : ''}` +
    `${o.weight !== undefined ? ` font-weight="${o.weight}"` : ''}>${escape(content)}</text>`
  );
}

/** Breaks `s` at spaces into lines of at most `width` characters (a longer word stays whole). */
function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of s.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') lines.push(current);
  return lines;
}

/** Two decimals at most: enough for a screen, and stable in a committed file. */
function px(v: number): number {
  return Math.round(v * 100) / 100;
}

function escape(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}
