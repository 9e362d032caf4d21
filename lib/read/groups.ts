/**
 * Consumer groups in this process: the members of each group on each topic (they split its
 * partitions with Kafka's range assignor), the groups' committed offsets as the catalog holds
 * them, resetting a group, and the lowest committed offset retention must respect
 * (`retainForGroups`). While the store serves Kafka clients, a GroupBridge assigns the
 * partitions instead: the consumers are then members of the listener's group coordinator, in the
 * same groups as the Kafka clients (lib/kafka/local-member.ts).
 */
import type { Catalog } from '../catalog/catalog.js';
import { LogStoreError } from '../errors.js';
import { invalidArgument } from '../options.js';
import { crashPoint } from '../storage/faults.js';
import type { PartitionLog } from '../storage/partition-log.js';
import type { TopicState } from '../topics.js';
import { checkConsumerOptions, Consumer, type ConsumerHost, type ConsumerOptions } from './consumer.js';
import { checkStartSpec, resolveStart, type StartSpec } from './reader.js';

/** A group's committed offsets on one topic, and its live members in this process. */
export interface GroupDescription {
  group: string;
  topic: string;
  members: number;
  partitions: { partition: number; offset: number; committedAt: number; endOffset: number; lag: number }[];
}

/**
 * @internal Another membership for the library's consumers: while set, it hands out their partitions
 * (asynchronously, through `revokeAllBut` and `assign`) instead of the in-process range split.
 */
export interface GroupBridge {
  /** A consumer joined; it has no partitions until the bridge assigns some. */
  join(consumer: Consumer): void;
  /** A consumer closed (it has already given its partitions up). */
  leave(consumer: Consumer): void;
  /** Members of `group` other than this process's consumers (Kafka clients elsewhere). */
  otherMembers(group: string): number;
  /** Deletes an empty group through the coordinator: its offsets, and the coordinator's state. */
  deleteGroup(group: string): boolean;
  /** Every consumer gives up its partitions and leaves (the bridge goes away). */
  close(): void;
}

/** @internal The members of one group on one topic in this process. */
export class GroupMembers {
  readonly members: Consumer[] = [];

  constructor(
    readonly group: string,
    readonly topic: string,
    private readonly bridge: () => GroupBridge | undefined = () => undefined,
  ) {}

  join(member: Consumer): void {
    this.members.push(member);
    const bridge = this.bridge();
    if (bridge) bridge.join(member);
    else this.rebalance();
  }

  leave(member: Consumer): void {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    const bridge = this.bridge();
    if (bridge) bridge.leave(member);
    else this.rebalance();
  }

  /** Range assignment: every member first gives up what it loses, then takes what it gains. */
  rebalance(): void {
    const count = this.members[0]?.partitionCount() ?? 0;
    const plan = rangeAssign(count, this.members.length);
    this.members.forEach((m, i) => m.revokeAllBut(plan[i]!));
    this.members.forEach((m, i) => m.assign(plan[i]!));
  }
}

/** Kafka's RangeAssignor for one topic: contiguous ranges, the first members get the remainder. */
export function rangeAssign(partitions: number, members: number): number[][] {
  const plan: number[][] = [];
  const per = members > 0 ? Math.floor(partitions / members) : 0;
  const extra = members > 0 ? partitions % members : 0;
  let next = 0;
  for (let m = 0; m < members; m++) {
    const n = per + (m < extra ? 1 : 0);
    plan.push(Array.from({ length: n }, (_, k) => next + k));
    next += n;
  }
  return plan;
}

/** @internal */
export class Groups {
  private readonly members = new Map<string, GroupMembers>();
  private readonly host: ConsumerHost;
  private bridge: GroupBridge | undefined;

  constructor(
    private readonly catalog: Catalog,
    topic: (name: string) => TopicState,
    private readonly checkWritable: () => void,
    private readonly readOnly: boolean,
    checkOpen: () => void,
  ) {
    this.host = {
      checkStoreOpen: checkOpen,
      logs: (name) => topic(name).logs,
      committedOffsets: (group, name) =>
        new Map(this.catalog.groups.of(group, name).map((c) => [c.partition, c.offset])),
      commitOffsets: (group, name, offsets) => {
        this.checkWritable();
        crashPoint('commit:before');
        const entries = [...offsets].map(([partition, offset]) => ({
          group,
          topic: name,
          partition,
          offset,
        }));
        this.catalog.groups.commit(entries, Date.now());
      },
    };
  }

  /** Joins `group` on `state`'s topic; see Consumer for assignment and commit semantics. */
  consumer(state: TopicState, options: ConsumerOptions): Consumer {
    const o = checkConsumerOptions(options);
    const key = `${o.group}\u0000${state.name}`;
    let members = this.members.get(key);
    if (!members) this.members.set(key, (members = new GroupMembers(o.group, state.name, () => this.bridge)));
    return new Consumer(this.host, state.name, o, members);
  }

  /** From now on `bridge` assigns every consumer's partitions, the live ones included. */
  attachBridge(bridge: GroupBridge): void {
    this.bridge?.close();
    this.bridge = bridge;
    for (const m of this.members.values()) {
      for (const consumer of m.members) consumer.revokeAllBut([]);
      for (const consumer of m.members) bridge.join(consumer);
    }
  }

