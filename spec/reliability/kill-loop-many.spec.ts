/**
 * The kill -9 loop (kill-loop.ts) on a writer of many small partitions: 48 partitions with
 * 4 KiB segments, so segments roll all the time, files grow by the small preallocation steps,
 * and, with at most 8 closed segments mapped in the writer and in the inspection, the mapping
 * cache unmaps and maps segments again while appends, recovery and reads go on.
 */
import { expect } from 'chai';
import { mappingCache } from '../../lib/storage/mapping-cache.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { runKillLoop, writerPlan } from './kill-loop.js';

const MAPPED_SEGMENTS = 8;

describe('Reliability: kill -9 loops over many partitions', function () {
  this.timeout(180_000);
  let bound: number;
  before(() => {
    bound = mappingCache.bound;
    mappingCache.bound = MAPPED_SEGMENTS; // the inspection in this process
  });
  after(() => {
    mappingCache.bound = bound;
    removeTempDirs();
  });

  it('should lose no acknowledged record and return no garbage with lazily mapped, small segments', async () => {
    const evictions = mappingCache.evictions;
    const figures = await runKillLoop({
      iterations: 12,
      root: tempDir(),
      seed: 17,
      chunk: 12,
      maxKillDelayMs: 1500,
      env: { LOGSTORE_MAX_MAPPED_SEGMENTS: String(MAPPED_SEGMENTS) },
      plan: (dir, durability, seed, point) => {
        const plan = writerPlan(dir, durability, seed, point);
        return {
          ...plan,
          segmentBytes: 4096,
          topics: [
            { name: 't', partitions: 40, weight: 4 },
            { name: 'c', partitions: 8, weight: 1, segmentBytes: 4096 },
          ],
          // 14 records of at most ~280 bytes stay within a 4 KiB segment (24 did not, now and then).
          work: plan.work.kind === 'random' ? { ...plan.work, maxBatch: 14 } : plan.work,
        };
      },
    });
    expect(figures.failures).to.deep.equal([]);
    expect(figures.recordsAcked).to.be.greaterThan(1000);
    expect(Object.keys(figures.crashPointKills).length).to.be.at.least(2);
    expect(mappingCache.evictions - evictions).to.be.greaterThan(0);
    expect(figures).to.include({
      ackedLost: 0,
      garbage: 0,
      outOfOrder: 0,
      failedOpens: 0,
      commitsLost: 0,
      leftovers: 0,
      childFailures: 0,
    });
  });
});
