/**
 * lz4 (Kafka codec 3): the LZ4 frame format, as Kafka writes it for magic 2
 * (org.apache.kafka.common.compress.Lz4BlockOutputStream):
 *
 *   pos  size  field
 *   0    4     magic 0x184D2204 (little-endian)
 *   4    1     FLG   0x60: version 01, independent blocks; no block checksum, no content size,
 *                    no content checksum, no dictionary
 *   5    1     BD    0x40: blocks of at most 64 KiB of input
 *   6    1     HC    (XXH32(FLG..BD, seed 0) >> 8) & 0xFF
 *   7          blocks: uint32 LE size (top bit set: stored uncompressed) | data; a size of 0 ends
 *
 * The reader takes any frame a Kafka broker takes, and more of the format than Kafka writes:
 * block checksums, the content size (kafka-python writes it) and the content checksum (lz4's own
 * tools write it) are checked when present; block maximum sizes 64 KiB to 4 MiB; several frames
 * one after another, and skippable frames, as the LZ4 frame format allows. It refuses what Kafka
 * refuses: linked blocks (a block that refers to the one before), version bits other than 01, set
 * reserved bits; and a dictionary id.
 *
 * Magic 0 and 1 (Kafka before 0.10) wrote a wrong header checksum (over the magic too); those
 * message formats are refused before any codec runs, so that variant is not read here.
 *
 * Raw blocks go through `lz4-napi` (lz4_flex). Each compressed block is decoded with an output
 * capacity of the block maximum (or what is left of the caller's limit, if less): lz4_flex fails
 * rather than write past it, so no block can inflate beyond what the frame allows.
 */
import { LogStoreError } from '../errors.js';
import { corrupt, describe, tooLarge } from './codec-errors.js';
import { loadPackage, type Lz4Binding } from './codec-packages.js';
import { xxhash32 } from './xxhash32.js';

export const LZ4_MAGIC = 0x184d2204;
/** Kafka's FLG byte: version 01 (bits 7-6), independent blocks (bit 5). */
export const KAFKA_FLG = 0x60;
/** Kafka's BD byte: block maximum size code 4 (64 KiB) in bits 6-4. */
export const KAFKA_BD = 0x40;
export const KAFKA_BLOCK_BYTES = 64 * 1024;
const UNCOMPRESSED_BIT = 0x80000000;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_INDEPENDENT = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_RESERVED = 0x8f;

/** Skippable frames: magic 0x184D2A50..0x184D2A5F, then a uint32 LE length and that many bytes. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

const lz4 = (): Lz4Binding => loadPackage<Lz4Binding>('lz4', 'lz4-napi');

/** The frame descriptor Kafka writes, with its checksum: the same 7 bytes before every frame. */
const KAFKA_HEADER = ((): Buffer => {
  const h = Buffer.alloc(7);
  h.writeUInt32LE(LZ4_MAGIC, 0);
  h[4] = KAFKA_FLG;
  h[5] = KAFKA_BD;
  h[6] = (xxhash32(h, 4, 6) >>> 8) & 0xff;
  return h;
})();

/** Writes one frame exactly as Kafka's Lz4BlockOutputStream does (64 KiB blocks, no checksums). */
export function lz4Compress(data: Uint8Array): Buffer {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [KAFKA_HEADER];
  let total = KAFKA_HEADER.length;
  for (let pos = 0; pos < input.length; pos += KAFKA_BLOCK_BYTES) {
    const chunk = input.subarray(pos, pos + KAFKA_BLOCK_BYTES);
    // lz4-napi puts the input length (uint32 LE) before the raw block; the frame does not want it.
    const compressed = lz4().compressSync(chunk).subarray(4);
    const size = Buffer.alloc(4);
    // Like Kafka: a block that does not shrink is stored as it is, flagged by the top bit.
    if (compressed.length >= chunk.length) {
      size.writeUInt32LE((chunk.length | UNCOMPRESSED_BIT) >>> 0, 0);
      parts.push(size, chunk);
      total += 4 + chunk.length;
    } else {
      size.writeUInt32LE(compressed.length, 0);
      parts.push(size, compressed);
      total += 4 + compressed.length;
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts, total + 4);
}

/** Where a decode is: the next input byte, the output so far. */
interface Cursor {
  pos: number;
  produced: number;
  parts: Buffer[];
}

/** Reads frames until the input ends; the output never passes `maxBytes`. */
export function lz4Decompress(data: Uint8Array, maxBytes: number): Buffer {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const at: Cursor = { pos: 0, produced: 0, parts: [] };
  let frame = 0;
  do {
    const pos = at.pos;
    if (input.length - pos < 4)
      throw corrupt('lz4', `frame ${frame} at byte ${pos}: too short for a magic number`);
    const magic = input.readUInt32LE(pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 8)
        throw corrupt('lz4', `skippable frame at byte ${pos}: its length is cut off`);
      const skip = input.readUInt32LE(pos + 4);
      if (skip > input.length - pos - 8) {
        throw corrupt(
          'lz4',
          `skippable frame at byte ${pos} declares ${skip} bytes, ${input.length - pos - 8} remain`,
        );
      }
      at.pos += 8 + skip;
    } else if (magic !== LZ4_MAGIC) {
      throw corrupt(
        'lz4',
        `frame ${frame} at byte ${pos}: magic 0x${magic.toString(16)} is not an LZ4 frame (0x184d2204)`,
      );
    } else {
      readFrame(input, at, `frame ${frame}`, maxBytes);
      frame++;
    }
  } while (at.pos < input.length);
  if (frame === 0) throw corrupt('lz4', 'no LZ4 frame, only skippable frames');
  return at.parts.length === 1 ? at.parts[0]! : Buffer.concat(at.parts, at.produced);
}

