/**
 * Turning `append` calls into batches: record checks, the partitioner (Kafka's murmur2 for keyed
 * records; keyless records of one call go to one partition, rotating between calls), and the
 * encoding of each partition's share of a call as one batch. Every share is measured (and so
 * every record validated) before any is written: a bad record writes nothing.
 */
import { checkInteger, checkKeys, checkOneOf, invalidArgument, type ResolvedTopicConfig } from './options.js';
import { partitionForKey } from './format/murmur2.js';
import { BatchEncoder, type MeasureOptions } from './format/batch-encoder.js';
import { compressionId, type CompressionId } from './format/codecs.js';
import type { AppendRecord, AppendResult, Bytes } from './record.js';
import type { Durability } from './durability.js';
import type { TopicState } from './topics.js';

/** Options of one `append` call. */
export interface AppendOptions {
  /** Every record to this partition (overrides keys and records' own partitions). */
  partition?: number;
  /** The codec of this call's batches. @default the topic's compressionType ('producer': none) */
  compression?: Codec;
}

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
const CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const NO_OPTIONS: MeasureOptions = {};
const NO_RECORD: AppendRecord = { value: null };

/** @internal */
export class Producer {
  private readonly encoder = new BatchEncoder();
  /** The codec of the call being appended. */
  private codec: CompressionId = 0;
  /** The array a single-record append is measured and written from (reused). */
  private readonly one: AppendRecord[] = [NO_RECORD];

  constructor(private readonly durability: Durability) {}

  /** Appends one record (returns where it went) or many (one result per partition written, in order). */
  append(
    state: TopicState,
    input: AppendRecord | readonly AppendRecord[],
    options?: AppendOptions,
  ): AppendResult | AppendResult[] {
    let explicit: number | undefined;
    const topicCodec = state.config.compressionType;
    let compression = topicCodec === 'producer' ? 'none' : topicCodec;
    if (options !== undefined) {
      checkOptionKeys(options);
      if (options.partition !== undefined) explicit = checkPartition(state, options.partition);
      if (options.compression !== undefined)
        compression = checkOneOf('compression', options.compression, CODECS);
    }
    this.codec = compression === 'none' ? 0 : compressionId(compression);
    const now = Date.now();
    if (!Array.isArray(input)) {
      // One record: no array of one, no share map (this path runs once per record).
      const record = input as AppendRecord;
      checkRecord(record, 0, state.config);
      const partition = explicit ?? partitionOf(state, record, 0);
      if (explicit === undefined && record.key == null && record.partition === undefined)
        rotateKeyless(state);
      const one = this.one;
      one[0] = record;
      try {
        const result = this.writeBatch(state, partition, one, null, now);
        this.durability.afterAppendTo(state.logs[partition]!);
        return result;
      } finally {
        one[0] = NO_RECORD; // the caller's record is not kept alive
      }
    }
    const records = input as readonly AppendRecord[];
    if (records.length === 0) throw invalidArgument('append() needs at least one record.');
    for (let i = 0; i < records.length; i++) checkRecord(records[i], i, state.config);
    if (explicit !== undefined || state.logs.length === 1) {
      const result = this.writeBatch(state, explicit ?? 0, records, null, now);
      this.durability.afterAppendTo(state.logs[result.partition]!);
      return [result];
    }
    // Spread by partition; measure every share before writing any, so a bad record writes nothing.
    const shares = new Map<number, number[]>();
    let keyless = false;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (rec.key == null && rec.partition === undefined) keyless = true;
      const p = partitionOf(state, rec, i);
      let share = shares.get(p);
      if (!share) shares.set(p, (share = []));
      share.push(i);
    }
    if (keyless) rotateKeyless(state);
    const order = [...shares.keys()].sort((a, b) => a - b);
    for (const p of order) {
      const bytes = this.encoder.measure(
        records,
        shares.get(p)!,
        now,
        state.config.maxRecordBytes,
        this.options(),
      );
      state.logs[p]!.checkBatchFits(bytes);
    }
    const results = order.map((p) => this.writeBatch(state, p, records, shares.get(p)!, now));
    this.durability.afterAppend(order.map((p) => state.logs[p]!));
    return results;
  }

  private options(): MeasureOptions {
    return this.codec === 0 ? NO_OPTIONS : { codec: this.codec };
  }

  private writeBatch(
    state: TopicState,
    partition: number,
    records: readonly AppendRecord[],
    indices: number[] | null,
    now: number,
  ): AppendResult {
    const log = state.logs[partition]!;
    const bytes = this.encoder.measure(records, indices, now, state.config.maxRecordBytes, this.options());
    const count = indices ? indices.length : records.length;
    const baseOffset = log.append(this.encoder, bytes, count);
    this.durability.noteWrite(log);
    return { partition, baseOffset, lastOffset: baseOffset + count - 1 };
  }
}

