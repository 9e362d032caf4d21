/**
 * Property-based fuzzing of the batch decoder: damaged input may only raise typed errors
 * (LogStoreError), and what it allocates is bounded by the input. Most damage is caught by the CRC, so the mutations that matter are the ones
 * whose CRC (and length) is recomputed afterwards: they reach the record parser behind the checksum,
 * which is what a buggy or hostile writer, or a disk that returns another valid-looking block, feeds it.
 *
 * A decode that never returns would block mocha's own timeout (it is synchronous), so every property
 * runs under a vm deadline, whose watchdog terminates a synchronous loop and names the last input.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import vm from 'node:vm';

import { LogStoreError } from '../../lib/errors.js';
import { BatchEncoder, encodeBatch } from '../../lib/format/batch-encoder.js';
import { BatchWalker, decodeBatch, type DecodedBatch } from '../../lib/format/batches.js';
import { checkRecords, decodeRecords } from '../../lib/format/record-decoder.js';
import type { AppendRecord, LogRecord } from '../../lib/record.js';
import { expectCode } from '../helpers/temp.js';
import { kafkaDecodeBatch } from './kafkajs.js';
import { referenceRecords } from './reference-records.js';
import {
  ATTRIBUTES_AT,
  HEADER_BYTES,
  LAST_OFFSET_DELTA_AT,
  LEADER_EPOCH_AT,
  LENGTH_AT,
  MAGIC_AT,
  MIN_RECORD_BYTES,
  RECORD_COUNT_AT,
  baseOffsetArb,
  decodeOrCorrupt,
  expectedRecords,
  fitBatch,
  fixCrc,
  payloadBytes,
  recordArb,
  recordFields,
  splice,
  varint,
} from './tools.js';

const NOW = 1_700_000_000_000;
/** Per property; the whole file runs in about a second. */
const DEADLINE_MS = 5000;

let lastInput: Uint8Array = new Uint8Array(0);

/**
 * How many damaged batches were compared with the reference reading, by outcome, and which of
 * the decoder's checks refused them (the message without positions or counts).
 */
const compared = { records: 0, errors: 0, checks: new Set<string>() };

/**
 * checkRecords (the producer path's pass, which builds no record) refuses exactly the batches
 * decodeRecords refuses, with the same error, and counts the records without a key; and both
 * agree with the reference reading (reference-records.ts): the same records, or the message of the
 * first check that fails.
 */
function expectCheckToAgree(buf: Buffer, pos: number): void {
  if (!new BatchWalker(buf, pos, { limit: buf.length, nextOffset: -1, gaps: true }).next()) return;
  const outcome = (run: () => number): number | string => {
    try {
      return run();
    } catch (err) {
      if (err instanceof LogStoreError) return `${err.code}: ${err.message}`;
      throw err;
    }
  };
  const decoded: LogRecord[] = [];
  const inf = Number.POSITIVE_INFINITY;
  const viaDecode = outcome(() => {
    decodeRecords(buf, pos, -inf, inf, decoded, '', 0, 'fuzz');
    return decoded.filter((r) => r.key === null).length;
  });
  expect(outcome(() => checkRecords(buf, pos, 'fuzz'))).to.equal(viaDecode);
  const reference = referenceRecords(buf, pos, 'fuzz');
  if (reference === undefined) return; // compressed: the codecs' specs cover those
  if ('error' in reference) {
    expect(viaDecode).to.equal(`LOGSTORE_CORRUPT: ${reference.error}`);
    compared.errors++;
    compared.checks.add(
      reference.error
        .replace(/^.*: (.*) in the batch at \d+$/, '$1')
        .replace(/^\d+ bytes after .*/, 'bytes after'),
    );
  } else {
    const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
    expect(viaDecode).to.be.a('number');
    expect(
      decoded.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: hex(r.key),
        value: hex(r.value),
        headers: r.headerList.map(([k, v]) => [k, hex(v)]),
      })),
    ).to.deep.equal(reference.records);
    compared.records++;
  }
}

