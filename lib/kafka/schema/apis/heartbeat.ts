/**
 * Heartbeat (API key 12): served 0-4, known 0-4, flexible from 4.
 * Derived from Apache Kafka's HeartbeatRequest.json and HeartbeatResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const Heartbeat: ApiSchema = {
  key: 12,
  name: 'Heartbeat',
  versions: [0, 4],
  known: [0, 4],
  flexible: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+', default: null },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
  ],
};
