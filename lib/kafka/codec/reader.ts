/**
 * The one decoder of Kafka protocol bytes: `decodeStruct` walks a plan (lib/kafka/schema/plan.ts)
 * over a ByteReader. Every length and count is checked against the bytes left before anything is
 * allocated, so a hostile frame costs at most its own size: strings and arrays can never claim
 * more elements than there are bytes, and bytes/records fields are views into the frame, not
 * copies (a caller that keeps one past the request copies it).
 */
import type { FieldPlan, StructPlan } from '../schema/plan.js';
import { UNKNOWN_TAGS, type Primitive, type Struct } from '../schema/types.js';
import { MalformedFrameError } from './malformed.js';

const TWO_32 = 0x100000000;

export class ByteReader {
  readonly buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(message: string): never {
    throw new MalformedFrameError(message, this.pos);
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) this.fail(`${what} needs ${n} bytes, ${this.end - this.pos} left`);
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A number when exact (|v| <= 2^53), else a bigint, so nothing is rounded silently. */
  int64(): number | bigint {
    this.need(8, 'int64');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    const pos = this.pos;
    this.pos += 8;
    if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + lo;
    return this.buf.readBigInt64BE(pos);
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint up to 2^32 - 1 (what Kafka's lengths and tags are). */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('varint runs past the end');
      const b = this.buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (value > 0xffffffff) this.fail('varint beyond 32 bits');
        return value;
      }
    }
    this.fail('varint longer than 5 bytes');
  }

  /** Length of a string/bytes/array: -1 for null. Compact ones are uvarint(length + 1). */
  length(compact: boolean, wide: boolean): number {
    if (compact) return this.uvarint() - 1;
    return wide ? this.int32() : this.int16();
  }

  slice(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function nullCheck(r: ByteReader, f: FieldPlan): null {
  if (!f.nullable) r.fail(`${f.name} is null but not nullable in this version`);
  return null;
}

function readPrimitive(r: ByteReader, kind: Primitive, f: FieldPlan): unknown {
  switch (kind) {
    case 'bool':
      return r.int8() !== 0;
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'uint16':
      return r.uint16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'float64':
      return r.float64();
    case 'uuid':
      return r.slice(16, f.name);
    case 'string': {
      const n = r.length(f.compact, false);
      if (n < -1) r.fail(`${f.name}: negative length ${n}`);
      if (n === -1) return nullCheck(r, f);
      r.need(n, f.name);
      const s = r.buf.toString('utf8', r.pos, r.pos + n);
      r.pos += n;
      return s;
    }
    case 'bytes':
    case 'records': {
      const n = r.length(f.compact, true);
      if (n < -1) r.fail(`${f.name}: negative length ${n}`);
      if (n === -1) return nullCheck(r, f);
      return r.slice(n, f.name);
    }
  }
}

/** Smallest wire size of one element: bounds an array's count by the bytes left. */
function minSize(kind: Primitive): number {
  switch (kind) {
    case 'int16':
    case 'uint16':
      return 2;
    case 'int32':
      return 4;
    case 'int64':
    case 'float64':
      return 8;
    case 'uuid':
      return 16;
    default:
      return 1;
  }
}

function readArray(r: ByteReader, f: FieldPlan): unknown {
  const n = r.length(f.compact, true);
  if (n < -1) r.fail(`${f.name}: negative count ${n}`);
  if (n === -1) return nullCheck(r, f);
  const size = f.element ? minSize(f.element) : 1;
  if (n * size > r.remaining) r.fail(`${f.name}: ${n} elements cannot fit in ${r.remaining} bytes`);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++)
    out[i] = f.element ? readPrimitive(r, f.element, f) : decodeStruct(r, f.struct!);
  return out;
}

function readField(r: ByteReader, f: FieldPlan): unknown {
  if (f.kind === 'array') return readArray(r, f);
  if (f.kind === 'struct') {
    // A nullable struct is prefixed by an int8 (-1 null, 1 present), as Kafka's generated code does.
    if (f.nullable && r.int8() < 0) return null;
    return decodeStruct(r, f.struct!);
  }
  return readPrimitive(r, f.kind, f);
}

function fresh(value: unknown): unknown {
  return Array.isArray(value) ? [] : value;
}

function readTaggedSection(r: ByteReader, plan: StructPlan, out: Struct): void {
  const count = r.uvarint();
  if (count > r.remaining) r.fail(`${count} tagged fields cannot fit in ${r.remaining} bytes`);
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    const size = r.uvarint();
    r.need(size, `tagged field ${tag}`);
    const end = r.pos + size;
    const field = plan.tagged.find((t) => t.tag === tag);
    if (field) {
      const sub = new ByteReader(r.buf, r.pos, end);
      out[field.name] = readField(sub, field);
      if (sub.pos !== end) r.fail(`tagged field ${tag} (${field.name}) has ${end - sub.pos} bytes left over`);
    } else {
      const unknown = (out[UNKNOWN_TAGS] ??= []) as [number, Buffer][];
      unknown.push([tag, r.buf.subarray(r.pos, end)]);
    }
    r.pos = end;
  }
}

/** Decodes one struct (or a whole message body) laid out by `plan`. */
export function decodeStruct(r: ByteReader, plan: StructPlan): Struct {
  const out: Struct = {};
  for (const f of plan.absent) out[f.name] = fresh(f.default);
  for (const f of plan.tagged) out[f.name] = fresh(f.default);
  for (const f of plan.fields) out[f.name] = readField(r, f);
  if (plan.flexible) readTaggedSection(r, plan, out);
  return out;
}
