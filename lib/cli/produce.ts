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
import { closestName } from '../options.js';
import { openWriter, requireTopic } from './open.js';
import { formatCount, Output } from './output.js';
import { jsonToBytes } from './records.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore produce <dir> <topic> [options]  < lines

Appends one record per line of stdin (the line's bytes, without the newline, are the value).
Needs the store's writer lock; everything appended is flushed to disk before it exits. A line
that cannot be read (--json) or that the topic refuses (too large) is rejected: it is named on
stderr with its reason, the other lines are appended, and the exit code is 1.

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
  --print-offsets    print partition:offset of each line's record, in input order (- for a
                     rejected line)
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
/** Rejected lines named one by one on stderr, then only counted. */
const MAX_REJECTIONS_SHOWN = 100;

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
    requireTopic(store, dir, o.topic);
    const topic = store.describeTopic(o.topic);
    const partitions = topic.partitionCount;
    if (o.partition !== undefined && o.partition >= partitions) {
      throw new CliError(
        `--partition ${o.partition}: topic ${o.topic} has partitions 0 to ${partitions - 1}`,
      );
    }
    writer = new BatchWriter(store, o, partitions, out, (e) => recordRefusal(e, dir, o.topic));
    stopper.signal.addEventListener('abort', () => process.stdin.destroy(), { once: true });
    let pending = Buffer.alloc(0);
    let lineNo = 0;
    const add = (line: Buffer) => {
      const n = ++lineNo;
      writer!.add(n, () => parseLine(line, o, partitions));
    };
    try {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        const data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
          add(lineEnd(data, start, nl));
          start = nl + 1;
        }
        pending = Buffer.from(data.subarray(start));
        writer.appendAll();
        await out.flush();
      }
    } catch (err) {
      if (!stopper.stopped) throw err; // after a signal, a destroyed stdin just ends the input
    }
    if (pending.length > 0 && !stopper.stopped) add(lineEnd(pending, 0, pending.length));
    writer.appendAll();
    await store.flush();
  } catch (err) {
    if (writer && writer.appended > 0) {
      process.stderr.write(`produce: ${records(writer.appended)} appended to ${o.topic} before the error\n`);
    }
    throw err;
  } finally {
    stopper.dispose();
    await out.flush();
    await store.close();
  }
  const { appended, rejected } = writer;
  await out.settle();
  if (rejected > 0) {
    // Each rejected line was named as it came; this is the count, and the exit code says it too.
    process.stderr.write(
      `produce: appended ${records(appended)} to ${o.topic}; rejected ${rejected} line${rejected === 1 ? '' : 's'}\n`,
    );
    return 1;
  }
  if (process.stderr.isTTY) process.stderr.write(`appended ${records(appended)} to ${o.topic}\n`);
  return 0;
}

function records(n: number): string {
  return `${formatCount(n)} record${n === 1 ? '' : 's'}`;
}

/**
 * Why the library refused one record, in the CLI's terms (its options, not the library's names);
 * null for a failure that is not about the record (the command then stops).
 */
function recordRefusal(err: unknown, dir: string, topic: string): string | null {
  if (!(err instanceof LogStoreError)) return null;
  if (err.code === 'LOGSTORE_RECORD_TOO_LARGE') {
    const size = /is (\d+) bytes encoded, over the topic's maxRecordBytes of (\d+)/.exec(err.message);
    const what = size
      ? `the record is ${size[1]} bytes encoded, over the topic's --max-record-bytes of ${size[2]}`
      : "the record does not fit in one of the topic's segments (its --segment-bytes)";
    return `${err.code}: ${what}; raise it with \`logstore topics ${dir} alter ${topic} ${size ? '--max-record-bytes' : '--segment-bytes'} <bytes>\``;
  }
  if (err.code === 'LOGSTORE_INVALID_ARGUMENT') return `${err.code}: ${err.message}`;
  return null;
}

/** The line's bytes from `start` to the newline at `nl`, without a trailing carriage return. */
function lineEnd(data: Buffer, start: number, nl: number): Buffer {
  const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
  return data.subarray(start, end);
}

