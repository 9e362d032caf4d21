/**
 * kafkajs's own protocol code (CommonJS, no types for its internals), used as an independent
 * implementation of RecordBatch v2: its fetch path decodes batches with `recordBatch/v0/decoder`
 * over a `protocol/decoder` (see kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js), and
 * its produce path encodes them with `recordBatch/v0` + `recordBatch/record/v0`
 * (kafkajs/src/protocol/requests/produce/v3/request.js).
 *
 * kafkajs does not verify the CRC when decoding (recordBatch/v0/decoder.js reads it and discards
 * it: "The library is currently not performing CRC validations").
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Long = { toString(): string };

export interface KafkaDecoder {
  offset: number;
  readVarInt(): number;
  readVarLong(): Long;
}

export interface KafkaEncoder {
  buffer: Buffer;
  writeVarInt(n: number): KafkaEncoder;
  writeVarLong(n: number): KafkaEncoder;
}

export interface KafkaRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
  attributes: number;
  isControlRecord: boolean;
}

export interface KafkaBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  timestampType: number;
  records: KafkaRecord[];
}

/** Input of kafkajs's record encoder: Buffers or strings (a plain Uint8Array would be String()ed). */
export interface KafkaRecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
}

export interface KafkaBatchInput {
  firstOffset?: number;
  firstTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta: number;
  producerId?: number;
  producerEpoch?: number;
  firstSequence?: number;
  records: unknown[];
}

export const KafkaDecoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => KafkaDecoder;
export const KafkaEncoder = require('kafkajs/src/protocol/encoder') as new () => KafkaEncoder;
const batchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
  d: KafkaDecoder,
) => Promise<KafkaBatch>;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (opts: KafkaBatchInput) => Promise<{ buffer: Buffer }>;
};
const kafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (
  opts: KafkaRecordInput,
) => unknown;

export const { DefaultPartitioner } = require('kafkajs').Partitioners as {
  DefaultPartitioner: () => (args: {
    topic: string;
    partitionMetadata: { partitionId: number; leader: number }[];
    message: { key: Buffer | string; value: null };
  }) => number;
};

/** kafkajs's murmur2 itself (Long arithmetic, after Kafka 0.10.2's Utils.murmur2). */
export const kafkaMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (
  key: Buffer | string,
) => number;

/** Decodes the batch at the start of `buf` as kafkajs's fetch path does. */
export function kafkaDecodeBatch(buf: Buffer): Promise<KafkaBatch> {
  return batchDecoder(new KafkaDecoder(buf));
}

/** Encodes a batch with kafkajs's RecordBatch and record encoders; returns its bytes. */
export async function kafkaEncodeBatch(batch: Omit<KafkaBatchInput, 'records'>, records: KafkaRecordInput[]) {
  const encoded = await RecordBatch({ ...batch, records: records.map(kafkaRecord) });
  return encoded.buffer;
}
