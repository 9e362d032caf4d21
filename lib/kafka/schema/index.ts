/** Every API logstore serves, by key. ApiVersions advertises exactly these ranges. */
import { ApiVersions } from './apis/api-versions.js';
import { CreatePartitions } from './apis/create-partitions.js';
import { CreateTopics } from './apis/create-topics.js';
import { DeleteGroups } from './apis/delete-groups.js';
import { DeleteTopics } from './apis/delete-topics.js';
import { DescribeConfigs } from './apis/describe-configs.js';
import { DescribeGroups } from './apis/describe-groups.js';
import { Fetch } from './apis/fetch.js';
import { FindCoordinator } from './apis/find-coordinator.js';
import { Heartbeat } from './apis/heartbeat.js';
import { InitProducerId } from './apis/init-producer-id.js';
import { JoinGroup } from './apis/join-group.js';
import { LeaveGroup } from './apis/leave-group.js';
import { ListGroups } from './apis/list-groups.js';
import { ListOffsets } from './apis/list-offsets.js';
import { Metadata } from './apis/metadata.js';
import { OffsetCommit } from './apis/offset-commit.js';
import { OffsetFetch } from './apis/offset-fetch.js';
import { Produce } from './apis/produce.js';
import { SaslAuthenticate } from './apis/sasl-authenticate.js';
import { SaslHandshake } from './apis/sasl-handshake.js';
import { SyncGroup } from './apis/sync-group.js';
import type { ApiSchema } from './types.js';

export const APIS: readonly ApiSchema[] = [
  Produce,
  Fetch,
  ListOffsets,
  Metadata,
  OffsetCommit,
  OffsetFetch,
  FindCoordinator,
  JoinGroup,
  Heartbeat,
  LeaveGroup,
  SyncGroup,
  DescribeGroups,
  ListGroups,
  SaslHandshake,
  ApiVersions,
  CreateTopics,
  DeleteTopics,
  InitProducerId,
  DescribeConfigs,
  CreatePartitions,
  SaslAuthenticate,
  DeleteGroups,
];

const BY_KEY = new Map(APIS.map((api) => [api.key, api]));

export function apiByKey(key: number): ApiSchema | undefined {
  return BY_KEY.get(key);
}

/** Kafka's API keys by name, for handlers and clients. */
export const ApiKey = Object.fromEntries(APIS.map((api) => [api.name, api.key])) as Record<
  | 'Produce'
  | 'Fetch'
  | 'ListOffsets'
  | 'Metadata'
  | 'OffsetCommit'
  | 'OffsetFetch'
  | 'FindCoordinator'
  | 'JoinGroup'
  | 'Heartbeat'
  | 'LeaveGroup'
  | 'SyncGroup'
  | 'DescribeGroups'
  | 'ListGroups'
  | 'SaslHandshake'
  | 'ApiVersions'
  | 'CreateTopics'
  | 'DeleteTopics'
  | 'InitProducerId'
  | 'DescribeConfigs'
  | 'CreatePartitions'
  | 'SaslAuthenticate'
  | 'DeleteGroups',
  number
>;

export function supports(api: ApiSchema, version: number): boolean {
  return version >= api.versions[0] && version <= api.versions[1];
}
