/**
 * Answers to requests logstore does not serve, in a shape the client can read:
 * - ApiVersions newer than served: a v0 response with UNSUPPORTED_VERSION and the served ranges
 *   (KIP-511), so the client retries with a version it finds there;
 * - a known API at a version not served: that version's response with UNSUPPORTED_VERSION in its
 *   top-level error code (where it has one) and everything else empty;
 * - an API key Kafka does not define here: the response header and an int16 UNSUPPORTED_VERSION,
 *   the shape of an error-only response.
 */
import { encodeResponse } from './codec/messages.js';
import { ByteWriter } from './codec/writer.js';
import { KafkaError } from './errors.js';
import { apiVersionsBody } from './handlers/cluster.js';
import { API_VERSIONS_KEY } from './schema/headers.js';
import type { ApiSchema } from './schema/types.js';

export function unsupportedResponse(
  api: ApiSchema | undefined,
  version: number,
  correlationId: number,
): Buffer[] {
  if (api && api.key === API_VERSIONS_KEY) {
    return encodeResponse(api, 0, correlationId, apiVersionsBody(KafkaError.UNSUPPORTED_VERSION));
  }
  if (api && version >= api.known[0] && version <= api.known[1]) {
    return encodeResponse(api, version, correlationId, { errorCode: KafkaError.UNSUPPORTED_VERSION });
  }
  const w = new ByteWriter(8);
  w.int32(correlationId);
  w.int16(KafkaError.UNSUPPORTED_VERSION);
  return w.chunksOut();
}
