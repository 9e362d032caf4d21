/**
 * Kafka's classic group protocol (the broker side of JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
 * OffsetCommit, OffsetFetch, DescribeGroups, ListGroups, DeleteGroups), for the one coordinator
 * logstore's listener is. The assignment itself is the clients' business: the leader's assignor
 * reads the members' protocol metadata and hands back one assignment per member; both pass through
 * here untouched.
 *
 * States, as Kafka's GroupCoordinator:
 *   Empty -> PreparingRebalance (a member joins; waits for every known member to rejoin, at most
 *   the rebalance timeout; a brand-new group first waits `initialRebalanceDelayMs` for more) ->
 *   CompletingRebalance (join answered with a new generation; waits for the leader's SyncGroup) ->
 *   Stable. A member that stops heartbeating is removed after its session timeout and the group
 *   rebalances; one that does not rejoin in time is removed when the join phase ends. A group left
 *   Empty with no committed offsets is forgotten (Dead), as Kafka's offsets-retention check drops it.
 * Committed offsets live in the backend only (one source of truth with the store's own
 * consumers). Everything runs on the event loop; no locking is needed. A group's state and the
 * answers built from it are group.ts's; ListGroups, DescribeGroups and DeleteGroups group-admin.ts's.
 *
 * Members in the serving process (the library's consumers, lib/kafka/local-member.ts) join through
 * the same calls with `local` hooks: they have no session timer (they leave when they close) and
 * are told the moment a rebalance starts instead of learning it from their next heartbeat.
 */
import crypto from 'node:crypto';
import type { CommittedOffset, KafkaBackend } from './backend.js';
import { KafkaError, type KafkaErrorCode } from './errors.js';
import {
  deleteGroup,
  describeGroup,
  listGroups,
  type GroupDescription,
  type GroupListing,
} from './group-admin.js';
import {
  answerSync,
  EMPTY,
  Group,
  joinError,
  newMember,
  sameProtocols,
  syncAnswer,
  timeout,
  updateMember,
  type GenerationEvent,
  type JoinRequest,
  type JoinResult,
  type Member,
  type SyncResult,
} from './group.js';

