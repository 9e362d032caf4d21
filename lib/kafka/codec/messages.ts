/**
 * Whole messages, both directions: a server decodes requests and encodes responses, a client
 * encodes requests and decodes responses; all four go through the same tables. A frame here is
 * the bytes after Kafka's 4-byte size prefix; `frame()` adds the prefix for the socket.
 */
import {
  REQUEST_HEADER,
  RESPONSE_HEADER,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../schema/headers.js';
import { apiByKey, supports } from '../schema/index.js';
import { planOf } from '../schema/plan.js';
import type { ApiSchema, Struct } from '../schema/types.js';
import { MalformedFrameError } from './malformed.js';
import { ByteReader, decodeStruct } from './reader.js';
import { ByteWriter, encodeStruct } from './writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface DecodedRequest {
  header: RequestHeader;
  /** The API, or undefined when the key is not served (the body is then not decoded). */
  api: ApiSchema | undefined;
  /** The decoded body; undefined when the API or version is not served. */
  body: Struct | undefined;
}

const isFlexible = (api: ApiSchema, version: number): boolean => version >= api.flexible;

/**
 * Decodes a request frame. The header's first fields are common to every version, so an unknown
 * API or version still yields a header to answer (UNSUPPORTED_VERSION) with; a body that does not
 * decode, or leaves bytes over, is a MalformedFrameError.
 */
export function decodeRequest(frame: Buffer): DecodedRequest {
  const r = new ByteReader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const api = apiByKey(apiKey);
  if (!api || !supports(api, apiVersion)) {
    // Not served: only the fixed part of the header is read (enough to answer with its id).
    return { header: { apiKey, apiVersion, correlationId, clientId: null }, api, body: undefined };
  }
  const flexible = isFlexible(api, apiVersion);
  r.pos = 0;
  const raw = decodeStruct(r, planOf(REQUEST_HEADER, requestHeaderVersion(flexible), flexible));
  const header: RequestHeader = {
    apiKey,
    apiVersion,
    correlationId,
    clientId: raw.clientId as string | null,
  };
  const body = decodeStruct(r, planOf(api.request, apiVersion, flexible));
  if (r.remaining !== 0)
    throw new MalformedFrameError(`${r.remaining} bytes after the ${api.name} request`, r.pos);
  return { header, api, body };
}

/** Encodes a response body (without size prefix) as chunks; large records are not copied. */
export function encodeResponse(
  api: ApiSchema,
  version: number,
  correlationId: number,
  body: Struct,
): Buffer[] {
  const flexible = isFlexible(api, version);
  const w = new ByteWriter();
  const hv = responseHeaderVersion(api.key, flexible);
  encodeStruct(w, planOf(RESPONSE_HEADER, hv, hv >= 1), { correlationId });
  encodeStruct(w, planOf(api.response, version, flexible), body);
  return w.chunksOut();
}

/** Encodes a request (without size prefix). */
export function encodeRequest(
  api: ApiSchema,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Struct,
): Buffer[] {
  const flexible = isFlexible(api, version);
  const w = new ByteWriter();
  const header = { requestApiKey: api.key, requestApiVersion: version, correlationId, clientId };
  encodeStruct(w, planOf(REQUEST_HEADER, requestHeaderVersion(flexible), flexible), header);
  encodeStruct(w, planOf(api.request, version, flexible), body);
  return w.chunksOut();
}

/** Decodes a response frame to a request this side sent with `api` and `version`. */
export function decodeResponse(
  api: ApiSchema,
  version: number,
  frame: Buffer,
): { correlationId: number; body: Struct } {
  const r = new ByteReader(frame);
  const flexible = isFlexible(api, version);
  const hv = responseHeaderVersion(api.key, flexible);
  const header = decodeStruct(r, planOf(RESPONSE_HEADER, hv, hv >= 1));
  const body = decodeStruct(r, planOf(api.response, version, flexible));
  if (r.remaining !== 0)
    throw new MalformedFrameError(`${r.remaining} bytes after the ${api.name} response`, r.pos);
  return { correlationId: header.correlationId as number, body };
}

/** Reads only the correlation id of a response (to match it before knowing the request). */
export function responseCorrelationId(frame: Buffer): number {
  return new ByteReader(frame).int32();
}

/** Parts at least this long are passed on by reference; shorter runs are joined. */
const JOIN_BELOW = 16 * 1024;

/**
 * Prefixes chunks with their total size: one Kafka frame, ready for the socket. The prefix and the
 * encoder's own small chunks are joined into one buffer, so a response without large records is
 * one buffer (one plain write), and one with them alternates joined parts and the records' bytes.
 */
export function frame(chunks: Buffer[]): Buffer[] {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out: Buffer[] = [];
  let run: Buffer[] = [];
  let runBytes = 4;
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeInt32BE(size, 0);
  run.push(prefix);
  const endRun = (): void => {
    if (run.length > 0) out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (c.length >= JOIN_BELOW) {
      endRun();
      out.push(c);
    } else {
      run.push(c);
      runBytes += c.length;
    }
  }
  endRun();
  return out;
}