/** Runs `fn`, failing (with the input being decoded) if it has not returned after `ms`. */
function withDeadline(ms: number, fn: () => void): void {
  try {
    vm.runInNewContext('run()', { run: fn }, { timeout: ms });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new Error(
        `decodeBatch did not return within ${ms} ms on ${Buffer.from(lastInput).toString('hex')}`,
      );
    }
    throw err;
  }
}

/**
 * Decodes `buf` at `pos`: LOGSTORE_CORRUPT is fine, any other exception fails; a batch that
 * decodes must stay within the bytes it came from.
 */
function check(buf: Buffer, pos = 0): DecodedBatch | undefined {
  lastInput = buf;
  expectCheckToAgree(buf, pos);
  const batch = decodeOrCorrupt(buf, pos);
  if (batch === undefined) return undefined;
  const available = buf.length - pos;
  if (
    batch.sizeInBytes > available ||
    payloadBytes(batch) > batch.sizeInBytes ||
    batch.records.length * MIN_RECORD_BYTES > batch.sizeInBytes - HEADER_BYTES
  ) {
    expect.fail(
      `decoded ${batch.records.length} records, ${payloadBytes(batch)} payload bytes from ${available} bytes: ` +
        buf.toString('hex'),
    );
  }
  // Offsets are what readers and consumers resume from: each must be a safe integer inside the
  // batch's own [baseOffset, lastOffset], increasing (compaction leaves gaps, never repeats).
  let previous = batch.baseOffset - 1;
  for (const r of batch.records) {
    if (!Number.isSafeInteger(r.offset) || r.offset <= previous || r.offset > batch.lastOffset) {
      expect.fail(
        `decoded offset ${r.offset} after ${previous} in a batch of offsets ${batch.baseOffset}..${batch.lastOffset}: ` +
          buf.toString('hex'),
      );
    }
    previous = r.offset;
  }
  return batch;
}

const SMALL: AppendRecord[] = [
  { key: 'k', value: 'v', headers: { a: 'b', cc: Buffer.from([1, 2]) }, timestamp: 5 },
  { key: null, value: null, timestamp: 3 },
  { value: '', timestamp: 9 },
];
const MEDIUM: AppendRecord[] = [
  ...SMALL,
  {
    key: 'key-'.repeat(20),
    value: Buffer.alloc(200, 0x81),
    headers: { x: 'y'.repeat(130) },
    timestamp: 2 ** 40,
  },
  { key: 'ключ', value: 'значение', timestamp: 0 },
];

