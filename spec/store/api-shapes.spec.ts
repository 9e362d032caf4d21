import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const DEFAULT_SETTINGS = {
  retentionMs: -1,
  retentionBytes: -1,
  segmentBytes: 128 * 1024 * 1024,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 86_400_000,
  maxRecordBytes: 1_048_588,
  retainForGroups: false,
  compressionType: 'producer',
};

describe('LogStore shapes and refusals', () => {
  after(removeTempDirs);

  describe('topics() and describeTopic()', () => {
    it("should give the count as partitionCount only and the partitions as kafkajs's per-partition list", async () => {
      const store = LogStore.open(tempDir());
      const before = Date.now();
      store.createTopic('orders', { partitions: 3, retentionMs: 60_000 });
      store.append('orders', [{ value: 'a' }, { value: 'b' }], { partition: 1 });
      const config = { ...DEFAULT_SETTINGS, retentionMs: 60_000 };
      const [listed] = store.topics();
      expect(listed!.createdAt).to.be.within(before, Date.now());
      expect(listed).to.deep.equal({
        name: 'orders',
        partitionCount: 3,
        config,
        createdAt: listed!.createdAt,
      });
      const d = store.describeTopic('orders');
      const bytes = d.partitions[1]!.bytes;
      expect(bytes).to.be.greaterThan(0);
      expect(d).to.deep.equal({
        ...listed,
        partitions: [
          { partition: 0, startOffset: 0, endOffset: 0, bytes: 0, segments: 1 },
          { partition: 1, startOffset: 0, endOffset: 2, bytes, segments: 1 },
          { partition: 2, startOffset: 0, endOffset: 0, bytes: 0, segments: 1 },
        ],
      });
      await store.close();
    });
  });

  describe('append() record checks', () => {
    it('should refuse a misspelled append option with a did-you-mean, and write nothing', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('jobs', { partitions: 2 });
      const typo = expectCode(
        () => store.append('jobs', { value: 'x' }, { partiton: 1 } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(typo.message).to.equal(
        'Unknown append option `partiton`; did you mean `partition`? Known: partition, compression.',
      );
      expectCode(
        () => store.append('jobs', [{ value: 'x' }], { partition: 1, codec: 'gzip' } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(store.describeTopic('jobs').partitions.map((p) => p.endOffset)).to.deep.equal([0, 0]);
      expect(store.append('jobs', { value: 'x' }, { partition: 1, compression: 'none' })).to.deep.equal({
        partition: 1,
        baseOffset: 0,
        lastOffset: 0,
      });
      await store.close();
    });

    it('should refuse a record without a value, or with a misspelled field, and write nothing', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('jobs');
      const noValue = expectCode(
        () => store.append('jobs', { key: 'a' } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(noValue.message).to.include('`value`');
      const typo = expectCode(
        () => store.append('jobs', { key: 'a', vlaue: 'x' } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(typo.message).to.include('did you mean `value`?');
      expectCode(
        () => store.append('jobs', { value: 'x', heders: { h: '1' } } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expectCode(() => store.append('jobs', { value: undefined } as never), 'LOGSTORE_INVALID_ARGUMENT');
      // In a batch: the bad record refuses the whole call.
      expectCode(
        () => store.append('jobs', [{ value: 'ok' }, { value: 'ok' }, { key: 'k', valeu: 'x' } as never]),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(store.describeTopic('jobs').partitions[0]!.endOffset).to.equal(0);
      // A tombstone is an explicit null.
      expect(store.append('jobs', { key: 'a', value: null })).to.deep.equal({
        partition: 0,
        baseOffset: 0,
        lastOffset: 0,
      });
      expect(
        store
          .reader('jobs')
          .read()
          .map((r) => [r.key!.toString(), r.value]),
      ).to.deep.equal([['a', null]]);
      await store.close();
    });
  });

  describe('append() refusal messages', () => {
    it('should name the record and what is wrong with it, for each check, and write nothing', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('jobs');
      store.createTopic('latest', { cleanupPolicy: 'compact' });
      const inherited = Object.assign(Object.create({ extra: 1 }) as object, { value: 'x' });
      const refusals: [string, unknown, string][] = [
        ['jobs', null, 'Record 0 must be an object like { key, value, headers, timestamp }, got null.'],
        [
          'jobs',
          [{ value: 'a' }, 5],
          'Record 1 must be an object like { key, value, headers, timestamp }, got 5.',
        ],
        [
          'jobs',
          [{ value: 'a' }, { key: 'a' }],
          'Record 1 has no `value`: give the value (Buffer, Uint8Array or string), or value: null for a tombstone.',
        ],
        [
          'jobs',
          [{ value: 'a' }, { value: 'b', vlaue: 'x' }],
          'Unknown field in record 1: `vlaue`; did you mean `value`? Known: key, value, headers, timestamp, partition.',
        ],
        [
          'jobs',
          { value: 'x', zzz: 1 },
          'Unknown field in record 0: `zzz`. Known: key, value, headers, timestamp, partition.',
        ],
        [
          'jobs',
          inherited,
          'Unknown field in record 0: `extra`. Known: key, value, headers, timestamp, partition.',
        ],
        [
          'latest',
          [{ key: 'k', value: 'a' }, { value: 'b' }],
          'Record 1 has no key; a compacted topic keeps the latest record per key, so every record needs one.',
        ],
      ];
      for (const [topic, input, message] of refusals) {
        const err = expectCode(() => store.append(topic, input as never), 'LOGSTORE_INVALID_ARGUMENT');
        expect(err.message).to.equal(message);
      }
      expect(store.describeTopic('jobs').partitions[0]!.endOffset).to.equal(0);
      expect(store.describeTopic('latest').partitions[0]!.endOffset).to.equal(0);
      await store.close();
    });
  });

  describe('alterTopic()', () => {
    it('should refuse a change of the partition count with LOGSTORE_INVALID_ARGUMENT, and accept the same count', async () => {
      const store = LogStore.open(tempDir());
      store.createTopic('t', { partitions: 2 });
      const err = expectCode(
        () => store.alterTopic('t', { partitions: 4 } as never),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      expect(err.message).to.include('partition count').and.include('cannot change');
      expect(store.describeTopic('t').partitionCount).to.equal(2);
      expect(store.alterTopic('t', { partitions: 2, retentionMs: 5000 } as never)).to.include({
        partitionCount: 2,
      });
      expect(store.describeTopic('t').config.retentionMs).to.equal(5000);
      await store.close();
    });
  });

  describe('open()', () => {
    it('should refuse a store written by a newer logstore with LOGSTORE_VERSION, writer and reader alike', async () => {
      const dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('t');
      await store.close();
      const db = new Database(path.join(dir, 'catalog.sqlite'));
      const version = db.pragma('user_version', { simple: true }) as number;
      db.pragma(`user_version = ${version + 1}`);
      db.close();
      const writer = expectCode(() => LogStore.open(dir), 'LOGSTORE_VERSION');
      const reader = expectCode(() => LogStore.open(dir, { readOnly: true }), 'LOGSTORE_VERSION');
      for (const err of [writer, reader]) expect(err.message).to.include('newer logstore');
      // Refused before anything was written: the same open still fails the same way.
      expectCode(() => LogStore.open(dir), 'LOGSTORE_VERSION');
    });

    it('should refuse a regular file, or a path below one, as "not a directory"', () => {
      const file = path.join(tempDir(), 'file');
      fs.writeFileSync(file, 'x');
      for (const dir of [file, path.join(file, 'below')]) {
        for (const options of [{}, { readOnly: true }]) {
          const err = expectCode(() => LogStore.open(dir, options), 'LOGSTORE_INVALID_ARGUMENT');
          expect(err.message).to.include('is not a directory');
        }
      }
      expect(fs.readFileSync(file, 'utf8')).to.equal('x');
    });
  });
});
