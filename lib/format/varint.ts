/**
 * Kafka's zigzag varints (protobuf style), for int32 and int64 fields alike.
 *
 * JS numbers carry integers exactly up to 2^53, which covers every value logstore writes
 * (offsets, timestamps, lengths); zigzag is computed arithmetically rather than with 32-bit shifts
 * so that timestamp deltas beyond 2^31 stay exact. Readers report where they stopped through
 * `varintEnd` instead of allocating a result object: this sits on the decode hot path.
 */

/** Position just after the last varint read by `readVarint`; -1 when it ran past `end` or was too long. */
export let varintEnd = 0;

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Bytes taken by the varint of an already zigzagged, non-negative value. */
export function varintSize(z: number): number {
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  let size = 5;
  for (z = Math.floor(z / 0x800000000); z > 0; z = Math.floor(z / 0x80)) size++;
  return size;
}

/** Size of a signed value's zigzag varint. */
export function signedVarintSize(n: number): number {
  return varintSize(zigzag(n));
}

/**
 * Writes signed `n` as a zigzag varint at `pos`; returns the position after it. One and two bytes
 * (0 to 8191: most records' length, offset delta and value length) are written here, without a
 * loop, and the rest by a second function: this one stays small enough for V8 to inline into the
 * encoder's record loop, which calls it five times a record.
 */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0 && n < 0x2000) {
    const z = n << 1;
    if (z < 0x80) {
      buf[pos] = z;
      return pos + 1;
    }
    buf[pos] = z | 0x80; // a byte store keeps the low 8 bits
    buf[pos + 1] = z >>> 7;
    return pos + 2;
  }
  return writeLongVarint(buf, pos, n);
}

function writeLongVarint(buf: Uint8Array, pos: number, n: number): number {
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z = z < 0x80000000 ? z >>> 7 : Math.floor(z / 0x80);
  }
  buf[pos++] = z;
  return pos;
}

/**
 * Reads a signed zigzag varint at `pos`, never past `end`. Sets `varintEnd` to the position after
 * it, or to -1 if the bytes run out or the varint is longer than 8 bytes (beyond 2^53, which no
 * length, delta or timestamp of a batch we can decode needs).
 *
 * One and two bytes (values within +-8191: the lengths, deltas and counts of most records) are
 * read with 32-bit integer operations, whose result V8 keeps as a small integer; longer ones with
 * arithmetic on doubles, exact to 2^53.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number): number {
  if (pos < end) {
    const b0 = buf[pos]!;
    if (b0 < 0x80) {
      varintEnd = pos + 1;
      return (b0 >>> 1) ^ -(b0 & 1);
    }
    if (pos + 1 < end) {
      const b1 = buf[pos + 1]!;
      if (b1 < 0x80) {
        varintEnd = pos + 2;
        const z = (b0 & 0x7f) | (b1 << 7);
        return (z >>> 1) ^ -(z & 1);
      }
    }
  }
  return readLongVarint(buf, pos, end);
}

/** readVarint's general case: any length up to 8 bytes, and bytes that run out before `end`. */
function readLongVarint(buf: Uint8Array, pos: number, end: number): number {
  let z = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) break;
    const b = buf[pos++]!;
    z += (b & 0x7f) * scale;
    if (b < 0x80) {
      varintEnd = pos;
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    scale *= 0x80;
  }
  varintEnd = -1;
  return 0;
}
