/**
 * The shape of Kafka's protocol as data: one `ApiSchema` per API (lib/kafka/schema/apis/), each a
 * list of fields with the versions they exist in, as Apache Kafka's message JSON files describe
 * them. The reader and writer in lib/kafka/codec interpret these tables; no handler looks at wire
 * bytes or tests `version >= n` to find a field.
 *
 * Version ranges are Kafka's strings: "3+" (3 and later), "0-4", "5" (only 5), "none".
 * In a flexible version (>= `ApiSchema.flexible`) strings, bytes, arrays and records are
 * "compact" (unsigned varint length + 1, 0 meaning null), and every struct ends with a tagged
 * field section (KIP-482). Tagged fields are written only when their value differs from the
 * default; unknown tags a peer sends are kept raw (`UNKNOWN_TAGS`) so re-encoding gives the same
 * bytes.
 */
export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export interface FieldSpec {
  /** The JavaScript property: Kafka's field name in camelCase. */
  name: string;
  /** A primitive, an array of primitives, an array of structs ('[]' + fields) or a struct. */
  type: Primitive | `[]${Primitive}` | '[]' | 'struct';
  /** Versions the field exists in. */
  versions: string;
  /** Versions in which the value may be null. */
  nullable?: string;
  /** Tag number of a tagged field (flexible versions only). */
  tag?: number;
  /** Versions in which the field is tagged rather than positional. */
  tagged?: string;
  /** `false` keeps the classic encoding in flexible versions (the request header's clientId). */
  flexible?: false;
  /** Value when absent from a version (or a tagged field not sent); else the type's zero. */
  default?: number | string | boolean | null;
  /** Fields of a struct or of each element of a struct array. */
  fields?: FieldSpec[];
}

export interface ApiSchema {
  key: number;
  name: string;
  /** Lowest and highest version served; ApiVersions advertises exactly this. */
  versions: [number, number];
  /**
   * Versions Apache Kafka defines: the tables cover them all, so a request for a version that is
   * known but not served still gets an UNSUPPORTED_VERSION answer in the shape its client reads.
   */
  known: [number, number];
  /** First flexible version (Infinity when none). */
  flexible: number;
  request: FieldSpec[];
  response: FieldSpec[];
}

/** Property holding the raw tagged fields a struct carried that this version does not know. */
export const UNKNOWN_TAGS = 'unknownTaggedFields';

/** A decoded message or struct: plain properties named after the fields. */
export type Struct = Record<string, unknown>;
