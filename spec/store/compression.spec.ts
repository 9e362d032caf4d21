/**
 * Compressed batches, end to end: a topic's compressionType (or an append's `compression`) picks
 * the codec; stored batches name it in their attributes; kafka-python's and kafkajs's batch
 * decoders read them; logstore reads them after reopen, compaction and recovery.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { LogStore, type AppendRecord, type LogRecord } from '../../lib/index.js';
import { COMPRESSION_NAMES } from '../../lib/format/codecs.js';
import { kafkajsCodecs, kafkajsMissing } from '../format/codec-peers.js';
import { kafkaDecodeBatch } from '../format/kafkajs.js';
import { kafkaPythonDecode, kafkaPythonMissing } from '../helpers/kafka-python.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const require = createRequire(import.meta.url);
const { CompressionCodecs, CompressionTypes } = require('kafkajs') as {
  CompressionCodecs: Record<number, unknown>;
  CompressionTypes: Record<string, number>;
};
for (const [name, codec] of Object.entries(kafkajsCodecs)) {
  const type = { gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy, lz4: CompressionTypes.LZ4 }[
    name
  ];
  if (type !== undefined && name !== 'gzip') CompressionCodecs[type] = () => codec;
}

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;

/** Records with keys, repeated and null headers, and timestamps (compressible values). */
function records(from: number, count: number): AppendRecord[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return {
      key: `key-${i % 7}`,
      value: `value ${i} `.repeat(20),
      timestamp: 1_700_000_000_000 + i,
      headers: [
        ['trace', `t${i}`],
        ['trace', null],
        ['2', 'number-like key'],
      ],
    };
  });
}

/** What a record of `records()` reads back as, in logstore's shape. */
function expected(
  rec: AppendRecord,
  offset: number,
): Pick<LogRecord, 'offset' | 'timestamp'> & {
  key: string;
  value: string;
  headerList: [string, string | null][];
} {
  return {
    offset,
    timestamp: rec.timestamp!,
    key: rec.key as string,
    value: rec.value as string,
    headerList: (rec.headers as [string, string | null][]).map(([k, v]) => [k, v]),
  };
}

function view(r: LogRecord) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key!.toString(),
    value: r.value!.toString(),
    headerList: r.headerList.map(
      ([k, v]) => [k, v === null ? null : v.toString()] as [string, string | null],
    ),
  };
}

/** The batch bytes of a partition's segment files (each file up to its zeros), oldest first. */
function segmentData(dir: string, topic: string): Buffer[] {
  const partition = path.join(dir, `${topic}-0`);
  return fs
    .readdirSync(partition)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => {
      const buf = fs.readFileSync(path.join(partition, f));
      let end = 0;
      while (end + 12 <= buf.length && buf.readInt32BE(end + 8) !== 0) end += 12 + buf.readInt32BE(end + 8);
      return buf.subarray(0, end);
    });
}

function codecsOf(data: Buffer[]): number[] {
  const codecs: number[] = [];
  for (const buf of data) {
    for (let pos = 0; pos < buf.length; pos += 12 + buf.readInt32BE(pos + 8)) codecs.push(buf[pos + 22]! & 7);
  }
  return codecs;
}

