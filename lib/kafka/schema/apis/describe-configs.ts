/**
 * DescribeConfigs (API key 32): served 0-4, known 0-4, flexible from 4.
 * Derived from Apache Kafka's DescribeConfigsRequest.json and DescribeConfigsResponse.json (field names in
 * camelCase, version ranges as there). Known but unserved versions are only used to answer
 * UNSUPPORTED_VERSION in a shape the client can read.
 */
import type { ApiSchema } from '../types.js';

export const DescribeConfigs: ApiSchema = {
  key: 32,
  name: 'DescribeConfigs',
  versions: [0, 4],
  known: [0, 4],
  flexible: 4,
  request: [
    {
      name: 'resources',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        { name: 'configurationKeys', type: '[]string', versions: '0+', nullable: '0+' },
      ],
    },
    { name: 'includeSynonyms', type: 'bool', versions: '1+', default: false },
    { name: 'includeDocumentation', type: 'bool', versions: '3+', default: false },
  ],
  response: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    {
      name: 'results',
      type: '[]',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'errorMessage', type: 'string', versions: '0+', nullable: '0+' },
        { name: 'resourceType', type: 'int8', versions: '0+' },
        { name: 'resourceName', type: 'string', versions: '0+' },
        {
          name: 'configs',
          type: '[]',
          versions: '0+',
          fields: [
            { name: 'name', type: 'string', versions: '0+' },
            { name: 'value', type: 'string', versions: '0+', nullable: '0+' },
            { name: 'readOnly', type: 'bool', versions: '0+' },
            { name: 'isDefault', type: 'bool', versions: '0' },
            { name: 'configSource', type: 'int8', versions: '1+', default: -1 },
            { name: 'isSensitive', type: 'bool', versions: '0+' },
            {
              name: 'synonyms',
              type: '[]',
              versions: '1+',
              fields: [
                { name: 'name', type: 'string', versions: '1+' },
                { name: 'value', type: 'string', versions: '1+', nullable: '0+' },
                { name: 'source', type: 'int8', versions: '1+' },
              ],
            },
            { name: 'configType', type: 'int8', versions: '3+', default: 0 },
            { name: 'documentation', type: 'string', versions: '3+', nullable: '0+' },
          ],
        },
      ],
    },
  ],
};
