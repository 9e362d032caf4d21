/**
 * `logstore demo`: the README's first command. In a temporary directory it creates a topic of
 * three partitions with small segments, starts `logstore tail --follow` in another process (a
 * read-only follower) and live readers in this one, appends a stream of orders keyed by user
 * (first slowly, each one printed as the live reader receives it, then a fast stream across
 * segment rolls), and prints a summary: records seen by each reader and their latency, where
 * the keys went, and a `verify` of the files. It exits by itself within a few seconds (0 when
 * every check passed), and removes the directory unless --keep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { partitionForKey } from '../inspect/index.js';
import type { AppendRecord, LogRecord } from '../index.js';
import { LogStore } from '../index.js';
import { flag, parse, printHelp } from './args.js';
import type { Command } from './main.js';
import { colorsFor, formatBytes, formatCount } from './output.js';
import { pause, Stopper } from './stop.js';
import { verifyStore } from '../inspect/index.js';

const USAGE = `usage: logstore demo [--keep]

Writes a sample stream of orders into a temporary store, tails it live (in this process and
with \`logstore tail --follow\` in another), prints a short summary and exits within seconds.

options:
  --keep        keep the store directory and print commands to explore it
  --help, -h    this help
`;

const TOPIC = 'orders';
const PARTITIONS = 3;
const SEGMENT_BYTES = 128 * 1024;
/** Keys: Kafka's murmur2 partitioner puts two on each of the three partitions. */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const ITEMS = ['espresso', 'latte', 'croissant', 'bagel', 'tea', 'muffin', 'cortado', 'scone'];
/** Phase 1: records appended one at a time, each shown as it arrives. */
const SLOW_RECORDS = 8;
const SLOW_INTERVAL_MS = 120;
/** Phase 2: a batch every tick for this long. */
const STREAM_MS = 1500;
const STREAM_BATCH = 50;
const STREAM_TICK_MS = 5;
/** How long the readers may take to catch up once writing stops. */
const CATCH_UP_MS = 3000;
const SENT_HEADER = 'sent-ns';
const BIN = fileURLToPath(new URL('../../../bin/logstore.js', import.meta.url));

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, { keep: { type: 'boolean' } }, { min: 0, max: 0 });
    if (printHelp(parsed, USAGE)) return 0;
    return demo(flag(parsed, 'keep'));
  },
};

/**
 * Counts, order and latencies of one reader. A latency is taken per batch (the first record of
 * each append call on each partition): the reader receives a batch's records together.
 */
class ReaderStats {
  count = 0;
  inOrder = true;
  latencies: number[] = [];
  private readonly next = new Map<number, number>();
  private readonly lastSent = new Map<number, bigint>();

  /** Counts a record; `measure` false for records sent before the reader was started. */
  seen(partition: number, offset: number, sentNs: bigint, measure: boolean): number {
    this.count++;
    if ((this.next.get(partition) ?? 0) !== offset) this.inOrder = false;
    this.next.set(partition, offset + 1);
    const ms = Number(process.hrtime.bigint() - sentNs) / 1e6;
    if (measure && this.lastSent.get(partition) !== sentNs) this.latencies.push(ms);
    this.lastSent.set(partition, sentNs);
    return ms;
  }

  percentile(p: number): number {
    if (this.latencies.length === 0) return NaN;
    const sorted = Float64Array.from(this.latencies).sort();
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }
}

