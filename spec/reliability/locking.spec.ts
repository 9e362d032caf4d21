import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { HOLD_MS, runLocking } from './locking.js';

describe('Reliability: the writer lock', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  it('should refuse a second writer (process or open) at once, free the lock at SIGKILL, and never block followers', async () => {
    const f = await runLocking({ rounds: 1, root: tempDir() });
    expect(f.failures).to.deep.equal([]);
    expect(f.otherProcessRefused).to.equal(f.otherProcessAttempts);
    expect(f.sameProcessRefused).to.equal(f.sameProcessAttempts);
    // Not waiting for the writer: far below the writer's transactions (the slowest refusal is a
    // figure of `npm run stress`: ~1 ms quiet; timing bounds belong to the bench, not to specs).
    expect(f.maxRefusalMs).to.be.below(HOLD_MS / 3);
    expect(f.followerFailures).to.equal(0);
    expect(f.followerReadsDuringHold).to.be.greaterThan(0);
    // A follower process starts Node first; its open and reads must not wait on the writer's transaction.
    expect(f.maxFollowerMs).to.be.below(HOLD_MS / 3);
    expect(f.lockFreedAfterKill).to.equal(f.killRounds);
    expect(f.writerBesideFollowerOk).to.equal(f.writerBesideFollower);
  });
});