/** @internal */
export function checkPartition(state: TopicState, partition: unknown): number {
  return checkInteger('partition', partition, 0, state.logs.length - 1);
}

function partitionOf(state: TopicState, rec: AppendRecord, index: number): number {
  if (rec.partition !== undefined) {
    if (!Number.isInteger(rec.partition) || rec.partition < 0 || rec.partition >= state.logs.length) {
      throw invalidArgument(
        `Record ${index}: partition must be an integer from 0 to ${state.logs.length - 1}, got ${String(rec.partition)}.`,
      );
    }
    return rec.partition;
  }
  if (rec.key != null) return partitionForKey(keyBytes(rec.key), state.logs.length);
  return state.nextKeyless;
}

function rotateKeyless(state: TopicState): void {
  state.nextKeyless = (state.nextKeyless + 1) % state.logs.length;
}

const OPTION_KEYS = ['partition', 'compression'];

/**
 * Refuses an unknown append option (with checkKeys' did-you-mean). A for-in with plain
 * comparisons, as for records: this runs for every append, where Object.keys and a list literal
 * allocate two arrays a call (a third of an append's garbage, whose new-space pages a young
 * process pays for in page faults).
 */
function checkOptionKeys(options: AppendOptions): void {
  for (const key in options) {
    if (key !== 'partition' && key !== 'compression') checkKeys(options, OPTION_KEYS, 'append option');
  }
}

/** The fields of an AppendRecord: anything else is a misspelling (`vlaue`) and is refused. */
const RECORD_FIELDS = ['key', 'value', 'headers', 'timestamp', 'partition'];

function checkRecord(rec: unknown, index: number, config: ResolvedTopicConfig): void {
  if (rec === null || typeof rec !== 'object') refuseRecord(rec, index);
  // A for-in over the record's few fields with plain comparisons: this runs for every record of
  // every append, where Object.keys and a list lookup would cost a measurable share.
  for (const field in rec) {
    if (
      field !== 'value' &&
      field !== 'key' &&
      field !== 'headers' &&
      field !== 'timestamp' &&
      field !== 'partition'
    ) {
      refuseRecord(rec, index);
    }
  }
  const record = rec as AppendRecord;
  if (record.value === undefined || (config.cleanupPolicy === 'compact' && record.key == null))
    refuseRecord(rec, index);
}

/**
 * Throws the error that says what is wrong with a record checkRecord refused (the last check left
 * is a compacted topic's key). The messages are built here, not in checkRecord: there V8 converted
 * `index` to a string for every record, on the path that passes (a message's parts are kept for
 * the deoptimizations of its cold branches).
 */
function refuseRecord(rec: unknown, index: number): never {
  if (rec === null || typeof rec !== 'object') {
    throw invalidArgument(
      `Record ${index} must be an object like { key, value, headers, timestamp }, got ${String(rec)}.`,
    );
  }
  for (const field in rec) if (!RECORD_FIELDS.includes(field)) refuseField(rec, index);
  if ((rec as AppendRecord).value === undefined) {
    throw invalidArgument(
      `Record ${index} has no \`value\`: give the value (Buffer, Uint8Array or string), or value: null ` +
        'for a tombstone.',
    );
  }
  throw invalidArgument(
    `Record ${index} has no key; a compacted topic keeps the latest record per key, so every record needs one.`,
  );
}

/** Names the unknown field of `rec` with the did-you-mean the options give. */
function refuseField(rec: object, index: number): never {
  checkKeys(rec, RECORD_FIELDS, `field in record ${index}:`);
  // Inherited enumerable fields pass checkKeys (own keys only): name the first one.
  let field = '';
  for (const f in rec) if (!RECORD_FIELDS.includes(f)) field = field || f;
  throw invalidArgument(
    `Unknown field in record ${index}: \`${field}\`. Known: ${RECORD_FIELDS.join(', ')}.`,
  );
}

function keyBytes(key: Bytes): Uint8Array {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (key instanceof Uint8Array) return key;
  throw invalidArgument(`A key must be a Buffer, Uint8Array, string or null, got ${typeof key}.`);
}
