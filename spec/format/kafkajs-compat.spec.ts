/**
 * A stored batch must be accepted byte for byte by any Kafka client's batch
 * decoder. kafkajs is the independent implementation at hand: its decoder must read what
 * `encodeBatch` writes, `decodeBatch` must read what kafkajs's producer writes, and with the same
 * header fields the two encoders must agree on every byte, CRC included. The byte comparison is
 * what proves the CRC: kafkajs's decoder does not check it (last test of the first block).
 */
import { expect } from 'chai';
import fc from 'fast-check';

import { encodeBatch } from '../../lib/format/batch-encoder.js';
import { decodeBatch } from '../../lib/format/batches.js';
import { crc32c } from '../../lib/format/crc32c.js';
import type { AppendRecord, Bytes } from '../../lib/record.js';
import { kafkaDecodeBatch, kafkaEncodeBatch, type KafkaBatch, type KafkaRecordInput } from './kafkajs.js';
import {
  BASE_SEQUENCE_AT,
  CRC_AT,
  PRODUCER_EPOCH_AT,
  baseOffsetArb,
  bytesOf,
  expectedRecords,
  recordArb,
} from './tools.js';

const NOW = 1_700_000_000_000;
const BIG_BASE = 1234567890123;

/** The parts of kafkajs's decoded records that carry data, in kafkajs's types (strings for longs). */
function kafkaView(batch: KafkaBatch) {
  return batch.records.map((r) => ({
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key,
    value: r.value,
    headers: r.headers,
  }));
}

/** What kafkajs must decode for `records` written by logstore at `baseOffset`. */
function kafkaExpected(records: readonly AppendRecord[], baseOffset: number) {
  return expectedRecords(records, baseOffset, NOW).map((r) => ({
    offset: String(r.offset),
    timestamp: String(r.timestamp),
    key: r.key,
    value: r.value,
    headers: r.headers,
  }));
}

/** kafkajs's encoder takes Buffers and strings; a plain Uint8Array becomes a Buffer. */
const forKafka = (b: Bytes | null | undefined): Buffer | string | null =>
  b === null || b === undefined ? null : typeof b === 'string' ? b : Buffer.from(b);

/** The records as kafkajs's record encoder takes them, with deltas against `firstTimestamp`. */
function kafkaInputs(records: readonly AppendRecord[], firstTimestamp: number): KafkaRecordInput[] {
  return records.map((r, i) => {
    const input: KafkaRecordInput = {
      offsetDelta: i,
      timestampDelta: (r.timestamp ?? NOW) - firstTimestamp,
      key: forKafka(r.key),
      value: forKafka(r.value),
    };
    if (r.headers)
      input.headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, forKafka(v)!]));
    return input;
  });
}

/**
 * Records whose header keys kafkajs's decoder can take: it folds headers with
 * `obj[key] === undefined ? value : [obj[key], value]` on a plain object, so a header named after an
 * Object.prototype member (`toString`, `valueOf`...) comes out as `[Function, value]` (a kafkajs bug;
 * logstore decodes them: see decoder-fuzz.spec.ts).
 */
const kafkaRecordsArb = fc
  .array(recordArb, { minLength: 1, maxLength: 12 })
  .filter((records) =>
    records.every((r) => Object.keys(r.headers ?? {}).every((k) => !(k in Object.prototype))),
  );

const timestampsOf = (records: readonly AppendRecord[]) => records.map((r) => r.timestamp ?? NOW);

/** kafkajs's batch for `records` with the header fields logstore writes (docs/format.md: leader epoch 0, producer id, epoch and base sequence -1). */
function kafkaBatchLikeLogstore(records: readonly AppendRecord[], baseOffset: number): Promise<Buffer> {
  const ts = timestampsOf(records);
  return kafkaEncodeBatch(
    {
      firstOffset: baseOffset,
      firstTimestamp: ts[0]!,
      maxTimestamp: Math.max(...ts),
      partitionLeaderEpoch: 0,
      lastOffsetDelta: records.length - 1,
      producerId: -1,
      producerEpoch: -1,
      firstSequence: -1,
    },
    kafkaInputs(records, ts[0]!),
  );
}

