/**
 * `logstore serve <dir>`: a standalone broker over a store directory. It prints where it listens,
 * serves real clients with the options given, exits 0 on SIGINT and SIGTERM after closing the
 * listener and the store (the next open finds a clean shutdown), and refuses a non-loopback
 * address without SASL or --insecure before touching the directory.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { KafkaClient } from '../../lib/kafka/client.js';
import { KafkaError } from '../../lib/kafka/errors.js';
import { cli, killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { selfSignedCertificate } from './certificate.js';
import { kafkaClient } from './clients.js';
import { startServe } from './serve-process.js';

/** The values of a topic's partition, read by the library after the server stopped. */
function valuesOf(dir: string, topic: string, partition = 0): string[] {
  const store = LogStore.open(dir, { readOnly: true });
  try {
    const reader = store.reader(topic, { partition });
    return [...reader].map((r) => r.value!.toString());
  } finally {
    void store.close();
  }
}

describe('logstore serve', function () {
  this.timeout(90_000);
  afterEach(killChildren);
  after(removeTempDirs);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const withConsumer = signal === 'SIGINT';
    it(`serves kafkajs, exits 0 on ${signal}${withConsumer ? ' with a consumer still connected' : ''}, and the next open is clean`, async () => {
      const dir = path.join(tempDir('logstore-serve-'), 'new-store');
      const server = await startServe(dir, ['--default-partitions', '3']);
      expect(server.cli.lines[0]).to.equal(
        `logstore serve: listening on 127.0.0.1:${server.port}, store ${dir} (0 topics); Ctrl-C stops`,
      );
      const kafka = kafkaClient(server.bootstrap);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'events',
        messages: ['a', 'b', 'c'].map((value) => ({ value, partition: 1 })),
      });
      await producer.disconnect();
      // A consumer long-polling when the signal comes: the shutdown answers it and goes on.
      const consumer = kafka.consumer({ groupId: 'cli', sessionTimeout: 6000 });
      if (withConsumer) {
        await consumer.connect();
        await consumer.subscribe({ topic: 'events', fromBeginning: true });
        const got: string[] = [];
        await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
        const deadline = Date.now() + 30_000;
        while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(got).to.deep.equal(['a', 'b', 'c']);
      }
      const exit = await server.stop(signal);
      expect(exit, server.cli.stderr).to.deep.equal({ code: 0, signal: null });
      expect(server.cli.lines[server.cli.lines.length - 1]).to.equal(
        'logstore serve: stopped; the store was closed cleanly',
      );
      expect(server.cli.stderr).to.include(`logstore serve: ${signal}: closing the listener and the store`);
      await consumer.disconnect().catch(() => undefined);

      const store = LogStore.open(dir);
      try {
        expect(store.recovery.clean).to.equal(true);
        expect(store.describeTopic('events').partitionCount).to.equal(3);
        const reader = store.reader('events', { partition: 1 });
        expect([...reader].map((r) => [r.offset, r.value!.toString()])).to.deep.equal([
          [0, 'a'],
          [1, 'b'],
          [2, 'c'],
        ]);
      } finally {
        await store.close();
      }
    });
  }

  it('--auto-create-topics false: an unknown topic stays unknown', async () => {
    const dir = tempDir('logstore-serve-');
    const server = await startServe(dir, ['--auto-create-topics', 'false']);
    const client = await KafkaClient.connect({ host: '127.0.0.1', port: server.port });
    try {
      const r = await client.request('Metadata', 4, {
        topics: [{ name: 'nope' }],
        allowAutoTopicCreation: true,
      });
      const topics = r.topics as { name: string; errorCode: number }[];
      expect(topics.map((t) => [t.name, t.errorCode])).to.deep.equal([
        ['nope', KafkaError.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
    } finally {
      client.close();
    }
    expect((await server.stop('SIGTERM')).code).to.equal(0);
    const store = LogStore.open(dir, { readOnly: true });
    expect(store.topics()).to.deep.equal([]);
    await store.close();
  });

  it('refuses a non-loopback host without --sasl-users or --insecure, before creating anything', async () => {
    const dir = path.join(tempDir('logstore-serve-'), 'untouched');
    const r = await cli(['serve', dir, '--host', '0.0.0.0']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal(
      'error: LOGSTORE_INVALID_ARGUMENT: refusing to listen on 0.0.0.0 without authentication: anyone who can reach the port could ' +
        'read and write the store. Pass --sasl-users FILE (clients log in with SASL PLAIN or SCRAM-SHA-256), ' +
        'or --insecure to accept that.\n',
    );
    expect(fs.existsSync(dir)).to.equal(false);
    // --insecure accepts it.
    const open = await startServe(dir, ['--host', '0.0.0.0', '--insecure']);
    expect(open.bootstrap).to.equal(`0.0.0.0:${open.port}`);
    expect((await open.stop('SIGINT')).code).to.equal(0);
  });

  it('on 0.0.0.0 with --sasl-users and TLS: kafkajs logs in over TLS and produces', async function () {
    const dir = tempDir('logstore-serve-');
    selfSignedCertificate(this, dir);
    const users = path.join(dir, 'users.txt');
    fs.writeFileSync(users, '# who may connect\nalice:secret\n');
    const data = path.join(dir, 'data');
    const server = await startServe(data, [
      '--host',
      '0.0.0.0',
      '--advertised-host',
      '127.0.0.1',
      '--sasl-users',
      users,
      '--tls-cert',
      path.join(dir, 'cert.pem'),
      '--tls-key',
      path.join(dir, 'key.pem'),
    ]);
    expect(server.cli.lines[0]).to.include(`listening on 0.0.0.0:${server.port} (TLS) (SASL)`);
    const kafka = kafkaClient(`127.0.0.1:${server.port}`, {
      ssl: { ca: [fs.readFileSync(path.join(dir, 'cert.pem'))] },
      sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'secret' },
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'secure', messages: [{ key: 'k', value: 'over tls' }] });
    await producer.disconnect();
    expect((await server.stop('SIGTERM')).code).to.equal(0);
    expect(valuesOf(data, 'secure')).to.deep.equal(['over tls']);
  });

  it('says what is wrong with the port, the options and the files', async () => {
    const dir = tempDir('logstore-serve-');
    const first = await startServe(dir);
    const [inUse, locked, noKey, badBool, missingUsers] = await Promise.all([
      cli(['serve', tempDir('logstore-serve-'), '--port', String(first.port)]),
      cli(['serve', dir, '--port', '0']),
      cli(['serve', dir, '--tls-cert', 'cert.pem']),
      cli(['serve', dir, '--auto-create-topics', 'maybe']),
      cli(['serve', dir, '--sasl-users', path.join(dir, 'no-such-file')]),
    ]);
    expect((await first.stop('SIGTERM')).code).to.equal(0);
    expect([inUse.code, inUse.stderr]).to.deep.equal([
      1,
      `error: LOGSTORE_INVALID_ARGUMENT: 127.0.0.1:${first.port} is in use (another broker?); pick another port with --port\n`,
    ]);
    expect(locked.code).to.equal(1);
    expect(locked.stderr).to.match(/^error: LOGSTORE_LOCKED: serve needs the store's writer lock/);
    expect([noKey.code, noKey.stderr.split('\n')[0]]).to.deep.equal([
      2,
      'error: LOGSTORE_INVALID_ARGUMENT: --tls-cert and --tls-key go together',
    ]);
    expect([badBool.code, badBool.stderr.split('\n')[0]]).to.deep.equal([
      2,
      "error: LOGSTORE_INVALID_ARGUMENT: --auto-create-topics expects true or false, got 'maybe'",
    ]);
    expect(missingUsers.code).to.equal(1);
    expect(missingUsers.stderr).to.match(
      /^error: LOGSTORE_INVALID_ARGUMENT: --sasl-users \S+no-such-file: ENOENT/,
    );
    const help = await cli(['serve', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^usage: logstore serve <dir> \[options\]/);
  });
});
