import { expect } from 'chai';
import { killChildren } from './cli-helpers.js';
import { measureTailLatency } from './tail-latency.js';

describe('logstore tail --follow latency', function () {
  this.timeout(20_000);
  afterEach(killChildren);

  it('should show records appended by another process within 50 ms (p99)', async () => {
    const r = await measureTailLatency(200);
    expect(r.records).to.equal(200);
    expect(r.p99, JSON.stringify(r)).to.be.below(50);
  });
});
