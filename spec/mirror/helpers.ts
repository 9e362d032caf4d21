/**
 * What the mirror specs share: a deterministic record set (UTF-8 text that kcat prints exactly,
 * keys, null keys and values, repeated and null headers, explicit timestamps), a writer child that
 * holds a store and appends them slowly, a child that serves a second store (`store.serve()`),
 * a mirror following a store, and readers for a store's records and a mirror's saved positions.
 */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MirrorPositions, type MirrorPosition } from '../../lib/catalog/mirror-positions.js';
import { LogStore, type AppendRecord, type LogRecord, type Mirror } from '../../lib/index.js';
import { LIB, startChild } from '../helpers/child.js';
import type { KcatRecord } from './mock-cluster.js';

export const TS_BASE = 1_700_000_000_000;

/** A mirror following `store` to the cluster at `bootstrap` (progress every 20 ms), and its stop. */
export function followTo(store: LogStore, bootstrap: string): { mirror: Mirror; stop: () => void } {
  const controller = new AbortController();
  const mirror = store.mirror({
    to: bootstrap,
    follow: true,
    signal: controller.signal,
    progressIntervalMs: 20,
  });
  return { mirror, stop: () => controller.abort() };
}

/** Record i of the specs' data set. */
export function record(i: number): AppendRecord {
  return {
    key: i % 50 === 7 ? null : `key-${i % 97}`,
    value: i % 211 === 5 ? null : `value ${i} ✓ ${'x'.repeat(i % 40)}`,
    headers: [
      ['trace', `t${i}`],
      ['tag', 'a'],
      ['tag', i % 3 === 0 ? null : `b${i % 4}`],
    ],
    timestamp: TS_BASE + i * 13,
  };
}

/** Appends records [from, to) in appends of `perAppend` (one batch per partition per append). */
export function appendRange(store: LogStore, topic: string, from: number, to: number, perAppend = 100): void {
  for (let i = from; i < to; i += perAppend) {
    const recs: AppendRecord[] = [];
    for (let j = i; j < Math.min(to, i + perAppend); j++) recs.push(record(j));
    store.append(topic, recs);
  }
}

/** A record as kcat prints it, in the same shape as `asKcat(LogRecord)`. */
export interface Comparable {
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  value: string | null;
  headers: (string | null)[];
}

export function fromKcat(r: KcatRecord): Comparable {
  return {
    partition: r.partition,
    offset: r.offset,
    ts: r.ts,
    key: r.key,
    value: r.payload,
    headers: r.headers ?? [],
  };
}

export function fromStore(r: LogRecord): Comparable {
  return {
    partition: r.partition,
    offset: r.offset,
    ts: r.timestamp,
    key: r.key === null ? null : r.key.toString('utf8'),
    value: r.value === null ? null : r.value.toString('utf8'),
    headers: r.headerList.flatMap(([k, v]) => [k, v === null ? null : v.toString('utf8')]),
  };
}

/** Every record of a topic in a store, partition by partition in offset order (read-only open). */
export function storeRecords(dir: string, topic: string): Comparable[] {
  const store = LogStore.open(dir, { readOnly: true });
  try {
    const out: Comparable[] = [];
    const partitions = store.describeTopic(topic).partitionCount;
    for (let p = 0; p < partitions; p++) {
      const reader = store.reader(topic, { partition: p, from: 'earliest' });
      for (const r of reader) out.push(fromStore(r));
      reader.close();
    }
    return out;
  } finally {
    void store.close();
  }
}

