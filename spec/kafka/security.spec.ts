/**
 * SASL (PLAIN and SCRAM-SHA-256 from a users file) and TLS with real clients; what an
 * unauthenticated connection may do; the users file format.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { KafkaClient } from '../../lib/kafka/client.js';
import { KafkaError } from '../../lib/kafka/errors.js';
import { parseUsers } from '../../lib/kafka/sasl/users.js';
import { selfSignedCertificate } from './certificate.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';
import {
  kafkaClient,
  kafkajs,
  kcat,
  python,
  requireClient,
  run,
  startBroker,
  type TestBroker,
} from './clients.js';

const PASSWORD = 'pä:ss,wo=rd';

function usersFile(): string {
  const file = path.join(tempDir('logstore-sasl-'), 'users.txt');
  fs.writeFileSync(file, `# spec users\nalice:${PASSWORD}\n\nbob:other\n`);
  return file;
}

const saslArgs = (mechanism: string, password = PASSWORD) => [
  '-X',
  'security.protocol=SASL_PLAINTEXT',
  '-X',
  `sasl.mechanisms=${mechanism}`,
  '-X',
  'sasl.username=alice',
  '-X',
  `sasl.password=${password}`,
];

describe('Kafka listener security', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  describe('SASL', () => {
    let b: TestBroker;
    beforeEach(async () => {
      b = await startBroker({ sasl: { users: usersFile() } });
    });
    afterEach(async () => b.server.close());

    for (const mechanism of ['plain', 'scram-sha-256'] as const) {
      it(`kafkajs authenticates with ${mechanism}, produces and reads back`, async () => {
        const kafka = kafkaClient(b.bootstrap, {
          sasl: { mechanism, username: 'alice', password: PASSWORD } as kafkajs.SASLOptions,
        });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic: 'secure', messages: [{ value: mechanism }] });
        await producer.disconnect();
        expect(b.backend.storedBatches('secure', 0)).to.have.length(1);
      });

      it(`kafkajs with a wrong ${mechanism} password is refused`, async () => {
        const kafka = kafkaClient(b.bootstrap, {
          sasl: { mechanism, username: 'alice', password: 'wrong' } as kafkajs.SASLOptions,
          retry: { retries: 0 },
        });
        const admin = kafka.admin();
        let error: Error | undefined;
        await admin.connect().catch((err: Error) => (error = err));
        expect(error?.name).to.equal('KafkaJSSASLAuthenticationError');
        expect(b.logs.some((l) => /SASL authentication failed/.test(l))).to.equal(true);
      });
    }

    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256']) {
      it(`kcat (librdkafka) authenticates with ${mechanism}; a wrong password fails`, async function () {
        requireClient(this, 'kcat');
        await kcat(['-b', b.bootstrap, ...saslArgs(mechanism), '-P', '-t', 'rd'], 'one\n');
        const r = await kcat([
          '-b',
          b.bootstrap,
          ...saslArgs(mechanism),
          '-C',
          '-t',
          'rd',
          '-e',
          '-q',
          '-f',
          '%s\n',
        ]);
        expect(r.stdout).to.equal('one\n');
        const bad = await run('kcat', ['-b', b.bootstrap, ...saslArgs(mechanism, 'nope'), '-L', '-m', '3'], {
          timeoutMs: 20_000,
        });
        expect(bad.code).to.not.equal(0);
        expect(bad.stderr).to.match(/[Aa]uthentication/);
      });
    }

    it('kafka-python authenticates with PLAIN and SCRAM-SHA-256 over SaslHandshake v0 (bare SASL tokens)', async function () {
      requireClient(this, 'kafka-python');
      const out = await python(
        `
import os
from kafka import KafkaProducer
for m in ['PLAIN', 'SCRAM-SHA-256']:
    p = KafkaProducer(bootstrap_servers=os.environ['BOOTSTRAP'], security_protocol='SASL_PLAINTEXT', sasl_mechanism=m,
                      sasl_plain_username='alice', sasl_plain_password=os.environ['PASSWORD'])
    print(p.send('kp-sasl', value=m.encode()).get(timeout=10).offset)
    p.close()
`,
        { BOOTSTRAP: b.bootstrap, PASSWORD },
      );
      expect(out).to.equal('0\n1\n');
    });

    it('serves only ApiVersions and SASL before authentication; anything else closes the connection', async () => {
      const c = await KafkaClient.connect({ host: '127.0.0.1', port: b.port });
      expect((await c.apiVersions()).size).to.be.greaterThan(0);
      const refused = await c.request('Metadata', 1, { topics: null }).then(
        () => 'answered',
        (err: Error & { code?: string }) => err.code,
      );
      expect(refused).to.equal('LOGSTORE_IO');
      expect(b.logs.some((l) => /API key 3 before SASL authentication/.test(l))).to.equal(true);
      const c2 = await KafkaClient.connect({ host: '127.0.0.1', port: b.port });
      const hs = await c2.request('SaslHandshake', 1, { mechanism: 'GSSAPI' });
      expect(hs).to.deep.equal({
        errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM,
        mechanisms: ['PLAIN', 'SCRAM-SHA-256'],
      });
      const ok = await c2.request('SaslHandshake', 1, { mechanism: 'PLAIN' });
      expect(ok.errorCode).to.equal(0);
      const auth = await c2.request('SaslAuthenticate', 1, {
        authBytes: Buffer.from(`\0alice\0${PASSWORD}`),
      });
      expect(auth.errorCode).to.equal(0);
      const meta = await c2.request('Metadata', 1, { topics: null });
      expect(meta.brokers).to.have.length(1);
      c2.close();
    });
  });

  describe('TLS', () => {
    let dir: string;
    let cert: string;
    let key: string;
    before(function () {
      dir = tempDir('logstore-tls-');
      selfSignedCertificate(this, dir);
      cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
      key = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
    });

    it('kafkajs talks TLS to a listener with a certificate; a plaintext client is not served', async () => {
      const b = await startBroker({ tls: { cert, key } });
      try {
        const kafka = kafkaClient(b.bootstrap, { ssl: { ca: [cert] } });
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({ topic: 'tls', messages: [{ value: 'over tls' }] });
        await producer.disconnect();
        const plain = await KafkaClient.connect({ host: '127.0.0.1', port: b.port });
        const answer = await Promise.race([
          plain.apiVersions().then(
            () => 'answered',
            () => 'refused',
          ),
          new Promise((r) => setTimeout(() => r('no answer'), 2000)),
        ]);
        expect(answer).to.not.equal('answered');
        plain.close();
      } finally {
        await b.server.close();
      }
    });
  });

  describe('TLS with kcat', () => {
    it('kcat (librdkafka) consumes over TLS, checking the certificate', async function () {
      requireClient(this, 'kcat');
      const dir = tempDir('logstore-tls-');
      selfSignedCertificate(this, dir);
      const b = await startBroker({
        tls: {
          cert: fs.readFileSync(path.join(dir, 'cert.pem')),
          key: fs.readFileSync(path.join(dir, 'key.pem')),
        },
      });
      try {
        b.backend.createTopic('tls', 1, {});
        await kcat(
          [
            '-b',
            b.bootstrap,
            '-X',
            'security.protocol=ssl',
            '-X',
            `ssl.ca.location=${path.join(dir, 'cert.pem')}`,
            '-P',
            '-t',
            'tls',
          ],
          'over tls\n',
        );
        const r = await kcat([
          '-b',
          b.bootstrap,
          '-X',
          'security.protocol=ssl',
          '-X',
          `ssl.ca.location=${path.join(dir, 'cert.pem')}`,
          '-C',
          '-t',
          'tls',
          '-e',
          '-q',
          '-f',
          '%s\n',
        ]);
        expect(r.stdout).to.equal('over tls\n');
      } finally {
        await b.server.close();
      }
    });
  });

  describe('users file', () => {
    it('reads name:password lines, skipping comments and blank lines; passwords may contain colons', () => {
      expect([...parseUsers('# c\nalice:a:b\n\n  # x\nbob:\n')]).to.deep.equal([
        ['alice', 'a:b'],
        ['bob', ''],
      ]);
      expectCode(() => parseUsers('nocolon\n'), 'LOGSTORE_INVALID_ARGUMENT');
      expectCode(() => parseUsers('a:1\na:2\n'), 'LOGSTORE_INVALID_ARGUMENT');
    });
  });
});
