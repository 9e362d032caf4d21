/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78) in pure TypeScript, slicing-by-8.
 * Same contract as the native crc32c() in lib/storage/native.ts; the tests use it as an
 * independent cross-check and the micro benchmark measures one against the other.
 */

const POLY = 0x82f63b78;

/** T[k * 256 + n]: the CRC of byte n followed by k zero bytes. */
const T = new Int32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c;
}
for (let n = 0; n < 256; n++) {
  for (let k = 1; k < 8; k++) {
    const prev = T[(k - 1) * 256 + n]!;
    T[k * 256 + n] = (prev >>> 8) ^ T[prev & 0xff]!;
  }
}

function checkIndex(name: string, v: unknown, max: number): asserts v is number {
  if (typeof v !== 'number') throw new TypeError(`The "${name}" argument must be of type number`);
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`The "${name}" argument must be an integer >= 0 and <= ${max}`);
  }
}

/** CRC32C of buf[start, end), continuing from `seed` (a previous result; 0 to start). */
export function crc32cTs(buf: Uint8Array, start: number, end: number, seed = 0): number {
  if (!(buf instanceof Uint8Array)) throw new TypeError('The "buf" argument must be a Buffer or Uint8Array');
  checkIndex('start', start, buf.length);
  checkIndex('end', end, buf.length);
  checkIndex('seed', seed, 0xffffffff);
  if (start > end) throw new RangeError('crc32c: need 0 <= start <= end <= buf.length');

  let crc = ~seed;
  let i = start;
  for (const last = end - 8; i <= last; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      T[0x700 + (a & 0xff)]! ^
      T[0x600 + ((a >>> 8) & 0xff)]! ^
      T[0x500 + ((a >>> 16) & 0xff)]! ^
      T[0x400 + (a >>> 24)]! ^
      T[0x300 + buf[i + 4]!]! ^
      T[0x200 + buf[i + 5]!]! ^
      T[0x100 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
  }
  for (; i < end; i++) crc = T[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
