/**
 * `logstore tail <dir> <topic>`: prints records; with --follow keeps printing what a writer (in
 * another process) appends, until SIGINT/SIGTERM or until its output pipe closes, and exits 0.
 *
 * The store is opened read-only (no lock, nothing written), so tail runs beside a live writer: a
 * follower reader per partition. When every partition is caught up, tail waits on the readers
 * (`waitForRecords`): woken by the writer's file-system events, it costs nothing while the writer
 * is idle, and shows a record a few milliseconds after its append. Records of several partitions are merged by timestamp (then
 * partition, then offset) over what each partition has at the time: exact for what is on disk,
 * best effort for records still arriving. A reader that falls below the log start (retention
 * deleted its segment) continues at the new start and says so on stderr.
 */
import type { LogRecord } from '../index.js';
import type { LogStore } from '../index.js';
import type { Reader } from '../index.js';
import type { Consumer, PartitionDescription } from '../index.js';
import { LogStoreError } from '../index.js';
import {
  CliError,
  flag,
  intOption,
  parse,
  parseStart,
  printHelp,
  stringOption,
  UsageError,
  type StartArg,
} from './args.js';
import type { Command } from './main.js';
import { openReadOnly, openWriter, requireTopic } from './open.js';
import { colorsFor, Output } from './output.js';
import { FORMATS, formatRecord, type Format } from './records.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore tail <dir> <topic> [options]

Prints a topic's records; with --follow keeps printing new ones while a writer (in another
process) appends, until Ctrl-C. Opens the store read-only: it never blocks or disturbs a writer.

options:
  --partition N     only partition N (default: all partitions, merged in timestamp order)
  --from POS        where to start: earliest | latest | <offset> | <ISO-8601 time>
                    (default: earliest, or latest with --follow; an offset needs --partition
                    on a topic of several partitions; a time without a zone is local time)
  --follow, -f      keep printing new records until interrupted
  --max N           stop after N records
  --group G         read as consumer group G and commit what was printed (needs the writer
                    lock, so not while another process writes)
  --format F        text (default) | json | raw
                      text  partition:offset  time  key  value  [headers]
                      json  one object a line: {"topic","partition","offset","timestamp",
                            "key","value","headers"}; timestamp in ms; bytes as a UTF-8
                            string when valid, else {"base64":"..."}; null stays null
                      raw   the value bytes, then a newline
  --help, -h        this help

examples:
  logstore tail ./data orders --follow
  logstore tail ./data orders --from 2024-05-01T12:00:00Z --max 10 --format json
