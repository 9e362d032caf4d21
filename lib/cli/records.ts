/**
 * How records look on the command line, and the JSON form `tail --format json` writes and
 * `produce --json` reads (so that `tail --format json | produce --json` copies records exactly).
 *
 * JSON lines: one object a line,
 *   {"topic":"orders","partition":0,"offset":42,"timestamp":1714564800123,
 *    "key":"user-3","value":"{\"qty\":2}","headers":{"trace":"abc"}}
 * - `timestamp` is milliseconds since the epoch (the record's CreateTime), a number.
 * - `key`, `value` and each header value are bytes, written as a JSON string when the bytes are
 *   valid UTF-8 (the string is exactly those bytes decoded), else as `{"base64":"<standard
 *   base64>"}`; a null key or value is `null`. A string is always UTF-8, so the two forms never
 *   overlap.
 */
import { isUtf8 } from 'node:buffer';
import type { LogRecord } from '../index.js';
import type { Colors } from './output.js';

export type JsonBytes = string | { base64: string } | null;

export function bytesToJson(b: Buffer | null): JsonBytes {
  if (b === null) return null;
  return isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') };
}

/** The inverse of `bytesToJson`; throws a plain Error naming `what` for anything else. */
export function jsonToBytes(v: unknown, what: string): Buffer | null {
  if (v === null) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'object' && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const b64 = (v as { base64?: unknown }).base64;
    if (
      keys.length === 1 &&
      typeof b64 === 'string' &&
      /^[A-Za-z0-9+/]*={0,2}$/.test(b64) &&
      b64.length % 4 === 0
    ) {
      return Buffer.from(b64, 'base64');
    }
  }
  throw new Error(`${what} must be a string, null or {"base64": "..."}, got ${JSON.stringify(v)}`);
}

export interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: JsonBytes;
  value: JsonBytes;
  /** kafkajs's shape: a key seen twice gives an array of its values, in order. */
  headers: Record<string, JsonBytes | JsonBytes[]>;
}

export function recordToJson(r: LogRecord): JsonRecord {
  const headers: Record<string, JsonBytes | JsonBytes[]> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    const json = Array.isArray(value) ? value.map(bytesToJson) : bytesToJson(value);
    Object.defineProperty(headers, name, {
      value: json,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return {
    topic: r.topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: bytesToJson(r.key),
    value: bytesToJson(r.value),
    headers,
  };
}

export type Format = 'text' | 'json' | 'raw';
export const FORMATS: readonly Format[] = ['text', 'json', 'raw'];

/** One record as output: a line of text or JSON, or the raw value bytes and a newline. */
export function formatRecord(
  r: LogRecord,
  format: Format,
  colors: Colors,
  withTopic = false,
): string | Buffer {
  if (format === 'json') return JSON.stringify(recordToJson(r)) + '\n';
  if (format === 'raw') return r.value === null ? '\n' : Buffer.concat([r.value, NEWLINE]);
  const where = `${withTopic ? `${r.topic}-` : ''}${r.partition}:${r.offset}`;
  let line = `${colors.yellow(where)}  ${colors.dim(new Date(r.timestamp).toISOString())}  `;
  line += r.key === null ? colors.dim('-') : colors.cyan(printable(r.key));
  line += '  ' + (r.value === null ? colors.dim('null') : printable(r.value));
  if (r.headerList.length > 0) {
    line +=
      '  ' +
      colors.magenta(
        `[${r.headerList.map(([n, v]) => `${escapeText(n)}=${printableOrNull(v)}`).join(', ')}]`,
      );
  }
  return line + '\n';
}

const NEWLINE = Buffer.from('\n');

/** Bytes for a terminal line: UTF-8 text with control characters escaped, else `base64:...`. */
export function printable(b: Buffer): string {
  if (!isUtf8(b)) return `base64:${b.toString('base64')}`;
  return escapeText(b.toString('utf8'));
}

/** A header value for a terminal line: `null` for a null value. */
export function printableOrNull(b: Buffer | null): string {
  return b === null ? 'null' : printable(b);
}

function escapeText(s: string): string {
  // Control characters would break the one-record-a-line layout, or drive the terminal.
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
