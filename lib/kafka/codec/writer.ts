/**
 * The one encoder of Kafka protocol bytes: `encodeStruct` walks a plan over a ByteWriter. A
 * missing property is written as the field's default, so handlers only set what they know.
 * Large bytes/records values (fetched batches) are not copied: the writer hands them on as
 * separate chunks, and the socket writes the chunk list as one frame.
 */
import { LogStoreError } from '../../errors.js';
import type { FieldPlan, StructPlan } from '../schema/plan.js';
import { UNKNOWN_TAGS, type Primitive, type Struct } from '../schema/types.js';

const TWO_32 = 0x100000000;
/** Byte values at least this long are passed by reference instead of copied. */
const CHUNK_BY_REFERENCE = 4096;

function invalid(message: string): never {
  throw new LogStoreError('LOGSTORE_INVALID_ARGUMENT', `Kafka encoder: ${message}`);
}

export class ByteWriter {
  private readonly chunks: Buffer[] = [];
  private buf: Buffer;
  private pos = 0;
  private done = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.done + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  int64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.pos = this.buf.writeBigInt64BE(v, this.pos);
      return;
    }
    if (!Number.isSafeInteger(v)) invalid(`int64 ${v} is not a safe integer (pass a bigint)`);
    const hi = Math.floor(v / TWO_32);
    this.pos = this.buf.writeInt32BE(hi, this.pos);
    this.pos = this.buf.writeUInt32BE(v - hi * TWO_32, this.pos);
  }

  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  uvarint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  /** Length prefix of a string/bytes/array; `n` -1 for null. */
  length(n: number, compact: boolean, wide: boolean): void {
    if (compact) this.uvarint(n + 1);
    else if (wide) this.int32(n);
    else this.int16(n);
  }

  raw(bytes: Uint8Array): void {
    if (bytes.length >= CHUNK_BY_REFERENCE) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.done += this.pos;
      this.chunks.push(
        Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      );
      this.done += bytes.length;
      this.buf = this.buf.subarray(this.pos);
      this.pos = 0;
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** The bytes written, as chunks (no copy of large values). */
  chunksOut(): Buffer[] {
    const out = [...this.chunks];
    if (this.pos > 0) out.push(this.buf.subarray(0, this.pos));
    return out;
  }

  /** The bytes written, as one buffer. */
  toBuffer(): Buffer {
    const chunks = this.chunksOut();
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
  }
}

function toBytes(v: unknown, name: string): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v);
  invalid(`${name} must be bytes, got ${typeof v}`);
}

function writePrimitive(w: ByteWriter, kind: Primitive, f: FieldPlan, v: unknown): void {
  switch (kind) {
    case 'bool':
      return w.int8(v ? 1 : 0);
    case 'int8':
      return w.int8(Number(v));
    case 'int16':
      return w.int16(Number(v));
    case 'uint16':
      return w.uint16(Number(v));
    case 'int32':
      return w.int32(Number(v));
    case 'int64':
      return w.int64(typeof v === 'bigint' ? v : Number(v));
    case 'float64':
      return w.float64(Number(v));
    case 'uuid': {
      const b = toBytes(v, f.name);
      if (b.length !== 16) invalid(`${f.name} must be 16 bytes`);
      return w.raw(b);
    }
    case 'string': {
      if (v === null) return writeNull(w, f, false);
      if (typeof v !== 'string') invalid(`${f.name} must be a string, got ${typeof v}`);
      const b = Buffer.from(v);
      if (!f.compact && b.length > 0x7fff) invalid(`${f.name} is longer than 32767 bytes`);
      w.length(b.length, f.compact, false);
      return w.raw(b);
    }
    case 'bytes':
    case 'records': {
      if (v === null) return writeNull(w, f, true);
      const b = toBytes(v, f.name);
      w.length(b.length, f.compact, true);
      return w.raw(b);
    }
  }
}

function writeNull(w: ByteWriter, f: FieldPlan, wide: boolean): void {
  if (!f.nullable) invalid(`${f.name} is not nullable in this version`);
  w.length(-1, f.compact, wide);
}

function writeField(w: ByteWriter, f: FieldPlan, v: unknown): void {
  if (f.kind === 'array') {
    if (v === null) return writeNull(w, f, true);
    if (!Array.isArray(v)) invalid(`${f.name} must be an array`);
    w.length(v.length, f.compact, true);
    for (const item of v) {
      if (f.element) writePrimitive(w, f.element, f, item);
      else encodeStruct(w, f.struct!, item as Struct);
    }
    return;
  }
  if (f.kind === 'struct') {
    if (f.nullable) {
      if (v === null || v === undefined) return w.int8(-1);
      w.int8(1);
    }
    return encodeStruct(w, f.struct!, (v ?? {}) as Struct);
  }
  writePrimitive(w, f.kind, f, v);
}

/** Whether a tagged field holds something other than its default (only then is it written). */
function differs(f: FieldPlan, v: unknown): boolean {
  if (v === undefined) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (f.kind === 'struct') return v !== null;
  return v !== f.default;
}

function writeTaggedSection(w: ByteWriter, plan: StructPlan, s: Struct): void {
  const present: [number, Buffer][] = [];
  for (const f of plan.tagged) {
    const v = s[f.name];
    if (!differs(f, v)) continue;
    const sub = new ByteWriter(64);
    writeField(sub, f, v);
    present.push([f.tag!, sub.toBuffer()]);
  }
  const unknown = s[UNKNOWN_TAGS] as [number, Uint8Array][] | undefined;
  if (unknown) for (const [tag, data] of unknown) present.push([tag, Buffer.from(data)]);
  present.sort((a, b) => a[0] - b[0]);
  w.uvarint(present.length);
  for (const [tag, data] of present) {
    w.uvarint(tag);
    w.uvarint(data.length);
    w.raw(data);
  }
}

/** Encodes `s` laid out by `plan`; missing properties are written as their default. */
export function encodeStruct(w: ByteWriter, plan: StructPlan, s: Struct): void {
  for (const f of plan.fields) {
    const v = s[f.name];
    writeField(w, f, v === undefined ? f.default : v);
  }
  if (plan.flexible) writeTaggedSection(w, plan, s);
}