/** Sorts kcat's output (partitions interleaved) by partition, then offset. */
export function byPartition(records: Comparable[]): Comparable[] {
  return [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Each mirror link's latest position per partition, read from the catalog file. */
export function savedPositions(dir: string): MirrorPosition[] {
  const db = new Database(path.join(dir, 'catalog.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return new MirrorPositions(db).all();
  } finally {
    db.close();
  }
}

/** Waits until the writer child has created `topic`. */
export async function waitForTopic(dir: string, topic: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const store = LogStore.open(dir, { readOnly: true });
      const has = store.topics().some((t) => t.name === topic);
      await store.close();
      if (has) return;
    } catch {
      // the writer has not created the store yet
    }
    if (Date.now() > deadline) throw new Error(`no topic ${topic} in ${dir} after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A writer in its own process: holds the store at `dir` (durability 'none'), creates `topic` with
 * 4 partitions unless it exists, appends records [0, total) of the data set in appends of `perAppend`,
 * `perTick` appends every `tickMs`, prints `done <total>` and keeps the lock until SIGTERM.
 */
export class SlowWriter {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  readonly finished: Promise<void>;

  constructor(config: {
    dir: string;
    topic: string;
    total: number;
    perAppend: number;
    perTick: number;
    tickMs: number;
  }) {
    let resolveDone!: () => void;
    this.finished = new Promise((resolve) => (resolveDone = resolve));
    const { child, exited } = startChild(WRITER, {
      env: { WRITER_CONFIG: JSON.stringify(config) },
      onLine: (line) => {
        if (line.startsWith('done')) resolveDone();
      },
    });
    this.child = child;
    this.exited = exited;
    void exited.then((r) => {
      if (r.code !== 0) resolveDone();
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const r = await this.exited;
    if (r.code !== 0) throw new Error(`the writer child failed (${r.code} ${r.signal}): ${r.stderr}`);
  }
}

const WRITER = `
import { LogStore } from ${JSON.stringify(LIB)};
import { appendRange } from ${JSON.stringify(path.join(path.dirname(LIB), '../spec/mirror/helpers.js'))};
const cfg = JSON.parse(process.env.WRITER_CONFIG);
const store = LogStore.open(cfg.dir, { durability: 'none' });
if (!store.topics().some((t) => t.name === cfg.topic)) store.createTopic(cfg.topic, { partitions: 4 });
process.on('SIGTERM', async () => { await store.close(); process.exit(0); });
let i = 0;
const tick = () => {
  for (let n = 0; n < cfg.perTick && i < cfg.total; n++) {
    const to = Math.min(cfg.total, i + cfg.perAppend);
    appendRange(store, cfg.topic, i, to, cfg.perAppend);
    i = to;
  }
  if (i < cfg.total) setTimeout(tick, cfg.tickMs);
  else console.log('done ' + i);
};
tick();
`;

/**
 * A second store served in a child process (`store.serve()` on `port`, 0: any): what a mirror
 * `to` it writes lands in that store. Options: `sasl` users, `tls` cert/key files.
 */
export class ServeChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  readonly port: Promise<number>;

  constructor(
    dir: string,
    options: { port?: number; sasl?: Record<string, string>; tls?: { cert: string; key: string } } = {},
  ) {
    let resolvePort!: (port: number) => void;
    let rejectPort!: (err: Error) => void;
    this.port = new Promise((resolve, reject) => {
      resolvePort = resolve;
      rejectPort = reject;
    });
    const { child, exited } = startChild(SERVE, {
      env: { SERVE_CONFIG: JSON.stringify({ dir, ...options }) },
      onLine: (line) => resolvePort((JSON.parse(line) as { port: number }).port),
    });
    this.child = child;
    this.exited = exited;
    void exited.then((r) =>
      rejectPort(new Error(`the serving child exited (${r.code} ${r.signal}): ${r.stderr}`)),
    );
  }

  /** Closes the store cleanly (SIGTERM). */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

const SERVE = `
import fs from 'node:fs';
import { LogStore } from ${JSON.stringify(LIB)};
const cfg = JSON.parse(process.env.SERVE_CONFIG);
const store = LogStore.open(cfg.dir, { durability: 'none' });
const server = await store.serve({
  port: cfg.port ?? 0,
  log: () => undefined,
  ...(cfg.sasl ? { sasl: { users: cfg.sasl } } : {}),
  ...(cfg.tls ? { tls: { cert: fs.readFileSync(cfg.tls.cert), key: fs.readFileSync(cfg.tls.key) } } : {}),
});
process.on('SIGTERM', async () => { await store.close(); process.exit(0); });
console.log(JSON.stringify({ port: server.address().port }));
`;