describe('decodeBatch() round trip', () => {
  it('should return exactly the records encoded, for any records (property)', () => {
    withDeadline(DEADLINE_MS, () =>
      fc.assert(
        fc.property(fc.array(recordArb, { minLength: 1, maxLength: 10 }), baseOffsetArb, (records, base) => {
          const buf = encodeBatch(base, records, NOW);
          const batch = decodeBatch(buf);
          const timestamps = records.map((r) => r.timestamp ?? NOW);
          expect(batch.records).to.deep.equal(expectedRecords(records, base, NOW));
          expect({ ...batch, records: [], crc: 0 }).to.deep.equal({
            baseOffset: base,
            lastOffset: base + records.length - 1,
            baseTimestamp: timestamps[0],
            maxTimestamp: Math.max(...timestamps),
            recordCount: records.length,
            attributes: 0,
            crc: 0,
            sizeInBytes: buf.length,
            records: [],
          });
        }),
        { numRuns: 300 },
      ),
    );
  });

  // Kafka's cleaner keeps the header of a batch whose records are all gone, with recordCount 0,
  // to remember a producer's last sequence (DefaultRecordBatch.writeEmptyHeader); Kafka's
  // decoder reads it as a batch of no records. So does this one: the header's offsets, no records.
  it("should decode a batch of no records (an empty header as Kafka's cleaner leaves it) to its header alone", async () => {
    const buf = Buffer.from(encodeBatch(41, [{ value: 'v', timestamp: 5 }], NOW).subarray(0, HEADER_BYTES));
    buf.writeInt32BE(3, LAST_OFFSET_DELTA_AT);
    buf.writeInt32BE(0, RECORD_COUNT_AT);
    fitBatch(buf);
    expect(decodeBatch(buf)).to.deep.equal({
      baseOffset: 41,
      lastOffset: 44,
      baseTimestamp: 5,
      maxTimestamp: 5,
      recordCount: 0,
      attributes: 0,
      crc: buf.readUInt32BE(17),
      sizeInBytes: HEADER_BYTES,
      records: [],
    });
    // kafkajs, an independent decoder, reads the same: offsets 41..44, no records.
    const kafka = await kafkaDecodeBatch(buf);
    expect([kafka.firstOffset, kafka.lastOffsetDelta, kafka.records]).to.deep.equal(['41', 3, []]);
  });

  it('should hand out copies: records survive the input being overwritten', () => {
    const buf = encodeBatch(7, MEDIUM, NOW);
    const batch = decodeBatch(buf);
    buf.fill(0xee);
    expect(batch.records).to.deep.equal(expectedRecords(MEDIUM, 7, NOW));
  });

  it('should keep a header named __proto__ as an ordinary header', () => {
    const headers: Record<string, string> = Object.fromEntries([
      ['__proto__', 'p'],
      ['a', 'b'],
    ]);
    const [rec] = decodeBatch(encodeBatch(0, [{ value: 'v', headers, timestamp: 1 }], NOW)).records;
    expect(Object.getPrototypeOf(rec!.headers)).to.equal(Object.prototype);
    expect(Object.keys(rec!.headers)).to.deep.equal(['__proto__', 'a']);
    expect(rec!.headers['__proto__']).to.deep.equal(Buffer.from('p'));
  });
  it('should keep headers named after Object.prototype members as own headers', () => {
    const headers = { toString: 't', constructor: 'c', valueOf: Buffer.from([1]), hasOwnProperty: '' };
    const [rec] = decodeBatch(encodeBatch(0, [{ value: 'v', headers, timestamp: 1 }], NOW)).records;
    expect(Object.keys(rec!.headers)).to.deep.equal(['toString', 'constructor', 'valueOf', 'hasOwnProperty']);
    expect(rec!.headers['toString']).to.deep.equal(Buffer.from('t'));
    expect(rec!.headers['hasOwnProperty']).to.deep.equal(Buffer.alloc(0));
  });
});

