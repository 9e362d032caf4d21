/**
 * Resolves a field table for one version into a flat plan (fields present, in order, with
 * nullability, encoding and tags decided), so the reader and writer never parse version strings
 * on the hot path. Plans are cached per table and version.
 */
import type { FieldSpec, Primitive } from './types.js';

export interface FieldPlan {
  name: string;
  /** 'array' with `element` (a primitive) or `struct` (the element plan); 'struct' with `struct`. */
  kind: Primitive | 'array' | 'struct';
  element?: Primitive;
  struct?: StructPlan;
  nullable: boolean;
  /** Compact (flexible) encoding of lengths for this field. */
  compact: boolean;
  tag: number | undefined;
  default: unknown;
}

export interface StructPlan {
  /** Positional fields of this version, in wire order. */
  fields: FieldPlan[];
  /** Tagged fields of this version, by ascending tag. */
  tagged: FieldPlan[];
  /** Fields absent from this version: filled with their default on decode. */
  absent: FieldPlan[];
  /** Whether the struct ends with a tagged field section. */
  flexible: boolean;
}

/** "3+", "0-4", "5", "none": does the range include `version`? */
export function inRange(spec: string | undefined, version: number): boolean {
  if (spec === undefined || spec === 'none') return false;
  if (spec.endsWith('+')) return version >= Number(spec.slice(0, -1));
  const dash = spec.indexOf('-');
  if (dash < 0) return version === Number(spec);
  return version >= Number(spec.slice(0, dash)) && version <= Number(spec.slice(dash + 1));
}

function zeroOf(kind: FieldPlan['kind'], nullable: boolean): unknown {
  switch (kind) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return Buffer.alloc(16);
    case 'array':
      return nullable ? null : [];
    case 'struct':
      return undefined;
    default:
      return 0;
  }
}

const cache = new WeakMap<FieldSpec[], Map<string, StructPlan>>();

/** The plan of `fields` at `version`; `flexible` says whether this version is a flexible one. */
export function planOf(fields: FieldSpec[], version: number, flexible: boolean): StructPlan {
  let byVersion = cache.get(fields);
  if (!byVersion) cache.set(fields, (byVersion = new Map()));
  const key = `${version}:${flexible}`;
  let plan = byVersion.get(key);
  if (!plan) byVersion.set(key, (plan = build(fields, version, flexible)));
  return plan;
}

function build(fields: FieldSpec[], version: number, flexible: boolean): StructPlan {
  const plan: StructPlan = { fields: [], tagged: [], absent: [], flexible };
  for (const spec of fields) {
    const nullable = inRange(spec.nullable, version);
    let kind: FieldPlan['kind'];
    let element: Primitive | undefined;
    let struct: StructPlan | undefined;
    if (spec.type === '[]' || spec.type === 'struct') {
      kind = spec.type === '[]' ? 'array' : 'struct';
      struct = planOf(spec.fields ?? [], version, flexible);
    } else if (spec.type.startsWith('[]')) {
      kind = 'array';
      element = spec.type.slice(2) as Primitive;
    } else {
      kind = spec.type as Primitive;
    }
    const tagged = flexible && spec.tag !== undefined && inRange(spec.tagged, version);
    const field: FieldPlan = {
      name: spec.name,
      kind,
      element,
      struct,
      nullable,
      compact: flexible && spec.flexible !== false,
      tag: tagged ? spec.tag : undefined,
      default: spec.default !== undefined ? spec.default : zeroOf(kind, nullable),
    };
    if (!inRange(spec.versions, version)) plan.absent.push(field);
    else if (tagged) plan.tagged.push(field);
    else plan.fields.push(field);
  }
  plan.tagged.sort((a, b) => a.tag! - b.tag!);
  return plan;
}