export interface CoordinatorOptions {
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  log: (message: string) => void;
  onGeneration?: (event: GenerationEvent) => void;
}

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private closed = false;

  constructor(
    private readonly backend: KafkaBackend,
    private readonly options: CoordinatorOptions,
  ) {}

  private group(groupId: string, create: boolean): Group | undefined {
    let g = this.groups.get(groupId);
    if (!g && create) this.groups.set(groupId, (g = new Group(groupId)));
    return g;
  }

  // ---- JoinGroup ----

  join(req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: KafkaErrorCode, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve(joinError(memberId, errorCode));
    if (this.closed) return fail(KafkaError.COORDINATOR_NOT_AVAILABLE);
    if (req.groupId === '') return fail(KafkaError.INVALID_GROUP_ID);
    const { minSessionTimeoutMs: min, maxSessionTimeoutMs: max } = this.options;
    if (!req.local && (req.sessionTimeoutMs < min || req.sessionTimeoutMs > max))
      return fail(KafkaError.INVALID_SESSION_TIMEOUT);
    if (req.protocolType === '' || req.protocols.length === 0)
      return fail(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    const g = this.group(req.groupId, true)!;
    if (g.state === 'Dead') return fail(KafkaError.COORDINATOR_NOT_AVAILABLE);
    if (g.members.size > 0 && g.protocolType !== null && req.protocolType !== g.protocolType) {
      return fail(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    }
    if (g.members.size > 0 && !g.sharesProtocol(req)) return fail(KafkaError.INCONSISTENT_GROUP_PROTOCOL);

    let member: Member | undefined;
    let changed = true;
    if (req.memberId === '') {
      // Static members (group.instance.id) keep their place: a rejoin under a new id replaces the old.
      const existing = g.staticMember(req.groupInstanceId);
      const memberId = `${req.clientId || 'member'}-${crypto.randomUUID()}`;
      if (existing) {
        this.removeMember(g, existing, KafkaError.FENCED_INSTANCE_ID);
      } else if (req.requireKnownMemberId) {
        // KIP-394: hand out an id and wait for the member to come back with it.
        const forget = () => {
          g.pending.delete(memberId);
          this.forgetIfUnused(g);
        };
        g.pending.set(memberId, setTimeout(forget, timeout(req.sessionTimeoutMs)).unref());
        return fail(KafkaError.MEMBER_ID_REQUIRED, memberId);
      }
      member = this.addMember(g, memberId, req);
    } else {
      member = g.members.get(req.memberId);
      if (!member) {
        const timer = g.pending.get(req.memberId);
        if (timer === undefined) {
          this.forgetIfUnused(g); // made by this join (a member from before a restart, say)
          return fail(KafkaError.UNKNOWN_MEMBER_ID);
        }
        clearTimeout(timer);
        g.pending.delete(req.memberId);
        member = this.addMember(g, req.memberId, req);
      } else {
        changed = !sameProtocols(member.protocols, req.protocols);
        updateMember(member, req);
      }
    }
    if (member.awaitingJoin) {
      // A duplicate join from the same member (a retry): the older request gets superseded.
      member.awaitingJoin(joinError(member.memberId, KafkaError.UNKNOWN_MEMBER_ID));
      member.awaitingJoin = undefined;
    }
    const result = new Promise<JoinResult>((resolve) => (member.awaitingJoin = resolve));
    this.touch(g, member);
    if (g.state === 'Stable' && g.leader !== member.memberId && !changed) {
      // A follower rejoining a stable group with unchanged metadata just gets the current generation.
      this.answerJoin(g, member);
    } else if (g.state === 'CompletingRebalance' && !changed) {
      this.answerJoin(g, member);
    } else {
      this.prepareRebalance(g, `member ${member.memberId} joined`);
      this.maybeCompleteJoin(g);
    }
    return result;
  }

  private addMember(g: Group, memberId: string, req: JoinRequest): Member {
    const member = newMember(memberId, req);
    g.members.set(memberId, member);
    if (g.protocolType === null) g.protocolType = req.protocolType;
    // A new member always needs a new generation.
    if (g.state === 'Stable' || g.state === 'CompletingRebalance')
      this.prepareRebalance(g, `member ${memberId} added`);
    return member;
  }

  private prepareRebalance(g: Group, reason: string): void {
    if (g.state === 'PreparingRebalance') return;
    if (g.state === 'CompletingRebalance') {
      // The generation being synced is abandoned: waiting followers are told to rejoin.
      for (const m of g.members.values()) answerSync(m, KafkaError.REBALANCE_IN_PROGRESS);
    }
    g.initialJoin = g.state === 'Empty';
    g.state = 'PreparingRebalance';
    const wait = g.initialJoin ? this.options.initialRebalanceDelayMs : g.rebalanceTimeoutMs();
    clearTimeout(g.joinTimer);
    g.joinTimer = setTimeout(() => this.joinDeadline(g), timeout(wait)).unref();
    this.options.log(`group ${g.groupId}: preparing rebalance (${reason})`);
    // Local members rejoin now (a wire member learns it from its next heartbeat).
    for (const m of g.members.values()) {
      const local = m.local;
      if (local && !m.awaitingJoin) queueMicrotask(() => local.onRebalance());
    }
  }

  /** The join phase ends: with an initial delay, keep waiting for stragglers; else drop them. */
  private joinDeadline(g: Group): void {
    g.joinTimer = undefined;
    if (g.state !== 'PreparingRebalance') return;
    if (g.initialJoin) {
      g.initialJoin = false;
      if (!g.allJoined()) {
        g.joinTimer = setTimeout(() => this.joinDeadline(g), timeout(g.rebalanceTimeoutMs())).unref();
        return;
      }
    }
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin) this.removeMember(g, m, undefined);
    }
    this.completeJoin(g);
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance' || g.initialJoin || !g.allJoined()) return;
    clearTimeout(g.joinTimer);
    g.joinTimer = undefined;
    this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    if (g.members.size === 0) {
      g.becomeEmpty();
      this.forgetIfUnused(g);
      return;
    }
    g.generationId++;
    g.protocolName = g.selectProtocol();
    if (g.leader === undefined || !g.members.has(g.leader))
      g.leader = g.members.keys().next().value as string;
    g.state = 'CompletingRebalance';
    for (const m of g.members.values()) m.assignment = EMPTY;
    for (const m of g.members.values()) this.answerJoin(g, m);
    this.options.log(
      `group ${g.groupId}: generation ${g.generationId} with ${g.members.size} member(s), protocol ${g.protocolName}`,
    );
  }

  private answerJoin(g: Group, m: Member): void {
    const resolve = m.awaitingJoin;
    if (!resolve) return;
    m.awaitingJoin = undefined;
    resolve(g.joinAnswer(m));
    this.touch(g, m);
  }

  // ---- SyncGroup ----

  sync(
    groupId: string,
    generationId: number,
    memberId: string,
    assignments: { memberId: string; assignment: Buffer }[],
  ): Promise<SyncResult> {
    const reply = (errorCode: KafkaErrorCode, assignment = EMPTY, g?: Group): Promise<SyncResult> =>
      Promise.resolve(syncAnswer(errorCode, assignment, g));
    if (this.closed) return reply(KafkaError.COORDINATOR_NOT_AVAILABLE);
    const g = this.group(groupId, false);
    const m = g?.members.get(memberId);
    if (!g || !m) return reply(KafkaError.UNKNOWN_MEMBER_ID);
    if (generationId !== g.generationId) return reply(KafkaError.ILLEGAL_GENERATION);
    this.touch(g, m);
    if (g.state === 'PreparingRebalance') return reply(KafkaError.REBALANCE_IN_PROGRESS);
    if (g.state === 'Stable') return reply(KafkaError.NONE, m.assignment, g);
    // CompletingRebalance: the leader brings the assignments; followers wait for them.
    const result = new Promise<SyncResult>((resolve) => {
      m.awaitingSync?.(syncAnswer(KafkaError.REBALANCE_IN_PROGRESS));
      m.awaitingSync = resolve;
    });
    if (memberId === g.leader) {
      const given = new Map(assignments.map((a) => [a.memberId, Buffer.from(a.assignment)]));
      for (const x of g.members.values()) x.assignment = given.get(x.memberId) ?? EMPTY;
      g.state = 'Stable';
      for (const x of g.members.values()) answerSync(x, KafkaError.NONE, g);
      this.options.onGeneration?.({
        groupId,
        generationId: g.generationId,
        protocolName: g.protocolName,
        leader: g.leader,
        assignments: new Map([...g.members.values()].map((x) => [x.memberId, x.assignment])),
      });
    }
    return result;
  }

  // ---- Heartbeat, LeaveGroup, session timeouts ----

  heartbeat(groupId: string, generationId: number, memberId: string): KafkaErrorCode {
    if (this.closed) return KafkaError.COORDINATOR_NOT_AVAILABLE;
    const g = this.group(groupId, false);
    const m = g?.members.get(memberId);
    if (!g || !m) return KafkaError.UNKNOWN_MEMBER_ID;
    this.touch(g, m);
    if (g.state === 'PreparingRebalance') return KafkaError.REBALANCE_IN_PROGRESS;
    if (generationId !== g.generationId) return KafkaError.ILLEGAL_GENERATION;
    return KafkaError.NONE;
  }

  /** Removes members; per member NONE or UNKNOWN_MEMBER_ID. */
  leave(groupId: string, members: { memberId: string; groupInstanceId: string | null }[]): KafkaErrorCode[] {
    const g = this.group(groupId, false);
    return members.map(({ memberId, groupInstanceId }) => {
      const m = g?.members.get(memberId) ?? g?.staticMember(groupInstanceId);
      if (!g || !m) return KafkaError.UNKNOWN_MEMBER_ID;
      this.removeMember(g, m, KafkaError.UNKNOWN_MEMBER_ID);
      this.options.log(`group ${groupId}: member ${m.memberId} left`);
      this.rebalanceAfterRemoval(g, `member ${m.memberId} left`);
      return KafkaError.NONE;
    });
  }

  /** (Re)starts the member's session timer: heartbeats, joins and syncs all count as liveness. */
  private touch(g: Group, m: Member): void {
    clearTimeout(m.sessionTimer);
    if (m.local) return; // alive until it leaves
    m.sessionTimer = setTimeout(() => {
      if (g.members.get(m.memberId) !== m) return;
      // A member parked in a join is alive as far as the join phase goes; its deadline decides.
      if (m.awaitingJoin) return;
      this.options.log(
        `group ${g.groupId}: member ${m.memberId} session timed out (${m.sessionTimeoutMs} ms)`,
      );
      this.removeMember(g, m, KafkaError.UNKNOWN_MEMBER_ID);
      this.rebalanceAfterRemoval(g, `member ${m.memberId} timed out`);
    }, timeout(m.sessionTimeoutMs)).unref();
  }

  private removeMember(g: Group, m: Member, answer: KafkaErrorCode | undefined): void {
    clearTimeout(m.sessionTimer);
    g.members.delete(m.memberId);
    if (answer !== undefined) {
      if (m.awaitingJoin) m.awaitingJoin(joinError(m.memberId, answer));
      answerSync(m, answer);
    }
    m.awaitingJoin = undefined;
    m.awaitingSync = undefined;
    if (g.leader === m.memberId) g.leader = undefined;
  }

  private rebalanceAfterRemoval(g: Group, reason: string): void {
    if (g.members.size === 0 && g.state !== 'PreparingRebalance') {
      clearTimeout(g.joinTimer);
      g.becomeEmpty();
      this.forgetIfUnused(g);
      return;
    }
    if (g.state === 'Stable' || g.state === 'CompletingRebalance') this.prepareRebalance(g, reason);
    this.maybeCompleteJoin(g);
  }

  /**
   * Drops a group that is Empty, expects no member back and has no committed offsets, as Kafka's
   * offsets-retention check does: otherwise every ad-hoc group id (a console consumer's, a test's)
   * stayed in memory until the listener closed. Its members are gone, so nobody holds a member id
   * or generation of it; a group with offsets stays, and its generations go on.
   */
  private forgetIfUnused(g: Group): void {
    if (g.state !== 'Empty' || g.members.size > 0 || g.pending.size > 0) return;
    if (this.groups.get(g.groupId) !== g || this.backend.committedOffsets(g.groupId).length > 0) return;
    this.groups.delete(g.groupId);
  }

  // ---- Offsets ----

  /**
   * Validates a commit against the group's membership: a simple (generation -1, no member) commit
   * is allowed on a group with no live members, as Kafka allows it for manual assignment. A commit
   * with a generation to a group the coordinator does not know (never joined here, or forgotten
   * once it emptied) comes from an older generation: ILLEGAL_GENERATION, as Kafka answers it.
   */
  checkCommit(groupId: string, generationId: number, memberId: string): KafkaErrorCode {
    if (this.closed) return KafkaError.COORDINATOR_NOT_AVAILABLE;
    if (groupId === '') return KafkaError.INVALID_GROUP_ID;
    const g = this.group(groupId, false);
    if (!g) return generationId < 0 ? KafkaError.NONE : KafkaError.ILLEGAL_GENERATION;
    if (generationId < 0 && memberId === '') {
      return g.members.size > 0 ? KafkaError.UNKNOWN_MEMBER_ID : KafkaError.NONE;
    }
    const m = g.members.get(memberId);
    if (!m) return KafkaError.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generationId) return KafkaError.ILLEGAL_GENERATION;
    if (g.state === 'PreparingRebalance') return KafkaError.REBALANCE_IN_PROGRESS;
    this.touch(g, m);
    return KafkaError.NONE;
  }

  commit(groupId: string, offsets: CommittedOffset[]): void {
    this.backend.commitOffsets(groupId, offsets);
  }

  committed(groupId: string, topics?: string[]): CommittedOffset[] {
    return this.backend.committedOffsets(groupId, topics);
  }

  // ---- Admin ----

  list(): GroupListing[] {
    return listGroups(this.backend, this.groups.values());
  }

  describe(groupId: string): GroupDescription {
    return describeGroup(this.backend, groupId, this.group(groupId, false));
  }

  /** Deletes an empty group's offsets: NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND if unknown. */
  delete(groupId: string): KafkaErrorCode {
    return deleteGroup(this.backend, this.groups, groupId);
  }

  /** Answers every waiting join and sync, stops every timer. */
  close(): void {
    this.closed = true;
    for (const g of this.groups.values()) {
      clearTimeout(g.joinTimer);
      for (const t of g.pending.values()) clearTimeout(t);
      for (const m of g.members.values()) {
        clearTimeout(m.sessionTimer);
        m.awaitingJoin?.(joinError(m.memberId, KafkaError.COORDINATOR_NOT_AVAILABLE));
        m.awaitingJoin = undefined;
        answerSync(m, KafkaError.COORDINATOR_NOT_AVAILABLE);
      }
    }
  }
}
