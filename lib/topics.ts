/**
 * The topics of an open store: creating, altering and deleting them, and loading each partition's
 * log at open (writer: with recovery; follower: read-only views). The catalog is the source of
 * truth for which topics and segments exist.
 *
 * Crash safety: a topic's files are created (and their directories synced) before its catalog
 * rows; a topic's catalog rows are deleted before its files, in the transaction that records the
 * deletion. Either way a crash leaves only directories the catalog does not list, which the next
 * writer open settles (unlisted-dirs.ts) before it loads the topics.
 * Creating a topic of many partitions syncs all their directories with one syncfs and records them
 * in one catalog transaction, so it costs little more per partition than the files themselves.
 */
import fs from 'node:fs';
import type { Catalog, TopicRow } from './catalog/catalog.js';
import { ioError, LogStoreError } from './errors.js';
import {
  invalidArgument,
  normalizeTopicConfig,
  TOPIC_DEFAULTS,
  type ResolvedStoreOptions,
  type ResolvedTopicConfig,
  type TopicConfig,
  type TopicSettings,
} from './options.js';
import { crashPoint } from './storage/faults.js';
import { Follower } from './storage/follower.js';
import { fsyncDir, partitionDir, syncDirs } from './storage/layout.js';
import { loadLog } from './storage/log-loader.js';
import { emptyOpenReport, type OpenReport } from './storage/open-report.js';
import type { PartitionLoad } from './storage/partition-catalog.js';
import { PartitionLog } from './storage/partition-log.js';
import { Quarantine } from './storage/quarantine.js';
import { Segment } from './storage/segment.js';
import { markDeleting, settleDirectories, unmarkDeleting } from './unlisted-dirs.js';

/**
 * A topic as `topics()` lists it. The partition count is `partitionCount` only (`config` holds
 * every other setting), so that `partitions` means one thing everywhere: the per-partition list
 * of `describeTopic`, as in kafkajs's `fetchTopicMetadata`.
 */
export interface TopicInfo {
  name: string;
  partitionCount: number;
  /** Every setting of the topic, defaults included (the partition count is `partitionCount`). */
  config: TopicSettings;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** One partition of `describeTopic`: its offsets (end exclusive) and its size on disk. */
export interface PartitionDescription {
  partition: number;
  /** The first offset still in the log (retention moves it). */
  startOffset: number;
  /** The offset the next record gets. */
  endOffset: number;
  /** Bytes of batches in its segments. */
  bytes: number;
  segments: number;
}

/** A topic with its partitions, in partition order. */
export interface TopicDescription extends TopicInfo {
  partitions: PartitionDescription[];
}

/** @internal One open topic: its config and a log per partition. */
export interface TopicState {
  name: string;
  config: ResolvedTopicConfig;
  createdAt: number;
  logs: PartitionLog[];
  /** Partition for the next keyless append (sticky per call, rotating between calls). */
  nextKeyless: number;
}

/** @internal */
export class Topics {
  private readonly states = new Map<string, TopicState>();
  /** Called after a roll of a writer's log (retention runs on roll). */
  onRoll: (state: TopicState, log: PartitionLog) => void = () => undefined;

  constructor(
    private readonly dir: string,
    private readonly catalog: Catalog,
    private readonly options: ResolvedStoreOptions,
  ) {}

  /**
   * Loads every topic; a writer first settles the directories the catalog does not list, and
   * recovers each partition. Returns what the open found and did (open-report.ts).
   */
  loadAll(clean: boolean, repair: boolean): OpenReport {
    const rows = this.catalog.topics();
    const report = emptyOpenReport();
    const quarantine = new Quarantine(this.dir);
    if (!this.options.readOnly) settleDirectories(this.dir, this.catalog, rows, report, quarantine, repair);
    // The writer reads every partition's catalog rows up front, one query per table.
    const loads = this.options.readOnly ? undefined : this.catalog.partitions.loadTopics(rows);
    for (const row of rows) this.load(row, clean, repair, report, quarantine, loads?.get(row.name));
    if (!this.options.readOnly) this.checkCommittedOffsets(report);
    return report;
  }

