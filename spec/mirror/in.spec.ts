/**
 * `mirror --from` against librdkafka's mock cluster: kcat produces (plain and compressed
 * batches), the mirror pulls them into a store, and the store holds exactly what kcat reads from
 * the cluster: same partitions, offsets, keys, values, headers, timestamps, codecs. A killed
 * mirror resumes with nothing lost or doubled; a store that does not match the saved positions is
 * refused rather than guessed at.
 */
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { batchesOf, codecOf } from '../../lib/mirror/batches.js';
import { KafkaCluster, parseBrokers } from '../../lib/mirror/cluster.js';
import { fetchOnce } from '../../lib/mirror/remote-log.js';
import { MISSING, python } from '../kafka/clients.js';
import { cli, RunningCli } from '../cli/cli-helpers.js';
import { expectCodeAsync, tempDir } from '../helpers/temp.js';
import { byPartition, fromKcat, savedPositions, storeRecords } from './helpers.js';
import { kcatProduce, kcatRead, useMockCluster } from './mock-cluster.js';

/** Lines `key<TAB>value` for records [from, to). */
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `k${(from + i) % 13}\tvalue ${from + i} ✓`);

/** The codecs of a partition's stored batches, in order. */
function storedCodecs(dir: string, topic: string, partition: number): number[] {
  const store = LogStore.open(dir, { readOnly: true });
  try {
    return batchesOf(store.readBatches(topic, partition, 0, 64 << 20), topic, false).map(codecOf);
  } finally {
    void store.close();
  }
}

/**
 * The codec of each batch of a partition as the cluster serves it (librdkafka sends a batch that
 * does not shrink uncompressed, so a producer's codec is not every batch's).
 */
async function clusterCodecs(bootstrap: string, topic: string, partition: number): Promise<number[]> {
  const cluster = await KafkaCluster.connect({
    brokers: parseBrokers(bootstrap),
    clientId: 'spec',
    retryTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
  });
  try {
    await cluster.topic(topic, false);
    const codecs: number[] = [];
    for (let offset = 0; ;) {
      const r = await fetchOnce(cluster, topic, partition, offset, 0);
      const batches = batchesOf(r.records, topic, true);
      if (batches.length === 0) return codecs;
      codecs.push(...batches.map(codecOf));
      offset = batches[batches.length - 1]!.lastOffset + 1;
    }
  } finally {
    cluster.close();
  }
}

