/**
 * Mirrors between two logstores over Kafka's protocol: `mirror --to` a second store served by
 * `store.serve()` in a child process, and `--from` it into a third. Batches round-trip byte for
 * byte (only the fields a broker or producer owns differ: base offset, leader epoch, producer id,
 * epoch and sequence, and the CRC that covers them); a serving process killed mid-copy gives a
 * clear error and the mirror resumes exactly where the served log ends; SASL and TLS reach a
 * secured listener.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore, type AppendRecord } from '../../lib/index.js';
import { batchesOf, type BatchView } from '../../lib/mirror/batches.js';
import { cli, killChildren, RunningCli } from '../cli/cli-helpers.js';
import { selfSignedCertificate } from '../kafka/certificate.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { ServeChild, SlowWriter, storeRecords } from './helpers.js';

type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The stored batches of every partition of `topic`. */
function storedBatches(dir: string, topic: string): BatchView[][] {
  const store = LogStore.open(dir, { readOnly: true });
  try {
    const n = store.describeTopic(topic).partitionCount;
    return Array.from({ length: n }, (_, p) => {
      const buf = store.readBatches(topic, p, 0, 256 << 20);
      return buf.length === 0 ? [] : batchesOf(buf, topic, false);
    });
  } finally {
    void store.close();
  }
}

const bytesOf = (b: BatchView) => b.buf.subarray(b.pos, b.pos + b.size);
/** A batch without the fields a broker (base offset, leader epoch) or producer (id, epoch, sequence) owns, and the CRC over them. */
const content = (b: BatchView) => {
  const bytes = bytesOf(b);
  return Buffer.concat([
    bytes.subarray(8, 12),
    bytes.subarray(16, 17),
    bytes.subarray(21, 43),
    bytes.subarray(57),
  ]);
};

function randomRecords(n: number, seed: number): AppendRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 9 === 0 ? null : crypto.randomBytes(8),
    value: i % 31 === 0 ? null : crypto.randomBytes(90 + ((i * seed) % 40)),
    headers: [
      ['bin', crypto.randomBytes(5)],
      ['bin', null],
      ['n', String(i)],
    ],
    timestamp: 1_600_000_000_000 + seed * 100_000 + i,
  }));
}

