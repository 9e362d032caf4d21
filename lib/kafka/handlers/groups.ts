/** The group APIs: thin translations between the request tables and the GroupCoordinator. */
import { KafkaError, kafkaErrorOf } from '../errors.js';
import type { Struct } from '../schema/types.js';
import type { RequestContext } from './context.js';

/** Kafka's offset.metadata.max.bytes. */
const MAX_METADATA_BYTES = 4096;

export async function handleJoinGroup(ctx: RequestContext, req: Struct): Promise<Struct> {
  const r = await ctx.broker.coordinator.join({
    groupId: req.groupId as string,
    memberId: req.memberId as string,
    groupInstanceId: req.groupInstanceId as string | null,
    sessionTimeoutMs: req.sessionTimeoutMs as number,
    // v0 has no rebalance timeout: Kafka uses the session timeout.
    rebalanceTimeoutMs:
      ctx.version >= 1 ? (req.rebalanceTimeoutMs as number) : (req.sessionTimeoutMs as number),
    protocolType: req.protocolType as string,
    protocols: req.protocols as { name: string; metadata: Buffer }[],
    clientId: ctx.header.clientId ?? '',
    clientHost: ctx.connection.clientHost,
    requireKnownMemberId: ctx.version >= 4,
  });
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    generationId: r.generationId,
    protocolType: r.protocolType,
    // Before v7 the protocol name is not nullable.
    protocolName: r.protocolName ?? (ctx.version >= 7 ? null : ''),
    leader: r.leader,
    memberId: r.memberId,
    members: r.members,
  };
}

export async function handleSyncGroup(ctx: RequestContext, req: Struct): Promise<Struct> {
  const r = await ctx.broker.coordinator.sync(
    req.groupId as string,
    req.generationId as number,
    req.memberId as string,
    req.assignments as { memberId: string; assignment: Buffer }[],
  );
  return {
    throttleTimeMs: 0,
    errorCode: r.errorCode,
    protocolType: r.protocolType,
    protocolName: r.protocolName,
    assignment: r.assignment,
  };
}

export function handleHeartbeat(ctx: RequestContext, req: Struct): Struct {
  const errorCode = ctx.broker.coordinator.heartbeat(
    req.groupId as string,
    req.generationId as number,
    req.memberId as string,
  );
  return { throttleTimeMs: 0, errorCode };
}

export function handleLeaveGroup(ctx: RequestContext, req: Struct): Struct {
  const leaving =
    ctx.version >= 3
      ? (req.members as { memberId: string; groupInstanceId: string | null }[])
      : [{ memberId: req.memberId as string, groupInstanceId: null }];
  const codes = ctx.broker.coordinator.leave(req.groupId as string, leaving);
  return {
    throttleTimeMs: 0,
    // v0-2 carry the one member's result at the top; v3+ per member.
    errorCode: ctx.version >= 3 ? KafkaError.NONE : codes[0],
    members: leaving.map((m, i) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      errorCode: codes[i],
    })),
  };
}

interface CommitTopic {
  name: string;
  partitions: { partitionIndex: number; committedOffset: number; committedMetadata: string | null }[];
}

export function handleOffsetCommit(ctx: RequestContext, req: Struct): Struct {
  const { coordinator, backend } = ctx.broker;
  const groupId = req.groupId as string;
  const topics = req.topics as CommitTopic[];
  let groupError: number = coordinator.checkCommit(
    groupId,
    req.generationIdOrMemberEpoch as number,
    req.memberId as string,
  );
  const perPartition = new Map<string, number>();
  const accepted: { topic: string; partition: number; offset: number; metadata: string }[] = [];
  if (groupError === KafkaError.NONE) {
    for (const t of topics) {
      const topic = backend.describeTopic(t.name);
      for (const p of t.partitions) {
        const key = `${t.name}\0${p.partitionIndex}`;
        const metadata = p.committedMetadata ?? '';
        if (!topic || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) {
          perPartition.set(key, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
        } else if (Buffer.byteLength(metadata) > MAX_METADATA_BYTES) {
          perPartition.set(key, KafkaError.OFFSET_METADATA_TOO_LARGE);
        } else {
          accepted.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata });
        }
      }
    }
    try {
      if (accepted.length > 0) coordinator.commit(groupId, accepted);
    } catch (err) {
      groupError = kafkaErrorOf(err, 'group');
      ctx.broker.options.log(`offset commit for group ${groupId} failed: ${(err as Error).message}`);
    }
  }
  return {
    throttleTimeMs: 0,
    topics: topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode:
          groupError !== KafkaError.NONE
            ? groupError
            : (perPartition.get(`${t.name}\0${p.partitionIndex}`) ?? KafkaError.NONE),
      })),
    })),
  };
}