/**
 * kafkajs's batch as its producer writes it (produce/v3/request.js): header fields left at
 * RecordBatch's defaults (producerEpoch 0, firstSequence 0), firstTimestamp the smallest timestamp.
 */
function kafkaBatchAsProducer(records: readonly AppendRecord[], baseOffset: number): Promise<Buffer> {
  const ts = timestampsOf(records);
  const first = Math.min(...ts);
  return kafkaEncodeBatch(
    {
      firstOffset: baseOffset,
      firstTimestamp: first,
      maxTimestamp: Math.max(...ts),
      lastOffsetDelta: records.length - 1,
    },
    kafkaInputs(records, first),
  );
}

const SAMPLE: AppendRecord[] = [
  {
    key: 'user-1',
    value: 'created',
    headers: { trace: 'abc', bin: Buffer.from([0, 255, 7]) },
    timestamp: NOW,
  },
  { key: 'user-1', value: null, timestamp: NOW + 5 }, // a tombstone
  { key: null, value: Buffer.from('no key'), timestamp: NOW + 1 },
  { value: '', headers: { empty: '' }, timestamp: NOW + 2 ** 33 },
  { key: '', value: new Uint8Array([1, 2, 3]) }, // no timestamp: `now`
];

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe('encodeBatch() read by kafkajs', () => {
  it('should decode keys, values, null values, headers, timestamps and offsets exactly', async () => {
    const batch = await kafkaDecodeBatch(encodeBatch(0, SAMPLE, NOW));
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(SAMPLE, 0));
    expect(batch.records[1]!.value).to.equal(null);
    expect(batch.records[2]!.key).to.equal(null);
  });

  it('should write the batch header kafkajs expects (epoch 0, producer -1/-1/-1, CreateTime)', async () => {
    const batch = await kafkaDecodeBatch(encodeBatch(BIG_BASE, SAMPLE, NOW));
    expect({ ...batch, records: [] }).to.deep.equal({
      firstOffset: String(BIG_BASE),
      firstTimestamp: String(NOW),
      maxTimestamp: String(NOW + 2 ** 33),
      partitionLeaderEpoch: 0,
      lastOffsetDelta: 4,
      producerId: '-1',
      producerEpoch: -1,
      firstSequence: -1,
      inTransaction: false,
      isControlBatch: false,
      timestampType: 0,
      records: [],
    });
    expect(batch.records.map((r) => [r.attributes, r.isControlRecord])).to.deep.equal(
      Array(5).fill([0, false]),
    );
  });

  it('should decode offsets from a base offset above 2^32 (1234567890123)', async () => {
    const batch = await kafkaDecodeBatch(encodeBatch(BIG_BASE, SAMPLE, NOW));
    expect(batch.records.map((r) => r.offset)).to.deep.equal([
      '1234567890123',
      '1234567890124',
      '1234567890125',
      '1234567890126',
      '1234567890127',
    ]);
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(SAMPLE, BIG_BASE));
  });

  it('should decode 3000 records, with offset deltas of one to two varint bytes', async () => {
    const records: AppendRecord[] = Array.from({ length: 3000 }, (_, i) => ({
      key: `k${i % 97}`,
      value: i % 11 === 0 ? null : `value-${i}`,
      headers: (i % 3 === 0 ? { i: String(i) } : {}) as Record<string, Bytes>,
      timestamp: NOW + i * 1000,
    }));
    const batch = await kafkaDecodeBatch(encodeBatch(BIG_BASE, records, NOW));
    expect(batch.lastOffsetDelta).to.equal(2999);
    expect(batch.records).to.have.length(3000);
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(records, BIG_BASE));
  });

  it('should decode empty strings as empty buffers, not null', async () => {
    const records: AppendRecord[] = [{ key: '', value: '', headers: { '': '' }, timestamp: 1 }];
    const [rec] = (await kafkaDecodeBatch(encodeBatch(0, records, NOW))).records;
    expect(rec!.key).to.deep.equal(Buffer.alloc(0));
    expect(rec!.value).to.deep.equal(Buffer.alloc(0));
    expect(rec!.headers).to.deep.equal({ '': Buffer.alloc(0) });
  });

  it('should decode binary values holding every byte value', async () => {
    const records: AppendRecord[] = [
      { key: ALL_BYTES, value: ALL_BYTES, headers: { raw: ALL_BYTES }, timestamp: 7 },
      { value: Buffer.alloc(70000, 0x80), timestamp: 8 }, // a 3-byte length varint
    ];
    const batch = await kafkaDecodeBatch(encodeBatch(0, records, NOW));
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(records, 0));
  });

  it('should decode unicode keys, values and header keys as UTF-8', async () => {
    const records: AppendRecord[] = [
      { key: 'clé-ключ-鍵-🔑', value: 'zwölf Boxkämpfer 🥊', headers: { 'en-tête-😀': 'ü' }, timestamp: 3 },
      { key: 'é'.repeat(40), value: 'x', timestamp: 4 }, // 40 chars, 80 bytes
    ];
    const batch = await kafkaDecodeBatch(encodeBatch(0, records, NOW));
    expect(batch.records[0]!.key!.toString('utf8')).to.equal('clé-ключ-鍵-🔑');
    expect(Object.keys(batch.records[0]!.headers)).to.deep.equal(['en-tête-😀']);
    expect(batch.records[1]!.key).to.have.length(80);
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(records, 0));
  });

  it('should decode timestamps that go backwards within a batch (negative deltas)', async () => {
    const records: AppendRecord[] = [
      { value: 'a', timestamp: 2 ** 40 },
      { value: 'b', timestamp: 0 },
      { value: 'c', timestamp: 2 ** 40 - 1 },
    ];
    const batch = await kafkaDecodeBatch(encodeBatch(0, records, NOW));
    expect(batch.firstTimestamp).to.equal(String(2 ** 40));
    expect(batch.maxTimestamp).to.equal(String(2 ** 40));
    expect(batch.records.map((r) => r.timestamp)).to.deep.equal([String(2 ** 40), '0', String(2 ** 40 - 1)]);
  });

  it('should decode any records exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(kafkaRecordsArb, baseOffsetArb, async (records, base) => {
        const batch = await kafkaDecodeBatch(encodeBatch(base, records, NOW));
        expect(kafkaView(batch)).to.deep.equal(kafkaExpected(records, base));
      }),
      { numRuns: 150 },
    );
  });

  it('should still be read by kafkajs with a wrong CRC (kafkajs does not verify CRCs)', async () => {
    const buf = encodeBatch(0, SAMPLE, NOW);
    buf.writeUInt32BE((buf.readUInt32BE(CRC_AT) ^ 0xffffffff) >>> 0, CRC_AT);
    const batch = await kafkaDecodeBatch(buf);
    expect(kafkaView(batch)).to.deep.equal(kafkaExpected(SAMPLE, 0));
  });
});

