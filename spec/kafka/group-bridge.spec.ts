/**
 * One consumer group across the wire and the library: while a store serves Kafka clients, its own
 * consumers (`store.consumer()`) are members of the listener's groups. A kafkajs consumer in a
 * child process and a library consumer in the serving process split a 4-partition topic (each
 * partition read by exactly one of them, as each generation assigned it), share committed
 * offsets both ways, and take over each other's partitions when one leaves; the same with kcat
 * (librdkafka, range assignor) as the group's leader. Consumers created before `serve()` move
 * into the coordinator's group, and back to the in-process split when the listener closes.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { LogStore, type Consumer } from '../../lib/index.js';
import { decodeAssignment } from '../../lib/kafka/consumer-protocol.js';
import type { GenerationEvent } from '../../lib/kafka/group.js';
import type { KafkaServer } from '../../lib/kafka/server.js';
import { splitLines } from '../helpers/child.js';
import { expectCode, expectCodeAsync, removeTempDirs, tempDir } from '../helpers/temp.js';
import { requireClient } from './clients.js';
import { startKafkajsMember, until } from './members.js';

const kafkajsMember = (bootstrap: string) => ({
  bootstrap,
  clientId: 'kafkajs-member',
  group: 'mix',
  topic: 'shared',
  sessionTimeout: 6000,
  rebalanceTimeout: 5000,
  heartbeatInterval: 200,
  maxWaitTimeInMs: 1000,
  autoCommitInterval: 50,
});

/** Partition -> the offsets one side read. */
type Seen = Map<number, number[]>;

