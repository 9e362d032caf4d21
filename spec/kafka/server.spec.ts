/**
 * The listener at the protocol level, with exact frames: version negotiation, unsupported
 * requests, pipelining, hostile frames, produce/fetch semantics (acks, idempotence, long poll,
 * size limits), offsets, admin and shutdown. Real clients are in clients.spec.ts.
 */
import { expect } from 'chai';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeResponse, encodeRequest, frame } from '../../lib/kafka/codec/messages.js';
import { KafkaClient } from '../../lib/kafka/client.js';
import { KafkaError } from '../../lib/kafka/errors.js';
import { KafkaServer } from '../../lib/kafka/server.js';
import { APIS, ApiKey, apiByKey } from '../../lib/kafka/schema/index.js';
import type { Struct } from '../../lib/kafka/schema/types.js';
import { expectCodeAsync } from '../helpers/temp.js';
import { batch, values } from './batches.js';
import { startBroker, type TestBroker } from './clients.js';
import { testBackend } from './test-store.js';

type Topics = { name: string; partitions: Struct[] }[];

const produce = (client: KafkaClient, topic: string, partition: number, records: Buffer, acks = -1) =>
  client.request('Produce', 8, {
    transactionalId: null,
    acks,
    timeoutMs: 1000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  });

const produced = (r: Struct) =>
  (r.responses as { partitionResponses: Struct[] }[])[0]!.partitionResponses[0]!;

const fetchBody = (
  topic: string,
  partitions: [number, number][],
  o: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {},
) => ({
  replicaId: -1,
  maxWaitMs: o.maxWaitMs ?? 0,
  minBytes: o.minBytes ?? 1,
  maxBytes: o.maxBytes ?? 1 << 20,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [
    {
      topic,
      partitions: partitions.map(([partition, fetchOffset]) => ({
        partition,
        currentLeaderEpoch: -1,
        fetchOffset,
        logStartOffset: -1,
        partitionMaxBytes: o.partitionMaxBytes ?? 1 << 20,
      })),
    },
  ],
  forgottenTopicsData: [],
  rackId: '',
});

const fetched = (r: Struct) => (r.responses as { partitions: Struct[] }[])[0]!.partitions;

/** V8's full collection, without starting node with `--expose-gc` (the flag set at run time). */
function fullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Connects a raw socket and collects whole response frames. */
async function rawConnection(port: number) {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await new Promise((resolve) => socket.once('connect', resolve));
  let pending = Buffer.alloc(0);
  const frames: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      frames.push(pending.subarray(4, 4 + pending.readInt32BE(0)));
      pending = pending.subarray(4 + pending.readInt32BE(0));
    }
  });
  const until = async (n: number) => {
    for (let i = 0; i < 500 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return frames;
  };
  const send = (apiName: keyof typeof ApiKey, version: number, id: number, body: Struct) => {
    for (const c of frame(encodeRequest(apiByKey(ApiKey[apiName])!, version, id, 'raw', body)))
      socket.write(c);
  };
  return { socket, frames, until, closed, send };
}