/** Reads the frame whose magic is at `at.pos` and appends its blocks to `at.parts`. */
function readFrame(input: Buffer, at: Cursor, where: string, maxBytes: number): void {
  let pos = at.pos + 4;
  const producedBefore = at.produced;
  if (input.length - pos < 3) throw corrupt('lz4', `${where}: the frame descriptor is cut off`);
  const flg = input[pos]!;
  const bd = input[pos + 1]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) {
    throw corrupt('lz4', `${where}: FLG version bits are ${flg >>> 6}, only 1 exists`);
  }
  if (flg & FLG_RESERVED) throw corrupt('lz4', `${where}: the reserved FLG bit is set`);
  if (flg & FLG_DICT_ID) throw corrupt('lz4', `${where}: needs a dictionary, which Kafka never uses`);
  if (!(flg & FLG_INDEPENDENT)) {
    throw corrupt('lz4', `${where}: linked blocks, which Kafka refuses (its frames have independent blocks)`);
  }
  if (bd & BD_RESERVED) throw corrupt('lz4', `${where}: reserved BD bits are set (0x${bd.toString(16)})`);
  const sizeCode = (bd >>> 4) & 0x07;
  if (sizeCode < 4) throw corrupt('lz4', `${where}: block maximum size code ${sizeCode} (only 4..7 exist)`);
  const blockMax = 1 << (2 * sizeCode + 8);
  const descriptorEnd = pos + 2 + (flg & FLG_CONTENT_SIZE ? 8 : 0);
  if (input.length - descriptorEnd < 1) throw corrupt('lz4', `${where}: the frame descriptor is cut off`);
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    const hi = input.readUInt32LE(pos + 6);
    contentSize = hi * 2 ** 32 + input.readUInt32LE(pos + 2);
    if (contentSize > maxBytes - producedBefore) {
      throw tooLarge('lz4', `${where} declares a content size of ${contentSize} bytes, which`, maxBytes);
    }
  }
  const checksum = (xxhash32(input, pos, descriptorEnd) >>> 8) & 0xff;
  if (input[descriptorEnd] !== checksum) {
    throw corrupt(
      'lz4',
      `${where}: header checksum 0x${input[descriptorEnd]!.toString(16)}, the descriptor's is 0x${checksum.toString(16)}`,
    );
  }
  pos = descriptorEnd + 1;

  const firstPart = at.parts.length;
  for (let block = 0; ; block++) {
    if (input.length - pos < 4)
      throw corrupt('lz4', `${where}, block ${block} at byte ${pos}: the block size is cut off`);
    const word = input.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break; // end mark
    const stored = (word & UNCOMPRESSED_BIT) !== 0;
    const size = word & ~UNCOMPRESSED_BIT;
    if (size > blockMax) {
      throw corrupt(
        'lz4',
        `${where}, block ${block}: ${size} bytes, more than the frame's block maximum ${blockMax}`,
      );
    }
    const checksumBytes = flg & FLG_BLOCK_CHECKSUM ? 4 : 0;
    if (size + checksumBytes > input.length - pos) {
      throw corrupt(
        'lz4',
        `${where}, block ${block} at byte ${pos - 4}: ${size} bytes declared, ${input.length - pos} remain`,
      );
    }
    const body = input.subarray(pos, pos + size);
    if (checksumBytes && xxhash32(body) !== input.readUInt32LE(pos + size)) {
      throw corrupt('lz4', `${where}, block ${block}: block checksum mismatch`);
    }
    pos += size + checksumBytes;
    const budget = maxBytes - at.produced;
    let out: Buffer;
    if (stored) {
      if (size > budget) {
        throw tooLarge(
          'lz4',
          `the output (${at.produced} bytes, then ${size} from ${where}, block ${block})`,
          maxBytes,
        );
      }
      out = Buffer.from(body); // a copy: the output must not share memory with the input
    } else {
      out = decodeBlock(
        body,
        Math.min(blockMax, budget),
        `${where}, block ${block}`,
        budget < blockMax,
        maxBytes,
      );
    }
    at.parts.push(out);
    at.produced += out.length;
  }
  if (contentSize >= 0 && at.produced - producedBefore !== contentSize) {
    throw corrupt(
      'lz4',
      `${where}: ${at.produced - producedBefore} bytes decoded, the header declares ${contentSize}`,
    );
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (input.length - pos < 4) throw corrupt('lz4', `${where}: the content checksum is cut off`);
    const content = Buffer.concat(at.parts.slice(firstPart));
    if (xxhash32(content) !== input.readUInt32LE(pos))
      throw corrupt('lz4', `${where}: content checksum mismatch`);
    pos += 4;
  }
  at.pos = pos;
}

/**
 * One compressed block into at most `capacity` bytes. `limited` says the capacity is the caller's
 * limit rather than the frame's block maximum, so running out of room means "too large".
 */
function decodeBlock(
  body: Buffer,
  capacity: number,
  where: string,
  limited: boolean,
  maxBytes: number,
): Buffer {
  // lz4-napi wants the capacity as a uint32 LE before the block: a copy of at most one block.
  const sized = Buffer.allocUnsafe(4 + body.length);
  sized.writeUInt32LE(capacity, 0);
  body.copy(sized, 4);
  try {
    return lz4().uncompressSync(sized);
  } catch (err) {
    if (err instanceof LogStoreError) throw err;
    const message = describe(err);
    if (limited && /too small/.test(message)) throw tooLarge('lz4', `the output, at ${where},`, maxBytes);
    throw corrupt('lz4', `${where} is not a valid LZ4 block (${message})`, err);
  }
}