describe('decodeBatch() of batches kafkajs encodes', () => {
  it("should decode the records kafkajs's producer writes (epoch 0, sequence 0) exactly", async () => {
    const buf = await kafkaBatchAsProducer(SAMPLE, BIG_BASE);
    expect(buf.readInt16BE(PRODUCER_EPOCH_AT)).to.equal(0);
    expect(buf.readInt32BE(BASE_SEQUENCE_AT)).to.equal(0);
    const batch = decodeBatch(buf);
    expect(batch.records).to.deep.equal(expectedRecords(SAMPLE, BIG_BASE, NOW));
    expect(batch.baseOffset).to.equal(BIG_BASE);
    expect(batch.lastOffset).to.equal(BIG_BASE + 4);
    expect(batch.recordCount).to.equal(5);
    expect(batch.sizeInBytes).to.equal(buf.length);
  });

  it('should decode timestamps against a base timestamp that is the smallest, not the first', async () => {
    const records: AppendRecord[] = [
      { value: 'late', timestamp: NOW + 500 },
      { value: 'early', timestamp: NOW },
    ];
    const batch = decodeBatch(await kafkaBatchAsProducer(records, 0));
    expect(batch.baseTimestamp).to.equal(NOW);
    expect(batch.maxTimestamp).to.equal(NOW + 500);
    expect(batch.records.map((r) => r.timestamp)).to.deep.equal([NOW + 500, NOW]);
  });

  it('should decode 3000 records kafkajs encodes', async () => {
    const records: AppendRecord[] = Array.from({ length: 3000 }, (_, i) => ({
      key: i % 5 === 0 ? null : Buffer.from([i & 0xff, i >> 8]),
      value: `v${i}`,
      headers: (i % 7 === 0 ? { a: 'x', b: Buffer.from([i & 0xff]) } : {}) as Record<string, Bytes>,
      timestamp: NOW + i,
    }));
    const batch = decodeBatch(await kafkaBatchAsProducer(records, BIG_BASE));
    expect(batch.records).to.deep.equal(expectedRecords(records, BIG_BASE, NOW));
  });

  it('should decode any records kafkajs encodes exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(kafkaRecordsArb, baseOffsetArb, async (records, base) => {
        const batch = decodeBatch(await kafkaBatchAsProducer(records, base));
        expect(batch.records).to.deep.equal(expectedRecords(records, base, NOW));
      }),
      { numRuns: 150 },
    );
  });
});

