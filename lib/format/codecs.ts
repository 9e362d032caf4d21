/**
 * Kafka's compression codecs behind one synchronous interface. In a RecordBatch v2 the attributes'
 * bits 0-2 name the codec, and everything after the 61-byte batch header (the records section) is
 * one compressed block; the header itself is never compressed.
 *
 *   id  name    format (what logstore writes / what it reads)
 *   0   none    the records as they are
 *   1   gzip    a gzip stream (node:zlib)                           / gzip members
 *   2   snappy  xerial framing, 32 KiB chunks, as Kafka's Java      / xerial framing or one raw
 *               producer writes                                        snappy block
 *   3   lz4     one LZ4 frame as Kafka writes it (64 KiB blocks)     / LZ4 frames, independent blocks
 *   4   zstd    one zstd frame, level 3, content size in the header / zstd frames
 *
 * Ids and names are Kafka's `CompressionType`. Decompression is bounded: output that would pass
 * `maxBytes`, and malformed input, throw LOGSTORE_CORRUPT naming the codec and the problem; no input
 * makes a codec allocate more than about `maxBytes` plus the input. Each codec's format, and the
 * measurements behind the packages under it, are in its own file and in the README.
 */
import { LogStoreError } from '../errors.js';
import { gzipCompress, gzipDecompress } from './codec-gzip.js';
import { lz4Compress, lz4Decompress } from './codec-lz4.js';
import { snappyCompress, snappyDecompress } from './codec-snappy.js';
import { zstdCompress, zstdDecompress } from './codec-zstd.js';

/** Kafka's CompressionType: name -> id (the attributes' bits 0-2). */
export const CompressionType = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export type CompressionName = keyof typeof CompressionType;
export type CompressionId = (typeof CompressionType)[CompressionName];

/** Id -> name, in id order. */
export const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The attributes bits that hold the codec id. */
export const COMPRESSION_MASK = 0x07;

/** The codec id of a name or id; LOGSTORE_INVALID_ARGUMENT for anything else. */
export function compressionId(codec: CompressionName | number): CompressionId {
  if (typeof codec === 'number') {
    if (Number.isInteger(codec) && codec >= 0 && codec < COMPRESSION_NAMES.length)
      return codec as CompressionId;
  } else if (Object.hasOwn(CompressionType, codec)) {
    return CompressionType[codec];
  }
  throw new LogStoreError(
    'LOGSTORE_INVALID_ARGUMENT',
    `Expected a compression codec (${COMPRESSION_NAMES.join(', ')} or 0-4), got ${JSON.stringify(codec)} (${typeof codec})`,
  );
}

export function compressionName(codec: CompressionName | number): CompressionName {
  return COMPRESSION_NAMES[compressionId(codec)]!;
}

function checkLimit(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw new LogStoreError(
      'LOGSTORE_INVALID_ARGUMENT',
      `Expected \`maxBytes\` to be an integer >= 0, got ${JSON.stringify(maxBytes)} (${typeof maxBytes})`,
    );
  }
}

/** Compresses `data` with `codec` ('none' returns a copy), in the bytes Kafka's clients write. */
export function compress(codec: CompressionName | number, data: Uint8Array): Buffer {
  switch (compressionId(codec)) {
    case 0:
      return Buffer.from(data);
    case 1:
      return gzipCompress(data);
    case 2:
      return snappyCompress(data);
    case 3:
      return lz4Compress(data);
    case 4:
      return zstdCompress(data);
  }
}

/**
 * Decompresses `data`, into at most `maxBytes` bytes. The result never shares memory with `data`
 * ('none' returns a copy). LOGSTORE_CORRUPT for malformed input or output beyond `maxBytes`.
 */
export function decompress(codec: CompressionName | number, data: Uint8Array, maxBytes: number): Buffer {
  const id = compressionId(codec);
  checkLimit(maxBytes);
  switch (id) {
    case 0:
      if (data.length > maxBytes) {
        throw new LogStoreError(
          'LOGSTORE_CORRUPT',
          `none: ${data.length} bytes exceed the limit of ${maxBytes} bytes`,
        );
      }
      return Buffer.from(data);
    case 1:
      return gzipDecompress(data, maxBytes);
    case 2:
      return snappyDecompress(data, maxBytes);
    case 3:
      return lz4Decompress(data, maxBytes);
    case 4:
      return zstdDecompress(data, maxBytes);
  }
}

/**
 * The plain records section of a batch: `block` is everything after the 61-byte header, and
 * `attributes` the batch's attributes field. Codec ids 5-7 (which Kafka does not define) are
 * LOGSTORE_CORRUPT. For an uncompressed batch `block` itself is returned, not a copy: its records
 * are read in place.
 */
export function decompressRecords(attributes: number, block: Uint8Array, maxBytes: number): Uint8Array {
  const id = attributes & COMPRESSION_MASK;
  if (id >= COMPRESSION_NAMES.length) {
    throw new LogStoreError('LOGSTORE_CORRUPT', `unknown compression codec ${id} in the batch attributes`);
  }
  if (id === 0) {
    checkLimit(maxBytes);
    if (block.length > maxBytes) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `none: ${block.length} bytes exceed the limit of ${maxBytes} bytes`,
      );
    }
    return block;
  }
  return decompress(id, block, maxBytes);
}

/**
 * The records section of a batch compressed with `codec`, to follow the 61-byte header (whose
 * attributes must then carry the codec id). For 'none' the plain bytes are returned as they are.
 */
export function compressRecords(codec: CompressionName | number, plainRecords: Uint8Array): Uint8Array {
  return compressionId(codec) === 0 ? plainRecords : compress(codec, plainRecords);
}
