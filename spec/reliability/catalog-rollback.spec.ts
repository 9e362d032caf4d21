import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { runCatalogRollback } from './catalog-rollback.js';

describe('Reliability: a catalog gone back in time (kill -9, then a damaged -wal)', function () {
  this.timeout(300_000);
  after(removeTempDirs);

  it('should read back every acknowledged record, or refuse the open naming the repair, and never delete a segment file', async () => {
    // Store 0: the case (topic created in the killed session); store 1: topic created
    // before, so that every damage must be repaired from the files. Each damaged at 6 distances.
    const figures = await runCatalogRollback({ root: tempDir(), stores: 2, records: 5000, seed: 16 });
    expect(figures.failures).to.deep.equal([]);
    expect(figures.stores).to.equal(2);
    expect(figures.cases).to.equal(12);
    expect(figures.recordsAcked).to.equal(12 * 5000);
    expect(figures.ackedLost).to.equal(0);
    expect(figures.filesDeleted).to.equal(0);
    expect(figures.silent).to.equal(0);
    expect(figures.unnamed).to.equal(0);
    expect(figures.wrongErrors).to.equal(0);
    expect(figures.refusedWithTopicKnown).to.equal(0);
    expect(figures.readBack + figures.refused).to.equal(12);
    // The damage reaches back past rolls in several cases: segments had to be adopted.
    expect(figures.adopted).to.be.greaterThan(5);
    expect(figures.readBack).to.be.at.least(7);
  });
});
