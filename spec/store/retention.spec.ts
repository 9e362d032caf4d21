import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore, type LogRecord } from '../../lib/index.js';
import { LIB, runChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

/** Real blocks under a partition directory, in bytes. */
function diskBytes(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(dir)) total += fs.statSync(path.join(dir, f)).blocks * 512;
  return total;
}

const logFiles = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();

describe('Retention', () => {
  after(removeTempDirs);

  it('should delete the oldest closed segments past retentionBytes and free their blocks', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('t', { retentionBytes: 10_000 });
    store.createTopic('keep');
    const value = Buffer.alloc(200, 7);
    const reader = store.reader('t', { from: 0 });
    let early: LogRecord[] = [];
    // Each append is one ~270-byte batch: 15 per 4 KiB segment.
    for (let i = 0; i < 300; i++) {
      store.append('t', { value, timestamp: 1000 + i });
      store.append('keep', { value, timestamp: 1000 + i });
      if (i === 1) early = reader.read(2);
    }
    // Retention ran on every roll: what is left is retentionBytes, one segment of slack and the active one.
    expect(store.describeTopic('t').partitions[0]!.bytes).to.be.at.most(10_000 + 2 * 4096);
    store.cleanup('t');
    const d = store.describeTopic('t').partitions[0]!;
    expect(d.bytes).to.be.at.most(10_000 + 4096);
    expect(d.segments).to.equal(logFiles(path.join(dir, 't-0')).length);
    expect(d.segments).to.be.at.most(4);
    expect(d.startOffset).to.be.greaterThan(200);
    expect(d.endOffset).to.equal(300);
    expect(diskBytes(path.join(dir, 't-0'))).to.be.lessThan(diskBytes(path.join(dir, 'keep-0')) / 4);
    // Records read before the deletion stay valid; a reader below the start gets OUT_OF_RANGE.
    expect(early.map((r) => r.value!.equals(value))).to.deep.equal([true, true]);
    expectCode(() => reader.read(), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
    expectCode(() => store.reader('t', { from: 0 }), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
    expect(early.length).to.equal(2);
    const first = store.reader('t').read(1)[0]!;
    expect(first.offset).to.equal(d.startOffset);
    // cleanup() now finds nothing more to do.
    expect(store.cleanup('t')).to.deep.equal({ deletedSegments: 0, compactedSegments: 0, bytesFreed: 0 });
    await store.close();
    const again = LogStore.open(dir);
    expect(again.describeTopic('t').partitions[0]).to.deep.equal(d);
    await again.close();
  });

  it('should delete segments older than retentionMs on cleanup(), never the active one', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('t', { retentionMs: 60_000 });
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 100; i++) store.append('t', { value: Buffer.alloc(200), timestamp: old + i });
    const before = store.describeTopic('t').partitions[0]!;
    const result = store.cleanup('t');
    expect(result.deletedSegments).to.equal(before.segments - 1);
    expect(result.compactedSegments).to.equal(0);
    expect(result.bytesFreed).to.be.at.least(4096 * (before.segments - 1));
    const after = store.describeTopic('t').partitions[0]!;
    expect(after.segments).to.equal(1);
    expect(after.endOffset).to.equal(100);
    expect(
      store
        .reader('t')
        .read(1000)
        .map((r) => r.offset),
    ).to.deep.equal(Array.from({ length: 100 - after.startOffset }, (_, i) => after.startOffset + i));
    await store.close();
  });

  it('should let a consumer follow its reset policy when retention passed its position', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('t');
    const c = store.consumer('t', { group: 'g', autoCommit: false });
    const old = Date.now() - 100_000;
    for (let i = 0; i < 60; i++) store.append('t', { value: Buffer.alloc(200), timestamp: old });
    expect(c.read(1)[0]!.offset).to.equal(0);
    c.commit();
    store.alterTopic('t', { retentionMs: 1000 });
    store.cleanup('t');
    const start = store.describeTopic('t').partitions[0]!.startOffset;
    expect(start).to.be.greaterThan(1);
    expect(c.read(1)[0]!.offset).to.equal(start);
    await store.close();
  });

  it('should keep segments a group has not committed past with retainForGroups, up to retentionBytes', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('t', { retentionMs: 1000, retentionBytes: 40_000, retainForGroups: true });
    const c = store.consumer('t', { group: 'slow', autoCommit: false });
    const old = Date.now() - 100_000;
    for (let i = 0; i < 60; i++) store.append('t', { value: Buffer.alloc(200), timestamp: old });
    c.commit(c.read(30)[29]!); // committed 30
    store.cleanup('t');
    const d = store.describeTopic('t').partitions[0]!;
    expect(d.startOffset).to.be.at.most(30);
    expect(d.startOffset).to.be.greaterThan(0);
    // The hard cap still applies: past retentionBytes, segments go even if unread.
    for (let i = 0; i < 300; i++) store.append('t', { value: Buffer.alloc(200), timestamp: old });
    store.cleanup('t');
    expect(store.describeTopic('t').partitions[0]!.bytes).to.be.at.most(40_000 + 4096);
    expect(store.describeTopic('t').partitions[0]!.startOffset).to.be.greaterThan(30);
    await store.close();
  });

  it('should let retention pass a group once the group is deleted', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('t', { retentionMs: 1000, retainForGroups: true });
    const c = store.consumer('t', { group: 'gone', autoCommit: false });
    const old = Date.now() - 100_000;
    for (let i = 0; i < 60; i++) store.append('t', { value: Buffer.alloc(200), timestamp: old });
    c.commit(c.read(10)[9]!); // committed 10
    await c.close();
    store.cleanup('t');
    expect(store.describeTopic('t').partitions[0]!.startOffset).to.be.at.most(10);
    expect(store.deleteGroup('gone')).to.equal(true);
    store.cleanup('t');
    const d = store.describeTopic('t').partitions[0]!;
    // Every closed segment is past retentionMs: only the active one is left.
    expect(d.segments).to.equal(1);
    expect(d.startOffset).to.be.greaterThan(10);
    await store.close();
  });
});

