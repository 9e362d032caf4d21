/**
 * What the mirror cases share: librdkafka's mock cluster (3 brokers, started by kcat with its
 * stdin held open; it prints its bootstrap list), kcat as the peer client, and the records both
 * subjects move: 100-byte values (hex, so that kcat's line input carries them unchanged) with
 * keys `k<i % 1000>`, over the 4 partitions a mock topic has.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { LogStore, MirrorOptions } from '../../lib/index.js';
import { since } from '../case.js';
import { VALUE_BYTES } from '../values.js';

export const PARTITIONS = 4;
export const MIRROR_TOPIC = 'mirror';

export interface Mock {
  bootstrap: string;
  stop(): Promise<void>;
}

export function startMock(): Promise<Mock> {
  const child = spawn('kcat', ['-b', 'ignored:1', '-X', 'test.mock.num.brokers=3', '-P', '-t', 'keepalive'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /replaced with (\S+)/.exec(stderr);
      if (m)
        resolve({
          bootstrap: m[1]!,
          stop: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        });
    });
    child.on('exit', (code) => reject(new Error(`the mock cluster exited (${code}): ${stderr}`)));
  });
}

/** Runs `fn` against a fresh mock cluster, stopped afterwards whatever happens. */
export async function withMock<T>(fn: (bootstrap: string) => Promise<T>): Promise<T> {
  const mock = await startMock();
  try {
    return await fn(mock.bootstrap);
  } finally {
    await mock.stop();
  }
}

/**
 * A fresh store in `dir` (durability 'none': the mirror's own catalog writes stay durable), the
 * mirror run `options` describe timed on it after `prepare`, checked to have copied `records`.
 */
export async function timedMirror(
  dir: string,
  records: number,
  prepare: (store: LogStore) => void,
  options: MirrorOptions,
): Promise<{ ops: number; seconds: number; bytes: number }> {
  const { loadLogStore } = await import('../logstore.js');
  const store = (await loadLogStore()).open(dir, { durability: 'none' });
  prepare(store);
  const start = process.hrtime.bigint();
  const done = await store.mirror(options).done;
  const seconds = since(start);
  await store.close();
  if (done.records !== records) throw new Error(`mirrored ${done.records} of ${records} records`);
  return { ops: records, seconds, bytes: records * VALUE_BYTES };
}

/** `key<TAB>value` lines of records [0, n): the same records for every subject. */
export function recordLines(n: number): string[] {
  const values = randomBytes(50 * 1024);
  return Array.from(
    { length: n },
    (_, i) => `k${i % 1000}\t${values.toString('hex', (i % 1000) * 50, (i % 1000) * 50 + 50)}`,
  );
}

/** Runs kcat with `args` and `input` on stdin; resolves with the seconds it took. */
export function timedKcat(args: string[], input?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child: ChildProcess = spawn('kcat', args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = since(start);
      if (code === 0) resolve(seconds);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${stderr}`));
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Produces `lines` into the mock's topic with kcat, spread over its partitions by key. */
export function kcatProduce(bootstrap: string, lines: string[]): Promise<number> {
  return timedKcat(['-b', bootstrap, '-P', '-t', MIRROR_TOPIC, '-K', '\t'], lines.join('\n') + '\n');
}
