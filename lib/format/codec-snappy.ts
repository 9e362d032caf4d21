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
 * Compression is the `snappy` package (Rust snap crate). Decompression is ours (snappy-block.ts):
 * all of a batch's blocks into one Buffer, each block producing exactly the length its preamble
 * declares; the preambles are read first, so input that declares more than the caller's limit is
 * refused before anything is allocated.
 */
import { corrupt, tooLarge } from './codec-errors.js';
import { loadPackage, type SnappyBinding } from './codec-packages.js';
import { decodeSnappyBlock, SnappyFormatError, snappyPreamble } from './snappy-block.js';

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
  return snappyPreamble(block, 0, block.length);
}

/** A raw block of the input: where it is, and what it decodes to. */
interface Block {
  pos: number;
  end: number;
  declared: number;
  where: string;
}

/**
 * Decodes one raw block, or every chunk of xerial framing, into one Buffer. The blocks'
 * preambles are read first, so input that declares more than `maxBytes` is refused before
 * anything is allocated.
 */
export function snappyDecompress(data: Uint8Array, maxBytes: number): Buffer {
  const blocks = startsWithMagic(data, 0)
    ? xerialChunks(data, maxBytes)
    : [rawBlock(data, 0, data.length, 0, maxBytes, 'the raw block')];
  let total = 0;
  for (const b of blocks) total += b.declared;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const b of blocks) {
    try {
      at = decodeSnappyBlock(data, b.pos, b.end, out, at);
    } catch (err) {
      if (!(err instanceof SnappyFormatError)) throw err;
      throw corrupt('snappy', `${b.where} is not a valid snappy block (${err.message})`);
    }
  }
  return out;
}

/** The raw block at `data[pos..end)` that follows `produced` bytes of output. */
function rawBlock(
  data: Uint8Array,
  pos: number,
  end: number,
  produced: number,
  maxBytes: number,
  where: string,
): Block {
  const declared = snappyPreamble(data, pos, end);
  if (declared < 0) throw corrupt('snappy', `${where}: the length preamble is not a valid varint`);
  if (declared > maxBytes - produced) {
    throw tooLarge('snappy', `the output (${produced} bytes, then ${declared} from ${where})`, maxBytes);
  }
  return { pos, end, declared, where };
}

/** The chunks of xerial framing (header at 0), each checked to lie within the input. */
function xerialChunks(data: Uint8Array, maxBytes: number): Block[] {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const blocks: Block[] = [];
  let produced = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < view.length) {
    if (startsWithMagic(view, pos)) {
      pos += XERIAL_HEADER_BYTES; // a concatenated stream: its header, then more chunks
      continue;
    }
    const chunk = blocks.length;
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
    const block = rawBlock(view, pos, pos + length, produced, maxBytes, `xerial chunk ${chunk}`);
    blocks.push(block);
    produced += block.declared;
    pos += length;
  }
  return blocks;
}
