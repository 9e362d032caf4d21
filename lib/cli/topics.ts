/**
 * `logstore topics <dir> [list | create | describe | alter | delete]`. Listing and describing
 * open the store read-only (they work beside a live writer); create, alter and delete take the
 * writer lock. Tables on a TTY, names one a line when piped, `--json` for scripts.
 */
import type { TopicConfig } from '../index.js';
import type { LogStore, TopicDescription } from '../index.js';
import {
  flag,
  intOption,
  parse,
  parseDuration,
  parseSize,
  printHelp,
  stringOption,
  UsageError,
  type Parsed,
} from './args.js';
import type { Command } from './main.js';
import { openReadOnly, openWriter } from './open.js';
import { colorsFor, formatBytes, formatCount, formatDuration, renderTable } from './output.js';

const USAGE = `usage: logstore topics <dir> [list] [--json]
       logstore topics <dir> describe <topic> [--json]
       logstore topics <dir> create <topic> [config options] [--json]
       logstore topics <dir> alter <topic> <config options>
       logstore topics <dir> delete <topic>

list and describe work beside a live writer; create, alter and delete need the writer lock
(create makes the store if <dir> holds none).

config options (create, alter):
  --partitions N             partitions (create only; default 1)
  --retention-ms T           delete closed segments older than T: ms, or 90s, 15m, 12h, 7d; -1 keeps
                             forever (default)
  --retention-bytes B        keep each partition under B: bytes, or 512MiB, 10GiB; -1 no limit
  --segment-bytes B          roll segments at B (default 128MiB)
  --cleanup-policy P         delete (default) | compact (keep the latest record per key)
  --delete-retention-ms T    how long compaction keeps tombstones (default 1d)
  --max-record-bytes B       largest record accepted (default 1048588)

options:
  --json                     print JSON (describeTopic's shape) instead of text
  --help, -h                 this help
`;

const OPTIONS = {
  json: { type: 'boolean' },
  partitions: { type: 'string' },
  'retention-ms': { type: 'string' },
  'retention-bytes': { type: 'string' },
  'segment-bytes': { type: 'string' },
  'cleanup-policy': { type: 'string' },
  'delete-retention-ms': { type: 'string' },
  'max-record-bytes': { type: 'string' },
} as const;

const CONFIG_OPTIONS = Object.keys(OPTIONS).filter((k) => k !== 'json');

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 3 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, action = 'list', topic] = parsed.positionals as [string, string?, string?];
    const json = flag(parsed, 'json');
    const given = CONFIG_OPTIONS.filter((k) => parsed.values[k] !== undefined);
    if (action === 'list') {
      if (topic !== undefined) throw new UsageError(`unexpected argument '${topic}'`);
      noConfig(given, action);
      return list(dir, json);
    }
    if (!['create', 'describe', 'alter', 'delete'].includes(action)) {
      throw new UsageError(`unknown action '${action}' (list, create, describe, alter, delete)`);
    }
    if (topic === undefined) throw new UsageError(`topics ${action} needs a topic name`);
    if (action === 'describe') {
      noConfig(given, action);
      return describe(dir, topic, json);
    }
    if (action === 'delete') {
      noConfig(given, action);
      return remove(dir, topic);
    }
    const config = topicConfig(parsed);
    if (action === 'create') return create(dir, topic, config, json);
    if (given.length === 0) throw new UsageError('topics alter needs at least one config option');
    if (config.partitions !== undefined)
      throw new UsageError('--partitions cannot be altered (keys would move)');
    return alter(dir, topic, config, json);
  },
};

function noConfig(given: string[], action: string): void {
  if (given.length > 0) throw new UsageError(`--${given[0]} does not apply to topics ${action}`);
}

function topicConfig(parsed: Parsed): TopicConfig {
  const config: TopicConfig = {};
  const partitions = intOption(parsed, 'partitions', 1);
  if (partitions !== undefined) config.partitions = partitions;
  const text = (name: string) => stringOption(parsed, name);
  const retentionMs = text('retention-ms');
  if (retentionMs !== undefined) config.retentionMs = parseDuration('--retention-ms', retentionMs, true);
  const retentionBytes = text('retention-bytes');
  if (retentionBytes !== undefined)
    config.retentionBytes = parseSize('--retention-bytes', retentionBytes, true);
  const segmentBytes = text('segment-bytes');
  if (segmentBytes !== undefined) config.segmentBytes = parseSize('--segment-bytes', segmentBytes, false);
  const policy = text('cleanup-policy');
  if (policy !== undefined) {
    if (policy !== 'delete' && policy !== 'compact') {
      throw new UsageError(`--cleanup-policy expects delete or compact, got '${policy}'`);
    }
    config.cleanupPolicy = policy;
  }
  const deleteRetention = text('delete-retention-ms');
  if (deleteRetention !== undefined)
    config.deleteRetentionMs = parseDuration('--delete-retention-ms', deleteRetention, false);
  const maxRecord = text('max-record-bytes');
  if (maxRecord !== undefined) config.maxRecordBytes = parseSize('--max-record-bytes', maxRecord, false);
  return config;
}

