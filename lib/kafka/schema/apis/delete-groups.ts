/**
 * DeleteGroups (API key 42): served 0-2, known 0-2, flexible from 2.
 * Derived from Apache Kafka's DeleteGroupsRequest.json and DeleteGroupsResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const DeleteGroups: ApiSchema = {
  key: 42,
  name: 'DeleteGroups',
  versions: [0, 2],
  known: [0, 2],
  flexible: 2,
  request: [{ name: 'groupsNames', type: '[]string', versions: '0+' }],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'groupId', type: 'string', versions: '0+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
      ],
    },
  ],
};
