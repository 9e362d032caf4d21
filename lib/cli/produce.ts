/**
 * `logstore produce <dir> <topic>`: appends one record per line of stdin. Lines that arrive
 * together are appended together (at most --batch per call), so a pipe is written in large
 * batches while a person typing sees each line appended at once. It takes the writer lock, and
 * flushes and closes the store before exiting, so what it acknowledged is on stable storage.
 *
 * The CLI picks each record's partition itself, by the library's rules (an explicit partition,
 * else Kafka's murmur2 of the key, else one partition per call, rotating), so that it knows the
 * offset of every record for --print-offsets.
 */
import type { AppendRecord, AppendResult } from '../index.js';
import type { LogStore } from '../index.js';
import { LogStoreError } from '../index.js';
import { partitionForKey } from '../inspect/index.js';
import { CliError, flag, intOption, parse, printHelp, stringOption, UsageError } from './args.js';
import type { Command } from './main.js';
import { openWriter } from './open.js';
import { Output } from './output.js';
import { jsonToBytes } from './records.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore produce <dir> <topic> [options]  < lines

Appends one record per line of stdin (the line's bytes, without the newline, are the value).
Needs the store's writer lock; everything appended is flushed to disk before it exits.

options:
  --key K            the key of every record (default: none)
  --key-separator S  each line is <key>S<value>, split at the first S
  --partition N      append to partition N (default: by key with Kafka's murmur2
                     partitioner; records without a key go to one partition per batch, rotating)
  --header NAME=V    a header on every record (repeatable)
  --json             each line is a JSON object {"key", "value", "headers", "timestamp",
                     "partition"} (all optional but value), bytes as a string (UTF-8) or
                     {"base64": "..."}: what \`logstore tail --format json\` prints
  --batch N          at most N records per append call (default 1000)
  --print-offsets    print partition:offset of each record appended, in input order
  --help, -h         this help

examples:
  printf 'a\\nb\\nc\\n' | logstore produce ./data orders --key user-1
  logstore tail ./old orders --format json | logstore produce ./new orders --json
`;

const OPTIONS = {
  key: { type: 'string' },
  'key-separator': { type: 'string' },
  partition: { type: 'string' },
  header: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  batch: { type: 'string' },
  'print-offsets': { type: 'boolean' },
} as const;

const JSON_KEYS = ['key', 'value', 'headers', 'timestamp', 'partition', 'topic', 'offset'];

interface Options {
  topic: string;
  key: Buffer | undefined;
  separator: Buffer | undefined;
  partition: number | undefined;
  /** From --header NAME=VALUE, in order (a name may repeat). */
  headers: [string, Buffer][] | undefined;
  json: boolean;
  batch: number;
  printOffsets: boolean;
}

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 2, max: 2 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, topic] = parsed.positionals as [string, string];
    const key = stringOption(parsed, 'key');
    const separator = stringOption(parsed, 'key-separator');
    const json = flag(parsed, 'json');
    if (separator === '') throw new UsageError('--key-separator must not be empty');
    if (key !== undefined && separator !== undefined)
      throw new UsageError('--key and --key-separator exclude each other');
    if (json && (key !== undefined || separator !== undefined)) {
      throw new UsageError('with --json, keys come from the JSON lines; drop --key/--key-separator');
    }
    let headers: [string, Buffer][] | undefined;
    for (const h of (parsed.values.header as string[] | undefined) ?? []) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new UsageError(`--header expects NAME=VALUE, got '${h}'`);
      (headers ??= []).push([h.slice(0, eq), Buffer.from(h.slice(eq + 1), 'utf8')]);
    }
    return produce(dir, {
      topic,
      key: key === undefined ? undefined : Buffer.from(key, 'utf8'),
      separator: separator === undefined ? undefined : Buffer.from(separator, 'utf8'),
      partition: intOption(parsed, 'partition', 0),
      headers,
      json,
      batch: intOption(parsed, 'batch', 1, 1_000_000) ?? 1000,
      printOffsets: flag(parsed, 'print-offsets'),
    });
  },
};

async function produce(dir: string, o: Options): Promise<number> {
  const store = openWriter(dir, 'produce');
  const out = new Output();
  const stopper = new Stopper();
  let writer: BatchWriter | undefined;
  try {
    const partitions = store.describeTopic(o.topic).partitions;
    if (o.partition !== undefined && o.partition >= partitions) {
      throw new CliError(
        `--partition ${o.partition}: topic ${o.topic} has partitions 0 to ${partitions - 1}`,
      );
    }
    writer = new BatchWriter(store, o, partitions, out);
    stopper.signal.addEventListener('abort', () => process.stdin.destroy(), { once: true });
    let pending = Buffer.alloc(0);
    let lineNo = 0;
    try {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
          writer.add(parseLine(lineEnd(data, start, nl), ++lineNo, o, partitions), lineNo);
          start = nl + 1;
        }
        pending = Buffer.from(data.subarray(start));
        writer.appendAll();
        await out.flush();
      }
    } catch (err) {
      if (!stopper.stopped) throw err; // after a signal, a destroyed stdin just ends the input
    }
    if (pending.length > 0 && !stopper.stopped) {
      writer.add(parseLine(lineEnd(pending, 0, pending.length), ++lineNo, o, partitions), lineNo);
    }
    writer.appendAll();
    await store.flush();
  } catch (err) {
    // A bad line: the lines before it are still appended, as a producer would have sent them.
    if (err instanceof CliError && writer) writer.appendAll();
    if (writer && writer.appended > 0) {
      process.stderr.write(`produce: ${writer.appended} records were appended before the error\n`);
    }
    throw err;
  } finally {
    stopper.dispose();
    await out.flush();
    await store.close();
  }
  const n = writer.appended;
  if (process.stderr.isTTY) process.stderr.write(`appended ${n} record${n === 1 ? '' : 's'} to ${o.topic}\n`);
  await out.settle();
  return 0;
}