describe('logstore mirror between two logstores (store.serve() in a child process)', function () {
  this.timeout(120_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should round-trip a topic byte for byte: --to a served store, then --from it into a third', async () => {
    const a = tempDir();
    const store = LogStore.open(a);
    store.createTopic('rt', { partitions: 3 });
    const codecs: Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
    for (let i = 0; i < 30; i++) {
      // Big batches (random bytes do not compress) travel as they are; small ones alternate codecs.
      const n = i % 3 === 2 ? 3 : 200;
      store.append('rt', randomRecords(n, i), { partition: i % 3, compression: codecs[i % codecs.length]! });
    }
    await store.close();

    const b = tempDir();
    const served = new ServeChild(b);
    const port = await served.port;
    const out = await cli(['mirror', a, '--to', `127.0.0.1:${port}`, '--json'], { timeoutMs: 60_000 });
    expect(out.code, out.stderr).to.equal(0);
    expect(out.stdout).to.match(/"type":"start".*"created":true/);
    const c = tempDir();
    const back = await cli(['mirror', c, '--from', `127.0.0.1:${port}`, '--topics', 'rt'], {
      timeoutMs: 60_000,
    });
    expect(back.code, back.stderr).to.equal(0);
    await served.close();

    const [batchesA, batchesB, batchesC] = [
      storedBatches(a, 'rt'),
      storedBatches(b, 'rt'),
      storedBatches(c, 'rt'),
    ];
    expect(batchesA.map((p) => p.length)).to.deep.equal([10, 10, 10]);
    for (let p = 0; p < 3; p++) {
      expect(batchesB[p]!.map((x) => x.baseOffset)).to.deep.equal(batchesA[p]!.map((x) => x.baseOffset));
      expect(batchesB[p]!.map(content)).to.deep.equal(batchesA[p]!.map(content));
      expect(batchesA[p]!.every((x) => x.producerId === -1)).to.equal(true);
      expect(batchesB[p]!.every((x) => x.producerId >= 0)).to.equal(true); // the mirror's idempotent producer
      // The way in keeps the served bytes whole (producer fields included).
      expect(batchesC[p]!.map(bytesOf)).to.deep.equal(batchesB[p]!.map(bytesOf));
    }
    expect(storeRecords(c, 'rt')).to.deep.equal(storeRecords(a, 'rt'));
  });

  it('should fail clearly when the serving process is killed mid-copy, and resume exactly once after it restarts', async () => {
    const a = tempDir();
    const total = 20_000;
    const writer = new SlowWriter({ dir: a, topic: 'live', total, perAppend: 20, perTick: 5, tickMs: 20 });
    const b = tempDir();
    let served = new ServeChild(b);
    const port = await served.port;
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const mirror = new RunningCli([
        'mirror',
        a,
        '--to',
        `127.0.0.1:${port}`,
        '--follow',
        '--json',
        '--retry-timeout',
        '2s',
      ]);
      await mirror.waitFor((l) => l.some((x) => x.includes('"type":"start"')), 20_000, 'the mirror to start');
      await new Promise((resolve) => setTimeout(resolve, 500));
      await served.kill();
      const exit = await mirror.exited;
      expect(exit.code).to.equal(1);
      expect(mirror.stderr).to.match(/^error: LOGSTORE_IO: .*kept failing/m);
      expect(mirror.stderr).to.include('run it again to resume');

      served = new ServeChild(b, { port });
      await served.port;
      await writer.finished;
      const resumed = await cli(['mirror', a, '--to', `127.0.0.1:${port}`], { timeoutMs: 60_000 });
      expect(resumed.code, resumed.stderr).to.equal(0);
    } finally {
      await writer.close();
      await served.close();
    }
    const expected = storeRecords(a, 'live');
    expect(expected).to.have.length(total);
    expect(storeRecords(b, 'live')).to.deep.equal(expected);
  });

  describe('SASL and TLS', () => {
    let dir: string;
    let certDir: string;
    before(function () {
      certDir = tempDir();
      selfSignedCertificate(this, certDir);
      fs.writeFileSync(path.join(certDir, 'password'), 'sesame\n');
      fs.writeFileSync(path.join(certDir, 'wrong'), 'open sesame\n');
      dir = tempDir();
      const store = LogStore.open(dir);
      store.createTopic('secure', { partitions: 2 });
      store.append('secure', randomRecords(50, 1));
      void store.close();
    });

    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256']) {
      it(`should mirror over TLS with SASL ${mechanism}, and refuse a wrong password (LOGSTORE_REMOTE)`, async () => {
        const b = tempDir();
        const served = new ServeChild(b, {
          sasl: { alice: 'sesame' },
          tls: { cert: path.join(certDir, 'cert.pem'), key: path.join(certDir, 'key.pem') },
        });
        const port = await served.port;
        const args = (password: string) => [
          'mirror',
          dir,
          '--to',
          `127.0.0.1:${port}`,
          '--tls-ca',
          path.join(certDir, 'cert.pem'),
          '--sasl-mechanism',
          mechanism,
          '--sasl-username',
          'alice',
          '--sasl-password-file',
          path.join(certDir, password),
          '--retry-timeout',
          '1s',
        ];
        const refused = await cli(args('wrong'), { timeoutMs: 30_000 });
        expect(refused.code).to.equal(1);
        expect(refused.stderr).to.match(/^error: LOGSTORE_REMOTE: SASL/m);
        const plain = await cli(['mirror', dir, '--to', `127.0.0.1:${port}`, '--retry-timeout', '1s'], {
          timeoutMs: 30_000,
        });
        expect(plain.code, 'no TLS against a TLS listener').to.equal(1);
        const ok = await cli(args('password'), { timeoutMs: 30_000 });
        expect(ok.code, ok.stderr).to.equal(0);
        await served.close();
        expect(storeRecords(b, 'secure')).to.deep.equal(storeRecords(dir, 'secure'));
      });
    }
  });
});
