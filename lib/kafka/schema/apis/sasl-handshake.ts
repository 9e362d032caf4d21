/**
 * SaslHandshake (API key 17): served 0-1, known 0-1, flexible from none.
 * Derived from Apache Kafka's SaslHandshakeRequest.json and SaslHandshakeResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const SaslHandshake: ApiSchema = {
  key: 17,
  name: 'SaslHandshake',
  versions: [0, 1],
  known: [0, 1],
  flexible: Infinity,
  request: [{ name: 'mechanism', type: 'string', versions: '0+' }],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'mechanisms', type: '[]string', versions: '0+' },
  ],
};
