/**
 * Derives lib/kafka/schema/apis/*.ts from Apache Kafka's message definitions
 * (clients/src/main/resources/common/message/*.json in a checkout of apache/kafka), keeping only
 * the versions logstore serves. The output is data (field names, types, version ranges); the
 * reader and writer in lib/kafka/codec interpret it. Run it when a version range below changes:
 *
 *   node dist/spec/kafka/tools/derive-schemas.js <kafka>/clients/src/main/resources/common/message [outDir]
 *   npx prettier --write lib/kafka/schema/apis
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** API name -> [lowest, highest] version served. The table in the README lists the same. */
export const SERVED: Record<string, [number, number]> = {
  Produce: [0, 9],
  Fetch: [4, 12],
  ListOffsets: [0, 6],
  Metadata: [0, 9],
  OffsetCommit: [0, 8],
  OffsetFetch: [0, 7],
  FindCoordinator: [0, 3],
  JoinGroup: [0, 7],
  Heartbeat: [0, 4],
  LeaveGroup: [0, 4],
  SyncGroup: [0, 5],
  DescribeGroups: [0, 5],
  ListGroups: [0, 4],
  SaslHandshake: [0, 1],
  ApiVersions: [0, 3],
  CreateTopics: [0, 5],
  DeleteTopics: [0, 4],
  InitProducerId: [0, 4],
  DescribeConfigs: [0, 4],
  CreatePartitions: [0, 3],
  SaslAuthenticate: [0, 2],
  DeleteGroups: [0, 2],
};

interface JsonField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string;
  flexibleVersions?: string;
  fields?: JsonField[];
}

interface JsonMessage {
  apiKey: number;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: JsonField[];
  commonStructs?: { name: string; fields: JsonField[] }[];
}

/** "3+", "0-4", "5", "none" -> [lo, hi] (hi Infinity for "+"), or undefined for "none". */
function range(spec: string): [number, number] | undefined {
  if (spec === 'none') return undefined;
  if (spec.endsWith('+')) return [Number(spec.slice(0, -1)), Infinity];
  const [lo, hi] = spec.split('-');
  return [Number(lo), Number(hi ?? lo)];
}

function overlaps(spec: string, served: [number, number]): boolean {
  const r = range(spec);
  return r !== undefined && r[0] <= served[1] && r[1] >= served[0];
}

const camel = (name: string): string => name[0]!.toLowerCase() + name.slice(1);

const PRIMITIVES = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

function defaultValue(f: JsonField): string | undefined {
  if (f.default === undefined) return undefined;
  if (f.default === 'null') return 'null';
  if (f.type === 'bool') return f.default;
  if (f.type === 'string') return JSON.stringify(f.default);
  if (f.type.startsWith('int') || f.type === 'uint16' || f.type === 'float64') {
    const n = Number(f.default);
    if (!Number.isFinite(n)) throw new Error(`default ${f.default} of ${f.name}`);
    return String(n);
  }
  return undefined;
}

function emitFields(
  fields: JsonField[],
  served: [number, number],
  structs: Map<string, JsonField[]>,
  indent: string,
): string {
  const out: string[] = [];
  for (const f of fields) {
    if (!overlaps(f.versions, served)) continue;
    const parts = [`name: '${camel(f.name)}'`];
    let sub: JsonField[] | undefined;
    if (f.type.startsWith('[]')) {
      const inner = f.type.slice(2);
      if (PRIMITIVES.has(inner)) parts.push(`type: '[]${inner}'`);
      else {
        parts.push(`type: '[]'`);
        sub = f.fields ?? structs.get(inner);
      }
    } else if (PRIMITIVES.has(f.type)) parts.push(`type: '${f.type}'`);
    else {
      parts.push(`type: 'struct'`);
      sub = f.fields ?? structs.get(f.type);
    }
    parts.push(`versions: '${f.versions}'`);
    if (f.nullableVersions && overlaps(f.nullableVersions, served))
      parts.push(`nullable: '${f.nullableVersions}'`);
    if (f.tag !== undefined) parts.push(`tag: ${f.tag}`, `tagged: '${f.taggedVersions}'`);
    if (f.flexibleVersions === 'none') parts.push(`flexible: false`);
    const d = defaultValue(f);
    if (d !== undefined) parts.push(`default: ${d}`);
    if (sub) {
      if (!sub) throw new Error(`no fields for ${f.name}`);
      parts.push(`fields: [\n${emitFields(sub, served, structs, indent + '  ')}${indent}]`);
    }
    out.push(`${indent}{ ${parts.join(', ')} },\n`);
  }
  return out.join('');
}

function read(dir: string, file: string): JsonMessage {
  const text = fs.readFileSync(path.join(dir, file), 'utf8').replace(/^\s*\/\/.*$/gm, '');
  return JSON.parse(text) as JsonMessage;
}

function structsOf(m: JsonMessage): Map<string, JsonField[]> {
  const map = new Map<string, JsonField[]>();
  const walk = (fields: JsonField[]) => {
    for (const f of fields) {
      if (f.fields) {
        map.set(f.type.replace(/^\[\]/, ''), f.fields);
        walk(f.fields);
      }
    }
  };
  for (const s of m.commonStructs ?? []) map.set(s.name, s.fields);
  walk(m.fields);
  return map;
}

const kebab = (name: string): string => name.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();

function derive(dir: string, out: string): void {
  for (const [name, served] of Object.entries(SERVED)) {
    const req = read(dir, `${name}Request.json`);
    const res = read(dir, `${name}Response.json`);
    const flex = range(req.flexibleVersions);
    const flexible = flex === undefined ? 'none' : String(flex[0]);
    const known = range(req.validVersions)!;
    const text = `/**
 * ${name} (API key ${req.apiKey}): served ${served[0]}-${served[1]}, known ${known[0]}-${known[1]}, flexible from ${flexible}.
 * Derived from Apache Kafka's ${name}Request.json and ${name}Response.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const ${name}: ApiSchema = {
  key: ${req.apiKey},
  name: '${name}',
  versions: [${served[0]}, ${served[1]}],
  known: [${known[0]}, ${known[1]}],
  flexible: ${flexible === 'none' ? 'Infinity' : flexible},
  request: [
${emitFields(req.fields, known, structsOf(req), '    ')}  ],
  response: [
${emitFields(res.fields, known, structsOf(res), '    ')}  ],
};
`;
    fs.writeFileSync(path.join(out, `${kebab(name)}.ts`), text);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: derive-schemas <kafka>/clients/src/main/resources/common/message');
  const out =
    process.argv[3] ??
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../lib/kafka/schema/apis');
  derive(dir, out);
}
