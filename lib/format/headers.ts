/**
 * Record headers as Kafka has them: an ordered list of (string key, bytes-or-null value) pairs,
 * keys may repeat. What `append` accepts, and what readers return:
 *
 *   in   kafkajs's shape  { k: v, k2: [v1, v2] }   (object key order, arrays for repeats)
 *        an ordered list  [['k', v], ['k', v2]]
 *        a Map            new Map([['k', v], ['k2', [v1, v2]]])   (in its order)
 *        values: Buffer | Uint8Array | string (UTF-8) | null
 *   out  `headers`     kafkajs's shape: a key seen once gives its value, twice an array; null stays null
 *        `headerList`  the exact ordered list
 *
 * Encoded in a record as: count varint, then per header key (varint length + UTF-8 bytes) and
 * value (varint length, -1 for null, + bytes).
 */
import { LogStoreError } from '../errors.js';
import type { Bytes } from '../record.js';

export type HeaderValue = Bytes | null;

/** What `append` takes as a record's headers. */
export type HeadersInput =
  | Record<string, HeaderValue | HeaderValue[]>
  | ReadonlyArray<readonly [string, HeaderValue]>
  | ReadonlyMap<string, HeaderValue | HeaderValue[]>;

/** kafkajs's shape, as readers return it. */
export type Headers = Record<string, Buffer | null | (Buffer | null)[]>;

/** The exact ordered list, as readers return it. */
export type HeaderList = [string, Buffer | null][];

export const EMPTY_HEADERS: Headers = Object.freeze({}) as Headers;
export const EMPTY_HEADER_LIST: HeaderList = Object.freeze([]) as unknown as HeaderList;

function invalid(index: number, what: string): LogStoreError {
  return new LogStoreError('LOGSTORE_INVALID_ARGUMENT', `Record ${index}: ${what}.`);
}

function checkValue(value: unknown, index: number, key: string): HeaderValue {
  if (value === null || typeof value === 'string' || value instanceof Uint8Array) return value;
  throw invalid(
    index,
    `header ${JSON.stringify(key)} must be a Buffer, Uint8Array, string or null, got ${describe(value)}`,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/**
 * The ordered (key, value) pairs of `headers` in any accepted shape; LOGSTORE_INVALID_ARGUMENT
 * (naming record `index`) for anything else.
 */
export function headerPairs(headers: unknown, index: number): [string, HeaderValue][] {
  const pairs: [string, HeaderValue][] = [];
  const add = (key: unknown, value: unknown) => {
    if (typeof key !== 'string') throw invalid(index, `a header key must be a string, got ${describe(key)}`);
    if (Array.isArray(value)) for (const v of value) pairs.push([key, checkValue(v, index, key)]);
    else pairs.push([key, checkValue(value, index, key)]);
  };
  if (Array.isArray(headers)) {
    for (const pair of headers as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw invalid(index, 'a header list holds [key, value] pairs');
      }
      const [key, value] = pair as [unknown, unknown];
      if (Array.isArray(value))
        throw invalid(index, `header ${JSON.stringify(key)}: a list pair holds one value`);
      add(key, value);
    }
  } else if (headers instanceof Map) {
    for (const [key, value] of headers) add(key, value);
  } else if (headers !== null && typeof headers === 'object' && !ArrayBuffer.isView(headers)) {
    for (const key of Object.keys(headers)) add(key, (headers as Record<string, unknown>)[key]);
  } else {
    throw invalid(
      index,
      `headers must be an object like { key: value }, a list of [key, value] pairs or a Map, got ${describe(headers)}`,
    );
  }
  return pairs;
}

/** kafkajs's shape of an ordered list: a repeated key gives an array, in order. */
export function headersObject(list: HeaderList): Headers {
  const out: Headers = {};
  for (const [key, value] of list) {
    const seen = Object.prototype.hasOwnProperty.call(out, key) ? out[key] : undefined;
    const next = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    // Assigning to `__proto__` would replace the prototype instead of adding a header.
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
    else out[key] = next;
  }
  return out;
}
