/**
 * An in-memory KafkaBackend: the test double the listener is tested against until it is wired to
 * LogStore. It keeps each batch's bytes as the producer sent them with only baseOffset rewritten,
 * checks CRC and structure with the store's own `batchProblem`, and tracks idempotent producers
 * (the last five batches of each producer per partition, as Kafka does). Timestamp lookups
 * resolve to the exact record for uncompressed batches and to the batch's first offset for
 * compressed ones (the double has no codecs).
 */
import { LogStoreError } from '../../lib/errors.js';
import {
  batchLastOffsetDelta,
  batchMaxTimestamp,
  batchProblem,
  batchSize,
  decodeRecords,
} from '../../lib/format/record-batch.js';
import type {
  AppendResult,
  CommittedOffset,
  KafkaBackend,
  OffsetAtTime,
  ProducerIdentity,
  ReadResult,
  TopicDescription,
} from '../../lib/kafka/backend.js';
import { EARLIEST, LATEST } from '../../lib/kafka/backend.js';
import type { LogRecord } from '../../lib/record.js';

/** An error with a store code, including the two idempotence codes LogStoreError gains later. */
function storeError(code: string, message: string): Error {
  if (code === 'LOGSTORE_OUT_OF_ORDER_SEQUENCE' || code === 'LOGSTORE_INVALID_PRODUCER_EPOCH') {
    return Object.assign(new Error(message), { name: 'LogStoreError', code });
  }
  return new LogStoreError(code as ConstructorParameters<typeof LogStoreError>[0], message);
}

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

interface ProducerEntry {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
  lastOffset: number;
}

interface ProducerState {
  epoch: number;
  recent: ProducerEntry[];
}

class MemoryPartition {
  readonly batches: StoredBatch[] = [];
  logStartOffset = 0;
  nextOffset = 0;
  readonly producers = new Map<number, ProducerState>();
  readonly waiters = new Set<() => void>();
}

const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
const COMPRESSION_MASK = 0x07;

export class MemoryBackend implements KafkaBackend {
  private readonly topics = new Map<
    string,
    { config: Record<string, string>; partitions: MemoryPartition[] }
  >();
  private readonly groups = new Map<string, Map<string, CommittedOffset>>();
  private nextProducerId = 1000;
  private readonly producerEpochs = new Map<number, number>();
  /** Appends seen, for tests that count them. */
  appendCalls = 0;

  listTopics(): TopicDescription[] {
    return [...this.topics.keys()].map((name) => this.describeTopic(name)!);
  }

  describeTopic(name: string): TopicDescription | undefined {
    const t = this.topics.get(name);
    return t && { name, partitions: t.partitions.length, config: { ...t.config } };
  }