describe('Compression', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  for (const codec of CODECS) {
    describe(codec, () => {
      const id = COMPRESSION_NAMES.indexOf(codec);

      it(`should store ${codec} batches that name the codec, smaller than plain ones, and read them back`, async () => {
        const dir = tempDir();
        const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
        store.createTopic('z', { compressionType: codec });
        store.createTopic('plain');
        const input = records(0, 60);
        for (let i = 0; i < 60; i += 20) {
          store.append('z', input.slice(i, i + 20));
          store.append('plain', input.slice(i, i + 20));
        }
        const want = input.map((r, i) => expected(r, i));
        expect([...store.reader('z')].map(view)).to.deep.equal(want);
        await store.close();
        expect(codecsOf(segmentData(dir, 'z'))).to.deep.equal([id, id, id]);
        expect(segmentData(dir, 'z')[0]!.length).to.be.below(segmentData(dir, 'plain')[0]!.length / 3);
        const again = LogStore.open(dir);
        expect([...again.reader('z')].map(view)).to.deep.equal(want);
        await again.close();
      });

      it(`should store ${codec} batches kafka-python's batch reader decodes exactly (CRC valid)`, async function () {
        const missing = kafkaPythonMissing(codec);
        if (missing) {
          console.log(`      skipped: ${missing}`);
          this.skip();
        }
        const dir = tempDir();
        const store = LogStore.open(dir);
        store.createTopic('z');
        const input = records(0, 30);
        store.append('z', input.slice(0, 10), { compression: codec });
        store.append('z', input.slice(10), { compression: codec });
        await store.close();
        const [batches] = kafkaPythonDecode(segmentData(dir, 'z'));
        expect(batches!.map((b) => [b.baseOffset, b.codec, b.crcValid])).to.deep.equal([
          [0, id, true],
          [10, id, true],
        ]);
        const decoded = batches!.flatMap((b) => b.records);
        expect(
          decoded.map((r) => ({
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key!.toString(),
            value: r.value!.toString(),
            headerList: r.headers.map(([k, v]) => [k, v === null ? null : v.toString()]),
          })),
        ).to.deep.equal(input.map((r, i) => expected(r, i)));
      });

      it(`should store ${codec} batches kafkajs's batch decoder (with its codec plug-in) decodes`, async function () {
        const missing = kafkajsMissing[codec];
        if (missing) {
          console.log(`      skipped: ${missing}`);
          this.skip();
        }
        const dir = tempDir();
        const store = LogStore.open(dir);
        store.createTopic('z', { compressionType: codec });
        const input = records(0, 12);
        store.append('z', input);
        await store.close();
        const batch = await kafkaDecodeBatch(segmentData(dir, 'z')[0]!);
        expect(
          batch.records.map((r) => [r.offset, r.key!.toString(), r.value!.toString(), r.headers.trace]),
        ).to.deep.equal(input.map((r, i) => [String(i), r.key, r.value, [Buffer.from(`t${i}`), null]]));
      });

      it(`should keep ${codec} batches (and every header) through compaction and recovery`, async () => {
        const dir = tempDir();
        let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
        store.createTopic('c', { cleanupPolicy: 'compact', compressionType: codec, segmentBytes: 4096 });
        const input = records(0, 140);
        for (let i = 0; i < 140; i += 7) store.append('c', input.slice(i, i + 7));
        expect(store.cleanup('c').compactedSegments).to.be.greaterThan(0);
        const compacted = [...store.reader('c')].map(view);
        // The latest record of each of the 7 keys survives, exactly.
        const latest = compacted.filter((r) => r.offset >= 133);
        expect(latest).to.deep.equal(input.slice(133).map((r, i) => expected(r, 133 + i)));
        await store.close();
        expect(new Set(codecsOf(segmentData(dir, 'c')))).to.deep.equal(new Set([id]));
        // An unclean stop: the next open verifies every batch from the start.
        const db = new Database(path.join(dir, 'catalog.sqlite'));
        db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
        db.prepare(
          'UPDATE partitions SET recovery_segment = 0, recovery_position = 0, recovery_offset = 0',
        ).run();
        db.close();
        store = LogStore.open(dir);
        expect(store.recovery.truncated).to.deep.equal([]);
        expect([...store.reader('c')].map(view)).to.deep.equal(compacted);
        await store.close();
      });
    });
  }

  it("should append uncompressed on a 'producer' topic unless the append names a codec", async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('p');
    store.append('p', records(0, 5));
    store.append('p', records(5, 5), { compression: 'zstd' });
    store.append('p', records(10, 5), { compression: 'none' });
    await store.close();
    expect(codecsOf(segmentData(dir, 'p'))).to.deep.equal([0, 4, 0]);
  });

  it('should refuse an unknown codec in an append or a topic config', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('p');
    expectCode(
      () => store.append('p', { value: 'x' }, { compression: 'brotli' as 'gzip' }),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expectCode(
      () => store.createTopic('q', { compressionType: 'lzma' as 'lz4' }),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    await store.close();
  });
});