  /** Back to the in-process range split (the listener closed). */
  detachBridge(bridge: GroupBridge): void {
    if (this.bridge !== bridge) return;
    bridge.close();
    this.bridge = undefined;
    for (const m of this.members.values()) if (m.members.length > 0) m.rebalance();
  }

  private liveMembers(group: string, topic: string): number {
    return this.members.get(`${group}\u0000${topic}`)?.members.length ?? 0;
  }

  /** Every group with committed offsets (or live members here), per topic. */
  describe(logOf: (topic: string, partition: number) => PartitionLog | undefined): GroupDescription[] {
    const byKey = new Map<string, GroupDescription>();
    const entry = (group: string, topic: string) => {
      const key = `${group}\u0000${topic}`;
      let d = byKey.get(key);
      if (!d) byKey.set(key, (d = { group, topic, members: this.liveMembers(group, topic), partitions: [] }));
      return d;
    };
    for (const c of this.catalog.groups.all()) {
      const log = logOf(c.topic, c.partition);
      if (log && this.readOnly) log.refresh();
      const endOffset = log ? log.endOffset : c.offset;
      entry(c.group, c.topic).partitions.push({
        partition: c.partition,
        offset: c.offset,
        committedAt: c.committedAt,
        endOffset,
        lag: Math.max(0, endOffset - c.offset),
      });
    }
    for (const m of this.members.values()) if (m.members.length > 0) entry(m.group, m.topic);
    return [...byKey.values()].sort((a, b) => (a.group + a.topic < b.group + b.topic ? -1 : 1));
  }

  /**
   * Sets `group`'s committed offsets on every partition of `state`'s topic to 'earliest',
   * 'latest', an offset, or the first offset at a timestamp. Refused while the group has live
   * members here.
   */
  reset(group: string, state: TopicState, to: StartSpec): void {
    if (typeof group !== 'string' || group.length === 0)
      throw invalidArgument('resetGroup needs a group name.');
    const spec = checkStartSpec(to, 'to');
    if (this.liveMembers(group, state.name) > 0) {
      throw invalidArgument(
        `Group '${group}' has live consumers on '${state.name}'; close them before resetting its offsets.`,
      );
    }
    const remote = this.bridge?.otherMembers(group) ?? 0;
    if (remote > 0) {
      throw invalidArgument(
        `Group '${group}' has ${remote} live member(s) connected through the Kafka listener; stop them before resetting its offsets.`,
      );
    }
    const offsets = new Map<number, number>();
    for (const log of state.logs) {
      const offset = resolveStart(log, spec);
      if (offset < log.logStartOffset || offset > log.endOffset) {
        throw new LogStoreError(
          'LOGSTORE_OFFSET_OUT_OF_RANGE',
          `Offset ${offset} is outside ${log.name} (${log.logStartOffset} to ${log.endOffset}).`,
        );
      }
      offsets.set(log.partition, offset);
    }
    this.host.commitOffsets(group, state.name, offsets);
  }

  /**
   * Forgets `group`: its committed offsets on every topic, as Kafka's DeleteGroups. Refused while
   * it has live members, here or through the Kafka listener. Returns whether there was anything
   * to forget.
   */
  delete(group: string): boolean {
    if (typeof group !== 'string' || group.length === 0)
      throw invalidArgument('deleteGroup needs a group name.');
    const topics = [...this.members.values()]
      .filter((m) => m.group === group && m.members.length > 0)
      .map((m) => `'${m.topic}'`);
    if (topics.length > 0) {
      throw invalidArgument(
        `Group '${group}' has live consumers on ${topics.join(', ')}; close them before deleting the group.`,
      );
    }
    const remote = this.bridge?.otherMembers(group) ?? 0;
    if (remote > 0) {
      throw invalidArgument(
        `Group '${group}' has ${remote} live member(s) connected through the Kafka listener; stop them before deleting the group.`,
      );
    }
    // Through the listener's coordinator when it serves, so that it forgets the group too.
    return this.bridge ? this.bridge.deleteGroup(group) : this.catalog.groups.deleteGroup(group) > 0;
  }

  /**
   * The lowest offset a group has committed on `log` (for retainForGroups); groups with live
   * members here that never committed on it hold everything. null when no group holds anything.
   */
  retentionFloor(state: TopicState, log: PartitionLog): number | null {
    const committed = new Map<string, number>();
    for (const c of this.catalog.groups.all()) {
      if (c.topic === state.name && c.partition === log.partition) committed.set(c.group, c.offset);
    }
    for (const m of this.members.values()) {
      if (m.topic === state.name && m.members.length > 0 && !committed.has(m.group))
        committed.set(m.group, log.logStartOffset);
    }
    let floor: number | null = null;
    for (const offset of committed.values()) floor = floor === null ? offset : Math.min(floor, offset);
    return floor;
  }

  /** Closes the consumers of `topic` (their close is synchronous up to the commit). */
  closeTopic(topic: string): void {
    for (const m of this.members.values()) {
      if (m.topic === topic) for (const c of [...m.members]) void c.close().catch(() => undefined);
    }
  }

  /** Closes every consumer; returns the first failure (a commit that failed), if any. */
  async closeAll(): Promise<unknown> {
    let failure: unknown;
    for (const m of this.members.values()) {
      for (const consumer of [...m.members]) await consumer.close().catch((err) => (failure ??= err));
    }
    return failure;
  }
}