  private load(
    row: TopicRow,
    clean: boolean,
    repair: boolean,
    report: OpenReport = emptyOpenReport(),
    quarantine = new Quarantine(this.dir),
    preloaded?: PartitionLoad[],
  ): TopicState {
    const state = emptyState(row);
    const writable = !this.options.readOnly;
    try {
      const loads = writable
        ? (preloaded ?? this.catalog.partitions.loadTopic(row.name, row.partitions))
        : [];
      for (let p = 0; p < row.partitions; p++) {
        const log = this.partitionLog(row, p, writable);
        state.logs.push(log);
        if (writable) {
          log.onRoll = () => this.onRoll(state, log);
          loadLog(log, clean, repair, report, quarantine, loads[p]);
        } else {
          const follower = new Follower(log);
          follower.load();
          log.refresher = follower;
        }
      }
    } catch (err) {
      for (const log of state.logs) log.close();
      throw err;
    }
    this.states.set(row.name, state);
    return state;
  }

  /** Committed offsets past their log's end: the catalog and the log disagree (reported). */
  private checkCommittedOffsets(report: OpenReport): void {
    for (const c of this.catalog.groups.all()) {
      const log = this.states.get(c.topic)?.logs[c.partition];
      if (!log || c.offset <= log.endOffset) continue;
      report.catalog.push({
        code: 'offset-beyond-end',
        topic: c.topic,
        partition: c.partition,
        message:
          `group '${c.group}' committed offset ${c.offset}, past the log end ${log.endOffset}: the log lost ` +
          'records the catalog saw (or the catalog is damaged); a consumer of the group resets by its policy',
      });
    }
  }

  /** All open topics. */
  all(): TopicState[] {
    return [...this.states.values()];
  }

  /** The open topic `name` (a follower loads a topic the writer created since); TOPIC_NOT_FOUND if none. */
  get(name: string): TopicState {
    let state = this.states.get(name);
    if (!state && this.options.readOnly) {
      const row = this.catalog.topic(name);
      if (row) state = this.load(row, true, false);
    }
    if (!state) {
      if (typeof name !== 'string')
        throw invalidArgument(`Expected a topic name, got ${JSON.stringify(name)}.`);
      throw new LogStoreError(
        'LOGSTORE_TOPIC_NOT_FOUND',
        `Topic '${name}' does not exist; create it with createTopic.`,
      );
    }
    return state;
  }

  /** Whether `state` is still the open topic of its name (not deleted, or deleted and created again). */
  isCurrent(state: TopicState): boolean {
    return this.states.get(state.name) === state;
  }

  /** The catalog row of a topic known to exist: missing now means the catalog is damaged. */
  row(name: string): TopicRow {
    const row = this.catalog.topic(name);
    if (!row) {
      throw new LogStoreError(
        'LOGSTORE_CORRUPT',
        `The catalog lists topic '${name}' but cannot find its row: ${this.catalog.db.name} is damaged.`,
      );
    }
    return row;
  }

  create(name: string, config: TopicConfig | undefined): TopicInfo {
    const resolved = normalizeTopicConfig(config, {
      ...TOPIC_DEFAULTS,
      segmentBytes: this.options.segmentBytes,
    });
    if (this.catalog.topic(name)) {
      throw new LogStoreError(
        'LOGSTORE_TOPIC_EXISTS',
        `Topic '${name}' already exists; use describeTopic or alterTopic.`,
      );
    }
    // Files first, then the catalog: a crash in between leaves orphans that the next open removes.
    const segments: Segment[] = [];
    const dirs: string[] = [this.dir];
    try {
      for (let p = 0; p < resolved.partitions; p++) {
        const dir = partitionDir(this.dir, name, p);
        makeEmptyDir(dir);
        dirs.push(dir);
        segments.push(Segment.create(dir, 0, resolved.segmentBytes));
      }
      syncDirs(dirs);
      crashPoint('create-topic:after-files');
      this.catalog.createTopic(name, resolved, Date.now());
    } catch (err) {
      for (const s of segments) s.release();
      try {
        for (let p = 0; p < resolved.partitions; p++)
          fs.rmSync(partitionDir(this.dir, name, p), { recursive: true, force: true });
      } catch {
        // Best effort (it fails the same way when descriptors ran out, and Node 24's rmSync then
        // throws an error without a code): an empty directory left here is removed at the next open.
      }
      throw ioError(err, `Cannot create topic '${name}'`);
    }
    const row = this.row(name);
    this.openCreated(row, segments);
    return info(row);
  }

  /**
   * Opens a topic just created from the segments `create` made: they are empty and mapped, so
   * the first append to each partition is a copy into memory, with nothing to load or read.
   */
  private openCreated(row: TopicRow, segments: Segment[]): void {
    const state = emptyState(row);
    for (let p = 0; p < row.partitions; p++) {
      const log = this.partitionLog(row, p, true);
      log.segments = [segments[p]!];
      log.onRoll = () => this.onRoll(state, log);
      state.logs.push(log);
    }
    this.states.set(row.name, state);
  }