describe('logstore mirror --from (librdkafka mock cluster, 3 brokers)', function () {
  this.timeout(120_000);
  const mock = useMockCluster(3);

  it('should pull 2,000 kcat-produced records (plain, gzip, snappy, lz4, zstd) into a store exactly', async () => {
    const headers = ['-H', 'h=1', '-H', 'h=2', '-H', 'other=x'];
    await kcatProduce(mock.bootstrap, 'src', 0, lines(0, 250));
    await kcatProduce(mock.bootstrap, 'src', 0, lines(250, 500), ['-z', 'zstd', ...headers]);
    await kcatProduce(mock.bootstrap, 'src', 1, lines(500, 1000), ['-z', 'gzip']);
    await kcatProduce(mock.bootstrap, 'src', 2, lines(1000, 1500), ['-z', 'snappy', ...headers]);
    await kcatProduce(mock.bootstrap, 'src', 3, lines(1500, 2000), ['-z', 'lz4']);
    const dir = tempDir();
    const r = await cli(['mirror', dir, '--from', mock.bootstrap, '--topics', 'src', '--json'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).to.equal(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; records?: number });
    expect(events[0]!.type).to.equal('start');
    expect(events[events.length - 1]).to.include({ type: 'done', records: 2000 });

    const source = byPartition((await kcatRead(mock.bootstrap, 'src')).map(fromKcat));
    expect(source).to.have.length(2000);
    expect(storeRecords(dir, 'src')).to.deep.equal(source);
    // The batches are stored as the cluster has them: compressed ones stay compressed.
    const produced = [
      [0, 4],
      [1, 1],
      [2, 2],
      [3, 3],
    ];
    for (const [p, codec] of produced) {
      const codecs = await clusterCodecs(mock.bootstrap, 'src', p!);
      expect(codecs, `partition ${p} on the cluster`).to.include(codec);
      expect(storedCodecs(dir, 'src', p!), `partition ${p} in the store`).to.deep.equal(codecs);
    }

    // Run again: nothing new, nothing doubled; then only what kcat adds.
    const again = await cli(['mirror', dir, '--from', mock.bootstrap, '--topics', 'src'], {
      timeoutMs: 60_000,
    });
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.equal(''); // quiet when piped
    await kcatProduce(mock.bootstrap, 'src', 2, lines(2000, 2100), ['-z', 'gzip']);
    const more = await cli(['mirror', dir, '--from', mock.bootstrap, '--topics', 'src'], {
      timeoutMs: 60_000,
    });
    expect(more.code, more.stderr).to.equal(0);
    expect(storeRecords(dir, 'src')).to.deep.equal(
      byPartition((await kcatRead(mock.bootstrap, 'src')).map(fromKcat)),
    );
    expect(storeRecords(dir, 'src')).to.have.length(2100);
  });

  it('should hold every record exactly once after a --follow mirror is killed with kill -9 (twice) mid-copy', async () => {
    // Many small batches: the mock serves one per partition and fetch, so the copy takes a while.
    for (let p = 0; p < 4; p++) {
      await kcatProduce(mock.bootstrap, 'many', p, lines(p * 10_000, (p + 1) * 10_000), [
        '-X',
        'batch.num.messages=20',
        '-X',
        'linger.ms=0',
      ]);
    }
    const dir = tempDir();
    let copied = 0;
    for (let kill = 0; kill < 2; kill++) {
      const mirror = new RunningCli([
        'mirror',
        dir,
        '--from',
        mock.bootstrap,
        '--topics',
        'many',
        '--follow',
        '--json',
      ]);
      await mirror.waitFor((l) => l.some((x) => x.includes('"type":"start"')), 20_000, 'the mirror to start');
      // Killed as soon as it has copied more: a fixed delay after its start missed the copy when it
      // was fast (all 40,000 records in after 300 ms, in CI on Node 22 and 24), as it could when slow.
      const deadline = Date.now() + 20_000;
      while (storedCount(dir, 'many') <= copied) {
        if (Date.now() > deadline)
          throw new Error(`the mirror copied nothing after ${copied} records in 20 s`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      mirror.child.kill('SIGKILL');
      await mirror.exited;
      copied = storedCount(dir, 'many');
    }
    const midway = storeRecords(dir, 'many').length;
    expect(midway, 'records in the store after the kills').to.be.greaterThan(0).and.below(40_000);
    const last = await cli(['mirror', dir, '--from', mock.bootstrap, '--topics', 'many'], {
      timeoutMs: 90_000,
    });
    expect(last.code, last.stderr).to.equal(0);
    const source = byPartition((await kcatRead(mock.bootstrap, 'many')).map(fromKcat));
    expect(source).to.have.length(40_000);
    expect(storeRecords(dir, 'many')).to.deep.equal(source);
  });

  it('should resume from the row that matches the store after an append that never happened, and trim the others', async () => {
    await kcatProduce(mock.bootstrap, 'src', 1, lines(0, 300));
    const dir = tempDir();
    let store = LogStore.open(dir);
    await store.mirror({ from: mock.bootstrap, topics: ['src'] }).done;
    const link = savedPositions(dir)[0]!.link;
    // A crash between the write-ahead rows and the append: rows ahead of the log, for offsets
    // the log never got. The next run must resume at the row matching the log (300), not above.
    store.transaction((db) =>
      db
        .prepare(
          `INSERT INTO mirror_positions (link, topic, partition, local_offset, remote_offset, updated_at) VALUES (?, 'src', 1, 350, 350, 0), (?, 'src', 1, 400, 400, 0)`,
        )
        .run(link, link),
    );
    await store.close();
    await kcatProduce(mock.bootstrap, 'src', 1, lines(300, 450));
    store = LogStore.open(dir);
    const done = await store.mirror({ from: mock.bootstrap, topics: ['src'] }).done;
    await store.close();
    expect(done.records).to.equal(150);
    expect(storeRecords(dir, 'src')).to.deep.equal(
      byPartition((await kcatRead(mock.bootstrap, 'src')).map(fromKcat)),
    );
    expect(
      savedPositions(dir)
        .filter((r) => r.partition === 1)
        .map((r) => [r.localOffset, r.remoteOffset]),
    ).to.deep.equal([[450, 450]]);
  });

  it('should refuse a mirrored topic that something else wrote to (LOGSTORE_INVALID_ARGUMENT, diverged)', async () => {
    await kcatProduce(mock.bootstrap, 'src', 0, lines(0, 10));
    const dir = tempDir();
    const store = LogStore.open(dir);
    try {
      await store.mirror({ from: mock.bootstrap, topics: ['src'] }).done;
      store.append('src', { value: 'not from the cluster' }, { partition: 0 });
      const err = await expectCodeAsync(
        () => store.mirror({ from: mock.bootstrap, topics: ['src'] }).done,
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect((err as unknown as { details: { kind: string } }).details.kind).to.equal('diverged');
      // A topic the mirror did not fill is refused too.
      store.createTopic('other', { partitions: 4 });
      store.append('other', { value: 'local' }, { partition: 2 });
      await kcatProduce(mock.bootstrap, 'other', 0, lines(0, 5));
      const err2 = await expectCodeAsync(
        () => store.mirror({ from: mock.bootstrap, topics: ['other'] }).done,
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect((err2 as unknown as { details: { kind: string } }).details.kind).to.equal('diverged');
    } finally {
      await store.close();
    }
  });

  it('should start where a consumer group is and commit its positions to the group (--group)', async function () {
    if (MISSING['confluent-kafka']) {
      console.log(`      (skipped: ${MISSING['confluent-kafka']})`);
      this.skip();
    }
    for (let p = 0; p < 4; p++) await kcatProduce(mock.bootstrap, 'grp', p, lines(p * 100, p * 100 + 100));
    // The group has consumed the first 40 records of each partition (committed by confluent-kafka).
    await python(
      `
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': '${mock.bootstrap}', 'group.id': 'replay', 'enable.auto.commit': False})
c.commit(offsets=[TopicPartition('grp', p, 40) for p in range(4)], asynchronous=False)
c.close()
`,
    );
    const dir = tempDir();
    const r = await cli(['mirror', dir, '--from', mock.bootstrap, '--topics', 'grp', '--group', 'replay'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).to.equal(0);
    const source = byPartition((await kcatRead(mock.bootstrap, 'grp')).map(fromKcat)).filter(
      (x) => x.offset >= 40,
    );
    // Local offsets start at 0: the store holds the records from the group's position on.
    expect(storeRecords(dir, 'grp')).to.deep.equal(source.map((x) => ({ ...x, offset: x.offset - 40 })));
    const committed = await python(
      `
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': '${mock.bootstrap}', 'group.id': 'replay'})
print(','.join(str(tp.offset) for tp in c.committed([TopicPartition('grp', p) for p in range(4)], timeout=10)))
c.close()
`,
    );
    expect(committed.trim()).to.equal('100,100,100,100');
  });
});

/** Records in `topic` as a read-only open of the store sees them (0 before the topic exists). */
function storedCount(dir: string, topic: string): number {
  let store: LogStore | undefined;
  try {
    store = LogStore.open(dir, { readOnly: true });
    return store.describeTopic(topic).partitions.reduce((n, p) => n + p.endOffset, 0);
  } catch {
    return 0; // not created yet by the mirror
  } finally {
    void store?.close();
  }
}
