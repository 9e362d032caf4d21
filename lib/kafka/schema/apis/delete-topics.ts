/**
 * DeleteTopics (API key 20): served 0-4, known 0-6, flexible from 4.
 * Derived from Apache Kafka's DeleteTopicsRequest.json and DeleteTopicsResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const DeleteTopics: ApiSchema = {
  key: 20,
  name: 'DeleteTopics',
  versions: [0, 4],
  known: [0, 6],
  flexible: 4,
  request: [
    {
      name: 'topics',
      type: '[]',
      versions: '6+',
      fields: [
        { name: 'name', type: 'string', versions: '6+', nullable: '6+', default: null },
        { name: 'topicId', type: 'uuid', versions: '6+' },
      ],
    },
    { name: 'topicNames', type: '[]string', versions: '0-5' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '1+' },
    {
      name: 'responses',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+', nullable: '6+' },
        { name: 'topicId', type: 'uuid', versions: '6+' },
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '5+', nullable: '5+', default: null },
      ],
    },
  ],
};
