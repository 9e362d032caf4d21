/** Order statistics used by the subjects (latency percentiles) and the runner (median of runs). */

/** The `q`-quantile (0..1) of `sorted` by nearest rank; `sorted` must be ascending. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** p50, p99 and p99.9 of latency samples in ms. Sorts `samples` in place. */
export function latencyPercentiles(samples: Float64Array): { p50: number; p99: number; p999: number } {
  samples.sort();
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), p999: quantile(samples, 0.999) };
}
