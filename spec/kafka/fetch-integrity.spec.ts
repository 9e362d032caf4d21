/**
 * The listener checks the CRC of every batch it serves (lib/kafka/handlers/fetch.ts says why: most
 * clients do not). These specs damage one byte of a stored record at rest, after a clean close so
 * that the next open verifies nothing, and show that the damaged record reaches no client: Fetch
 * serves the batches before it, answers KAFKA_STORAGE_ERROR from there (clients retry), and the
 * listener's log names the file and position once. The store's readers and `logstore verify`
 * report the same batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { KafkaError } from '../../lib/kafka/errors.js';
import { KafkaClient } from '../../lib/kafka/client.js';
import type { KafkaServer } from '../../lib/kafka/server.js';
import { verifyStore } from '../../lib/inspect/verify.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';
import { requireClient, run } from './clients.js';

describe('Fetch of a batch damaged at rest', function () {
  this.timeout(60_000);
  let dir: string;
  let store: LogStore;
  let server: KafkaServer;
  let bootstrap: string;
  const logs: string[] = [];
  let file: string;
  /** Where the damaged batch (the second) starts in the segment file. */
  let damaged: number;

  before(async () => {
    dir = tempDir('logstore-fetch-crc-');
    const writer = LogStore.open(dir);
    writer.createTopic('t', { partitions: 1 });
    for (const value of ['first', 'second', 'third']) writer.append('t', { value: Buffer.from(value) });
    await writer.close();
    const partitionDir = path.join(dir, 't-0');
    file = path.join(
      partitionDir,
      fs.readdirSync(partitionDir).find((f) => f.endsWith('.log'))!,
    );
    const bytes = fs.readFileSync(file);
    damaged = 12 + bytes.readInt32BE(8);
    const at = bytes.indexOf('second');
    expect(at).to.be.greaterThan(damaged);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('K'), 0, 1, at + 2); // "second" -> "seKond"; its CRC still says "second"
    fs.closeSync(fd);
    store = LogStore.open(dir); // after a clean close nothing is verified at open
    server = await store.serve({ port: 0, log: (m) => logs.push(m) });
    bootstrap = `127.0.0.1:${server.address().port}`;
  });

  after(async () => {
    await server?.close();
    await store?.close();
    removeTempDirs();
  });

  const failure = () => `fetch from t-0 failed: ${file} at position ${damaged}: CRC32C mismatch (stored `;

  it('answers KAFKA_STORAGE_ERROR from the damaged batch on, and logs it once', async () => {
    const client = await KafkaClient.connect({ host: '127.0.0.1', port: server.address().port });
    const fetch = async (fetchOffset: number) => {
      const r = await client.request('Fetch', 11, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 't',
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset,
                logStartOffset: -1,
                partitionMaxBytes: 1 << 20,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      });
      return (r.responses as { partitions: { errorCode: number; records: Buffer }[] }[])[0]!.partitions[0]!;
    };
    try {
      for (let i = 0; i < 3; i++) {
        const fromDamaged = await fetch(1);
        expect(fromDamaged.errorCode).to.equal(KafkaError.KAFKA_STORAGE_ERROR);
        expect(fromDamaged.records.length).to.equal(0);
      }
      const fromStart = await fetch(0);
      expect(fromStart.errorCode).to.equal(KafkaError.NONE);
      expect(fromStart.records).to.deep.equal(fs.readFileSync(file).subarray(0, damaged)); // the first batch alone
    } finally {
      client.close();
    }
    expect(logs.filter((l) => l.startsWith(failure()))).to.have.length(1);
  });

  it('never reaches a librdkafka consumer, which does not check CRCs by default', async function () {
    requireClient(this, 'kcat');
    // kcat retries the partition's error until it is killed: it can only print what was served.
    const r = await run('kcat', ['-b', bootstrap, '-C', '-t', 't', '-o', 'beginning', '-q', '-u'], {
      timeoutMs: 3000,
    });
    expect(r.stdout).to.equal('first\n');
    expect(logs.filter((l) => l.startsWith(failure()))).to.have.length(1);
  });

  it("is refused by the store's readers and reported by verify", async () => {
    const reader = store.reader('t', { from: 'earliest' });
    try {
      const err = expectCode(() => reader.read(10), 'LOGSTORE_CORRUPT');
      expect(err.message).to.include(`${file} at position ${damaged}: CRC32C mismatch`);
    } finally {
      reader.close();
    }
    const result = await verifyStore(dir);
    expect(result.findings.map((f) => [f.kind, f.file, f.position])).to.deep.include([
      'bad-crc',
      file,
      damaged,
    ]);
  });
});
