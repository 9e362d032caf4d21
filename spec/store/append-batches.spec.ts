/**
 * store.appendBatches: batches as a Kafka producer sent them are stored byte for byte (but for the
 * base offset and leader epoch a broker assigns), checked before anything is written, re-encoded
 * only for a topic whose compressionType says so; idempotent producers' retries are stored once,
 * also across a kill -9 between the append and its acknowledgement.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogStore, type AppendRecord, type LogRecord, type LogStoreError } from '../../lib/index.js';
import { decodeBatch } from '../../lib/format/batches.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import type { CompressionId } from '../../lib/format/codecs.js';
import { kafkaEncodeBatch } from '../format/kafkajs.js';
import { fixCrc, MAGIC_AT } from '../format/tools.js';
import { LIB, startChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../spec/fixtures/codecs');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.bin`));

function text(records: LogRecord[]) {
  return records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString('hex') ?? null,
    value: r.value?.toString('hex') ?? null,
    headers: r.headerList.map(([k, v]) => [k, v?.toString('hex') ?? null]),
  }));
}

/** A batch of `count` records from an idempotent producer. */
function producerBatch(
  producerId: number,
  epoch: number,
  sequence: number,
  count: number,
  codec: CompressionId = 0,
): Buffer {
  const records: AppendRecord[] = Array.from({ length: count }, (_, i) => ({
    key: 'k',
    value: `seq ${sequence + i}`,
    timestamp: 1000 + i,
  }));
  return encodeBatch(0, records, 0, {
    codec,
    meta: { partitionLeaderEpoch: 7, flags: 0, producerId, producerEpoch: epoch, baseSequence: sequence },
  });
}

function storeWith(config: object = {}): LogStore {
  const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
  store.createTopic('t', config);
  return store;
}

const endOffset = (store: LogStore) => store.describeTopic('t').partitions[0]!.endOffset;

/**
 * Checks that `stored` holds `input`'s batches one after another, each as the producer sent it but
 * for the base offset in `bases` and leader epoch 0 (the bytes a broker assigns, outside the CRC).
 */
function expectStoredAsSent(stored: Buffer, input: Buffer[], bases: number[]): void {
  let at = 0;
  input.forEach((b, i) => {
    const one = stored.subarray(at, at + b.length);
    expect([Number(one.readBigInt64BE(0)), one.readInt32BE(12)], `batch ${i}`).to.deep.equal([bases[i], 0]);
    expect(
      one.subarray(8, 12).equals(b.subarray(8, 12)) && one.subarray(16).equals(b.subarray(16)),
      `batch ${i}`,
    ).to.equal(true);
    at += b.length;
  });
  expect(at).to.equal(stored.length);
}

