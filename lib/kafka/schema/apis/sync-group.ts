/**
 * SyncGroup (API key 14): served 0-5, known 0-5, flexible from 4.
 * Derived from Apache Kafka's SyncGroupRequest.json and SyncGroupResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const SyncGroup: ApiSchema = {
  key: 14,
  name: 'SyncGroup',
  versions: [0, 5],
  known: [0, 5],
  flexible: 4,
  request: [
    { name: 'groupId', type: 'string', versions: '0+' },
    { name: 'generationId', type: 'int32', versions: '0+' },
    { name: 'memberId', type: 'string', versions: '0+' },
    { name: 'groupInstanceId', type: 'string', versions: '3+', nullable: '3+', default: null },
    { name: 'protocolType', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullable: '5+', default: null },
    {
      name: 'assignments',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'assignment', type: 'bytes', versions: '0+' },
      ],
    },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'protocolType', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'protocolName', type: 'string', versions: '5+', nullable: '5+', default: null },
    { name: 'assignment', type: 'bytes', versions: '0+' },
  ],
};
