/**
 * Unmodified Kafka clients through the listener (over the in-memory backend), checking exact
 * contents both ways: keys, values, repeated and null headers, timestamps, offsets, committed
 * offsets, each compression codec passing through as the producer wrote it.
 */
import { expect } from 'chai';
import { KafkaError } from '../../lib/kafka/errors.js';
import {
  kafkaClient,
  kafkajs,
  kcat,
  python,
  requireClient,
  startBroker,
  type TestBroker,
} from './clients.js';

interface KcatRecord {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  headers?: (string | null)[];
}

async function kcatConsume(bootstrap: string, topic: string): Promise<KcatRecord[]> {
  const r = await kcat(['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q']);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as KcatRecord);
}

async function kafkajsConsume(bootstrap: string, topic: string, count: number, groupId = `g-${topic}`) {
  const consumer = kafkaClient(bootstrap).consumer({ groupId, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: kafkajs.KafkaMessage[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${count} records`)), 20_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message);
        if (seen.length === count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  return seen;
}

describe('Real Kafka clients through the listener', function () {
  this.timeout(60_000);
  let b: TestBroker;

  beforeEach(async () => {
    b = await startBroker();
  });

  afterEach(async () => {
    await b.server.close();
  });

  it('kafkajs producer (keys, repeated headers, timestamps, gzip) -> kcat consumer: exact contents', async function () {
    requireClient(this, 'kcat');
    const kafka = kafkaClient(b.bootstrap);
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({
      topic: 'js2kcat',
      compression: kafkajs.CompressionTypes.GZIP,
      messages: [
        { key: 'k1', value: 'first ✓', headers: { h: ['a', 'b'], other: 'x' }, timestamp: '1700000000001' },
        { key: null, value: 'keyless', timestamp: '1700000000002' },
        { key: 'k3', value: null, timestamp: '1700000000003' },
      ],
    });
    await producer.disconnect();
    const [stored] = b.backend.storedBatches('js2kcat', 0);
    expect(stored!.readInt16BE(21) & 7, 'gzip codec kept').to.equal(1);
    const records = await kcatConsume(b.bootstrap, 'js2kcat');
    expect(records.map((r) => [r.offset, r.ts, r.key, r.payload, r.headers ?? []])).to.deep.equal([
      [0, 1700000000001, 'k1', 'first ✓', ['h', 'a', 'h', 'b', 'other', 'x']],
      [1, 1700000000002, null, 'keyless', []],
      [2, 1700000000003, 'k3', null, []],
    ]);
  });

  it('kcat producer (-z none|gzip|snappy|lz4|zstd, keys) -> kafkajs consumer: exact contents, codecs kept as sent', async function () {
    requireClient(this, 'kcat');
    const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    // librdkafka sends a batch uncompressed when compressing does not make it smaller: pad.
    const pad = ' '.repeat(300);
    b.backend.createTopic('kcat2js', 1, {});
    for (const z of codecs) {
      await kcat(
        ['-b', b.bootstrap, '-P', '-t', 'kcat2js', '-K', ':', '-z', z, '-X', 'linger.ms=100'],
        `key-${z}:${z} 1${pad}\nkey-${z}:${z} 2${pad}\n`,
      );
    }
    // One batch per kcat run, or one per record when librdkafka sent them apart: either way the
    // stored batches carry the codec each run asked for, in order.
    const attrs = b.backend.storedBatches('kcat2js', 0).map((s) => s.readInt16BE(21) & 7);
    expect(attrs.filter((a, i) => i === 0 || a !== attrs[i - 1])).to.deep.equal([0, 1, 2, 3, 4]);
    const seen = await kafkajsConsume(b.bootstrap, 'kcat2js', 10);
    expect(seen.map((m) => [m.offset, String(m.key), String(m.value)])).to.deep.equal(
      codecs.flatMap((z, i) => [
        [String(i * 2), `key-${z}`, `${z} 1${pad}`],
        [String(i * 2 + 1), `key-${z}`, `${z} 2${pad}`],
      ]),
    );
  });

  it('kafkajs commits offsets that the backend holds, and reads them back', async () => {
    const kafka = kafkaClient(b.bootstrap);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'commits', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'commits',
      messages: [0, 1, 2].map((i) => ({ value: `v${i}`, partition: 1 })),
    });
    await producer.disconnect();
    const seen = await kafkajsConsume(b.bootstrap, 'commits', 3, 'committer');
    expect(seen.map((m) => m.offset)).to.deep.equal(['0', '1', '2']);
    expect(b.backend.committedOffsets('committer').map((c) => [c.partition, c.offset])).to.deep.equal([
      [1, 3],
    ]);
    b.backend.commitOffsets('committer', [
      { topic: 'commits', partition: 0, offset: 0, metadata: 'set by the store' },
    ]);
    const fetched = await admin.fetchOffsets({ groupId: 'committer', topics: ['commits'] });
    expect(fetched[0]!.partitions.sort((x, y) => x.partition - y.partition)).to.deep.equal([
      { partition: 0, offset: '0', metadata: 'set by the store' },
      { partition: 1, offset: '3', metadata: null },
    ]);
    const groups = await admin.listGroups();
    expect(groups.groups).to.deep.include({ groupId: 'committer', protocolType: 'consumer' });
    await admin.deleteGroups(['committer']);
    expect(b.backend.committedOffsets('committer')).to.deep.equal([]);
    await admin.disconnect();
  });

  it('idempotent kafkajs producer: producer id and sequences in the stored batches, every record once', async () => {
    const kafka = kafkaClient(b.bootstrap);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let i = 0; i < 3; i++) {
      await producer.send({
        topic: 'idem',
        acks: -1,
        messages: [
          { key: 'k', value: `v${i}a` },
          { key: 'k', value: `v${i}b` },
        ],
      });
    }
    await producer.disconnect();
    const stored = b.backend.storedBatches('idem', 0);
    expect(
      stored.map((s) => [Number(s.readBigInt64BE(43)) >= 1000, s.readInt16BE(51), s.readInt32BE(53)]),
    ).to.deep.equal([
      [true, 0, 0],
      [true, 0, 2],
      [true, 0, 4],
    ]);
    const seen = await kafkajsConsume(b.bootstrap, 'idem', 6);
    expect(seen.map((m) => String(m.value))).to.deep.equal(['v0a', 'v0b', 'v1a', 'v1b', 'v2a', 'v2b']);
  });

  it('kafka-python produces, confluent-kafka consumes; confluent-kafka (idempotent, null header) produces, kafka-python consumes', async function () {
    requireClient(this, 'kafka-python');
    requireClient(this, 'confluent-kafka');
    const env = { BOOTSTRAP: b.bootstrap };
    await python(
      `
import os
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=os.environ['BOOTSTRAP'], compression_type='gzip')
for i in range(3):
    p.send('py2cf', key=b'k%d' % i, value=('v%d é' % i).encode(), headers=[('h', b'1'), ('h', b'2')], timestamp_ms=1700000000000 + i).get(timeout=10)
p.close()
`,
      env,
    );
    const cf = await python(
      `
import os, time, json
from confluent_kafka import Consumer
c = Consumer({'bootstrap.servers': os.environ['BOOTSTRAP'], 'group.id': 'cf', 'auto.offset.reset': 'earliest'})
c.subscribe(['py2cf'])
out, t = [], time.time()
while len(out) < 3 and time.time() - t < 20:
    m = c.poll(0.5)
    if m is None or m.error(): continue
    out.append([m.offset(), m.timestamp()[1], m.key().decode(), m.value().decode(), [[k, v.decode()] for k, v in m.headers()]])
c.close()
print(json.dumps(out))
`,
      env,
    );
    expect(JSON.parse(cf)).to.deep.equal(
      [0, 1, 2].map((i) => [
        i,
        1700000000000 + i,
        `k${i}`,
        `v${i} é`,
        [
          ['h', '1'],
          ['h', '2'],
        ],
      ]),
    );
    await python(
      `
import os
from confluent_kafka import Producer
p = Producer({'bootstrap.servers': os.environ['BOOTSTRAP'], 'enable.idempotence': True, 'compression.type': 'gzip'})
for i in range(3):
    p.produce('cf2py', key=b'k%d' % i, value=b'v%d' % i, headers=[('h', b'x'), ('n', None)], timestamp=1700000000100 + i)
assert p.flush(10) == 0
`,
      env,
    );
    const kp = await python(
      `
import os, json
from kafka import KafkaConsumer
c = KafkaConsumer('cf2py', bootstrap_servers=os.environ['BOOTSTRAP'], group_id='kp', auto_offset_reset='earliest', consumer_timeout_ms=5000)
out = []
for m in c:
    out.append([m.offset, m.timestamp, m.key.decode(), m.value.decode(), [[k, v.decode() if v is not None else None] for k, v in m.headers]])
    if len(out) == 3: break
c.commit()
c.close()
print(json.dumps(out))
`,
      env,
    );
    expect(JSON.parse(kp)).to.deep.equal(
      [0, 1, 2].map((i) => [
        i,
        1700000000100 + i,
        `k${i}`,
        `v${i}`,
        [
          ['h', 'x'],
          ['n', null],
        ],
      ]),
    );
    expect(b.backend.committedOffsets('kp')).to.deep.equal([
      { topic: 'cf2py', partition: 0, offset: 3, metadata: '' },
    ]);
    const [first] = b.backend.storedBatches('cf2py', 0);
    expect(Number(first!.readBigInt64BE(43)), 'idempotent producer id').to.be.at.least(1000);
  });

  it('kcat admin view: metadata lists the one broker and the topics', async function () {
    requireClient(this, 'kcat');
    b.backend.createTopic('listed', 3, {});
    const r = await kcat(['-b', b.bootstrap, '-L', '-J']);
    const meta = JSON.parse(r.stdout) as {
      brokers: { id: number; name: string }[];
      topics: { topic: string; partitions: unknown[] }[];
    };
    expect(meta.brokers).to.deep.equal([{ id: 0, name: `127.0.0.1:${b.port}` }]);
    expect(meta.topics.map((t) => [t.topic, t.partitions.length])).to.deep.equal([['listed', 3]]);
    expect(KafkaError.NONE).to.equal(0);
  });
});
