/**
 * Records real clients' sessions against the listener (through RecordingProxy) and writes them to
 * spec/kafka/fixtures/frames.json: the codec specs decode and re-encode every frame and the live
 * fuzzer mutates them. Re-run after changing the served versions:
 *
 *   node dist/spec/kafka/tools/capture.js
 *
 * Sessions: kafkajs (admin, plain and idempotent producers with gzip and headers, a consumer
 * group, SASL PLAIN and SCRAM-SHA-256), kcat (metadata, produce with each codec, consume, a -G
 * member, offset queries, SASL), kafka-python (producer, group consumer, admin), confluent-kafka
 * (idempotent producer, group consumer, admin). At most SAMPLES frames per client, API and version.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiByKey } from '../../../lib/kafka/schema/index.js';
import { kafkaClient, kafkajs, kcat, MISSING, python, startBroker } from '../clients.js';
import { RecordingProxy, type RecordedExchange } from './recording-proxy.js';

const SAMPLES = 2;
const MAX_FRAME = 16 * 1024;
const USERS = { alice: 'alice-secret' };

export interface Fixture {
  client: string;
  api: string;
  apiKey: number;
  version: number;
  request: string;
  response: string | null;
}

async function session(
  client: string,
  sasl: boolean,
  body: (bootstrap: string) => Promise<void>,
): Promise<RecordedExchange[]> {
  // The listener advertises the proxy, so that every connection the client opens is recorded.
  const proxy = await RecordingProxy.start();
  const broker = await startBroker({
    advertisedPort: proxy.port,
    ...(sasl ? { sasl: { users: USERS } } : {}),
  });
  proxy.upstreamPort = broker.port;
  try {
    await body(`127.0.0.1:${proxy.port}`);
  } catch (err) {
    process.stderr.write(`${client}: ${(err as Error).message}\n`);
  }
  await proxy.close();
  await broker.server.close();
  return proxy.exchanges;
}

async function kafkajsSession(bootstrap: string): Promise<void> {
  const kafka = kafkaClient(bootstrap);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'cap', numPartitions: 2 }] });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: 'cap',
    compression: kafkajs.CompressionTypes.GZIP,
    messages: [{ key: 'k', value: 'v', headers: { h: ['1', '2'] }, timestamp: '1700000000000' }],
  });
  const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await idempotent.connect();
  await idempotent.send({ topic: 'cap', acks: -1, messages: [{ key: 'i', value: 'idempotent' }] });
  await idempotent.disconnect();
  const consumer = kafka.consumer({ groupId: 'cap-g', sessionTimeout: 10000 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'cap', fromBeginning: true });
  let seen = 0;
  await new Promise<void>(
    (resolve) => void consumer.run({ eachMessage: async () => void (++seen === 2 && resolve()) }),
  );
  await consumer.disconnect();
  await admin.fetchOffsets({ groupId: 'cap-g', topics: ['cap'] });
  await admin.fetchTopicOffsets('cap');
  await admin.fetchTopicOffsetsByTimestamp('cap', 1700000000000);
  await admin.describeConfigs({
    resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'cap' }],
    includeSynonyms: false,
  });
  await admin.listGroups();
  await admin.describeGroups(['cap-g']);
  await admin.deleteGroups(['cap-g']);
  await admin.createPartitions({ topicPartitions: [{ topic: 'cap', count: 4 }] }).catch(() => undefined);
  await admin.deleteTopics({ topics: ['cap'] });
  await producer.disconnect();
  await admin.disconnect();
}

async function kafkajsSasl(bootstrap: string): Promise<void> {
  const mechanisms: kafkajs.SASLOptions[] = [
    { mechanism: 'plain', username: 'alice', password: USERS.alice },
    { mechanism: 'scram-sha-256', username: 'alice', password: USERS.alice },
  ];
  for (const sasl of mechanisms) {
    const kafka = kafkaClient(bootstrap, { sasl });
    const admin = kafka.admin();
    await admin.connect();
    await admin.listTopics();
    await admin.disconnect();
  }
}

async function kcatSession(bootstrap: string): Promise<void> {
  await kcat(['-b', bootstrap, '-L']);
  for (const z of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    await kcat(['-b', bootstrap, '-P', '-t', 'kc', '-K', ':', '-z', z, '-H', 'h=1'], `k:${z}\n`);
  }
  await kcat(['-b', bootstrap, '-C', '-t', 'kc', '-o', 'beginning', '-e']);
  await kcat(['-b', bootstrap, '-Q', '-t', 'kc:0:1700000000000']);
  await kcat(
    ['-b', bootstrap, '-G', 'kc-g', '-o', 'beginning', '-e', '-X', 'enable.partition.eof=true', 'kc'],
    undefined,
    30_000,
  ).catch(() => undefined);
}

async function kcatSasl(bootstrap: string): Promise<void> {
  for (const m of ['PLAIN', 'SCRAM-SHA-256']) {
    await kcat([
      '-b',
      bootstrap,
      '-L',
      '-X',
      'security.protocol=SASL_PLAINTEXT',
      '-X',
      `sasl.mechanisms=${m}`,
      '-X',
      'sasl.username=alice',
      '-X',
      `sasl.password=${USERS.alice}`,
    ]);
  }
}

const KAFKA_PYTHON = `
import os
from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient
from kafka.admin import NewTopic
b = os.environ['BOOTSTRAP']
a = KafkaAdminClient(bootstrap_servers=b)
a.create_topics([NewTopic('kp', 1, 1)])
p = KafkaProducer(bootstrap_servers=b)
p.send('kp', key=b'k', value=b'v', headers=[('h', b'1')]).get(timeout=10)
p.close()
c = KafkaConsumer('kp', bootstrap_servers=b, group_id='kp-g', auto_offset_reset='earliest', consumer_timeout_ms=3000)
for m in c: pass
c.commit()
c.close()
a.list_consumer_groups()
a.describe_consumer_groups(['kp-g'])
a.delete_topics(['kp'])
a.close()
`;

const CONFLUENT = `
import os, time
from confluent_kafka import Producer, Consumer
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource, NewPartitions
b = os.environ['BOOTSTRAP']
a = AdminClient({'bootstrap.servers': b})
for f in a.create_topics([NewTopic('cf', 2, 1)]).values(): f.result()
for f in a.describe_configs([ConfigResource('topic', 'cf')]).values(): f.result()
for f in a.create_partitions([NewPartitions('cf', 4)]).values():
    try: f.result()
    except Exception: pass
p = Producer({'bootstrap.servers': b, 'enable.idempotence': True, 'compression.type': 'lz4'})
p.produce('cf', key=b'k', value=b'v', headers=[('h', b'1'), ('h', None)])
p.flush(10)
c = Consumer({'bootstrap.servers': b, 'group.id': 'cf-g', 'auto.offset.reset': 'earliest'})
c.subscribe(['cf'])
t = time.time()
while time.time() - t < 15:
    m = c.poll(0.5)
    if m is not None and not m.error(): break
c.commit(asynchronous=False)
c.close()
a.list_groups(timeout=10)
`;

export async function capture(): Promise<Fixture[]> {
  const sessions: [string, boolean, (b: string) => Promise<void>, string | undefined][] = [
    ['kafkajs', false, kafkajsSession, undefined],
    ['kafkajs', true, kafkajsSasl, undefined],
    ['kcat', false, kcatSession, MISSING.kcat],
    ['kcat', true, kcatSasl, MISSING.kcat],
    [
      'kafka-python',
      false,
      (b) => python(KAFKA_PYTHON, { BOOTSTRAP: b }).then(() => undefined),
      MISSING['kafka-python'],
    ],
    [
      'confluent-kafka',
      false,
      (b) => python(CONFLUENT, { BOOTSTRAP: b }).then(() => undefined),
      MISSING['confluent-kafka'],
    ],
  ];
  const fixtures: Fixture[] = [];
  const counts = new Map<string, number>();
  for (const [client, sasl, body, missing] of sessions) {
    if (missing) {
      process.stderr.write(`skipping ${client}: ${missing}\n`);
      continue;
    }
    for (const e of await session(client, sasl, body)) {
      const api = apiByKey(e.apiKey);
      if (!api || e.request.length > MAX_FRAME || (e.response && e.response.length > MAX_FRAME)) continue;
      const key = `${client}/${e.apiKey}/${e.version}`;
      const n = counts.get(key) ?? 0;
      if (n >= SAMPLES) continue;
      counts.set(key, n + 1);
      fixtures.push({
        client,
        api: api.name,
        apiKey: e.apiKey,
        version: e.version,
        request: e.request.toString('hex'),
        response: e.response ? e.response.toString('hex') : null,
      });
    }
  }
  return fixtures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../../../spec/kafka/fixtures/frames.json',
  );
  const fixtures = await capture();
  fs.writeFileSync(out, JSON.stringify(fixtures, null, 1) + '\n');
  const summary = new Map<string, Set<string>>();
  for (const f of fixtures) {
    if (!summary.has(f.api)) summary.set(f.api, new Set());
    summary.get(f.api)!.add(`${f.client} v${f.version}`);
  }
  for (const [api, seen] of summary) process.stdout.write(`${api}: ${[...seen].join(', ')}\n`);
  process.exit(0);
}