describe('BatchEncoder', () => {
  it('should encode the records picked by `indices`, with offset deltas 0..n-1', () => {
    const encoder = new BatchEncoder();
    const size = encoder.measure(MEDIUM, [4, 0, 2], NOW, 1 << 20);
    const buf = Buffer.alloc(size + 10, 0xaa);
    encoder.write(buf, 10, 500);
    expect(buf.subarray(0, 10).equals(Buffer.alloc(10, 0xaa))).to.equal(true);
    const batch = decodeBatch(buf, 10);
    expect(batch.records).to.deep.equal(expectedRecords([MEDIUM[4]!, MEDIUM[0]!, MEDIUM[2]!], 500, NOW));
    expect(encoder.lastMaxTimestamp).to.equal(9);
  });

  it('should write only own header keys and measure exactly what it writes (inherited header keys)', () => {
    const headers = Object.create({ inherited: 'from the prototype' }) as Record<string, string>;
    headers['own'] = 'x';
    const buf = encodeBatch(0, [{ value: 'v', headers, timestamp: 1 }], NOW);
    const [rec] = decodeBatch(buf).records;
    expect(Object.keys(rec!.headers)).to.deep.equal(['own']); // own enumerable keys, as Object.keys
  });

  // Kafka's producers never send a batch of no records (MemoryRecordsBuilder builds none), and
  // append() gives each partition's share of a call as one batch: nothing to write is an error.
  it('should refuse an empty list of records with LOGSTORE_INVALID_ARGUMENT', () => {
    expectCode(() => encodeBatch(0, [], NOW), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(() => new BatchEncoder().measure(MEDIUM, [], NOW, 1 << 20), 'LOGSTORE_INVALID_ARGUMENT');
  });

  it('should refuse bad timestamps and values with LOGSTORE_INVALID_ARGUMENT', () => {
    for (const timestamp of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
      expectCode(() => encodeBatch(0, [{ value: 'v', timestamp }], NOW), 'LOGSTORE_INVALID_ARGUMENT');
    }
    expectCode(() => encodeBatch(0, [{ value: 5 as unknown as string }], NOW), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(
      () => encodeBatch(0, [{ key: {} as unknown as string, value: 'v' }], NOW),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expectCode(
      () => encodeBatch(0, [{ value: 'v', headers: { h: 1 as unknown as string } }], NOW),
      'LOGSTORE_INVALID_ARGUMENT',
    );
  });

  it('should refuse a record over maxRecordBytes with LOGSTORE_RECORD_TOO_LARGE', () => {
    const encoder = new BatchEncoder();
    // body: attributes 1 + timestamp delta 1 + offset delta 1 + null key 1 + value length 2 + value 100
    // + header count 1 = 107 bytes, and 2 bytes for its length varint (zigzag 214): 109 bytes.
    expect(encoder.measure([{ value: Buffer.alloc(100), timestamp: NOW }], null, NOW, 109)).to.equal(
      61 + 109,
    );
    expectCode(
      () => encoder.measure([{ value: Buffer.alloc(101), timestamp: NOW }], null, NOW, 109),
      'LOGSTORE_RECORD_TOO_LARGE',
    );
  });

  // The encoder keeps each record's delta from the base timestamp between measure and write;
  // one encoder serves every append of a store, so batches of any deltas follow one another.
  it('should write exact timestamps batch after batch from one encoder (own, missing, far apart)', () => {
    const encoder = new BatchEncoder();
    const batches: AppendRecord[][] = [
      [{ value: 'a' }, { value: 'b' }, { value: 'c', timestamp: NOW - 5 }, { value: 'd' }],
      [{ value: 'e', timestamp: 2 ** 40 }, { value: 'f', timestamp: 1 }, { value: 'g' }],
      [
        { value: 'h', timestamp: 7 },
        { value: 'i', timestamp: 7 + 2 ** 33 },
        { value: 'j', timestamp: 6 },
      ],
      [{ value: 'k' }, { value: 'l' }],
    ];
    const expected = [
      [NOW, NOW, NOW - 5, NOW],
      [2 ** 40, 1, NOW],
      [7, 7 + 2 ** 33, 6],
      [NOW, NOW],
    ];
    batches.forEach((records, n) => {
      const buf = Buffer.alloc(encoder.measure(records, null, NOW, 1 << 20));
      encoder.write(buf, 0, 100 * n);
      const batch = decodeBatch(buf);
      expect(
        batch.records.map((r) => r.timestamp),
        `batch ${n}`,
      ).to.deep.equal(expected[n]);
      expect(batch.baseTimestamp, `batch ${n}`).to.equal(expected[n]![0]);
      expect(batch.maxTimestamp, `batch ${n}`).to.equal(Math.max(...expected[n]!));
      expect(encoder.lastMaxTimestamp, `batch ${n}`).to.equal(Math.max(...expected[n]!));
    });
  });

  // Timestamps go up to 2^52 ms, so that the zigzag of any delta between two of them (down to
  // -2^52) stays below 2^53 and the varint carries it exactly; beyond that they are refused.
  it('should decode timestamps exactly even when a later record is 2^52 ms earlier than the first', () => {
    const records: AppendRecord[] = [
      { value: 'a', timestamp: 2 ** 52 },
      { value: 'b', timestamp: 0 },
      { value: 'c', timestamp: 2 ** 52 - 1 },
    ];
    expect(decodeBatch(encodeBatch(0, records, NOW)).records.map((r) => r.timestamp)).to.deep.equal([
      2 ** 52,
      0,
      2 ** 52 - 1,
    ]);
    expectCode(
      () =>
        encodeBatch(
          0,
          [
            { value: 'a', timestamp: 2 ** 52 + 1 },
            { value: 'b', timestamp: 0 },
          ],
          NOW,
        ),
      'LOGSTORE_INVALID_ARGUMENT',
    );
  });
});

describe('withDeadline() (the hang guard of this file)', () => {
  it('should stop a synchronous loop that never returns, naming the last input', () => {
    lastInput = Buffer.from([0xde, 0xad]);
    expect(() =>
      withDeadline(50, () => {
        for (;;);
      }),
    ).to.throw(/did not return within 50 ms on dead$/);
  });
});

describe('recordFields() (the test tool the mutations rely on)', () => {
  it('should find every varint of a known batch, in order', () => {
    const records: AppendRecord[] = [
      { key: 'k', value: 'vv', headers: { h: 'xyz' }, timestamp: 10 },
      { key: null, value: null, timestamp: 7 },
    ];
    const fields = recordFields(encodeBatch(0, records, NOW)).map((f) => [f.kind, f.pos, f.size, f.value]);
    expect(fields).to.deep.equal([
      ['recordLength', 61, 1, 15],
      ['timestampDelta', 63, 1, 0],
      ['offsetDelta', 64, 1, 0],
      ['keyLength', 65, 1, 1],
      ['valueLength', 67, 1, 2],
      ['headerCount', 70, 1, 1],
      ['headerKeyLength', 71, 1, 1],
      ['headerValueLength', 73, 1, 3],
      ['recordLength', 77, 1, 6],
      ['timestampDelta', 79, 1, -3],
      ['offsetDelta', 80, 1, 1],
      ['keyLength', 81, 1, -1],
      ['valueLength', 82, 1, -1],
      ['headerCount', 83, 1, 0],
    ]);
  });
});

describe('decodeBatch() on damaged input', () => {
  it('should throw only LOGSTORE_CORRUPT on random bytes', () => {
    withDeadline(DEADLINE_MS, () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          check(Buffer.from(bytes));
        }),
        { numRuns: 500 },
      ),
    );
  });

  it('should throw only LOGSTORE_CORRUPT or stay in bounds on random records behind a valid header and CRC', () => {
    const header = encodeBatch(0, SMALL, NOW).subarray(0, HEADER_BYTES);
    withDeadline(DEADLINE_MS, () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 12 }), (tail, count) => {
          const buf = Buffer.concat([header, tail]);
          buf.writeInt32BE(count, RECORD_COUNT_AT);
          buf.writeInt32BE(Math.max(0, count - 1), LAST_OFFSET_DELTA_AT);
          check(fitBatch(buf));
        }),
        { numRuns: 1000 },
      ),
    );
  });

  for (const [name, records] of [
    ['small', SMALL],
    ['medium', MEDIUM],
  ] as const) {
    it(`should throw LOGSTORE_CORRUPT for every truncation of a ${name} batch`, () => {
      const full = encodeBatch(3, records, NOW);
      for (let length = 0; length < full.length; length++) {
        expectCode(() => decodeBatch(full.subarray(0, length)), 'LOGSTORE_CORRUPT');
      }
      expect(decodeBatch(full).records).to.have.length(records.length);
    });

    it(`should throw LOGSTORE_CORRUPT for every truncation of a ${name} batch with length and CRC fixed up`, () => {
      const full = encodeBatch(3, records, NOW);
      withDeadline(DEADLINE_MS, () => {
        for (let length = HEADER_BYTES; length < full.length; length++) {
          const buf = fitBatch(Buffer.from(full.subarray(0, length)));
          lastInput = buf;
          expectCode(() => decodeBatch(buf), 'LOGSTORE_CORRUPT');
        }
      });
    });
  }

  it('should throw LOGSTORE_CORRUPT for a flipped byte anywhere from the length on (CRC not fixed)', () => {
    const clean = encodeBatch(1000, SMALL, NOW);
    for (let at = LENGTH_AT; at < clean.length; at++) {
      if (at >= LEADER_EPOCH_AT && at < MAGIC_AT) continue; // not covered by the CRC: next test
      for (const mask of [0x01, 0x80, 0xff]) {
        const buf = Buffer.from(clean);
        buf[at]! ^= mask;
        expectCode(() => decodeBatch(buf), 'LOGSTORE_CORRUPT');
      }
    }
  });

  it('should decode the same records with a flipped partition leader epoch or base offset byte', () => {
    const clean = encodeBatch(1000, SMALL, NOW);
    for (let at = 0; at < MAGIC_AT; at++) {
      if (at >= LENGTH_AT && at < LEADER_EPOCH_AT) continue;
      for (const mask of [0x01, 0x80, 0xff]) {
        const buf = Buffer.from(clean);
        buf[at]! ^= mask;
        const batch = check(buf);
        if (at < LENGTH_AT && batch === undefined) continue; // a negative or unsafe base offset
        expect(batch, `flip ${mask} at ${at}`).to.not.equal(undefined);
        expect(batch!.records).to.deep.equal(expectedRecords(SMALL, batch!.baseOffset, NOW));
      }
    }
  });

  /** `check` of every single bit flipped behind the header's CRC (fixed after the flip). */
  function checkEveryBitFlip(): void {
    const clean = encodeBatch(1000, MEDIUM, NOW);
    for (let at = ATTRIBUTES_AT; at < clean.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const buf = Buffer.from(clean);
        buf[at]! ^= 1 << bit;
        check(fixCrc(buf));
      }
    }
  }

  /** `check` of batches whose lengths, counts and varints were mutated (CRC and length fixed). */
  function checkMutations(parameters: fc.Parameters<[AppendRecord[], Mutations]>): void {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 4 }), mutationsArb, (records, mutations) => {
        check(...mutate(encodeBatch(17, records, NOW), mutations));
      }),
      parameters,
    );
  }

  it('should throw only LOGSTORE_CORRUPT or stay in bounds for every bit flipped behind a fixed CRC', () => {
    withDeadline(DEADLINE_MS, checkEveryBitFlip);
  });

  it('should throw only LOGSTORE_CORRUPT or stay in bounds for mutated lengths, counts and varints behind a fixed CRC (property)', () => {
    withDeadline(DEADLINE_MS, () => checkMutations({ numRuns: 2500 }));
  });

  it('should decode damaged batches as the reference reading does: the same records, or the first check that fails', () => {
    compared.records = 0;
    compared.errors = 0;
    compared.checks.clear();
    withDeadline(DEADLINE_MS, () => {
      checkEveryBitFlip();
      checkMutations({ numRuns: 1000, seed: 15 });
    });
    // Both outcomes were compared many times (a reference that refused everything would fail here).
    expect(compared.errors).to.be.greaterThan(500);
    expect(compared.records).to.be.greaterThan(500);
    // Every check the native scanner reports by number met its message at least once.
    expect([...compared.checks].sort()).to.deep.equal([
      'bad header count',
      'bad header key length',
      'bad header value length',
      'bad key length',
      'bad offset delta',
      'bad record length',
      'bad timestamp delta',
      'bad value length',
      'bytes after',
      'record length does not match its fields',
    ]);
  });

  it('should not allocate for a key length that claims 2 GiB', () => {
    const clean = encodeBatch(0, SMALL, NOW);
    const key = recordFields(clean).find((f) => f.kind === 'keyLength')!;
    const buf = fitBatch(splice(clean, key.pos, key.size, varint(2 ** 31 - 1)));
    const before = process.memoryUsage().arrayBuffers;
    expectCode(() => decodeBatch(buf), 'LOGSTORE_CORRUPT');
    expect(process.memoryUsage().arrayBuffers - before).to.be.below(1 << 20);
  });

  it('should refuse a record count that leaves records unread (Kafka: "Incorrect declared batch size")', () => {
    const buf = encodeBatch(0, SMALL, NOW);
    buf.writeInt32BE(SMALL.length - 1, RECORD_COUNT_AT);
    buf.writeInt32BE(SMALL.length - 2, LAST_OFFSET_DELTA_AT);
    expectCode(() => decodeBatch(fixCrc(buf)), 'LOGSTORE_CORRUPT');
  });

  for (const [name, deltas] of [
    ['beyond the last offset delta', [0, 2, 3]],
    ['beyond 2^31', [0, 1, 2 ** 31]],
    ['beyond exact integers', [0, 1, 2 ** 53 - 1]],
    ['repeated', [0, 1, 1]],
    ['going backwards', [0, 2, 1]],
  ] as const) {
    it(`should refuse records whose offset deltas are ${name} (${deltas.join(', ')})`, () => {
      const clean = encodeBatch(17, SMALL, NOW);
      const fields = recordFields(clean);
      let buf = clean;
      for (let record = SMALL.length - 1; record >= 0; record--) {
        const offset = fields.find((f) => f.kind === 'offsetDelta' && f.record === record)!;
        const length = fields.find((f) => f.kind === 'recordLength' && f.record === record)!;
        const bytes = varint(deltas[record]!);
        buf = splice(buf, offset.pos, offset.size, bytes);
        buf = splice(buf, length.pos, length.size, varint(length.value + bytes.length - offset.size));
      }
      expectCode(() => decodeBatch(fitBatch(buf)), 'LOGSTORE_CORRUPT');
    });
  }

  it('should refuse a record count larger than the records present', () => {
    const buf = encodeBatch(0, SMALL, NOW);
    buf.writeInt32BE(SMALL.length + 1, RECORD_COUNT_AT);
    expectCode(() => decodeBatch(fixCrc(buf)), 'LOGSTORE_CORRUPT');
  });

  it('should refuse compressed batches with LOGSTORE_CORRUPT, not decode their bytes as records', () => {
    for (const codec of [1, 2, 3, 4, 7]) {
      const buf = encodeBatch(0, SMALL, NOW);
      buf.writeInt16BE(codec, ATTRIBUTES_AT);
      expectCode(() => decodeBatch(fixCrc(buf)), 'LOGSTORE_CORRUPT');
    }
  });
});

