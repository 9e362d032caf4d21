/**
 * A walk over zstd frames (RFC 8878) that decodes nothing: it checks the structure (magic numbers,
 * frame header, block headers, lengths) and computes an upper bound of the decompressed size, so
 * that the decoder can be given an output buffer that is never larger than needed or allowed.
 *
 *   frame: magic 0xFD2FB528 LE | header descriptor | [window descriptor] | [dictionary id] |
 *          [content size] | blocks | [XXH64 checksum, 4 bytes]
 *   block: 3-byte LE header (bit 0 last, bits 1-2 type, bits 3-23 size) | content
 *          raw: `size` bytes, regenerating `size`; RLE: 1 byte, regenerating `size`;
 *          compressed: `size` bytes, regenerating at most min(window size, 128 KiB)
 *   skippable frame: magic 0x184D2A50..5F LE | uint32 LE length | that many bytes
 *
 * A frame that declares its content size (every one-shot encoder writes it: librdkafka, kafka-python,
 * kafkajs's plug-ins, logstore) is bounded by that size; a frame without it (Kafka's Java producer
 * streams through zstd-jni and writes none) by the sum of its blocks' maxima.
 */
import { corrupt } from './codec-errors.js';

export const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_MAX = 128 * 1024;
const RAW = 0;
const RLE = 1;
const COMPRESSED = 2;

export interface ZstdShape {
  /** Frames with data (skippable frames not counted). */
  frames: number;
  /** An upper bound of the decompressed size of all frames. */
  bound: number;
  /** The sum of the content sizes that frames declare (a lower bound, when some declare none). */
  declared: number;
  /** [start, end) of each frame with data, in order. */
  ranges: [number, number][];
}

/** Walks every frame of `data`; throws LOGSTORE_CORRUPT naming the first structural problem. */
export function zstdShape(data: Uint8Array): ZstdShape {
  const shape: ZstdShape = { frames: 0, bound: 0, declared: 0, ranges: [] };
  const u32 = (p: number): number =>
    (data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24)) >>> 0;
  let pos = 0;
  do {
    if (data.length - pos < 4)
      throw corrupt('zstd', `frame ${shape.frames} at byte ${pos}: too short for a magic number`);
    const magic = u32(pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8)
        throw corrupt('zstd', `skippable frame at byte ${pos}: its length is cut off`);
      const skip = u32(pos + 4);
      if (skip > data.length - pos - 8) {
        throw corrupt(
          'zstd',
          `skippable frame at byte ${pos} declares ${skip} bytes, ${data.length - pos - 8} remain`,
        );
      }
      pos += 8 + skip;
      continue;
    }
    if (magic !== ZSTD_MAGIC) {
      throw corrupt(
        'zstd',
        `frame ${shape.frames} at byte ${pos}: magic 0x${magic.toString(16)} is not a zstd frame`,
      );
    }
    const start = pos;
    pos = walkFrame(data, pos + 4, shape);
    shape.ranges.push([start, pos]);
    shape.frames++;
  } while (pos < data.length);
  if (shape.frames === 0) throw corrupt('zstd', 'no zstd frame, only skippable frames');
  return shape;
}

/** Walks the frame whose header starts at `pos` (after the magic); returns where it ends. */
function walkFrame(data: Uint8Array, pos: number, shape: ZstdShape): number {
  const where = `frame ${shape.frames}`;
  if (pos >= data.length) throw corrupt('zstd', `${where}: the frame header is cut off`);
  const fhd = data[pos]!;
  const sizeFlag = fhd >>> 6;
  const singleSegment = (fhd & 0x20) !== 0;
  const hasChecksum = (fhd & 0x04) !== 0;
  if (fhd & 0x08) throw corrupt('zstd', `${where}: the reserved header bit is set`);
  const dictBytes = [0, 1, 2, 4][fhd & 0x03]!;
  const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][sizeFlag]!;
  const headerEnd = pos + 1 + (singleSegment ? 0 : 1) + dictBytes + sizeBytes;
  if (headerEnd > data.length) throw corrupt('zstd', `${where}: the frame header is cut off`);
  let windowSize = Infinity;
  if (!singleSegment) {
    const wd = data[pos + 1]!;
    const base = 2 ** (10 + (wd >>> 3));
    windowSize = base + (base / 8) * (wd & 0x07);
  }
  let contentSize = -1;
  if (sizeBytes > 0) {
    const at = headerEnd - sizeBytes;
    contentSize = 0;
    for (let i = sizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[at + i]!;
    if (sizeBytes === 2) contentSize += 256;
    if (singleSegment) windowSize = contentSize;
  }
  const blockMax = Math.min(windowSize, BLOCK_MAX);

  let bound = 0;
  pos = headerEnd;
  for (let block = 0; ; block++) {
    if (data.length - pos < 3)
      throw corrupt('zstd', `${where}, block ${block} at byte ${pos}: the block header is cut off`);
    const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
    pos += 3;
    const last = (header & 1) !== 0;
    const type = (header >>> 1) & 3;
    const size = header >>> 3;
    if (type === RLE) {
      if (data.length - pos < 1) throw corrupt('zstd', `${where}, block ${block}: the RLE byte is cut off`);
      pos += 1;
      bound += size;
    } else if (type === RAW || type === COMPRESSED) {
      if (size > data.length - pos) {
        throw corrupt(
          'zstd',
          `${where}, block ${block} at byte ${pos - 3}: ${size} bytes declared, ${data.length - pos} remain`,
        );
      }
      if (type === COMPRESSED && size > blockMax) {
        throw corrupt(
          'zstd',
          `${where}, block ${block}: ${size} compressed bytes, more than the block maximum ${blockMax}`,
        );
      }
      pos += size;
      bound += type === RAW ? size : blockMax;
    } else {
      throw corrupt('zstd', `${where}, block ${block}: reserved block type`);
    }
    if (last) break;
  }
  if (hasChecksum) {
    if (data.length - pos < 4) throw corrupt('zstd', `${where}: the content checksum is cut off`);
    pos += 4;
  }
  if (contentSize >= 0) {
    if (contentSize > bound) {
      throw corrupt('zstd', `${where} declares ${contentSize} bytes, its blocks can hold at most ${bound}`);
    }
    bound = contentSize;
    shape.declared += contentSize;
  }
  shape.bound += bound;
  return pos;
}