describe('encodeBatch() bytes against kafkajs RecordBatch', () => {
  it("should equal kafkajs's batch byte for byte, CRC included, with the same header fields", async () => {
    const ours = encodeBatch(BIG_BASE, SAMPLE, NOW);
    const theirs = await kafkaBatchLikeLogstore(SAMPLE, BIG_BASE);
    expect(ours.toString('hex')).to.equal(theirs.toString('hex'));
  });

  it("should equal kafkajs's batch byte for byte for any records (property)", async () => {
    await fc.assert(
      fc.asyncProperty(kafkaRecordsArb, baseOffsetArb, async (records, base) => {
        const ours = encodeBatch(base, records, NOW);
        const theirs = await kafkaBatchLikeLogstore(records, base);
        expect(ours.toString('hex')).to.equal(theirs.toString('hex'));
      }),
      { numRuns: 150 },
    );
  });

  it("should differ from kafkajs's producer defaults only in producerEpoch, baseSequence and CRC", async () => {
    // Timestamps in order, so that kafkajs's producer picks the same first timestamp.
    const records = SAMPLE.map((r, i) => ({ ...r, timestamp: NOW + i }));
    const ours = encodeBatch(BIG_BASE, records, NOW);
    const theirs = await kafkaBatchAsProducer(records, BIG_BASE);
    expect(theirs.length).to.equal(ours.length);
    const differing = [...ours.keys()].filter((i) => ours[i] !== theirs[i]);
    const allowed = new Set([
      ...[0, 1, 2, 3].map((i) => CRC_AT + i),
      PRODUCER_EPOCH_AT,
      PRODUCER_EPOCH_AT + 1, // -1 here, 0 in kafkajs
      ...[0, 1, 2, 3].map((i) => BASE_SEQUENCE_AT + i), // -1 here, 0 in kafkajs
    ]);
    expect(differing.filter((i) => !allowed.has(i))).to.deep.equal([]);
    expect(differing.filter((i) => i >= PRODUCER_EPOCH_AT)).to.deep.equal([51, 52, 53, 54, 55, 56]);
    // Same records: the bytes after the header are identical.
    expect(ours.subarray(61).equals(theirs.subarray(61))).to.equal(true);
  });

  it('should write header values and keys as kafkajs does for unicode and binary', async () => {
    const records: AppendRecord[] = [
      { key: '🔑', value: ALL_BYTES, headers: { ключ: ALL_BYTES.subarray(0, 3), b: '✓' }, timestamp: 99 },
    ];
    expect(encodeBatch(5, records, NOW).equals(await kafkaBatchLikeLogstore(records, 5))).to.equal(true);
    expect(bytesOf(records[0]!.key)).to.deep.equal(Buffer.from('f09f9491', 'hex'));
  });
});

describe('decodeBatch() on broker-stamped batches', () => {
  it('should give every record the batch maxTimestamp when the LogAppendTime attribute is set', () => {
    const buf = encodeBatch(0, [
      { value: 'a', timestamp: 10 },
      { value: 'b', timestamp: 20 },
    ]);
    buf.writeInt16BE(0x08, 21); // timestampType = LogAppendTime
    buf.writeBigInt64BE(99n, 35); // maxTimestamp: the broker's append time
    buf.writeUInt32BE(crc32c(buf, 21, buf.length), 17);
    expect(decodeBatch(buf).records.map((r) => r.timestamp)).to.deep.equal([99, 99]);
  });
});