// ---- mutations of valid batches ----

/** Values a mutated varint takes: the edges of every check the parser makes, and random ones. */
const varintValueArb: fc.Arbitrary<number | bigint> = fc.oneof(
  fc.constantFrom(-2, -1, 0, 1, 2, 6, 7, 63, 64, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1),
  fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n)),
  fc.integer({ min: -300, max: 300 }),
  fc.integer(),
);

type Mutation =
  | { op: 'varint'; field: number; value: number | bigint }
  | { op: 'delta'; field: number; delta: number } // original value +- a little
  | { op: 'overlong'; field: number; pad: number } // same value, non-minimal encoding
  | { op: 'count'; value: number }
  | { op: 'lastOffsetDelta'; value: number }
  | { op: 'attributes'; value: number }
  | { op: 'byte'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number };

interface Mutations {
  /** At most two varints of the original record area, rewritten back to front. */
  fields: Mutation[];
  /**
   * Rewrite only the first of `fields` and fix its record's length varint to match, so that the
   * record still parses and the new value itself (an offset or timestamp delta, a key length) is
   * what the decoder has to judge.
   */
  keepRecordLength: boolean;
  /** Header fields and raw byte surgery, applied after. */
  others: Mutation[];
  /** Adjusts the declared length after the CRC is fixed (0: leave it consistent). */
  lengthDelta: number;
  prefix: number;
  suffix: number;
}

