/**
 * Produce (API key 0): served 0-9, known 0-11, flexible from 9.
 * Derived from Apache Kafka's ProduceRequest.json and ProduceResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const Produce: ApiSchema = {
  key: 0,
  name: 'Produce',
  versions: [0, 9],
  known: [0, 11],
  flexible: 9,
  request: [
    { name: 'transactionalId', type: 'string', versions: '3+', nullable: '3+', default: null },
    { name: 'acks', type: 'int16', versions: '0+' },
    { name: 'timeoutMs', type: 'int32', versions: '0+' },
    {
      name: 'topicData',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitionData',
          type: '[]',
          versions: '0+',
          fields: [
            { name: 'index', type: 'int32', versions: '0+' },
            { name: 'records', type: 'records', versions: '0+', nullable: '0+' },
          ],
        },
      ],
    },
  ],
  response: [
    {
      name: 'responses',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'name', type: 'string', versions: '0+' },
        {
          name: 'partitionResponses',
          type: '[]',
          versions: '0+',
          fields: [
            { name: 'index', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'baseOffset', type: 'int64', versions: '0+' },
            { name: 'logAppendTimeMs', type: 'int64', versions: '2+', default: -1 },
            { name: 'logStartOffset', type: 'int64', versions: '5+', default: -1 },
            {
              name: 'recordErrors',
              type: '[]',
              versions: '8+',
              fields: [
                { name: 'batchIndex', type: 'int32', versions: '8+' },
                {
                  name: 'batchIndexErrorMessage',
                  type: 'string',
                  versions: '8+',
                  nullable: '8+',
                  default: null,
                },
              ],
            },
            { name: 'errorMessage', type: 'string', versions: '8+', nullable: '8+', default: null },
            {
              name: 'currentLeader',
              type: 'struct',
              versions: '10+',
              tag: 0,
              tagged: '10+',
              fields: [
                { name: 'leaderId', type: 'int32', versions: '10+', default: -1 },
                { name: 'leaderEpoch', type: 'int32', versions: '10+', default: -1 },
              ],
            },
          ],
        },
      ],
    },
    { name: 'throttleTimeMs', type: 'int32', versions: '1+', default: 0 },
    {
      name: 'nodeEndpoints',
      type: '[]',
      versions: '10+',
      tag: 0,
      tagged: '10+',
      fields: [
        { name: 'nodeId', type: 'int32', versions: '10+' },
        { name: 'host', type: 'string', versions: '10+' },
        { name: 'port', type: 'int32', versions: '10+' },
        { name: 'rack', type: 'string', versions: '10+', nullable: '10+', default: null },
      ],
    },
  ],
};
