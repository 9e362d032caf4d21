/**
 * `logstore dump <dir> <topic>`: a partition's segments as the catalog lists them and the batch
 * headers in each file, in the form of Kafka's DumpLogSegments (`kafka-dump-log.sh`), so that
 * the output reads and greps the same; `--records` adds the records (Kafka's
 * --print-data-log). Reads the files through the inspection API, like verify: it works on any
 * store, damaged or live, and stops a segment at the first invalid batch, saying where.
 */
import { dumpSegment, partitionDir, StoreFiles, type BatchHeader, type TopicRow } from '../inspect/index.js';
import type { LogRecord } from '../index.js';
import { CliError, flag, intOption, parse, printHelp } from './args.js';
import type { Command } from './main.js';
import { requireStore } from './open.js';
import { Output } from './output.js';
import { printable, printableOrNull } from './records.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore dump <dir> <topic> [--partition N] [--segment BASE] [--records]

Prints each segment of the topic's partitions (base offset, end, size) and every batch header,
as Kafka's kafka-dump-log.sh does; an invalid batch ends its segment's listing with the reason.

options:
  --partition N    only partition N (default: all)
  --segment BASE   only the segment with base offset BASE
  --records        print each record too (offset, timestamp, key, payload, headers)
  --help, -h       this help
`;

const OPTIONS = {
  partition: { type: 'string' },
  segment: { type: 'string' },
  records: { type: 'boolean' },
} as const;

const FLUSH_BYTES = 256 * 1024;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 2, max: 2 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, topicName] = parsed.positionals as [string, string];
    const only = intOption(parsed, 'partition', 0);
    const segment = intOption(parsed, 'segment', 0);
    const records = flag(parsed, 'records');
    const absolute = requireStore(dir);
    const files = StoreFiles.open(absolute);
    const out = new Output();
    const stopper = new Stopper(out);
    try {
      const topic = files.topic(topicName);
      if (!topic)
        throw new CliError(
          `no topic '${topicName}' in ${absolute} (\`logstore topics ${dir}\` lists the topics)`,
          'LOGSTORE_TOPIC_NOT_FOUND',
        );
      if (only !== undefined && only >= topic.partitions) {
        throw new CliError(
          `--partition ${only}: topic ${topicName} has partitions 0 to ${topic.partitions - 1}`,
        );
      }
      let matched = false;
      for (let p = only ?? 0; p < (only ?? topic.partitions - 1) + 1 && !stopper.stopped; p++) {
        matched = (await dumpPartition(files, topic, p, segment, records, out, stopper)) || matched;
      }
      if (segment !== undefined && !matched)
        throw new CliError(`no segment with base offset ${segment} in ${topicName}`);
    } finally {
      stopper.dispose();
      files.close();
      await out.flush();
    }
    await out.settle();
    return 0;
  },
};

async function dumpPartition(
  files: StoreFiles,
  topic: TopicRow,
  partition: number,
  only: number | undefined,
  withRecords: boolean,
  out: Output,
  stopper: Stopper,
): Promise<boolean> {
  const { row: prow, segments } = files.partition(topic.name, partition);
  const rows = segments.filter((r) => only === undefined || r.baseOffset === only);
  if (rows.length === 0) return false;
  out.push(
    `Dumping ${partitionDir(files.dir, topic.name, partition)} (topic ${topic.name}, partition ${partition})\n`,
  );
  if (prow) {
    out.push(
      `Log start offset: ${prow.logStartOffset} recovery point: segment ${prow.recoverySegment} position ` +
        `${prow.recoveryPosition} offset ${prow.recoveryOffset}\n`,
    );
  }
  for (const row of rows) {
    if (stopper.stopped) break;
    const file = files.segmentFile(topic.name, partition, row.baseOffset);
    const state =
      row.endOffset === null
        ? 'active'
        : `closed, end offset ${row.endOffset}, ${row.size} bytes of batches, max timestamp ${row.maxTimestamp}`;
    out.push(`Segment ${file} (base offset ${row.baseOffset}, capacity ${row.capacity}; ${state})\n`);
    let batches = 0;
    let count = 0;
    const walk = dumpSegment(files, topic.name, partition, row, withRecords);
    let step;
    try {
      step = walk.next();
      for (; !step.done && !stopper.stopped; step = walk.next()) {
        const { header, records } = step.value;
        batches++;
        count += header.count;
        out.push(batchLine(header));
        for (const r of records ?? []) out.push(recordLine(r));
        if (out.pending >= FLUSH_BYTES) await out.flush();
      }
    } catch (err) {
      out.push(`  cannot read it: ${(err as Error).message}\n`);
      continue;
    } finally {
      walk.return(undefined as never);
    }
    if (step.done) {
      const end = step.value;
      if (end.stop !== 'end' && end.stop !== 'zeros')
        out.push(
          `invalid batch at position ${end.end} [${end.stop}]: ${end.detail}; the rest of this segment is not shown\n`,
        );
      out.push(
        `End of segment: ${batches} batches, ${count} records; batches end at position ${end.end} of ${end.fileSize}\n`,
      );
    }
    await out.flush();
  }
  return true;
}

function batchLine(h: BatchHeader): string {
  const transactional = (h.attributes & 0x10) !== 0;
  const control = (h.attributes & 0x20) !== 0;
  const lastSequence = h.baseSequence < 0 ? -1 : h.baseSequence + h.lastOffset - h.baseOffset;
  return (
    `baseOffset: ${h.baseOffset} lastOffset: ${h.lastOffset} count: ${h.count} baseSequence: ${h.baseSequence} ` +
    `lastSequence: ${lastSequence} producerId: ${h.producerId} producerEpoch: ${h.producerEpoch} ` +
    `partitionLeaderEpoch: ${h.partitionLeaderEpoch} isTransactional: ${transactional} isControl: ${control} ` +
    `position: ${h.position} ${(h.attributes & 0x08) !== 0 ? 'LogAppendTime' : 'CreateTime'}: ${h.maxTimestamp} ` +
    `size: ${h.size} magic: ${h.magic} compresscodec: ${CODECS[h.attributes & 0x07] ?? 'unknown'} ` +
    `crc: ${h.crc} isvalid: true\n`
  );
}

function recordLine(r: LogRecord): string {
  const keySize = r.key === null ? -1 : r.key.length;
  const valueSize = r.value === null ? -1 : r.value.length;
  const headers = r.headerList;
  return (
    `| offset: ${r.offset} CreateTime: ${r.timestamp} keySize: ${keySize} valueSize: ${valueSize} ` +
    `sequence: -1 headerKeys: [${headers.map(([n]) => n).join(',')}]` +
    (r.key === null ? '' : ` key: ${printable(r.key)}`) +
    ` payload: ${r.value === null ? 'null' : printable(r.value)}` +
    (headers.length > 0
      ? ` headers: [${headers.map(([n, v]) => `${n}=${printableOrNull(v)}`).join(',')}]`
      : '') +
    '\n'
  );
}
