/**
 * Restarting the server under its clients. `logstore serve` runs in a child process and is
 * killed (SIGKILL, and once SIGTERM) and started again on the same port while:
 * - an idempotent kafkajs producer streams with retries through a proxy that loses the
 *   acknowledgement of a stored batch just before each restart: every message is stored exactly
 *   once, in order, nothing missing (the retry meets the new process, whose producer state was
 *   rebuilt from the log and the catalog); the same stream without idempotence stores those
 *   batches twice, which shows the scenario bites;
 * - two kafkajs consumers of one group in two other processes read a 4-partition topic: after the
 *   restart they rejoin a fresh coordinator and resume from the offsets they committed, reading
 *   the new records and none of the old ones.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { kafkaClient } from './clients.js';
import { startKafkajsMember, until } from './members.js';
import { startServe, type ServeProcess } from './serve-process.js';

/** A store in a new directory with `topic` of `partitions` partitions, closed again. */
async function storeWith(topic: string, partitions: number, perPartition = 0): Promise<string> {
  const dir = path.join(tempDir('logstore-restart-'), 'store');
  const store = LogStore.open(dir);
  store.createTopic(topic, { partitions });
  for (let p = 0; p < partitions; p++) {
    if (perPartition > 0)
      store.append(
        topic,
        Array.from({ length: perPartition }, (_, i) => ({ value: `${p}/${i}` })),
        { partition: p },
      );
  }
  await store.close();
  return dir;
}

/** Everything in a partition, read by the library (the server stopped). */
function values(dir: string, topic: string, partition: number): string[] {
  const store = LogStore.open(dir, { readOnly: true });
  const out = [...store.reader(topic, { partition })].map((r) => r.value!.toString());
  void store.close();
  return out;
}

