import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { ext4Unavailable, runExt4PowerLoss } from './ext4-power-loss.js';
import { runPowerLoss } from './power-loss.js';

describe('Reliability: power loss', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should keep every record acknowledged by flush() in images of a power cut (snapshot + random later pages + a torn page)', async () => {
    const f = await runPowerLoss({ iterations: 9, root: tempDir(), seed: 4, chunk: 5 });
    expect(f.failures).to.deep.equal([]);
    expect(f.flushedRecords).to.be.greaterThan(1000);
    expect(f.pagesChanged).to.be.greaterThan(0);
    expect(f).to.include({ flushedLost: 0, garbage: 0, outOfOrder: 0, failedOpens: 0, recoveryAhead: 0 });
  });

  it('should keep every record acknowledged by flush() on a loop-mounted ext4 image copied right after a kill', async function () {
    const root = tempDir();
    const why = ext4Unavailable(root);
    if (why) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
    const f = await runExt4PowerLoss({ iterations: 2, root, seed: 5 });
    expect(f.failures).to.deep.equal([]);
    expect(f).to.include({ flushedLost: 0, garbage: 0, outOfOrder: 0, failedOpens: 0 });
  });
});
