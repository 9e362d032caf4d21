import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { runDiskFull } from './disk-full.js';
import { runFailedSync } from './failed-sync.js';

describe('Reliability: disk full and failed syncs', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should fail appends with LOGSTORE_DISK_FULL (never a signal) and reopen to exactly the acknowledged records', async () => {
    const { figures, tmpfsSkipped } = await runDiskFull({
      iterations: 3,
      root: tempDir(),
      seed: 2,
      tmpfs: true,
    });
    if (tmpfsSkipped) console.log(`      (tmpfs skipped: ${tmpfsSkipped})`);
    expect(figures.failures).to.deep.equal([]);
    expect(figures.injections).to.equal(figures.runs);
    expect(figures.diskFullErrors).to.be.greaterThan(0);
    expect(figures).to.include({
      signals: 0,
      sigbus: 0,
      otherErrors: 0,
      ackedLost: 0,
      extraRecords: 0,
      garbage: 0,
    });
    expect(figures.failedReopens).to.equal(0);
  });

  it('should poison the writer at a failed sync (once or always): nothing acknowledged after it, all before it kept', async () => {
    const figures = await runFailedSync({ iterations: 6, root: tempDir(), seed: 3 });
    expect(figures.failures).to.deep.equal([]);
    expect(figures.poisoned).to.equal(6);
    expect(figures).to.include({
      ackedAfterFailure: 0,
      wrongCodes: 0,
      ackedLost: 0,
      garbage: 0,
      failedReopens: 0,
    });
    expect(figures.uncleanReopens).to.equal(6);
  });
});
