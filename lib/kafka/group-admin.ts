/**
 * The coordinator's admin answers (ListGroups, DescribeGroups, DeleteGroups): the groups with
 * members live in the coordinator, and groups with only committed offsets live in the backend;
 * both are listed, described (an offsets-only group is Empty) and deleted here.
 */
import type { KafkaBackend } from './backend.js';
import { KafkaError, type KafkaErrorCode } from './errors.js';
import { EMPTY, type Group, type GroupState } from './group.js';

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: GroupState;
}

export interface GroupDescription {
  state: GroupState;
  protocolType: string;
  protocolName: string;
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Buffer;
    assignment: Buffer;
  }[];
}

/** Every group: those with committed offsets (Empty unless live here) and the live ones. */
export function listGroups(backend: KafkaBackend, live: Iterable<Group>): GroupListing[] {
  const out = new Map<string, GroupListing>();
  for (const id of backend.listGroups())
    out.set(id, { groupId: id, protocolType: 'consumer', state: 'Empty' });
  for (const g of live) {
    if (g.state === 'Empty' && !out.has(g.groupId)) continue;
    out.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? 'consumer', state: g.state });
  }
  return [...out.values()];
}

/** A group's state and members; Dead when neither the coordinator nor the backend knows it. */
export function describeGroup(
  backend: KafkaBackend,
  groupId: string,
  g: Group | undefined,
): GroupDescription {
  if (!g || g.members.size === 0) {
    const known = backend.listGroups().includes(groupId);
    return {
      state: known || g ? 'Empty' : 'Dead',
      protocolType: known ? 'consumer' : '',
      protocolName: '',
      members: [],
    };
  }
  return {
    state: g.state,
    protocolType: g.protocolType ?? '',
    protocolName: g.state === 'Stable' || g.state === 'CompletingRebalance' ? (g.protocolName ?? '') : '',
    members: [...g.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: m.protocols.find((p) => p.name === g.protocolName)?.metadata ?? EMPTY,
      assignment: m.assignment,
    })),
  };
}

/** Deletes an empty group's offsets: NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND if unknown. */
export function deleteGroup(
  backend: KafkaBackend,
  groups: Map<string, Group>,
  groupId: string,
): KafkaErrorCode {
  const g = groups.get(groupId);
  if (g && g.members.size > 0) return KafkaError.NON_EMPTY_GROUP;
  const had = backend.deleteGroup(groupId);
  if (g) groups.delete(groupId);
  return had || g ? KafkaError.NONE : KafkaError.GROUP_ID_NOT_FOUND;
}
