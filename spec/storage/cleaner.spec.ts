/**
 * The cleaner: retention picks whole closed segments, compaction keeps the latest record per key
 * with offsets preserved, and neither ever turns damaged bytes into valid ones.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, type LogRecord, type LogStoreError } from '../../lib/index.js';
import { verifyStore } from '../../lib/inspect/index.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const SEGMENT_BYTES = 4096;

function drain(store: LogStore, topic: string): LogRecord[] {
  return [...store.reader(topic)];
}

/** Offsets of the first record whose value has `needle`, in the file (for a precise flip). */
function positionOf(file: string, needle: string): number {
  const at = fs.readFileSync(file).indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in ${file}`);
  return at;
}

describe('Cleaner: compaction', () => {
  after(removeTempDirs);

  it('should keep the latest record per key in closed segments, offsets preserved', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 120; i++) store.append('c', { key: `k${i % 3}`, value: `v${i}`.padEnd(40, '.') });
    const segments = store.describeTopic('c').partitions[0]!.segments;
    expect(segments).to.be.at.least(3);
    const result = store.cleanup('c');
    expect(result.compactedSegments).to.equal(segments - 1);
    const records = drain(store, 'c');
    const active = records.filter((r) => r.offset >= 120 - 3 * 40); // never rewritten
    expect(
      records.slice(0, records.length - active.length).map((r) => r.key!.toString()),
    ).to.have.length.at.most(3);
    const last = new Map(records.map((r) => [r.key!.toString(), r]));
    expect([...last.values()].map((r) => [r.offset, r.value!.toString().trim()])).to.deep.include.members([
      [117, 'v117'.padEnd(40, '.')],
      [118, 'v118'.padEnd(40, '.')],
      [119, 'v119'.padEnd(40, '.')],
    ]);
    await store.close();
  });

  // The case that once laundered damage: compaction decoded a batch without its CRC check and
  // wrote the damaged record into a new batch with a fresh CRC; reads then returned it as valid.
  it('should refuse a damaged batch with LOGSTORE_CORRUPT, leave the segment as it was, and never return the damaged value', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 100; i++)
      store.append('c', { key: `k${i % 4}`, value: `value-${String(i).padStart(3, '0')}` });
    await store.close();
    const file = path.join(dir, 'c-0', '00000000000000000000.log');
    const at = positionOf(file, 'value-001');
    const bytes = fs.readFileSync(file);
    bytes[at + 8]! ^= 0x01; // 'value-001' -> 'value-000': a disk error inside a record value
    fs.writeFileSync(file, bytes);
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    const err = expectCode(() => store.cleanup('c'), 'LOGSTORE_CORRUPT') as LogStoreError;
    expect(err.details.file).to.equal(file);
    expect(err.details.kind).to.equal('bad-crc');
    expect(fs.readFileSync(file).equals(bytes)).to.equal(true);
    expect(fs.readdirSync(path.join(dir, 'c-0')).filter((f) => f.endsWith('.cleaned'))).to.deep.equal([]);
    expectCode(() => drain(store, 'c'), 'LOGSTORE_CORRUPT');
    await store.close();
    const verify = await verifyStore(dir);
    expect(verify.findings.map((f) => [f.severity, f.file, f.kind])).to.deep.equal([
      ['damage', file, 'bad-crc'],
    ]);
  });

  it('should still compact the other partitions when one is damaged, then report the damage', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('c', { partitions: 2, cleanupPolicy: 'compact', segmentBytes: SEGMENT_BYTES });
    for (let i = 0; i < 200; i++)
      store.append('c', { key: `k${i % 4}`, value: `value-${String(i).padStart(3, '0')}`, partition: i % 2 });
    await store.close();
    const file = path.join(dir, 'c-0', '00000000000000000000.log');
    const bytes = fs.readFileSync(file);
    bytes[positionOf(file, 'value-000') + 8]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    expectCode(() => store.cleanup('c'), 'LOGSTORE_CORRUPT');
    const survivors = [...store.reader('c', { partition: 1 })];
    expect(survivors.length).to.be.below(100); // partition 1 was compacted
    expect(survivors.slice(-2).map((r) => r.value!.toString())).to.deep.equal(['value-197', 'value-199']);
    await store.close();
  });
});

describe('Cleaner: retention', () => {
  after(removeTempDirs);

  it('should delete whole closed segments over retentionBytes, oldest first, never the active one', async () => {
    const store = LogStore.open(tempDir(), { cleanupIntervalMs: 0 });
    store.createTopic('t', { segmentBytes: SEGMENT_BYTES, retentionBytes: 2 * SEGMENT_BYTES });
    for (let i = 0; i < 200; i++) store.append('t', { value: Buffer.alloc(100, i), timestamp: 1 });
    const before = store.describeTopic('t').partitions[0]!;
    store.cleanup('t');
    const after = store.describeTopic('t').partitions[0]!;
    expect(after.bytes).to.be.below(3 * SEGMENT_BYTES);
    expect(after.endOffset).to.equal(before.endOffset);
    expect(after.startOffset).to.be.above(0);
    expect(drain(store, 't').map((r) => r.offset)).to.deep.equal(
      Array.from({ length: 200 - after.startOffset }, (_, i) => after.startOffset + i),
    );
    await store.close();
  });
});
