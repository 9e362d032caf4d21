/** Made-up runs and machines for the bench's output specs (no benchmark runs in `npm test`). */
import type { Measurement, Unit } from '../../bench/case.js';
import type { Machine } from '../../bench/machine.js';
import { summarize, type SubjectRuns, type Summary } from '../../bench/summary.js';

export const MACHINE: Machine = {
  cpu: 'Test CPU Model 3000',
  cores: 2,
  memoryGiB: 8,
  node: 'v22.11.0',
  os: 'linux 6.1.0',
  tmpdir: '/tmp',
  date: '2026-11-24T18:10:56.804Z',
  loadAverage: 0.42,
};

/**
 * One subject's runs, each with the headline figure given: records per second (1 s runs of
 * that many 100-byte records) or a p99 / duration in ms. `rssMiB` gives each run's peak RSS.
 */
export function subject(
  caseName: string,
  unit: Unit,
  name: string,
  figures: number[],
  rssMiB: number[] = figures.map(() => 100),
  params: Record<string, number> = { records: 1000 },
): SubjectRuns {
  const runs = figures.map((v, i): Measurement => {
    const peakRssBytes = rssMiB[i]! * 2 ** 20;
    if (unit === 'rec/s') return { ops: v, seconds: 1, bytes: v * 100, peakRssBytes };
    if (unit === 'latency')
      return {
        ops: 1000,
        seconds: 1,
        bytes: 0,
        latencyMs: { p50: v / 4, p99: v, p999: v * 2 },
        peakRssBytes,
      };
    return { ops: 1, seconds: v / 1000, bytes: 0, peakRssBytes };
  });
  return { case: caseName, unit, subject: name, params, runs };
}

export function summaries(...runs: SubjectRuns[]): Summary[] {
  return summarize(runs);
}
