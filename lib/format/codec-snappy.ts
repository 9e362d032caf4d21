/**
 * snappy (Kafka codec 2), in the two shapes Kafka clients write:
 *
 * - raw: one snappy block (a varint of the uncompressed length, then tagged literals and copies).
 *   librdkafka, kafkajs-snappy and kafka-python with `xerial_compatible=False` write this.
 * - xerial framing: what Kafka's Java producer writes (snappy-java's SnappyOutputStream), and
 *   kafka-python by default:
 *
 *     pos  size  field
 *     0    8     magic  0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *     8    4     version             int32 BE, 1
 *     12   4     compatible version  int32 BE, 1
 *     16         chunks: int32 BE compressed length | one raw snappy block
 *
 *   Each chunk holds at most 32 KiB of input (SnappyOutputStream's default block size). A reader
 *   that meets the magic where a chunk length should be skips the 16-byte header: snappy-java reads
 *   concatenated streams that way. Input that does not start with the magic is a raw block, as in
 *   every reader (snappy-java, librdkafka, kafka-python).
 *
 * The block codec is the `snappy` package (Rust snap crate, strict: a block must produce exactly
 * the length its preamble declares). The preamble is read here first, so a block that declares
 * more than the caller's limit is refused before anything is allocated.
 */
import { LogStoreError } from '../errors.js';
import { corrupt, describe, tooLarge } from './codec-errors.js';
import { loadPackage, type SnappyBinding } from './codec-packages.js';

export const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
export const XERIAL_HEADER_BYTES = 16;
/** snappy-java's SnappyOutputStream.DEFAULT_BLOCK_SIZE: the input bytes per chunk. */
export const XERIAL_CHUNK_BYTES = 32 * 1024;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;

const snappy = (): SnappyBinding => loadPackage<SnappyBinding>('snappy', 'snappy');

function startsWithMagic(data: Uint8Array, pos: number): boolean {
  if (data.length - pos < XERIAL_HEADER_BYTES) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[pos + i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Writes what Kafka's Java producer writes: the xerial header and one chunk per 32 KiB of input. */
export function snappyCompress(data: Uint8Array): Buffer {
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, 8);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12);
  parts.push(header);
  let total = XERIAL_HEADER_BYTES;
  for (let pos = 0; pos < input.length; pos += XERIAL_CHUNK_BYTES) {
    const block = snappy().compressSync(input.subarray(pos, pos + XERIAL_CHUNK_BYTES));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
    total += 4 + block.length;
  }
  return Buffer.concat(parts, total);
}

/** The uncompressed length a raw block declares (a varint of at most 32 bits), or -1 if malformed. */
export function rawSnappyLength(block: Uint8Array): number {
  let length = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return length <= 0xffffffff ? length : -1;
  }
  return -1;
}

/** Decodes one raw block that follows `produced` bytes of output already decoded. */
function rawDecompress(block: Uint8Array, produced: number, maxBytes: number, where: string): Buffer {
  const declared = rawSnappyLength(block);
  if (declared < 0) throw corrupt('snappy', `${where}: the length preamble is not a valid varint`);
  if (declared > maxBytes - produced) {
    throw tooLarge('snappy', `the output (${produced} bytes, then ${declared} from ${where})`, maxBytes);
  }
  try {
    return snappy().uncompressSync(block, { asBuffer: true });
  } catch (err) {
    if (err instanceof LogStoreError) throw err;
    throw corrupt('snappy', `${where} is not a valid snappy block (${describe(err)})`, err);
  }
}

export function snappyDecompress(data: Uint8Array, maxBytes: number): Buffer {
  if (!startsWithMagic(data, 0)) return rawDecompress(data, 0, maxBytes, 'the raw block');
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  let produced = 0;
  let pos = XERIAL_HEADER_BYTES;
  let chunk = 0;
  while (pos < view.length) {
    if (startsWithMagic(view, pos)) {
      pos += XERIAL_HEADER_BYTES; // a concatenated stream: its header, then more chunks
      continue;
    }
    if (view.length - pos < 4) {
      throw corrupt(
        'snappy',
        `xerial chunk ${chunk} at byte ${pos}: ${view.length - pos} bytes, too few for a length`,
      );
    }
    const length = view.readInt32BE(pos);
    pos += 4;
    if (length <= 0 || length > view.length - pos) {
      throw corrupt(
        'snappy',
        `xerial chunk ${chunk} at byte ${pos - 4} declares ${length} compressed bytes, ${view.length - pos} remain`,
      );
    }
    const out = rawDecompress(view.subarray(pos, pos + length), produced, maxBytes, `xerial chunk ${chunk}`);
    parts.push(out);
    produced += out.length;
    pos += length;
    chunk++;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, produced);
}
