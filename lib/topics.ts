/**
 * The topics of an open store: creating, altering and deleting them, loading each partition's
 * log at open (writer: with recovery; follower: read-only views), and removing what a crash left
 * behind. The catalog is the source of truth for which topics and segments exist.
 *
 * Crash safety: a topic's files are created (and their directories synced) before its catalog
 * rows; a topic's catalog rows are deleted before its files. Either way a crash leaves only files
 * the catalog does not list, which the next writer open removes. Creating a topic of many
 * partitions syncs all their directories with one syncfs and records them in one catalog
 * transaction, so it costs little more per partition than the files themselves.
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
} from './options.js';
import { crashPoint } from './storage/faults.js';
import { Follower } from './storage/follower.js';
import {
  fsyncDir,
  isPartitionDirName,
  parseSegmentFileName,
  partitionDir,
  syncDirs,
} from './storage/layout.js';
import { loadLog, type Truncation } from './storage/log-loader.js';
import { PartitionLog } from './storage/partition-log.js';
import { Segment } from './storage/segment.js';

export interface TopicInfo {
  name: string;
  partitions: number;
  config: ResolvedTopicConfig;
  createdAt: number;
}

export interface PartitionDescription {
  partition: number;
  startOffset: number;
  endOffset: number;
  bytes: number;
  segments: number;
}

export interface TopicDescription extends TopicInfo {
  partitionDetails: PartitionDescription[];
}

/** One open topic: its config and a log per partition. */
export interface TopicState {
  name: string;
  config: ResolvedTopicConfig;
  logs: PartitionLog[];
  /** Partition for the next keyless append (sticky per call, rotating between calls). */
  nextKeyless: number;
}

/**
 * The meaning of the index files this logstore writes: 2 is Kafka's (an offset entry names a
 * batch's last offset); format 1 named its base offset. Older files are removed at a writer open.
 */
const INDEX_FORMAT = '2';

export class Topics {
  private readonly states = new Map<string, TopicState>();
  /** Called after a roll of a writer's log (retention runs on roll). */
  onRoll: (state: TopicState, log: PartitionLog) => void = () => undefined;

  constructor(
    private readonly dir: string,
    private readonly catalog: Catalog,
    private readonly options: ResolvedStoreOptions,
  ) {}

  /** Loads every topic (writer: removing crash leftovers first); returns what recovery cut. */
  loadAll(clean: boolean, repair: boolean): Truncation[] {
    const rows = this.catalog.topics();
    if (!this.options.readOnly) this.removeOrphans(rows);
    const cuts: Truncation[] = [];
    for (const row of rows) this.load(row, clean, repair, cuts);
    return cuts;
  }

  private load(row: TopicRow, clean: boolean, repair: boolean, cuts: Truncation[] = []): TopicState {
    const state: TopicState = { name: row.name, config: row.config, logs: [], nextKeyless: 0 };
    const writable = !this.options.readOnly;
    try {
      const loads = writable ? this.catalog.loadTopic(row.name, row.partitions) : [];
      for (let p = 0; p < row.partitions; p++) {
        const log = new PartitionLog(
          row.name,
          p,
          partitionDir(this.dir, row.name, p),
          row.config,
          this.catalog.forPartition(row.name, p),
          writable,
        );
        state.logs.push(log);
        if (writable) {
          log.onRoll = () => this.onRoll(state, log);
          const cut = loadLog(log, clean, repair, loads[p]);
          if (cut) cuts.push(cut);
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

  /**
   * Removes partition directories and segment files the catalog does not know (leftovers of a
   * crash), and index files of an older meaning (they are a cache: rebuilt on first use).
   */
  private removeOrphans(rows: TopicRow[]): void {
    const oldIndexes = this.catalog.getMeta('index_format') !== INDEX_FORMAT;
    const expected = new Map<string, Set<number>>();
    for (const row of rows) {
      for (let p = 0; p < row.partitions; p++) {
        const bases = this.catalog
          .forPartition(row.name, p)
          .segments()
          .map((s) => s.baseOffset);
        expected.set(`${row.name}-${p}`, new Set(bases));
      }
    }
    for (const entry of fs.readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !isPartitionDirName(entry.name)) continue;
      const full = `${this.dir}/${entry.name}`;
      const bases = expected.get(entry.name);
      if (!bases) {
        fs.rmSync(full, { recursive: true, force: true });
        continue;
      }
      for (const file of fs.readdirSync(full)) {
        const parsed = parseSegmentFileName(file);
        if (!parsed || parsed.kind === 'cleaned') continue;
        const oldIndex = oldIndexes && parsed.kind !== 'log';
        if (oldIndex || !bases.has(parsed.baseOffset)) fs.rmSync(`${full}/${file}`, { force: true });
      }
    }
    if (oldIndexes) this.catalog.setMeta('index_format', INDEX_FORMAT);
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
      for (let p = 0; p < resolved.partitions; p++)
        fs.rmSync(partitionDir(this.dir, name, p), { recursive: true, force: true });
      throw ioError(err, `Cannot create topic '${name}'`);
    }
    const row = this.row(name);
    this.adopt(row, segments);
    return info(row);
  }

  /**
   * Opens a topic just created from the segments `create` made: they are empty and mapped, so
   * the first append to each partition is a copy into memory, with nothing to load or read.
   */
  private adopt(row: TopicRow, segments: Segment[]): void {
    const state: TopicState = { name: row.name, config: row.config, logs: [], nextKeyless: 0 };
    for (let p = 0; p < row.partitions; p++) {
      const log = new PartitionLog(
        row.name,
        p,
        partitionDir(this.dir, row.name, p),
        row.config,
        this.catalog.forPartition(row.name, p),
        true,
      );
      log.segments = [segments[p]!];
      log.onRoll = () => this.onRoll(state, log);
      state.logs.push(log);
    }
    this.states.set(row.name, state);
  }

  list(): TopicInfo[] {
    return this.catalog.topics().map(info);
  }

  describe(name: string): TopicDescription {
    const state = this.get(name);
    return {
      ...info(this.row(name)),
      config: state.config,
      partitionDetails: state.logs.map((log) => {
        log.refresh();
        return log.describe();
      }),
    };
  }

  /** Changes retention, compaction, segment size or record size limit; not the partition count. */
  alter(name: string, config: Omit<TopicConfig, 'partitions'>): TopicInfo {
    const state = this.get(name);
    const keys = Object.keys(TOPIC_DEFAULTS)
      .filter((k) => k !== 'partitions')
      .concat('segmentBytes');
    const resolved = normalizeTopicConfig(config, state.config, keys);
    this.catalog.setTopicConfig(name, resolved);
    state.config = resolved;
    for (const log of state.logs) log.config = resolved;
    return info(this.row(name));
  }

  /** Deletes a topic's catalog rows (and the offsets committed on it), then its files. */
  delete(name: string): void {
    const state = this.get(name);
    this.catalog.deleteTopic(name);
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

function info(row: TopicRow): TopicInfo {
  return { name: row.name, partitions: row.partitions, config: row.config, createdAt: row.createdAt };
}