describe('Compaction', () => {
  after(removeTempDirs);

  it('should keep exactly the latest record per key with its original offset', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact' });
    const latest = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const key = `k${(i * 7) % 23}`;
      store.append('c', { key, value: `${key}=${i}`.padEnd(80, '.'), timestamp: 1000 + i });
      latest.set(key, i);
    }
    const before = store.describeTopic('c').partitions[0]!;
    const result = store.cleanup('c');
    expect(result.compactedSegments).to.be.greaterThan(0);
    expect(result.deletedSegments).to.equal(0);
    const after = store.describeTopic('c').partitions[0]!;
    expect(after.endOffset).to.equal(400);
    expect(after.bytes).to.be.lessThan(before.bytes / 3);
    const check = (s: LogStore) => {
      const records = [...s.reader('c')];
      const active = s.describeTopic('c').partitions[0]!;
      void active;
      const seen = new Map<string, number>();
      for (const r of records) {
        expect(r.value!.toString()).to.equal(`${r.key!.toString()}=${r.offset}`.padEnd(80, '.'));
        expect(r.timestamp).to.equal(1000 + r.offset);
        seen.set(r.key!.toString(), r.offset);
      }
      expect(Object.fromEntries(seen)).to.deep.equal(Object.fromEntries(latest));
      // Only the latest per key survives in closed segments; the active segment is untouched.
      const perKey = new Map<string, number>();
      for (const r of records) perKey.set(r.key!.toString(), (perKey.get(r.key!.toString()) ?? 0) + 1);
      return records.length;
    };
    const count = check(store);
    expect(count).to.be.lessThan(400);
    // Reading from an offset inside a gap lands on the next surviving record.
    const r = store.reader('c', { from: 5 });
    expect(r.read(1)[0]!.offset).to.be.greaterThan(5);
    await store.close();
    const again = LogStore.open(dir);
    expect(check(again)).to.equal(count);
    await again.close();
  });

  it('should remove a tombstoned key after deleteRetentionMs, and keep the tombstone before', async () => {
    const store = LogStore.open(tempDir(), { segmentBytes: 4096, cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', deleteRetentionMs: 60_000 });
    const now = Date.now();
    store.append('c', { key: 'gone', value: 'v1', timestamp: now - 600_000 });
    store.append('c', { key: 'gone', value: null, timestamp: now - 600_000 }); // old tombstone
    store.append('c', { key: 'fresh', value: 'v1', timestamp: now });
    store.append('c', { key: 'fresh', value: null, timestamp: now }); // recent tombstone
    for (let i = 0; i < 60; i++)
      store.append('c', { key: `filler${i}`, value: Buffer.alloc(200), timestamp: now });
    store.cleanup('c');
    const byKey = new Map<string, (string | null)[]>();
    for (const r of store.reader('c')) {
      const k = r.key!.toString();
      byKey.set(k, [...(byKey.get(k) ?? []), r.value === null ? null : r.value.toString()]);
    }
    expect(byKey.has('gone')).to.equal(false);
    expect(byKey.get('fresh')).to.deep.equal([null]);
    await store.close();
  });

  it('should refuse records without a key on a compacted topic', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('c', { cleanupPolicy: 'compact' });
    expectCode(() => store.append('c', { value: 'x' }), 'LOGSTORE_INVALID_ARGUMENT');
    await store.close();
  });

  for (const point of ['compact:after-write', 'compact:after-swap']) {
    it(`should reopen consistent after a SIGKILL at ${point}`, async () => {
      const dir = tempDir();
      const { signal } = await runChild(
        `
        import { LogStore } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)}, { segmentBytes: 4096, cleanupIntervalMs: 0 });
        store.createTopic('c', { cleanupPolicy: 'compact' });
        for (let i = 0; i < 300; i++) store.append('c', { key: 'k' + (i % 10), value: 'v' + i, timestamp: 1000 + i });
        await store.flush();
        store.cleanup('c');
        console.log('survived');
      `,
        { LOGSTORE_CRASH_AT: point },
      );
      expect(signal).to.equal('SIGKILL');
      const store = LogStore.open(dir);
      const records = [...store.reader('c')];
      const last = new Map<string, string>();
      for (const r of records) last.set(r.key!.toString(), r.value!.toString());
      // Whether old or new segments won, every key's latest value is there exactly.
      expect(Object.fromEntries(last)).to.deep.equal(
        Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`k${k}`, `v${290 + k}`])),
      );
      const offsets = records.map((r) => r.offset);
      expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
      expect(new Set(offsets).size).to.equal(offsets.length);
      if (point === 'compact:after-swap') expect(records.length).to.be.lessThan(300);
      else expect(records.length).to.equal(300);
      expect(fs.readdirSync(path.join(dir, 'c-0')).filter((f) => f.endsWith('.cleaned'))).to.deep.equal([]);
      // And compaction completes on the reopened store.
      store.cleanup('c');
      expect([...store.reader('c')].length).to.be.lessThan(300);
      await store.close();
    });
  }
});