describe('Restarting logstore serve under its clients', function () {
  this.timeout(180_000);
  const members: ChildProcess[] = [];
  afterEach(() => {
    for (const m of members.splice(0)) m.kill('SIGKILL');
    killChildren();
  });
  after(removeTempDirs);

  /**
   * Streams SENDS sends of PER_SEND messages through the proxy; at three of them the proxy drops
   * the produce response (the batch is stored, its acknowledgement lost) and the server is killed
   * and started again; the producer's retry meets the new process. Returns what each partition holds.
   */
  async function streamAcrossRestarts(idempotent: boolean): Promise<{ stored: string[][]; drops: number }> {
    const dir = await storeWith('idem', 2);
    const proxy = await AckDroppingProxy.start();
    let server: ServeProcess = await startServe(dir, ['--advertised-port', String(proxy.port)]);
    const port = server.port;
    proxy.upstream = port;
    const kafka = kafkaClient(`127.0.0.1:${proxy.port}`, {
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const producer = kafka.producer({ idempotent, maxInFlightRequests: 1 });
    await producer.connect();
    const restartAt = new Map<number, NodeJS.Signals>([
      [SENDS / 4, 'SIGKILL'],
      [SENDS / 2, 'SIGKILL'],
      [(3 * SENDS) / 4, 'SIGTERM'],
    ]);
    let drops = 0;
    for (let i = 0; i < SENDS; i++) {
      const messages = Array.from({ length: PER_SEND }, (_, k) => ({
        value: String(i * PER_SEND + k),
        partition: (i * PER_SEND + k) % 2,
      }));
      const signal = restartAt.get(i);
      if (!signal) {
        await producer.send({ topic: 'idem', acks: -1, messages });
        continue;
      }
      const dropped = proxy.dropNextProduceResponse();
      const sent = producer.send({ topic: 'idem', acks: -1, messages });
      await dropped;
      drops++;
      const exit = await server.stop(signal);
      expect(exit.signal ?? exit.code, server.cli.stderr).to.equal(signal === 'SIGKILL' ? 'SIGKILL' : 0);
      server = await startServe(dir, ['--advertised-port', String(proxy.port)], port);
      await sent;
    }
    await producer.disconnect();
    expect((await server.stop('SIGTERM')).code).to.equal(0);
    proxy.close();
    return { stored: [values(dir, 'idem', 0), values(dir, 'idem', 1)], drops };
  }

  const SENDS = 160;
  const PER_SEND = 4;
  const all = Array.from({ length: SENDS * PER_SEND }, (_, n) => String(n));

  it('an idempotent kafkajs producer with retries, across lost acknowledgements and kill -9 / SIGTERM restarts: no duplicates, no gaps', async () => {
    const { stored, drops } = await streamAcrossRestarts(true);
    expect(drops).to.equal(3);
    expect(stored[0]).to.deep.equal(all.filter((_, n) => n % 2 === 0));
    expect(stored[1]).to.deep.equal(all.filter((_, n) => n % 2 === 1));
  });

  it('(the same stream without idempotence stores each unacknowledged send twice: the scenario is real)', async () => {
    const { stored, drops } = await streamAcrossRestarts(false);
    expect(drops).to.equal(3);
    // Each dropped send held 2 messages per partition; its retry stored them again.
    expect(stored[0]!.length + stored[1]!.length).to.equal(all.length + 3 * PER_SEND);
    const twice = stored.flat().filter((v, i, a) => a.indexOf(v) !== i);
    expect(twice.map(Number).sort((a, b) => a - b)).to.deep.equal(
      [SENDS / 4, SENDS / 2, (3 * SENDS) / 4].flatMap((i) =>
        Array.from({ length: PER_SEND }, (_, k) => i * PER_SEND + k),
      ),
    );
  });

  it('two kafkajs consumers of one group in other processes: after kill -9 and a restart they resume from their committed offsets', async () => {
    const dir = await storeWith('resume', 4, 10);
    let server = await startServe(dir);
    const port = server.port;
    /** Every (partition, offset) read, in order, with the phase it was read in. */
    const reads: { phase: 'before' | 'after'; key: string }[] = [];
    let phase: 'before' | 'after' = 'before';
    for (const name of ['m1', 'm2']) {
      const child = startKafkajsMember(
        {
          bootstrap: server.bootstrap,
          clientId: name,
          group: 'resume',
          topic: 'resume',
          sessionTimeout: 6000,
          rebalanceTimeout: 6000,
          heartbeatInterval: 300,
          maxWaitTimeInMs: 1000,
          autoCommitInterval: 50,
          retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
        },
        (p, o) => reads.push({ phase, key: `${p}/${o}` }),
      );
      members.push(child);
    }
    const keys = (from: number, to: number) =>
      Array.from({ length: 4 * (to - from) }, (_, k) => `${k % 4}/${from + Math.floor(k / 4)}`).sort();
    const readIn = (which: 'before' | 'after') =>
      new Set(reads.filter((r) => r.phase === which).map((r) => r.key));
    await until('the first 40 records', () => keys(0, 10).every((k) => readIn('before').has(k)), 60_000);
    const committed = () => {
      const store = LogStore.open(dir, { readOnly: true });
      try {
        return (store.groups().find((g) => g.group === 'resume')?.partitions ?? []).map((p) => p.offset);
      } finally {
        void store.close();
      }
    };
    await until('commits of all 4 partitions at 10', () => committed().join() === '10,10,10,10', 60_000);

    const exit = await server.stop('SIGKILL');
    expect(exit.signal).to.equal('SIGKILL');
    phase = 'after';
    server = await startServe(dir, [], port);
    const producer = kafkaClient(server.bootstrap).producer();
    await producer.connect();
    await producer.send({
      topic: 'resume',
      messages: keys(10, 15).map((k) => ({ value: `new ${k}`, partition: Number(k.split('/')[0]) })),
    });
    await producer.disconnect();
    await until('the 20 new records', () => keys(10, 15).every((k) => readIn('after').has(k)), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    // Nothing committed before the restart was read again; everything new was read.
    expect([...readIn('after')].sort()).to.deep.equal(keys(10, 15));
    await until('commits of all 4 partitions at 15', () => committed().join() === '15,15,15,15', 60_000);
    expect((await server.stop('SIGTERM')).code).to.equal(0);
  });
});

/**
 * A TCP proxy in front of the server that can lose one acknowledgement: it forwards frames both
 * ways, and when armed, swallows the next Produce response and cuts the client's connection, as
 * a network failure right after the broker stored the batch would.
 */
class AckDroppingProxy {
  upstream = 0;
  private armed: (() => void) | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly listener: net.Server) {}

  static async start(): Promise<AckDroppingProxy> {
    const listener = net.createServer();
    const proxy = new AckDroppingProxy(listener);
    listener.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** Resolves once a Produce response was swallowed (and its connection cut). */
  dropNextProduceResponse(): Promise<void> {
    return new Promise((resolve) => (this.armed = resolve));
  }

  private accept(client: net.Socket): void {
    const server = net.connect({ host: '127.0.0.1', port: this.upstream });
    for (const s of [client, server]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        server.destroy();
      });
    }
    const produceIds = new Set<number>();
    frames(client, (frame) => {
      if (frame.readInt16BE(4) === 0) produceIds.add(frame.readInt32BE(8));
      server.write(frame);
    });
    frames(server, (frame) => {
      const correlationId = frame.readInt32BE(4);
      if (this.armed && produceIds.has(correlationId)) {
        const done = this.armed;
        this.armed = undefined;
        client.destroy();
        server.destroy();
        done();
        return;
      }
      client.write(frame);
    });
  }

  close(): void {
    this.listener.close();
    for (const s of this.sockets) s.destroy();
  }
}

/** Calls `onFrame` with each whole size-prefixed frame (prefix included) that `socket` receives. */
function frames(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const size = 4 + pending.readInt32BE(0);
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  });
}
