/**
 * `logstore topics <dir> [list | create | describe | alter | delete]`. Listing and describing
 * open the store read-only (they work beside a live writer); create, alter and delete take the
 * writer lock. Tables on a TTY, names one a line when piped, `--json` for scripts: the library's
 * objects as `topics()` and `describeTopic()` return them.
 *
 * Every topic setting of the library has its option here (CONFIG_FLAGS, checked against the
 * library's list by the specs), named as the setting in kebab case.
 */
import type { CompressionType, TopicConfig } from '../index.js';
import { LogStoreError } from '../index.js';
import type { LogStore, PartitionDescription, TopicDescription } from '../index.js';
import {
  CliError,
  flag,
  parse,
  parseDuration,
  parseIntArg,
  parseSize,
  printHelp,
  stringOption,
  UsageError,
  type OptionSpecs,
  type Parsed,
} from './args.js';
import type { Command } from './main.js';
import { openReadOnly, openWriter, requireTopic } from './open.js';
import { colorsFor, formatBytes, formatCount, formatDuration, renderTable } from './output.js';

/** One topic setting as an option: its flag, how its text is read, and its help. */
interface ConfigFlag {
  key: keyof TopicConfig;
  flag: string;
  /** `VALUE` shown in the help, or '' for a switch (`--x` / `--no-x`). */
  value: string;
  help: string;
  read(text: string, flag: string): TopicConfig[keyof TopicConfig];
}

const COMPRESSION_TYPES: readonly CompressionType[] = ['producer', 'none', 'gzip', 'snappy', 'lz4', 'zstd'];

export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  {
    key: 'partitions',
    flag: 'partitions',
    value: 'N',
    help: 'partitions (create only; default 1)',
    read: (text, f) => parseIntArg(`--${f}`, text, 1),
  },
  {
    key: 'retentionMs',
    flag: 'retention-ms',
    value: 'T',
    help: 'delete closed segments older than T: ms, or 90s, 15m, 12h, 7d; -1 keeps\nforever (default)',
    read: (text, f) => parseDuration(`--${f}`, text, true),
  },
  {
    key: 'retentionBytes',
    flag: 'retention-bytes',
    value: 'B',
    help: 'keep each partition under B: bytes, or 512MiB, 10GiB; -1 no limit (default)',
    read: (text, f) => parseSize(`--${f}`, text, true),
  },
  {
    key: 'segmentBytes',
    flag: 'segment-bytes',
    value: 'B',
    help: 'roll segments at B (default 128MiB)',
    read: (text, f) => parseSize(`--${f}`, text, false),
  },
  {
    key: 'cleanupPolicy',
    flag: 'cleanup-policy',
    value: 'P',
    help: 'delete (default) | compact (keep the latest record per key)',
    read: (text, f) => oneOf(f, text, ['delete', 'compact'] as const),
  },
  {
    key: 'deleteRetentionMs',
    flag: 'delete-retention-ms',
    value: 'T',
    help: 'how long compaction keeps tombstones (default 1d)',
    read: (text, f) => parseDuration(`--${f}`, text, false),
  },
  {
    key: 'maxRecordBytes',
    flag: 'max-record-bytes',
    value: 'B',
    help: 'largest record accepted (default 1048588)',
    read: (text, f) => parseSize(`--${f}`, text, false),
  },
  {
    key: 'retainForGroups',
    flag: 'retain-for-groups',
    value: '',
    help: "time retention also waits for every group's committed offset (not in\nKafka); --no-retain-for-groups turns it off (default)",
    read: (text) => text === 'true',
  },
  {
    key: 'compressionType',
    flag: 'compression-type',
    value: 'C',
    help: 'codec of stored batches: producer (default: as each producer sent them;\nnone for produce) | none | gzip | snappy | lz4 | zstd',
    read: (text, f) => oneOf(f, text, COMPRESSION_TYPES),
  },
];

function oneOf<T extends string>(flagName: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) {
    throw new UsageError(`--${flagName} expects ${allowed.join(', ')}; got '${text}'`);
  }
  return text as T;
}

const OPTIONS: OptionSpecs = { json: { type: 'boolean' } };
for (const c of CONFIG_FLAGS) {
  OPTIONS[c.flag] = { type: c.value === '' ? 'boolean' : 'string' };
  if (c.value === '') OPTIONS[`no-${c.flag}`] = { type: 'boolean' };
}

const configHelp = CONFIG_FLAGS.map((c) => {
  const name = `  --${c.flag}${c.value ? ` ${c.value}` : ''}`.padEnd(29);
  return `${name}${c.help.replaceAll('\n', `\n${' '.repeat(29)}`)}`;
}).join('\n');

