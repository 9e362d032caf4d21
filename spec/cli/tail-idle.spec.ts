import { expect } from 'chai';
import { killChildren } from './cli-helpers.js';
import { measureTailIdle } from './tail-idle.js';

describe('logstore tail --follow at rest', function () {
  this.timeout(40_000);
  afterEach(killChildren);

  // A 5 ms poll of the files cost about 8% of a core; waiting on file-system events costs next to
  // nothing (0.2% measured over 60 s by `node dist/spec/cli/tail-idle.js 60`). The bound leaves
  // room for the 10 ms CPU-time ticks of a short window and the fallback poll; the window starts
  // 10 s after the tail, once V8's start-up collections are done (tail-idle.ts).
  it('should use under 1% of a core while the writer is idle', async () => {
    const r = await measureTailIdle(6);
    expect(r.printed, 'records printed before the idle window').to.equal(10);
    expect(r.percentOfCore, JSON.stringify(r)).to.be.below(1);
  });
});