`;

const OPTIONS = {
  partition: { type: 'string' },
  from: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  max: { type: 'string' },
  group: { type: 'string' },
  format: { type: 'string' },
} as const;

/** Records read from one partition at a time. */
const CHUNK = 1000;
/** Output is written when this much has collected (and at the end of every round). */
const FLUSH_BYTES = 64 * 1024;

interface Options {
  topic: string;
  partition: number | undefined;
  from: StartArg | undefined;
  follow: boolean;
  max: number;
  format: Format;
}

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 2, max: 2 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, topic] = parsed.positionals as [string, string];
    const format = (stringOption(parsed, 'format') ?? 'text') as Format;
    if (!FORMATS.includes(format))
      throw new UsageError(`--format expects text, json or raw, got '${format}'`);
    const fromText = stringOption(parsed, 'from');
    const options: Options = {
      topic,
      partition: intOption(parsed, 'partition', 0),
      from: fromText === undefined ? undefined : parseStart('--from', fromText),
      follow: flag(parsed, 'follow'),
      max: intOption(parsed, 'max', 1) ?? Number.POSITIVE_INFINITY,
      format,
    };
    const group = stringOption(parsed, 'group');
    if (group !== undefined) {
      if (options.partition !== undefined)
        throw new UsageError('--group reads the partitions the group assigns; drop --partition');
      // A group starts where it committed; --from is only its reset policy when it has no offset.
      if (options.from !== undefined && options.from !== 'earliest' && options.from !== 'latest') {
        throw new UsageError('with --group, --from is the reset policy: earliest or latest');
      }
      return tailGroup(dir, group, options);
    }
    return tailReaders(dir, options);
  },
};

/** One partition's reader and the records read from it but not printed yet. */
interface Feed {
  reader: Reader;
  partition: number;
  records: LogRecord[];
  next: number;
  /** Without --follow: the end offset when tail started; records from here on are not printed. */
  end: number;
}

async function tailReaders(dir: string, o: Options): Promise<number> {
  const out = new Output();
  const stopper = new Stopper(out);
  const colors = colorsFor(out.stream);
  let store: LogStore | undefined;
  const feeds: Feed[] = [];
  try {
    store = openReadOnly(dir);
    requireTopic(store, dir, o.topic);
    const description = store.describeTopic(o.topic);
    if (o.partition !== undefined && o.partition >= description.partitionCount) {
      throw new CliError(
        `--partition ${o.partition}: topic ${o.topic} has partitions 0 to ${description.partitionCount - 1}`,
      );
    }
    if (typeof o.from === 'number' && o.partition === undefined && description.partitionCount > 1) {
      throw new UsageError(
        `--from ${o.from}: offsets are per partition; add --partition (topic ${o.topic} has ${description.partitionCount})`,
      );
    }
    const from = o.from ?? (o.follow ? 'latest' : 'earliest');
    const partitions =
      o.partition === undefined ? description.partitions.map((d) => d.partition) : [o.partition];
    for (const partition of partitions) {
      const reader = openReader(store, o.topic, partition, from, description.partitions[partition]);
      const end = description.partitions[partition]?.endOffset ?? 0;
      feeds.push({ reader, partition, records: [], next: 0, end: o.follow ? Number.POSITIVE_INFINITY : end });
    }

    let printed = 0;
    while (!stopper.stopped) {
      const heap = new FeedHeap();
      for (const feed of feeds) if (fill(feed)) heap.push(feed);
      while (heap.size > 0 && printed < o.max && !stopper.stopped) {
        const feed = heap.pop();
        out.push(formatRecord(feed.records[feed.next++]!, o.format, colors));
        printed++;
        if (fill(feed)) heap.push(feed);
        if (out.pending >= FLUSH_BYTES) await out.flush();
      }
      await out.flush();
      if (printed >= o.max || !o.follow || stopper.stopped) break;
      await waitForAny(feeds, stopper.signal);
    }
  } finally {
    for (const feed of feeds) feed.reader.close();
    stopper.dispose();
    await store?.close();
  }
  await out.settle();
  if (out.error) throw out.error;
  return 0;
}

/** A reader at `from`; an offset outside the partition is refused in the CLI's terms. */
function openReader(
  store: LogStore,
  topic: string,
  partition: number,
  from: StartArg,
  d: PartitionDescription | undefined,
): Reader {
  try {
    return store.reader(topic, { partition, from });
  } catch (err) {
    if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_OFFSET_OUT_OF_RANGE' || !d) throw err;
    const holds =
      d.endOffset === d.startOffset
        ? `is empty (its next offset is ${d.endOffset})`
        : `holds offsets ${d.startOffset} to ${d.endOffset - 1}`;
    throw new CliError(
      `--from ${String(from)}: partition ${partition} of ${topic} ${holds}; use --from earliest, latest, ` +
        `a time, or an offset from ${d.startOffset} to ${d.endOffset}`,
      'LOGSTORE_OFFSET_OUT_OF_RANGE',
    );
  }
}

/** Resolves when some partition may have records to print (or on a signal). */
async function waitForAny(feeds: Feed[], stop: AbortSignal): Promise<void> {
  const round = new AbortController();
  const onStop = () => round.abort();
  stop.addEventListener('abort', onStop, { once: true });
  try {
    await Promise.race(feeds.map((feed) => feed.reader.waitForRecords(round.signal)));
  } finally {
    round.abort(); // the other partitions' waits end too
    stop.removeEventListener('abort', onStop);
  }
}

/** Makes sure `feed` has a record to print; false when its partition has nothing more for now. */
function fill(feed: Feed): boolean {
  if (feed.next < feed.records.length) return true;
  feed.records = readSkippingDeleted(feed);
  feed.next = 0;
  if (feed.records.length > 0 && feed.records[feed.records.length - 1]!.offset >= feed.end) {
    feed.records = feed.records.filter((r) => r.offset < feed.end);
  }
  return feed.records.length > 0;
}

function readSkippingDeleted(feed: Feed): LogRecord[] {
  try {
    return feed.reader.read(CHUNK);
  } catch (err) {
    if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_OFFSET_OUT_OF_RANGE') throw err;
    const lost = feed.reader.position;
    feed.reader.seek('earliest');
    process.stderr.write(
      `tail: ${feed.reader.topic}-${feed.partition}: offsets ${lost} to ${feed.reader.position - 1} were deleted ` +
        `by retention before they were read; continuing at ${feed.reader.position}\n`,
    );
    return feed.reader.read(CHUNK);
  }
}

/** A min-heap of feeds by their next record's (timestamp, partition, offset). */
class FeedHeap {
  private readonly items: Feed[] = [];

  get size(): number {
    return this.items.length;
  }

  push(feed: Feed): void {
    const items = this.items;
    items.push(feed);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Feed {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Feed, b: Feed): boolean {
  const x = a.records[a.next]!;
  const y = b.records[b.next]!;
  if (x.timestamp !== y.timestamp) return x.timestamp < y.timestamp;
  if (x.partition !== y.partition) return x.partition < y.partition;
  return x.offset < y.offset;
}

/**
 * Reads as a member of `group` and commits, per partition, the last record printed (after it
 * was written out), so that an interrupted tail resumes after what it showed.
 */
async function tailGroup(dir: string, group: string, o: Options): Promise<number> {
  const out = new Output();
  const stopper = new Stopper(out);
  const colors = colorsFor(out.stream);
  let store: LogStore | undefined;
  let consumer: Consumer | undefined;
  try {
    store = openWriter(dir, `tail --group (committing the offsets of group '${group}')`);
    requireTopic(store, dir, o.topic);
    const from = o.from === 'latest' ? 'latest' : 'earliest'; // checked when parsing
    consumer = store.consumer(o.topic, { group, autoCommit: false, from });
    let printed = 0;
    while (!stopper.stopped && printed < o.max) {
      const records = consumer.read(CHUNK);
      const last = new Map<number, LogRecord>();
      for (const record of records) {
        if (printed >= o.max) break;
        out.push(formatRecord(record, o.format, colors));
        last.set(record.partition, record);
        printed++;
      }
      await out.flush();
      if (out.closed) break; // not written: not committed
      for (const record of last.values()) consumer.commit(record);
      if (records.length === 0) {
        if (!o.follow) break;
        await consumer.waitForRecords(stopper.signal);
      }
    }
  } finally {
    stopper.dispose();
    try {
      await consumer?.close();
    } finally {
      await store?.close();
    }
  }
  await out.settle();
  if (out.error) throw out.error;
  return 0;
}