describe('Topic lifecycle', () => {
  after(removeTempDirs);

  it('should delete a topic, its files and its group offsets', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 2 });
    store.append('t', { key: 'a', value: 'b' });
    const c = store.consumer('t', { group: 'g' });
    c.read();
    c.commit();
    const reader = store.reader('t');
    store.deleteTopic('t');
    expect(store.topics()).to.deep.equal([]);
    expect(fs.existsSync(path.join(dir, 't-0'))).to.equal(false);
    expect(store.groups()).to.deep.equal([]);
    expectCode(() => reader.read(), 'LOGSTORE_CLOSED');
    expectCode(() => store.deleteTopic('t'), 'LOGSTORE_TOPIC_NOT_FOUND');
    store.createTopic('t');
    expect(store.describeTopic('t').partitions[0]!.endOffset).to.equal(0);
    await store.close();
  });

  it('should reopen consistent after a SIGKILL during deleteTopic', async () => {
    const dir = tempDir();
    const { signal } = await runChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(dir)});
      store.createTopic('gone', { partitions: 3 });
      store.createTopic('kept');
      store.append('gone', { key: 'a', value: 'b' });
      store.append('kept', { value: 'stays' });
      store.deleteTopic('gone');
    `,
      { LOGSTORE_CRASH_AT: 'delete-topic:after-catalog' },
    );
    expect(signal).to.equal('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'gone-0'))).to.equal(true); // killed before the files went
    const store = LogStore.open(dir);
    expect(store.topics().map((t) => t.name)).to.deep.equal(['kept']);
    expect(fs.existsSync(path.join(dir, 'gone-0'))).to.equal(false);
    expect([...store.reader('kept')].map((r) => r.value!.toString())).to.deep.equal(['stays']);
    await store.close();
  });

  it('should alter retention and compaction settings and refuse a partition change', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    const altered = store.alterTopic('t', { retentionMs: 5000, maxRecordBytes: 10 });
    expect(altered.config.retentionMs).to.equal(5000);
    expectCode(() => store.append('t', { value: 'x'.repeat(20) }), 'LOGSTORE_RECORD_TOO_LARGE');
    expectCode(() => store.alterTopic('t', { partitions: 3 } as never), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(() => store.alterTopic('t', { retentionMs: 'soon' } as never), 'LOGSTORE_INVALID_ARGUMENT');
    await store.close();
    const again = LogStore.open(dir);
    expect(again.describeTopic('t').config).to.include({ retentionMs: 5000, maxRecordBytes: 10 });
    await again.close();
  });
});
