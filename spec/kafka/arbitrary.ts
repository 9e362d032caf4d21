/** fast-check arbitraries that build any message a table describes, for round trips and fuzzing. */
import fc from 'fast-check';
import type { FieldPlan, StructPlan } from '../../lib/kafka/schema/plan.js';
import type { Primitive, Struct } from '../../lib/kafka/schema/types.js';

function primitive(kind: Primitive, nullable: boolean): fc.Arbitrary<unknown> {
  let arb: fc.Arbitrary<unknown>;
  switch (kind) {
    case 'bool':
      arb = fc.boolean();
      break;
    case 'int8':
      arb = fc.integer({ min: -128, max: 127 });
      break;
    case 'int16':
      arb = fc.integer({ min: -32768, max: 32767 });
      break;
    case 'uint16':
      arb = fc.integer({ min: 0, max: 65535 });
      break;
    case 'int32':
      arb = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
      break;
    case 'int64':
      arb = fc.oneof(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: -(2n ** 53n) - 1n }));
      break;
    case 'float64':
      arb = fc.double({ noNaN: true });
      break;
    case 'uuid':
      arb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b));
      break;
    case 'string':
      arb = fc.string({ maxLength: 12 });
      break;
    case 'bytes':
    case 'records':
      arb = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
      break;
  }
  return nullable ? fc.option(arb, { nil: null, freq: 4 }) : arb;
}

function field(f: FieldPlan, depth: number): fc.Arbitrary<unknown> {
  if (f.kind === 'array') {
    const element = f.element ? primitive(f.element, false) : struct(f.struct!, depth + 1);
    const arr = fc.array(element, { maxLength: depth > 2 ? 1 : 3 });
    return f.nullable ? fc.option(arr, { nil: null, freq: 4 }) : arr;
  }
  if (f.kind === 'struct') return fc.option(struct(f.struct!, depth + 1), { nil: undefined });
  return primitive(f.kind, f.nullable);
}

/** Any struct `plan` can carry (tagged fields included, absent ones left out). */
export function struct(plan: StructPlan, depth = 0): fc.Arbitrary<Struct> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of plan.fields) shape[f.name] = field(f, depth);
  for (const f of plan.tagged) shape[f.name] = field(f, depth);
  return fc.record(shape) as fc.Arbitrary<Struct>;
}
