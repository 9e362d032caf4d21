import { expect } from 'chai';
import { LogStore, type LogRecord } from '../../lib/index.js';
import { rangeAssign } from '../../lib/read/groups.js';
import { LIB, startChild } from '../helpers/child.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const ids = (records: LogRecord[]) => records.map((r) => `${r.partition}:${r.offset}`).sort();

describe('Consumer', () => {
  after(removeTempDirs);

  it('should read all partitions, commit rec.offset + 1, and resume there after reopen', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir);
    store.createTopic('t', { partitions: 3 });
    for (let p = 0; p < 3; p++)
      for (let i = 0; i < 5; i++) store.append('t', { value: `p${p}-${i}` }, { partition: p });
    const consumer = store.consumer('t', { group: 'g', autoCommit: false });
    expect(consumer.assignment).to.deep.equal([0, 1, 2]);
    const first = consumer.read(100);
    expect(ids(first)).to.deep.equal(
      [0, 1, 2].flatMap((p) => [0, 1, 2, 3, 4].map((o) => `${p}:${o}`)).sort(),
    );
    const p1 = first.filter((r) => r.partition === 1);
    consumer.commit(p1[2]!); // partition 1: next is 3
    expect(consumer.committed()).to.deep.equal([
      { partition: 0, offset: null },
      { partition: 1, offset: 3 },
      { partition: 2, offset: null },
    ]);
    expect(
      consumer.lag().map((l) => [l.partition, l.committed, l.position, l.endOffset, l.lag]),
    ).to.deep.equal([
      [0, null, 5, 5, 0],
      [1, 3, 5, 5, 0],
      [2, null, 5, 5, 0],
    ]);
    await store.close();
    store = LogStore.open(dir);
    const again = store.consumer('t', { group: 'g', autoCommit: false });
    const second = again.read(100);
    // Partition 1 resumes at 3; the others were never committed and start at 'earliest'.
    expect(ids(second)).to.deep.equal([
      '0:0',
      '0:1',
      '0:2',
      '0:3',
      '0:4',
      '1:3',
      '1:4',
      '2:0',
      '2:1',
      '2:2',
      '2:3',
      '2:4',
    ]);
    again.commit();
    expect(again.committed().map((c) => c.offset)).to.deep.equal([5, 5, 5]);
    expect(again.read(100)).to.deep.equal([]);
    expect(store.groups()).to.deep.equal([
      {
        group: 'g',
        topic: 't',
        members: 1,
        partitions: store.groups()[0]!.partitions.map((p) => ({ ...p })),
      },
    ]);
    expect(
      store.groups()[0]!.partitions.map((p) => [p.partition, p.offset, p.endOffset, p.lag]),
    ).to.deep.equal([
      [0, 5, 5, 0],
      [1, 5, 5, 0],
      [2, 5, 5, 0],
    ]);
    await store.close();
  });

  it("should start at 'latest' when told so and no offset is committed", async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    store.append('t', { value: 'old' });
    const c = store.consumer('t', { group: 'g', from: 'latest' });
    expect(c.read()).to.deep.equal([]);
    store.append('t', { value: 'new' });
    expect(c.read().map((r) => r.value!.toString())).to.deep.equal(['new']);
    await store.close();
  });

  it('should auto-commit only what the loop moved past, and on close', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    for (let i = 0; i < 10; i++) store.append('t', { value: `v${i}` });
    const c = store.consumer('t', { group: 'g', autoCommitIntervalMs: 100000 });
    let seen = 0;
    for await (const rec of c) {
      seen++;
      if (rec.offset === 6) break; // record 6 is being handled when the loop leaves: not moved past
    }
    expect(seen).to.equal(7);
    expect(c.isClosed).to.equal(true);
    const stored = store.consumer('t', { group: 'g', autoCommit: false });
    expect(stored.committed()).to.deep.equal([{ partition: 0, offset: 6 }]);
    expect(stored.read(1)[0]!.offset).to.equal(6);
    await store.close();
  });

  it('should split partitions between two members (range) and give all to one when the other closes', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { partitions: 5 });
    for (let p = 0; p < 5; p++) store.append('t', { value: `p${p}` }, { partition: p });
    const a = store.consumer('t', { group: 'g', autoCommit: false });
    const b = store.consumer('t', { group: 'g', autoCommit: false });
    expect(a.assignment).to.deep.equal([0, 1, 2]);
    expect(b.assignment).to.deep.equal([3, 4]);
    const fromA = a.read(100);
    const fromB = b.read(100);
    expect(ids(fromA)).to.deep.equal(['0:0', '1:0', '2:0']);
    expect(ids(fromB)).to.deep.equal(['3:0', '4:0']);
    a.commit();
    // Another group is independent.
    const other = store.consumer('t', { group: 'h', autoCommit: false });
    expect(other.assignment).to.deep.equal([0, 1, 2, 3, 4]);
    await a.close();
    expect(b.assignment).to.deep.equal([0, 1, 2, 3, 4]);
    store.append('t', { value: 'p0-second' }, { partition: 0 });
    // b takes partitions 0-2 at a's committed offsets (1), so only the new record comes.
    expect(ids(b.read(100))).to.deep.equal(['0:1']);
    expect(rangeAssign(7, 3)).to.deep.equal([
      [0, 1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(rangeAssign(2, 3)).to.deep.equal([[0], [1], []]);
    await store.close();
  });

  it('should follow its reset policy when retention passed the committed offset', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t');
    store.append('t', { value: 'a' });
    const c = store.consumer('t', { group: 'g', autoCommit: false });
    expect(c.read().length).to.equal(1);
    await c.close();
    store.resetGroup('g', 't', 0);
    expect(store.groups()[0]!.partitions[0]!.offset).to.equal(0);
    store.resetGroup('g', 't', 'latest');
    expect(store.groups()[0]!.partitions[0]!.offset).to.equal(1);
    expectCode(() => store.resetGroup('g', 't', 5), 'LOGSTORE_OFFSET_OUT_OF_RANGE');
    const live = store.consumer('t', { group: 'g' });
    expectCode(() => store.resetGroup('g', 't', 'earliest'), 'LOGSTORE_INVALID_ARGUMENT');
    await live.close();
    await store.close();
  });

  it('should delete a group on every topic, refuse while it has live consumers, and say whether it had any', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 2 });
    store.createTopic('u');
    store.append('t', [{ value: 'a' }, { value: 'b' }], { partition: 1 });
    store.append('u', [{ value: 'c' }]);
    for (const topic of ['t', 'u']) {
      for (const group of ['g', 'other']) {
        const c = store.consumer(topic, { group, autoCommit: false });
        c.read();
        c.commit();
        await c.close();
      }
    }
    const live = store.consumer('u', { group: 'g' });
    const busy = expectCode(() => store.deleteGroup('g'), 'LOGSTORE_INVALID_ARGUMENT');
    expect(busy.message).to.equal(
      "Group 'g' has live consumers on 'u'; close them before deleting the group.",
    );
    await live.close();
    expect(store.deleteGroup('g')).to.equal(true);
    expect(store.groups().map((g) => [g.group, g.topic])).to.deep.equal([
      ['other', 't'],
      ['other', 'u'],
    ]);
    expect(store.deleteGroup('g')).to.equal(false);
    expectCode(() => store.deleteGroup(''), 'LOGSTORE_INVALID_ARGUMENT');
    // A new member of the deleted group starts where `from` says, not where the group was.
    const again = store.consumer('t', { group: 'g', from: 'earliest', autoCommit: false });
    expect(again.read().map((r) => r.value!.toString())).to.deep.equal(['a', 'b']);
    await again.close();
    await store.close();
    const follower = LogStore.open(dir, { readOnly: true });
    expectCode(() => follower.deleteGroup('other'), 'LOGSTORE_READ_ONLY');
    await follower.close();
  });

  it('should commit offsets in the same transaction as the application writes', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    store.append('t', [{ value: '1' }, { value: '2' }]);
    store.transaction((db) => db.exec('CREATE TABLE IF NOT EXISTS app_totals (n INTEGER)'));
    const c = store.consumer('t', { group: 'sum', autoCommit: false });
    const [one, two] = c.read();
    store.transaction((db) => {
      db.prepare('INSERT INTO app_totals VALUES (?)').run(Number(one!.value!.toString()));
      c.commit(one!);
    });
    expect(() =>
      store.transaction((db) => {
        db.prepare('INSERT INTO app_totals VALUES (?)').run(Number(two!.value!.toString()));
        c.commit(two!);
        throw new Error('the application fails before its transaction commits');
      }),
    ).to.throw('the application fails');
    const rows = store.transaction((db) => db.prepare('SELECT n FROM app_totals').all());
    expect(rows).to.deep.equal([{ n: 1 }]);
    expect(c.committed()).to.deep.equal([{ partition: 0, offset: 1 }]);
    await store.close();
  });

  it('should not pile up wake-ups on idle partitions while it waits live', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('t', { partitions: 3 });
    const consumer = store.consumer('t', { group: 'g', autoCommit: false });
    let seen = 0;
    const loop = (async () => {
      for await (const _ of consumer) if (++seen === 50) break;
    })();
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setImmediate(r));
      store.append('t', { value: `v${i}` }, { partition: 0 });
    }
    await loop;
    // White-box: the idle partitions' logs hold no waiter left over from the 50 wake-ups.
    const logs = (
      store as unknown as { topicSet: { get(name: string): { logs: { waiters: Set<unknown> }[] } } }
    ).topicSet.get('t').logs;
    expect(logs.map((l) => l.waiters.size)).to.deep.equal([0, 0, 0]);
    await store.close();
  });

  it('should give its errors codes', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    expectCode(() => store.consumer('t', {} as never), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(() => store.consumer('t', { group: 'g', from: 5 } as never), 'LOGSTORE_INVALID_ARGUMENT');
    expectCode(
      () => store.consumer('t', { group: 'g', autocommit: true } as never),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expectCode(() => store.consumer('nope', { group: 'g' }), 'LOGSTORE_TOPIC_NOT_FOUND');
    const c = store.consumer('t', { group: 'g' });
    await c.close();
    expectCode(() => c.read(), 'LOGSTORE_CLOSED');
    await store.close();
    const ro = LogStore.open(dir, { readOnly: true });
    expectCode(() => ro.consumer('t', { group: 'g' }), 'LOGSTORE_READ_ONLY');
    await ro.close();
  });

  it('should keep committed offsets when the writer process is killed', async () => {
    const dir = tempDir();
    let done!: () => void;
    const committed = new Promise<void>((r) => (done = r));
    const { child, exited } = startChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(dir)});
      store.createTopic('t');
      for (let i = 0; i < 20; i++) store.append('t', { value: 'v' + i });
      const c = store.consumer('t', { group: 'g', autoCommit: false });
      const recs = c.read(12);
      c.commit(recs[11]);
      console.log('committed');
      setInterval(() => {}, 1000);
    `,
      { onLine: (l) => l === 'committed' && done() },
    );
    await committed;
    child.kill('SIGKILL');
    await exited;
    const store = LogStore.open(dir);
    const c = store.consumer('t', { group: 'g', autoCommit: false });
    expect(c.committed()).to.deep.equal([{ partition: 0, offset: 12 }]);
    expect(c.read(100).map((r) => r.offset)).to.deep.equal([12, 13, 14, 15, 16, 17, 18, 19]);
    await store.close();
  });
});
