/**
 * The mirror_positions table (catalog schema 5) and MirrorPositions: migration from schema 4,
 * replacing a `to` position, write-ahead rows of a `from` link, trimming, forgetting a link's
 * topics, and the rows going with a deleted topic.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { MirrorPositions } from '../../lib/catalog/mirror-positions.js';
import { MIGRATIONS } from '../../lib/catalog/schema.js';
import { LogStore } from '../../lib/index.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

describe('MirrorPositions (catalog schema 5)', () => {
  after(removeTempDirs);

  it('should be schema version 5, and migrate a schema 4 catalog keeping its data', async () => {
    expect(MIGRATIONS).to.have.length(5);
    const dir = tempDir();
    let store = LogStore.open(dir);
    store.createTopic('t', { partitions: 2 });
    store.append('t', { value: 'kept' }, { partition: 1 });
    await store.close();
    const db = new Database(path.join(dir, 'catalog.sqlite'));
    expect(db.pragma('user_version', { simple: true })).to.equal(5);
    db.exec('DROP TABLE mirror_positions');
    db.pragma('user_version = 4');
    db.close();
    store = LogStore.open(dir);
    expect(store.describeTopic('t').partitions[1]!.endOffset).to.equal(1);
    await store.close();
    const after = new Database(path.join(dir, 'catalog.sqlite'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).to.equal(5);
    expect(after.prepare('SELECT COUNT(*) AS n FROM mirror_positions').get()).to.deep.equal({ n: 0 });
    after.close();
  });

  it('should replace a partition position (to), record and trim write-ahead rows (from), and forget a link', () => {
    const db = new Database(path.join(tempDir(), 'catalog.sqlite'));
    db.exec(MIGRATIONS.join(';\n'));
    const positions = new MirrorPositions(db);
    const to = 'to cluster-a';
    const first = { link: to, topic: 't', partition: 0, localOffset: 10, remoteOffset: 110 };
    const producer = { producerId: 4, producerEpoch: 1 };
    positions.set([{ ...first, ...producer, nextSequence: 10 }], 1);
    const second = { ...first, localOffset: 25, remoteOffset: 130, ...producer, nextSequence: 25 };
    positions.set([second], 2);
    // The second replaces the first: one row per partition, whatever its offsets.
    expect(positions.rows(to, 't', 0)).to.deep.equal([
      {
        link: to,
        topic: 't',
        partition: 0,
        localOffset: 25,
        remoteOffset: 130,
        producerId: 4,
        producerEpoch: 1,
        nextSequence: 25,
        updatedAt: 2,
      },
    ]);

    const from = 'from cluster-b';
    positions.record(
      [0, 5, 9].map((n) => ({ link: from, topic: 't', partition: 1, localOffset: n, remoteOffset: n + 100 })),
      3,
    );
    positions.record([{ link: from, topic: 't', partition: 1, localOffset: 9, remoteOffset: 120 }], 4); // markers after the last batch
    expect(
      positions.rows(from, 't', 1).map((r) => [r.localOffset, r.remoteOffset, r.producerId]),
    ).to.deep.equal([
      [0, 100, -1],
      [5, 105, -1],
      [9, 120, -1],
    ]);
    expect(positions.latest(from, 't', 1)?.localOffset).to.equal(9);
    positions.trim(from, 't', 1, 5, 5);
    expect(positions.rows(from, 't', 1).map((r) => r.localOffset)).to.deep.equal([5]);
    expect(positions.all().map((r) => [r.link, r.partition, r.localOffset])).to.deep.equal([
      [from, 1, 5],
      [to, 0, 25],
    ]);

    positions.forget(to, ['t']);
    expect(positions.all().map((r) => r.link)).to.deep.equal([from]);
    db.close();
  });

  it("should forget every link's positions on a topic when the topic is deleted", async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('gone', { partitions: 1 });
    store.createTopic('stays', { partitions: 1 });
    store.transaction((db) => {
      // At run time the transaction's handle is better-sqlite3's Database (README, transaction).
      const positions = new MirrorPositions(db as unknown as Database.Database);
      positions.set([{ link: 'to x', topic: 'gone', partition: 0, localOffset: 1, remoteOffset: 1 }]);
      positions.set([{ link: 'to x', topic: 'stays', partition: 0, localOffset: 2, remoteOffset: 2 }]);
    });
    store.deleteTopic('gone');
    await store.close();
    const db = new Database(path.join(dir, 'catalog.sqlite'), { readonly: true });
    expect(new MirrorPositions(db).all().map((r) => r.topic)).to.deep.equal(['stays']);
    db.close();
  });
});