  createTopic(name: string, partitions: number, config: Record<string, string>): void {
    if (this.topics.has(name)) throw storeError('LOGSTORE_TOPIC_EXISTS', `topic ${name} exists`);
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw storeError('LOGSTORE_INVALID_ARGUMENT', `partitions must be >= 1, got ${partitions}`);
    }
    for (const key of Object.keys(config)) {
      if (
        !['cleanup.policy', 'retention.ms', 'retention.bytes', 'segment.bytes', 'max.message.bytes'].includes(
          key,
        )
      ) {
        throw storeError('LOGSTORE_INVALID_ARGUMENT', `unsupported topic config ${key}`);
      }
    }
    this.topics.set(name, {
      config: { 'cleanup.policy': 'delete', ...config },
      partitions: Array.from({ length: partitions }, () => new MemoryPartition()),
    });
  }

  deleteTopic(name: string): void {
    if (!this.topics.delete(name)) throw storeError('LOGSTORE_TOPIC_NOT_FOUND', `no topic ${name}`);
  }

  private partition(topic: string, partition: number): MemoryPartition {
    const t = this.topics.get(topic);
    const p = t?.partitions[partition];
    if (!p) throw storeError('LOGSTORE_TOPIC_NOT_FOUND', `no partition ${topic}-${partition}`);
    return p;
  }

  appendBatches(topic: string, partition: number, batches: Buffer): AppendResult {
    this.appendCalls++;
    const p = this.partition(topic, partition);
    // Validate every batch before storing any: a request's batches for a partition are all or nothing.
    const spans: [number, number][] = [];
    for (let pos = 0; pos < batches.length;) {
      const problem = batchProblem(batches, pos, batches.length);
      if (problem) throw storeError('LOGSTORE_INVALID_ARGUMENT', `batch at byte ${pos}: ${problem}`);
      const attributes = batches.readInt16BE(pos + 21);
      if (attributes & (TRANSACTIONAL_FLAG | CONTROL_FLAG)) {
        throw storeError('LOGSTORE_INVALID_ARGUMENT', `batch at byte ${pos}: transactions are not supported`);
      }
      const size = batchSize(batches, pos);
      spans.push([pos, size]);
      pos += size;
    }
    if (spans.length === 0) throw storeError('LOGSTORE_INVALID_ARGUMENT', 'no batches');
    let first: number | undefined;
    let last = -1;
    for (const [pos, size] of spans) {
      const r = this.appendOne(p, batches.subarray(pos, pos + size));
      first ??= r.baseOffset;
      last = r.lastOffset;
    }
    return { baseOffset: first!, lastOffset: last, logStartOffset: p.logStartOffset, logAppendTime: -1 };
  }

  private appendOne(p: MemoryPartition, batch: Buffer): { baseOffset: number; lastOffset: number } {
    const producerId = Number(batch.readBigInt64BE(43));
    const epoch = batch.readInt16BE(51);
    const firstSeq = batch.readInt32BE(53);
    const delta = batchLastOffsetDelta(batch, 0);
    let state: ProducerState | undefined;
    if (producerId >= 0) {
      state = p.producers.get(producerId);
      const lastSeq = firstSeq + delta;
      const current = Math.max(state?.epoch ?? -1, this.producerEpochs.get(producerId) ?? -1);
      if (epoch < current) throw storeError('LOGSTORE_INVALID_PRODUCER_EPOCH', `epoch ${epoch} < ${current}`);
      if (state && epoch === state.epoch) {
        const dup = state.recent.find((e) => e.firstSeq === firstSeq && e.lastSeq === lastSeq);
        if (dup) return { baseOffset: dup.baseOffset, lastOffset: dup.lastOffset };
        const expected = (state.recent[state.recent.length - 1]!.lastSeq + 1) % 0x80000000;
        if (firstSeq !== expected) {
          throw storeError('LOGSTORE_OUT_OF_ORDER_SEQUENCE', `sequence ${firstSeq}, expected ${expected}`);
        }
      } else if (firstSeq !== 0) {
        throw storeError(
          'LOGSTORE_OUT_OF_ORDER_SEQUENCE',
          `a new producer epoch starts at sequence 0, got ${firstSeq}`,
        );
      }
    }
    const stored = Buffer.from(batch);
    const baseOffset = p.nextOffset;
    stored.writeBigInt64BE(BigInt(baseOffset), 0);
    const lastOffset = baseOffset + delta;
    p.batches.push({ baseOffset, lastOffset, maxTimestamp: batchMaxTimestamp(stored, 0), bytes: stored });
    p.nextOffset = lastOffset + 1;
    if (producerId >= 0) {
      if (!state || state.epoch !== epoch) p.producers.set(producerId, (state = { epoch, recent: [] }));
      state.recent.push({ firstSeq, lastSeq: firstSeq + delta, baseOffset, lastOffset });
      if (state.recent.length > 5) state.recent.shift();
    }
    for (const wake of [...p.waiters]) wake();
    return { baseOffset, lastOffset };
  }

  readBatches(topic: string, partition: number, offset: number, maxBytes: number): ReadResult {
    const p = this.partition(topic, partition);
    if (offset < p.logStartOffset || offset > p.nextOffset) {
      throw storeError(
        'LOGSTORE_OFFSET_OUT_OF_RANGE',
        `offset ${offset} outside [${p.logStartOffset}, ${p.nextOffset}]`,
      );
    }
    const out: Buffer[] = [];
    let size = 0;
    let i = p.batches.findIndex((b) => b.lastOffset >= offset);
    for (; i >= 0 && i < p.batches.length; i++) {
      const b = p.batches[i]!.bytes;
      if (out.length > 0 && size + b.length > maxBytes) break;
      out.push(b);
      size += b.length;
      if (size >= maxBytes) break;
    }
    return { bytes: Buffer.concat(out, size), highWatermark: p.nextOffset, logStartOffset: p.logStartOffset };
  }

  offsets(topic: string, partition: number): { logStartOffset: number; highWatermark: number } {
    const p = this.partition(topic, partition);
    return { logStartOffset: p.logStartOffset, highWatermark: p.nextOffset };
  }

  listOffset(topic: string, partition: number, query: number): OffsetAtTime {
    const p = this.partition(topic, partition);
    if (query === EARLIEST) return { offset: p.logStartOffset, timestamp: -1 };
    if (query === LATEST) return { offset: p.nextOffset, timestamp: -1 };
    for (const b of p.batches) {
      if (b.maxTimestamp < query) continue;
      const attributes = b.bytes.readInt16BE(21);
      if ((attributes & COMPRESSION_MASK) !== 0) return { offset: b.baseOffset, timestamp: b.maxTimestamp };
      const records: LogRecord[] = [];
      decodeRecords(b.bytes, 0, 0, Infinity, records, topic, partition, 'memory');
      const hit = records.find((r) => r.timestamp >= query)!;
      return { offset: hit.offset, timestamp: hit.timestamp };
    }
    return { offset: -1, timestamp: -1 };
  }

  onAppend(topic: string, partition: number, wake: () => void): () => void {
    const p = this.partition(topic, partition);
    p.waiters.add(wake);
    return () => p.waiters.delete(wake);
  }

  commitOffsets(group: string, offsets: CommittedOffset[]): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = new Map()));
    for (const o of offsets) g.set(`${o.topic}\0${o.partition}`, { ...o });
  }

  committedOffsets(group: string, topics?: string[]): CommittedOffset[] {
    const all = [...(this.groups.get(group)?.values() ?? [])];
    return topics ? all.filter((o) => topics.includes(o.topic)) : all;
  }

  listGroups(): string[] {
    return [...this.groups.keys()];
  }

  deleteGroup(group: string): boolean {
    return this.groups.delete(group);
  }

  initProducerId(current?: ProducerIdentity): ProducerIdentity {
    if (!current) {
      const id = { producerId: this.nextProducerId++, producerEpoch: 0 };
      this.producerEpochs.set(id.producerId, 0);
      return id;
    }
    const epoch = this.producerEpochs.get(current.producerId);
    if (epoch !== current.producerEpoch) {
      throw storeError(
        'LOGSTORE_INVALID_PRODUCER_EPOCH',
        `producer ${current.producerId} is not at epoch ${current.producerEpoch}`,
      );
    }
    this.producerEpochs.set(current.producerId, epoch + 1);
    return { producerId: current.producerId, producerEpoch: epoch + 1 };
  }

  /** Test helper: the stored batches of a partition. */
  storedBatches(topic: string, partition: number): Buffer[] {
    return this.partition(topic, partition).batches.map((b) => b.bytes);
  }
}