async function demo(keep: boolean): Promise<number> {
  const c = colorsFor(process.stdout);
  const tty = process.stdout.isTTY === true;
  const say = (s = '') => process.stdout.write(`${s}\n`);
  const stopper = new Stopper();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-demo-'));
  let store: LogStore | undefined;
  let follower: Follower | undefined;
  const failures: string[] = [];
  try {
    say(`${c.bold('logstore demo')}: a store in ${dir}${keep ? '' : ' (removed at the end)'}\n`);
    store = LogStore.open(dir, { durability: 'interval', flushIntervalMs: 100 });
    store.createTopic(TOPIC, { partitions: PARTITIONS, segmentBytes: SEGMENT_BYTES });
    say(
      `${c.cyan('●')} created topic ${c.bold(TOPIC)}: ${PARTITIONS} partitions, ${formatBytes(SEGMENT_BYTES)} segments`,
    );

    follower = new Follower(dir);
    say(
      `${c.cyan('●')} started a follower process: ${c.dim(`logstore tail ${dir} ${TOPIC} --follow --format json`)}`,
    );

    // Live readers in this process, one per partition: `for await` wakes on each append.
    const live = new ReaderStats();
    let show: ((r: LogRecord, ms: number) => void) | null = null;
    const readers = Array.from({ length: PARTITIONS }, (_, partition) => {
      const reader = store!.reader(TOPIC, { partition, from: 'earliest' });
      const done = (async () => {
        for await (const r of reader) {
          const ms = live.seen(r.partition, r.offset, sentAt(r), true);
          show?.(r, ms);
        }
      })();
      return { reader, done };
    });

    say(`${c.cyan('●')} appending orders one by one; a live reader prints each as it lands:\n`);
    show = (r, ms) =>
      say(
        `  ${c.yellow(`p${r.partition}:${r.offset}`.padEnd(6))} ${c.dim(new Date(r.timestamp).toISOString().slice(11, 23))}  ` +
          `${c.cyan(r.key!.toString().padEnd(6))}  ${r.value!.toString()}  ${c.dim(`+${ms.toFixed(3)} ms`)}`,
      );
    let order = 0;
    const makeRecord = (): AppendRecord => {
      order++;
      const user = USERS[(order * 5 + (order >> 2)) % USERS.length]!;
      const item = ITEMS[(order * 5 + 3) % ITEMS.length]!;
      const value = JSON.stringify({ order, item, qty: 1 + (order % 3) });
      return { key: user, value, headers: { [SENT_HEADER]: '' } };
    };
    const send = (records: AppendRecord[]) => {
      const sent = String(process.hrtime.bigint());
      for (const r of records) r.headers = { [SENT_HEADER]: sent };
      store!.append(TOPIC, records);
    };
    for (let i = 0; i < SLOW_RECORDS && !stopper.stopped; i++) {
      send([makeRecord()]);
      await pause(SLOW_INTERVAL_MS, stopper.signal);
    }
    show = null;

    say(
      `\n${c.cyan('●')} streaming orders in batches of ${STREAM_BATCH} for ${STREAM_MS / 1000} s, across segment rolls…`,
    );
    const streamStart = Date.now();
    let lastDraw = 0;
    const draw = (final: boolean) => {
      const text = `  written ${formatCount(order)} · live reader ${formatCount(live.count)} · follower ${formatCount(follower!.stats.count)}`;
      if (tty) process.stdout.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
      else if (final) say(text);
    };
    while (Date.now() - streamStart < STREAM_MS && !stopper.stopped) {
      send(Array.from({ length: STREAM_BATCH }, makeRecord));
      await pause(STREAM_TICK_MS, stopper.signal);
      if (Date.now() - lastDraw > 100) {
        draw(false);
        lastDraw = Date.now();
      }
    }
    const written = order;
    const deadline = Date.now() + CATCH_UP_MS;
    while (
      (live.count < written || follower.stats.count < written) &&
      Date.now() < deadline &&
      !stopper.stopped
    ) {
      if (follower.exited) break;
      await pause(10, stopper.signal);
      if (Date.now() - lastDraw > 100) {
        draw(false);
        lastDraw = Date.now();
      }
    }
    draw(true);
    if (stopper.stopped) return 130;

    const description = store.describeTopic(TOPIC);
    await store.flush();
    for (const r of readers) r.reader.close();
    await Promise.all(readers.map((r) => r.done));
    await store.close();
    store = undefined;
    const followerExit = await follower.stop();

    const verify = await verifyStore(dir);
    const damage = verify.findings.filter((f) => f.severity === 'damage');

    // ---- summary
    const seconds = STREAM_MS / 1000;
    const segments = description.partitions.reduce((n, d) => n + d.segments, 0);
    const bytes = description.partitions.reduce((n, d) => n + d.bytes, 0);
    const ok = (good: boolean, text: string) => {
      if (!good) failures.push(text);
      return good ? text : c.red(text);
    };
    const ms = (n: number) => (Number.isNaN(n) ? '-' : n < 1 ? `${n.toFixed(3)} ms` : `${n.toFixed(1)} ms`);
    say(`\n${c.bold('summary')}`);
    say(
      `  ${'written'.padEnd(13)}${formatCount(written)} records (${formatBytes(bytes)}) in ${PARTITIONS} partitions, ` +
        `${segments} segments of ${formatBytes(SEGMENT_BYTES)}; streamed ~${formatCount(Math.round((written - SLOW_RECORDS) / seconds))} rec/s`,
    );
    say(
      `  ${'live reader'.padEnd(13)}${ok(live.count === written && live.inOrder, `${formatCount(live.count)} records${live.inOrder ? ', in offset order' : ', OUT OF ORDER'}`)}` +
        ` · append → read p50 ${ms(live.percentile(50))}, p99 ${ms(live.percentile(99))} (same process)`,
    );
    const fs_ = follower.stats;
    say(
      `  ${'follower'.padEnd(13)}${ok(fs_.count === written && fs_.inOrder && followerExit === 0, `${formatCount(fs_.count)} records${fs_.inOrder ? '' : ', OUT OF ORDER'}`)}` +
        ` · append → \`tail --follow\` p50 ${ms(fs_.percentile(50))}, p99 ${ms(fs_.percentile(99))} (another process, read-only)` +
        (followerExit === 0
          ? ''
          : c.red(
              ` · exited with ${followerExit}${follower.stderr ? `: ${follower.stderr.trim().split('\n')[0]}` : ''}`,
            )),
    );
    const keys = USERS.map((u) => `${u}→p${partitionForKey(Buffer.from(u), PARTITIONS)}`).join(' ');
    say(`  ${'keys'.padEnd(13)}${keys} ${c.dim("(murmur2, as Kafka's default partitioner)")}`);
    say(
      `  ${'verify'.padEnd(13)}${ok(damage.length === 0, damage.length === 0 ? `${verify.segments} segments, ${formatCount(verify.batches)} batches: every CRC and offset checks out` : `${damage.length} problems: ${damage[0]!.message}`)}`,
    );
    say();
    if (keep) {
      say(`the store stays in ${dir}; try:`);
      for (const cmd of [
        `topics ${dir} describe ${TOPIC}`,
        `tail ${dir} ${TOPIC} --max 5`,
        `dump ${dir} ${TOPIC} --partition 0 | head`,
        `verify ${dir}`,
      ]) {
        say(`  npx logstore ${cmd}`);
      }
    } else {
      say(
        c.dim(`store removed; \`npx logstore demo --keep\` keeps it to explore with tail, dump and verify.`),
      );
    }
    if (failures.length > 0) say(c.red(`\ndemo failed: ${failures.join('; ')}`));
    return failures.length > 0 ? 1 : 0;
  } finally {
    stopper.dispose();
    await store?.close();
    await follower?.stop();
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function sentAt(r: LogRecord): bigint {
  const h = r.headers[SENT_HEADER];
  return h && h.length > 0 ? BigInt(h.toString()) : process.hrtime.bigint();
}

/** `logstore tail --follow --format json` in a child process, counting what it prints. */
class Follower {
  readonly stats = new ReaderStats();
  stderr = '';
  exited = false;
  private readonly child: ChildProcess;
  private readonly exit: Promise<number>;
  /** Records sent before the follower printed its first line are not timed (it was starting). */
  private startedNs: bigint | null = null;

  constructor(dir: string) {
    this.child = spawn(
      process.execPath,
      [BIN, 'tail', dir, TOPIC, '--follow', '--from', 'earliest', '--format', 'json'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let pending = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        this.line(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    this.exit = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.stderr += err.message;
        this.exited = true;
        resolve(-1);
      });
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        resolve(code ?? (signal ? 128 : -1));
      });
    });
  }

  private line(text: string): void {
    let r: { partition: number; offset: number; headers: Record<string, unknown> };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      return;
    }
    const sentText = r.headers[SENT_HEADER];
    const sent = typeof sentText === 'string' ? BigInt(sentText) : process.hrtime.bigint();
    this.startedNs ??= process.hrtime.bigint();
    this.stats.seen(r.partition, r.offset, sent, sent > this.startedNs);
  }

  /** Interrupts it (as Ctrl-C would) and resolves with its exit code. */
  async stop(): Promise<number> {
    if (!this.exited) {
      this.child.kill('SIGINT');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      const code = await this.exit;
      clearTimeout(timer);
      return code;
    }
    return this.exit;
  }
}
