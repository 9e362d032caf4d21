/**
 * Consumer groups across processes, as Kafka runs them: three kafkajs consumers in three child
 * processes share a 6-partition topic; every generation's assignment (as the leader handed it out
 * through the coordinator) covers each partition exactly once; one member is killed with
 * SIGKILL and the other two take over its partitions after the session timeout, with no record
 * skipped. Then librdkafka (kcat -G) and kafka-python members share one group with the range
 * assignor.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import type { GenerationEvent } from '../../lib/kafka/group.js';
import { splitLines } from '../helpers/child.js';
import { batch } from './batches.js';
import { PYTHON, requireClient, startBroker, type TestBroker } from './clients.js';
import { startKafkajsMember, until } from './members.js';

/** Kafka's ConsumerProtocolAssignment: version, [(topic, [partition])], userData. */
function assignedPartitions(assignment: Buffer): string[] {
  if (assignment.length === 0) return [];
  let pos = 2;
  const out: string[] = [];
  const topics = assignment.readInt32BE(pos);
  pos += 4;
  for (let t = 0; t < topics; t++) {
    const len = assignment.readInt16BE(pos);
    const topic = assignment.toString('utf8', pos + 2, pos + 2 + len);
    pos += 2 + len;
    const n = assignment.readInt32BE(pos);
    pos += 4;
    for (let i = 0; i < n; i++, pos += 4) out.push(`${topic}-${assignment.readInt32BE(pos)}`);
  }
  return out;
}

function expectEachGenerationCovers(generations: GenerationEvent[], partitions: string[]): void {
  expect(generations.length).to.be.greaterThan(0);
  for (const g of generations) {
    const assigned = [...g.assignments.values()].flatMap(assignedPartitions).sort();
    expect(assigned, `generation ${g.generationId}`).to.deep.equal([...partitions].sort());
  }
}

describe('Consumer groups across processes', function () {
  this.timeout(90_000);
  let b: TestBroker;
  let generations: GenerationEvent[];
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    b = await startBroker({ minSessionTimeoutMs: 1000 });
    generations = [];
    b.server.onGeneration((e) => generations.push(e));
  });

  afterEach(async () => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    await b.server.close();
  });

  function produce(topic: string, partitions: number, perPartition: number, from: number): void {
    for (let p = 0; p < partitions; p++) {
      const recs = Array.from({ length: perPartition }, (_, i) => ({ key: `p${p}`, value: `r${from + i}` }));
      b.backend.appendBatches(topic, p, batch(recs));
    }
  }

  it('three kafkajs members: each generation covers every partition once; after kill -9 the other two take over, nothing skipped', async () => {
    b.backend.createTopic('six', 6, {});
    produce('six', 6, 20, 0);
    const consumed: Set<string>[] = [];
    for (let i = 0; i < 3; i++) {
      const seen = new Set<string>();
      consumed.push(seen);
      const child = startKafkajsMember(
        {
          bootstrap: b.bootstrap,
          clientId: `member${i}`,
          group: 'six',
          topic: 'six',
          sessionTimeout: 3000,
          rebalanceTimeout: 4000,
          heartbeatInterval: 300,
          maxWaitTimeInMs: 500,
          autoCommitInterval: 100,
        },
        (partition, offset) => seen.add(`${partition}/${offset}`),
      );
      children.push(child);
    }
    const all = (perPartition: number) =>
      Array.from({ length: 6 * perPartition }, (_, k) => `${k % 6}/${Math.floor(k / 6)}`);
    const union = () => new Set(consumed.flatMap((s) => [...s]));
    const stableWith = (n: number) => () => {
      const last = generations[generations.length - 1];
      return (
        last !== undefined &&
        last.assignments.size === n &&
        b.server.coordinator.describe('six').state === 'Stable'
      );
    };
    await until('a stable generation of 3', stableWith(3));
    await until('the first 120 records', () => all(20).every((k) => union().has(k)));
    const beforeKill = generations.length;
    const victim = [...generations[generations.length - 1]!.assignments.keys()][0]!;
    const victimIndex = b.server.coordinator
      .describe('six')
      .members.find((m) => m.memberId === victim)!.clientId;
    children[Number(victimIndex.replace('member', ''))]!.kill('SIGKILL');
    produce('six', 6, 10, 20);
    await until('a stable generation of 2 after the session timeout', stableWith(2));
    expect(generations.length).to.be.greaterThan(beforeKill);
    await until('all 180 records', () => all(30).every((k) => union().has(k)));
    expect(b.logs.some((l) => l.includes(`member ${victim} session timed out`))).to.equal(true);
    expectEachGenerationCovers(
      generations,
      Array.from({ length: 6 }, (_, p) => `six-${p}`),
    );
    // Committed offsets cover everything the survivors consumed, within the auto-commit interval.
    await until(
      'commits at the end',
      () => b.backend.committedOffsets('six').reduce((s, c) => s + c.offset, 0) === 180,
    );
  });

  it('kcat -G (librdkafka) and kafka-python members share a group with the range assignor', async function () {
    requireClient(this, 'kcat');
    requireClient(this, 'kafka-python');
    b.backend.createTopic('mixed', 4, {});
    produce('mixed', 4, 5, 0);
    const seen = new Set<string>();
    const record = (line: string) => {
      const m = /^(\d+) (\d+)$/.exec(line.trim());
      if (m) seen.add(`${m[1]}/${m[2]}`);
    };
    for (let i = 0; i < 2; i++) {
      const kc = spawn(
        'kcat',
        [
          '-b',
          b.bootstrap,
          '-u',
          '-G',
          'mixed',
          '-X',
          'partition.assignment.strategy=range',
          '-X',
          'session.timeout.ms=6000',
          '-o',
          'beginning',
          '-f',
          '%p %o\\n',
          'mixed',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      splitLines(kc.stdout!, record);
      children.push(kc);
    }
    const py = spawn(
      PYTHON,
      [
        '-c',
        `
import os, sys
from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
c = KafkaConsumer('mixed', bootstrap_servers=os.environ['BOOTSTRAP'], group_id='mixed', auto_offset_reset='earliest',
                  partition_assignment_strategy=[RangePartitionAssignor], session_timeout_ms=6000, heartbeat_interval_ms=500)
for m in c:
    print(m.partition, m.offset, flush=True)
`,
      ],
      { env: { ...process.env, BOOTSTRAP: b.bootstrap }, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    splitLines(py.stdout!, record);
    children.push(py);
    await until(
      'a stable generation of 3 members',
      () => {
        const d = b.server.coordinator.describe('mixed');
        return d.state === 'Stable' && d.members.length === 3;
      },
      60_000,
    );
    const d = b.server.coordinator.describe('mixed');
    expect(d.protocolName).to.equal('range');
    expect(d.members.map((m) => m.clientId).sort()).to.deep.equal([
      'kafka-python-2.0.2',
      'rdkafka',
      'rdkafka',
    ]);
    produce('mixed', 4, 5, 5);
    await until(
      'all 40 records',
      () => Array.from({ length: 40 }, (_, k) => `${k % 4}/${Math.floor(k / 4)}`).every((k) => seen.has(k)),
      60_000,
    );
    expectEachGenerationCovers(
      generations.filter((g) => g.groupId === 'mixed'),
      ['mixed-0', 'mixed-1', 'mixed-2', 'mixed-3'],
    );
  });
});