describe('Kafka listener (protocol level)', () => {
  let b: TestBroker;
  let client: KafkaClient;

  beforeEach(async () => {
    b = await startBroker({ maxRequestBytes: 64 * 1024 });
    b.backend.createTopic('t', 2, {});
    client = await KafkaClient.connect({ host: '127.0.0.1', port: b.port });
  });

  afterEach(async () => {
    client.close();
    await b.server.close();
  });

  describe('ApiVersions', () => {
    it('advertises exactly the versions it serves', async () => {
      const versions = await client.apiVersions();
      expect([...versions].sort((x, y) => x[0] - y[0])).to.deep.equal(
        APIS.map((a) => [a.key, a.versions] as const).sort((x, y) => x[0] - y[0]),
      );
      const v3 = await client.request('ApiVersions', 3, {
        clientSoftwareName: 'spec',
        clientSoftwareVersion: '1',
      });
      expect(v3.errorCode).to.equal(0);
      expect((v3.apiKeys as unknown[]).length).to.equal(APIS.length);
    });

    it('answers a too-new ApiVersions in the v0 format with UNSUPPORTED_VERSION (KIP-511)', async () => {
      const raw = await rawConnection(b.port);
      const w = Buffer.alloc(8);
      w.writeInt16BE(18, 0);
      w.writeInt16BE(99, 2);
      w.writeInt32BE(5, 4);
      for (const c of frame([w])) raw.socket.write(c);
      const [res] = await raw.until(1);
      const decoded = decodeResponse(apiByKey(18)!, 0, res!);
      expect(decoded.correlationId).to.equal(5);
      expect(decoded.body.errorCode).to.equal(KafkaError.UNSUPPORTED_VERSION);
      expect((decoded.body.apiKeys as unknown[]).length).to.equal(APIS.length);
      raw.socket.destroy();
    });
  });

  describe('unsupported requests', () => {
    it('answers a known API at an unserved version in its own shape with UNSUPPORTED_VERSION; the connection survives', async () => {
      const r = await client.request('Fetch', 13, { topics: [] });
      expect(r.errorCode).to.equal(KafkaError.UNSUPPORTED_VERSION);
      expect(r.responses).to.deep.equal([]);
      expect((await client.apiVersions()).size).to.equal(APIS.length);
      expect(b.logs.some((l) => /API key 1 version 13/.test(l))).to.equal(true);
    });

    it('answers an unknown API key with its correlation id and UNSUPPORTED_VERSION; the connection survives', async () => {
      const raw = await rawConnection(b.port);
      const w = Buffer.alloc(10);
      w.writeInt16BE(777, 0);
      w.writeInt16BE(0, 2);
      w.writeInt32BE(41, 4);
      for (const c of frame([w])) raw.socket.write(c);
      raw.send('ApiVersions', 0, 42, {});
      const frames = await raw.until(2);
      expect(frames[0]).to.deep.equal(Buffer.from([0, 0, 0, 41, 0, 35]));
      expect(decodeResponse(apiByKey(18)!, 0, frames[1]!).correlationId).to.equal(42);
      raw.socket.destroy();
    });
  });

  describe('framing', () => {
    it('answers pipelined requests in request order, a slow long-poll included', async () => {
      const raw = await rawConnection(b.port);
      raw.send('Fetch', 11, 1, fetchBody('t', [[0, 0]], { maxWaitMs: 300 }));
      for (let id = 2; id <= 20; id++)
        raw.send(id % 2 ? 'Metadata' : 'ApiVersions', id % 2 ? 1 : 0, id, id % 2 ? { topics: null } : {});
      const frames = await raw.until(20);
      expect(frames.map((f) => f.readInt32BE(0))).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
      raw.socket.destroy();
    });

    it('closes a connection whose frame exceeds socket.request.max.bytes, logs why, and keeps serving others', async () => {
      const raw = await rawConnection(b.port);
      const size = Buffer.alloc(4);
      size.writeInt32BE(64 * 1024 + 1);
      raw.socket.write(size);
      await raw.closed;
      expect(b.logs.some((l) => /exceeds socket\.request\.max\.bytes \(65536\)/.test(l))).to.equal(true);
      expect((await client.apiVersions()).size).to.equal(APIS.length);
    });

    it('closes a connection that sends a malformed frame (huge array count), logs why, touches no log', async () => {
      const raw = await rawConnection(b.port);
      const w = Buffer.alloc(14);
      w.writeInt16BE(ApiKey.Metadata, 0);
      w.writeInt16BE(1, 2);
      w.writeInt32BE(9, 4);
      w.writeInt16BE(-1, 8);
      w.writeInt32BE(0x7fffffff, 10);
      for (const c of frame([w])) raw.socket.write(c);
      await raw.closed;
      expect(raw.frames).to.deep.equal([]);
      expect(b.logs.some((l) => /elements cannot fit/.test(l))).to.equal(true);
      expect(b.backend.appendCalls).to.equal(0);
      expect((await client.apiVersions()).size).to.equal(APIS.length);
    });

    it('refuses a negative frame size', async () => {
      const raw = await rawConnection(b.port);
      raw.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
      await raw.closed;
      expect(b.logs.some((l) => /negative frame size -2/.test(l))).to.equal(true);
    });
  });

  describe('Produce', () => {
    it('stores the producer batch as sent, with only the base offset rewritten', async () => {
      const first = batch(values(3, 'a'));
      const second = batch(values(2, 'b'));
      expect(produced(await produce(client, 't', 1, first))).to.deep.include({
        errorCode: 0,
        baseOffset: 0,
        logStartOffset: 0,
      });
      expect(produced(await produce(client, 't', 1, second))).to.deep.include({
        errorCode: 0,
        baseOffset: 3,
      });
      const stored = b.backend.storedBatches('t', 1);
      expect(stored[0]).to.deep.equal(first);
      expect(stored[1]!.subarray(8)).to.deep.equal(second.subarray(8));
      expect(stored[1]!.readBigInt64BE(0)).to.equal(3n);
    });

    it('acks=0: no response at all, the records are stored, the next response is the next request', async () => {
      client.send('Produce', 7, {
        transactionalId: null,
        acks: 0,
        timeoutMs: 1000,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: batch(values(2)) }] }],
      });
      const r = await client.request('ListOffsets', 1, {
        replicaId: -1,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1 }] }],
      });
      expect((r.topics as Topics)[0]!.partitions[0]!.offset).to.equal(2);
    });

    it('acks=0 that fails closes the connection (the only way to tell the producer), with the reason logged', async () => {
      client.send('Produce', 7, {
        transactionalId: null,
        acks: 0,
        timeoutMs: 1000,
        topicData: [{ name: 'nope', partitionData: [{ index: 0, records: batch(values(1)) }] }],
      });
      await expectCodeAsync(() => client.request('ApiVersions', 0, {}), 'LOGSTORE_IO');
      expect(b.logs.some((l) => /acks=0 produce failed \(nope-0/.test(l))).to.equal(true);
    });

    it('maps refusals onto Kafka codes: unknown topic, bad CRC, bad acks, transactions', async () => {
      expect(produced(await produce(client, 'nope', 0, batch(values(1)))).errorCode).to.equal(
        KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      );
      expect(produced(await produce(client, 't', 9, batch(values(1)))).errorCode).to.equal(
        KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      );
      const bad = batch(values(1));
      bad[bad.length - 1]! ^= 1;
      const refused = produced(await produce(client, 't', 0, bad));
      expect(refused.errorCode).to.equal(KafkaError.CORRUPT_MESSAGE);
      expect(refused.errorMessage).to.match(/CRC32C mismatch/);
      expect(produced(await produce(client, 't', 0, batch(values(1)), 2)).errorCode).to.equal(
        KafkaError.INVALID_REQUIRED_ACKS,
      );
      const txn = await client.request('Produce', 7, {
        transactionalId: 'tx',
        acks: -1,
        timeoutMs: 1,
        topicData: [{ name: 't', partitionData: [{ index: 0, records: batch(values(1)) }] }],
      });
      expect(produced(txn).errorCode).to.equal(KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      expect(b.backend.storedBatches('t', 0)).to.deep.equal([]);
    });

    it('idempotent producer: a retried batch is acknowledged with its first offsets and stored once; gaps and stale epochs are refused', async () => {
      const id = await client.request('InitProducerId', 1, {
        transactionalId: null,
        transactionTimeoutMs: 60000,
      });
      expect(id.errorCode).to.equal(0);
      const producer = { producerId: id.producerId as number, producerEpoch: id.producerEpoch as number };
      const b0 = batch(values(3), { ...producer, baseSequence: 0 });
      expect(produced(await produce(client, 't', 0, b0)).baseOffset).to.equal(0);
      expect(produced(await produce(client, 't', 0, b0))).to.deep.include({ errorCode: 0, baseOffset: 0 });
      expect(b.backend.storedBatches('t', 0)).to.have.length(1);
      const gap = batch(values(1), { ...producer, baseSequence: 5 });
      expect(produced(await produce(client, 't', 0, gap)).errorCode).to.equal(
        KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
      );
      const next = batch(values(1), { ...producer, baseSequence: 3 });
      expect(produced(await produce(client, 't', 0, next)).baseOffset).to.equal(3);
      const bumped = await client.request('InitProducerId', 3, {
        transactionalId: null,
        transactionTimeoutMs: 60000,
        ...producer,
      });
      expect(bumped).to.deep.include({ errorCode: 0, producerId: producer.producerId, producerEpoch: 1 });
      // The bump fences the old epoch at once, before any batch of the new one arrived.
      const stale = batch(values(1), { ...producer, baseSequence: 4 });
      expect(produced(await produce(client, 't', 0, stale)).errorCode).to.equal(
        KafkaError.INVALID_PRODUCER_EPOCH,
      );
    });
  });

  describe('Fetch', () => {
    it('serves the stored bytes unmodified, from the batch holding the offset', async () => {
      await produce(client, 't', 0, batch(values(3)));
      await produce(client, 't', 0, batch(values(2)));
      const r = fetched(await client.request('Fetch', 11, fetchBody('t', [[0, 4]])))[0]!;
      expect(r).to.deep.include({ errorCode: 0, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0 });
      expect(r.records).to.deep.equal(b.backend.storedBatches('t', 0)[1]);
    });

    it('long-polls: an append wakes a waiting fetch long before maxWaitMs', async () => {
      const started = Date.now();
      const pending = client.request('Fetch', 11, fetchBody('t', [[1, 0]], { maxWaitMs: 10_000 }));
      setTimeout(() => b.backend.appendBatches('t', 1, batch(values(1))), 150);
      const r = fetched(await pending)[0]!;
      expect((r.records as Buffer).length).to.be.greaterThan(0);
      expect(r.highWatermark).to.equal(1);
      expect(Date.now() - started).to.be.below(5000);
    });

    it('waits maxWaitMs when nothing arrives, then answers empty', async () => {
      const started = Date.now();
      const r = fetched(await client.request('Fetch', 11, fetchBody('t', [[0, 0]], { maxWaitMs: 300 })))[0]!;
      expect(Date.now() - started).to.be.at.least(290);
      expect(r).to.deep.include({ errorCode: 0, highWatermark: 0 });
      expect((r.records as Buffer).length).to.equal(0);
    });

    it('waits for minBytes across appends', async () => {
      const one = batch(values(1)).length;
      const pending = client.request(
        'Fetch',
        11,
        fetchBody('t', [[0, 0]], { maxWaitMs: 10_000, minBytes: one * 2 + 1 }),
      );
      b.backend.appendBatches('t', 0, batch(values(1)));
      await new Promise((r) => setTimeout(r, 100));
      b.backend.appendBatches('t', 0, batch(values(1)));
      await new Promise((r) => setTimeout(r, 100));
      b.backend.appendBatches('t', 0, batch(values(1)));
      const r = fetched(await pending)[0]!;
      expect((r.records as Buffer).length).to.equal(one * 3);
    });

    it('counts what arrives while it waits for minBytes, reading the log only at its start and end', async () => {
      // Reading at every append made each append read everything waiting, for every such fetch.
      const one = batch(values(1)).length;
      const readBatches = b.backend.readBatches.bind(b.backend);
      const reads: number[] = [];
      b.backend.readBatches = (topic, partition, offset, maxBytes, copy) => {
        reads.push(partition);
        return readBatches(topic, partition, offset, maxBytes, copy);
      };
      try {
        const pending = client.request(
          'Fetch',
          11,
          fetchBody(
            't',
            [
              [0, 0],
              [1, 0],
            ],
            { maxWaitMs: 10_000, minBytes: one * 10, partitionMaxBytes: one * 6 },
          ),
        );
        await new Promise((r) => setTimeout(r, 50));
        expect(reads).to.deep.equal([0, 1]);
        // Partition 0 counts for at most 6 batches (its partitionMaxBytes): 8 there and 3 on
        // partition 1 fall short of 10; the 4th on partition 1 makes 10.
        for (let i = 0; i < 8; i++) b.backend.appendBatches('t', 0, batch(values(1)));
        for (let i = 0; i < 3; i++) b.backend.appendBatches('t', 1, batch(values(1)));
        await new Promise((r) => setTimeout(r, 100));
        expect(reads).to.deep.equal([0, 1]);
        b.backend.appendBatches('t', 1, batch(values(1)));
        const r = fetched(await pending);
        expect(reads).to.deep.equal([0, 1, 0, 1]);
        expect(r.map((p) => [p.partitionIndex, (p.records as Buffer).length, p.highWatermark])).to.deep.equal(
          [
            [0, one * 6, 8],
            [1, one * 4, 4],
          ],
        );
      } finally {
        b.backend.readBatches = readBatches;
      }
    });

    it('answers a fetch waiting on a topic that is deleted at once, with UNKNOWN_TOPIC_OR_PARTITION', async () => {
      const started = Date.now();
      const pending = client.request(
        'Fetch',
        11,
        fetchBody('t', [[0, 0]], { maxWaitMs: 10_000, minBytes: 1000 }),
      );
      await new Promise((r) => setTimeout(r, 50));
      b.backend.logStore.deleteTopic('t');
      const r = fetched(await pending)[0]!;
      expect(r.errorCode).to.equal(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      expect(Date.now() - started).to.be.below(5000);
    });

    it('keeps nothing of a long poll once it ended: the heap holds still over 2,000 woken waits', async () => {
      // Each wait's closure, timer and response stayed referenced from the connection until it
      // closed (a `then` on its end), ~2.8 KB a wait: a consumer's connection grew for its lifetime.
      const gc = fullCollection();
      // Each wait is woken by a batch of one record, appended once the fetch waits for it.
      const onAppend = b.backend.onAppend.bind(b.backend);
      let waits = 0;
      b.backend.onAppend = (topic, partition, wake) => {
        waits++;
        setImmediate(() => b.backend.appendBatches('t', 1, batch(values(1))));
        return onAppend(topic, partition, wake);
      };
      let offset = 0; // partition 1 starts empty
      const wokenWaits = async (n: number) => {
        for (let i = 0; i < n; i++, offset++) {
          const pending = client.request('Fetch', 11, fetchBody('t', [[1, offset]], { maxWaitMs: 10_000 }));
          expect(fetched(await pending)[0]!.highWatermark).to.equal(offset + 1);
        }
      };
      await wokenWaits(2_000); // code compiled and optimized, pools filled
      gc();
      const before = process.memoryUsage().heapUsed;
      await wokenWaits(2_000);
      gc();
      const grownPerWait = (process.memoryUsage().heapUsed - before) / 2_000;
      expect(waits).to.equal(4_000);
      expect(grownPerWait).to.be.below(500); // ~2,800 bytes a wait before
    });

    it("keeps a response's bytes its own while it waits behind a consumer that does not read", async () => {
      // Responses of 600 KB, more than the kernel's socket buffers hold, wait in the server while
      // one consumer does not read; another consumer fetches meanwhile. The memory the waiting
      // records were copied into must not serve the other's responses before the socket sent them.
      const stored = Array.from({ length: 12 }, (_, i) =>
        batch(
          Array.from({ length: 6 }, (_, j) => ({ value: Buffer.alloc(100_000, 65 + ((i * 6 + j) % 26)) })),
        ),
      );
      for (const one of stored) b.backend.appendBatches('t', 0, one);
      const slow = await rawConnection(b.port);
      slow.socket.pause();
      stored.forEach((_, i) =>
        slow.send('Fetch', 11, i + 1, fetchBody('t', [[0, i * 6]], { partitionMaxBytes: 1 })),
      );
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < stored.length; i++) {
        const other = fetched(
          await client.request('Fetch', 11, fetchBody('t', [[0, (11 - i) * 6]], { partitionMaxBytes: 1 })),
        )[0]!;
        expect((other.records as Buffer).subarray(16).equals(stored[11 - i]!.subarray(16))).to.equal(true);
      }
      slow.socket.resume();
      const frames = await slow.until(stored.length);
      const api = apiByKey(ApiKey.Fetch)!;
      const records = frames.map((f) => fetched(decodeResponse(api, 11, f).body)[0]!.records as Buffer);
      expect(records.map((r, i) => r.subarray(16).equals(stored[i]!.subarray(16)))).to.deep.equal(
        stored.map(() => true),
      );
      expect(records.map((r) => Number(r.readBigInt64BE(0)))).to.deep.equal(stored.map((_, i) => i * 6));
      slow.socket.destroy();
    });

    it('gives the first partition one whole batch beyond maxBytes, and nothing more (KIP-74)', async () => {
      const big = batch(values(50, 'x'.repeat(100)));
      await produce(client, 't', 0, big);
      await produce(client, 't', 1, batch(values(1)));
      const r = fetched(
        await client.request(
          'Fetch',
          11,
          fetchBody(
            't',
            [
              [0, 0],
              [1, 0],
            ],
            { maxBytes: 100, partitionMaxBytes: 100 },
          ),
        ),
      );
      expect(r[0]!.records).to.deep.equal(big);
      expect((r[1]!.records as Buffer).length).to.equal(0);
      expect(r[1]!.highWatermark).to.equal(1);
    });

    it('answers OFFSET_OUT_OF_RANGE beyond the end, UNKNOWN_TOPIC_OR_PARTITION for a missing partition', async () => {
      const r = fetched(
        await client.request(
          'Fetch',
          11,
          fetchBody(
            't',
            [
              [0, 7],
              [5, 0],
            ],
            { maxWaitMs: 5000 },
          ),
        ),
      );
      expect(r.map((p) => p.errorCode)).to.deep.equal([
        KafkaError.OFFSET_OUT_OF_RANGE,
        KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      ]);
    });
  });

  describe('ListOffsets', () => {
    it('finds earliest, latest and the first offset at a timestamp (v0 and v1+ shapes)', async () => {
      await produce(client, 't', 0, batch(values(5)));
      const ask = (timestamp: number, v = 1) =>
        client.request('ListOffsets', v, {
          replicaId: -1,
          topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp, maxNumOffsets: 1 }] }],
        });
      expect((await ask(-2)).topics as Topics).to.have.nested.property('[0].partitions[0].offset', 0);
      expect((await ask(-1)).topics as Topics).to.have.nested.property('[0].partitions[0].offset', 5);
      const byTime = ((await ask(1_700_000_000_003)).topics as Topics)[0]!.partitions[0]!;
      expect(byTime).to.deep.include({ offset: 3, timestamp: 1_700_000_000_003 });
      expect(((await ask(1_800_000_000_000)).topics as Topics)[0]!.partitions[0]!.offset).to.equal(-1);
      expect(((await ask(-1, 0)).topics as Topics)[0]!.partitions[0]!.oldStyleOffsets).to.deep.equal([5]);
    });
  });

  describe('Metadata and admin', () => {
    it('describes itself as the one broker leading every partition; auto-creates topics it is asked for', async () => {
      const r = await client.request('Metadata', 9, {
        topics: [{ name: 'fresh' }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      });
      expect(r.brokers).to.deep.equal([{ nodeId: 0, host: '127.0.0.1', port: b.port, rack: null }]);
      const topic = (r.topics as Struct[])[0]!;
      expect(topic).to.deep.include({ errorCode: 0, name: 'fresh' });
      expect(topic.partitions).to.deep.equal([
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 0,
          leaderEpoch: 0,
          replicaNodes: [0],
          isrNodes: [0],
          offlineReplicas: [],
        },
      ]);
      const off = await client.request('Metadata', 9, {
        topics: [{ name: 'other' }],
        allowAutoTopicCreation: false,
      });
      expect((off.topics as Struct[])[0]!.errorCode).to.equal(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      const bad = await client.request('Metadata', 4, {
        topics: [{ name: 'bad name!' }],
        allowAutoTopicCreation: true,
      });
      expect((bad.topics as Struct[])[0]!.errorCode).to.equal(KafkaError.INVALID_TOPIC_EXCEPTION);
      expect(
        b.backend
          .listTopics()
          .map((t) => t.name)
          .sort(),
      ).to.deep.equal(['fresh', 't']);
    });

    it('does not auto-create when the listener says so', async () => {
      const other = await startBroker({ autoCreateTopics: false });
      const c = await KafkaClient.connect({ host: '127.0.0.1', port: other.port });
      const r = await c.request('Metadata', 1, { topics: [{ name: 'x' }] });
      expect((r.topics as Struct[])[0]!.errorCode).to.equal(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      c.close();
      await other.server.close();
    });

    it('creates, describes and deletes topics; refuses replication, existing names and CreatePartitions with a clear error', async () => {
      const created = await client.request('CreateTopics', 5, {
        topics: [
          {
            name: 'c1',
            numPartitions: 3,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '1000' }],
          },
          { name: 'c2', numPartitions: -1, replicationFactor: 3, assignments: [], configs: [] },
          { name: 't', numPartitions: 1, replicationFactor: -1, assignments: [], configs: [] },
          {
            name: 'c3',
            numPartitions: 1,
            replicationFactor: -1,
            assignments: [],
            configs: [{ name: 'no.such', value: '1' }],
          },
        ],
        timeoutMs: 1000,
        validateOnly: false,
      });
      expect((created.topics as Struct[]).map((t) => [t.name, t.errorCode])).to.deep.equal([
        ['c1', 0],
        ['c2', KafkaError.INVALID_REPLICATION_FACTOR],
        ['t', KafkaError.TOPIC_ALREADY_EXISTS],
        ['c3', KafkaError.INVALID_CONFIG],
      ]);
      expect(b.backend.describeTopic('c1')).to.deep.include({ partitions: 3 });
      const described = await client.request('DescribeConfigs', 1, {
        resources: [{ resourceType: 2, resourceName: 'c1', configurationKeys: ['retention.ms'] }],
        includeSynonyms: false,
      });
      const configs = (described.results as Struct[])[0]!.configs as Struct[];
      expect(configs.map((c) => [c.name, c.value])).to.deep.equal([['retention.ms', '1000']]);
      const grow = await client.request('CreatePartitions', 1, {
        topics: [{ name: 'c1', count: 6, assignments: null }],
        timeoutMs: 1000,
        validateOnly: false,
      });
      const refusal = (grow.results as Struct[])[0]!;
      expect(refusal.errorCode).to.equal(KafkaError.POLICY_VIOLATION);
      expect(refusal.errorMessage).to.match(/does not add partitions/);
      expect(b.backend.describeTopic('c1')!.partitions).to.equal(3);
      const deleted = await client.request('DeleteTopics', 1, { topicNames: ['c1', 'zz'], timeoutMs: 1000 });
      expect((deleted.responses as Struct[]).map((r) => r.errorCode)).to.deep.equal([
        0,
        KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      ]);
    });

    it("answers from the topics as the application changes them beside it: alterTopic's config, deleteTopic's absence", async () => {
      const store = b.backend.logStore;
      store.createTopic('app', { partitions: 2 });
      const commit = (partitionIndex: number) =>
        client.request('OffsetCommit', 2, {
          groupId: 'g',
          generationIdOrMemberEpoch: -1,
          memberId: '',
          retentionTimeMs: -1,
          topics: [
            { name: 'app', partitions: [{ partitionIndex, committedOffset: 0, committedMetadata: '' }] },
          ],
        });
      const codeOf = (r: Struct) => ((r.topics as Struct[])[0]!.partitions as Struct[])[0]!.errorCode;
      expect(codeOf(await commit(1))).to.equal(KafkaError.NONE);
      expect(codeOf(await commit(2))).to.equal(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);

      store.alterTopic('app', { retentionMs: 12345 });
      const described = await client.request('DescribeConfigs', 1, {
        resources: [{ resourceType: 2, resourceName: 'app', configurationKeys: ['retention.ms'] }],
        includeSynonyms: false,
      });
      const configs = (described.results as Struct[])[0]!.configs as Struct[];
      expect(configs.map((c) => [c.name, c.value])).to.deep.equal([['retention.ms', '12345']]);

      store.deleteTopic('app');
      expect(codeOf(await commit(1))).to.equal(KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
      expect(b.backend.describeTopic('app')).to.equal(undefined);
    });
  });

  describe('close()', () => {
    it('answers a long-polling fetch at once, refuses new connections, and resolves', async () => {
      const started = Date.now();
      const pending = client.request('Fetch', 11, fetchBody('t', [[0, 0]], { maxWaitMs: 30_000 }));
      await new Promise((r) => setTimeout(r, 50));
      await b.server.close();
      const r = fetched(await pending)[0]!;
      expect(r.errorCode).to.equal(0);
      expect(Date.now() - started).to.be.below(5000);
      const refused = await KafkaClient.connect({ host: '127.0.0.1', port: b.port }).then(
        (c) => (c.close(), 'connected'),
        (err: Error) => err.message,
      );
      expect(refused).to.match(/ECONNREFUSED/);
    });
  });

  describe('options', () => {
    it('binds loopback by default; another address needs SASL or insecure: true; misspelled options are refused', async () => {
      const backend = testBackend();
      await expectCodeAsync(
        () => KafkaServer.start({ backend, host: '0.0.0.0', port: 0 }),
        'LOGSTORE_INVALID_ARGUMENT',
      );
      const open = await KafkaServer.start({
        backend,
        host: '0.0.0.0',
        port: 0,
        insecure: true,
        log: () => undefined,
      });
      await open.close();
      await expectCodeAsync(
        () =>
          KafkaServer.start({ backend, port: 0, autoCreateTopic: true } as unknown as Parameters<
            typeof KafkaServer.start
          >[0]),
        'LOGSTORE_INVALID_ARGUMENT',
      );
    });
  });
});