function see(seen: Seen, partition: number, offset: number): void {
  if (!seen.has(partition)) seen.set(partition, []);
  seen.get(partition)!.push(offset);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('One consumer group across the wire and the library', function () {
  this.timeout(120_000);
  let store: LogStore;
  let server: KafkaServer;
  let generations: GenerationEvent[];
  const children: ChildProcess[] = [];
  const logs: string[] = [];

  beforeEach(async () => {
    store = LogStore.open(tempDir('logstore-bridge-'), { cleanupIntervalMs: 0 });
    store.createTopic('shared', { partitions: 4 });
    generations = [];
  });

  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await store.close();
  });

  after(removeTempDirs);

  async function serve(): Promise<string> {
    server = await store.serve({
      port: 0,
      initialRebalanceDelayMs: 0,
      minSessionTimeoutMs: 1000,
      log: (m) => logs.push(m),
    });
    server.onGeneration((e) => generations.push(e));
    return `127.0.0.1:${server.address().port}`;
  }

  function appendEach(perPartition: number): void {
    for (let p = 0; p < 4; p++) {
      store.append(
        'shared',
        range(0, perPartition).map((i) => ({ key: `k${p}`, value: `p${p}-${i}` })),
        { partition: p },
      );
    }
  }

  /** Reads what the consumer has, commits it, every 20 ms, until stopped. */
  function drain(consumer: Consumer, seen: Seen): () => void {
    const timer = setInterval(() => {
      if (consumer.isClosed) return;
      const records = consumer.read();
      for (const r of records) see(seen, r.partition, r.offset);
      if (records.length > 0) consumer.commit();
    }, 20);
    return () => clearInterval(timer);
  }

  /** The last generation's partitions of `topic` per member id. */
  function lastAssignment(): Map<string, number[]> {
    const last = generations[generations.length - 1]!;
    return new Map(
      [...last.assignments].map(([id, bytes]) => [id, decodeAssignment(bytes).get('shared') ?? []]),
    );
  }

  const members = () => server.coordinator.describe('mix').members;
  const stableWith = (n: number) => () =>
    server.coordinator.describe('mix').state === 'Stable' && members().length === n;

  it('a kafkajs consumer in another process and a library consumer here: each partition read by exactly one of them, committed offsets shared both ways', async () => {
    const bootstrap = await serve();
    appendEach(10);
    // The library consumer joins first, so it leads the group (with kafkajs's round robin); it
    // reads once the kafkajs member is in.
    const library = store.consumer('shared', { group: 'mix', autoCommit: false });
    const libSeen: Seen = new Map();
    await until('the library consumer alone owns all 4 partitions', () => library.assignment.length === 4);
    const jsSeen: Seen = new Map();
    const child = startKafkajsMember(kafkajsMember(bootstrap), (p, o) => see(jsSeen, p, o));
    children.push(child);
    await until('a stable generation of the two', stableWith(2));
    const d = server.coordinator.describe('mix');
    expect(d.protocolName).to.equal('RoundRobinAssigner');
    const libId = d.members.find((m) => m.clientId === 'logstore')!.memberId;
    const jsId = d.members.find((m) => m.clientId === 'kafkajs-member')!.memberId;
    const plan = lastAssignment();
    expect([...plan.get(libId)!, ...plan.get(jsId)!].sort()).to.deep.equal([0, 1, 2, 3]);
    expect(plan.get(libId)!.length).to.equal(2);
    await until('the library consumer holds its share', () => library.assignment.length === 2);
    expect(library.assignment).to.deep.equal([...plan.get(libId)!].sort());
    const stopLib = drain(library, libSeen);

    // Every record is read by exactly the member that owns its partition.
    for (let p = 0; p < 4; p++) store.append('shared', [{ value: `late${p}` }], { partition: p });
    const total = (s: Seen) => [...s.values()].reduce((n, o) => n + o.length, 0);
    await until('offset 10 of every partition', () =>
      range(0, 4).every((p) => libSeen.get(p)?.includes(10) || jsSeen.get(p)?.includes(10)),
    );
    for (const p of plan.get(jsId)!) {
      expect(jsSeen.get(p), `partition ${p} (kafkajs)`).to.deep.equal(range(0, 11));
      expect(libSeen.has(p), `partition ${p} (library)`).to.equal(false);
    }
    for (const p of plan.get(libId)!) {
      expect(libSeen.get(p), `partition ${p} (library)`).to.deep.equal(range(0, 11));
      expect(jsSeen.has(p), `partition ${p} (kafkajs)`).to.equal(false);
    }
    expect(total(libSeen) + total(jsSeen)).to.equal(44);
    // One offsets table: both members' commits show in store.groups().
    await until('commits of both members', () => {
      const g = store.groups().find((x) => x.group === 'mix');
      return g !== undefined && g.partitions.length === 4 && g.partitions.every((p) => p.offset === 11);
    });
    // A group with wire members cannot be reset or deleted from the library.
    expectCode(() => store.resetGroup('mix', 'shared', 'earliest'), 'LOGSTORE_INVALID_ARGUMENT');
    const busy = expectCode(() => store.deleteGroup('mix'), 'LOGSTORE_INVALID_ARGUMENT');
    expect(busy.message).to.equal(
      "Group 'mix' has live consumers on 'shared'; close them before deleting the group.",
    );

    // kafkajs leaves: the library consumer takes its partitions from kafkajs's committed offsets.
    child.kill('SIGTERM');
    await until('the library consumer alone again', () => stableWith(1)() && library.assignment.length === 4);
    appendEach(3);
    await until('offsets 11 to 13 everywhere', () => range(0, 4).every((p) => libSeen.get(p)?.includes(13)));
    await new Promise((r) => setTimeout(r, 200));
    for (const p of plan.get(jsId)!) expect(libSeen.get(p), `partition ${p}`).to.deep.equal(range(11, 14));
    for (const p of plan.get(libId)!) expect(libSeen.get(p), `partition ${p}`).to.deep.equal(range(0, 14));
    stopLib();
    await library.close();

    // And the reverse: a new kafkajs member starts where the library committed (offset 14).
    const js2: Seen = new Map();
    children.push(startKafkajsMember(kafkajsMember(bootstrap), (p, o) => see(js2, p, o)));
    await until('the new member alone', stableWith(1));
    appendEach(2);
    await until('offsets 14 and 15 everywhere', () => range(0, 4).every((p) => js2.get(p)?.includes(15)));
    for (let p = 0; p < 4; p++) expect(js2.get(p), `partition ${p}`).to.deep.equal([14, 15]);
    expect(logs.filter((l) => l.includes('cannot join'))).to.deep.equal([]);

    // Only wire members left: deleteGroup counts them too; once they are gone it deletes the
    // offsets, and the listener's coordinator forgets the group.
    const remote = expectCode(() => store.deleteGroup('mix'), 'LOGSTORE_INVALID_ARGUMENT');
    expect(remote.message).to.equal(
      "Group 'mix' has 1 live member(s) connected through the Kafka listener; stop them before deleting the group.",
    );
    children.pop()!.kill('SIGTERM');
    await until('the group empty', () => server.coordinator.describe('mix').state === 'Empty');
    expect(store.groups().filter((g) => g.group === 'mix').length).to.equal(1);
    expect(store.deleteGroup('mix')).to.equal(true);
    expect(store.groups().filter((g) => g.group === 'mix')).to.deep.equal([]);
    expect(server.coordinator.describe('mix').state).to.equal('Dead');
    expect(store.deleteGroup('mix')).to.equal(false);
  });

  it('kcat -G (librdkafka, range) leads and a library consumer follows: each partition read by exactly one', async function () {
    requireClient(this, 'kcat');
    const bootstrap = await serve();
    appendEach(5);
    const kcatSeen: Seen = new Map();
    const kc = spawn(
      'kcat',
      [
        '-b',
        bootstrap,
        '-u',
        '-G',
        'mix',
        '-X',
        'partition.assignment.strategy=range',
        '-X',
        'session.timeout.ms=6000',
        '-X',
        'auto.commit.interval.ms=100',
        // Not -o beginning: kcat applies -o on every assignment, over the committed offsets.
        '-X',
        'auto.offset.reset=earliest',
        '-f',
        '%p %o\\n',
        'shared',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    children.push(kc);
    splitLines(kc.stdout!, (line) => {
      const m = /^(\d+) (\d+)$/.exec(line.trim());
      if (m) see(kcatSeen, Number(m[1]), Number(m[2]));
    });
    await until('kcat alone in the group', stableWith(1), 60_000);
    await until('kcat read everything', () => range(0, 4).every((p) => kcatSeen.get(p)?.includes(4)));
    await until(
      'kcat committed',
      () =>
        (store.groups().find((g) => g.group === 'mix')?.partitions ?? []).filter((p) => p.offset === 5)
          .length === 4,
    );
    const library = store.consumer('shared', { group: 'mix', autoCommit: false });
    const libSeen: Seen = new Map();
    const stopLib = drain(library, libSeen);
    await until(
      'a stable generation of the two',
      () => stableWith(2)() && library.assignment.length > 0,
      60_000,
    );
    const d = server.coordinator.describe('mix');
    expect(d.protocolName).to.equal('range');
    const libId = d.members.find((m) => m.clientId === 'logstore')!.memberId;
    const kcatId = d.members.find((m) => m.clientId === 'rdkafka')!.memberId;
    expect(generations[generations.length - 1]!.leader).to.equal(kcatId);
    const plan = lastAssignment();
    expect([...plan.get(libId)!, ...plan.get(kcatId)!].sort()).to.deep.equal([0, 1, 2, 3]);
    expect(library.assignment).to.deep.equal([...plan.get(libId)!].sort());
    // kcat's committed offsets (5 everywhere) are where the library consumer starts.
    appendEach(2);
    await until('offsets 5 and 6 everywhere', () =>
      range(0, 4).every((p) => libSeen.get(p)?.includes(6) || kcatSeen.get(p)?.includes(6)),
    );
    await new Promise((r) => setTimeout(r, 200));
    for (const p of plan.get(libId)!) {
      expect(libSeen.get(p), `partition ${p} (library)`).to.deep.equal([5, 6]);
      expect(kcatSeen.get(p), `partition ${p} (kcat)`).to.deep.equal(range(0, 5));
    }
    for (const p of plan.get(kcatId)!) {
      expect(libSeen.has(p), `partition ${p} (library)`).to.equal(false);
      expect(kcatSeen.get(p), `partition ${p} (kcat)`).to.deep.equal(range(0, 7));
    }
    stopLib();
  });

  it('consumers created before serve() join the listener’s group, and split in-process again when it closes', async () => {
    const a = store.consumer('shared', { group: 'mix' });
    const b = store.consumer('shared', { group: 'mix' });
    expect([a.assignment, b.assignment]).to.deep.equal([
      [0, 1],
      [2, 3],
    ]);
    await serve();
    await until('a generation of the two through the coordinator', stableWith(2));
    await until('both assigned', () => a.assignment.length + b.assignment.length === 4);
    expect([...a.assignment, ...b.assignment].sort()).to.deep.equal([0, 1, 2, 3]);
    const d = server.coordinator.describe('mix');
    expect(d.members.map((m) => m.clientId)).to.deep.equal(['logstore', 'logstore']);
    expect(store.groups().find((g) => g.group === 'mix')!.members).to.equal(2);
    // A second listener on the same store would be a second coordinator: refused.
    await expectCodeAsync(() => store.serve({ port: 0 }), 'LOGSTORE_INVALID_ARGUMENT');
    await server.close();
    expect([a.assignment, b.assignment]).to.deep.equal([
      [0, 1],
      [2, 3],
    ]);
    await b.close();
    expect(a.assignment).to.deep.equal([0, 1, 2, 3]);
  });
});