  private partitionLog(row: TopicRow, partition: number, writable: boolean): PartitionLog {
    const dir = partitionDir(this.dir, row.name, partition);
    return new PartitionLog(
      row.name,
      partition,
      dir,
      row.config,
      this.catalog.partitions.forPartition(row.name, partition),
      writable,
    );
  }

  list(): TopicInfo[] {
    return this.catalog.topics().map(info);
  }

  /**
   * Topic `name` as `list` gives it, or undefined. The writer answers from its open topics, which
   * change in the same call as their catalog rows: the Kafka listener asks at every OffsetCommit,
   * and a catalog read costs ~30 us there (a WAL read transaction). A follower reads the row.
   */
  find(name: string): TopicInfo | undefined {
    const state = this.options.readOnly ? undefined : this.states.get(name);
    if (state) {
      return {
        name,
        partitionCount: state.logs.length,
        config: settings(state.config),
        createdAt: state.createdAt,
      };
    }
    const row = this.catalog.topic(name);
    return row && info(row);
  }

  describe(name: string): TopicDescription {
    const state = this.get(name);
    return {
      ...info(this.row(name)),
      config: settings(state.config),
      partitions: state.logs.map((log) => {
        log.refresh();
        return log.describe();
      }),
    };
  }

  /** Changes retention, compaction, segment size or record size limit; not the partition count. */
  alter(name: string, config: Omit<TopicConfig, 'partitions'>): TopicInfo {
    const state = this.get(name);
    const asked = (config as { partitions?: unknown } | null | undefined)?.partitions;
    if (asked !== undefined && asked !== state.logs.length) {
      throw invalidArgument(
        `The partition count of topic '${name}' cannot change (it has ${state.logs.length}, ${JSON.stringify(asked)} ` +
          'was asked): a keyed record goes to murmur2(key) % partitions, so another count would move keys to ' +
          'other partitions and break their order. Create a new topic with the count you need and copy the ' +
          'records into it.',
      );
    }
    // The unchanged count is accepted (scripts re-apply a whole config), and left out.
    let changes: unknown = config;
    if (asked !== undefined) {
      const { partitions: _count, ...rest } = config as TopicConfig;
      changes = rest;
    }
    const keys = Object.keys(TOPIC_DEFAULTS)
      .filter((k) => k !== 'partitions')
      .concat('segmentBytes');
    const resolved = normalizeTopicConfig(changes, state.config, keys);
    this.catalog.setTopicConfig(name, resolved);
    state.config = resolved;
    for (const log of state.logs) log.config = resolved;
    return info(this.row(name));
  }

  /** Deletes a topic's catalog rows (and the offsets committed on it), then its files. */
  delete(name: string): void {
    const state = this.get(name);
    this.catalog.transaction(() => {
      this.catalog.deleteTopic(name);
      markDeleting(this.catalog, name);
    });
    crashPoint('delete-topic:after-catalog');
    this.states.delete(name);
    try {
      for (const log of state.logs) {
        log.close();
        fs.rmSync(log.dir, { recursive: true, force: true });
      }
    } catch (err) {
      throw ioError(err, `Cannot remove the files of topic '${name}' (the next open removes them)`);
    }
    fsyncDir(this.dir);
    unmarkDeleting(this.catalog, name);
  }

  close(): void {
    for (const state of this.states.values()) for (const log of state.logs) log.close();
    this.states.clear();
  }
}

/** Creates `dir`, first removing what an interrupted creation left there (rarely: one mkdir). */
function makeEmptyDir(dir: string): void {
  try {
    fs.mkdirSync(dir);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir);
}

/** The state of topic `row` before its partition logs are added. */
function emptyState(row: TopicRow): TopicState {
  return { name: row.name, config: row.config, createdAt: row.createdAt, logs: [], nextKeyless: 0 };
}

function info(row: TopicRow): TopicInfo {
  return {
    name: row.name,
    partitionCount: row.partitions,
    config: settings(row.config),
    createdAt: row.createdAt,
  };
}

/** A topic's config as the API reports it: everything but the partition count. */
function settings(config: ResolvedTopicConfig): TopicSettings {
  const { partitions: _count, ...rest } = config;
  return rest;
}