const USAGE = `usage: logstore topics <dir> [list] [--json]
       logstore topics <dir> describe <topic> [--json]
       logstore topics <dir> create <topic> [config options] [--json]
       logstore topics <dir> alter <topic> <config options> [--json]
       logstore topics <dir> delete <topic>

list and describe work beside a live writer; create, alter and delete need the writer lock
(create makes the store if <dir> holds none).

config options (create, alter):
${configHelp}

options:
  --json                     print JSON: the topics as the library lists them (list), or the
                             topic with its partitions (describe, create, alter)
  --help, -h                 this help
`;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 3 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, action = 'list', topic] = parsed.positionals as [string, string?, string?];
    const json = flag(parsed, 'json');
    const given = Object.keys(OPTIONS).filter((k) => k !== 'json' && parsed.values[k] !== undefined);
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
    if (config.partitions !== undefined) {
      throw new UsageError(
        '--partitions cannot be altered: a keyed record goes to murmur2(key) % partitions, so another ' +
          'count would move keys to other partitions; create a new topic and copy the records',
      );
    }
    return alter(dir, topic, config, json);
  },
};

function noConfig(given: string[], action: string): void {
  if (given.length > 0) throw new UsageError(`--${given[0]} does not apply to topics ${action}`);
}

function topicConfig(parsed: Parsed): TopicConfig {
  const config: Record<string, unknown> = {};
  for (const c of CONFIG_FLAGS) {
    if (c.value === '') {
      const on = flag(parsed, c.flag);
      const off = flag(parsed, `no-${c.flag}`);
      if (on && off) throw new UsageError(`--${c.flag} and --no-${c.flag} exclude each other`);
      if (on || off) config[c.key] = c.read(String(on), c.flag);
      continue;
    }
    const text = stringOption(parsed, c.flag);
    if (text !== undefined) config[c.key] = c.read(text, c.flag);
  }
  return config as TopicConfig;
}

/**
 * A setting the library refused (a value out of its range), named by its option: the library's
 * message names the setting (`segmentBytes`), the CLI user typed `--segment-bytes`.
 */
function inCliTerms(err: unknown): unknown {
  if (!(err instanceof LogStoreError) || err.code !== 'LOGSTORE_INVALID_ARGUMENT') return err;
  let message = err.message;
  for (const c of CONFIG_FLAGS) message = message.replaceAll(`\`${c.key}\``, `--${c.flag}`);
  return message === err.message ? err : new LogStoreError(err.code, message, { cause: err });
}

async function withStore<T>(store: LogStore, fn: (store: LogStore) => T): Promise<T> {
  try {
    return fn(store);
  } finally {
    await store.close();
  }
}

async function list(dir: string, json: boolean): Promise<number> {
  if (json) {
    const topics = await withStore(openReadOnly(dir), (store) => store.topics());
    process.stdout.write(`${JSON.stringify(topics, null, 2)}\n`);
    return 0;
  }
  const topics = await withStore(openReadOnly(dir), (store) =>
    store.topics().map((t) => store.describeTopic(t.name)),
  );
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
    const sum = (f: (d: PartitionDescription) => number) => t.partitions.reduce((n, d) => n + f(d), 0);
    return [
      colors.cyan(t.name),
      t.partitionCount,
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
  const d = await withStore(openReadOnly(dir), (store) => {
    requireTopic(store, dir, topic);
    return store.describeTopic(topic);
  });
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
    `${colors.bold('partitionCount')}     ${d.partitionCount}`,
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
  const rows = d.partitions.map((p) => [
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
  const info = await withStore(openWriter(dir, 'topics create', true), (store) => {
    if (store.topics().some((t) => t.name === topic)) {
      throw new CliError(
        `topic '${topic}' already exists in ${store.dir}: \`logstore topics ${dir} describe ${topic}\` shows it, ` +
          `\`logstore topics ${dir} alter ${topic} ...\` changes its settings`,
        'LOGSTORE_TOPIC_EXISTS',
      );
    }
    try {
      store.createTopic(topic, config);
    } catch (err) {
      throw inCliTerms(err);
    }
    return store.describeTopic(topic);
  });
  if (json) process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  else
    process.stdout.write(
      `created topic ${topic} (${info.partitionCount} partition${info.partitionCount === 1 ? '' : 's'})\n`,
    );
  return 0;
}

async function alter(dir: string, topic: string, config: TopicConfig, json: boolean): Promise<number> {
  const d = await withStore(openWriter(dir, 'topics alter'), (store) => {
    requireTopic(store, dir, topic);
    try {
      store.alterTopic(topic, config);
    } catch (err) {
      throw inCliTerms(err);
    }
    return store.describeTopic(topic);
  });
  process.stdout.write(
    json ? `${JSON.stringify(d, null, 2)}\n` : `altered topic ${topic}\n${describeText(d)}`,
  );
  return 0;
}

async function remove(dir: string, topic: string): Promise<number> {
  await withStore(openWriter(dir, 'topics delete'), (store) => {
    requireTopic(store, dir, topic);
    store.deleteTopic(topic);
  });
  process.stdout.write(`deleted topic ${topic}\n`);
  return 0;
}
