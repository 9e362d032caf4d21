import { expect } from 'chai';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { startTimer } from '../../bench/case.js';

describe('bench startTimer', () => {
  it('runs a full collection before it reads the clock, so setup garbage is not timed', async () => {
    const collections: PerformanceEntry[] = [];
    const observer = new PerformanceObserver((list) => collections.push(...list.getEntries()));
    observer.observe({ entryTypes: ['gc'] });
    try {
      const before = process.hrtime.bigint();
      const start = startTimer();
      // The observer is told on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const major = collections.filter(
        (e) =>
          (e as PerformanceEntry & { detail: { kind: number } }).detail.kind ===
          constants.NODE_PERFORMANCE_GC_MAJOR,
      );
      expect(major.length).to.be.at.least(1);
      expect(typeof start).to.equal('bigint');
      expect(start >= before).to.equal(true);
    } finally {
      observer.disconnect();
    }
  });
});
