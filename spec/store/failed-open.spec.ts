/**
 * A writer open that fails part way (after some partitions' logs were loaded) releases what it
 * took at once: the mappings of the logs it loaded, the catalog and the LOCK. Left to the garbage
 * collector, the mappings kept the file system busy (a full disk's mount could not be unmounted).
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

/** The lines of this process's memory map that map a file below `dir`. */
function mappingsBelow(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes(`${dir}/`));
}

describe('A failed writer open', () => {
  after(removeTempDirs);

  it('should unmap the logs it loaded before the failure, and leave the store to a later open', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('a', { partitions: 2 });
    store.createTopic('b');
    store.append('a', [{ key: 'k', value: 'v' }]);
    await store.close();
    // As after a crash: the next open verifies (and so maps) every partition's log.
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
    db.close();
    // Topics load in name order: 'a' is mapped when 'b' fails (its segment is a directory now).
    const segment = path.join(dir, 'b-0', '00000000000000000000.log');
    const saved = fs.readFileSync(segment);
    fs.rmSync(segment);
    fs.mkdirSync(segment);
    expectCode(() => LogStore.open(dir, { cleanupIntervalMs: 0 }), 'LOGSTORE_IO');
    expect(mappingsBelow(dir), 'mappings left by the failed open').to.deep.equal([]);
    fs.rmdirSync(segment);
    fs.writeFileSync(segment, saved);
    const again = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expect(again.describeTopic('a').partitions.map((p) => p.endOffset)).to.deep.equal([1, 0]);
    await again.close();
  });
});
