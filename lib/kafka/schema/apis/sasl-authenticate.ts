/**
 * SaslAuthenticate (API key 36): served 0-2, known 0-2, flexible from 2.
 * Derived from Apache Kafka's SaslAuthenticateRequest.json and SaslAuthenticateResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const SaslAuthenticate: ApiSchema = {
  key: 36,
  name: 'SaslAuthenticate',
  versions: [0, 2],
  known: [0, 2],
  flexible: 2,
  request: [{ name: 'authBytes', type: 'bytes', versions: '0+' }],
  response: [
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'errorMessage', type: 'string', versions: '0+', nullable: '0+' },
    { name: 'authBytes', type: 'bytes', versions: '0+' },
    { name: 'sessionLifetimeMs', type: 'int64', versions: '1+', default: 0 },
  ],
};