describe('store.appendBatches()', function () {
  this.timeout(30_000);
  after(removeTempDirs);

  it("should store kafkajs's batch byte for byte but its base offset and leader epoch, and read it back", async () => {
    const store = storeWith();
    store.append('t', [{ value: 'before' }, { value: 'before' }]);
    const batch = await kafkaEncodeBatch(
      {
        firstOffset: 0,
        firstTimestamp: 5000,
        maxTimestamp: 5002,
        lastOffsetDelta: 2,
        partitionLeaderEpoch: 3,
      },
      [0, 1, 2].map((i) => ({
        offsetDelta: i,
        timestampDelta: i,
        key: `k${i}`,
        value: `v${i}`,
        headers: { h: `x${i}` },
      })),
    );
    expect(store.appendBatches('t', 0, batch)).to.deep.equal({ partition: 0, baseOffset: 2, lastOffset: 4 });
    const stored = store.readBatches('t', 0, 2, 1 << 20);
    expect(stored.length).to.equal(batch.length);
    expect(stored.readBigInt64BE(0)).to.equal(2n);
    expect(stored.readInt32BE(12)).to.equal(0);
    expect(stored.subarray(16).equals(batch.subarray(16))).to.equal(true);
    expect(stored.subarray(8, 12).equals(batch.subarray(8, 12))).to.equal(true);
    const read = store.reader('t', { from: 2 }).read(10);
    expect(
      read.map((r) => [r.offset, r.key!.toString(), r.value!.toString(), r.timestamp, String(r.headers.h)]),
    ).to.deep.equal([
      [2, 'k0', 'v0', 5000, 'x0'],
      [3, 'k1', 'v1', 5001, 'x1'],
      [4, 'k2', 'v2', 5002, 'x2'],
    ]);
    await store.close();
  });

  it('should store batches of 16 KiB and more (written with pwrite) the same way, leaving the input as it is', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('t');
    const big = (sequence: number) =>
      encodeBatch(
        0,
        Array.from({ length: 40 }, (_, i) => ({ value: Buffer.alloc(1000, 97 + ((sequence + i) % 26)) })),
        0,
        { meta: { partitionLeaderEpoch: 7, flags: 0, producerId: -1, producerEpoch: -1, baseSequence: -1 } },
      );
    const small = producerBatch(-1, -1, -1, 2);
    const input = [small, big(0), small, big(40)];
    expect(input.map((b) => b.length >= 16 * 1024)).to.deep.equal([false, true, false, true]);
    const copies = input.map((b) => Buffer.from(b));
    const results = input.map((b) => store.appendBatches('t', 0, b));
    expect(results.map((r) => [r.baseOffset, r.lastOffset])).to.deep.equal([
      [0, 1],
      [2, 41],
      [42, 43],
      [44, 83],
    ]);
    expect(input.every((b, i) => b.equals(copies[i]!))).to.equal(true);
    const expectStored = (s: LogStore) => {
      expectStoredAsSent(
        s.readBatches('t', 0, 0, 1 << 20),
        input,
        results.map((r) => r.baseOffset),
      );
      const values = s
        .reader('t')
        .read(1000)
        .map((r) => [r.offset, r.value!.length, r.value![0]]);
      expect(values.length).to.equal(84);
      expect(values[2]).to.deep.equal([2, 1000, 97]);
      expect(values[83]).to.deep.equal([83, 1000, 97 + (79 % 26)]);
    };
    expectStored(store);
    await store.close();
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expectStored(store);
    await store.close();
  });

  // A producer's request holds its batches one after another: a large one is written with pwrite
  // from where it starts in that buffer, not from the buffer's start.
  it("should store batches of 16 KiB and more from anywhere in one call's buffer, byte for byte", async () => {
    const store = storeWith();
    const big = (fill: number) =>
      encodeBatch(
        0,
        Array.from({ length: 40 }, () => ({ value: Buffer.alloc(1000, fill) })),
        0,
      );
    const input = [producerBatch(-1, -1, -1, 2), big(97), producerBatch(-1, -1, -1, 3), big(98)];
    const bytes = Buffer.concat(input);
    const copy = Buffer.from(bytes);
    expect(store.appendBatches('t', 0, bytes)).to.deep.equal({ partition: 0, baseOffset: 0, lastOffset: 84 });
    expect(bytes.equals(copy)).to.equal(true);
    expectStoredAsSent(store.readBatches('t', 0, 0, 1 << 20), input, [0, 2, 42, 45]);
    const values = store
      .reader('t')
      .read(1000)
      .map((r) => [r.offset, r.value!.length, r.value![0]]);
    expect(values.length).to.equal(85);
    expect(values[2]).to.deep.equal([2, 1000, 97]);
    expect(values[41]).to.deep.equal([41, 1000, 97]);
    expect(values[45]).to.deep.equal([45, 1000, 98]);
    expect(values[84]).to.deep.equal([84, 1000, 98]);
    await store.close();
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    it(`should keep kafka-python's ${codec} batch as it is and read its records exactly`, async () => {
      const store = storeWith();
      const compressed = fixture(`small-${codec}`);
      const { lastOffset } = store.appendBatches('t', 0, compressed);
      const stored = store.readBatches('t', 0, 0, 1 << 20);
      expect(stored.subarray(16).equals(compressed.subarray(16))).to.equal(true);
      const want = decodeBatch(fixture('small-none')).records;
      expect(lastOffset).to.equal(want.length - 1);
      expect(text(store.reader('t').read(1000))).to.deep.equal(text(want.map((r) => ({ ...r, topic: 't' }))));
      await store.close();
    });
  }

  it("should re-encode a batch with the topic's codec when compressionType is not 'producer'", async () => {
    const store = storeWith({ compressionType: 'zstd' });
    store.appendBatches('t', 0, fixture('small-gzip'));
    const stored = store.readBatches('t', 0, 0, 1 << 20);
    expect(stored[22]! & 7).to.equal(4);
    expect(text(store.reader('t').read(1000))).to.deep.equal(
      text(decodeBatch(fixture('small-none')).records.map((r) => ({ ...r, topic: 't' }))),
    );
    await store.close();
  });

  it('should refuse magic 0/1, a bad CRC, truncation and trailing garbage with LOGSTORE_INVALID_ARGUMENT, writing nothing', async () => {
    const store = storeWith();
    const good = fixture('small-none');
    const magic1 = Buffer.from(good);
    magic1[MAGIC_AT] = 1;
    const badCrc = Buffer.from(good);
    badCrc[good.length - 5]! ^= 1;
    const cases: [Buffer, string][] = [
      [magic1, 'bad-magic'],
      [badCrc, 'bad-crc'],
      [good.subarray(0, good.length - 1), 'truncated'],
      [Buffer.concat([good, Buffer.from([1, 2, 3])]), 'truncated'],
      [Buffer.concat([good, badCrc]), 'bad-crc'],
    ];
    for (const [bytes, kind] of cases) {
      const err = expectCode(
        () => store.appendBatches('t', 0, bytes),
        'LOGSTORE_INVALID_ARGUMENT',
      ) as LogStoreError;
      expect(err.details.kind, kind).to.equal(kind);
    }
    expectCode(() => store.appendBatches('t', 0, Buffer.alloc(0)), 'LOGSTORE_INVALID_ARGUMENT');
    expect(endOffset(store)).to.equal(0);
    await store.close();
  });

  it('should refuse a keyless record on a compacted topic and a batch over maxRecordBytes', async () => {
    const store = storeWith({ cleanupPolicy: 'compact', maxRecordBytes: 200 });
    const keyless = fixCrc(encodeBatch(0, [{ key: null, value: 'v' }], 0));
    expectCode(() => store.appendBatches('t', 0, keyless), 'LOGSTORE_INVALID_ARGUMENT');
    const big = encodeBatch(0, [{ key: 'k', value: 'x'.repeat(300) }], 0);
    expectCode(() => store.appendBatches('t', 0, big), 'LOGSTORE_RECORD_TOO_LARGE');
    expect(endOffset(store)).to.equal(0);
    await store.close();
  });

  describe('store.readBatches()', () => {
    // Live, the segment is mapped by the appends; after a reopen, by the first read of it.
    for (const reopened of [false, true]) {
      it(`should return the whole batches that fit in maxBytes (the first alone when larger) and leave a damaged batch past them to the read that starts there (${reopened ? 'after a reopen' : 'live'})`, async () => {
        const dir = tempDir();
        let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
        store.createTopic('t');
        for (let i = 0; i < 3; i++) {
          store.append(
            't',
            [0, 1].map((k) => ({ key: `k${i}${k}`, value: Buffer.alloc(50, 97 + i) })),
            { partition: 0 },
          );
        }
        if (reopened) {
          await store.close();
          store = LogStore.open(dir, { cleanupIntervalMs: 0 });
        }
        const all = store.readBatches('t', 0, 0, 1 << 20);
        // maxBytes 1: the batch holding the offset, alone. The three are of one size.
        const [first, second, third] = [0, 2, 5].map((offset) => store.readBatches('t', 0, offset, 1)) as [
          Buffer,
          Buffer,
          Buffer,
        ];
        const size = first.length;
        expect(all.length).to.equal(3 * size);
        expect(
          [first, second, third].map((b, i) => b.equals(all.subarray(i * size, (i + 1) * size))),
        ).to.deep.equal([true, true, true]);
        expect(store.readBatches('t', 0, 0, 2 * size).equals(all.subarray(0, 2 * size))).to.equal(true);
        expect(store.readBatches('t', 0, 0, 2 * size - 1).equals(first)).to.equal(true);
        expect(store.readBatches('t', 0, 1, 2 * size + 1).equals(all.subarray(0, 2 * size))).to.equal(true);
        // One byte of the third batch's records flipped on disk.
        const fd = fs.openSync(path.join(dir, 't-0', '00000000000000000000.log'), 'r+');
        fs.writeSync(fd, Buffer.from([all[3 * size - 3]! ^ 1]), 0, 1, 3 * size - 3);
        fs.closeSync(fd);
        expect(store.readBatches('t', 0, 0, 1 << 20).equals(all.subarray(0, 2 * size))).to.equal(true);
        expect(store.readBatches('t', 0, 2, 1 << 20).equals(second)).to.equal(true);
        const err = expectCode(
          () => store.readBatches('t', 0, 4, 1 << 20),
          'LOGSTORE_CORRUPT',
        ) as LogStoreError;
        expect(err.details).to.include({ position: 2 * size, kind: 'bad-crc' });
        await store.close();
      });
    }
  });

  describe('idempotent producers', () => {
    it('should store a retried batch once and acknowledge it again with its first offsets', async () => {
      const store = storeWith();
      const { producerId, producerEpoch } = store.producerIds.init();
      const first = producerBatch(producerId, producerEpoch, 0, 5);
      expect(store.appendBatches('t', 0, first)).to.deep.equal({
        partition: 0,
        baseOffset: 0,
        lastOffset: 4,
      });
      expect(store.appendBatches('t', 0, producerBatch(producerId, producerEpoch, 5, 3))).to.deep.equal({
        partition: 0,
        baseOffset: 5,
        lastOffset: 7,
      });
      expect(store.appendBatches('t', 0, first)).to.deep.equal({
        partition: 0,
        baseOffset: 0,
        lastOffset: 4,
      });
      expect(endOffset(store)).to.equal(8);
      await store.close();
    });

    it('should refuse a sequence gap, a new producer not starting at 0, and a fenced epoch', async () => {
      const store = storeWith();
      const a = store.producerIds.init();
      store.appendBatches('t', 0, producerBatch(a.producerId, a.producerEpoch, 0, 2));
      expectCode(
        () => store.appendBatches('t', 0, producerBatch(a.producerId, a.producerEpoch, 5, 1)),
        'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
      );
      const b = store.producerIds.init();
      expectCode(
        () => store.appendBatches('t', 0, producerBatch(b.producerId, b.producerEpoch, 3, 1)),
        'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
      );
      const bumped = store.producerIds.init(a);
      expect(bumped).to.deep.equal({ producerId: a.producerId, producerEpoch: a.producerEpoch + 1 });
      expectCode(
        () => store.appendBatches('t', 0, producerBatch(a.producerId, a.producerEpoch, 2, 1)),
        'LOGSTORE_INVALID_PRODUCER_EPOCH',
      );
      expect(
        store.appendBatches('t', 0, producerBatch(a.producerId, bumped.producerEpoch, 0, 1)).baseOffset,
      ).to.equal(2);
      expect(endOffset(store)).to.equal(3);
      await store.close();
    });

    it('should remember producer state across a clean reopen', async () => {
      const dir = tempDir();
      let store = LogStore.open(dir);
      store.createTopic('t', { compressionType: 'producer' });
      const p = store.producerIds.init();
      const batch = producerBatch(p.producerId, p.producerEpoch, 0, 4, 3);
      store.appendBatches('t', 0, batch);
      await store.close();
      store = LogStore.open(dir);
      expect(store.appendBatches('t', 0, batch)).to.deep.equal({
        partition: 0,
        baseOffset: 0,
        lastOffset: 3,
      });
      expectCode(
        () => store.appendBatches('t', 0, producerBatch(p.producerId, p.producerEpoch, 9, 1)),
        'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
      );
      expect(endOffset(store)).to.equal(4);
      await store.close();
    });

    it('should store a retry once after a kill -9 between the append and its acknowledgement', async () => {
      const dir = tempDir();
      const setup = LogStore.open(dir);
      setup.createTopic('t');
      const p = setup.producerIds.init();
      setup.appendBatches('t', 0, producerBatch(p.producerId, p.producerEpoch, 0, 2));
      await setup.close();
      const retried = producerBatch(p.producerId, p.producerEpoch, 2, 3);
      const { exited } = startChild(`
        import { LogStore } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none' });
        store.appendBatches('t', 0, Buffer.from(${JSON.stringify(retried.toString('base64'))}, 'base64'));
        process.kill(process.pid, 'SIGKILL'); // before the producer hears of it
      `);
      expect((await exited).signal).to.equal('SIGKILL');
      const store = LogStore.open(dir);
      expect(store.recovery.clean).to.equal(false);
      expect(store.appendBatches('t', 0, retried)).to.deep.equal({
        partition: 0,
        baseOffset: 2,
        lastOffset: 4,
      });
      expect(endOffset(store)).to.equal(5);
      expect(
        store
          .reader('t')
          .read(10)
          .map((r) => r.value!.toString()),
      ).to.deep.equal(['seq 0', 'seq 1', 'seq 2', 'seq 3', 'seq 4']);
      await store.close();
    });
  });
});