const fieldIndex = fc.nat({ max: 1000 });
const smallInt32 = fc.oneof(
  fc.integer({ min: -3, max: 20 }),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
const fieldMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('varint' as const), field: fieldIndex, value: varintValueArb }),
  fc.record({ op: fc.constant('delta' as const), field: fieldIndex, delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ op: fc.constant('overlong' as const), field: fieldIndex, pad: fc.integer({ min: 1, max: 6 }) }),
);
const otherMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('count' as const), value: smallInt32 }),
  fc.record({ op: fc.constant('lastOffsetDelta' as const), value: smallInt32 }),
  fc.record({ op: fc.constant('attributes' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ op: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);
const mutationsArb: fc.Arbitrary<Mutations> = fc.record({
  fields: fc.array(fieldMutationArb, { minLength: 0, maxLength: 2 }),
  keepRecordLength: fc.boolean(),
  others: fc.array(otherMutationArb, { maxLength: 2 }),
  lengthDelta: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -60, max: 4 }) },
  ),
  prefix: fc.integer({ min: 0, max: 3 }),
  suffix: fc.integer({ min: 0, max: 3 }),
});

/** A varint of `value` padded to `pad` extra bytes with zero-valued continuation groups. */
function overlong(value: number, pad: number): Buffer {
  const bytes = [...varint(value)];
  bytes[bytes.length - 1]! |= 0x80;
  for (let i = 1; i < pad; i++) bytes.push(0x80);
  bytes.push(0x00);
  return Buffer.from(bytes);
}

