/**
 * An open after a crash moves each partition's recovery point to the end of what it verified, so
 * it must first put on the disk what the dead writer left only in the page cache: otherwise a
 * power cut soon after the open loses bytes the catalog calls synced, and the next open refuses
 * the log as damaged instead of cutting a torn tail. The page cache's own count of a file's dirty
 * pages (cachestat(2), Linux 6.5+, asked through Python's ctypes) says whether it did.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { LIB, startChild } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const PYTHON = '/usr/bin/python3';

/**
 * Dirty pages of `file`'s first `bytes` (0: all of it) in the page cache, or null where
 * cachestat(2) is missing.
 */
function dirtyPages(file: string, bytes = 0): number | null {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class Range(ctypes.Structure): _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]
class Stat(ctypes.Structure): _fields_ = [(n, ctypes.c_uint64) for n in ("cache", "dirty", "writeback", "evicted", "recently_evicted")]
fd = os.open(sys.argv[1], os.O_RDONLY)
r, s = Range(0, int(sys.argv[2])), Stat()
print(s.dirty if libc.syscall(451, fd, ctypes.byref(r), ctypes.byref(s), 0) == 0 else "none")
`,
      file,
      String(bytes),
    ],
    { encoding: 'utf8' },
  ).trim();
  return out === 'none' ? null : Number(out);
}

const cachestatMissing = !fs.existsSync(PYTHON) || dirtyPages(PYTHON) === null;

describe('Recovery sync', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  before(function () {
    if (cachestatMissing) {
      console.log(
        '      skipped: cachestat(2) through /usr/bin/python3 is not available (Linux 6.5+ needed)',
      );
      this.skip();
    }
  });

  it('should put what a killed writer left in the page cache on the disk before moving the recovery points', async () => {
    const dir = tempDir();
    const { child, exited } = startChild(
      `import { LogStore } from ${JSON.stringify(LIB)};
       const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none', cleanupIntervalMs: 0 });
       store.createTopic('t');
       for (let i = 0; i < 200; i++) store.append('t', { value: Buffer.alloc(200, i) });
       process.kill(process.pid, 'SIGKILL');`,
    );
    const { signal } = await exited;
    expect(signal, 'the writer dies by SIGKILL').to.equal('SIGKILL');
    expect(child.exitCode).to.equal(null);
    const log = path.join(dir, 't-0', '00000000000000000000.log');
    // Pages past the data may be dirty too (zeros made writable ahead of the next appends): losing
    // those to a power cut loses nothing, so only the data's pages count.
    const dataBytes = 200 * 270; // a batch each: its 61-byte header and a 209-byte record
    expect(dirtyPages(log, dataBytes), 'the dead writer left dirty pages').to.be.greaterThan(0);

    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    try {
      expect(store.recovery.clean).to.equal(false);
      expect(store.recovery.bytesCut).to.equal(0);
      expect(store.describeTopic('t').partitions[0]!.endOffset).to.equal(200);
      expect(store.describeTopic('t').partitions[0]!.bytes).to.equal(dataBytes);
      expect(dirtyPages(log, dataBytes)).to.equal(0);
    } finally {
      await store.close();
    }
  });
});
