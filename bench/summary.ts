/**
 * From raw runs to the figures in the table: per (case, subject) the median of the runs'
 * headline numbers with min and max, MB/s, peak RSS, and logstore's ratio against each peer of
 * the same case, taken from medians measured in the same invocation of the runner.
 */
import { CEILING, LOGSTORE, type Measurement, type Params, type SubjectName, type Unit } from './case.js';
import { median } from './stats.js';

export interface SubjectRuns {
  case: string;
  unit: Unit;
  subject: SubjectName;
  params: Params;
  runs: Measurement[];
  /** Set when any run failed; the runs that succeeded are kept but no figure is shown. */
  error?: string;
  /** The peer's package is not installed: not a failure, just no figure. */
  missing?: boolean;
}

export interface Summary extends SubjectRuns {
  median: number;
  min: number;
  max: number;
  /** Median value-payload MB/s (1 MB = 1e6 bytes); NaN where it means nothing. */
  mbPerSec: number;
  /** Largest peak RSS of the runs, in MiB. */
  peakRssMiB: number;
  /** Median latency percentiles across runs, for `latency` cases. */
  latencyMs?: { p50: number; p99: number; p999: number };
  /** The note of the run nearest the median (e.g. bytes on disk, appends done in time). */
  note?: string;
  /** On logstore's rows: how many times better than each peer (> 1: logstore is ahead). */
  ratios: Partial<Record<SubjectName, number>>;
}

/** The number a run is judged by; see `Unit`. */
export function headline(unit: Unit, m: Measurement): number {
  if (unit === 'rec/s') return m.ops / m.seconds;
  if (unit === 'latency') return m.latencyMs?.p99 ?? NaN;
  return m.seconds * 1000;
}

export function summarize(all: SubjectRuns[]): Summary[] {
  const summaries = all.map((s): Summary => {
    const ok = s.error === undefined && s.runs.length > 0;
    const values = ok ? s.runs.map((m) => headline(s.unit, m)) : [];
    return {
      ...s,
      median: ok ? median(values) : NaN,
      min: ok ? Math.min(...values) : NaN,
      max: ok ? Math.max(...values) : NaN,
      mbPerSec: ok && s.unit === 'rec/s' ? median(s.runs.map((m) => m.bytes / m.seconds / 1e6)) : NaN,
      peakRssMiB: Math.max(0, ...s.runs.map((m) => (m.peakRssBytes ?? 0) / 2 ** 20)),
      ...(ok && s.unit === 'latency' ? { latencyMs: medianLatency(s.runs) } : {}),
      ...(ok ? { note: nearestMedian(s, values).note } : {}),
      ratios: {},
    };
  });
  for (const ours of summaries.filter((s) => s.subject === LOGSTORE && !Number.isNaN(s.median))) {
    for (const peer of summaries.filter((s) => s.case === ours.case && s.subject !== LOGSTORE)) {
      if (Number.isNaN(peer.median)) continue;
      const higherIsBetter = ours.unit === 'rec/s';
      ours.ratios[peer.subject] = higherIsBetter ? ours.median / peer.median : peer.median / ours.median;
    }
  }
  return summaries;
}

function nearestMedian(s: SubjectRuns, values: number[]): Measurement {
  const mid = median(values);
  let best = 0;
  values.forEach((v, i) => {
    if (Math.abs(v - mid) < Math.abs(values[best]! - mid)) best = i;
  });
  return s.runs[best]!;
}

function medianLatency(runs: Measurement[]): { p50: number; p99: number; p999: number } {
  const pick = (k: 'p50' | 'p99' | 'p999') => median(runs.map((m) => m.latencyMs?.[k] ?? NaN));
  return { p50: pick('p50'), p99: pick('p99'), p999: pick('p999') };
}

/**
 * The peers that appear in `summaries` (every subject but logstore), in the order they first
 * appear, the ceiling last: the "vs <peer>" columns of the table.
 */
export function peersIn(summaries: { subject: SubjectName }[]): SubjectName[] {
  const peers = [...new Set(summaries.map((s) => s.subject))].filter((s) => s !== LOGSTORE);
  return [...peers.filter((p) => p !== CEILING), ...peers.filter((p) => p === CEILING)];
}
