/**
 * Request and response headers (Apache Kafka's RequestHeader.json / ResponseHeader.json).
 * Request header v1 for classic versions of an API, v2 (tagged fields) for flexible ones; the
 * clientId stays a classic nullable string even in v2. Response header v0 / v1 likewise, except
 * that ApiVersions always answers with v0 (KIP-511: a client that does not know the broker yet
 * must be able to read the answer whatever version it asked for).
 */
import type { FieldSpec } from './types.js';

export const REQUEST_HEADER: FieldSpec[] = [
  { name: 'requestApiKey', type: 'int16', versions: '0+' },
  { name: 'requestApiVersion', type: 'int16', versions: '0+' },
  { name: 'correlationId', type: 'int32', versions: '0+' },
  { name: 'clientId', type: 'string', versions: '1+', nullable: '1+', flexible: false, default: null },
];

export const RESPONSE_HEADER: FieldSpec[] = [{ name: 'correlationId', type: 'int32', versions: '0+' }];

export const API_VERSIONS_KEY = 18;

export function requestHeaderVersion(flexible: boolean): number {
  return flexible ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, flexible: boolean): number {
  return flexible && apiKey !== API_VERSIONS_KEY ? 1 : 0;
}
