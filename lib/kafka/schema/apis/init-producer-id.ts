/**
 * InitProducerId (API key 22): served 0-4, known 0-5, flexible from 2.
 * Derived from Apache Kafka's InitProducerIdRequest.json and InitProducerIdResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const InitProducerId: ApiSchema = {
  key: 22,
  name: 'InitProducerId',
  versions: [0, 4],
  known: [0, 5],
  flexible: 2,
  request: [
    { name: 'transactionalId', type: 'string', versions: '0+', nullable: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
};
