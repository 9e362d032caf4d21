/**
 * Milliseconds on a monotonic clock, for the throttles of the append signal and of a follower's
 * catalog reads.
 *
 * Not `performance.now()`: Node loads `perf_hooks` at the first use of the `performance` global,
 * ~2 ms on the dev VM, which landed in the first append of every writer process (2% of the
 * batched-append bench's 1000 appends). `process.hrtime()` is there from start-up (~0.03 ms the
 * first call).
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}
