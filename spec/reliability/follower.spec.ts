import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, LogStoreError, type LogRecord, type Reader } from '../../lib/index.js';
import { PartitionTables } from '../../lib/catalog/partitions.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { runFollower } from './follower.js';

function drain(reader: Reader): LogRecord[] {
  const out: LogRecord[] = [];
  for (let batch = reader.read(); batch.length > 0; batch = reader.read()) out.push(...batch);
  return out;
}

const view = (records: LogRecord[]) => records.map((r) => `${r.offset}=${r.value?.toString()}`);

describe('Reliability: a read-only follower under churn', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  it('should follow rolls, retention and compaction in another process without a crash, a miss or a duplicate', async () => {
    const f = await runFollower({ iterations: 2, root: tempDir(), records: 8000, tail: true });
    expect(f.failures).to.deep.equal([]);
    expect(f.recordsRead).to.be.greaterThan(1000);
    expect(f).to.include({ crashes: 0, garbage: 0, duplicates: 0, missed: 0, errors: 0, behind: 0 });
    // `logstore tail --follow` ran beside the follower in every run, and printed records.
    expect(f.tail).to.deep.include({ runs: 2, crashes: 0, garbage: 0, outOfOrder: 0 });
    expect(f.tail!.records).to.be.greaterThan(100);
  });

  // Found by the churn test: a follower refreshing between a compaction's catalog commit and its
  // renames opened the old file with the new size, and read LOGSTORE_CORRUPT from then on.
  it('should read consistent records when it looks in the middle of a compaction swap', async () => {
    const dir = tempDir();
    const first = LogStore.open(dir, { cleanupIntervalMs: 0 });
    first.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
    for (let i = 0; i < 200; i++)
      first.append('c', { key: i % 4 === 0 ? `u${i}` : `k${i % 5}`, value: `v${i}` });
    await first.close();
    const follower = LogStore.open(dir, { readOnly: true });
    const before = view(drain(follower.reader('c')));
    // Look with the follower right after the writer's catalog commit, before its renames.
    const forPartition = PartitionTables.prototype.forPartition;
    let during: string[] | string = [];
    PartitionTables.prototype.forPartition = function (
      this: PartitionTables,
      ...args: Parameters<typeof forPartition>
    ) {
      const partition = forPartition.apply(this, args);
      const swap = partition.swapCompacted;
      partition.swapCompacted = (...swapArgs) => {
        swap(...swapArgs);
        try {
          during = view(drain(follower.reader('c')));
        } catch (err) {
          during = `${(err as LogStoreError).code}: ${(err as Error).message}`;
        }
      };
      return partition;
    };
    const writer = LogStore.open(dir, { cleanupIntervalMs: 0 });
    PartitionTables.prototype.forPartition = forPartition;
    try {
      expect(writer.cleanup('c').compactedSegments).to.be.greaterThan(0);
    } finally {
      PartitionTables.prototype.forPartition = forPartition;
    }
    const after = view(drain(writer.reader('c')));
    expect([before, after]).to.deep.include(during);
    expect(view(drain(follower.reader('c')))).to.deep.equal(after);
    await follower.close();
    await writer.close();
  });

  // Found by the churn test: when opening a new segment failed in the middle of a refresh (the
  // writer had changed the files since the catalog was read), the follower was left with no
  // segments at all, and every later read threw a TypeError.
  it('should stay usable after a refresh that found a segment file out of reach', async () => {
    const dir = tempDir();
    const writer = LogStore.open(dir, { cleanupIntervalMs: 0 });
    writer.createTopic('t', { segmentBytes: 4096, retentionBytes: 8192 });
    for (let i = 0; i < 10; i++) writer.append('t', { value: Buffer.alloc(100, i) });
    const follower = LogStore.open(dir, { readOnly: true });
    const reader = follower.reader('t');
    expect(drain(reader)).to.have.length(10);
    // The writer goes on: rolls, and retention deletes every segment the follower knows.
    for (let i = 10; i < 200; i++) writer.append('t', { value: Buffer.alloc(100, i) });
    const start = writer.describeTopic('t').partitions[0]!.startOffset;
    const first = path.join(dir, 't-0', `${String(start).padStart(20, '0')}.log`);
    fs.renameSync(first, `${first}.away`);
    try {
      drain(reader);
    } catch (err) {
      if (!(err instanceof LogStoreError)) throw err;
    } finally {
      fs.renameSync(`${first}.away`, first);
    }
    expect(drain(follower.reader('t', { from: 'earliest' })).map((r) => r.offset)).to.deep.equal(
      Array.from({ length: 200 - start }, (_, i) => start + i),
    );
    await follower.close();
    await writer.close();
  });
});