/** The line's bytes from `start` to the newline at `nl`, without a trailing carriage return. */
function lineEnd(data: Buffer, start: number, nl: number): Buffer {
  const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
  return data.subarray(start, end);
}

/** A record for one input line, with its partition decided. */
function parseLine(
  line: Buffer,
  lineNo: number,
  o: Options,
  partitions: number,
): AppendRecord & { partition?: number } {
  if (!o.json) {
    let key = o.key ?? null;
    let value: Buffer = line;
    if (o.separator) {
      const at = line.indexOf(o.separator);
      if (at < 0)
        throw new CliError(`stdin line ${lineNo}: no key separator '${o.separator.toString()}' in the line`);
      key = line.subarray(0, at);
      value = line.subarray(at + o.separator.length);
    }
    return withPartition({ key, value, headers: o.headers }, o.partition, partitions);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(line.toString('utf8'));
  } catch (err) {
    throw new CliError(`stdin line ${lineNo}: not JSON (${(err as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new CliError(`stdin line ${lineNo}: expected a JSON object like {"key": "k", "value": "v"}`);
  }
  const j = obj as Record<string, unknown>;
  const unknown = Object.keys(j).find((k) => !JSON_KEYS.includes(k));
  if (unknown !== undefined) {
    throw new CliError(
      `stdin line ${lineNo}: unknown field "${unknown}" (known: key, value, headers, timestamp, partition)`,
    );
  }
  if (!('value' in j)) throw new CliError(`stdin line ${lineNo}: no "value" (use null for a tombstone)`);
  try {
    const record: AppendRecord = {
      key: j.key === undefined ? null : jsonToBytes(j.key, '"key"'),
      value: jsonToBytes(j.value, '"value"'),
    };
    if (j.headers !== undefined && j.headers !== null) {
      if (typeof j.headers !== 'object' || Array.isArray(j.headers))
        throw new Error('"headers" must be an object');
      const headers: [string, Buffer | null][] = [...(o.headers ?? [])];
      for (const [name, v] of Object.entries(j.headers)) {
        for (const one of Array.isArray(v) ? v : [v])
          headers.push([name, jsonToBytes(one, `header "${name}"`)]);
      }
      record.headers = headers;
    } else if (o.headers) record.headers = o.headers;
    if (j.timestamp !== undefined) {
      if (typeof j.timestamp !== 'number' || !Number.isSafeInteger(j.timestamp) || j.timestamp < 0) {
        throw new Error('"timestamp" must be milliseconds since the epoch');
      }
      record.timestamp = j.timestamp;
    }
    let partition = o.partition;
    if (j.partition !== undefined && o.partition === undefined) {
      if (
        typeof j.partition !== 'number' ||
        !Number.isInteger(j.partition) ||
        j.partition < 0 ||
        j.partition >= partitions
      ) {
        throw new Error(`"partition" must be an integer from 0 to ${partitions - 1}`);
      }
      partition = j.partition;
    }
    return withPartition(record, partition, partitions);
  } catch (err) {
    throw new CliError(`stdin line ${lineNo}: ${(err as Error).message}`);
  }
}

function withPartition(
  record: AppendRecord,
  partition: number | undefined,
  partitions: number,
): AppendRecord {
  if (partition !== undefined) record.partition = partition;
  else if (record.key != null) record.partition = partitionForKey(record.key as Buffer, partitions);
  return record;
}

/**
 * Collects records and appends them, at most `batch` per call, assigning keyless records one
 * partition per call (rotating), as the library does; prints offsets when asked.
 */
class BatchWriter {
  private records: AppendRecord[] = [];
  private lines: number[] = [];
  private nextKeyless = 0;
  /** Records appended so far. */
  appended = 0;

  constructor(
    private readonly store: LogStore,
    private readonly o: Options,
    private readonly partitions: number,
    private readonly out: Output,
  ) {}

  add(record: AppendRecord, lineNo: number): void {
    this.records.push(record);
    this.lines.push(lineNo);
  }

  /** Appends everything collected. */
  appendAll(): void {
    let done = 0;
    while (done < this.records.length) {
      const n = Math.min(this.o.batch, this.records.length - done);
      this.appendBatch(this.records.slice(done, done + n), this.lines[done]!, this.lines[done + n - 1]!);
      done += n;
      this.appended += n;
    }
    this.records = [];
    this.lines = [];
  }

  private appendBatch(records: AppendRecord[], firstLine: number, lastLine: number): void {
    let keyless = false;
    for (const r of records) {
      if (r.partition === undefined) {
        r.partition = this.nextKeyless;
        keyless = true;
      }
    }
    if (keyless) this.nextKeyless = (this.nextKeyless + 1) % this.partitions;
    let results: AppendResult[];
    try {
      results = this.store.append(this.o.topic, records);
    } catch (err) {
      if (err instanceof LogStoreError) {
        const where = firstLine === lastLine ? `line ${firstLine}` : `lines ${firstLine}-${lastLine}`;
        throw new LogStoreError(err.code, `stdin ${where}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    if (!this.o.printOffsets) return;
    const next = new Map(results.map((r) => [r.partition, r.baseOffset]));
    for (const r of records) {
      const offset = next.get(r.partition!)!;
      next.set(r.partition!, offset + 1);
      this.out.push(`${r.partition}:${offset}\n`);
    }
  }
}
