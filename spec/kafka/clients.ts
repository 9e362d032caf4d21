/**
 * The real Kafka clients the specs drive: kafkajs (in process or in children), kcat (librdkafka),
 * kafka-python and confluent-kafka (librdkafka again, from Python). A missing one makes its specs
 * skip visibly, naming what is missing and how to install it; nothing passes silently.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import kafkajs from 'kafkajs';
import lz4 from 'lz4js';
import snappy from 'snappyjs';
import { decompress as zstdDecompress } from 'fzstd';
import { KafkaServer } from '../../lib/kafka/server.js';
import type { KafkaServerOptions } from '../../lib/kafka/server-options.js';
import { testBackend, type TestBackend } from './test-store.js';

export const PYTHON = '/usr/bin/python3';

function has(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

const hasKcat = has(() => execFileSync('kcat', ['-V'], { stdio: 'ignore' }));
const hasPython = fs.existsSync(PYTHON);
const hasModule = (m: string): boolean =>
  hasPython && has(() => execFileSync(PYTHON, ['-c', `import ${m}`], { stdio: 'ignore' }));

/** Why a client is unavailable (with the install command), or undefined when it is there. */
export const MISSING: Record<'kcat' | 'kafka-python' | 'confluent-kafka', string | undefined> = {
  kcat: hasKcat ? undefined : 'kcat is not installed (apt-get install kcat)',
  'kafka-python': hasModule('kafka')
    ? undefined
    : 'kafka-python is not installed (apt-get install python3-kafka)',
  'confluent-kafka': hasModule('confluent_kafka')
    ? undefined
    : 'confluent-kafka is not installed (apt-get install python3-confluent-kafka)',
};

/** In a mocha `before`/`it`: skip, saying why, when `client` is missing. */
export function requireClient(ctx: Mocha.Context, client: keyof typeof MISSING): void {
  const why = MISSING[client];
  if (why) {
    console.log(`      (skipped: ${why})`);
    ctx.skip();
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command with optional stdin, killing it after `timeoutMs`. */
export function run(
  command: string,
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code });
    });
    child.stdin.end(options.input ?? '');
  });
}

export async function kcat(args: string[], input?: string, timeoutMs = 30_000): Promise<RunResult> {
  const r = await run('kcat', args, { input, timeoutMs });
  if (r.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

export async function python(
  script: string,
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<string> {
  const r = await run(PYTHON, ['-c', script], { timeoutMs, env: { ...process.env, ...env } });
  if (r.code !== 0) throw new Error(`python exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** kafkajs decodes every codec librdkafka writes (kafkajs ships only gzip). */
const { CompressionCodecs, CompressionTypes } = kafkajs;
const decodeOnly = (decompress: (b: Buffer) => Uint8Array) => () => ({
  compress: () => Promise.reject(new Error('the specs only decompress this codec')),
  decompress: (b: Buffer) => Promise.resolve(Buffer.from(decompress(b))),
});
CompressionCodecs[CompressionTypes.Snappy] = decodeOnly((b) => {
  // Kafka's Java client frames snappy in xerial blocks; librdkafka sends raw snappy.
  const xerial = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
  if (!b.subarray(0, 8).equals(xerial)) return snappy.uncompress(b);
  const parts: Uint8Array[] = [];
  for (let pos = 16; pos < b.length;) {
    const size = b.readInt32BE(pos);
    parts.push(snappy.uncompress(b.subarray(pos + 4, pos + 4 + size)));
    pos += 4 + size;
  }
  return Buffer.concat(parts);
});
CompressionCodecs[CompressionTypes.LZ4] = decodeOnly((b) => lz4.decompress(b));
CompressionCodecs[CompressionTypes.ZSTD] = decodeOnly((b) => zstdDecompress(b));

export { kafkajs };

export interface TestBroker {
  server: KafkaServer;
  backend: TestBackend;
  port: number;
  bootstrap: string;
  logs: string[];
}

/** A listener over a fresh memory backend on a free loopback port; logs are kept, not printed. */
export async function startBroker(options: Partial<KafkaServerOptions> = {}): Promise<TestBroker> {
  const backend = testBackend();
  const logs: string[] = [];
  const server = await KafkaServer.start({
    backend,
    port: 0,
    initialRebalanceDelayMs: 0,
    log: (m) => logs.push(m),
    ...options,
  });
  const port = server.address().port;
  return { server, backend, port, bootstrap: `127.0.0.1:${port}`, logs };
}

export function kafkaClient(bootstrap: string, extra: Partial<kafkajs.KafkaConfig> = {}): kafkajs.Kafka {
  return new kafkajs.Kafka({
    brokers: [bootstrap],
    clientId: 'logstore-spec',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
    ...extra,
  });
}
