/**
 * One consumer group's state as the coordinator keeps it (Kafka's `GroupMetadata` and
 * `MemberMetadata`): its state, generation, leader and members, and the answers its members wait
 * for. The coordinator (group-coordinator.ts) moves it between states; what is decided from the
 * state alone (the protocol chosen, whether every member rejoined) is decided here.
 */
import { KafkaError, type KafkaErrorCode } from './errors.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** A protocol a member supports (an assignor's name) with the member's metadata for it. */
export interface MemberProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinRequest {
  groupId: string;
  memberId: string;
  groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  clientId: string;
  clientHost: string;
  /** JoinGroup v4+: a member without an id gets one with MEMBER_ID_REQUIRED and must rejoin. */
  requireKnownMemberId: boolean;
  /** Set for a member in this process: no session timeout, and told at once of a rebalance. */
  local?: LocalMemberHooks;
}

export interface LocalMemberHooks {
  /** The group started a rebalance: revoke, then join again (called outside the coordinator's own call). */
  onRebalance(): void;
}

export interface JoinResult {
  errorCode: KafkaErrorCode;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  errorCode: KafkaErrorCode;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** Reported after each completed rebalance (for logs and tests). */
export interface GenerationEvent {
  groupId: string;
  generationId: number;
  protocolName: string | null;
  leader: string;
  /** Member id -> the assignment the leader gave it. */
  assignments: Map<string, Buffer>;
}

export interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  assignment: Buffer;
  /** A pending JoinGroup answer, while the member waits in PreparingRebalance. */
  awaitingJoin: ((r: JoinResult) => void) | undefined;
  /** A pending SyncGroup answer, while the member waits for the leader. */
  awaitingSync: ((r: SyncResult) => void) | undefined;
  sessionTimer: NodeJS.Timeout | undefined;
  local: LocalMemberHooks | undefined;
}

export const EMPTY: Buffer = Buffer.alloc(0);

/** Timeouts a client asks for, clamped to what setTimeout can wait (longer ones fire at once). */
export const timeout = (ms: number): number => Math.min(Math.max(0, ms), 2 ** 31 - 1);

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leader: string | undefined;
  readonly members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, not yet joined: expire after the session timeout. */
  readonly pending = new Map<string, NodeJS.Timeout>();
  joinTimer: NodeJS.Timeout | undefined;
  /** Whether the join phase started on an Empty group (then the initial delay applies). */
  initialJoin = false;

  constructor(readonly groupId: string) {}

  /** The last member left: a new generation with no leader and no protocol. */
  becomeEmpty(): void {
    this.generationId++;
    this.state = 'Empty';
    this.protocolName = null;
    this.protocolType = null;
    this.leader = undefined;
  }

  /** Whether every other member supports one of the protocols `req` offers. */
  sharesProtocol(req: JoinRequest): boolean {
    const names = new Set(req.protocols.map((p) => p.name));
    for (const m of this.members.values()) {
      if (m.memberId === req.memberId) continue;
      if (!m.protocols.some((p) => names.has(p.name))) return false;
    }
    return true;
  }

  /** The member with this static id (group.instance.id), if any. */
  staticMember(groupInstanceId: string | null): Member | undefined {
    if (groupInstanceId === null) return undefined;
    return [...this.members.values()].find((m) => m.groupInstanceId === groupInstanceId);
  }

  /** Whether every member is waiting in a join (the join phase may end). */
  allJoined(): boolean {
    for (const m of this.members.values()) if (!m.awaitingJoin) return false;
    return true;
  }

  /** The longest rebalance timeout of the members: how long a join phase waits for them. */
  rebalanceTimeoutMs(): number {
    return Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
  }

  /** The answer to `m`'s join in the new generation: the leader also gets every member's metadata. */
  joinAnswer(m: Member): JoinResult {
    return {
      errorCode: KafkaError.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leader!,
      memberId: m.memberId,
      members:
        m.memberId === this.leader
          ? [...this.members.values()].map((x) => ({
              memberId: x.memberId,
              groupInstanceId: x.groupInstanceId,
              metadata: x.protocols.find((p) => p.name === this.protocolName)!.metadata,
            }))
          : [],
    };
  }

  /** The protocol every member supports that gets the most votes (each member's first choice). */
  selectProtocol(): string {
    const members = [...this.members.values()];
    const candidates = members[0]!.protocols
      .map((p) => p.name)
      .filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (const m of members) {
      const choice = m.protocols.find((p) => votes.has(p.name))!.name;
      votes.set(choice, votes.get(choice)! + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if (votes.get(c)! > votes.get(best)!) best = c;
    return best;
  }
}

/** A new member as its first JoinGroup describes it. */
export function newMember(memberId: string, req: JoinRequest): Member {
  return {
    memberId,
    groupInstanceId: req.groupInstanceId,
    clientId: req.clientId,
    clientHost: req.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs,
    protocolType: req.protocolType,
    protocols: copyProtocols(req.protocols),
    assignment: EMPTY,
    awaitingJoin: undefined,
    awaitingSync: undefined,
    sessionTimer: undefined,
    local: req.local,
  };
}

/** A rejoining member's new timeouts, client and protocols. */
export function updateMember(member: Member, req: JoinRequest): void {
  member.sessionTimeoutMs = req.sessionTimeoutMs;
  member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
  member.clientId = req.clientId;
  member.clientHost = req.clientHost;
  member.protocols = copyProtocols(req.protocols);
}

/** The answer to a join that failed (or was superseded) with `errorCode`. */
export function joinError(memberId: string, errorCode: KafkaErrorCode): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    memberId,
    members: [],
  };
}

/** A SyncGroup answer: the group's protocol when it is known, the assignment on success. */
export function syncAnswer(errorCode: KafkaErrorCode, assignment = EMPTY, g?: Group): SyncResult {
  return {
    errorCode,
    protocolType: g?.protocolType ?? null,
    protocolName: g?.protocolName ?? null,
    assignment,
  };
}

/** Answers `m`'s waiting SyncGroup, if any (its assignment only with NONE). */
export function answerSync(m: Member, errorCode: KafkaErrorCode, g?: Group): void {
  const resolve = m.awaitingSync;
  if (!resolve) return;
  m.awaitingSync = undefined;
  resolve(syncAnswer(errorCode, errorCode === KafkaError.NONE ? m.assignment : EMPTY, g));
}

function copyProtocols(protocols: MemberProtocol[]): MemberProtocol[] {
  return protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) }));
}

export function sameProtocols(a: MemberProtocol[], b: MemberProtocol[]): boolean {
  return (
    a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata))
  );
}