/** A record for one input line, with its partition decided. */
function parseLine(line: Buffer, o: Options, partitions: number): AppendRecord & { partition?: number } {
  if (!o.json) {
    let key = o.key ?? null;
    let value: Buffer = line;
    if (o.separator) {
      const at = line.indexOf(o.separator);
      if (at < 0) throw new CliError(`no key separator '${o.separator.toString()}' in the line`);
      key = line.subarray(0, at);
      value = line.subarray(at + o.separator.length);
    }
    return withPartition({ key, value, headers: o.headers }, o.partition, partitions);
  }
  let obj: unknown;
  try {
    obj = JSON.parse(line.toString('utf8'));
  } catch (err) {
    throw new CliError(`not JSON (${(err as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new CliError(`expected a JSON object like {"key": "k", "value": "v"}`);
  }
  const j = obj as Record<string, unknown>;
  const unknown = Object.keys(j).find((k) => !JSON_KEYS.includes(k));
  if (unknown !== undefined) {
    const close = closestName(unknown, JSON_KEYS);
    throw new CliError(
      `unknown field "${unknown}"${close ? `; did you mean "${close}"?` : ''} (known: key, value, headers, timestamp, partition)`,
    );
  }
  if (!('value' in j)) throw new CliError(`no "value" (use null for a tombstone)`);
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
    throw new CliError((err as Error).message);
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

/** One input line: its record, or why it was rejected; and where the record went. */
interface Entry {
  lineNo: number;
  record: AppendRecord | null;
  rejected: string | null;
  partition?: number;
  offset?: number;
}

/**
 * Collects the lines' records and appends them, at most `batch` per call, assigning keyless
 * records one partition per call (rotating), as the library does. A line that cannot be read, or
 * a record the library refuses (too large, not valid), is rejected and reported on stderr with
 * its line number and reason; the others are appended. With --print-offsets, one line per input
 * line in input order: `partition:offset`, or `-` for a rejected line.
 */
class BatchWriter {
  private entries: Entry[] = [];
  private nextKeyless = 0;
  /** Records appended so far. */
  appended = 0;
  /** Lines rejected so far. */
  rejected = 0;

  constructor(
    private readonly store: LogStore,
    private readonly o: Options,
    private readonly partitions: number,
    private readonly out: Output,
    private readonly refusal: (err: unknown) => string | null,
  ) {}

  /** Adds line `lineNo`; `parse` makes its record, or throws a CliError saying why it cannot. */
  add(lineNo: number, parse: () => AppendRecord): void {
    try {
      this.entries.push({ lineNo, record: parse(), rejected: null });
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      const entry: Entry = { lineNo, record: null, rejected: null };
      this.entries.push(entry);
      this.reject(entry, `${err.code}: ${err.message}`);
    }
  }

  /** Appends everything collected, then prints the offsets if asked. */
  appendAll(): void {
    const pending = this.entries.filter((e) => e.record !== null);
    for (let done = 0; done < pending.length; done += this.o.batch) {
      this.appendBatch(pending.slice(done, done + this.o.batch));
    }
    if (this.o.printOffsets) {
      for (const e of this.entries)
        this.out.push(e.offset === undefined ? '-\n' : `${e.partition}:${e.offset}\n`);
    }
    this.entries = [];
  }

  private appendBatch(batch: Entry[]): void {
    const records = batch.map((e) => e.record!);
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
      const reason = this.refusal(err);
      if (reason === null) {
        if (!(err instanceof LogStoreError)) throw err;
        const first = batch[0]!.lineNo;
        const last = batch[batch.length - 1]!.lineNo;
        const where = first === last ? `line ${first}` : `lines ${first}-${last}`;
        throw new LogStoreError(err.code, `stdin ${where}: ${err.message}`, { cause: err });
      }
      // A bad record refuses its whole call: append the others one by one to find it.
      if (batch.length === 1) this.reject(batch[0]!, reason);
      else for (const e of batch) this.appendBatch([e]);
      return;
    }
    const next = new Map(results.map((r) => [r.partition, r.baseOffset]));
    for (const e of batch) {
      const partition = e.record!.partition!;
      const offset = next.get(partition)!;
      next.set(partition, offset + 1);
      e.partition = partition;
      e.offset = offset;
    }
    this.appended += batch.length;
  }

  private reject(e: Entry, reason: string): void {
    e.rejected = reason;
    this.rejected++;
    if (this.rejected <= MAX_REJECTIONS_SHOWN)
      process.stderr.write(`produce: line ${e.lineNo} rejected: ${reason}\n`);
    else if (this.rejected === MAX_REJECTIONS_SHOWN + 1)
      process.stderr.write(`produce: more lines rejected; only the count is shown from here on\n`);
  }
}
