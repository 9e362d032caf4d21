import { expect } from 'chai';
import { cli, killChildren } from './cli-helpers.js';

describe('logstore demo', function () {
  this.timeout(15_000);
  afterEach(killChildren);

  it('should write, tail and summarize a sample stream, and exit 0 within 10 s', async () => {
    const r = await cli(['demo'], { timeoutMs: 12_000 });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.ms).to.be.below(10_000);
    expect(r.stdout).to.include('summary').and.include('every CRC and offset checks out');
    expect(r.stdout).not.to.include('demo failed');
    const dir = /a store in (\S+)/.exec(r.stdout)?.[1];
    expect(dir).to.be.a('string');
    const fs = await import('node:fs');
    expect(fs.existsSync(dir!)).to.equal(false); // removed
  });
});
