import { expect } from 'chai';
import { killChildren } from './cli-helpers.js';
import { measureTailLatency } from './tail-latency.js';

// The latency target (p99 < 50 ms from append to the line) is a speed figure: the bench measures
// it (bench/cases/tail-follow-latency.ts, `npm run bench`). Here: what tail shows, and that it
// shows it while the other process is still writing.
describe('logstore tail --follow beside a writer process', function () {
  this.timeout(30_000);
  afterEach(killChildren);

  it('should print every record another process appends, exactly and in order, while it appends', async () => {
    const records = 300;
    const r = await measureTailLatency(records);
    expect(r.tailed.map((t) => [t.partition, t.offset, t.key])).to.deep.equal(
      Array.from({ length: records }, (_, i) => [0, i, `k${i}`]),
    );
    // Each value is the writer's clock at its append: rising, and read here after it was written.
    for (let i = 0; i < records; i++) {
      const sent = BigInt(r.tailed[i]!.value);
      expect(sent > (i > 0 ? BigInt(r.tailed[i - 1]!.value) : 0n), `value ${i}`).to.equal(true);
      expect(r.tailed[i]!.receivedAt > sent, `record ${i} read after its append`).to.equal(true);
    }
    // Following, not reading at the end: the first records were printed before the last append.
    expect(r.lastAppendedAt > 0n, 'the writer reported its last append').to.equal(true);
    const early = r.tailed.filter((t) => t.receivedAt < r.lastAppendedAt).length;
    expect(early, JSON.stringify({ p50: r.p50, p99: r.p99, max: r.max })).to.be.greaterThan(records / 2);
  });
});
