/**
 * `mirror --to` against librdkafka's mock cluster (3 brokers), read back by kcat: the copy is
 * exact, per partition and in order; a killed mirror resumes with every record exactly once; a
 * cluster that disappears gives a clear error with the position saved.
 */
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { tempDir, expectCodeAsync } from '../helpers/temp.js';
import { RunningCli, cli } from '../cli/cli-helpers.js';
import {
  appendRange,
  byPartition,
  fromKcat,
  savedPositions,
  SlowWriter,
  storeRecords,
  waitForTopic,
} from './helpers.js';
import { kcatRead, useMockCluster } from './mock-cluster.js';

describe('logstore mirror --to (librdkafka mock cluster, 3 brokers)', function () {
  this.timeout(120_000);
  const mock = useMockCluster(3);

  it('should copy 4 partitions, 5,000 records with keys, repeated headers and timestamps, exactly as kcat reads them back', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('orders', { partitions: 4 });
    appendRange(store, 'orders', 0, 5000);
    const done = await store.mirror({ to: mock.bootstrap }).done;
    await store.close();
    expect(done.records).to.equal(5000);
    expect(done.lag).to.equal(0);
    const expected = storeRecords(dir, 'orders');
    expect(expected).to.have.length(5000);
    expect(new Set(expected.map((r) => r.partition))).to.deep.equal(new Set([0, 1, 2, 3]));
    const copied = byPartition((await kcatRead(mock.bootstrap, 'orders')).map(fromKcat));
    expect(copied).to.deep.equal(expected);
  });

  it('should copy nothing twice when run again, and only what was appended since', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('orders', { partitions: 4 });
    appendRange(store, 'orders', 0, 1000);
    expect((await store.mirror({ to: mock.bootstrap }).done).records).to.equal(1000);
    expect((await store.mirror({ to: mock.bootstrap }).done).records).to.equal(0);
    appendRange(store, 'orders', 1000, 1500, 1);
    expect((await store.mirror({ to: mock.bootstrap }).done).records).to.equal(500);
    await store.close();
    const copied = byPartition((await kcatRead(mock.bootstrap, 'orders')).map(fromKcat));
    expect(copied).to.deep.equal(storeRecords(dir, 'orders'));
  });

  it('should refuse a topic whose partition count differs on the cluster (LOGSTORE_INVALID_ARGUMENT, partition-count)', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('three', { partitions: 3 }); // the mock creates topics with 4
    appendRange(store, 'three', 0, 10);
    const err = await expectCodeAsync(
      () => store.mirror({ to: mock.bootstrap }).done,
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expect((err as unknown as { details: { kind: string } }).details.kind).to.equal('partition-count');
    await store.close();
    expect(await kcatRead(mock.bootstrap, 'three')).to.deep.equal([]);
  });

  it('should leave every record on the cluster exactly once after a --follow mirror is killed with kill -9 (twice) mid-copy', async () => {
    const dir = tempDir();
    const total = 20_000;
    // A live writer holds the store: the mirror follows it read-only, 4 partitions, ~4 s of appends.
    const writer = new SlowWriter({ dir, topic: 'live', total, perAppend: 20, perTick: 5, tickMs: 20 });
    try {
      await waitForTopic(dir, 'live');
      for (let kill = 0; kill < 2; kill++) {
        const mirror = new RunningCli(['mirror', dir, '--to', mock.bootstrap, '--follow', '--json']);
        await mirror.waitFor(
          (lines) => lines.some((l) => l.includes('"type":"start"')),
          20_000,
          'the mirror to start',
        );
        await new Promise((resolve) => setTimeout(resolve, 400 + 300 * kill));
        mirror.child.kill('SIGKILL');
        await mirror.exited;
      }
      const midway = (await kcatRead(mock.bootstrap, 'live')).length;
      expect(midway, 'records on the cluster after the kills').to.be.greaterThan(0);
      await writer.finished;
      const last = await cli(['mirror', dir, '--to', mock.bootstrap], { timeoutMs: 60_000 });
      expect(last.code, last.stderr).to.equal(0);
    } finally {
      await writer.close();
    }
    const expected = storeRecords(dir, 'live');
    expect(expected).to.have.length(total);
    const copied = byPartition((await kcatRead(mock.bootstrap, 'live')).map(fromKcat));
    expect(copied.length, 'records on the cluster').to.equal(total);
    expect(copied).to.deep.equal(expected);
  });

  it('should fail with LOGSTORE_IO and keep a resumable position when the cluster disappears mid-copy', async () => {
    const dir = tempDir();
    const writer = new SlowWriter({
      dir,
      topic: 'live',
      total: 20_000,
      perAppend: 20,
      perTick: 5,
      tickMs: 20,
    });
    try {
      await waitForTopic(dir, 'live');
      const mirror = new RunningCli([
        'mirror',
        dir,
        '--to',
        mock.bootstrap,
        '--follow',
        '--json',
        '--retry-timeout',
        '2s',
      ]);
      await mirror.waitFor(
        (lines) => lines.some((l) => l.includes('"type":"start"')),
        20_000,
        'the mirror to start',
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      await mock.kill();
      const exit = await Promise.race([
        mirror.exited,
        new Promise<null>((resolve) => setTimeout(() => resolve(null), 30_000)),
      ]);
      expect(exit, 'the mirror exits by itself').to.not.equal(null);
      expect(exit!.code).to.equal(1);
      expect(mirror.stderr).to.match(
        /^error: LOGSTORE_IO: .*kept failing for .* s \(the cluster at 127\.0\.0\.1:\d+/m,
      );
      expect(mirror.stderr).to.include('run it again to resume');
      expect(mirror.stderr).to.not.include('    at '); // no stack trace
    } finally {
      await writer.close();
    }
    const rows = savedPositions(dir);
    expect(rows.map((r) => r.partition)).to.deep.equal([0, 1, 2, 3]);
    expect(new Set(rows.map((r) => r.link)).size).to.equal(1);
    expect(rows[0]!.link).to.match(/^to mockCluster/);
    const ends = storeRecords(dir, 'live').reduce(
      (m, r) => m.set(r.partition, r.offset + 1),
      new Map<number, number>(),
    );
    for (const r of rows) {
      expect(r.localOffset).to.be.at.least(0).and.at.most(ends.get(r.partition)!);
      expect(r.producerId).to.be.at.least(0);
    }
    expect(
      rows.reduce((sum, r) => sum + r.localOffset, 0),
      'records acknowledged before the cluster went away',
    ).to.be.greaterThan(0);
  });
});