export function handleOffsetFetch(ctx: RequestContext, req: Struct): Struct {
  const groupId = req.groupId as string;
  const wanted = req.topics as { name: string; partitionIndexes: number[] }[] | null;
  const noOffset = (partitionIndex: number, errorCode: number = KafkaError.NONE): Struct => ({
    partitionIndex,
    committedOffset: -1,
    committedLeaderEpoch: -1,
    metadata: '',
    errorCode,
  });
  let committed;
  try {
    committed = ctx.broker.coordinator.committed(
      groupId,
      wanted?.map((t) => t.name),
    );
  } catch (err) {
    const errorCode = kafkaErrorOf(err, 'group');
    const topics = (wanted ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((i) => noOffset(i, errorCode)),
    }));
    return { throttleTimeMs: 0, topics, errorCode };
  }
  const byKey = new Map(committed.map((c) => [`${c.topic}\0${c.partition}`, c]));
  const asEntry = (c: { partition: number; offset: number; metadata: string }): Struct => ({
    partitionIndex: c.partition,
    committedOffset: c.offset,
    committedLeaderEpoch: -1,
    metadata: c.metadata,
    errorCode: KafkaError.NONE,
  });
  let topics: Struct[];
  if (wanted === null) {
    const grouped = new Map<string, Struct[]>();
    for (const c of committed) {
      if (!grouped.has(c.topic)) grouped.set(c.topic, []);
      grouped.get(c.topic)!.push(asEntry(c));
    }
    topics = [...grouped].map(([name, partitions]) => ({ name, partitions }));
  } else {
    topics = wanted.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((i) => {
        const c = byKey.get(`${t.name}\0${i}`);
        return c ? asEntry(c) : noOffset(i);
      }),
    }));
  }
  return { throttleTimeMs: 0, topics, errorCode: KafkaError.NONE };
}

export function handleListGroups(ctx: RequestContext, req: Struct): Struct {
  const filter = (req.statesFilter as string[]) ?? [];
  const groups = ctx.broker.coordinator
    .list()
    .filter((g) => filter.length === 0 || filter.includes(g.state))
    .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state }));
  return { throttleTimeMs: 0, errorCode: KafkaError.NONE, groups };
}

export function handleDescribeGroups(ctx: RequestContext, req: Struct): Struct {
  const groups = (req.groups as string[]).map((groupId) => {
    const d = ctx.broker.coordinator.describe(groupId);
    return {
      errorCode: KafkaError.NONE,
      groupId,
      groupState: d.state,
      protocolType: d.protocolType,
      protocolData: d.protocolName,
      members: d.members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberMetadata: m.metadata,
        memberAssignment: m.assignment,
      })),
      authorizedOperations: -2147483648,
    };
  });
  return { throttleTimeMs: 0, groups };
}

export function handleDeleteGroups(ctx: RequestContext, req: Struct): Struct {
  const results = (req.groupsNames as string[]).map((groupId) => {
    try {
      return { groupId, errorCode: ctx.broker.coordinator.delete(groupId) };
    } catch (err) {
      return { groupId, errorCode: kafkaErrorOf(err, 'group') };
    }
  });
  return { throttleTimeMs: 0, results };
}