async function withStore<T>(store: LogStore, fn: (store: LogStore) => T): Promise<T> {
  try {
    return fn(store);
  } finally {
    await store.close();
  }
}

async function list(dir: string, json: boolean): Promise<number> {
  const topics = await withStore(openReadOnly(dir), (store) =>
    store.topics().map((t) => store.describeTopic(t.name)),
  );
  if (json) {
    process.stdout.write(`${JSON.stringify(topics, null, 2)}\n`);
    return 0;
  }
  if (!process.stdout.isTTY) {
    process.stdout.write(topics.map((t) => `${t.name}\n`).join(''));
    return 0;
  }
  if (topics.length === 0) {
    process.stdout.write(`no topics in ${dir}\n`);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  const rows = topics.map((t) => {
    const sum = (f: (d: TopicDescription['partitionDetails'][number]) => number) =>
      t.partitionDetails.reduce((n, d) => n + f(d), 0);
    return [
      colors.cyan(t.name),
      t.partitions,
      sum((d) => d.endOffset - d.startOffset),
      formatBytes(sum((d) => d.bytes)),
      sum((d) => d.segments),
      t.config.cleanupPolicy,
      formatDuration(t.config.retentionMs),
    ];
  });
  process.stdout.write(
    renderTable(['TOPIC', 'PARTITIONS', 'RECORDS', 'SIZE', 'SEGMENTS', 'POLICY', 'RETENTION'], rows, colors),
  );
  return 0;
}

async function describe(dir: string, topic: string, json: boolean): Promise<number> {
  const d = await withStore(openReadOnly(dir), (store) => store.describeTopic(topic));
  if (json) {
    process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(describeText(d));
  return 0;
}

export function describeText(d: TopicDescription): string {
  const colors = colorsFor(process.stdout);
  const c = d.config;
  const bytes = (n: number) => (n < 0 ? 'no limit' : `${formatCount(n)} (${formatBytes(n)})`);
  const lines = [
    `${colors.bold('topic')}              ${colors.cyan(d.name)}`,
    `${colors.bold('partitions')}         ${d.partitions}`,
    `${colors.bold('created')}            ${new Date(d.createdAt).toISOString()}`,
    `${colors.bold('cleanupPolicy')}      ${c.cleanupPolicy}`,
    `${colors.bold('retentionMs')}        ${c.retentionMs} (${formatDuration(c.retentionMs)})`,
    `${colors.bold('retentionBytes')}     ${bytes(c.retentionBytes)}`,
    `${colors.bold('segmentBytes')}       ${bytes(c.segmentBytes)}`,
    `${colors.bold('deleteRetentionMs')}  ${c.deleteRetentionMs} (${formatDuration(c.deleteRetentionMs)})`,
    `${colors.bold('maxRecordBytes')}     ${bytes(c.maxRecordBytes)}`,
  ];
  for (const [key, value] of Object.entries(c)) {
    if (
      ![
        'partitions',
        'cleanupPolicy',
        'retentionMs',
        'retentionBytes',
        'segmentBytes',
        'deleteRetentionMs',
        'maxRecordBytes',
      ].includes(key)
    ) {
      lines.push(`${colors.bold(key.padEnd(18))} ${String(value)}`);
    }
  }
  const rows = d.partitionDetails.map((p) => [
    p.partition,
    p.startOffset,
    p.endOffset,
    p.endOffset - p.startOffset,
    formatBytes(p.bytes),
    p.segments,
  ]);
  return `${lines.join('\n')}\n\n${renderTable(['PARTITION', 'START', 'END', 'RECORDS', 'SIZE', 'SEGMENTS'], rows, colors)}`;
}

async function create(dir: string, topic: string, config: TopicConfig, json: boolean): Promise<number> {
  const info = await withStore(openWriter(dir, 'topics create', true), (store) =>
    store.createTopic(topic, config),
  );
  if (json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else
    process.stdout.write(
      `created topic ${topic} (${info.partitions} partition${info.partitions === 1 ? '' : 's'})\n`,
    );
  return 0;
}

async function alter(dir: string, topic: string, config: TopicConfig, json: boolean): Promise<number> {
  const d = await withStore(openWriter(dir, 'topics alter'), (store) => {
    store.alterTopic(topic, config);
    return store.describeTopic(topic);
  });
  process.stdout.write(
    json ? `${JSON.stringify(d, null, 2)}\n` : `altered topic ${topic}\n${describeText(d)}`,
  );
  return 0;
}

async function remove(dir: string, topic: string): Promise<number> {
  await withStore(openWriter(dir, 'topics delete'), (store) => store.deleteTopic(topic));
  process.stdout.write(`deleted topic ${topic}\n`);
  return 0;
}
