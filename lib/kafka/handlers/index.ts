/** API key -> handler: the one dispatch table of the listener. */
import { ApiKey } from '../schema/index.js';
import { handleApiVersions, handleFindCoordinator, handleInitProducerId, handleMetadata } from './cluster.js';
import type { Handler } from './context.js';
import { handleFetch } from './fetch.js';
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetFetch,
  handleSyncGroup,
} from './groups.js';
import { handleListOffsets } from './list-offsets.js';
import { handleProduce } from './produce.js';
import { handleSaslAuthenticate, handleSaslHandshake } from './sasl.js';
import {
  handleCreatePartitions,
  handleCreateTopics,
  handleDeleteTopics,
  handleDescribeConfigs,
} from './topics.js';

export const HANDLERS = new Map<number, Handler>([
  [ApiKey.ApiVersions, handleApiVersions],
  [ApiKey.Metadata, handleMetadata],
  [ApiKey.Produce, handleProduce],
  [ApiKey.Fetch, handleFetch],
  [ApiKey.ListOffsets, handleListOffsets],
  [ApiKey.FindCoordinator, handleFindCoordinator],
  [ApiKey.InitProducerId, handleInitProducerId],
  [ApiKey.JoinGroup, handleJoinGroup],
  [ApiKey.SyncGroup, handleSyncGroup],
  [ApiKey.Heartbeat, handleHeartbeat],
  [ApiKey.LeaveGroup, handleLeaveGroup],
  [ApiKey.OffsetCommit, handleOffsetCommit],
  [ApiKey.OffsetFetch, handleOffsetFetch],
  [ApiKey.ListGroups, handleListGroups],
  [ApiKey.DescribeGroups, handleDescribeGroups],
  [ApiKey.DeleteGroups, handleDeleteGroups],
  [ApiKey.CreateTopics, handleCreateTopics],
  [ApiKey.DeleteTopics, handleDeleteTopics],
  [ApiKey.DescribeConfigs, handleDescribeConfigs],
  [ApiKey.CreatePartitions, handleCreatePartitions],
  [ApiKey.SaslHandshake, handleSaslHandshake],
  [ApiKey.SaslAuthenticate, handleSaslAuthenticate],
]);

/** What a client may send before it authenticated. */
export const BEFORE_AUTHENTICATION = new Set([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
]);
