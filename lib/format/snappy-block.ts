/**
 * Decoding raw snappy blocks into memory the caller gives, the format of google/snappy's
 * format_description.txt:
 *
 *   preamble   the uncompressed length, a little-endian base-128 varint (at most 32 bits)
 *   elements   a tag byte, its low two bits the kind:
 *     00  literal: length-1 in the upper six bits, or (60..63) in the next 1..4 bytes, LE; then
 *         the bytes
 *     01  copy: length 4..11 (bits 2-4, +4), offset 0..2047 (bits 5-7, then one byte)
 *     10  copy: length 1..64 (upper six bits, +1), offset in the next 2 bytes, LE
 *     11  copy: length 1..64, offset in the next 4 bytes, LE
 *   A copy repeats `length` bytes from `offset` back in the output; it may overlap what it writes
 *   (offset 1, length 10: a run of one byte).
 *
 * Why our own: the `snappy` package returns each block in fresh memory of its own allocator,
 * which V8 does not count, so nothing collects it soon and every block's output is new pages for
 * the kernel to zero: reading snappy batches spent two thirds of its time there and grew the
 * process by hundreds of MiB (README, "Compression codecs"). Here a batch's blocks are decoded into one
 * Buffer, sized by their preambles before anything is allocated.
 *
 * Every offset, length and count is checked against what is left of the input and the output
 * (and the output must come out exactly as long as the preamble says), so no input reads or
 * writes outside its buffers; a bad block throws `SnappyFormatError`, which the codec reports as
 * LOGSTORE_CORRUPT.
 */

export class SnappyFormatError extends Error {}

/** Position after the preamble read by `snappyPreamble`. */
let preambleEnd = 0;

/**
 * The uncompressed length that the block at `src[pos..end)` declares, or -1 when its preamble is
 * not a varint of at most 32 bits. Sets `preambleEnd`.
 */
export function snappyPreamble(src: Uint8Array, pos: number, end: number): number {
  let length = 0;
  for (let i = 0; i < 5 && pos + i < end; i++) {
    const b = src[pos + i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      preambleEnd = pos + i + 1;
      return length <= 0xffffffff ? length : -1;
    }
  }
  return -1;
}

/** Literals shorter than this are copied by words and bytes here: a builtin call costs more than the loop. */
const SHORT_LITERAL = 32;

/**
 * Decodes the block at `src[pos..end)` into `out` at `at`; returns the position after its output.
 * `out` must have room for the length the preamble declares (the caller sized it from
 * `snappyPreamble`); the block must produce exactly that many bytes.
 *
 * The messages are built by `refuse`, out of this loop: V8 otherwise converts the numbers in
 * them ahead of the branches that throw, on every element.
 */
export function decodeSnappyBlock(
  src: Uint8Array,
  pos: number,
  end: number,
  out: Uint8Array,
  at: number,
): number {
  const declared = snappyPreamble(src, pos, end);
  if (declared < 0) throw refuse('preamble', 0, 0);
  const start = at;
  const stop = at + declared;
  if (stop > out.length) throw refuse('no-room', declared, 0);
  pos = preambleEnd;
  // Words move four bytes per load and store (any alignment); the byte order does not matter.
  const srcWords = new DataView(src.buffer, src.byteOffset, src.length);
  const outWords = new DataView(out.buffer, out.byteOffset, out.length);
  while (pos < end) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    let length: number;
    if (kind === 0) {
      length = tag >>> 2;
      if (length >= 60) {
        const bytes = length - 59;
        if (bytes > end - pos) throw refuse('literal-length', pos, 0);
        length = 0;
        for (let i = bytes - 1; i >= 0; i--) length = length * 256 + src[pos + i]!;
        pos += bytes;
      }
      length += 1;
      if (length > end - pos) throw refuse('literal-cut', pos, length);
      if (length > stop - at) throw refuse('past-end', pos, 0);
      if (length < SHORT_LITERAL) {
        let i = 0;
        for (; i + 4 <= length; i += 4) outWords.setUint32(at + i, srcWords.getUint32(pos + i));
        for (; i < length; i++) out[at + i] = src[pos + i]!;
      } else {
        out.set(src.subarray(pos, pos + length), at);
      }
      pos += length;
      at += length;
      continue;
    }
    let offset: number;
    if (kind === 1) {
      if (pos >= end) throw refuse('offset-cut', pos, 0);
      length = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      if (2 > end - pos) throw refuse('offset-cut', pos, 0);
      length = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (4 > end - pos) throw refuse('offset-cut', pos, 0);
      length = (tag >>> 2) + 1;
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > at - start) throw refuse('offset-back', offset, at - start);
    if (length > stop - at) throw refuse('past-end', pos, 0);
    // Four bytes at a time when each word read lies wholly before the one written (an overlapping
    // copy repeats what it wrote itself), then byte by byte. A copy is at most 64 bytes.
    let from = at - offset;
    const copyEnd = at + length;
    if (offset >= 4) {
      for (; at + 4 <= copyEnd; at += 4, from += 4) outWords.setUint32(at, outWords.getUint32(from));
    }
    while (at < copyEnd) out[at++] = out[from++]!;
  }
  if (at !== stop) throw refuse('short', at - start, declared);
  return at;
}

type Refusal =
  | 'preamble'
  | 'no-room'
  | 'literal-length'
  | 'literal-cut'
  | 'past-end'
  | 'offset-cut'
  | 'offset-back'
  | 'short';

function refuse(why: Refusal, a: number, b: number): SnappyFormatError {
  switch (why) {
    case 'preamble':
      return new SnappyFormatError('the length preamble is not a valid varint');
    case 'no-room':
      return new SnappyFormatError(`declares ${a} bytes, more than its room`);
    case 'literal-length':
      return new SnappyFormatError(`a literal's length is cut off at byte ${a}`);
    case 'literal-cut':
      return new SnappyFormatError(`a literal of ${b} bytes at byte ${a} is cut off`);
    case 'past-end':
      return new SnappyFormatError(`an element at byte ${a} runs past the declared length`);
    case 'offset-cut':
      return new SnappyFormatError(`a copy's offset is cut off at byte ${a}`);
    case 'offset-back':
      return new SnappyFormatError(`a copy reaches ${a} bytes back, ${b} are decoded`);
    case 'short':
      return new SnappyFormatError(`decodes to ${a} bytes, its preamble declares ${b}`);
  }
}