/** Applies `m` to a valid batch; returns the buffer and the position of the batch in it. */
function mutate(valid: Buffer, m: Mutations): [Buffer, number] {
  const fields = recordFields(valid);
  const chosen = m.fields
    .slice(0, m.keepRecordLength ? 1 : 2)
    .map((f) => ({ f, field: fields[(f as { field: number }).field % fields.length]! }))
    .sort((a, b) => b.field.pos - a.field.pos)
    .filter((c, i, all) => i === 0 || c.field.pos !== all[i - 1]!.field.pos);
  let buf = valid;
  for (const { f, field } of chosen) {
    const bytes =
      f.op === 'varint'
        ? varint(f.value)
        : f.op === 'delta'
          ? varint(field.value + f.delta)
          : overlong(field.value, (f as { pad: number }).pad);
    buf = splice(buf, field.pos, field.size, bytes);
    const length = fields.find((l) => l.kind === 'recordLength' && l.record === field.record)!;
    if (m.keepRecordLength && length !== field) {
      // The length varint comes before the field, so the field's splice did not move it.
      buf = splice(buf, length.pos, length.size, varint(length.value + bytes.length - field.size));
    }
  }
  buf = Buffer.from(buf);
  for (const o of m.others) {
    const area = Math.max(1, buf.length - HEADER_BYTES);
    if (o.op === 'count') buf.writeInt32BE(o.value, RECORD_COUNT_AT);
    else if (o.op === 'lastOffsetDelta') buf.writeInt32BE(o.value, LAST_OFFSET_DELTA_AT);
    else if (o.op === 'attributes') buf.writeUInt16BE(o.value, ATTRIBUTES_AT);
    else if (o.op === 'byte' && buf.length > HEADER_BYTES) buf[HEADER_BYTES + (o.at % area)] = o.value;
    else if (o.op === 'insert') buf = splice(buf, HEADER_BYTES + (o.at % (area + 1)), 0, o.bytes);
    else if (o.op === 'delete') buf = splice(buf, HEADER_BYTES + (o.at % area), o.n, new Uint8Array(0));
  }
  buf = Buffer.concat([Buffer.alloc(m.prefix, 0x5a), fitBatch(buf), Buffer.alloc(m.suffix, 0xa5)]);
  if (m.lengthDelta !== 0) {
    buf.writeInt32BE(buf.readInt32BE(m.prefix + LENGTH_AT) + m.lengthDelta, m.prefix + LENGTH_AT);
    fixCrc(buf, m.prefix);
  }
  return [buf, m.prefix];
}
