/**
 * One consumer group across the wire and the library. While a store serves Kafka clients, each of
 * its library consumers (`store.consumer()`) is a member of the listener's group coordinator, as
 * a Kafka consumer in another process would be: it subscribes to its topic, offers the range and
 * round-robin assignors under the names the clients use (assignors.ts), takes the partitions its
 * generation gives it, and assigns everyone's when it is the leader. So kafkajs, librdkafka and
 * kafka-python members elsewhere and library consumers here split a group's partitions between
 * them, each partition read by one member at a time, all committing to the same offsets table.
 *
 * The protocol is Kafka's eager one: when a rebalance starts, a member gives up all its partitions
 * (committing what it moved past, with autoCommit) before it joins again, so no partition is ever
 * read by two members. A local member has no session timeout (it lives until its consumer
 * closes) and is told of a rebalance at once (group-coordinator.ts's `local` hooks).
 *
 * Until its first generation is synced a consumer has no partitions: `read()` returns nothing and
 * `for await` waits, as a Kafka consumer does before its first assignment.
 */
import type { Consumer } from '../read/consumer.js';
import type { GroupBridge } from '../read/groups.js';
import { assign, ASSIGNORS } from './assignors.js';
import type { KafkaBackend } from './backend.js';
import {
  decodeAssignment,
  encodeAssignment,
  encodeSubscription,
  subscribedTopics,
} from './consumer-protocol.js';
import { KafkaError } from './errors.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { JoinResult } from './group.js';

/** How long a member waits before joining again after an unexpected refusal. */
const RETRY_MS = 1000;
/** The rebalance timeout local members give: they rejoin at once, so it never decides anything alone. */
const LOCAL_REBALANCE_TIMEOUT_MS = 5000;
export const LOCAL_CLIENT_ID = 'logstore';
export const LOCAL_CLIENT_HOST = 'in-process';

class LocalMember {
  memberId = '';
  private running = false;
  /** A rebalance started after the last join call: join again once the current round ends. */
  private again = false;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly coordinator: GroupCoordinator,
    private readonly backend: KafkaBackend,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    void this.run();
  }

  private readonly hooks = {
    onRebalance: (): void => {
      if (this.stopped) return;
      this.consumer.revokeAllBut([]);
      void this.run();
    },
  };

  private async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do await this.joinAndSync();
      while (this.again && !this.stopped);
    } catch (err) {
      this.log(`consumer of group ${this.consumer.group} on ${this.consumer.topic}: ${String(err)}`);
    } finally {
      this.running = false;
    }
  }

  /** Joins until a generation is synced (or the member stops, or the coordinator closes). */
  private async joinAndSync(): Promise<void> {
    const { group, topic } = this.consumer;
    for (;;) {
      if (this.stopped) return;
      this.consumer.revokeAllBut([]);
      this.again = false;
      const join = await this.coordinator.join({
        groupId: group,
        memberId: this.memberId,
        groupInstanceId: null,
        sessionTimeoutMs: 0,
        rebalanceTimeoutMs: LOCAL_REBALANCE_TIMEOUT_MS,
        protocolType: 'consumer',
        protocols: ASSIGNORS.map((name) => ({ name, metadata: encodeSubscription([topic]) })),
        clientId: LOCAL_CLIENT_ID,
        clientHost: LOCAL_CLIENT_HOST,
        requireKnownMemberId: false,
        local: this.hooks,
      });
      if (join.errorCode === KafkaError.NONE) this.memberId = join.memberId;
      if (this.stopped) return this.leave();
      if (join.errorCode === KafkaError.COORDINATOR_NOT_AVAILABLE) return; // the listener is closing
      if (join.errorCode === KafkaError.UNKNOWN_MEMBER_ID) {
        this.memberId = '';
        continue;
      }
      if (join.errorCode !== KafkaError.NONE) {
        this.log(
          `consumer of group ${group} on ${topic} cannot join the group (Kafka error ${join.errorCode}, ` +
            `e.g. its other members use another protocol type or no assignor in common with range, ` +
            `roundrobin and RoundRobinAssigner); trying again in ${RETRY_MS} ms`,
        );
        await this.pause();
        continue;
      }
      const assignments = join.leader === join.memberId ? this.lead(join) : [];
      const sync = await this.coordinator.sync(group, join.generationId, this.memberId, assignments);
      if (this.stopped) return this.leave();
      if (sync.errorCode === KafkaError.NONE) {
        this.take(sync.assignment);
        return;
      }
      if (sync.errorCode === KafkaError.COORDINATOR_NOT_AVAILABLE) return;
      if (sync.errorCode === KafkaError.UNKNOWN_MEMBER_ID) this.memberId = '';
      // REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION: the generation moved on; join it.
    }
  }

  /** As the leader: everyone's assignment, with the protocol the group chose. */
  private lead(join: JoinResult): { memberId: string; assignment: Buffer }[] {
    const subscribers = join.members.map((m) => ({
      memberId: m.memberId,
      topics: subscribedTopics(m.metadata),
    }));
    const plan = assign(
      join.protocolName ?? 'range',
      subscribers,
      (topic) => this.backend.describeTopic(topic)?.partitions ?? 0,
    );
    return [...plan].map(([memberId, topics]) => ({ memberId, assignment: encodeAssignment(topics) }));
  }

  /** Takes this consumer's topic's share of an assignment (partitions the topic has, once each). */
  private take(assignment: Buffer): void {
    let count: number;
    try {
      count = this.consumer.partitionCount();
    } catch {
      return; // the topic was deleted: its consumers are being closed
    }
    const given = decodeAssignment(assignment).get(this.consumer.topic) ?? [];
    const partitions = [...new Set(given)].filter((p) => Number.isInteger(p) && p >= 0 && p < count);
    this.consumer.assign(partitions.sort((a, b) => a - b));
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeRetry = resolve;
      this.retry = setTimeout(resolve, RETRY_MS);
      this.retry.unref();
    });
  }

  private leave(): void {
    if (this.memberId === '') return;
    this.coordinator.leave(this.consumer.group, [{ memberId: this.memberId, groupInstanceId: null }]);
    this.memberId = '';
  }

  /** Gives up the partitions and leaves the group (the consumer closed, or the listener is closing). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retry);
    this.wakeRetry?.();
    if (!this.consumer.isClosed) this.consumer.revokeAllBut([]);
    this.leave();
  }
}

/** The library's consumers as members of one listener's group coordinator (read/groups.ts calls it). */
export class CoordinatorBridge implements GroupBridge {
  private readonly members = new Map<Consumer, LocalMember>();

  constructor(
    private readonly coordinator: GroupCoordinator,
    private readonly backend: KafkaBackend,
    private readonly log: (message: string) => void,
  ) {}

  join(consumer: Consumer): void {
    const member = new LocalMember(consumer, this.coordinator, this.backend, this.log);
    this.members.set(consumer, member);
    member.start();
  }

  leave(consumer: Consumer): void {
    this.members.get(consumer)?.stop();
    this.members.delete(consumer);
  }

  otherMembers(group: string): number {
    const local = new Set([...this.members.values()].map((m) => m.memberId));
    return this.coordinator.describe(group).members.filter((m) => !local.has(m.memberId)).length;
  }

  /** True when the group had offsets or state; its members were checked before (Groups.delete). */
  deleteGroup(group: string): boolean {
    return this.coordinator.delete(group) === KafkaError.NONE;
  }

  /** Every member gives up its partitions and leaves (the listener is closing). */
  close(): void {
    for (const member of this.members.values()) member.stop();
    this.members.clear();
  }
}
